/**
 * Throughput of `lowdose worker`s on the Redis queue, and the queue's own cost per job.
 *
 *   npx tsx scripts/bench/queue.ts [--series 12] [--size 512] [--slices 4] [--steps 1]
 *                                  [--workers 1,2,3] [--noop 200] [--json]
 *
 * A redis-server with docs/scale-out.md's settings (append-only file) on a free loopback port, in
 * a temporary folder; `--series` body phantoms (`--size`² x `--slices`, seeds 1..n) written as
 * DICOM. Then:
 * 0. The same series through a plain in-process `denoise` (single thread), for comparison.
 * 1. For each worker count W: W `lowdose worker --threads 1` processes (started and connected
 *    before the clock starts), one batch of all series (the shipped CT model, `--steps`, seed 7),
 *    timed from submission until every job has ended: series / min and slices / s, the workers'
 *    CPU seconds per slice (from /proc, which load on the machine does not inflate), the median
 *    time a job waited before a worker took it while a worker was idle, and the median queue time
 *    inside a job (BullMQ's start-to-finish minus the pipeline's own seconds).
 * 2. The same batch submitted again to one worker: every series is already complete, so each job
 *    is the toolkit's fixed cost per series (scan 1 folder, lock, check the completion marker) plus
 *    the queue's moves: enqueue to start, start to finish, per job.
 * 3. A bare BullMQ worker whose jobs do nothing, in this process: `--noop` jobs one at a time,
 *    add to completion seen through QueueEvents (the engine's round trip), and 2000 at once, drained
 *    (jobs / s, the engine's ceiling per worker).
 * The 1-minute load average is read before and after each part, and the CPU pressure (the share of
 * the last minute in which some runnable task waited for a CPU) after the throughput runs: on a
 * shared machine the wall-clock figures are under that load; the CPU seconds are not.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { Queue, QueueEvents, Worker, type Job } from 'bullmq';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import { runPhantom } from '../../src/pipeline/phantom.js';
import { openQueue, submitBatch, batchStatus } from '../../src/queue/batch.js';
import { connectionOptions, parseRedisUrl } from '../../src/queue/connection.js';
import { QUEUE_PREFIX, type SeriesJobData, type SeriesJobResult } from '../../src/queue/jobs.js';
import { spawnWorker, startRedis, stopWorker, type WorkerProcess } from '../../test/queue/redis-server.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: string): string => {
  const i = args.indexOf(name);
  return i >= 0 ? (args[i + 1] ?? fallback) : fallback;
};
const json = args.includes('--json');
const seriesCount = Number(option('--series', '12'));
const size = Number(option('--size', '512'));
const slices = Number(option('--slices', '4'));
const steps = Number(option('--steps', '1'));
const workerCounts = option('--workers', '1,2,3').split(',').map(Number);
const noopJobs = Number(option('--noop', '200'));
/** Progress and the figures as they come, on stderr; `--json` adds the whole result on stdout. */
const say = (text: string) => process.stderr.write(`${text}\n`);

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length === 0 ? NaN : sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const quantile = (values: readonly number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
};
const round = (value: number, digits = 2): number => Math.round(value * 10 ** digits) / 10 ** digits;
const load1 = (): number => round(loadavg()[0]!);
/** Share of the last 60 s in which some runnable task waited for a CPU, % (Linux PSI), or null. */
function cpuPressure(): number | null {
  try {
    const m = /some avg10=[\d.]+ avg60=([\d.]+)/.exec(readFileSync('/proc/pressure/cpu', 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** User + system CPU seconds of a process so far (/proc/<pid>/stat fields 14 and 15, in 1/100 s). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

interface WorkerEventLine {
  event: string;
  job: string;
  seconds?: number;
}

const root = mkdtempSync(path.join(tmpdir(), 'lowdose-bench-queue-'));
const redis = await startRedis({ persistent: true });
const target = parseRedisUrl(redis.url);
const queue = await openQueue(target);

try {
  say(`writing ${seriesCount} body phantoms, ${size}x${size}x${slices}`);
  const inputs: string[] = [];
  for (let i = 0; i < seriesCount; i++) {
    const dir = path.join(root, 'in', `s${i}`);
    await runPhantom('body', { outDir: dir, size, slices, seed: i + 1, uidSeed: `bench-queue-${i}` });
    inputs.push(dir);
  }
  const settings = { steps, seed: 7 };

  /** Submits a batch and polls its state every 20 ms until every job has ended. */
  async function runBatch(outDir: string): Promise<{ id: string; seconds: number; jobs: Array<Job<SeriesJobData, SeriesJobResult>> }> {
    const started = performance.now();
    const { batch } = await submitBatch(queue, inputs, { outDir, settings, attempts: 1 });
    for (;;) {
      const { status } = await batchStatus(queue, batch.id);
      if (status.finished) {
        if (status.series.done !== seriesCount) throw new Error(`batch ${batch.id}: ${JSON.stringify(status.series)}`);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const seconds = (performance.now() - started) / 1000;
    const jobs = await Promise.all(batch.jobs.map(async (j) => (await queue.getJob(j.id))!));
    return { id: batch.id, seconds, jobs };
  }

  async function startWorkers(count: number): Promise<WorkerProcess[]> {
    const workers = Array.from({ length: count }, () => spawnWorker(redis.url));
    await Promise.all(workers.map((w) => w.ready));
    return workers;
  }

  // 0. No queue: one process, one thread, all series.
  const plainLoad = load1();
  const cpu0 = process.cpuUsage();
  const t0Plain = performance.now();
  await denoisePaths(inputs, { outDir: path.join(root, 'plain'), ...settings, threads: 1 });
  const plainSeconds = (performance.now() - t0Plain) / 1000;
  const plainCpu = process.cpuUsage(cpu0);
  const plain = {
    seconds: round(plainSeconds),
    seriesPerMinute: round((60 * seriesCount) / plainSeconds, 1),
    slicesPerSecond: round((seriesCount * slices) / plainSeconds),
    cpuSecondsPerSlice: round((plainCpu.user + plainCpu.system) / 1e6 / (seriesCount * slices), 3),
    load: [plainLoad, load1()],
  };
  say(`plain denoise: ${JSON.stringify(plain)}`);

  const throughput = [];
  for (const count of workerCounts) {
    const workers = await startWorkers(count);
    const cpuBefore = workers.map((w) => cpuSeconds(w.child.pid!));
    const loadBefore = load1();
    say(`${count} worker(s): load ${loadBefore}`);
    const run = await runBatch(path.join(root, `out-${count}`));
    const cpu = workers.reduce((sum, w, i) => sum + cpuSeconds(w.child.pid!) - cpuBefore[i]!, 0);
    const loadAfter = load1();
    await Promise.all(workers.map((w) => stopWorker(w)));
    const pipelineSeconds = new Map(
      workers.flatMap((w) => (w.events() as WorkerEventLine[]).filter((e) => e.event === 'completed').map((e) => [e.job, e.seconds ?? 0] as const)),
    );
    // The first `count` jobs found every worker idle: their wait is the queue's start latency.
    const byStart = [...run.jobs].sort((a, b) => a.processedOn! - b.processedOn!);
    const idleStart = byStart.slice(0, count).map((j) => j.processedOn! - j.timestamp);
    const inJob = run.jobs.map((j) => j.finishedOn! - j.processedOn! - 1000 * (pipelineSeconds.get(j.id!) ?? NaN));
    const total = seriesCount * slices;
    const row = {
      workers: count,
      series: seriesCount,
      slices: total,
      seconds: round(run.seconds),
      seriesPerMinute: round((60 * seriesCount) / run.seconds, 1),
      slicesPerSecond: round(total / run.seconds),
      workerCpuSecondsPerSlice: round(cpu / total, 3),
      idleStartMs: round(median(idleStart), 1),
      queueInJobMs: round(median(inJob), 1),
      jobsPerWorker: workers.map((w) => w.events().filter((e) => e.event === 'completed').length),
      load: [loadBefore, loadAfter],
      cpuPressure: cpuPressure(),
    };
    say(JSON.stringify(row));
    throughput.push(row);
  }

  // 2. Jobs that find their series complete: the fixed cost per job.
  const [single] = await startWorkers(1);
  const loadBefore = load1();
  const again = await runBatch(path.join(root, `out-${workerCounts[0]}`));
  const loadAfter = load1();
  await stopWorker(single!);
  const skips = (single!.events() as WorkerEventLine[]).filter((e) => e.event === 'completed');
  const skipped = {
    jobs: again.jobs.length,
    seconds: round(again.seconds),
    perJobMs: round((1000 * again.seconds) / again.jobs.length, 1),
    startToFinishMs: round(median(again.jobs.map((j) => j.finishedOn! - j.processedOn!)), 1),
    pipelineMs: round(1000 * median(skips.map((e) => e.seconds ?? NaN)), 1),
    firstEnqueueToStartMs: again.jobs[0]!.processedOn! - again.jobs[0]!.timestamp,
    load: [loadBefore, loadAfter],
  };
  say(`already-complete batch: ${JSON.stringify(skipped)}`);

  // 3. The engine alone: a BullMQ worker whose jobs do nothing.
  const connection = connectionOptions(target);
  const noopQueue = new Queue('bench-noop', { connection, prefix: QUEUE_PREFIX });
  const events = new QueueEvents('bench-noop', { connection, prefix: QUEUE_PREFIX });
  const noopWorker = new Worker('bench-noop', async () => null, { connection, prefix: QUEUE_PREFIX, concurrency: 1 });
  await Promise.all([noopQueue.waitUntilReady(), events.waitUntilReady(), noopWorker.waitUntilReady()]);
  const noopLoad = load1();
  const roundTrips: number[] = [];
  for (let i = 0; i < noopJobs; i++) {
    const t0 = performance.now();
    // Kept once complete: waitUntilFinished reads the job's state, which a removed job no longer has.
    const job = await noopQueue.add('noop', { i });
    await job.waitUntilFinished(events);
    roundTrips.push(performance.now() - t0);
  }
  const DRAIN = 2000;
  let drained = 0;
  const allDone = new Promise<void>((resolve) =>
    noopWorker.on('completed', () => {
      if (++drained === DRAIN) resolve();
    }),
  );
  const t0 = performance.now();
  await noopQueue.addBulk(Array.from({ length: DRAIN }, (_, i) => ({ name: 'noop', data: { i }, opts: { removeOnComplete: true } })));
  await allDone;
  const drainSeconds = (performance.now() - t0) / 1000;
  const noop = {
    jobs: noopJobs,
    roundTripMedianMs: round(median(roundTrips)),
    roundTripP95Ms: round(quantile(roundTrips, 0.95)),
    drainJobsPerSecond: Math.round(DRAIN / drainSeconds),
    load: [noopLoad, load1()],
  };
  say(`no-op jobs: ${JSON.stringify(noop)}`);
  await noopWorker.close();
  await events.close();
  await noopQueue.close();

  const result = { machine: { cores: availableParallelism() }, settings: { seriesCount, size, slices, steps }, plain, throughput, skipped, noop };
  if (json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} finally {
  await queue.close();
  await redis.stop();
  rmSync(root, { recursive: true, force: true });
}
