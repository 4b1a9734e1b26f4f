/**
 * Full-dose texture shaped by a measured noise transfer (src/diffusion/texture-transfer.ts, applied
 * by restoreTexture when the model card carries `texture.transfer`): with an oracle "denoiser" whose
 * noise transfer is known (a scaled Gaussian low-pass of the noise), re-injection by that transfer
 * gives back the full-dose scan's NPS at every frequency, where one weight w(d) does not; a card
 * without the block keeps the single weight bit for bit.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createSampler } from '../../src/diffusion/create-sampler.js';
import type { ModelBatch } from '../../src/diffusion/model.js';
import { toModelSpace } from '../../src/diffusion/normalization.js';
import { restoreTexture } from '../../src/diffusion/texture.js';
import { applyRadialGain, interpolate, textureGain, transferAtDose, type NoiseTransferTable } from '../../src/diffusion/texture-transfer.js';
import { gaussianSmooth } from '../../src/filters/gaussian.js';
import { noisePowerSpectrum } from '../../src/metrics/nps.js';
import { normalizationFor, parseModelCard, type ModelCard } from '../../src/models/card.js';
import { denoiseSlices, type CardModel } from '../../src/models/denoise-slices.js';
import { smoothedPeak } from '../../src/qa/checks/nps.js';
import { Rng } from '../../src/util/random.js';
import { fixtureModel } from './helpers.js';

const N = 256;
const dose = 0.25;
const mu = 40;
/** The oracle keeps A exp(-2 pi^2 s^2 f^2) of the noise amplitude (f in cycles/px): at most sqrt(d). */
const A = 0.5;
const S = 1.5;
const oracleT = (f: number) => A * Math.exp(-2 * Math.PI ** 2 * S ** 2 * f * f);
const frequencies = Array.from({ length: 33 }, (_, k) => k / 64);
const oracleTransfer: NoiseTransferTable = { cyclesPerPixel: frequencies, doses: [dose], kept: [frequencies.map(oracleT)] };

/** Seeded noise with an FBP-like NPS (zero at f = 0, peak near 0.14 cycles/px), scaled to 35 HU. */
function fbpNoise(seed: number): Float32Array {
  const rng = new Rng(seed, 5);
  const white = Float64Array.from({ length: N * N }, () => rng.normal());
  const shaped = applyRadialGain(white, N, N, frequencies, frequencies.map((f) => f * Math.exp(-((f / 0.2) ** 2))));
  const sd = Math.sqrt(shaped.reduce((a, v) => a + v * v, 0) / shaped.length);
  return Float32Array.from(shaped, (v) => (35 * v) / sd);
}

function radialNps(noise: Float32Array) {
  return noisePowerSpectrum({ rows: N, columns: N, data: noise, pixelSpacing: [1, 1] }, { roiSize: 64, detrend: 'mean' });
}

describe('transferAtDose and textureGain', () => {
  const table: NoiseTransferTable = { cyclesPerPixel: [0, 0.25, 0.5], doses: [0.1, 0.5], kept: [[0.8, 0.2, 0.1], [1, 0.6, 0.5]] };

  it('interpolates T linearly in dose between the measured doses and holds the nearest outside them', () => {
    expect([...transferAtDose(table, 0.3)].map((v) => +v.toFixed(6))).toEqual([0.9, 0.4, 0.3]);
    expect([...transferAtDose(table, 0.05)]).toEqual([0.8, 0.2, 0.1]);
    expect([...transferAtDose(table, 0.9)]).toEqual([1, 0.6, 0.5]);
    expect([...transferAtDose(table, 0.5)]).toEqual([1, 0.6, 0.5]);
  });

  it('puts back (sqrt(d) - T) / (1 - T) where the model kept less than sqrt(d), nothing where it kept more', () => {
    const gain = textureGain([1, 0.7, 0.5, 0.2, 0], 0.25);
    expect([...gain]).toEqual([0, 0, 0, expect.closeTo(0.3 / 0.8, 12), 0.5]);
  });

  it('interpolates linearly between points and holds beyond either end', () => {
    expect(interpolate([0, 0.1, 0.3], [1, 0.5, 0], 0.2)).toBeCloseTo(0.25, 12);
    expect(interpolate([0, 0.1, 0.3], [1, 0.5, 0], 0.6)).toBe(0);
    expect(interpolate([0.1, 0.3], [1, 0], 0)).toBe(1);
  });
});

