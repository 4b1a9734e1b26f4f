/**
 * `denoise --uncertainty`'s summary holds for the uncertainty series as written: counted again from
 * the files (16 x 16 tissue blocks by sFRC's air rule on the input, sigma above the threshold),
 * every slice's and the series' fractionAbove and meanSigma are what report.json says. Before, the
 * summary counted sigma before it was stored at 0.05 HU steps: a pixel at 10.01 HU counted as
 * above 10 and read back as 10.00 (Mayo L143 B30f, 2 slices: report 0.36705, file 0.35819).
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readSliceImage, scanPaths } from '../../src/dicom/index.js';
import type { DenoiseReport } from '../../src/pipeline/types.js';
import { runCli } from '../helpers/cli.js';

const MAYO_L143_B30F_QUARTER = path.resolve(import.meta.dirname, '../../../shared/ldct-mayo/L143/B30f/quarter');
const root = mkdtempSync(path.join(tmpdir(), 'lowdose-uncertainty-readback-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
// Two real quarter-dose slices, read in place (linked, not copied).
const LOW = path.join(root, 'low');
mkdirSync(LOW);
for (const name of ['002.IMA', '003.IMA']) symlinkSync(path.join(MAYO_L143_B30F_QUARTER, name), path.join(LOW, name));

const BLOCK = 16;

/** Tissue blocks of one slice: at least half not padding, > 10 % above -824 HU, mean above -874 HU. */
function isTissue(values: Float32Array, padding: Uint8Array | null, columns: number, row: number, column: number): boolean {
  let count = 0;
  let above = 0;
  let sum = 0;
  for (let y = row; y < row + BLOCK; y++) {
    for (let x = column; x < column + BLOCK; x++) {
      const p = y * columns + x;
      if (padding?.[p]) continue;
      count++;
      sum += values[p]!;
      if (values[p]! > -824) above++;
    }
  }
  return count >= (BLOCK * BLOCK) / 2 && above > 0.1 * BLOCK * BLOCK && sum / count > -874;
}

describe('denoise --uncertainty summary against the written series', () => {
  it('fractionAbove and meanSigma, per slice and per series, are those of the files', async () => {
    const run = await runCli('denoise', LOW, '-o', path.join(root, 'out'), '--uncertainty', '--device', 'cpu', '--threads', '1', '--no-progress', '--json');
    expect(run.code).toBe(0);
    const series = (JSON.parse(run.stdout) as DenoiseReport).series[0]!;
    const uncertainty = series.uncertainty!;
    const threshold = uncertainty.summary!.threshold;
    const input = (await scanPaths([LOW])).series[0]!;
    const sigma = (await scanPaths([uncertainty.dir])).series[0]!;
    let pixels = 0;
    let above = 0;
    let sum = 0;
    for (let k = 0; k < input.slices.length; k++) {
      const low = await readSliceImage(input, k);
      const map = await readSliceImage(sigma, k);
      let slicePixels = 0;
      let sliceAbove = 0;
      let sliceSum = 0;
      for (let row = 0; row + BLOCK <= low.rows; row += BLOCK) {
        for (let column = 0; column + BLOCK <= low.columns; column += BLOCK) {
          if (!isTissue(low.data, low.padding ?? null, low.columns, row, column)) continue;
          for (let y = row; y < row + BLOCK; y++) {
            for (let x = column; x < column + BLOCK; x++) {
              const p = y * low.columns + x;
              if (low.padding?.[p]) continue;
              slicePixels++;
              sliceSum += map.data[p]!;
              if (map.data[p]! > threshold) sliceAbove++;
            }
          }
        }
      }
      const reported = uncertainty.slices!.find((s) => s.index === k)!;
      expect(reported.fractionAbove).toBeCloseTo(sliceAbove / slicePixels, 5);
      expect(reported.meanSigma).toBeCloseTo(sliceSum / slicePixels, 3);
      pixels += slicePixels;
      above += sliceAbove;
      sum += sliceSum;
    }
    expect(uncertainty.summary!.tissuePixels).toBe(pixels);
    expect(uncertainty.summary!.fractionAbove).toBeCloseTo(above / pixels, 5);
    expect(uncertainty.summary!.meanSigma).toBeCloseTo(sum / pixels, 3);
  }, 120_000);
});
