/**
 * The measurement-consistency step on its own (src/diffusion/consistency.ts): seeded synthetic
 * images where the truth is known, a measurement = truth + noise, and an "estimate" standing in
 * for a network's output that is right, or biased in one region.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  consistencyInPixels,
  consistencyStep,
  describeConsistency,
  detectionGain,
  fitNoiseLevel,
  resolveConsistency,
  usesLargeRegions,
  usesLowCount,
  type ConsistencyConfig,
} from '../../src/diffusion/consistency.js';
import { gaussianSmooth } from '../../src/filters/gaussian.js';
import { parseModelCard } from '../../src/models/card.js';
import { Rng } from '../../src/util/random.js';

const N = 96;
const R = 12;

/** Background 1, a disc of radius R at the centre at `disc`. */
function discImage(disc: number): Float32Array {
  const out = new Float32Array(N * N).fill(1);
  for (let y = 0; y < N; y++) for (let x = 0; x < N; x++) if ((x - N / 2) ** 2 + (y - N / 2) ** 2 <= R * R) out[y * N + x] = disc;
  return out;
}

/** `image` plus white Gaussian noise of SD sigma·sqrt(max(image, 0)) (Poisson-like) or sigma (uniform). */
function noisy(image: Float32Array, sigma: number, seed: number, poisson = false): Float32Array {
  const rng = new Rng(seed);
  return image.map((v) => v + sigma * (poisson ? Math.sqrt(Math.max(v, 0)) : 1) * rng.normal());
}

function regionMean(image: Float32Array, inside: boolean): number {
  let sum = 0;
  let n = 0;
  for (let y = 0; y < N; y++) {
    for (let x = 0; x < N; x++) {
      const d2 = (x - N / 2) ** 2 + (y - N / 2) ** 2;
      // The disc's inner part, or the background away from it and from the border.
      if (inside ? d2 <= (R - 2) ** 2 : d2 > (R + 10) ** 2 && x > 8 && y > 8 && x < N - 8 && y < N - 8) {
        sum += image[y * N + x]!;
        n++;
      }
    }
  }
  return sum / n;
}

/** The maximum over the disc's inner part (radius R − 2). */
function discMax(image: Float32Array): number {
  let max = -Infinity;
  for (let y = 0; y < N; y++) for (let x = 0; x < N; x++) if ((x - N / 2) ** 2 + (y - N / 2) ** 2 <= (R - 2) ** 2) max = Math.max(max, image[y * N + x]!);
  return max;
}

function backgroundSd(image: Float32Array): number {
  const m = regionMean(image, false);
  let ss = 0;
  let n = 0;
  for (let y = 8; y < N - 8; y++) {
    for (let x = 8; x < N - 8; x++) {
      if ((x - N / 2) ** 2 + (y - N / 2) ** 2 <= (R + 10) ** 2) continue;
      ss += (image[y * N + x]! - m) ** 2;
      n++;
    }
  }
  return Math.sqrt(ss / n);
}

const config: ConsistencyConfig = { strength: 1, sigmaRows: 2, sigmaColumns: 2, threshold: 1 };

