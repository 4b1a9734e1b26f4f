/**
 * The numbers `denoise --uncertainty` writes under `uncertainty.summary` and `uncertainty.slices`
 * (src/pipeline/uncertainty-summary.ts), on sigma maps whose answer is counted by hand: the
 * fraction of tissue pixels above the threshold, their mean sigma, the tissue pixel count, and the
 * most uncertain 16 x 16 patches with their centres in patient mm. Air and padding count nowhere.
 */
import { describe, expect, it } from 'vitest';
import type { Series } from '../../src/dicom/index.js';
import { UncertaintySummary, type UncertainPatch } from '../../src/pipeline/uncertainty-summary.js';

const N = 64;
const ROW_MM = 0.5;
const COLUMN_MM = 0.8;
const THRESHOLD = 10;

/** Two axial slices 3 mm apart, first pixel at (-20, -10, 30 + 3k) mm; rows along +y, columns along +x. */
const series = {
  rows: N,
  columns: N,
  units: 'HU',
  spacing: [ROW_MM, COLUMN_MM, 3],
  orientation: [1, 0, 0, 0, 1, 0],
  slices: [{ position: [-20, -10, 30] }, { position: [-20, -10, 33] }],
} as unknown as Series;

function fill(value: (row: number, column: number) => number): Float32Array {
  const out = new Float32Array(N * N);
  for (let r = 0; r < N; r++) for (let c = 0; c < N; c++) out[r * N + c] = value(r, c);
  return out;
}

const inBlock = (r: number, c: number, row: number, column: number) => r >= row && r < row + 16 && c >= column && c < column + 16;

/**
 * Slice 0: soft tissue (40 HU) in columns 0-31, air in 32-63; sigma 4 HU in tissue, 25 HU in the
 * block at (16, 16), 100 HU in the air; the 4 x 4 corner is padding with sigma 1000.
 * Slice 1: all tissue, sigma 4 HU, 12 HU in the block at (48, 32).
 */
const slice0 = {
  input: fill((r, c) => (r < 4 && c < 4 ? -3024 : c < 32 ? 40 : -1000)),
  sigma: fill((r, c) => (r < 4 && c < 4 ? 1000 : c >= 32 ? 100 : inBlock(r, c, 16, 16) ? 25 : 4)),
  padding: Uint8Array.from(fill((r, c) => (r < 4 && c < 4 ? 1 : 0))),
};
const slice1 = { input: fill(() => 40), sigma: fill((r, c) => (inBlock(r, c, 48, 32) ? 12 : 4)) };

/** The report rounds positions to 0.01 mm and sigma to 0.001. */
function expectPatch(actual: UncertainPatch, expected: UncertainPatch): void {
  expect(Object.keys(actual).sort()).toEqual(Object.keys(expected).sort());
  expect(actual.slice).toBe(expected.slice);
  for (const key of ['xMm', 'yMm', 'zMm', 'sizeMm'] as const) expect(actual[key]).toBeCloseTo(expected[key], 2);
  expect(actual.sigma).toBeCloseTo(expected.sigma, 3);
}

describe('uncertainty summary', () => {
  const summary = new UncertaintySummary(series, THRESHOLD, 'HU');
  // Out of order, as batches may finish: the per-slice list comes back sorted.
  summary.add(1, slice1.sigma, slice1.input);
  summary.add(0, slice0.sigma, slice0.input, slice0.padding);
  const [s0, s1] = summary.perSlice();
  const whole = summary.seriesSummary();

  it('counts the tissue pixels of each slice above the threshold and their mean sigma, leaving out air and padding', () => {
    // Slice 0: 8 tissue blocks of 256 pixels less the 16 padded, 256 of them at 25 HU, the rest at 4.
    const tissue0 = 8 * 256 - 16;
    expect(s0!.index).toBe(0);
    expect(s0!.fractionAbove).toBeCloseTo(256 / tissue0, 5);
    expect(s0!.meanSigma).toBeCloseTo(((tissue0 - 256) * 4 + 256 * 25) / tissue0, 3);
    expect(s1!.index).toBe(1);
    expect(s1!.fractionAbove).toBe(256 / 4096);
    expect(s1!.meanSigma).toBe((3840 * 4 + 256 * 12) / 4096);
  });

  it('pools the series over every tissue pixel, not as a mean of the slice fractions', () => {
    const tissue = 8 * 256 - 16 + 4096;
    expect(whole.tissuePixels).toBe(tissue);
    expect(whole.threshold).toBe(THRESHOLD);
    expect(whole.units).toBe('HU');
    expect(whole.fractionAbove).toBeCloseTo(512 / tissue, 5);
    expect(whole.meanSigma).toBeCloseTo(((tissue - 512) * 4 + 256 * 25 + 256 * 12) / tissue, 3);
  });

  it('lists the most uncertain patches by their mean sigma, centred in patient mm', () => {
    const sizeMm = (16 * (ROW_MM + COLUMN_MM)) / 2;
    // Block (16, 16) of slice 0: centre at row / column 23.5.
    expectPatch(whole.worst[0]!, { slice: 0, xMm: -20 + 23.5 * COLUMN_MM, yMm: -10 + 23.5 * ROW_MM, zMm: 30, sizeMm, sigma: 25 });
    // Block (48, 32) of slice 1: centre at row 55.5, column 39.5.
    expectPatch(whole.worst[1]!, { slice: 1, xMm: -20 + 39.5 * COLUMN_MM, yMm: -10 + 55.5 * ROW_MM, zMm: 33, sizeMm, sigma: 12 });
    // Then tissue at 4 HU: the air (100) and the padding (1000) never rank.
    expect(whole.worst.slice(2).every((p) => p.sigma === 4)).toBe(true);
    expect(whole.worst).toHaveLength(10);
    expect(s0!.worst).toHaveLength(3);
    expect(s0!.worst[0]!.sigma).toBe(25);
    expect(s1!.worst[0]!.sigma).toBe(12);
  });
});