describe('applyRadialGain', () => {
  it('returns the image for a gain of one and zeros for a gain of zero, at sizes that are not powers of two', () => {
    const rng = new Rng(9, 1);
    const rows = 70;
    const columns = 45;
    const image = Float64Array.from({ length: rows * columns }, () => rng.normal());
    const same = applyRadialGain(image, rows, columns, [0, 0.5], [1, 1]);
    const none = applyRadialGain(image, rows, columns, [0, 0.5], [0, 0]);
    for (let i = 0; i < image.length; i++) {
      expect(same[i]).toBeCloseTo(image[i]!, 9);
      expect(none[i]).toBeCloseTo(0, 12);
    }
  });

  it('a gain of exp(-2 pi^2 s^2 f^2) is a Gaussian blur of s pixels', () => {
    const rng = new Rng(10, 1);
    const image = Float32Array.from({ length: N * N }, () => rng.normal());
    const f = Array.from({ length: 200 }, (_, k) => (k / 199) * 0.75);
    const filtered = applyRadialGain(image, N, N, f, f.map((x) => Math.exp(-2 * Math.PI ** 2 * S ** 2 * x * x)));
    const blurred = gaussianSmooth(image, N, N, S, S);
    // Edges included: both mirror the image about its edges (half-sample symmetric).
    let err = 0;
    let ref = 0;
    let edgeErr = 0;
    let edgeRef = 0;
    for (let r = 0; r < N; r++) {
      for (let c = 0; c < N; c++) {
        const e = (filtered[r * N + c]! - blurred[r * N + c]!) ** 2;
        const b = blurred[r * N + c]! ** 2;
        err += e;
        ref += b;
        if (Math.min(r, c, N - 1 - r, N - 1 - c) < 4) {
          edgeErr += e;
          edgeRef += b;
        }
      }
    }
    expect(Math.sqrt(err / ref)).toBeLessThan(0.02);
    expect(Math.sqrt(edgeErr / edgeRef)).toBeLessThan(0.02);
  });
});