describe('consistencyStep', () => {
  const truth = discImage(4);
  const measurement = noisy(truth, 0.3, 1, true);

  it('restores the mean of a region the estimate got wrong, to within the measurement noise', () => {
    const shrunk = discImage(3.2); // a network that lost 20 % of the lesion's uptake
    const out = consistencyStep(shrunk, measurement, N, N, config);
    const before = regionMean(shrunk, true) / regionMean(truth, true) - 1;
    const after = regionMean(out, true) / regionMean(truth, true) - 1;
    const measured = regionMean(measurement, true) / regionMean(truth, true) - 1;
    expect(before).toBeCloseTo(-0.2, 5);
    expect(Math.abs(after - measured)).toBeLessThan(0.02);
    expect(Math.abs(after)).toBeLessThan(0.03);
  });

  it('leaves a correct estimate nearly alone: the measurement noise does not come back', () => {
    const out = consistencyStep(truth, measurement, N, N, config);
    // The measurement's background SD is 0.3; the pixels whose low-passed noise exceeds k σ (a
    // third of them at k = 1) let a little of it back, under a sixth in all.
    expect(backgroundSd(measurement)).toBeGreaterThan(0.28);
    expect(backgroundSd(out)).toBeLessThan(0.05);
    // Within the measurement's own uncertainty of the disc mean (0.8 %, 1 SD), with margin.
    expect(Math.abs(regionMean(out, true) / regionMean(truth, true) - 1)).toBeLessThan(0.02);
  });

  it('with threshold 0 restores the low band everywhere: noise comes back (the threshold is what keeps it out)', () => {
    const out = consistencyStep(truth, measurement, N, N, { ...config, threshold: 0 });
    expect(backgroundSd(out)).toBeGreaterThan(0.08);
    // The image mean (the band's DC) matches the measurement's after the first iteration.
    const mean = (a: Float32Array) => a.reduce((s, v) => s + v, 0) / a.length;
    expect(mean(out)).toBeCloseTo(mean(measurement), 4);
  });

  it('strength scales the correction linearly and 0 returns the estimate bit for bit', () => {
    const shrunk = discImage(3.2);
    const full = consistencyStep(shrunk, measurement, N, N, config);
    const half = consistencyStep(shrunk, measurement, N, N, { ...config, strength: 0.5 });
    for (let i = 0; i < full.length; i += 37) expect(half[i]!).toBeCloseTo(shrunk[i]! + 0.5 * (full[i]! - shrunk[i]!), 5);
    const off = consistencyStep(shrunk, measurement, N, N, { ...config, strength: 0 });
    expect(off).toEqual(shrunk);
    expect(off).not.toBe(shrunk);
  });

  it('works in place (out = estimate)', () => {
    const shrunk = discImage(3.2);
    const expected = consistencyStep(shrunk, measurement, N, N, config);
    consistencyStep(shrunk, measurement, N, N, config, shrunk);
    expect(shrunk).toEqual(expected);
  });

  it('rejects settings out of range with E_USAGE', () => {
    const x = new Float32Array(16);
    expect(() => consistencyStep(x, x, 4, 4, { ...config, strength: 1.5 })).toThrow(expect.objectContaining({ code: 'E_USAGE' }));
    expect(() => consistencyStep(x, x, 4, 4, { ...config, sigmaRows: 0 })).toThrow(/sigma/);
    expect(() => consistencyStep(x, x, 4, 4, { ...config, threshold: -1 })).toThrow(/threshold/);
    expect(() => consistencyStep(x, x, 4, 5, config)).toThrow(expect.objectContaining({ code: 'E_INTERNAL' }));
  });
});

describe('noise level of the low-passed residual', () => {
  it('fitNoiseLevel recovers a + b·mean from Poisson-like noise and ignores a biased region', () => {
    const rng = new Rng(7);
    const n = 40000;
    const mean = new Float32Array(n);
    const r = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      mean[i] = (i % 200) / 40; // 0 .. 5
      r[i] = Math.sqrt(0.01 + 0.04 * mean[i]!) * rng.normal();
      if (i % 50 === 0) r[i]! += 3; // 2 % of pixels: a model bias, not noise
    }
    const { a, b } = fitNoiseLevel(r, mean);
    expect(b).toBeGreaterThan(0.04 * 0.9);
    expect(b).toBeLessThan(0.04 * 1.1);
    expect(a).toBeGreaterThan(0.005);
    expect(a).toBeLessThan(0.015);
  });

  it('fitNoiseLevel gives uniform noise (b = 0) when the variance does not follow the mean', () => {
    const rng = new Rng(8);
    const mean = Float32Array.from({ length: 20000 }, (_, i) => -1 + (i % 100) / 50);
    const r = mean.map(() => 0.2 * rng.normal());
    const { a, b } = fitNoiseLevel(r, mean);
    expect(Math.sqrt(a + b)).toBeCloseTo(0.2, 1.5);
    expect(b).toBeLessThan(0.005);
  });

  it('fitNoiseLevel measures the noise of the low-passed image, correlation included', () => {
    // Correlated noise (white noise smoothed by 1.5 px) through a 2 px low-pass: its SD is far
    // above what white noise of the same pixel SD would give, and the fit reads it from r itself.
    const rng = new Rng(9);
    const white = Float32Array.from({ length: N * N }, () => rng.normal());
    const noise = gaussianSmooth(white, N, N, 1.5, 1.5);
    const low = gaussianSmooth(noise, N, N, 2, 2);
    let ss = 0;
    for (const v of low) ss += v * v;
    const { a, b } = fitNoiseLevel(low, new Float32Array(N * N).fill(1));
    expect(Math.sqrt(a + b)).toBeCloseTo(Math.sqrt(ss / low.length), 2);
  });

  it('detectionGain is 0 within k σ, 1 from 2 k σ on, and linear between', () => {
    const rng = new Rng(10);
    const r = Float32Array.from({ length: 10000 }, () => 0.1 * rng.normal());
    r[0] = 0.05;
    r[1] = 0.15;
    r[2] = 0.25;
    r[3] = -0.5;
    const gain = detectionGain(r, new Float32Array(r.length), 1);
    expect(gain[0]).toBe(0);
    expect(gain[1]).toBeGreaterThan(0.3);
    expect(gain[1]).toBeLessThan(0.7);
    expect(gain[2]).toBe(1);
    expect(gain[3]).toBe(1);
    expect(detectionGain(r, new Float32Array(r.length), 0).every((g) => g === 1)).toBe(true);
  });
});

