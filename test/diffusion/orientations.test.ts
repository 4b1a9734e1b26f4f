/**
 * The geometric self-ensemble (src/diffusion/orientations.ts): turning an image and back is exact,
 * the averaged network is equivariant to the orientations it averages over even when the network
 * is not, the condition's channels turn with the sample, and a sampler run through it still lands
 * on the clean image with the oracle models, on a non-square slice (the transposed views then
 * have other sizes).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSampler } from '../../src/diffusion/create-sampler.js';
import type { DiffusionModel, ModelBatch } from '../../src/diffusion/model.js';
import { ORIENTATION_ORDER, OrientedEnsembleModel, orientPlanes, type Orientation } from '../../src/diffusion/orientations.js';
import { denoiseBatch } from '../../src/diffusion/sample.js';
import { loadModel, type LoadedModel } from '../../src/models/load.js';
import { Rng } from '../../src/util/random.js';
import { concat, fixtureModel, phantom, relativeError } from './helpers.js';

const H = 7;
const W = 5;

function noise(n: number, seed: number): Float32Array {
  const rng = new Rng(seed, 1);
  return Float32Array.from({ length: n }, () => rng.normal());
}

function turned(src: Float32Array, planes: number, rows: number, cols: number, o: Orientation): Float32Array {
  const out = new Float32Array(src.length);
  orientPlanes(src, planes, rows, cols, o, out);
  return out;
}

/**
 * Not equivariant on purpose: output = sample shifted one column right (zero fill), plus a row ramp,
 * plus 0.5 x the condition's first channel. Counts its calls.
 */
class LopsidedModel implements DiffusionModel {
  readonly supportsConditionMask = false;
  readonly stats = { calls: 0, forwardMs: 0 };
  readonly shapes: string[] = [];
  constructor(readonly conditionChannels: number) {}
  async predict(batch: ModelBatch, out: Float32Array): Promise<void> {
    this.stats.calls++;
    const { height: h, width: w } = batch;
    this.shapes.push(`${h}x${w}`);
    const plane = h * w;
    for (let b = 0; b < batch.batch; b++) {
      for (let r = 0; r < h; r++) {
        for (let c = 0; c < w; c++) {
          const i = b * plane + r * w + c;
          const shifted = c > 0 ? batch.sample[i - 1]! : 0;
          out[i] = shifted + 0.1 * r + 0.5 * batch.condition[b * this.conditionChannels * plane + r * w + c]!;
        }
      }
    }
  }
}

function batchOf(sample: Float32Array, condition: Float32Array, b: number, h: number, w: number): ModelBatch {
  return {
    batch: b,
    height: h,
    width: w,
    sample,
    condition,
    timestep: new Float32Array(b).fill(10),
    doseLevel: new Float32Array(b),
    conditionMask: new Float32Array(b).fill(1),
    modality: new Float32Array(b),
  };
}

describe('orientPlanes', () => {
  it('turns every plane and turns back exactly, for all 8 orientations of a non-square stack', () => {
    const x = noise(3 * H * W, 1);
    const seen = new Set<string>();
    for (const o of ORIENTATION_ORDER) {
      const t = turned(x, 3, H, W, o);
      seen.add(Array.from(t.subarray(0, H * W)).join(','));
      const back = new Float32Array(x.length);
      orientPlanes(t, 3, H, W, o, back, true);
      expect(back).toEqual(x);
    }
    expect(seen.size).toBe(8);
  });

  it('orientation 3 is the half turn and 5 a quarter turn', () => {
    const x = Float32Array.from({ length: H * W }, (_, i) => i);
    const half = turned(x, 1, H, W, 3);
    expect(half[0]).toBe(x[H * W - 1]);
    expect(half[W - 1]).toBe(x[(H - 1) * W]);
    // A quarter turn is W x H; turning it four times is the identity.
    let q: Float32Array = x;
    let [rows, cols] = [H, W];
    for (let k = 0; k < 4; k++) {
      q = turned(q, 1, rows, cols, 5);
      [rows, cols] = [cols, rows];
    }
    expect(q).toEqual(x);
  });
});

