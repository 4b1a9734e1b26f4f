/**
 * `batch --wait` exits as `denoise` does (docs/contract.md): 2 when no series was denoised and
 * every error is a settings error (a `--model` no worker can find), with the report still on stdout.
 * A real Redis (no persistence) and one real worker process.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPhantom } from '../../src/pipeline/phantom.js';
import type { DenoiseReport } from '../../src/pipeline/types.js';
import type { BatchStatus } from '../../src/queue/jobs.js';
import { runCli } from '../helpers/cli.js';
import { hasRedis, spawnWorker, startRedis, stopWorker, type TestRedis, type WorkerProcess } from './redis-server.js';

const root = mkdtempSync(path.join(tmpdir(), 'lowdose-batch-exit-'));

describe.skipIf(!hasRedis)('batch --wait with settings no worker can use', () => {
  let redis: TestRedis;
  let worker: WorkerProcess | undefined;
  const input = path.join(root, 'in');

  beforeAll(async () => {
    redis = await startRedis();
    await runPhantom('water', { outDir: input, size: 32, slices: 1, uidSeed: 'batch-exit' });
  }, 60_000);

  afterAll(async () => {
    if (worker) await stopWorker(worker);
    await redis?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('--model no-such-model: every series fails with E_NOT_FOUND, nothing denoised, exit 2 with the report', async () => {
    worker = spawnWorker(redis.url);
    await worker.ready;
    const run = await runCli('batch', input, '-o', path.join(root, 'out'), '--redis', redis.url, '--model', 'no-such-model', '--attempts', '1', '--wait', '--json', '--no-progress');
    const result = JSON.parse(run.stdout) as { status: BatchStatus; report: DenoiseReport };
    expect(result.status.series).toMatchObject({ total: 1, done: 0, failed: 1 });
    expect(result.report.series).toEqual([]);
    expect(result.report.errors.map((e) => e.code)).toEqual(['E_NOT_FOUND']);
    expect(run.code, run.stderr).toBe(2);
  }, 90_000);
});