describe('consistency settings', () => {
  it('resolveConsistency: the card gives strength, scale and threshold; --consistency overrides the strength only', () => {
    expect(resolveConsistency(undefined)).toBeNull();
    expect(resolveConsistency(undefined, 0)).toBeNull();
    expect(resolveConsistency(0.5)).toEqual({ strength: 0.5, scaleMm: 4, threshold: 1 });
    expect(resolveConsistency({ strength: 1, scaleMm: 6, threshold: 2 }, 0.25)).toEqual({ strength: 0.25, scaleMm: 6, threshold: 2 });
    expect(resolveConsistency({ strength: 1, scaleMm: 6 }, 0)).toBeNull();
    expect(resolveConsistency(undefined, 1)).toEqual({ strength: 1, scaleMm: 4, threshold: 1 });
    expect(() => resolveConsistency(undefined, 2)).toThrow(expect.objectContaining({ code: 'E_USAGE' }));
  });

  it('consistencyInPixels turns the scale in mm into sigmas per axis (DICOM PixelSpacing order: rows, columns)', () => {
    const c = consistencyInPixels({ strength: 1, scaleMm: 4, threshold: 1 }, [2, 0.5]);
    expect(c.sigmaRows).toBe(2);
    expect(c.sigmaColumns).toBe(8);
    expect(() => consistencyInPixels({ strength: 1, scaleMm: 4, threshold: 1 }, [0, 1])).toThrow(expect.objectContaining({ code: 'E_USAGE' }));
  });
});