describe('OrientedEnsembleModel', () => {
  const sample = noise(2 * H * W, 2);
  const condition = noise(2 * 3 * H * W, 3);

  it('with 1 orientation is the network itself', async () => {
    const inner = new LopsidedModel(3);
    const direct = new Float32Array(2 * H * W);
    await inner.predict(batchOf(sample, condition, 2, H, W), direct);
    const out = new Float32Array(2 * H * W);
    await new OrientedEnsembleModel(new LopsidedModel(3), 1).predict(batchOf(sample, condition, 2, H, W), out);
    expect(out).toEqual(direct);
  });

  for (const k of [2, 4, 8] as const) {
    it(`with ${k} orientations is equivariant to them although the network is not, at ${k} passes`, async () => {
      const inner = new LopsidedModel(3);
      const model = new OrientedEnsembleModel(inner, k);
      const base = new Float32Array(2 * H * W);
      await model.predict(batchOf(sample, condition, 2, H, W), base);
      expect(inner.stats.calls).toBe(k);
      for (const o of ORIENTATION_ORDER.slice(0, k)) {
        const t = (o & 4) !== 0;
        const [h, w] = t ? [W, H] : [H, W];
        const out = new Float32Array(2 * H * W);
        await model.predict(batchOf(turned(sample, 2, H, W, o), turned(condition, 6, H, W, o), 2, h, w), out);
        expect(relativeError(out, turned(base, 2, H, W, o))).toBeLessThan(1e-6);
      }
      // The lopsided network alone is not: the test can fail.
      const plain = new Float32Array(2 * H * W);
      const turnedPlain = new Float32Array(2 * H * W);
      await inner.predict(batchOf(sample, condition, 2, H, W), plain);
      await inner.predict(batchOf(turned(sample, 2, H, W, 3), turned(condition, 6, H, W, 3), 2, H, W), turnedPlain);
      expect(relativeError(turnedPlain, turned(plain, 2, H, W, 3))).toBeGreaterThan(0.05);
    });
  }

  it('hands the network transposed views at their own size', async () => {
    const inner = new LopsidedModel(1);
    await new OrientedEnsembleModel(inner, 8).predict(batchOf(sample, noise(2 * H * W, 4), 2, H, W), new Float32Array(2 * H * W));
    expect(inner.shapes).toEqual([`${H}x${W}`, `${H}x${W}`, `${W}x${H}`, `${W}x${H}`, `${H}x${W}`, `${H}x${W}`, `${W}x${H}`, `${W}x${H}`]);
  });

  it('refuses counts that are not a subgroup', () => {
    expect(() => new OrientedEnsembleModel(new LopsidedModel(1), 3)).toThrow(/1, 2, 4 or 8/);
  });
});

describe('orientations in the sampler', () => {
  const RH = 16;
  const RW = 12;
  const clean = concat(phantom(RH, RW, 1), phantom(RH, RW, 2));
  const lowDose = clean.map((v, i) => v + 0.3 * Math.sin(i * 1.7));
  let oracle: LoadedModel;
  beforeAll(async () => {
    oracle = await loadModel(fixtureModel('oracle-v-cosine'), { device: 'cpu', threads: 1 });
  });
  afterAll(async () => {
    await oracle.release();
  });

  it('an oracle averaged over 8 orientations still recovers the clean non-square image, at 8 passes per step', async () => {
    const steps = 4;
    const result = await denoiseBatch({
      model: oracle,
      sampler: createSampler(oracle.card, { name: 'ddim', eta: 0 }),
      steps,
      height: RH,
      width: RW,
      condition: clean,
      lowDose,
      sliceIndices: [0, 1],
      seed: 5,
      orientations: 8,
    });
    expect(result.timing.modelCalls).toBe(8 * steps);
    expect(relativeError(result.mean, clean)).toBeLessThan(1e-4);
  });
});
