/**
 * The API says which software and which model made a series: a real CT (../shared/dicom) denoised
 * in the test by a filter and by a model, served, and each series' `provenance` read from its
 * Contributing Equipment item, in the study list and in `GET /api/series/:id`; null for the
 * scanner's own series. Skipped when ../shared/dicom is absent.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanPaths } from '../../src/dicom/index.js';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import type { DenoiseReport } from '../../src/pipeline/types.js';
import type { SeriesDetail, SeriesSummary, StudiesResponse } from '../../src/server/api-types.js';
import { buildApp } from '../../src/server/app.js';
import { packageVersion } from '../../src/util/package-root.js';

const CT_3SLICE = path.resolve(import.meta.dirname, '../../../shared/dicom/QIICR__dcmqi/data/segmentations/ct-3slice');
const TEST_MODEL = path.resolve(import.meta.dirname, '../fixtures-models/per-pixel.json');

describe.skipIf(!existsSync(CT_3SLICE))('series provenance in the API (a real CT denoised in the test)', () => {
  let root: string;
  let app: FastifyInstance;
  let gaussian: DenoiseReport;
  let model: DenoiseReport;
  let started: number;
  let finished: number;

  beforeAll(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-provenance-'));
    // DICOM DT has milliseconds; the contribution time lies within these (to the millisecond).
    started = Math.floor(Date.now() / 1000) * 1000;
    gaussian = await denoisePaths([CT_3SLICE], { outDir: path.join(root, 'data', 'gaussian'), method: 'gaussian' });
    // The per-pixel test model is no denoiser: it only makes a real model run with a fingerprint.
    model = await denoisePaths([CT_3SLICE], { outDir: path.join(root, 'data', 'model'), model: TEST_MODEL, device: 'cpu', threads: 1, steps: 2, seed: 1 });
    finished = Date.now();
    app = await buildApp({ data: [path.join(root, 'data'), CT_3SLICE], workDir: path.join(root, 'work') });
  });

  afterAll(async () => {
    await app?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  async function listed(): Promise<SeriesSummary[]> {
    const response = await app.inject({ url: '/api/studies' });
    expect(response.statusCode).toBe(200);
    return (response.json() as StudiesResponse).studies.flatMap((s) => s.series);
  }

  async function detail(summary: SeriesSummary): Promise<SeriesDetail> {
    const response = await app.inject({ url: `/api/series/${summary.id}` });
    expect(response.statusCode).toBe(200);
    return response.json() as SeriesDetail;
  }

  /** The listed series written into `report`'s output folder (the API names no folders: found by description). */
  async function outputOf(report: DenoiseReport): Promise<SeriesSummary> {
    const { series } = await scanPaths([report.series[0]!.output.dir]);
    const matches = (await listed()).filter((s) => s.description === series[0]!.seriesDescription);
    expect(matches).toHaveLength(1);
    return matches[0]!;
  }

  it('names the filter and the lowdose version of a Gaussian-filtered series, with no model fingerprint', async () => {
    const summary = await outputOf(gaussian);
    expect(summary.role).toBe('denoised');
    expect(summary.provenance).toMatchObject({ model: 'gaussian filter', toolkitVersion: packageVersion(), modelSha256: null });
    const full = await detail(summary);
    expect(full.provenance).toEqual(summary.provenance);
    expect(full.derivation).toMatch(/gaussian/i);
    const when = Date.parse(full.provenance!.contributionDateTime!);
    expect(when).toBeGreaterThanOrEqual(started);
    expect(when).toBeLessThanOrEqual(finished);
  });

  it("names the model card and the first 16 hex of its files' fingerprint for a model's series", async () => {
    const entry = model.series[0]!;
    const summary = await outputOf(model);
    const full = await detail(summary);
    expect(full.provenance).toMatchObject({ model: 'per-pixel', toolkitVersion: packageVersion(), modelSha256: entry.modelFingerprint!.sha256.slice(0, 16) });
  });

  it("is null for the scanner's own series", async () => {
    const original = (await listed()).filter((s) => s.role === 'original');
    expect(original).toHaveLength(1);
    expect(original[0]!.provenance).toBeNull();
    expect((await detail(original[0]!)).provenance).toBeNull();
  });
});
