/**
 * The pilot average of the consistency step (`pilot`, src/diffusion/consistency.ts) and the guided
 * non-local means under it (src/filters/nlm.ts `guidedNlm`): the output is a convex combination of
 * measured pixels with weights from the estimate's patches. Seeded synthetic images: a hot disc on
 * a flat background, Poisson-like noise correlated like a reconstruction's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  consistencyInPixels,
  consistencyStep,
  describeConsistency,
  pilotAverage,
  resolveConsistency,
  usesPilot,
  type ConsistencyConfig,
} from '../../src/diffusion/consistency.js';
import { createSampler } from '../../src/diffusion/create-sampler.js';
import { denoiseBatch } from '../../src/diffusion/sample.js';
import { gaussianSmooth } from '../../src/filters/gaussian.js';
import { guidedNlm, nlmFilter } from '../../src/filters/nlm.js';
import { parseModelCard } from '../../src/models/card.js';
import { loadModel, type LoadedModel } from '../../src/models/load.js';
import { Rng } from '../../src/util/random.js';
import { concat, fixtureModel, relativeError } from './helpers.js';

const N = 96;
const R = 10;

function discImage(disc: number, background = 1): Float32Array {
  const out = new Float32Array(N * N).fill(background);
  for (let y = 0; y < N; y++) for (let x = 0; x < N; x++) if ((x - N / 2) ** 2 + (y - N / 2) ** 2 <= R * R) out[y * N + x] = disc;
  return out;
}

/** Pixels of the disc's interior (inside) or of the background away from the disc and the border. */
function region(inside: boolean): number[] {
  const out: number[] = [];
  for (let y = 8; y < N - 8; y++) {
    for (let x = 8; x < N - 8; x++) {
      const d2 = (x - N / 2) ** 2 + (y - N / 2) ** 2;
      if (inside ? d2 <= (R - 2) ** 2 : d2 > (R + 8) ** 2) out.push(y * N + x);
    }
  }
  return out;
}
const disc = region(true);
const background = region(false);
const mean = (image: Float32Array, at: number[]) => at.reduce((s, i) => s + image[i]!, 0) / at.length;
const sd = (image: Float32Array, at: number[]) => {
  const m = mean(image, at);
  return Math.sqrt(at.reduce((s, i) => s + (image[i]! - m) ** 2, 0) / at.length);
};
const max = (image: Float32Array, at: number[]) => at.reduce((m, i) => Math.max(m, image[i]!), -Infinity);

/** truth + Poisson-like noise of SD `level`·sqrt(truth), correlated over 1 px like an OSEM post-filter's. */
function measure(truth: Float32Array, level: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const corr = gaussianSmooth(Float32Array.from({ length: N * N }, () => rng.normal()), N, N, 1, 1);
  const unit = 1 / Math.sqrt(corr.reduce((s, v) => s + v * v, 0) / corr.length);
  return truth.map((v, i) => v + level * unit * corr[i]! * Math.sqrt(Math.max(v, 0)));
}

const pilot = { patchRadius: 1, searchRadius: 8, h: 1, mix: 1 } as const;
const config: ConsistencyConfig = { strength: 1, sigmaRows: 1.6, sigmaColumns: 1.6, threshold: 0.85 };
const withPilot: ConsistencyConfig = { ...config, pilot };

