/**
 * POST /api/jobs under the server's memory budget: the job body that once got the server killed
 * at 24 GB is refused with 400 before any work when it does not fit, with the limit in the
 * message; one that fits is accepted and its runner gets the budget (the pipeline chunks the
 * network's forward calls to it, test/pipeline/memory-budget.test.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { DenoiseOptions } from '../../src/pipeline/types.js';
import type { JobView, StudiesResponse } from '../../src/server/api-types.js';
import { buildApp } from '../../src/server/app.js';
import type { DenoiseRunner } from '../../src/server/jobs/queue.js';

const CT_3SLICE = fileURLToPath(new URL('../../../shared/dicom/QIICR__dcmqi/data/segmentations/ct-3slice', import.meta.url));
const BODY = { steps: 1000, samples: 64, batch: 256, sampler: 'ddpm' };
const GiB = 2 ** 30;
const root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-server-memory-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A runner that records what it was asked and produces nothing. */
function recordingRunner(): { runner: DenoiseRunner; calls: DenoiseOptions[] } {
  const calls: DenoiseOptions[] = [];
  return { calls, runner: async (_paths, options) => (calls.push(options), { series: [], errors: [] }) };
}

async function appWith(memoryBudget: number, name: string) {
  const recorder = recordingRunner();
  // 3 x 1000 x 64 = 192,000 network passes: over the default compute bound, allowed here (test/server/compute-budget.test.ts).
  const app = await buildApp({ data: [CT_3SLICE], workDir: path.join(root, name), memoryBudget, maxJobPasses: 192_000, denoise: recorder.runner });
  const { studies } = (await app.inject({ url: '/api/studies' })).json() as StudiesResponse;
  const series = studies.flatMap((s) => s.series);
  expect(series).toHaveLength(1);
  return { app, seriesId: series[0]!.id, calls: recorder.calls };
}

describe('POST /api/jobs and the memory budget', () => {
  it('refuses {"steps":1000,"samples":64,"batch":256,"sampler":"ddpm"} on a 3-slice 512 x 512 series with 400 under 1 GiB', async () => {
    const { app, seriesId, calls } = await appWith(GiB, 'small');
    try {
      const response = await app.inject({ method: 'POST', url: '/api/jobs', payload: { series: [seriesId], options: BODY } });
      expect(response.statusCode).toBe(400);
      const error = response.json() as { code: string; message: string };
      expect(error.code).toBe('E_MEMORY_BUDGET');
      expect(error.message).toMatch(/192 image\(s\) of 512 x 512/);
      expect(error.message).toMatch(/the memory budget is 1 GiB/);
      // Before any work: no job, no run.
      expect(((await app.inject({ url: '/api/jobs' })).json() as { jobs: JobView[] }).jobs).toEqual([]);
      expect(calls).toEqual([]);
    } finally {
      await app.close();
    }
  });

  it('accepts the same body under a budget it fits (chunked), and runs the job under that budget', async () => {
    const { app, seriesId, calls } = await appWith(8 * GiB, 'roomy');
    try {
      const response = await app.inject({ method: 'POST', url: '/api/jobs', payload: { series: [seriesId], options: BODY } });
      expect(response.statusCode, response.body).toBe(202);
      const job = response.json() as JobView;
      await expect.poll(() => calls.length, { timeout: 10_000 }).toBe(1);
      expect(calls[0]).toMatchObject({ ...BODY, memoryBudget: 8 * GiB });
      await app.jobs.settled(job.id);
    } finally {
      await app.close();
    }
  });
});
