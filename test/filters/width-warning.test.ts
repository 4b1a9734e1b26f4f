/**
 * E_FILTER_WIDTH: a classical filter whose default spatial sigma is a small fraction of the series'
 * pixel does almost nothing, and the run says so (src/filters/width-warning.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { classicalDenoise, filterWidthWarning, MIN_NEIGHBOUR_WEIGHT } from '../../src/filters/index.js';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import { Rng } from '../../src/util/random.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-filter-width-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('filterWidthWarning', () => {
  it('warns when the default sigma leaves a neighbour under 5 % of the weight: CT Gaussian (0.35 mm) from about 0.86 mm pixels, bilateral (1 mm) from 2.45 mm', () => {
    // The tuning volumes' pixels (0.70 to 0.80 mm) and the 0.84 mm e2e phantom: the Gaussian acts.
    expect(filterWidthWarning('gaussian', 'CT', 'S', [0.7, 0.7])).toBeNull();
    expect(filterWidthWarning('gaussian', 'CT', 'S', [0.84, 0.84])).toBeNull();
    const common = filterWidthWarning('gaussian', 'CT', 'S', [0.98, 0.98])!;
    expect(common.code).toBe('E_FILTER_WIDTH');
    expect(common.message).toMatch(/S: the gaussian filter's spatial sigma of 0\.35 mm is 0\.36 of a 0\.98 mm pixel, .* weigh 2\.0 %/);
    expect(filterWidthWarning('gaussian', 'CT', 'S', [1.45, 1.45])?.message).toMatch(/weigh < 0\.1 %/);
    expect(filterWidthWarning('bilateral', 'CT', 'S', [1.45, 1.45])).toBeNull();
    expect(filterWidthWarning('bilateral', 'CT', 'S', [2.4, 2.4])).toBeNull();
    expect(filterWidthWarning('bilateral', 'CT', 'S', [2.5, 2.5])?.code).toBe('E_FILTER_WIDTH');
    // The coarser axis decides.
    expect(filterWidthWarning('gaussian', 'CT', 'S', [0.7, 0.98])?.code).toBe('E_FILTER_WIDTH');
  });

  it('stays quiet for NLM (windows in pixels) and for PET defaults on PET voxels', () => {
    expect(filterWidthWarning('nlm', 'CT', 'S', [5, 5])).toBeNull();
    for (const mm of [2, 4, 4.7]) {
      expect(filterWidthWarning('gaussian', 'PT', 'S', [mm, mm])).toBeNull();
      expect(filterWidthWarning('bilateral', 'PT', 'S', [mm, mm])).toBeNull();
    }
  });

  it('matches what the filter does: where it warns, the Gaussian changes a noisy image by under a tenth of its noise', () => {
    const rng = new Rng(3, 1);
    const data = Float32Array.from({ length: 64 * 64 }, () => 40 + 20 * rng.normal());
    const change = (mm: number) => {
      const out = classicalDenoise('gaussian', { rows: 64, columns: 64, data, pixelSpacing: [mm, mm] }, { modality: 'CT' }).data;
      return Math.sqrt(out.reduce((a, v, i) => a + (v - data[i]!) ** 2, 0) / out.length);
    };
    expect(MIN_NEIGHBOUR_WEIGHT).toBe(0.05);
    expect(change(1.45)).toBeLessThan(2);
    expect(change(0.7)).toBeGreaterThan(8);
  });
});

describe('denoise --method gaussian on the 1.45 mm body fixture', () => {
  it('reports E_FILTER_WIDTH, keeps it on a rerun that skips the series, and the bilateral filter (1 mm) does not', async () => {
    const input = path.join(REPO, 'fixtures/body/dose25');
    const out = path.join(root, 'gaussian');
    const report = await denoisePaths([input], { outDir: out, method: 'gaussian' });
    expect(report.series[0]!.warnings.map((w) => w.code)).toEqual(['E_FILTER_WIDTH']);
    const again = await denoisePaths([input], { outDir: out, method: 'gaussian' });
    expect(again.series[0]!.skipped).toBe(true);
    expect(again.series[0]!.warnings.map((w) => w.code)).toEqual(['E_FILTER_WIDTH']);
    const bilateral = await denoisePaths([input], { outDir: path.join(root, 'bilateral'), method: 'bilateral' });
    expect(bilateral.series[0]!.warnings).toEqual([]);
  });
});