describe('applyRadialGain at the edges, with the shipped CT card gain', () => {
  const cardPath = new URL('../../models/lowdose-ct.json', import.meta.url);
  const shipped = parseModelCard(JSON.parse(readFileSync(cardPath, 'utf8')), cardPath.pathname).texture!.transfer!;
  const gainAt = (d: number) => textureGain(transferAtDose(shipped, d), d);
  /** SD of `values` by distance to the nearest edge: the outer `band` pixels, and beyond 32 pixels. */
  function edgeAndInteriorSd(values: Float64Array, rows: number, columns: number, band: number) {
    const sums = [0, 0, 0, 0];
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < columns; c++) {
        const d = Math.min(r, c, rows - 1 - r, columns - 1 - c);
        const k = d < band ? 0 : d >= 32 ? 2 : -1;
        if (k < 0) continue;
        sums[k]! += values[r * columns + c]! ** 2;
        sums[k + 1]! += 1;
      }
    }
    return { edge: Math.sqrt(sums[0]! / sums[1]!), interior: Math.sqrt(sums[2]! / sums[3]!) };
  }

  it('puts nothing from a patch of noise at one edge onto the opposite edge (no circular wrap, 512 pixels wide)', () => {
    const rows = 64;
    const columns = 512;
    const rng = new Rng(21, 1);
    const residual = new Float64Array(rows * columns);
    for (let r = 0; r < rows; r++) for (let c = 0; c < 16; c++) residual[r * columns + c] = 30 * rng.normal();
    for (const d of [0.25, 0.1]) {
      const added = applyRadialGain(residual, rows, columns, shipped.cyclesPerPixel, gainAt(d));
      let nearPatch = 0;
      let opposite = 0;
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < 16; c++) nearPatch = Math.max(nearPatch, Math.abs(added[r * columns + c]!));
        for (let c = columns - 32; c < columns; c++) opposite = Math.max(opposite, Math.abs(added[r * columns + c]!));
      }
      expect(nearPatch).toBeGreaterThan(10);
      // The kernel at 480 pixels; a wrapping filter puts the patch's own filtered noise (tens of HU) there.
      expect(opposite).toBeLessThan(1e-3);
    }
  });

  it('adds nothing for a constant residual, edges and corners included (zero padding would add a step there)', () => {
    const added = applyRadialGain(new Float64Array(96 * 80).fill(10), 96, 80, shipped.cyclesPerPixel, gainAt(0.25));
    for (const v of added) expect(Math.abs(v)).toBeLessThan(1e-9);
  });

  it('keeps the added noise SD in the outer 16 pixels within 4 % of the interior, on white and on residual-like noise', () => {
    const size = 256;
    for (const d of [0.25, 0.1]) {
      const kept = transferAtDose(shipped, d);
      for (const shape of ['white', 'residual'] as const) {
        let edge = 0;
        let interior = 0;
        for (let seed = 0; seed < 3; seed++) {
          const rng = new Rng(30 + seed, 1);
          const noise = Float64Array.from({ length: size * size }, () => rng.normal());
          if (shape === 'residual') {
            // In flat water x - D is FBP-like noise times 1 - T(f): shaped on twice the size, the middle kept (no edge there).
            const big = Float64Array.from({ length: 4 * size * size }, () => rng.normal());
            const shaped = applyRadialGain(big, 2 * size, 2 * size, shipped.cyclesPerPixel, shipped.cyclesPerPixel.map((f, k) => f * Math.exp(-((f / 0.2) ** 2)) * (1 - kept[k]!)));
            for (let r = 0; r < size; r++) noise.set(shaped.subarray((r + size / 2) * 2 * size + size / 2, (r + size / 2) * 2 * size + size / 2 + size), r * size);
          }
          const sd = edgeAndInteriorSd(applyRadialGain(noise, size, size, shipped.cyclesPerPixel, gainAt(d)), size, size, 16);
          edge += sd.edge ** 2;
          interior += sd.interior ** 2;
        }
        expect(Math.abs(Math.sqrt(edge / interior) - 1)).toBeLessThan(0.04);
      }
    }
  });
});

describe('restoreTexture with a noise transfer, on an oracle denoiser of known transfer', () => {
  const noise = fbpNoise(3);
  const input = noise.map((v) => mu + v);
  const kept = gaussianSmooth(noise, N, N, S, S);
  const denoised = Float32Array.from(kept, (v) => mu + A * v);
  const fullDose = radialNps(noise.map((v) => Math.sqrt(dose) * v));
  const centred = (a: Float32Array) => a.map((v) => v - mu);

  it("gives back the full-dose scan's NPS at every frequency; the single weight w(d) does not", () => {
    const out = radialNps(centred(restoreTexture(input, denoised, { dose, rows: N, columns: N, transfer: oracleTransfer })));
    const single = radialNps(centred(restoreTexture(input, denoised, { dose })));
    const ratio = (r: typeof out, k: number) => r.radial.nps[k]! / fullDose.radial.nps[k]!;
    let singleWorst = 0;
    fullDose.radial.frequency.forEach((f, k) => {
      if (f < 0.03 || f > 0.45) return;
      expect(ratio(out, k)).toBeGreaterThan(0.9);
      expect(ratio(out, k)).toBeLessThan(1.1);
      singleWorst = Math.max(singleWorst, Math.abs(ratio(single, k) - 1));
    });
    // One weight puts back 1/3 where the oracle kept nothing: (1/3)^2 / (1/2)^2 of the power.
    expect(singleWorst).toBeGreaterThan(0.4);
    expect(Math.abs(smoothedPeak(out) / smoothedPeak(fullDose) - 1)).toBeLessThan(0.05);
    expect(Math.sqrt(out.variance / fullDose.variance)).toBeCloseTo(1, 1);
  });

  it('leaves kept pixels exactly as denoised, in place when out is the denoised array', () => {
    const keep = new Uint8Array(N * N);
    for (let i = 0; i < N * 20; i++) keep[i] = 1;
    const out = denoised.slice();
    restoreTexture(input, out, { dose, rows: N, columns: N, transfer: oracleTransfer, keep }, out);
    for (let i = 0; i < N * 20; i++) expect(out[i]).toBe(denoised[i]);
    expect(out[N * 100]).not.toBe(denoised[N * 100]);
  });

  it('refuses a transfer without the image shape', () => {
    expect(() => restoreTexture(input, denoised, { dose, transfer: oracleTransfer })).toThrow(/rows and columns/);
  });
});