describe('guidedNlm: weights from one image, the mean over another', () => {
  it('the weights sum to one: a constant image passes unchanged whatever the guide, with either centre weight', () => {
    const rng = new Rng(3);
    const guide = { rows: 40, columns: 36, pixelSpacing: [1, 1] as [number, number], data: Float32Array.from({ length: 40 * 36 }, () => rng.normal()) };
    const constant = new Float32Array(40 * 36).fill(2.5);
    for (const selfWeight of ['one', 'max'] as const) {
      const out = guidedNlm(guide, constant, { h: 0.7, noiseStd: 0, patchRadius: 1, searchRadius: 5, selfWeight });
      for (const v of out) expect(v).toBeCloseTo(2.5, 5);
    }
  });

  it('with the image as its own guide it is non-local means bit for bit', () => {
    const image = { rows: N, columns: N, pixelSpacing: [1, 1] as [number, number], data: measure(discImage(4), 0.3, 8) };
    const options = { h: 0.4, noiseStd: 0.2, patchRadius: 2, searchRadius: 6 };
    expect(guidedNlm(image, image.data, options)).toEqual(nlmFilter(image, options).data);
  });

  it('the bisquare kernel gives a patch further than h from every other none of their values; exp still gives a little', () => {
    const rows = 21;
    const columns = 21;
    // One bright pixel 1.5 h above a flat guide: its 1-pixel patch is 1.5 h from every other.
    const guide = new Float32Array(rows * columns);
    guide[10 * columns + 10] = 1.5;
    const values = Float32Array.from({ length: rows * columns }, (_, i) => (i === 10 * columns + 10 ? 10 : 0));
    const options = { h: 1, noiseStd: 0, patchRadius: 0, searchRadius: 5 } as const;
    const g = { rows, columns, pixelSpacing: [1, 1] as [number, number], data: guide };
    expect(guidedNlm(g, values, { ...options, kernel: 'bisquare' })[10 * columns + 10]).toBe(10);
    expect(guidedNlm(g, values, { ...options, kernel: 'exp' })[10 * columns + 10]!).toBeLessThan(9);
    for (const v of guidedNlm(g, new Float32Array(rows * columns).fill(3), { ...options, kernel: 'bisquare' })) expect(v).toBeCloseTo(3, 5);
  });

  it('averages the values only where the guide is alike: a step edge in the guide keeps the two sides apart', () => {
    const rows = 20;
    const columns = 20;
    const guide = Float32Array.from({ length: rows * columns }, (_, i) => (i % columns < 10 ? 0 : 10));
    const rng = new Rng(4);
    const values = guide.map((g) => g + rng.normal());
    const out = guidedNlm({ rows, columns, pixelSpacing: [1, 1], data: guide }, values, { h: 1, noiseStd: 0, patchRadius: 1, searchRadius: 4 });
    for (let r = 0; r < rows; r++) {
      expect(out[r * columns + 2]!).toBeLessThan(1);
      expect(out[r * columns + 17]!).toBeGreaterThan(9);
    }
  });
});

