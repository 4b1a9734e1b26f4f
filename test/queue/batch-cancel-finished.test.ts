/**
 * `batch cancel` on a batch whose series have all finished leaves it finished (docs/contract.md):
 * nothing left to cancel is exit 2 with E_USAGE, and `batch status` does not call it cancelled.
 * A real Redis (no persistence) and one real worker process.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPhantom } from '../../src/pipeline/phantom.js';
import type { BatchStatus } from '../../src/queue/jobs.js';
import { runCli } from '../helpers/cli.js';
import { hasRedis, spawnWorker, startRedis, stopWorker, type TestRedis, type WorkerProcess } from './redis-server.js';

const root = mkdtempSync(path.join(tmpdir(), 'lowdose-batch-cancel-'));

describe.skipIf(!hasRedis)('batch cancel on a finished batch', () => {
  let redis: TestRedis;
  let worker: WorkerProcess | undefined;
  const input = path.join(root, 'in');

  beforeAll(async () => {
    redis = await startRedis();
    await runPhantom('water', { outDir: input, size: 32, slices: 2, seed: 3, uidSeed: 'batch-cancel-finished' });
  }, 60_000);

  afterAll(async () => {
    if (worker) await stopWorker(worker);
    await redis?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('says nothing was left to cancel (exit 2, E_USAGE) and status still reads finished, not cancelled', async () => {
    worker = spawnWorker(redis.url);
    await worker.ready;
    const run = await runCli('batch', input, '-o', path.join(root, 'out'), '--redis', redis.url, '--method', 'gaussian', '--wait', '--json', '--no-progress');
    expect(run.code, run.stderr).toBe(0);
    const { id } = JSON.parse(run.stdout) as { id: string };

    const cancel = await runCli('batch', 'cancel', id, '--redis', redis.url, '--json');
    expect(cancel.code, cancel.stderr).toBe(2);
    expect(cancel.stderr).toContain('nothing left to cancel');
    expect(cancel.stderr).toContain('1 done');
    const { errors } = JSON.parse(cancel.stdout) as { errors: Array<{ code: string }> };
    expect(errors.map((e) => e.code)).toEqual(['E_USAGE']);

    const status = await runCli('batch', 'status', id, '--redis', redis.url, '--json');
    expect(status.code, status.stderr).toBe(0);
    const parsed = JSON.parse(status.stdout) as BatchStatus;
    expect(parsed).toMatchObject({ cancelled: false, finished: true, series: { total: 1, done: 1, failed: 0, cancelled: 0 } });
    const human = await runCli('batch', 'status', id, '--redis', redis.url);
    expect(human.stderr).not.toContain('(cancelled)');
  }, 90_000);
});