describe('the low-count step (lowCount: region mean, below a declared dose)', () => {
  const truth = discImage(4);
  // A low-count measurement: Poisson-like noise of SD 0.6·sqrt(value), 1.5 px correlated like a
  // reconstruction's, and an estimate that lost 20 % of the disc and kept lumps of that noise there.
  const rng = new Rng(21);
  const white = Float32Array.from({ length: N * N }, () => rng.normal());
  const corr = gaussianSmooth(white, N, N, 1.5, 1.5);
  const scale = 0.6 / Math.sqrt(corr.reduce((s, v) => s + v * v, 0) / corr.length);
  const measurement = truth.map((v, i) => v + scale * corr[i]! * Math.sqrt(v));
  const shrunk = discImage(3.2).map((v, i) => (v > 3 ? v + 0.5 * (measurement[i]! - truth[i]!) : v));
  const lowCount = { belowDose: 0.16, averageSigmaRows: 2.5, averageSigmaColumns: 2.5, interiorSigmaRows: 2.5, interiorSigmaColumns: 2.5, passes: 3 };
  const withLow: ConsistencyConfig = { ...config, lowCount };

  it('runs only for a declared dose below belowDose: unknown dose and 25 % get the band step bit for bit', () => {
    const band = consistencyStep(shrunk, measurement, N, N, config);
    expect(consistencyStep(shrunk, measurement, N, N, withLow, undefined, 0)).toEqual(band);
    expect(consistencyStep(shrunk, measurement, N, N, withLow, undefined, 0.25)).toEqual(band);
    expect(consistencyStep(shrunk, measurement, N, N, withLow, undefined, 0.16)).toEqual(band);
    expect(consistencyStep(shrunk, measurement, N, N, withLow, undefined, 0.1)).not.toEqual(band);
    expect(usesLowCount(withLow, 0.1)).toBe(true);
    expect(usesLowCount(withLow, 0)).toBe(false);
    expect(usesLowCount(config, 0.1)).toBe(false);
  });

  it("restores most of the disc's lost mean, keeps its maximum lower than the band step does and the background calmer", () => {
    const band = consistencyStep(shrunk, measurement, N, N, config);
    const low = consistencyStep(shrunk, measurement, N, N, withLow, undefined, 0.1);
    const bias = (image: Float32Array) => regionMean(image, true) / regionMean(truth, true) - 1;
    expect(bias(shrunk)).toBeLessThan(-0.18);
    // Two thirds of the 20 % loss come back (a region average of the residual, the disc's edge
    // partly outside the detected region); the band step restores it to within 4 %.
    expect(Math.abs(bias(low))).toBeLessThan(0.07);
    expect(Math.abs(bias(band))).toBeLessThan(0.04);
    // The band step brings the measurement's lumps back into the disc; the region mean does not.
    expect(discMax(band) - 4).toBeGreaterThan(discMax(low) - 4 + 0.3);
    expect(backgroundSd(low)).toBeLessThanOrEqual(backgroundSd(band));
  });

  it("lowCount.threshold sets the detection's k at low counts only; absent, the band step's k decides", () => {
    const same = consistencyStep(shrunk, measurement, N, N, { ...config, lowCount: { ...lowCount, threshold: config.threshold } }, undefined, 0.1);
    expect(same).toEqual(consistencyStep(shrunk, measurement, N, N, withLow, undefined, 0.1));
    // Nothing reaches a k of 100 noise SDs: the region mean then leaves the estimate as it is.
    const none = consistencyStep(shrunk, measurement, N, N, { ...config, lowCount: { ...lowCount, threshold: 100 } }, undefined, 0.1);
    expect(none).toEqual(shrunk);
    // A lower k detects more of the lost disc than the band step's k: more of its mean comes back.
    const bias = (image: Float32Array) => Math.abs(regionMean(image, true) / regionMean(truth, true) - 1);
    const lower = consistencyStep(shrunk, measurement, N, N, { ...config, lowCount: { ...lowCount, threshold: 0 } }, undefined, 0.1);
    expect(bias(lower)).toBeLessThan(bias(consistencyStep(shrunk, measurement, N, N, withLow, undefined, 0.1)));
    // At 25 % the band step runs with its own k, whatever lowCount.threshold says.
    const band = consistencyStep(shrunk, measurement, N, N, config, undefined, 0.25);
    expect(consistencyStep(shrunk, measurement, N, N, { ...config, lowCount: { ...lowCount, threshold: 0 } }, undefined, 0.25)).toEqual(band);
    const x = new Float32Array(16);
    expect(() => consistencyStep(x, x, 4, 4, { ...config, lowCount: { ...lowCount, threshold: -1 } }, undefined, 0.1)).toThrow(/lowCount.threshold/);
    const card = { strength: 1, scaleMm: 4.5, threshold: 0.85, lowCount: { belowDose: 0.16, averageMm: 6, interiorMm: 6, passes: 3, threshold: 0.4 } };
    const settings = resolveConsistency(card)!;
    expect(consistencyInPixels(settings, [3, 2]).lowCount?.threshold).toBe(0.4);
    expect(describeConsistency(settings)).toBe('consistency 1 (4.5 mm, 0.85 sd; below dose 0.16: region mean 6 mm x 3, interior 6 mm, 0.4 sd)');
  });

  it('rejects low-count settings out of range with E_USAGE', () => {
    const x = new Float32Array(16);
    expect(() => consistencyStep(x, x, 4, 4, { ...config, lowCount: { ...lowCount, belowDose: 0 } })).toThrow(/belowDose/);
    expect(() => consistencyStep(x, x, 4, 4, { ...config, lowCount: { ...lowCount, averageSigmaRows: 0 } })).toThrow(/averaging/);
    expect(() => consistencyStep(x, x, 4, 4, { ...config, lowCount: { ...lowCount, interiorSigmaColumns: -1 } })).toThrow(/interior/);
    expect(() => consistencyStep(x, x, 4, 4, { ...config, lowCount: { ...lowCount, passes: 1.5 } })).toThrow(expect.objectContaining({ code: 'E_USAGE' }));
  });

  it('the settings carry lowCount from the card, in mm, and turn it into pixels per axis', () => {
    const card = { strength: 1, scaleMm: 4.5, threshold: 1, lowCount: { belowDose: 0.16, averageMm: 6, interiorMm: 6, passes: 3 } };
    const settings = resolveConsistency(card, 0.5)!;
    expect(settings).toEqual({ ...card, strength: 0.5 });
    const c = consistencyInPixels(settings, [3, 2]);
    expect(c.lowCount).toEqual({ belowDose: 0.16, averageSigmaRows: 2, averageSigmaColumns: 3, interiorSigmaRows: 2, interiorSigmaColumns: 3, passes: 3 });
    expect(describeConsistency(settings)).toBe('consistency 0.5 (4.5 mm, 1 sd; below dose 0.16: region mean 6 mm x 3, interior 6 mm)');
    expect(describeConsistency(resolveConsistency(1))).toBe('consistency 1 (4 mm, 1 sd)');
  });
});