describe('denoiseSlices with full-dose texture and a card that carries the noise transfer', () => {
  const baseCard = parseModelCard(JSON.parse(readFileSync(fixtureModel('oracle-sample-linear'), 'utf8')), fixtureModel('oracle-sample-linear'));
  const noise = fbpNoise(4);
  const input = noise.map((v) => mu + v);
  const answer = Float32Array.from(gaussianSmooth(noise, N, N, S, S), (v) => mu + A * v);

  /**
   * A clean-image model that returns the oracle's answer (mu + A * blur(noise), in model space)
   * whatever it is given: its output keeps T(f) = oracleT(f) of the input's noise.
   */
  function oracleModel(card: ModelCard): CardModel {
    const target = toModelSpace(normalizationFor(card, 'CT'), answer);
    return {
      card,
      conditionChannels: 1,
      supportsConditionMask: false,
      stats: { calls: 0, forwardMs: 0 },
      async predict(batch: ModelBatch, out: Float32Array) {
        for (let b = 0; b < batch.batch; b++) out.set(target, b * target.length);
      },
    };
  }

  async function run(card: ModelCard, texture: 'smooth' | 'full-dose', padding: Uint8Array | null = null) {
    const model = oracleModel(card);
    const result = await denoiseSlices(model, [{ index: 0, image: input, doseLevel: dose, padding }], {
      rows: N,
      columns: N,
      modality: 'CT',
      sampler: createSampler(card, { name: 'warm-start', strength: 0.05 }),
      steps: 1,
      seed: 7,
      texture,
    });
    return result.denoised[0]!;
  }

  const withTransfer: ModelCard = { ...baseCard, texture: { defaultDose: dose, transfer: { measuredOn: 'oracle', command: 'test', ...oracleTransfer } } };
  const withoutTransfer: ModelCard = { ...baseCard, texture: { defaultDose: dose } };

  it("gives back the full-dose NPS within 10 % per bin through the sampler path", async () => {
    const smooth = await run(withTransfer, 'smooth');
    for (let i = 0; i < N * N; i += 997) expect(smooth[i]).toBeCloseTo(answer[i]!, 3);
    const out = radialNps((await run(withTransfer, 'full-dose')).map((v) => v - mu));
    const fullDose = radialNps(noise.map((v) => Math.sqrt(dose) * v));
    fullDose.radial.frequency.forEach((f, k) => {
      if (f < 0.03 || f > 0.45) return;
      const ratio = out.radial.nps[k]! / fullDose.radial.nps[k]!;
      expect(ratio).toBeGreaterThan(0.9);
      expect(ratio).toBeLessThan(1.1);
    });
  });

  it('keeps the single weight bit for bit when the card has no transfer', async () => {
    const smooth = await run(withoutTransfer, 'smooth');
    const textured = await run(withoutTransfer, 'full-dose');
    expect([...textured]).toEqual([...restoreTexture(input, smooth, { dose, clip: normalizationFor(withoutTransfer, 'CT').clip })]);
  });

  it('leaves padding pixels as denoised and takes no residual from them', async () => {
    const padding = new Uint8Array(N * N);
    for (let r = 0; r < N; r++) for (let c = 0; c < 24; c++) padding[r * N + c] = 1;
    const smooth = await run(withTransfer, 'smooth', padding);
    const textured = await run(withTransfer, 'full-dose', padding);
    for (let i = 0; i < N * N; i++) if (padding[i]) expect(textured[i]).toBe(smooth[i]);
    // The padding's residual is left out: the same as the input with the padding's residual zeroed.
    const zeroed = Float32Array.from(input, (v, i) => (padding[i] ? smooth[i]! : v));
    const expected = restoreTexture(zeroed, smooth, { dose, rows: N, columns: N, transfer: oracleTransfer });
    for (let i = 0; i < N * N; i += 101) if (!padding[i]) expect(textured[i]).toBeCloseTo(expected[i]!, 4);
  });
});
