/**
 * `lowdose batch <path...> -o <dir> --redis <url>`: one queue job per series for `lowdose worker`s
 * to run; `--wait` follows the batch to its end and writes report.json. `batch status <id>` and
 * `batch cancel <id>`. A thin layer over src/queue/batch.ts.
 */
import type { Command } from 'commander';
import type { Queue } from 'bullmq';
import { isDicomwebUrl } from '../../dicomweb/url.js';
import { isDimseUrl } from '../../dimse/url.js';
import { writeReport } from '../../pipeline/denoise.js';
import { batchStatus, cancelBatch, followBatch, openQueue, submitBatch } from '../../queue/batch.js';
import { parseRedisUrl } from '../../queue/connection.js';
import type { DenoiseReport } from '../../pipeline/types.js';
import { batchReport, type BatchStatus, type SeriesJobData, type SeriesJobResult } from '../../queue/jobs.js';
import { addDenoiserOptions, SAMPLES_HELP, denoiserSettings, type DenoiserCliOptions } from '../denoiser-options.js';
import type { CommandRegistrar } from '../command.js';
import { createOutput, EXIT_FAILED, EXIT_OK, exitCodeForRun, parseDoseOption, parseIntOption, usageError } from '../output.js';
import { createBatchProgress } from '../batch-progress.js';

interface BatchCliOptions extends DenoiserCliOptions {
  output?: string;
  redis?: string;
  dose?: number;
  overwrite?: boolean;
  includeDerived?: boolean;
  attempts: number;
  backoff: number;
  wait?: boolean;
  json?: boolean;
}

const POLL_MS = 500;
/** The shell's exit status of a process ended by SIGINT / SIGTERM (128 + the signal's number), which an unfinished `--wait` keeps. */
const EXIT_SIGINT = 130;
const EXIT_SIGTERM = 143;

/**
 * SIGINT / SIGTERM while `batch --wait` follows a batch: the first one is recorded and ends the
 * current sleep, so the wait reads the batch once more and reports it (a batch that finished
 * before the signal was noticed is reported as finished, report.json and all, not lost with the
 * process); a second one ends the process at once, for a Redis that no longer answers.
 */