describe('the region mean inside large detected regions (largeRegions, where the band step runs)', () => {
  // Two hot discs on a background of 1: a large one (radius R = 12 px) and a small one (radius 3
  // px), both 20 % low in the estimate with lumps of the measurement's correlated noise kept in
  // them, as a network's output at moderate counts.
  const small = { x: 16, y: 16, r: 3 };
  const inSmall = (x: number, y: number) => (x - small.x) ** 2 + (y - small.y) ** 2 <= small.r ** 2;
  const truth = discImage(4).map((v, i) => (inSmall(i % N, Math.floor(i / N)) ? 4 : v));
  const rng = new Rng(47);
  const corr = gaussianSmooth(Float32Array.from({ length: N * N }, () => rng.normal()), N, N, 1.5, 1.5);
  const scale = 0.25 / Math.sqrt(corr.reduce((s, v) => s + v * v, 0) / corr.length);
  const measurement = truth.map((v, i) => v + scale * corr[i]! * Math.sqrt(v));
  const estimate = truth.map((v, i) => (v > 3 ? 0.8 * v + 0.5 * (measurement[i]! - truth[i]!) : v));
  const large = { radiusRows: 4, radiusColumns: 4, level: 0.3, averageSigmaRows: 5, averageSigmaColumns: 5, interiorSigmaRows: 2.5, interiorSigmaColumns: 2.5, passes: 3 };
  const withLarge: ConsistencyConfig = { ...config, largeRegions: large };
  const smallPixels = Array.from({ length: N * N }, (_, i) => i).filter((i) => (i % N - small.x) ** 2 + (Math.floor(i / N) - small.y) ** 2 <= (small.r + 6) ** 2);

  it("blends towards the region mean's result inside the large disc and leaves the small disc bit for bit", () => {
    const band = consistencyStep(estimate, measurement, N, N, config);
    const blended = consistencyStep(estimate, measurement, N, N, withLarge);
    // The region mean alone: the low-count step with the same averaging, at a declared 10 %.
    const region = consistencyStep(estimate, measurement, N, N, { ...config, lowCount: { belowDose: 0.16, ...large } }, undefined, 0.1);
    const bias = (image: Float32Array) => regionMean(image, true) / regionMean(truth, true) - 1;
    expect(bias(estimate)).toBeLessThan(-0.15);
    expect(Math.abs(bias(blended))).toBeLessThan(0.04);
    // Within 5 px of the large disc's centre the result is a convex blend of the band step's and
    // the region mean's (the blend weight, read back per pixel).
    const weights: number[] = [];
    for (let y = 0; y < N; y++) {
      for (let x = 0; x < N; x++) {
        const i = y * N + x;
        if ((x - N / 2) ** 2 + (y - N / 2) ** 2 > 25 || Math.abs(region[i]! - band[i]!) < 1e-3) continue;
        weights.push((blended[i]! - band[i]!) / (region[i]! - band[i]!));
      }
    }
    expect(weights.length).toBeGreaterThan(60);
    for (const w of weights) {
      expect(w).toBeGreaterThan(-1e-3);
      expect(w).toBeLessThan(1 + 1e-3);
    }
    // 0.41 on average here: the detection gain itself is partial inside the disc (lumps of noise).
    expect(weights.reduce((a, b) => a + b, 0) / weights.length).toBeGreaterThan(0.3);
    // A disc of radius 3 px smoothed over 4 px reads at most 1 - exp(-9/32) = 0.25 < 0.3: no blend.
    for (const i of smallPixels) expect(blended[i]).toBe(band[i]);
  });

  it('needs no dose (unknown and 25 % alike), gives way to the low-count step below its dose, and with onlyUnknownDose runs without a declared dose only', () => {
    const band = consistencyStep(estimate, measurement, N, N, config);
    expect(consistencyStep(estimate, measurement, N, N, withLarge, undefined, 0)).toEqual(consistencyStep(estimate, measurement, N, N, withLarge, undefined, 0.25));
    const unknownOnly: ConsistencyConfig = { ...config, largeRegions: { ...large, onlyUnknownDose: true } };
    expect(consistencyStep(estimate, measurement, N, N, unknownOnly, undefined, 0.25)).toEqual(band);
    expect(consistencyStep(estimate, measurement, N, N, unknownOnly, undefined, 0)).toEqual(consistencyStep(estimate, measurement, N, N, withLarge, undefined, 0));
    expect(usesLargeRegions(unknownOnly, 0)).toBe(true);
    expect(usesLargeRegions(unknownOnly, 0.5)).toBe(false);
    const lowCount = { belowDose: 0.16, averageSigmaRows: 2.5, averageSigmaColumns: 2.5, interiorSigmaRows: 2.5, interiorSigmaColumns: 2.5, passes: 3 };
    expect(consistencyStep(estimate, measurement, N, N, { ...withLarge, lowCount }, undefined, 0.1)).toEqual(consistencyStep(estimate, measurement, N, N, { ...config, lowCount }, undefined, 0.1));
  });

  it('refuses a level outside [0, 1) or a non-positive radius, and carries the card\'s millimetres into pixels', () => {
    const x = new Float32Array(16);
    expect(() => consistencyStep(x, x, 4, 4, { ...config, largeRegions: { ...large, level: 1 } })).toThrow(/largeRegions.level/);
    expect(() => consistencyStep(x, x, 4, 4, { ...config, largeRegions: { ...large, radiusRows: 0 } })).toThrow(/largeRegions radius/);
    expect(() => consistencyStep(x, x, 4, 4, { ...config, largeRegions: { ...large, passes: 0 } })).toThrow(/largeRegions.passes/);
    const card = { strength: 1, scaleMm: 4.5, threshold: 0.85, largeRegions: { radiusMm: 6, level: 0.3, averageMm: 7, interiorMm: 4, passes: 5 } };
    const settings = resolveConsistency(card)!;
    expect(settings.largeRegions).toEqual(card.largeRegions);
    expect(consistencyInPixels(settings, [3, 2]).largeRegions).toEqual({ radiusRows: 2, radiusColumns: 3, level: 0.3, averageSigmaRows: 7 / 3, averageSigmaColumns: 3.5, interiorSigmaRows: 4 / 3, interiorSigmaColumns: 2, passes: 5 });
    expect(describeConsistency(settings)).toBe('consistency 1 (4.5 mm, 0.85 sd; large regions: region mean 7 mm x 5, interior 4 mm, weight the detection smoothed 6 mm above 0.3)');
    const unknownOnly = resolveConsistency({ ...card, largeRegions: { ...card.largeRegions, onlyUnknownDose: true } })!;
    expect(consistencyInPixels(unknownOnly, [3, 2]).largeRegions?.onlyUnknownDose).toBe(true);
    expect(describeConsistency(unknownOnly)).toContain('; large regions (dose unknown): region mean 7 mm x 5');
  });
});

