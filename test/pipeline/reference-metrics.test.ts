/**
 * `denoise --reference`: the report's `metrics` (PSNR, SSIM, RMSE of the output and of the input,
 * and the range) are the numbers `lowdose metrics` gives for the same series, whose PSNR / SSIM /
 * RMSE match scikit-image (test/metrics/skimage-reference.test.ts). The input's are the same
 * computation on the same pixels; the output's are scored on the float output before it is stored,
 * so they may differ from the written series by its quantisation only.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMetrics } from '../../src/pipeline/metrics.js';
import { runCli } from '../helpers/cli.js';

const FIXTURES = path.resolve(import.meta.dirname, '../../fixtures');

let root: string;
beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'lowdose-reference-metrics-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('denoise --reference reports the numbers lowdose metrics gives for the same series', () => {
  for (const [phantom, units] of [
    ['body', 'HU'],
    ['iec', 'SUVbw'],
  ] as const) {
    it(`${phantom} (${units}): input scores identical, output scores within the stored series' quantisation`, async () => {
      const low = path.join(FIXTURES, phantom, 'dose25');
      const full = path.join(FIXTURES, phantom, 'dose100');
      const run = await runCli('denoise', low, '-o', path.join(root, phantom), '--method', 'bilateral', '--reference', full, '--threads', '1', '--no-progress', '--json');
      expect(run.code).toBe(0);
      const series = JSON.parse(run.stdout).series[0];
      const reported = series.metrics;

      const input = (await runMetrics({ reference: full, test: low })).result;
      const output = (await runMetrics({ reference: full, test: series.output.dir })).result;
      expect(input.units).toBe(units);
      // The range: CT [-1000, 1000] HU; PET [0, max of the whole reference series].
      expect(reported.range).toEqual(input.range);
      expect(reported.range).toEqual(output.range);
      expect(reported.reference.files).toBe(input.reference.slices);

      expect(reported.input.psnr).toBeCloseTo(input.mean.psnr!, 10);
      expect(reported.input.ssim).toBeCloseTo(input.mean.ssim, 10);
      expect(reported.input.rmse).toBeCloseTo(input.mean.rmse, 10);

      // The filter changed the image: these are not the input's numbers.
      expect(Math.abs(reported.rmse - reported.input.rmse)).toBeGreaterThan(1e-3 * reported.input.rmse);
      expect(Math.abs(reported.psnr - output.mean.psnr!)).toBeLessThan(1e-3);
      expect(Math.abs(reported.ssim - output.mean.ssim)).toBeLessThan(1e-5);
      expect(Math.abs(reported.rmse / output.mean.rmse - 1)).toBeLessThan(1e-4);
    });
  }
});
