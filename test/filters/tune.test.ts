import { describe, expect, it } from 'vitest';
import { classicalDenoise, gaussianSmooth, tuneBilateralRange, tuneGaussianSigma, tuneInRanges, tuneNlmH, tuneParameter, type TuningPair } from '../../src/filters/index.js';
import { compareSlices } from '../../src/metrics/index.js';
import { Rng } from '../../src/util/random.js';
import { addNoise, image, piecewisePhantom } from './direct.js';

describe('tuners', () => {
  it('tuneGaussianSigma finds the blur that turns the low-dose images into the references', () => {
    // References are the "low-dose" texture blurred by 1.2 mm (2 px at 0.6 mm) plus a little
    // independent noise: the best candidate is 1.2 mm, and the scores fall off on both sides.
    const size = 64;
    const pairs: TuningPair[] = [0, 1, 2].map((k) => {
      const rng = new Rng(21, k);
      const texture = Float32Array.from({ length: size * size }, () => 300 * rng.normal());
      const blurred = gaussianSmooth(texture, size, size, 2, 2);
      return {
        lowDose: image(size, size, texture, [0.6, 0.6]),
        reference: image(size, size, addNoise(blurred, 3, 50 + k), [0.6, 0.6]),
      };
    });
    const result = tuneGaussianSigma(pairs, [0.3, 0.6, 0.9, 1.2, 1.5, 1.8, 2.4]);
    expect(result.best).toBe(1.2);
    expect(result.range).toEqual([-1000, 1000]);
    const psnr = result.scores.map((s) => s.psnr);
    for (let i = 1; i <= 3; i++) expect(psnr[i]!).toBeGreaterThan(psnr[i - 1]!);
    for (let i = 4; i < psnr.length; i++) expect(psnr[i]!).toBeLessThan(psnr[i - 1]!);
    // In pixels: the same blur is 2 px.
    expect(tuneGaussianSigma(pairs, [1, 2, 3], { inPixels: true }).best).toBe(2);
  });

  it('tuneNlmH and tuneBilateralRange prefer a moderate strength to none and to washing the edges out', () => {
    const size = 80;
    const truth = piecewisePhantom(size);
    const pairs: TuningPair[] = [0, 1].map((k) => ({
      lowDose: image(size, size, addNoise(truth, 30, 70 + k), [0.8, 0.8]),
      reference: image(size, size, truth, [0.8, 0.8]),
    }));
    const params = { modality: 'CT' as const, noiseStd: 30 };
    expect(tuneNlmH(pairs, [0.02, 0.8, 30], { params }).best).toBe(0.8);
    expect(tuneBilateralRange(pairs, [0.05, 2, 40], { params }).best).toBe(2);
  });

  it('scores PET against [0, max of the references]', () => {
    const size = 32;
    const reference = image(size, size, Float32Array.from({ length: size * size }, (_, i) => (i % 7) + 1), [4, 4]);
    const lowDose = image(size, size, addNoise(reference.data, 0.5, 3), [4, 4]);
    const result = tuneGaussianSigma([{ lowDose, reference }], [2], { params: { modality: 'PT' } });
    expect(result.range).toEqual([0, 7]);
  });

  it('tuneInRanges scores every candidate in each range from one filtering pass, counting only valid pixels', () => {
    const size = 48;
    const truth = piecewisePhantom(size);
    const valid = Uint8Array.from({ length: size * size }, (_, i) => (i % size < 40 ? 1 : 0));
    const pairs: TuningPair[] = [0, 1].map((k) => ({
      lowDose: image(size, size, addNoise(truth, 30, 90 + k), [0.8, 0.8]),
      reference: image(size, size, truth, [0.8, 0.8]),
      valid,
    }));
    const params = { modality: 'CT' as const, noiseStd: 30 };
    const windows = [[-1000, 1000], [-160, 240]] as const;
    const [wide, narrow] = tuneInRanges('bilateral', 'rangeFactor', pairs, [0.5, 2, 8], windows, { params });
    expect(wide!.range).toEqual([-1000, 1000]);
    expect(narrow!.range).toEqual([-160, 240]);
    // Each range's scores are what tuneParameter gives with that range alone.
    for (const [k, range] of windows.entries()) {
      const alone = tuneParameter('bilateral', 'rangeFactor', pairs, [0.5, 2, 8], { params, range });
      expect([wide, narrow][k]!.scores).toEqual(alone.scores);
    }
    // The score is the mean of compareSlices with the mask, which differs from the whole image's.
    const scored = pairs.map((p) => {
      const out = { rows: size, columns: size, data: classicalDenoise('bilateral', p.lowDose, { ...params, rangeFactor: 2 }).data };
      return [compareSlices(p.reference, out, [-1000, 1000], valid).psnr, compareSlices(p.reference, out, [-1000, 1000]).psnr] as const;
    });
    expect(wide!.scores[1]!.psnr).toBeCloseTo((scored[0]![0] + scored[1]![0]) / 2, 12);
    expect(Math.abs(wide!.scores[1]!.psnr - (scored[0]![1] + scored[1]![1]) / 2)).toBeGreaterThan(0.01);
    expect(() => tuneInRanges('gaussian', 'sigmaMm', pairs, [1], [], { params })).toThrow(/metric range/);
    expect(() => tuneParameter('gaussian', 'sigmaMm', [], [1], { params: { modality: 'PT' } })).toThrow(/at least one/);
  });

  it('tuneInRanges scores a region window on that region of each pair, as if it were the valid mask', () => {
    const size = 48;
    const truth = piecewisePhantom(size);
    const valid = new Uint8Array(size * size).fill(1);
    const centre = Uint8Array.from({ length: size * size }, (_, i) => (Math.hypot((i % size) - 24, Math.floor(i / size) - 24) < 16 ? 1 : 0));
    const noisy = (k: number) => image(size, size, addNoise(truth, 30, 70 + k), [0.8, 0.8]);
    const reference = image(size, size, truth, [0.8, 0.8]);
    const params = { modality: 'CT' as const, noiseStd: 30 };
    const withRegion: TuningPair[] = [0, 1].map((k) => ({ lowDose: noisy(k), reference, valid, regions: { patient: centre } }));
    const asValid: TuningPair[] = [0, 1].map((k) => ({ lowDose: noisy(k), reference, valid: centre }));
    const [field, inRegion] = tuneInRanges('gaussian', 'sigmaMm', withRegion, [0.5, 1, 2], [[-1000, 1000], { range: [-1000, 1000], region: 'patient' }], { params });
    const [expected] = tuneInRanges('gaussian', 'sigmaMm', asValid, [0.5, 1, 2], [[-1000, 1000]], { params });
    expect(inRegion!.range).toEqual([-1000, 1000]);
    expect(inRegion!.scores).toEqual(expected!.scores);
    expect(field!.scores[0]!.psnr).not.toBeCloseTo(inRegion!.scores[0]!.psnr, 3);
    expect(() => tuneInRanges('gaussian', 'sigmaMm', asValid, [1], [{ range: [-1000, 1000], region: 'patient' }], { params })).toThrow(/no region "patient"/);
  });
});