describe('the bilateral pre-smoothing of the estimate (bilateral)', () => {
  const truth = discImage(4);
  const measurement = noisy(truth, 0.3, 5, true);
  // A network-like estimate: the disc 15 % low, and lumps of its own (correlated, 2 px) everywhere.
  const rng = new Rng(33);
  const lumps = gaussianSmooth(Float32Array.from({ length: N * N }, () => rng.normal()), N, N, 2, 2);
  const lumpScale = 0.08 / Math.sqrt(lumps.reduce((s, v) => s + v * v, 0) / lumps.length);
  const estimate = discImage(3.4).map((v, i) => v + lumpScale * lumps[i]! * Math.sqrt(v));
  const withBilateral: ConsistencyConfig = { ...config, bilateral: { sigmaRows: 2.5, sigmaColumns: 2.5, rangeFactor: 4 } };

  it("flattens the estimate's lumps in the background and keeps the disc's restored mean", () => {
    const plain = consistencyStep(estimate, measurement, N, N, config);
    const smoothed = consistencyStep(estimate, measurement, N, N, withBilateral);
    expect(backgroundSd(smoothed)).toBeLessThan(0.7 * backgroundSd(plain));
    const bias = (image: Float32Array) => regionMean(image, true) / regionMean(truth, true) - 1;
    expect(bias(estimate)).toBeLessThan(-0.12);
    expect(Math.abs(bias(smoothed))).toBeLessThan(0.04);
    expect(Math.abs(bias(smoothed) - bias(plain))).toBeLessThan(0.01);
  });

  it('strength 0 leaves the estimate alone; a flat estimate (no noise to scale the range by) is not filtered', () => {
    expect(consistencyStep(estimate, measurement, N, N, { ...withBilateral, strength: 0 })).toEqual(estimate);
    const flat = new Float32Array(N * N).fill(2);
    expect(consistencyStep(flat, flat, N, N, withBilateral)).toEqual(flat);
  });

  it('rejects a non-positive spatial sigma or range factor with E_USAGE', () => {
    const x = new Float32Array(16);
    expect(() => consistencyStep(x, x, 4, 4, { ...config, bilateral: { sigmaRows: 0, sigmaColumns: 1, rangeFactor: 4 } })).toThrow(/bilateral sigma/);
    expect(() => consistencyStep(x, x, 4, 4, { ...config, bilateral: { sigmaRows: 1, sigmaColumns: 1, rangeFactor: 0 } })).toThrow(
      expect.objectContaining({ code: 'E_USAGE' }),
    );
  });

  it('the settings carry bilateral from the card, in mm, and turn it into pixels per axis', () => {
    const card = { strength: 1, scaleMm: 4.5, threshold: 0.85, bilateral: { spatialMm: 6, rangeFactor: 6 } };
    const settings = resolveConsistency(card)!;
    expect(settings).toEqual(card);
    expect(consistencyInPixels(settings, [3, 2]).bilateral).toEqual({ sigmaRows: 2, sigmaColumns: 3, rangeFactor: 6 });
    expect(describeConsistency(settings)).toBe('consistency 1 (4.5 mm, 0.85 sd; estimate smoothed first: bilateral 6 mm, range 6 x its noise SD)');
  });
});

