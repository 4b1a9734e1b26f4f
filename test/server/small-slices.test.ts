/**
 * Slices smaller than SSIM's window are refused by the server's metrics as `lowdose metrics`
 * refuses them (E_USAGE, HTTP 400, the same words), not left to fail inside the pixel math (a 500).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSliceImage } from '../../src/dicom/index.js';
import { createDerivedSeriesWriter } from '../../src/dicom/write-derived.js';
import { writeVolumeSeries } from '../../src/dicom/write-volume.js';
import { runMetrics } from '../../src/pipeline/metrics.js';
import type { StudiesResponse } from '../../src/server/api-types.js';
import { buildApp } from '../../src/server/app.js';
import { Rng } from '../../src/util/random.js';
import { onlySeries } from './fixture-study.js';

let root: string;
let lowDoseDir: string;
let denoisedDir: string;
let app: FastifyInstance;

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-small-slices-'));
  // An 8 x 8 CT series of two slices (the phantoms start at 16 px) and a denoised copy of it.
  const rng = new Rng(5);
  const slices = [0, 1].map(() => Float32Array.from({ length: 64 }, () => 40 + 10 * rng.normal()));
  lowDoseDir = path.join(root, 'data', 'low-dose');
  await writeVolumeSeries({ modality: 'CT', units: 'HU', rows: 8, columns: 8, slices, spacing: [1, 1, 2], description: '8 x 8 test slices' }, lowDoseDir, {
    uidSeed: 'lowdose-small-slices',
  });
  const lowDose = await onlySeries(lowDoseDir);
  denoisedDir = path.join(root, 'data', 'denoised');
  const writer = createDerivedSeriesWriter(lowDose, { outDir: denoisedDir, derivationDescription: 'lowdose gaussian filter (test fixture)', seriesNumber: 2 });
  for (let i = 0; i < lowDose.slices.length; i++) {
    const { data } = await readSliceImage(lowDose, i);
    await writer.writeSlice(i, data.map((v) => 0.5 * v + 20));
  }
  app = await buildApp({ data: [path.join(root, 'data')], workDir: path.join(root, 'work') });
});

afterAll(async () => {
  await app?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('metrics of slices smaller than the SSIM window', () => {
  it('answers 400 E_USAGE with the CLI words for the series and for one slice', async () => {
    const { studies } = (await app.inject({ url: '/api/studies' })).json() as StudiesResponse;
    const comparison = studies[0]!.comparisons[0]!;
    const cli = await runMetrics({ reference: lowDoseDir, test: denoisedDir }).then(
      () => null,
      (error: unknown) => error as { code: string; message: string },
    );
    expect(cli).toMatchObject({ code: 'E_USAGE', message: "slices of 8 x 8 are smaller than SSIM's 11 x 11 window" });
    for (const url of [`/api/comparisons/${comparison.id}/metrics`, `/api/comparisons/${comparison.id}/metrics/slices/0`]) {
      const response = await app.inject({ url });
      expect(response.statusCode, url).toBe(400);
      expect(response.json(), url).toEqual({ code: 'E_USAGE', message: cli!.message });
    }
  });
});
