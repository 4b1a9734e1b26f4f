/**
 * SIGINT / SIGTERM to `batch --wait` stops the waiting, not the batch (docs/contract.md): a batch
 * that finished before the signal was noticed is reported as finished (result, report.json, exit 0);
 * one still running goes on on the workers, and the interrupted wait says so with exit 130 and its
 * status. A real Redis (no persistence), real worker and batch processes.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPhantom } from '../../src/pipeline/phantom.js';
import type { BatchStatus } from '../../src/queue/jobs.js';
import { runCli } from '../helpers/cli.js';
import { spawnCli } from '../helpers/cli-process.js';
import { hasRedis, spawnWorker, startRedis, stopWorker, type TestRedis, type WorkerProcess } from './redis-server.js';

const root = mkdtempSync(path.join(tmpdir(), 'lowdose-batch-interrupt-'));

/** `lowdose batch ... --wait --json` as a child process (from the sources with tsx), so it can get real signals. */
function spawnBatchWait(...args: string[]) {
  let isQueued: (id: string) => void = () => {};
  const { child, done, stderr } = spawnCli(['batch', ...args, '--wait', '--json', '--no-progress'], {
    onOutput: (_, err) => {
      const id = /batch (\S+): \d+ series queued/.exec(err)?.[1];
      if (id) isQueued(id);
    },
  });
  const queued = new Promise<string>((resolve, reject) => {
    isQueued = resolve;
    void done.then(() => reject(new Error(`batch exited before it queued:\n${stderr()}`)));
  });
  queued.catch(() => {});
  return { child, done, queued };
}

/** Polls `batch status` until the batch is finished (a worker's 'completed' event comes before the queue records it). */
async function untilFinished(id: string, redisUrl: string, ms = 60_000): Promise<BatchStatus> {
  const deadline = Date.now() + ms;
  for (;;) {
    const status = JSON.parse((await runCli('batch', 'status', id, '--redis', redisUrl, '--json')).stdout) as BatchStatus;
    if (status.finished) return status;
    if (Date.now() > deadline) throw new Error(`batch ${id} did not finish within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe.skipIf(!hasRedis)('batch --wait interrupted', () => {
  let redis: TestRedis;
  let worker: WorkerProcess | undefined;
  const input = path.join(root, 'in');

  beforeAll(async () => {
    redis = await startRedis();
    await runPhantom('water', { outDir: input, size: 32, slices: 2, seed: 5, uidSeed: 'batch-wait-interrupt' });
  }, 60_000);

  afterAll(async () => {
    if (worker) await stopWorker(worker);
    await redis?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('SIGINT with the batch still queued: exit 130, the status and how to follow it; the batch is not cancelled', async () => {
    const out = path.join(root, 'out-running');
    const batch = spawnBatchWait(input, '-o', out, '--redis', redis.url, '--method', 'gaussian');
    const id = await batch.queued;
    batch.child.kill('SIGINT');
    const run = await batch.done;
    expect([run.code, run.signal], run.stderr).toEqual([130, null]);
    expect(run.stderr).toContain(`stopped waiting (SIGINT): batch ${id} goes on (0/1 series done, 0 failed, 0 running, 1 waiting); lowdose batch status ${id}`);
    const result = JSON.parse(run.stdout) as { id: string; interrupted: string; status: BatchStatus; report?: unknown };
    expect(result).toMatchObject({ id, interrupted: 'SIGINT', status: { finished: false, cancelled: false, series: { total: 1, waiting: 1 } } });
    expect(result.report).toBeUndefined();
    expect(existsSync(path.join(out, 'report.json'))).toBe(false);

    // The workers still run it.
    worker = spawnWorker(redis.url);
    await worker.ready;
    expect(await untilFinished(id, redis.url)).toMatchObject({ cancelled: false, finished: true, series: { done: 1, total: 1 } });
    await stopWorker(worker);
    worker = undefined;
  }, 90_000);

  it('SIGINT after the batch finished but before the wait saw it: the finished result, report.json, exit 0', async () => {
    const out = path.join(root, 'out-finished');
    const batch = spawnBatchWait(input, '-o', out, '--redis', redis.url, '--method', 'gaussian');
    const id = await batch.queued;
    // Hold the waiting process still while a worker finishes the batch, then interrupt it: the
    // signal is the first thing it gets when it runs again, before it could read the batch again.
    batch.child.kill('SIGSTOP');
    try {
      worker = spawnWorker(redis.url);
      await worker.ready;
      await untilFinished(id, redis.url);
      batch.child.kill('SIGINT');
    } finally {
      batch.child.kill('SIGCONT');
    }
    const run = await batch.done;
    expect([run.code, run.signal], run.stderr).toEqual([0, null]);
    const result = JSON.parse(run.stdout) as { status: BatchStatus; report: { series: Array<{ output: { files: string[] } }>; errors: unknown[] }; interrupted?: unknown };
    expect(result.status).toMatchObject({ finished: true, cancelled: false, series: { done: 1, total: 1, cancelled: 0 } });
    expect(result.interrupted).toBeUndefined();
    expect(result.report.errors).toEqual([]);
    expect(result.report.series[0]!.output.files).toHaveLength(2);
    expect(JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8'))).toEqual(result.report);
    expect(run.stderr).not.toMatch(/E_CANCELLED|stopped waiting/);
  }, 90_000);
});