describe('the pilot average of the consistency step', () => {
  const truth = discImage(4);
  const measurement = measure(truth, 0.3, 11);
  // A network-like estimate: the disc 20 % low, smooth (the pilot is noise-poor).
  const shrunk = discImage(3.2);

  it("a flat noisy region's SD falls: the background averages over the measured pixels the pilot calls alike", () => {
    const plain = consistencyStep(shrunk, measurement, N, N, config);
    const averaged = consistencyStep(shrunk, measurement, N, N, withPilot);
    expect(sd(measurement, background)).toBeGreaterThan(0.25);
    // Seeds 11 to 14: 0.28 to 0.43 of the measurement's.
    expect(sd(averaged, background)).toBeLessThan(0.5 * sd(measurement, background));
    // The background's mean is the measurement's (a convex combination of its pixels), not the estimate's.
    expect(Math.abs(mean(averaged, background) - mean(measurement, background))).toBeLessThan(0.01);
    expect(mean(plain, background)).toBeCloseTo(1, 1);
  });

  it("a hot disc keeps the measurement's mean, with a lower maximum and SD inside than the measurement's", () => {
    const out = consistencyStep(shrunk, measurement, N, N, withPilot);
    expect(mean(shrunk, disc) / mean(measurement, disc) - 1).toBeLessThan(-0.18);
    // Seeds 11 to 14: 0.1 to 0.3 % (maximum 0.25 to 0.41 lower, SD inside 17 to 26 % lower).
    expect(Math.abs(mean(out, disc) / mean(measurement, disc) - 1)).toBeLessThan(0.02);
    expect(max(out, disc)).toBeLessThan(max(measurement, disc) - 0.2);
    expect(sd(out, disc)).toBeLessThan(0.85 * sd(measurement, disc));
  });

  it('negative model values (CT air and fat) stay apart: the transform keeps increasing below 0', () => {
    // Three bands at -1 (air), -0.1 (fat) and 0.05 (water) in model units, noise growing with the
    // value above 0 (so the fit finds b > 0, the branch that once clamped everything below 0 together).
    const truth = Float32Array.from({ length: N * N }, (_, i) => {
      const x = i % N;
      return x < 32 ? -1 : x < 64 ? -0.1 : 0.05;
    });
    const rng = new Rng(5);
    const y = truth.map((v) => v + Math.sqrt(0.0004 + 0.02 * Math.max(v, 0)) * rng.normal());
    const z = Float32Array.from(truth);
    pilotAverage(z, y, N, N, pilot);
    const band = (x0: number, x1: number) => {
      const at: number[] = [];
      for (let r = 0; r < N; r++) for (let x = x0; x < x1; x++) at.push(r * N + x);
      return at;
    };
    expect(mean(z, band(4, 28))).toBeCloseTo(-1, 2);
    expect(mean(z, band(36, 60))).toBeCloseTo(-0.1, 2);
    expect(mean(z, band(68, 92))).toBeCloseTo(0.05, 2);
  });

  it('restores a disc the estimate shrank even without the band step: the weights, not the estimate, carry the mean', () => {
    const z = Float32Array.from(shrunk);
    pilotAverage(z, measurement, N, N, pilot);
    expect(Math.abs(mean(z, disc) / mean(measurement, disc) - 1)).toBeLessThan(0.02);
  });

  it("mix blends linearly with the step's estimate; an estimate equal to the measurement (no noise) is left alone", () => {
    const full = consistencyStep(shrunk, measurement, N, N, withPilot);
    const plain = consistencyStep(shrunk, measurement, N, N, config);
    const half = consistencyStep(shrunk, measurement, N, N, { ...config, pilot: { ...pilot, mix: 0.5 } });
    for (const i of [0, 500, N * N / 2 + N / 2, N * N - 1]) expect(half[i]!).toBeCloseTo(0.5 * (full[i]! + plain[i]!), 4);
    const z = Float32Array.from(measurement);
    pilotAverage(z, measurement, N, N, pilot);
    expect(z).toEqual(measurement);
  });

  it('outsideDetected: inside the disc the step detected the average enters with weight 1 − G; the background is still averaged', () => {
    const plain = consistencyStep(shrunk, measurement, N, N, config);
    const gated = consistencyStep(shrunk, measurement, N, N, { ...config, pilot: { ...pilot, outsideDetected: true } });
    const full = consistencyStep(shrunk, measurement, N, N, withPilot);
    // Inside the detected disc the average enters with weight 1 − G: less than half of its change
    // (seed 11: 0.030 against 0.080; G is below 1 where the low-passed residual's noise dips).
    const change = (image: Float32Array) => disc.reduce((t, i) => t + Math.abs(image[i]! - plain[i]!), 0) / disc.length;
    expect(change(full)).toBeGreaterThan(0.05);
    expect(change(gated)).toBeLessThan(0.5 * change(full));
    expect(sd(gated, background)).toBeLessThan(0.5 * sd(measurement, background));
  });

  it('fromDose: a slice declared below it gets the step without the average bit for bit; unknown dose and higher doses get it', () => {
    const gated: ConsistencyConfig = { ...config, pilot: { ...pilot, fromDose: 0.16 } };
    const plain = consistencyStep(shrunk, measurement, N, N, config, undefined, 0.1);
    expect(consistencyStep(shrunk, measurement, N, N, gated, undefined, 0.1)).toEqual(plain);
    expect(consistencyStep(shrunk, measurement, N, N, gated, undefined, 0.25)).not.toEqual(plain);
    expect([0, 0.05, 0.16, 0.25, 1].map((d) => usesPilot(gated, d))).toEqual([true, false, true, true, true]);
    expect(usesPilot(config, 0.25)).toBe(false);
  });

  it('rejects pilot settings out of range with E_USAGE', () => {
    const x = new Float32Array(16);
    expect(() => consistencyStep(x, x, 4, 4, { ...config, pilot: { ...pilot, h: 0 } })).toThrow(/pilot.h/);
    expect(() => consistencyStep(x, x, 4, 4, { ...config, pilot: { ...pilot, mix: 1.5 } })).toThrow(/pilot.mix/);
    expect(() => consistencyStep(x, x, 4, 4, { ...config, pilot: { ...pilot, searchRadius: 0 } })).toThrow(expect.objectContaining({ code: 'E_USAGE' }));
    expect(() => consistencyStep(x, x, 4, 4, { ...config, pilot: { ...pilot, fromDose: 0 } })).toThrow(/fromDose/);
  });

  it('the card gives the windows in mm; they become whole pixels at the mean spacing', () => {
    const card = { strength: 1, scaleMm: 4.5, threshold: 0.85, pilot: { patchMm: 4, searchMm: 25, h: 1, mix: 0.8, fromDose: 0.16 } };
    const settings = resolveConsistency(card)!;
    expect(settings.pilot).toEqual(card.pilot);
    expect(consistencyInPixels(settings, [2.734375, 2.734375]).pilot).toEqual({ patchRadius: 1, searchRadius: 9, h: 1, mix: 0.8, fromDose: 0.16 });
    expect(consistencyInPixels(settings, [4.6875, 4.6875]).pilot).toMatchObject({ patchRadius: 1, searchRadius: 5 });
    expect(describeConsistency(settings)).toBe(
      "consistency 1 (4.5 mm, 0.85 sd; then from dose 0.16 0.8 x the measurement averaged with the estimate's patch weights: patch 4 mm, search 25 mm, h 1 sd)",
    );
  });

  it('--consistency-pilot (pilotH): sets h over the card\'s windows or the defaults, 0 removes it, and needs the step on', () => {
    const card = { strength: 1, scaleMm: 4.5, threshold: 0.85, pilot: { patchMm: 8, searchMm: 30, h: 1, mix: 0.7 } };
    expect(resolveConsistency(card, undefined, 1.5)!.pilot).toEqual({ patchMm: 8, searchMm: 30, h: 1.5, mix: 0.7 });
    expect(resolveConsistency(card, undefined, 0)!).not.toHaveProperty('pilot');
    expect(resolveConsistency({ strength: 1 }, undefined, 0.9)!.pilot).toEqual({ patchMm: 4, searchMm: 25, h: 0.9, mix: 1 });
    expect(resolveConsistency(card, 0, 0)).toBeNull();
    expect(() => resolveConsistency(card, 0, 1)).toThrow(expect.objectContaining({ code: 'E_USAGE' }));
    expect(() => resolveConsistency(undefined, undefined, 1)).toThrow(/needs a consistency strength above 0/);
  });

  it('a model card with a malformed pilot is rejected, naming the field', () => {
    const base = { format: 'lowdose-model-card/1', name: 'x', modalities: ['PT'], onnx: 'x.onnx', prediction: 'sample', schedule: { kind: 'linear', trainSteps: 10 } };
    const bad = { ...base, sampler: { default: 'ddim', steps: 1, consistency: { strength: 1, pilot: { patchMm: 4, searchMm: 25, h: 1, mix: 2, extra: 1 } } } };
    expect(() => parseModelCard(bad as unknown as Record<string, unknown>, 'x.json')).toThrow(/sampler\.consistency\.pilot\.(mix|extra)/);
  });
});

