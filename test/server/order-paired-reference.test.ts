/**
 * A reference paired with the low-dose series by order (both carry positions, none coincide: it
 * names another FrameOfReferenceUID and another in-plane origin) is scored by the server's
 * metrics API exactly as `lowdose metrics` scores it: paired by order only the pixel spacing is
 * checked (pairingGridMismatch, one rule for both). The server used to run the full grid check
 * through patient coordinates on such pairs and scored nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeVolumeSeries } from '../../src/dicom/write-volume.js';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import { runMetrics } from '../../src/pipeline/metrics.js';
import type { ComparisonDetail, SliceMetrics } from '../../src/server/api-types.js';
import { LOW_GRID, sampled } from './resampled-reference.js';
import { firstComparison, linkReferenceByHand } from '../helpers/server-app.js';

let root: string;
let app: FastifyInstance;
let comparison: ComparisonDetail;
let lowDir: string;
let referenceDir: string;

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-order-reference-'));
  const data = path.join(root, 'data');
  lowDir = path.join(data, 'low');
  referenceDir = path.join(data, 'reference');
  const denoisedDir = path.join(data, 'denoised');
  await writeVolumeSeries(sampled(LOW_GRID, 'low dose'), lowDir, { uidSeed: 'order-low', frameOfReferenceUid: '2.25.7003001', origin: LOW_GRID.origin, seriesNumber: 1 });
  // The same pixels 10 HU brighter (finite PSNR), stored 5 mm / 3 mm off in-plane in another frame.
  const reference = sampled(LOW_GRID, 'reference');
  const brighter = { ...reference, slices: reference.slices.map((s) => s.map((v) => v + 10)) };
  const shifted = [LOW_GRID.origin[0] + 5, LOW_GRID.origin[1] + 3, LOW_GRID.origin[2]] as const;
  await writeVolumeSeries(brighter, referenceDir, { uidSeed: 'order-reference', frameOfReferenceUid: '2.25.7003002', origin: shifted, seriesNumber: 2 });
  await denoisePaths([lowDir], { outDir: denoisedDir, method: 'gaussian' });
  // The report links the reference as a report of `denoise --reference` of a series paired by order would (the CLI scores such a pair).
  await linkReferenceByHand(denoisedDir, referenceDir, LOW_GRID.slices);
  ({ app, comparison } = await firstComparison(root, data));
}, 120_000);

afterAll(async () => {
  await app?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('a reference paired by order', () => {
  it('is scored by the metrics API with the scores lowdose metrics gives the same pair', async () => {
    expect(comparison.alignment.reference).toEqual([0, 1, 2, 3, 4, 5]);
    const { result } = await runMetrics({ reference: referenceDir, test: lowDir });
    expect(result.slices).toHaveLength(LOW_GRID.slices);
    for (const [k, cli] of result.slices.entries()) {
      const server = (await app.inject({ url: `/api/comparisons/${comparison.id}/metrics/slices/${k}` })).json() as SliceMetrics;
      expect(server.lowDose, `slice ${k}`).not.toBeNull();
      expect(server.lowDose!.psnr!).toBeCloseTo(cli.psnr!, 6);
      expect(server.lowDose!.ssim).toBeCloseTo(cli.ssim, 6);
      expect(server.lowDose!.rmse).toBeCloseTo(cli.rmse, 6);
    }
  });
});
