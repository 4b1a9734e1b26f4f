/**
 * `lowdose batch` and `lowdose worker` on a real Redis (started here on a free loopback port, with
 * the append-only file docs/scale-out.md asks for): workers are real child processes. Three
 * single-thread workers share a batch of 12 series and every series is done exactly once, with the
 * pixels a plain `denoise` with the same model, steps and seed gives; Redis killed and restarted
 * mid-batch loses nothing and the batch completes, its workers and `batch --wait` reconnecting; a
 * worker killed with SIGKILL mid-job has its job taken over (BullMQ's stalled-job check, with a 5 s
 * stall timeout) and the series completes with one copy; a series whose files are gone fails after
 * its attempts with its error kept while the others finish; a cancelled batch runs nothing more.
 * The waits are on what Redis and the workers report, bounded by generous deadlines, never on
 * sleeps: CI runs these on two loaded cores.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readSliceImage, scanPaths } from '../../src/dicom/index.js';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import { runPhantom } from '../../src/pipeline/phantom.js';
import type { DenoiseReport } from '../../src/pipeline/types.js';
import { batchStatus, openQueue } from '../../src/queue/batch.js';
import { parseRedisUrl } from '../../src/queue/connection.js';
import type { BatchStatus } from '../../src/queue/jobs.js';
import { lockPathFor } from '../../src/util/folder-lock.js';
import { isTemporaryName } from '../../src/util/fs.js';
import { runCli, type CliRun } from '../helpers/cli.js';
import { CORPUS } from '../dicom/helpers/corpus.js';
import { hasRedis, REDIS_SERVER, spawnWorker, startRedis, stopWorker, type TestRedis, type WorkerProcess } from './redis-server.js';

const root = mkdtempSync(path.join(tmpdir(), 'lowdose-queue-'));
const PYTHON = '/usr/bin/python3';
const PET_TIMING = fileURLToPath(new URL('../dicom/data/make-pet-timing.py', import.meta.url));
const hasPydicom = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import pydicom, numpy'], { encoding: 'utf8' }).status === 0;
const SMALL = 12;
/** The model's settings for the shared batches: one step keeps a series well under a second. */
const MODEL = ['--steps', '1', '--seed', '7'];

if (!hasRedis) console.warn(`skipping the queue tests: ${REDIS_SERVER} is not installed (apt-get install redis-server)`);

/**
 * The --stall-timeout of the workers whose jobs must change hands: BullMQ's job lock lives this
 * long without renewal, and its stalled-job check runs this often. A live worker renews its lock
 * between slices; one that cannot for a whole stall timeout loses its job as a dead one does, and
 * a job that stalls twice fails ("job stalled more than allowable limit", maxStalledCount 1). At
 * 1 s that happened on CI at load 14 on two cores: the worker that had taken a killed worker's job
 * was merely slow and the job failed (a 2.5 s SIGSTOP of that worker does the same every time).
 */
const STALL_MS = 5000;
/**
 * A dead worker's job is back in the queue by then: its lock lapses at most STALL_MS after its
 * last renewal; the stalled-job check marks the active jobs on one run and puts back those still
 * unlocked on the next, STALL_MS later; one more STALL_MS as a run is skipped while another
 * worker's run of the last STALL_MS holds the check key.
 */
const TAKEOVER_MS = 3 * STALL_MS;
/**
 * Deadline for one step of real work (workers starting under tsx, a 64-slice NLM series) on a
 * loaded machine; tests that take several such steps get a multiple of it (at load 22 the
 * three-worker test ran past its former 120 s).
 */
const SLOW_MS = 120_000;

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
  // Gaussian unless the case names its method (an option given twice is refused).
  const method = extra.includes('--method') ? [] : ['--method', 'gaussian'];
  const run = await runCli('batch', ...inputs, '-o', out, '--redis', url, ...method, '--json', ...extra);
  expect(run.code, run.stderr).toBe(0);
  return (JSON.parse(run.stdout) as { id: string }).id;
}

function temporariesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && isTemporaryName(e.name))
    .map((e) => e.name);
}

/**
 * A series long enough to act on it mid-job, written once: 64 slices of 192 x 192 through NLM take
 * a few seconds on an idle machine (16 finished in 0.5 s, before the test could act).
 */
const BIG_SLICES = 64;
let big: Promise<string> | undefined;
function bigSeries(): Promise<string> {
  big ??= runPhantom('water', { outDir: path.join(root, 'in-big'), size: 192, slices: BIG_SLICES, uidSeed: 'queue-big' }).then(() => path.join(root, 'in-big'));
  return big;
}

let redis: TestRedis;
const inputs: string[] = [];
/** A plain in-process `denoise` of the inputs with MODEL's settings, single-thread like the workers. */
let plain: DenoiseReport;

/** Every series in `out` is the plain denoise's, slice for slice and bit for bit, and nothing else is there. */
async function expectSameAsPlain(out: string): Promise<void> {
  const queued = (await scanPaths([out])).series;
  expect(queued).toHaveLength(SMALL);
  for (const series of plain.series) {
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
  expect(readdirSync(out).filter((name) => name.endsWith('.lock'))).toEqual([]);
}

/** How many times each job id occurs among the workers' events of one kind. */
function countsOf(event: string, from: readonly WorkerProcess[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const e of from.flatMap((w) => w.events()).filter((e) => e.event === event)) counts.set(e.job, (counts.get(e.job) ?? 0) + 1);
  return counts;
}

describe.skipIf(!hasRedis)('lowdose batch and worker on Redis', () => {
  beforeAll(async () => {
    redis = await startRedis({ persistent: true });
    for (let i = 0; i < SMALL; i++) {
      const dir = path.join(root, 'in', `s${i}`);
      await runPhantom('water', { outDir: dir, size: 64, slices: 3, seed: i + 1, uidSeed: `queue-${i}` });
      inputs.push(dir);
    }
    plain = await denoisePaths(inputs, { outDir: path.join(root, 'plain'), steps: 1, seed: 7, threads: 1 });
    expect(plain.series).toHaveLength(SMALL);
  }, 60_000);

  // A test that fails midway leaves its workers running, and they would take the next tests' jobs
  // (on CI a failed takeover test's worker made the next two fail): end them after each test.
  afterEach(async () => {
    for (const worker of workers.splice(0)) {
      if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL');
      await worker.done;
    }
  });

  afterAll(async () => {
    await redis?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('three single-thread workers share a batch of 12 series: each done exactly once, bit for bit as a plain denoise', async () => {
    const three = [startWorker(redis.url), startWorker(redis.url), startWorker(redis.url)];
    await Promise.all(three.map((w) => w.ready));
    const out = path.join(root, 'shared');
    const run = await runCli('batch', ...inputs, '-o', out, '--redis', redis.url, ...MODEL, '--wait', '--json', '--no-progress');
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as { id: string; status: BatchStatus; report: DenoiseReport };
    expect(result.status.series).toEqual({ total: SMALL, done: SMALL, failed: 0, running: 0, waiting: 0, cancelled: 0 });
    expect(result.report.series).toHaveLength(SMALL);
    expect(result.report.errors).toEqual([]);
    await Promise.all(three.map((w) => stopWorker(w)));
    const ids = result.status.jobs.map((j) => j.id).sort();
    // Started once and completed once: no job ran twice, none was left out.
    for (const event of ['started', 'completed']) {
      const counts = countsOf(event, three);
      expect([...counts.keys()].sort(), event).toEqual(ids);
      expect([...counts.values()].every((n) => n === 1), event).toBe(true);
    }
    // All three were waiting when the batch came: each took a share.
    for (const worker of three) expect(worker.events().filter((e) => e.event === 'completed').length).toBeGreaterThan(0);
    await expectSameAsPlain(out);
  }, 3 * SLOW_MS);

  it('Redis killed and restarted mid-batch: workers and batch --wait reconnect, nothing is lost or done twice', async () => {
    const pair = [startWorker(redis.url), startWorker(redis.url)];
    await Promise.all(pair.map((w) => w.ready));
    const out = path.join(root, 'restarted');
    const queue = await openQueue(parseRedisUrl(redis.url));
    let doneBefore: number;
    let wait: Promise<CliRun> | undefined;
    try {
      const TYPES = ['waiting', 'active', 'delayed', 'completed', 'failed'] as const;
      const batches = async () => new Set((await queue.getJobs([...TYPES])).map((job) => job.data.batchId));
      const known = await batches();
      wait = runCli('batch', ...inputs, '-o', out, '--redis', redis.url, ...MODEL, '--wait', '--json', '--no-progress');
      const [id] = await until('the batch to be queued', async () => [...(await batches())].filter((b) => !known.has(b)), (ids) => ids.length > 0, SLOW_MS, 20);
      const before = await until('two series done', () => batchStatus(queue, id!), (s) => s.status.series.done >= 2, SLOW_MS, 20);
      const logged = pair.map((w) => w.stderr().length);
      await redis.crash();
      doneBefore = before.status.series.done;
      // Restarted once every worker has seen Redis gone (the reconnect they log below needs that).
      await until('both workers to see Redis gone', async () => pair.map((w, i) => w.stderr().slice(logged[i])), (texts) => texts.every((t) => t.includes(' queue: ')), SLOW_MS, 50);
      await redis.restart();
    } finally {
      await queue.close();
    }
    const run = await wait!;
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as { id: string; status: BatchStatus; report: DenoiseReport };
    expect(doneBefore).toBeLessThan(SMALL);
    expect(result.status.series).toEqual({ total: SMALL, done: SMALL, failed: 0, running: 0, waiting: 0, cancelled: 0 });
    expect(result.report.series).toHaveLength(SMALL);
    // The workers lived through it, and each job completed once.
    for (const worker of pair) {
      expect(worker.child.exitCode, worker.stderr()).toBeNull();
      expect(worker.stderr()).toContain('queue: connected to Redis again');
    }
    const stopped = await Promise.all(pair.map((w) => stopWorker(w)));
    expect(stopped.map((s) => s.code)).toEqual([0, 0]);
    const completed = countsOf('completed', pair);
    expect([...completed.keys()].sort()).toEqual(result.status.jobs.map((j) => j.id).sort());
    expect([...completed.values()].every((n) => n === 1)).toBe(true);
    await expectSameAsPlain(out);
  }, 3 * SLOW_MS);

  it('a worker killed with SIGKILL mid-job has its job taken over; the series completes with one copy', async () => {
    const big = await bigSeries();
    const out = path.join(root, 'killed');
    const first = startWorker(redis.url, '--stall-timeout', String(STALL_MS));
    await first.ready;
    const id = await submit(redis.url, [big], out, '--method', 'nlm', '--attempts', '2', '--backoff', '100');
    const queue = await openQueue(parseRedisUrl(redis.url));
    try {
      const midway = await until(
        'the job to be half-way',
        async () => (await batchStatus(queue, id)).status.jobs[0]!,
        (job) => job.state === 'active' && job.slicesDone >= 1,
        SLOW_MS,
        20,
      );
      expect(midway.slicesDone).toBeLessThan(BIG_SLICES);
      first.child.kill('SIGKILL');
      await first.done;
      const second = startWorker(redis.url, '--stall-timeout', String(STALL_MS));
      await second.ready;
      const started = (w: WorkerProcess) => w.events().filter((e) => e.event === 'started');
      await until('the second worker to take the job over', async () => started(second), (events) => events.length > 0, TAKEOVER_MS + SLOW_MS, 50);
      const { status } = await until('the batch to finish', () => batchStatus(queue, id), (s) => s.status.finished, SLOW_MS, 200);
      expect(status.series.done, `${JSON.stringify(status.jobs)}\n${second.stderr()}`).toBe(1);
      // Stalled once, when the first worker died: the second kept its lock to the end.
      expect((await queue.getJob(midway.id))?.stalledCounter).toBe(1);
      await stopWorker(second);
      expect(started(first)).toHaveLength(1);
      expect(first.events().filter((e) => e.event === 'completed')).toEqual([]);
      expect(started(second)).toHaveLength(1);
      expect(second.events().filter((e) => e.event === 'completed')).toHaveLength(1);
      const written = (await scanPaths([out])).series;
      expect(written).toHaveLength(1);
      expect(written[0]!.slices).toHaveLength(BIG_SLICES);
      expect(temporariesUnder(out)).toEqual([]);
      expect(readdirSync(out).filter((name) => name.endsWith('.lock'))).toEqual([]);
    } finally {
      await queue.close();
    }
  }, 2 * SLOW_MS + TAKEOVER_MS + 60_000);

  it("a folder lock left on another host by a queue job that lost its job lock is taken over; one whose job holds it is respected", async () => {
    const out = path.join(root, 'foreign-locks');
    mkdirSync(out, { recursive: true });
    const folderOf = (input: string) => path.basename(plain.series.find((s) => s.input.files[0]!.startsWith(input + path.sep))!.output.dir);
    const foreign = (job: { id: string; token: string }) =>
      JSON.stringify({ pid: 4242, host: 'gone-host.example', startedAt: '2026-01-01T00:00:00.000Z', processStart: 1, token: `folder-${job.id}`, job });
    // A worker on gone-host died writing series 0: its job attempt's lock is no longer in Redis.
    writeFileSync(lockPathFor(path.join(out, folderOf(inputs[0]!))), foreign({ id: 'dead-job', token: 'dead-attempt' }));
    // Series 1 is being written by a live job elsewhere: Redis holds that attempt's lock.
    writeFileSync(lockPathFor(path.join(out, folderOf(inputs[1]!))), foreign({ id: 'live-job', token: 'live-attempt' }));
    const queue = await openQueue(parseRedisUrl(redis.url));
    const worker = startWorker(redis.url, '--stall-timeout', String(STALL_MS));
    try {
      // Held for longer than the test can run: it must still be held when series 1's job looks.
      await (await queue.client).set('lowdose:denoise:live-job:lock', 'live-attempt', { PX: 3 * SLOW_MS });
      await worker.ready;
      const id = await submit(redis.url, [inputs[0]!, inputs[1]!], out, '--attempts', '1');
      // Series 0's folder is taken over after one more stall timeout (the grace for a live owner).
      const { status } = await until('the batch to finish', () => batchStatus(queue, id), (s) => s.status.finished, STALL_MS + SLOW_MS, 100);
      expect(status.series, JSON.stringify(status.jobs)).toMatchObject({ total: 2, done: 1, failed: 1 });
      const failed = status.jobs.find((j) => j.state === 'failed')!;
      expect(failed.seriesInstanceUid).toBe((await scanPaths([inputs[1]!])).series[0]!.seriesInstanceUid);
      expect(failed.error?.code, `${JSON.stringify(failed.error)}\n${worker.stderr()}`).toBe('E_LOCKED');
      expect(failed.error?.message).toContain('queue job live-job');
      expect(worker.stderr()).toContain('belongs to queue job dead-job on gone-host.example, which no longer holds its job lock');
      expect((await scanPaths([path.join(out, folderOf(inputs[0]!))])).series[0]!.slices).toHaveLength(3);
      expect(existsSync(lockPathFor(path.join(out, folderOf(inputs[0]!))))).toBe(false);
    } finally {
      await queue.close();
      await stopWorker(worker);
    }
  }, 2 * SLOW_MS);

  it('a job the queue gives to another worker stops where it is and releases its folder; rerun, it completes', async () => {
    const big = await bigSeries();
    const out = path.join(root, 'given-away');
    const worker = startWorker(redis.url, '--stall-timeout', String(STALL_MS));
    await worker.ready;
    const id = await submit(redis.url, [big], out, '--method', 'nlm', '--attempts', '2', '--backoff', '100');
    const queue = await openQueue(parseRedisUrl(redis.url));
    const client = await queue.client;
    try {
      const job = await until('the job to be under way', async () => (await batchStatus(queue, id)).status.jobs[0]!, (j) => j.state === 'active' && j.slicesDone >= 1, SLOW_MS, 20);
      // What the stalled-job check does when it hands a job to another worker: a new lock token.
      const lockKey = `lowdose:denoise:${job.id}:lock`;
      // The worker sees the other token when it next renews its lock (BullMQ renews every STALL_MS
      // / 4 to STALL_MS / 2), and the whole series can take less than that on a fast machine. So
      // it is frozen while the lock changes hands, until a renewal is overdue: the first thing it
      // does on waking, with most of the series still to do.
      worker.child.kill('SIGSTOP');
      try {
        await client.set(lockKey, 'another-worker', { PX: 3 * SLOW_MS });
        await new Promise((resolve) => setTimeout(resolve, STALL_MS / 2 + 500));
      } finally {
        worker.child.kill('SIGCONT');
      }
      await until('the worker to stop the job', async () => worker.stderr(), (text) => text.includes('stopping, the queue has given the job to another worker'), SLOW_MS, 50);
      const folderLocks = () => readdirSync(out).filter((name) => name.endsWith('.lock'));
      await until('the folder lock to be released', async () => folderLocks(), (locks) => locks.length === 0, SLOW_MS, 50);
      const stopped = (await batchStatus(queue, id)).status.jobs[0]!;
      expect(stopped.state).toBe('active');
      // Stopped where it was, not at the end of its series.
      expect(stopped.slicesDone).toBeLessThan(BIG_SLICES);
      // The other worker "dies": its lock goes, the stalled-job check puts the job back, it runs to the end.
      await client.del(lockKey);
      const { status } = await until('the batch to finish', () => batchStatus(queue, id), (s) => s.status.finished, TAKEOVER_MS + SLOW_MS, 200);
      expect(status.series, `${JSON.stringify(status.jobs)}\n${worker.stderr()}`).toMatchObject({ done: 1, failed: 0 });
      // Stalled once, when its lock was deleted: the rerun kept its lock to the end.
      expect((await queue.getJob(job.id))?.stalledCounter).toBe(1);
      expect(worker.events().filter((e) => e.event === 'completed')).toHaveLength(1);
      const written = (await scanPaths([out])).series;
      expect(written).toHaveLength(1);
      expect(written[0]!.slices).toHaveLength(BIG_SLICES);
      expect(temporariesUnder(out)).toEqual([]);
      expect(folderLocks()).toEqual([]);
    } finally {
      await queue.close();
      await stopWorker(worker);
    }
  }, 3 * SLOW_MS + TAKEOVER_MS);

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

  it.skipIf(!hasPydicom)('workers that denoise the time points of a dynamic PET series at once write one derived series; a batch --overwrite redoes it as one new series; a batch with another method adds no time point to it', async () => {
    const made = spawnSync(PYTHON, [PET_TIMING, CORPUS, path.join(root, 'pet-timing')], { encoding: 'utf8' });
    expect(made.status, made.stderr).toBe(0);
    const three = [startWorker(redis.url), startWorker(redis.url), startWorker(redis.url)];
    await Promise.all(three.map((w) => w.ready));
    const out = path.join(root, 'dynamic');
    const batch = async (...extra: string[]): Promise<DenoiseReport> => {
      const run = await runCli('batch', path.join(root, 'pet-timing', 'dynamic'), '-o', out, '--redis', redis.url, '--method', 'gaussian', '--wait', '--json', '--no-progress', ...extra);
      expect(run.code, run.stderr).toBe(0);
      return (JSON.parse(run.stdout) as { report: DenoiseReport }).report;
    };
    const first = await batch();
    const sops = async (dir: string) => (await scanPaths([dir])).series.flatMap((s) => s.slices.map((slice) => slice.sopInstanceUid));
    const firstSops = new Set(await sops(first.series[0]!.output.dir));
    expect(firstSops.size).toBe(6);
    // Each time point is a job of its own; the batch's jobs are one --overwrite request.
    const report = await batch('--overwrite');
    expect(report.series.map((s) => s.skipped ?? false)).toEqual([false, false, false]);
    expect(new Set(report.series.map((s) => s.output.seriesInstanceUid)).has(first.series[0]!.output.seriesInstanceUid)).toBe(false);
    expect((await sops(report.series[0]!.output.dir)).filter((uid) => firstSops.has(uid))).toEqual([]);
    expect(report.series.map((s) => s.input.petFrame?.tag).sort()).toEqual(['t01', 't02', 't03']);
    const [folder, ...others] = readdirSync(out, { withFileTypes: true }).filter((e) => e.isDirectory() && e.name !== 'previews');
    expect(others).toEqual([]);
    const written = (await scanPaths([path.join(out, folder!.name)])).series;
    expect(written.map((s) => s.key.replace(/^.*#/, '#'))).toEqual(['#t1', '#t2', '#t3']);
    expect(new Set(written.map((s) => s.seriesInstanceUid))).toEqual(new Set(report.series.map((s) => s.output.seriesInstanceUid)));
    expect(new Set(written.map((s) => s.seriesInstanceUid)).size).toBe(1);
    expect(readdirSync(path.join(out, folder!.name)).filter((name) => name.endsWith('.lock'))).toEqual([]);
    expect(temporariesUnder(out)).toEqual([]);

    // t02 as a killed job leaves it (files, no marker); a batch with another method adds no time
    // point to the series: each job fails with E_EXISTS (t01, t03 finished otherwise; t02 would
    // join a series made with gaussian), and t02's files are removed. The batch's default attempts:
    // the t01 and t03 jobs' sweeps of the unfinished t02 hold its lock for a moment, and a t02 job
    // starting then fails that attempt with E_LOCKED and is retried.
    rmSync(path.join(out, folder!.name, '.lowdose-complete-t02.json'));
    const other = await runCli('batch', path.join(root, 'pet-timing', 'dynamic'), '-o', out, '--redis', redis.url, '--method', 'nlm', '--wait', '--json', '--no-progress');
    await Promise.all(three.map((w) => stopWorker(w)));
    expect(other.code, other.stderr).toBe(1);
    const { report: refused, status } = JSON.parse(other.stdout) as { report: DenoiseReport; status: BatchStatus };
    expect(refused.series).toEqual([]);
    // E_EXISTS is not retried (every attempt would meet the same series): t01 and t03 run once,
    // t02 once, or twice after an E_LOCKED attempt; not the batch's default 3 each.
    expect(status.jobs.map((j) => j.attempts).filter((n) => n === 1).length, JSON.stringify(status.jobs)).toBeGreaterThanOrEqual(2);
    expect(refused.errors.map((e) => e.code), JSON.stringify(refused.errors)).toEqual(['E_EXISTS', 'E_EXISTS', 'E_EXISTS']);
    // Each names what differs; t02's, the one that would join the series, says it adds no frame.
    expect(refused.errors.filter((e) => e.message.includes('method gaussian, this run nlm'))).toHaveLength(3);
    expect(refused.errors.filter((e) => e.message.includes('adds no frame'))).toHaveLength(1);
    const left = (await scanPaths([path.join(out, folder!.name)])).series;
    expect(left.map((s) => s.key.replace(/^.*#/, '#'))).toEqual(['#t1', '#t3']);
    expect(new Set(left.map((s) => s.seriesInstanceUid))).toEqual(new Set(report.series.map((s) => s.output.seriesInstanceUid)));
  }, 3 * SLOW_MS);

  it('an unknown batch, and a batch without -o, exit 2', async () => {
    const unknown = await runCli('batch', 'status', 'no-such-batch', '--redis', redis.url);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('[E_NOT_FOUND]');
    const usage = await runCli('batch', inputs[0]!, '--redis', redis.url);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('-o, --output');
  });
});