describe('the limit of the pilot average (why lowdose-pet does not ship it)', () => {
  it('a faint small disc that the pilot does not separate from its background loses much of its mean; the compact kernel loses less', () => {
    // 13 pixels at 1.2 on a 0.4 background, Poisson-like noise 0.6·sqrt(value) correlated over 1 px,
    // the true image blurred by 0.7 px as the pilot: like a 17 mm lesion on 4.7 mm PET voxels at 25 %
    // counts. Seeds 1 to 4: exp -49 to -63 %, bisquare -20 to -29 % (models/eval/consistency-pet-pilot.md).
    const M = 64;
    const truth = new Float32Array(M * M).fill(0.4);
    const inside: number[] = [];
    for (let y = 0; y < M; y++) {
      for (let x = 0; x < M; x++) {
        if ((x - 32) ** 2 + (y - 32) ** 2 <= 4) {
          truth[y * M + x] = 1.2;
          inside.push(y * M + x);
        }
      }
    }
    const rng = new Rng(1);
    const corr = gaussianSmooth(Float32Array.from({ length: M * M }, () => rng.normal()), M, M, 1, 1);
    const unit = 1 / Math.sqrt(corr.reduce((t, v) => t + v * v, 0) / corr.length);
    const y = truth.map((v, i) => v + 0.6 * unit * corr[i]! * Math.sqrt(v));
    const pilotImage = gaussianSmooth(truth, M, M, 0.7, 0.7);
    const discMean = (a: Float32Array) => inside.reduce((t, i) => t + a[i]!, 0) / inside.length;
    const bias = (kernel: 'exp' | 'bisquare') => {
      const z = Float32Array.from(pilotImage);
      pilotAverage(z, y, M, M, { patchRadius: 1, searchRadius: 6, h: 1, mix: 1, kernel });
      return discMean(z) / discMean(y) - 1;
    };
    expect(bias('exp')).toBeLessThan(-0.4);
    expect(bias('bisquare')).toBeLessThan(-0.15);
    expect(bias('bisquare')).toBeGreaterThan(bias('exp'));
  });

  it("guide 'estimate+band': a faint disc the estimate lost keeps more of its measured mean when the residual's low band is in the guide", () => {
    const M = 64;
    const truth = new Float32Array(M * M).fill(0.4);
    const inside: number[] = [];
    for (let y = 0; y < M; y++) {
      for (let x = 0; x < M; x++) {
        if ((x - 32) ** 2 + (y - 32) ** 2 <= 9) {
          truth[y * M + x] = 1.2;
          inside.push(y * M + x);
        }
      }
    }
    const rng = new Rng(2);
    const corr = gaussianSmooth(Float32Array.from({ length: M * M }, () => rng.normal()), M, M, 1, 1);
    const unit = 1 / Math.sqrt(corr.reduce((t, v) => t + v * v, 0) / corr.length);
    const y = truth.map((v, i) => v + 0.3 * unit * corr[i]! * Math.sqrt(v));
    // An estimate that lost the disc entirely, and a threshold so high that the band step leaves it so.
    const lost = new Float32Array(M * M).fill(0.4);
    const base: ConsistencyConfig = { strength: 1, sigmaRows: 1, sigmaColumns: 1, threshold: 100 };
    const run = (guide: 'estimate' | 'estimate+band') => {
      const out = consistencyStep(lost, y, M, M, { ...base, pilot: { patchRadius: 1, searchRadius: 6, h: 1, mix: 1, kernel: 'bisquare', guide } });
      return inside.reduce((t, i) => t + out[i]!, 0) / inside.reduce((t, i) => t + y[i]!, 0) - 1;
    };
    // Seed 2: -54 % with the estimate as the guide, -7 % with its band added.
    expect(run('estimate')).toBeLessThan(-0.5);
    expect(run('estimate+band')).toBeGreaterThan(run('estimate') + 0.3);
  });
});

