/**
 * `lowdose worker --redis <url>`: runs denoise jobs from the queue until SIGINT / SIGTERM, then
 * finishes its running jobs and exits 0 (a signal before Redis has answered stops the start:
 * E_CANCELLED, 130 / 143). A thin layer over src/queue/worker.ts.
 */
import type { Command } from 'commander';
import { parseMemorySize } from '../../pipeline/memory-budget.js';
import { parseRedisUrl, describeTarget } from '../../queue/connection.js';
import { startWorker } from '../../queue/worker.js';
import { LowdoseError } from '../../errors.js';
import { deviceUnavailableReason, isDeviceRequest } from '../../runtime/index.js';
import type { CommandRegistrar } from '../command.js';
import { addDicomwebOptions, dicomwebClientOptions, type DicomwebCliOptions } from '../dicomweb-options.js';
import { addDimseOptions, addMoveOptions, dimseClientOptions, moveOptions, type DimseCliOptions, type MoveCliOptions } from '../dimse-options.js';
import { createOutput, EXIT_OK, parseIntOption, usageError } from '../output.js';
import { startUnlessStopped, stopOnSignal } from '../stop-on-signal.js';

interface WorkerCliOptions extends DicomwebCliOptions, DimseCliOptions, MoveCliOptions {
  redis: string;
  concurrency: number;
  device?: string;
  threads?: number;
  memoryBudget?: number;
  stallTimeout: number;
  json?: boolean;
}

export const register: CommandRegistrar = (program: Command, setExitCode) => {
  const command = program
    .command('worker')
    .description('run denoise jobs of `lowdose batch` (and `serve --redis`) from a Redis queue until stopped (SIGINT / SIGTERM)')
    .requiredOption('--redis <url>', 'Redis server: redis://[user:password@]host[:port][/db], rediss:// for TLS')
    .option('--concurrency <n>', 'jobs run at once by this worker', parseIntOption('--concurrency', 1, 64), 1)
    .option('--device <device>', "auto | cpu | webgpu | cuda (default: the batch's)")
    .option('--threads <n>', "CPU threads for the model (default: the batch's, else onnxruntime's)", parseIntOption('--threads', 1, 256))
    .option('--memory-budget <size>', "memory a job may use on this machine, e.g. 8G (default: the batch's, else as for denoise)", (text: string) =>
      parseMemorySize(text, '--memory-budget'),
    )
    .option(
      '--stall-timeout <ms>',
      "a job whose worker stops renewing its lock for this long is given to another worker (also how often that is checked)",
      parseIntOption('--stall-timeout', 200, 3_600_000),
      30_000,
    )
    .option('--json', 'one JSON line per job event on stdout (started, retrying, completed, failed)');
  // PACS jobs (`batch <PACS address>`) pull with this worker's own client options and credentials: a job carries none.
  // Its C-MOVEs (--move-port) go one at a time: with --concurrency > 1 the other jobs' pulls wait for the port.
  addMoveOptions(addDimseOptions(addDicomwebOptions(command)), 'for dimse:// jobs')
    .action(async (opts: WorkerCliOptions) => {
      if (opts.device !== undefined && !isDeviceRequest(opts.device)) throw usageError(`--device must be auto, cpu, webgpu or cuda, got "${opts.device}"`);
      // A worker that cannot even try its device would take every job it is offered and fail it
      // (E_DEVICE_UNAVAILABLE): series that another worker could have denoised.
      const unavailable = opts.device === 'cuda' || opts.device === 'webgpu' ? deviceUnavailableReason(opts.device) : null;
      if (unavailable !== null) throw new LowdoseError('E_DEVICE_UNAVAILABLE', `--device ${opts.device} cannot run on this machine: ${unavailable}; a worker with it would fail every job it takes`);
      const move = moveOptions(opts);
      const device = opts.device;
      const target = parseRedisUrl(opts.redis);
      const log = (message: string) => process.stderr.write(`${new Date().toISOString()} ${message}\n`);
      // SIGINT / SIGTERM before Redis has answered: the start stops (E_CANCELLED, exit 130 / 143), no job was taken.
      const starting = stopOnSignal('the worker start', log, 'the wait for Redis ends, no job is taken');
      const worker = await startUnlessStopped(starting, createOutput(Boolean(opts.json)), setExitCode, (signal) => startWorker(target, {
        startSignal: signal,
        concurrency: opts.concurrency,
        stallTimeoutMs: opts.stallTimeout,
        ...(device !== undefined ? { device } : {}),
        ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
        ...(opts.memoryBudget !== undefined ? { memoryBudget: opts.memoryBudget } : {}),
        dicomweb: dicomwebClientOptions(opts, log),
        dimse: { ...dimseClientOptions(opts), ...move },
        log,
        ...(opts.json ? { onEvent: (event) => process.stdout.write(`${JSON.stringify(event)}\n`) } : {}),
      }), (why) => `the worker did not start: ${why}; no job was taken`).finally(() => starting.dispose());
      if (worker === null) return;
      log(`worker ready on ${describeTarget(target)}, ${opts.concurrency} job(s) at a time (pid ${process.pid})`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      log('stopping: finishing the running job(s)');
      await worker.close();
      setExitCode(EXIT_OK);
    });
};
