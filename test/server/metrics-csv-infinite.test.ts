/**
 * The metrics CSV writes an infinite PSNR (a slice identical to its reference within the range:
 * psnr null in the JSON) as `inf`, as `lowdose metrics` prints it, and keeps empty cells for
 * slices that have no scores.
 */
import { describe, expect, it } from 'vitest';
import type { ComparisonMetrics } from '../../src/server/api-types.js';
import { metricsCsv } from '../../src/server/metrics-csv.js';

const metrics: ComparisonMetrics = {
  comparisonId: 'c1',
  against: 'reference',
  range: [-1000, 1000],
  units: 'HU',
  slices: [
    { index: 0, denoised: { psnr: null, ssim: 1, rmse: 0 }, lowDose: { psnr: 38.5, ssim: 0.9, rmse: 23.7 }, noise: { lowDose: 30, denoised: 10 } },
    { index: 1, denoised: null, lowDose: null, noise: { lowDose: null, denoised: null } },
  ],
  mean: { denoised: null, lowDose: null, noise: { lowDose: null, denoised: null } },
};

describe('metrics CSV', () => {
  it('an identical slice reads psnr_db inf; a slice without scores keeps empty cells', () => {
    const rows = metricsCsv(
      { seriesId: 'low', description: 'low dose', locations: [0, 5] },
      [{ comparisonId: 'c1', method: 'gaussian', seriesId: 'den', description: 'denoised', metrics, pairingWarnings: [] }],
    )
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => line.split(','));
    // index, location_mm, role, comparison, method, series, description, against, psnr_db, ssim, rmse, noise_sd, units
    expect(rows[0]!.slice(8, 11)).toEqual(['38.5', '0.9', '23.7']);
    expect(rows[1]!.slice(8, 11)).toEqual(['inf', '1', '0']);
    expect(rows[3]!.slice(8, 12)).toEqual(['', '', '', '']);
  });
});