describe("the shipped lowdose-pet card's consistency depends on the declared dose", () => {
  const cardPath = fileURLToPath(new URL('../../models/lowdose-pet.json', import.meta.url));
  const card = parseModelCard(JSON.parse(readFileSync(cardPath, 'utf8')) as Record<string, unknown>, cardPath);
  const settings = resolveConsistency(card.sampler.consistency)!;
  // The IEC fixture's pixels; the disc below is 24 px = 66 mm across, its noise 2.7 mm correlated.
  const config = consistencyInPixels(settings, [2.734375, 2.734375]);
  const truth = discImage(4);
  const rng = new Rng(77);
  const corr = gaussianSmooth(Float32Array.from({ length: N * N }, () => rng.normal()), N, N, 1, 1);
  const unit = 1 / Math.sqrt(corr.reduce((s, v) => s + v * v, 0) / corr.length);
  /** A measurement of Poisson-like noise `sd`·sqrt(value), and a network-like estimate that lost 22 % of the disc. */
  const case_ = (sd: number) => {
    const measurement = truth.map((v, i) => v + sd * unit * corr[i]! * Math.sqrt(v));
    return { measurement, estimate: discImage(3.1) };
  };

  it('takes the region-mean step below a declared 16 %, the band step at a declared 16 % and above, and without a declared dose the band step blended with the region mean in detected regions', () => {
    expect(settings.lowCount).toEqual({ belowDose: 0.16, averageMm: 7, interiorMm: 4, passes: 5 });
    expect(settings.largeRegions).toEqual({ radiusMm: 3, level: 0, averageMm: 7, interiorMm: 4, passes: 5, onlyUnknownDose: true });
    expect(settings.nonNegative).toEqual({ spreadMm: 6 });
    expect(settings.largeScale).toBeUndefined();
    expect([0.05, 0.1, 0.15].map((d) => usesLowCount(config, d))).toEqual([true, true, true]);
    expect([0, 0.16, 0.25, 0.5, 1].map((d) => usesLowCount(config, d))).toEqual([false, false, false, false, false]);
    expect([0, 0.1, 0.16, 0.25, 1].map((d) => usesLargeRegions(config, d))).toEqual([true, false, false, false, false]);
    const { measurement, estimate } = case_(0.3);
    const { lowCount: _, largeRegions: __, ...bandOnly } = config;
    // A declared 25 %: exactly the band step of the same card without lowCount and largeRegions.
    const band = consistencyStep(estimate, measurement, N, N, bandOnly);
    expect(consistencyStep(estimate, measurement, N, N, config, undefined, 0.25)).toEqual(band);
    expect(consistencyStep(estimate, measurement, N, N, config, undefined, 0)).not.toEqual(band);
    expect(consistencyStep(estimate, measurement, N, N, config, undefined, 0.1)).not.toEqual(band);
  });

  it('never writes activity below 0, at any dose, though the estimate and the band step dip below it', () => {
    const { measurement } = case_(0.6);
    // An estimate that undershoots to -0.2 in a ring around the disc, as the network does at edges.
    const estimate = discImage(3.1).map((v, i) => {
      const d2 = ((i % N) - N / 2) ** 2 + (Math.floor(i / N) - N / 2) ** 2;
      return d2 > R * R && d2 <= (R + 2) ** 2 ? -0.2 : v;
    });
    const { nonNegative: _, ...withoutIt } = config;
    expect(Math.min(...consistencyStep(estimate, measurement, N, N, withoutIt, undefined, 0.25))).toBeLessThan(0);
    for (const dose of [0, 0.1, 0.25, 1]) expect(Math.min(...consistencyStep(estimate, measurement, N, N, config, undefined, dose))).toBeGreaterThanOrEqual(0);
  });

  it('at a declared 10 % the disc gets its mean back with a lower maximum and a calmer background than the band step gives', () => {
    const { measurement, estimate } = case_(0.6);
    const { lowCount: _, ...bandOnly } = config;
    const band = consistencyStep(estimate, measurement, N, N, bandOnly, undefined, 0.1);
    const low = consistencyStep(estimate, measurement, N, N, config, undefined, 0.1);
    // Against the measurement's own disc mean: what the step can restore (its noise moves the truth's by a few %).
    const bias = (image: Float32Array) => regionMean(image, true) / regionMean(measurement, true) - 1;
    expect(bias(estimate)).toBeLessThan(-0.2);
    // The region mean gets within 5 % of the measurement's disc mean (seeds 77 to 80: 1.0 to 4.3 %),
    // the band step within 2 %; what the region mean buys is the maximum and the background.
    expect(Math.abs(bias(low))).toBeLessThan(0.05);
    expect(Math.abs(bias(band))).toBeLessThan(0.02);
    expect(discMax(low)).toBeLessThan(discMax(band) - 0.3);
    expect(backgroundSd(low)).toBeLessThanOrEqual(backgroundSd(band));
  });

  it('without a declared dose, the same low-count measurement gets most of the maximum\'s drop of the region mean, and its mean back', () => {
    const { measurement, estimate } = case_(0.6);
    const { lowCount: _, largeRegions: __, ...bandOnly } = config;
    const band = consistencyStep(estimate, measurement, N, N, bandOnly, undefined, 0);
    const unknown = consistencyStep(estimate, measurement, N, N, config, undefined, 0);
    const low = consistencyStep(estimate, measurement, N, N, config, undefined, 0.1);
    const bias = (image: Float32Array) => regionMean(image, true) / regionMean(measurement, true) - 1;
    // Seed 77: the band step's maximum 6.90, the region mean's 5.91, the dose-unknown blend's 6.08;
    // the means 1.3 / 4.3 / 2.0 % off the measurement's.
    expect(discMax(unknown)).toBeLessThan(discMax(band) - 0.5);
    expect(discMax(unknown)).toBeGreaterThanOrEqual(discMax(low));
    expect(Math.abs(bias(unknown))).toBeLessThan(0.03);
    expect(backgroundSd(unknown)).toBeLessThanOrEqual(backgroundSd(band));
  });
});