function interruptOnSignal(): { readonly signal: NodeJS.Signals | null; sleep(ms: number): Promise<void>; dispose(): void } {
  let signal: NodeJS.Signals | null = null;
  let wake: (() => void) | null = null;
  const onSignal = (received: NodeJS.Signals) => {
    if (signal !== null) process.exit(received === 'SIGTERM' ? EXIT_SIGTERM : EXIT_SIGINT);
    signal = received;
    wake?.();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    get signal() {
      return signal;
    },
    sleep: (ms) =>
      new Promise<void>((resolve) => {
        if (signal !== null) return resolve();
        const timer = setTimeout(done, ms);
        function done() {
          clearTimeout(timer);
          wake = null;
          resolve();
        }
        wake = done;
      }),
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

export const register: CommandRegistrar = (program: Command, setExitCode) => {
  const command = program
    .command('batch')
    .description('queue one denoise job per CT / PET series for `lowdose worker`s; `batch status <id>`, `batch cancel <id>`')
    .argument('<path...>', 'DICOM files or folders (searched recursively), on storage the workers share')
    // Checked in the action, not by commander: it would also demand them of `batch status` / `cancel`.
    .option('-o, --output <dir>', 'output directory, on storage the workers share (required)')
    .option('--redis <url>', 'Redis server: redis://[user:password@]host[:port][/db], rediss:// for TLS (required)')
    // `batch status <id> --redis ...`: options after a subcommand's name are the subcommand's.
    .enablePositionalOptions();
  addDenoiserOptions(command, SAMPLES_HELP.batch)
    .option('--dose <fraction>', 'dose of the input as a fraction of normal dose, if known (e.g. 0.25)', parseDoseOption('--dose'))
    .option('--overwrite', 'redo series that are already finished in <dir>')
    .option('--include-derived', 'queue series lowdose derived (denoised or uncertainty series) too; they are skipped by default')
    .option('--attempts <n>', 'runs per series before it fails for good', parseIntOption('--attempts', 1, 100), 3)
    .option('--backoff <ms>', 'delay before the first retry, doubled for each later one', parseIntOption('--backoff', 0, 3_600_000), 2000)
    .option('--wait', 'follow the batch to its end (progress on stderr), write report.json, exit 0 / 1 like denoise')
    .option('--json', 'machine-readable result on stdout')
    .action(async (paths: string[], opts: BatchCliOptions) => {
      const out = createOutput(Boolean(opts.json));
      if (opts.output === undefined) throw usageError('batch needs -o, --output <dir>');
      if (opts.redis === undefined) throw usageError('batch needs --redis <url>');
      // Workers read a job's files from shared storage; a PACS address is no file (it would be
      // reported as "no such file or directory").
      const remote = paths.find((p) => isDicomwebUrl(p) || isDimseUrl(p));
      if (remote !== undefined) throw usageError(`batch queues DICOM files on storage the workers share, not a PACS address (${remote}): use lowdose denoise <url> with --stow / --store`);
      const settings = denoiserSettings(opts);
      const target = parseRedisUrl(opts.redis);
      const queue = await openQueue(target);
      try {
        const { batch, errors, skipped } = await submitBatch(queue, paths, {
          outDir: opts.output,
          settings: {
            ...settings,
            ...(opts.dose !== undefined ? { doseLevel: opts.dose } : {}),
            overwrite: Boolean(opts.overwrite),
          },
          attempts: opts.attempts,
          backoffMs: opts.backoff,
          includeDerived: Boolean(opts.includeDerived),
          log: (message) => out.info(message),
        });
        // The series not queued, as denoise's JSON lists them (absent when none).
        const skippedField = skipped ? { skipped } : {};
        // Listening before the batch id is shown: an interrupt from then on is this wait's to handle.
        const interrupt = opts.wait ? interruptOnSignal() : null;
        out.info(`batch ${batch.id}: ${batch.jobs.length} series queued`);
        if (!interrupt) {
          // stdout is the batch id alone (scripts read it); files left out of the batch go to stderr.
          for (const line of errorLines(errors)) out.info(line);
          out.result({ id: batch.id, outDir: batch.outDir, jobs: batch.jobs, errors, ...skippedField });
          out.print(batch.id);
          setExitCode(EXIT_OK);
          return;
        }
        const progress = createBatchProgress({ enabled: opts.progress });
        let snapshot;
        try {
          snapshot = await followBatch(() => batchStatus(queue, batch.id), interrupt, POLL_MS, (read) => progress.update(read));
        } finally {
          progress.stop();
          interrupt.dispose();
        }
        if (!snapshot.status.finished) {
          // SIGINT / SIGTERM stops the waiting, not the batch: its jobs are in Redis and the workers go on.
          const s = snapshot.status.series;
          out.info(
            `stopped waiting (${interrupt.signal}): batch ${batch.id} goes on (${s.done}/${s.total} series done, ${s.failed} failed, ${s.running} running, ${s.waiting} waiting); ` +
              `lowdose batch status ${batch.id} follows it, lowdose batch cancel ${batch.id} stops it`,
          );
          out.result({ id: batch.id, outDir: batch.outDir, jobs: batch.jobs, errors, ...skippedField, status: snapshot.status, interrupted: interrupt.signal });
          out.print([humanStatus(snapshot.status), ...errorLines(errors)].join('\n'));
          setExitCode(interrupt.signal === 'SIGTERM' ? EXIT_SIGTERM : EXIT_SIGINT);
          return;
        }
        const report = batchReport(snapshot.results, snapshot.status, errors, skipped);
        await writeReport(batch.outDir, report);
        out.result({ id: batch.id, outDir: batch.outDir, jobs: batch.jobs, errors, ...skippedField, status: snapshot.status, report });
        out.print([humanStatus(snapshot.status), ...warningLines(report), ...errorLines(errors)].join('\n'));
        // As denoise: 2 when no series was denoised and every error is a settings error (a --model
        // no worker could find); a series left undone without an error (cancelled) still fails the batch.
        const code = exitCodeForRun(report.series.length, report.errors);
        setExitCode(code === EXIT_OK && snapshot.status.series.done < snapshot.status.series.total ? EXIT_FAILED : code);
      } finally {
        await queue.close();
      }
    });

  command
    .command('status')
    .description("a batch's state: series done / failed / running / waiting, slices, each job's error")
    .argument('<id>', 'batch id (printed by lowdose batch)')
    .requiredOption('--redis <url>', 'Redis server')
    .option('--json', 'machine-readable status on stdout')
    .exitOverride()
    .action(async (id: string, opts: { redis: string; json?: boolean }) => {
      const out = createOutput(Boolean(opts.json));
      await withQueue(opts.redis, async (queue) => {
        const { status } = await batchStatus(queue, id);
        out.result(status);
        out.print(humanStatus(status));
        setExitCode(status.series.failed > 0 || status.series.cancelled > 0 ? EXIT_FAILED : EXIT_OK);
      });
    });

  command
    .command('cancel')
    .description('cancel a batch: queued series are removed, running ones stop (E_CANCELLED), finished ones stay')
    .argument('<id>', 'batch id')
    .requiredOption('--redis <url>', 'Redis server')
    .option('--json', 'machine-readable result on stdout')
    .exitOverride()
    .action(async (id: string, opts: { redis: string; json?: boolean }) => {
      const out = createOutput(Boolean(opts.json));
      await withQueue(opts.redis, async (queue) => {
        const { cancelled, removed } = await cancelBatch(queue, id);
        if (!cancelled) {
          const { status } = await batchStatus(queue, id);
          const s = status.series;
          throw usageError(
            `batch ${id} has no queued or running series (${s.done} done, ${s.failed} failed, ${s.cancelled} cancelled): nothing left to cancel`,
          );
        }
        out.result({ id, cancelled, removed });
        out.print(`batch ${id} cancelled: ${removed} queued series removed; running ones stop within a second`);
        setExitCode(EXIT_OK);
      });
    });
};

async function withQueue(url: string, use: (queue: Queue<SeriesJobData, SeriesJobResult>) => Promise<void>): Promise<void> {
  const queue = await openQueue(parseRedisUrl(url));
  try {
    await use(queue);
  } finally {
    await queue.close();
  }
}

/** The files the scan could not read, as `denoise` prints them: each one makes the batch exit 1. */
function errorLines(errors: DenoiseReport['errors']): string[] {
  return errors.map((e) => `error ${e.code}: ${e.message}`);
}

/** Each finished series' warnings (a gap in the series, a filter too narrow for its pixels), as `denoise` prints them. */
function warningLines(report: DenoiseReport): string[] {
  return report.series.flatMap((s) => s.warnings.map((w) => `  warning [${w.code}] ${w.message}`));
}

function humanStatus(status: BatchStatus): string {
  const s = status.series;
  const lines = [
    `batch ${status.id}${status.cancelled ? ' (cancelled)' : ''}: ${s.done}/${s.total} series done, ${s.failed} failed, ${s.running} running, ${s.waiting} waiting` +
      `${s.cancelled ? `, ${s.cancelled} cancelled` : ''}; ${status.slices.done}/${status.slices.total} slices -> ${status.outDir}`,
  ];
  for (const job of status.jobs) {
    if (job.error) lines.push(`  ${job.id} ${job.modality} ${job.seriesInstanceUid}: failed after ${job.attempts} attempt(s): ${job.error.message} [${job.error.code}]`);
  }
  return lines.join('\n');
}
