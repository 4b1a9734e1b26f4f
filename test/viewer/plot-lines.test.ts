/** The per-slice metrics plot's numbers (viewer/src/plot-lines.ts): lines, ranges, slice picking. */
import { describe, expect, it } from 'vitest';
import type { ComparisonMetrics, SliceMetrics } from '../../src/server/api-types.js';
import { plotLines, sliceAtX, sliceX, valueRange } from '../../viewer/src/plot-lines.js';

const slice = (index: number, psnr: number | null, lowDosePsnr: number | null, noise: [number | null, number | null]): SliceMetrics => ({
  index,
  denoised: psnr === null ? null : { psnr, ssim: psnr / 100, rmse: 10 },
  lowDose: lowDosePsnr === null ? null : { psnr: lowDosePsnr, ssim: lowDosePsnr / 100, rmse: 20 },
  noise: { lowDose: noise[0], denoised: noise[1] },
});

const metrics = (slices: SliceMetrics[], against: 'reference' | 'source' = 'reference'): ComparisonMetrics => ({
  comparisonId: 'c',
  against,
  range: [-1000, 1000],
  units: 'HU',
  slices,
  mean: { denoised: null, lowDose: null, noise: { lowDose: null, denoised: null } },
});

describe('per-slice plot lines', () => {
  it('draws the low-dose line from the first method and one line per method, a gap where a slice has no value', () => {
    const a = metrics([slice(0, 40, 30, [20, 8]), slice(1, null, 31, [21, null]), slice(2, 42, 32, [22, 9])]);
    const b = metrics([slice(0, 38, 30, [20, 10]), slice(1, 39, 31, [21, 11]), slice(2, 37, 32, [22, 12])]);
    const lines = plotLines([{ key: 'denoised', label: 'nlm', metrics: a }, { key: 'denoised-2', label: 'gaussian', metrics: b }], 'psnr', 3);
    expect(lines.map((l) => l.key)).toEqual(['lowDose', 'denoised', 'denoised-2']);
    expect(lines[0]!.values).toEqual([30, 31, 32]);
    expect(lines[1]!.values).toEqual([40, null, 42]);
    expect(plotLines([{ key: 'denoised', label: 'nlm', metrics: a }], 'noise', 3).map((l) => l.values)).toEqual([[20, 21, 22], [8, null, 9]]);
    expect(plotLines([{ key: 'denoised', label: 'nlm', metrics: a }], 'ssim', 4)[1]!.values).toEqual([0.4, null, 0.42, null]);
  });

  it('labels the source line with its pane\'s title: "Low-dose", or "Original" for an original scan', () => {
    const a = metrics([slice(0, 40, 30, [20, 8])]);
    expect(plotLines([{ key: 'denoised', label: 'nlm', metrics: a }], 'psnr', 1)[0]!.label).toBe('Low-dose');
    expect(plotLines([{ key: 'denoised', label: 'nlm', metrics: a }], 'psnr', 1, 'Original').map((l) => l.label)).toEqual(['Original', 'nlm']);
  });

  it('leaves out the low-dose line when it has no value (scores without a reference)', () => {
    const a = metrics([slice(0, 40, null, [20, 8])], 'source');
    expect(plotLines([{ key: 'denoised', label: 'nlm', metrics: a }], 'psnr', 1).map((l) => l.key)).toEqual(['denoised']);
  });

  it('pads the value range and never returns an empty one', () => {
    expect(valueRange([{ key: 'x', label: 'x', values: [10, 20] }])).toEqual([9.4, 20.6]);
    expect(valueRange([{ key: 'x', label: 'x', values: [5, 5, null] }])).toEqual([4.75, 5.25]);
    expect(valueRange([{ key: 'x', label: 'x', values: [null] }])).toEqual([0, 1]);
  });

  it('maps slices to x and back to the nearest slice, clamped to the series', () => {
    expect(sliceX(0, 6, 50, 550)).toBe(50);
    expect(sliceX(5, 6, 50, 550)).toBe(550);
    expect(sliceX(0, 1, 50, 550)).toBe(300);
    for (let i = 0; i < 6; i++) expect(sliceAtX(sliceX(i, 6, 50, 550) + 30, 6, 50, 550)).toBe(i);
    expect(sliceAtX(-100, 6, 50, 550)).toBe(0);
    expect(sliceAtX(9999, 6, 50, 550)).toBe(5);
  });
});
