import { describe, expect, it } from 'vitest';
import { fromModelSpace, fromModelSpaceOfStep, toModelSpace, toModelSpaceChecked, type Normalization } from '../../src/diffusion/normalization.js';
import { linearStep } from '../../src/diffusion/prediction.js';

/** The mapping written with comparisons, as it was before the branch-free clip: the reference. */
function referenceTo(n: Normalization, values: Float32Array): Float32Array {
  const [lo, hi] = n.clip ?? [-Infinity, Infinity];
  const inv = 1 / n.scale;
  return values.map((x) => ((x < lo ? lo : x > hi ? hi : x) - n.offset) * inv);
}
function referenceFrom(n: Normalization, values: Float32Array): Float32Array {
  const [lo, hi] = n.clip ?? [-Infinity, Infinity];
  return values.map((x) => {
    const v = x * n.scale + n.offset;
    return v < lo ? lo : v > hi ? hi : v;
  });
}

/** Ordinary values, values beyond both bounds, signed zeros, infinities and a NaN with its own payload. */
function awkward(extra: boolean): Float32Array {
  const values = new Float32Array(4096);
  for (let i = 0; i < values.length; i++) values[i] = -1500 + ((i * 7919) % 5000);
  values[1] = -0;
  values[2] = 0;
  if (extra) {
    values[3] = Infinity;
    values[4] = -Infinity;
    new Uint32Array(values.buffer)[5] = 0x7fc00001;
  }
  return values;
}

const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe('linear value mapping', () => {
  const cards: Normalization[] = [
    { units: 'HU', transform: 'linear', offset: 0, scale: 1000, clip: [-1100, 3100] },
    { units: 'SUVbw', transform: 'linear', offset: 0, scale: 4, clip: [0, 100] },
    { units: 'HU', transform: 'linear', offset: -1000, scale: 1000 },
  ];
  for (const n of cards) {
    for (const extra of [false, true]) {
      it(`gives the comparison clip's bits, NaN payload and zero signs included (clip ${String(n.clip)}, ${extra ? 'with' : 'without'} NaN and infinities)`, () => {
        const values = awkward(extra);
        expect(bytes(toModelSpace(n, values, new Float32Array(values.length)))).toEqual(bytes(referenceTo(n, values)));
        expect(bytes(toModelSpace(n, values.slice(), undefined))).toEqual(bytes(referenceTo(n, values)));
        const inPlace = values.slice();
        expect(bytes(toModelSpace(n, inPlace, inPlace))).toEqual(bytes(referenceTo(n, values)));
        const model = values.map((v) => v / 1000);
        if (extra) new Uint32Array(model.buffer)[5] = 0x7fc00001;
        expect(bytes(fromModelSpace(n, model, new Float32Array(model.length)))).toEqual(bytes(referenceFrom(n, model)));
        const back = model.slice();
        expect(bytes(fromModelSpace(n, back, back))).toEqual(bytes(referenceFrom(n, model)));
      });
    }
  }
});

describe('the last sampler step and the mapping back in one pass', () => {
  const cards: Normalization[] = [
    { units: 'HU', transform: 'linear', offset: 0, scale: 1000, clip: [-1100, 3100] },
    { units: 'SUVbw', transform: 'linear', offset: 0, scale: 4, clip: [0, 100] },
    { units: 'HU', transform: 'linear', offset: -1000, scale: 1000 },
    { units: 'SUVbw', transform: 'log1p', offset: 0, scale: 1, clip: [-1, 60] },
  ];
  // v-prediction's last step on a cosine schedule: x̂_0 = a·x_t - s·v.
  const [px, po] = [0.9993, -0.0374];
  for (const n of cards) {
    for (const extra of [false, true]) {
      it(`gives the bits of the step into an array and fromModelSpace from it (${n.transform}, clip ${String(n.clip)}, ${extra ? 'with' : 'without'} NaN and infinities)`, () => {
        const x = awkward(extra).map((v) => v / 900);
        const o = awkward(extra).map((v) => Math.sin(v) * 0.3);
        if (extra) new Uint32Array(x.buffer)[5] = 0x7fc00001;
        const prev = new Float32Array(x.length);
        linearStep(x, o, px, po, px, po, new Float32Array(x.length), prev);
        const expected = fromModelSpace(n, prev, new Float32Array(x.length));
        const fused = fromModelSpaceOfStep(n, x, o, px, po, new Float32Array(x.length));
        expect(bytes(fused)).toEqual(bytes(expected));
      });
    }
  }

  it('refuses an output that shares memory with its inputs', () => {
    const x = new Float32Array(8);
    expect(() => fromModelSpaceOfStep(cards[0]!, x, new Float32Array(8), 1, 0, x)).toThrow(/shares memory/);
  });
});

describe('toModelSpaceChecked', () => {
  for (const n of [
    { units: 'HU', transform: 'linear', offset: 0, scale: 1000, clip: [-1100, 3100] },
    { units: 'SUVbw', transform: 'linear', offset: 0, scale: 4, clip: [0, 100] },
    { units: 'SUVbw', transform: 'log1p', offset: 0, scale: 1, clip: [-1, 60] },
  ] satisfies Normalization[]) {
    it(`says whether every value was finite, and maps as toModelSpace does (${n.transform}, clip ${String(n.clip)})`, () => {
      for (const extra of [false, true]) {
        const values = awkward(extra);
        const out = new Float32Array(values.length);
        expect(toModelSpaceChecked(n, values, out)).toBe(!extra);
        expect(bytes(out)).toEqual(bytes(toModelSpace(n, values)));
      }
      const one = awkward(false);
      one[4000] = NaN;
      expect(toModelSpaceChecked(n, one, new Float32Array(one.length))).toBe(false);
    });
  }
});
