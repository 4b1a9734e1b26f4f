/**
 * `serve --redis`: the server's denoise jobs run on a `lowdose worker` through the Redis queue
 * (a real redis-server and a real worker process), and come back as a comparison like an
 * in-process job.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openQueue } from '../../src/queue/batch.js';
import { parseRedisUrl } from '../../src/queue/connection.js';
import { queueRunner } from '../../src/queue/runner.js';
import type { ComparisonDetail, JobView, StudiesResponse } from '../../src/server/api-types.js';
import { buildApp } from '../../src/server/app.js';
import { writeFixtureStudy } from '../server/fixture-study.js';
import { jobEvents } from '../server/http.js';
import { hasRedis, spawnWorker, startRedis, stopWorker, type TestRedis, type WorkerProcess } from './redis-server.js';

let root: string;
let redis: TestRedis;
let worker: WorkerProcess | null = null;
let lowDoseId: string;

describe.skipIf(!hasRedis)('serve --redis', () => {
  beforeAll(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-serve-queue-'));
    redis = await startRedis();
    await writeFixtureStudy(path.join(root, 'data'), { size: 48, slices: 3 });
    const probe = await buildApp({ data: [path.join(root, 'data')], workDir: path.join(root, 'probe') });
    const { studies } = (await probe.inject({ url: '/api/studies' })).json() as StudiesResponse;
    await probe.close();
    lowDoseId = studies[0]!.series.find((s) => s.role === 'low-dose')!.id;
  });

  afterAll(async () => {
    if (worker) worker.child.kill('SIGKILL');
    await redis?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it("runs the viewer's denoise job on a queue worker and opens its output as a new comparison", async () => {
    worker = spawnWorker(redis.url);
    const queue = await openQueue(parseRedisUrl(redis.url));
    let pooled = 0;
    const app = await buildApp({
      data: [path.join(root, 'data')],
      workDir: path.join(root, 'work'),
      denoise: queueRunner(queue, { pollMs: 100 }),
      queueDevice: () => `pool-${++pooled}`,
    });
    try {
      const response = await app.inject({ method: 'POST', url: '/api/jobs', payload: { series: [lowDoseId], options: { method: 'gaussian' } } });
      expect(response.statusCode, response.body).toBe(202);
      const job = response.json() as JobView;
      const events = jobEvents((await app.inject({ url: `/api/jobs/${job.id}/events` })).body);
      const last = events.at(-1)!;
      expect(last.status, JSON.stringify(last.error)).toBe('done');
      expect(last.progress).toMatchObject({ fraction: 1, slicesDone: 3, slicesTotal: 3 });
      const [comparisonId] = last.result!.comparisons;
      const comparison = (await app.inject({ url: `/api/comparisons/${comparisonId}` })).json() as ComparisonDetail;
      expect(comparison).toMatchObject({ lowDose: lowDoseId, pairedBy: 'report' });
    } finally {
      await app.close();
      await queue.close();
    }
    await stopWorker(worker);
    expect(worker.events().filter((e) => e.event === 'completed')).toHaveLength(1);
  }, 90_000);
});