describe('the pilot average through the reverse process (oracle models)', () => {
  const H = 40;
  const W = 36;
  const rng = new Rng(9);
  const lesion = (value: number) => Float32Array.from({ length: H * W }, (_, i) => ((i % W) - 18) ** 2 + (Math.floor(i / W) - 20) ** 2 <= 49 ? value : 0.2);
  const believed = concat(lesion(0.8), lesion(0.6));
  const measured = concat(lesion(1), lesion(0.75)).map((v) => v + 0.05 * rng.normal());
  const c: ConsistencyConfig = { strength: 1, sigmaRows: 1.5, sigmaColumns: 1.5, threshold: 1, pilot: { patchRadius: 1, searchRadius: 5, h: 1, mix: 1 } };
  const models: Record<string, LoadedModel> = {};
  const names = ['oracle-sample-linear', 'oracle-epsilon-cosine'];
  beforeAll(async () => {
    for (const name of names) models[name] = await loadModel(fixtureModel(name), { device: 'cpu', threads: 1 });
  });
  afterAll(async () => {
    for (const m of Object.values(models)) await m.release();
  });

  for (const [name, steps] of [['oracle-sample-linear', 1], ['oracle-epsilon-cosine', 4]] as const) {
    it(`ddim (${name}, ${steps} steps) ends on the step with the pilot average applied to the predicted image`, async () => {
      const model = models[name]!;
      const result = await denoiseBatch({
        model,
        sampler: createSampler(model.card, { name: 'ddim' }),
        steps,
        height: H,
        width: W,
        condition: believed,
        lowDose: measured,
        sliceIndices: [0, 1],
        seed: 5,
        consistency: c,
      });
      const n = H * W;
      const expected = new Float32Array(2 * n);
      for (let b = 0; b < 2; b++) expected.set(consistencyStep(believed.subarray(b * n, (b + 1) * n), measured.subarray(b * n, (b + 1) * n), H, W, c), b * n);
      expect(relativeError(result.mean, expected)).toBeLessThan(1e-4);
      expect(relativeError(result.mean, believed)).toBeGreaterThan(0.05);
    });
  }
});
