/**
 * `lowdose batch` and `lowdose worker` on a real Redis (started here on a free loopback port):
 * workers are real child processes. Two workers share a batch and every series is done once, with
 * the pixels a plain `denoise` gives; a worker killed with SIGKILL mid-job has its job taken over
 * (BullMQ's stalled-job check, with a 1 s stall timeout) and the series completes with one copy;
 * a series whose files are gone fails after its attempts with its error kept while the others
 * finish; a cancelled batch runs nothing more.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSliceImage, scanPaths } from '../../src/dicom/index.js';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import { runPhantom } from '../../src/pipeline/phantom.js';
import type { DenoiseReport } from '../../src/pipeline/types.js';
import { batchStatus, openQueue } from '../../src/queue/batch.js';
import { parseRedisUrl } from '../../src/queue/connection.js';
import type { BatchStatus } from '../../src/queue/jobs.js';
import { isTemporaryName } from '../../src/util/fs.js';
import { runCli } from '../helpers/cli.js';
import { hasRedis, REDIS_SERVER, spawnWorker, startRedis, stopWorker, type TestRedis, type WorkerProcess } from './redis-server.js';

const root = mkdtempSync(path.join(tmpdir(), 'lowdose-queue-'));
const SMALL = 5;

if (!hasRedis) console.warn(`skipping the queue tests: ${REDIS_SERVER} is not installed (apt-get install redis-server)`);

const workers: WorkerProcess[] = [];
const startWorker = (url: string, ...extra: string[]): WorkerProcess => {
  const worker = spawnWorker(url, ...extra);
  workers.push(worker);
  return worker;
};

async function until<T>(what: string, read: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 60_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value).slice(0, 2000)}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

async function submit(url: string, inputs: string[], out: string, ...extra: string[]): Promise<string> {
  const run = await runCli('batch', ...inputs, '-o', out, '--redis', url, '--method', 'gaussian', '--json', ...extra);
  expect(run.code, run.stderr).toBe(0);
  return (JSON.parse(run.stdout) as { id: string }).id;
}

function temporariesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && isTemporaryName(e.name))
    .map((e) => e.name);
}

let redis: TestRedis;
const inputs: string[] = [];

describe.skipIf(!hasRedis)('lowdose batch and worker on Redis', () => {
  beforeAll(async () => {
    redis = await startRedis();
    for (let i = 0; i < SMALL; i++) {
      const dir = path.join(root, 'in', `s${i}`);
      await runPhantom('water', { outDir: dir, size: 64, slices: 3, seed: i + 1, uidSeed: `queue-${i}` });
      inputs.push(dir);
    }
  });

  afterAll(async () => {
    for (const worker of workers) {
      if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL');
    }
    await redis?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('two workers share a batch: every series done exactly once, with the pixels of a plain denoise', async () => {
    const a = startWorker(redis.url);
    const b = startWorker(redis.url);
    const out = path.join(root, 'shared');
    const run = await runCli('batch', ...inputs, '-o', out, '--redis', redis.url, '--method', 'gaussian', '--seed', '7', '--wait', '--json', '--no-progress');
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as { id: string; status: BatchStatus; report: DenoiseReport };
    expect(result.status.series).toEqual({ total: SMALL, done: SMALL, failed: 0, running: 0, waiting: 0, cancelled: 0 });
    expect(result.report.series).toHaveLength(SMALL);
    expect(result.report.errors).toEqual([]);
    await Promise.all([stopWorker(a), stopWorker(b)]);
    const completed = [...a.events(), ...b.events()].filter((e) => e.event === 'completed').map((e) => e.job);
    expect(completed.sort()).toEqual(result.status.jobs.map((j) => j.id).sort());

    const plain = path.join(root, 'plain');
    const reference = await denoisePaths(inputs, { outDir: plain, method: 'gaussian', seed: 7 });
    const queued = (await scanPaths([out])).series;
    expect(queued).toHaveLength(SMALL);
    for (const series of reference.series) {
      const folder = path.basename(series.output.dir);
      const mine = queued.find((s) => path.basename(path.dirname(s.slices[0]!.file)) === folder);
      expect(mine, folder).toBeDefined();
      const theirs = (await scanPaths([series.output.dir])).series[0]!;
      expect(mine!.slices).toHaveLength(theirs.slices.length);
      for (let i = 0; i < theirs.slices.length; i++) {
        expect((await readSliceImage(mine!, i)).data).toEqual((await readSliceImage(theirs, i)).data);
      }
    }
    expect(temporariesUnder(out)).toEqual([]);
  }, 120_000);

  it('a worker killed with SIGKILL mid-job has its job taken over; the series completes with one copy', async () => {
    const big = path.join(root, 'in-big');
    await runPhantom('water', { outDir: big, size: 192, slices: 16, uidSeed: 'queue-big' });
    const out = path.join(root, 'killed');
    const first = startWorker(redis.url, '--stall-timeout', '1000');
    const id = await submit(redis.url, [big], out, '--method', 'nlm', '--attempts', '2', '--backoff', '100');
    const queue = await openQueue(parseRedisUrl(redis.url));
    try {
      const midway = await until(
        'the job to be half-way',
        async () => (await batchStatus(queue, id)).status.jobs[0]!,
        (job) => job.state === 'active' && job.slicesDone >= 1,
        60_000,
        20,
      );
      expect(midway.slicesDone).toBeLessThan(16);
      first.child.kill('SIGKILL');
      await first.done;
      const second = startWorker(redis.url, '--stall-timeout', '1000');
      const { status } = await until('the batch to finish', () => batchStatus(queue, id), (s) => s.status.finished, 90_000, 200);
      expect(status.series.done).toBe(1);
      await stopWorker(second);
      expect(second.events().filter((e) => e.event === 'completed')).toHaveLength(1);
      const written = (await scanPaths([out])).series;
      expect(written).toHaveLength(1);
      expect(written[0]!.slices).toHaveLength(16);
      expect(temporariesUnder(out)).toEqual([]);
      expect(readdirSync(out).filter((name) => name.endsWith('.lock'))).toEqual([]);
    } finally {
      await queue.close();
    }
  }, 180_000);

  it('a series whose files are gone fails after its attempts with its error kept; the others finish', async () => {
    const broken = path.join(root, 'in-broken');
    await runPhantom('water', { outDir: broken, size: 64, slices: 2, uidSeed: 'queue-broken' });
    const out = path.join(root, 'poison');
    const id = await submit(redis.url, [inputs[0]!, broken, inputs[1]!], out, '--attempts', '2', '--backoff', '50');
    rmSync(broken, { recursive: true });
    const worker = startWorker(redis.url);
    const queue = await openQueue(parseRedisUrl(redis.url));
    try {
      const { status } = await until('the batch to finish', () => batchStatus(queue, id), (s) => s.status.finished, 90_000, 200);
      expect(status.series).toMatchObject({ total: 3, done: 2, failed: 1 });
      const failed = status.jobs.find((j) => j.state === 'failed')!;
      expect(failed.attempts).toBe(2);
      expect(failed.error?.code).toBe('E_NOT_FOUND');
      expect(failed.error?.message).toContain(broken);
      const cli = await runCli('batch', 'status', id, '--redis', redis.url, '--json');
      expect(cli.code).toBe(1);
      expect((JSON.parse(cli.stdout) as BatchStatus).jobs.map((j) => j.state).sort()).toEqual(['completed', 'completed', 'failed']);
    } finally {
      await queue.close();
      await stopWorker(worker);
    }
  }, 120_000);

  it('a cancelled batch runs nothing more: its queued series are removed and status says so', async () => {
    const out = path.join(root, 'cancelled');
    const id = await submit(redis.url, inputs, out);
    const cancel = await runCli('batch', 'cancel', id, '--redis', redis.url, '--json');
    expect(cancel.code, cancel.stderr).toBe(0);
    expect(JSON.parse(cancel.stdout)).toEqual({ id, cancelled: true, removed: SMALL });
    const status = await runCli('batch', 'status', id, '--redis', redis.url, '--json');
    expect(status.code).toBe(1);
    const parsed = JSON.parse(status.stdout) as BatchStatus;
    expect(parsed).toMatchObject({ cancelled: true, finished: true, series: { total: SMALL, done: 0, cancelled: SMALL } });
  }, 60_000);

  it('an unknown batch, and a batch without -o, exit 2', async () => {
    const unknown = await runCli('batch', 'status', 'no-such-batch', '--redis', redis.url);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('[E_NOT_FOUND]');
    const usage = await runCli('batch', inputs[0]!, '--redis', redis.url);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('-o, --output');
  });
});
