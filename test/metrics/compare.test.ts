import { describe, expect, it } from 'vitest';
import { compareSeries, compareSlices, SeriesComparison } from '../../src/metrics/compare.js';
import { CT_RANGE, defaultRange, maxValue } from '../../src/metrics/range.js';
import { ssim } from '../../src/metrics/ssim.js';
import { readRaw, referencePairs } from './reference-data.js';

const ctPairs = referencePairs().filter((p) => p.name.startsWith('ct-'));

function load(name: string) {
  const pair = referencePairs().find((p) => p.name === name)!;
  const count = pair.rows * pair.columns;
  return {
    pair,
    reference: { rows: pair.rows, columns: pair.columns, data: readRaw(pair.reference, pair.dtype, count) },
    test: { rows: pair.rows, columns: pair.columns, data: readRaw(pair.test, pair.dtype, count) },
  };
}

describe('series comparison (CONTRACT metrics --json shape)', () => {
  it('scores each slice as scikit-image does and averages the slices', () => {
    const loaded = ctPairs.map((p) => load(p.name));
    const result = compareSeries(
      loaded.map((l, index) => ({ index, reference: l.reference, test: l.test })),
      CT_RANGE,
    );
    expect(result.range).toEqual([-1000, 1000]);
    expect(result.slices.map((s) => s.index)).toEqual(loaded.map((_, i) => i));
    loaded.forEach((l, i) => {
      expect(result.slices[i]!.psnr).toBeCloseTo(l.pair.psnr, 9);
      expect(result.slices[i]!.ssim).toBeCloseTo(l.pair.ssim, 9);
      expect(result.slices[i]!.rmse).toBeCloseTo(l.pair.rmse, 9);
    });
    const mean = (values: number[]) => values.reduce((s, v) => s + v, 0) / values.length;
    expect(result.mean.psnr).toBeCloseTo(mean(loaded.map((l) => l.pair.psnr)), 9);
    expect(result.mean.ssim).toBeCloseTo(mean(loaded.map((l) => l.pair.ssim)), 9);
    expect(result.mean.rmse).toBeCloseTo(mean(loaded.map((l) => l.pair.rmse)), 9);
    expect(Object.keys(JSON.parse(JSON.stringify(result))).sort()).toEqual(['mean', 'range', 'slices']);
  });

  it('reports identical slices as psnr null (JSON-safe infinity) and leaves them out of the PSNR mean', () => {
    const { reference, test, pair } = load('ct-crlm-1004-abdomen-noise');
    const comparison = new SeriesComparison(CT_RANGE);
    const same = comparison.add(0, reference, reference);
    expect(same).toEqual({ index: 0, psnr: null, ssim: 1, rmse: 0 });
    comparison.add(1, reference, test);
    const result = comparison.result();
    expect(result.mean.psnr).toBeCloseTo(pair.psnr, 9);
    expect(result.mean.ssim).toBeCloseTo((1 + pair.ssim) / 2, 9);
    expect(JSON.parse(JSON.stringify(result)).slices[0].psnr).toBeNull();
    expect(compareSlices(reference, reference, CT_RANGE).psnr).toBe(Infinity);

    const allSame = new SeriesComparison(CT_RANGE);
    allSame.add(0, reference, reference);
    expect(allSame.result().mean.psnr).toBeNull();
  });

  it('ignores differences outside the range for PSNR and SSIM but not for RMSE', () => {
    const reference = { rows: 16, columns: 16, data: new Float32Array(256).fill(-1024) };
    const test = { rows: 16, columns: 16, data: new Float32Array(256).fill(-1000) };
    const scores = compareSlices(reference, test, CT_RANGE);
    expect(scores.psnr).toBe(Infinity);
    expect(scores.ssim).toBe(1);
    expect(scores.rmse).toBeCloseTo(24, 12);
  });

  it('is symmetric in its two images for SSIM', () => {
    const { reference, test } = load('ct-lidc-0314-chest-smooth');
    expect(ssim(test, reference, CT_RANGE)).toBeCloseTo(ssim(reference, test, CT_RANGE), 14);
  });

  it('uses CT [-1000, 1000] HU and PET [0, reference max] by default', () => {
    expect(defaultRange('CT')).toEqual([-1000, 1000]);
    const { reference } = load('pet-sts-001-quarter');
    const max = maxValue([reference.data]);
    expect(defaultRange('PT', max)).toEqual([0, max]);
    expect(() => defaultRange('PT')).toThrow(/maximum/);
  });

  it('leaves pixels outside a valid mask out of PSNR, SSIM and RMSE, as scikit-image does at the mask', () => {
    const { reference, test, pair } = load('ct-crlm-1004-abdomen-noise');
    const valid = new Uint8Array(reference.data.length);
    for (let r = 0; r < reference.rows; r++) {
      for (let c = 0; c < reference.columns; c++) valid[r * reference.columns + c] = (r - 90) ** 2 + (c - 100) ** 2 <= 70 ** 2 ? 1 : 0;
    }
    // scikit-image 0.19.3 on the clipped float64 images (the mask above as `valid`):
    //   mse = ((ref_c - test_c)[valid] ** 2).mean(); psnr = 10 log10(2000^2 / mse)
    //   _, S = structural_similarity(ref_c, test_c, gaussian_weights=True, sigma=1.5,
    //            use_sample_covariance=False, data_range=2000, full=True); S[5:-5, 5:-5][valid[5:-5, 5:-5]].mean()
    const masked = compareSlices(reference, test, CT_RANGE, valid);
    expect(masked.psnr).toBeCloseTo(38.27277077825054, 9);
    expect(masked.ssim).toBeCloseTo(0.9074351062158715, 9);
    expect(masked.rmse).toBeCloseTo(24.41496832810231, 9);
    // An all-valid mask is no mask.
    const all = compareSlices(reference, test, CT_RANGE, new Uint8Array(reference.data.length).fill(1));
    expect(all.psnr).toBeCloseTo(pair.psnr, 12);
    expect(all.ssim).toBeCloseTo(pair.ssim, 12);
    expect(() => compareSlices(reference, test, CT_RANGE, new Uint8Array(10))).toThrow(/mask of 10 values/);
    expect(() => compareSlices(reference, test, CT_RANGE, new Uint8Array(reference.data.length))).toThrow(/no valid pixel/);
  });

  it('refuses mismatched sizes, images smaller than the window, empty series and bad ranges', () => {
    const a = { rows: 16, columns: 16, data: new Float32Array(256) };
    const b = { rows: 16, columns: 15, data: new Float32Array(240) };
    expect(() => compareSlices(a, b, CT_RANGE)).toThrow(/differ in size/);
    const tiny = { rows: 10, columns: 20, data: new Float32Array(200) };
    expect(() => compareSlices(tiny, tiny, CT_RANGE)).toThrow(/at least 11x11/);
    expect(() => new SeriesComparison(CT_RANGE).result()).toThrow(/no slice/);
    expect(() => new SeriesComparison([5, 5])).toThrow(/lo < hi/);
  });
});
