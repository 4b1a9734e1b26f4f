/**
 * POST /api/jobs under the server's compute bound (`serve --max-job-passes`): a job that asks for
 * more network passes than the bound is refused with 400 E_COMPUTE_BUDGET before it is queued,
 * the message giving the count, the bound and what to lower; one at the bound runs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { passCostOf, resolveModelFiles } from '../../src/models/index.js';
import { DEFAULT_MAX_JOB_PASSES, DEFAULT_PASS_WEIGHT } from '../../src/pipeline/compute-budget.js';
import { checkJobMemory } from '../../src/pipeline/memory-budget.js';
import type { DenoiseOptions } from '../../src/pipeline/types.js';
import type { JobView, StudiesResponse } from '../../src/server/api-types.js';
import { buildApp } from '../../src/server/app.js';
import type { DenoiseRunner } from '../../src/server/jobs/queue.js';

const CT_3SLICE = fileURLToPath(new URL('../../../shared/dicom/QIICR__dcmqi/data/segmentations/ct-3slice', import.meta.url));
const FIXTURE_MODELS = fileURLToPath(new URL('../fixtures-models', import.meta.url));
const GiB = 2 ** 30;
const root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-server-compute-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function appWith(name: string, maxJobPasses?: number, extra: { memoryBudget?: number; modelDirs?: string[] } = {}) {
  const calls: DenoiseOptions[] = [];
  const runner: DenoiseRunner = async (_paths, options) => (calls.push(options), { series: [], errors: [] });
  const app = await buildApp({
    data: [CT_3SLICE],
    workDir: path.join(root, name),
    // Roomy: the memory budget is not what refuses these jobs.
    memoryBudget: 64 * GiB,
    ...(maxJobPasses !== undefined ? { maxJobPasses } : {}),
    ...extra,
    denoise: runner,
  });
  const { studies } = (await app.inject({ url: '/api/studies' })).json() as StudiesResponse;
  const series = studies.flatMap((s) => s.series);
  expect(series).toHaveLength(1);
  return { app, seriesId: series[0]!.id, calls };
}

describe('POST /api/jobs and the compute bound', () => {
  it(`refuses {"steps":1000,"samples":64,"orientations":8} on a 3-slice series with 400 E_COMPUTE_BUDGET under the default ${DEFAULT_MAX_JOB_PASSES}, queueing nothing`, async () => {
    const { app, seriesId, calls } = await appWith('default');
    try {
      expect(app.config.maxJobPasses).toBe(DEFAULT_MAX_JOB_PASSES);
      const options = { sampler: 'ddim', steps: 1000, samples: 64, orientations: 8 };
      const response = await app.inject({ method: 'POST', url: '/api/jobs', payload: { series: [seriesId], options } });
      expect(response.statusCode).toBe(400);
      const error = response.json() as { code: string; message: string };
      expect(error.code).toBe('E_COMPUTE_BUDGET');
      expect(error.message).toMatch(/^this job needs 1,536,000 network passes in 512 x 512 units \(3 slice\(s\) x 1 tile\(s\) of 512 x 512 x 1000 step\(s\) x 64 sample\(s\) x 8 orientation\(s\)\)/);
      expect(error.message).toMatch(/allows 125,000 per job \(serve --max-job-passes, one unit = one lowdose-ct pass on 512 x 512 pixels\); use steps 81 or fewer/);
      expect(((await app.inject({ url: '/api/jobs' })).json() as { jobs: JobView[] }).jobs).toEqual([]);
      expect(calls).toEqual([]);
    } finally {
      await app.close();
    }
  });

  it('refuses a job one pass over --max-job-passes and runs the same job at it', async () => {
    // 3 slices x 10 steps x 2 samples = 60 passes.
    const options = { sampler: 'ddim', steps: 10, samples: 2 };
    const tight = await appWith('tight', 59);
    try {
      const response = await tight.app.inject({ method: 'POST', url: '/api/jobs', payload: { series: [tight.seriesId], options } });
      expect(response.statusCode).toBe(400);
      expect(response.json()).toMatchObject({ code: 'E_COMPUTE_BUDGET', message: expect.stringMatching(/needs 60 network passes in 512 x 512 units .* allows 59 per job/) });
      expect(tight.calls).toEqual([]);
    } finally {
      await tight.app.close();
    }
    const { app, seriesId, calls } = await appWith('exact', 60);
    try {
      const response = await app.inject({ method: 'POST', url: '/api/jobs', payload: { series: [seriesId], options } });
      expect(response.statusCode, response.body).toBe(202);
      const job = response.json() as JobView;
      await expect.poll(() => calls.length, { timeout: 10_000 }).toBe(1);
      expect(calls[0]).toMatchObject(options);
      await app.jobs.settled(job.id);
    } finally {
      await app.close();
    }
  });

  it('counts a latent model\'s network at its measured weight: 100 DDIM steps on 3 slices are refused under 50, which their latent pixels alone (24.75) fit', async () => {
    const cost = passCostOf((await resolveModelFiles('lowdose-ct-latent')).card)!;
    const { app, seriesId, calls } = await appWith('latent', 50);
    try {
      const options = { model: 'lowdose-ct-latent', sampler: 'ddim', steps: 100 };
      const response = await app.inject({ method: 'POST', url: '/api/jobs', payload: { series: [seriesId], options } });
      expect(response.statusCode).toBe(400);
      expect(response.json()).toMatchObject({
        code: 'E_COMPUTE_BUDGET',
        message: expect.stringContaining(`x 100 step(s) x 1 sample(s) x 1 orientation(s), each pixel weighing ${cost.network} lowdose-ct pixels (measured), plus the latent encoder and decoder`),
      });
      expect(calls).toEqual([]);
    } finally {
      await app.close();
    }
  });

  it('counts the filling of a fixed-batch graph under the memory plan the job runs with: refused one unit under it, queued at it', async () => {
    // per-pixel-batch3 (batch fixed at 3, no measured weight) with 5 samples under a budget for 2
    // images per forward call: per slice and step calls of 2, 2 and 1 images, each filled to 3.
    const model = path.join(FIXTURE_MODELS, 'per-pixel-batch3.json');
    const shapes = [{ rows: 512, columns: 512, slices: 3, modality: 'CT' }];
    const options = { model: 'per-pixel-batch3', sampler: 'ddim', steps: 2, samples: 5 };
    const [roomy] = await checkJobMemory(shapes, { ...options, model }, { bytes: 2 ** 50, source: 'option' });
    const memoryBudget = roomy!.bytes - roomy!.parts.activations + (2 * roomy!.parts.activations) / roomy!.forwardBatch;
    const units = 3 * 2 * 9 * DEFAULT_PASS_WEIGHT;
    const tight = await appWith('batch3-tight', units - 1, { memoryBudget, modelDirs: [FIXTURE_MODELS] });
    try {
      const response = await tight.app.inject({ method: 'POST', url: '/api/jobs', payload: { series: [tight.seriesId], options } });
      expect(response.statusCode).toBe(400);
      expect(response.json()).toMatchObject({ code: 'E_COMPUTE_BUDGET', message: expect.stringContaining(`needs ${units} network passes in 512 x 512 units (3 slice(s) x 1 tile(s) of 512 x 512 x 2 step(s) x 5 sample(s) x 1 orientation(s), plus 24 pass(es) filling the graph's fixed batch, each pixel weighing 16 lowdose-ct pixels (not measured for this model: the default)`) });
      expect(tight.calls).toEqual([]);
    } finally {
      await tight.app.close();
    }
    const { app, seriesId, calls } = await appWith('batch3-exact', units, { memoryBudget, modelDirs: [FIXTURE_MODELS] });
    try {
      const response = await app.inject({ method: 'POST', url: '/api/jobs', payload: { series: [seriesId], options } });
      expect(response.statusCode, response.body).toBe(202);
      await expect.poll(() => calls.length, { timeout: 10_000 }).toBe(1);
      await app.jobs.settled((response.json() as JobView).id);
    } finally {
      await app.close();
    }
  });
});
