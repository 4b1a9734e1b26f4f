/**
 * `lowdose batch <path...> -o <dir> --redis <url>`: one queue job per series for `lowdose worker`s
 * to run, or one per PACS study (or series) the addresses name or their query lists; `--wait`
 * follows the batch to its end and writes report.json. `batch status <id>` and `batch cancel <id>`.
 * A thin layer over src/queue/batch.ts.
 */
import type { Command } from 'commander';
import type { Queue } from 'bullmq';
import { isDicomwebUrl, withoutDicomwebQuery, parseDicomwebBase } from '../../dicomweb/url.js';
import { isDimseUrl, parseDimsePeer } from '../../dimse/url.js';
import { writeReport } from '../../pipeline/denoise.js';
import { checkStudyQueries } from '../../pipeline/pacs-studies.js';
import { namedStudies, type StudyIdentifiers } from '../../pipeline/studies-file.js';
import { collect } from '../repeatable-options.js';
import { batchStatus, cancelBatch, followBatch, openQueue, submitBatch, submitPacsBatch, type Submitted } from '../../queue/batch.js';
import { joinBatchErrorLists } from '../../queue/job-error-lists.js';
import type { PacsQueryReport } from '../../pipeline/pacs-studies.js';
import type { StudyKeys } from '../../util/remote-series.js';
import { withoutUndefined } from '../../util/defined.js';
import { countsByCodeText, errorsLeftOutLine, type ErrorCounts } from '../../util/code-sample.js';
import { addDicomwebOptions, dicomwebClientOptions, type DicomwebCliOptions } from '../dicomweb-options.js';
import { addDimseOptions, dimseClientOptions, type DimseCliOptions } from '../dimse-options.js';
import { checkPacsOptionScope, checkStoreTargets } from '../pacs-option-scope.js';
import { parseRedisUrl } from '../../queue/connection.js';
import type { DenoiseReport } from '../../pipeline/types.js';
import { batchReport, type BatchStatus, type SeriesJobData, type SeriesJobResult } from '../../queue/jobs.js';
import { addDenoiserOptions, SAMPLES_HELP, denoiserSettings, type DenoiserCliOptions } from '../denoiser-options.js';
import type { CommandRegistrar } from '../command.js';
import { createOutput, type Output, EXIT_FAILED, EXIT_OK, exitCodeForRun, parseDoseOption, parseIntOption, usageError } from '../output.js';
import { createBatchProgress } from '../batch-progress.js';
import { reportStopped, SIGNAL_EXIT, startUnlessStopped, stopOnSignal } from '../stop-on-signal.js';
import { toLowdoseError } from '../../errors.js';

interface BatchCliOptions extends DenoiserCliOptions, DicomwebCliOptions, DimseCliOptions, StudyKeys {
  stow?: string;
  store?: string;
  allowIncomplete?: boolean;
  skipByUid?: boolean;
  accession?: string[];
  studiesFrom?: string;
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
export const register: CommandRegistrar = (program: Command, setExitCode) => {
  const command = program
    .command('batch')
    .description('queue one denoise job per CT / PET series for `lowdose worker`s; `batch status <id>`, `batch cancel <id>`')
    .argument(
      '<path...>',
      'DICOM files or folders (searched recursively), on storage the workers share; or PACS studies, one job each: DICOMweb study / series URLs, dimse://<AET>@host:port/<StudyInstanceUID>[/<SeriesInstanceUID>], and PACS addresses (a DICOMweb base URL, dimse://<AET>@host:port) narrowed by --patient-id / --from / --to / --accession / --studies-from, answered before anything is queued',
    )
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
    .option('--stow <dicomweb-base>', 'with DICOMweb inputs: each worker stores the derived series to this DICOMweb server with STOW-RS');
  addDicomwebOptions(command)
    .option('--store <dimse-url>', 'with dimse:// inputs: each worker stores the derived series with C-STORE to this SCP, dimse://<AE title>@host:port');
  addDimseOptions(command)
    .option('--patient-id <id>', 'for a PACS address: queue the studies of this PatientID (* and ? are wildcards)')
    .option('--from <YYYYMMDD>', 'for a PACS address: queue the studies from this StudyDate on')
    .option('--to <YYYYMMDD>', 'for a PACS address: queue the studies up to this StudyDate')
    .option('--accession <number>', 'for a PACS address: queue the studies of this AccessionNumber (exact, with the other keys; repeatable, one query each); one that matches no study is an error of the batch (exit 1 with --wait)', collect)
    .option('--studies-from <file>', 'for a PACS address: queue the studies listed in this text / CSV file, one AccessionNumber or StudyInstanceUID per line, as denoise --studies-from reads it')
    .option('--allow-incomplete', 'with PACS inputs: denoise a series the PACS gave short of its instances, as denoise --allow-incomplete')
    .option('--skip-by-uid', "with PACS inputs, on a resubmitted batch: a job's worker does not pull a study whose series are all finished in <dir> with exactly the SOP Instance UIDs the PACS lists, as denoise --skip-by-uid (the job completes with the study reported skipped; the instances' content is not compared: an instance corrected on the PACS under the same UID keeps its old output) (default: every study is pulled and each slice's content compared with the completion marker)")
    .action(async (given: string[], opts: BatchCliOptions) => {
      // An address's query string (patient keys) is read by nothing and kept nowhere: messages, reports and records show the address without it.
      const paths = given.map(withoutDicomwebQuery);
      const out = createOutput(Boolean(opts.json));
      if (opts.output === undefined) throw usageError('batch needs -o, --output <dir>');
      if (opts.redis === undefined) throw usageError('batch needs --redis <url>');
      const settings = denoiserSettings(opts);
      const pacs = await checkBatchInputs(command, paths, opts);
      const target = parseRedisUrl(opts.redis);
      // SIGINT / SIGTERM before the batch is queued: the wait for Redis's answer ends, the scan stops at
      // its next file, a PACS query in flight is aborted (a C-FIND cancelled with C-CANCEL), and nothing is queued.
      const submitting = stopOnSignal('the batch submission', (message) => out.info(message), 'the scan or PACS query in flight stops, nothing is queued');
      const notSubmitted = (why: string) => `the batch was not submitted: ${why}; nothing was queued`;
      const queue = await startUnlessStopped(submitting, out, setExitCode, (signal) => openQueue(target, signal), notSubmitted).catch((error: unknown) => {
        submitting.dispose();
        throw error;
      });
      if (queue === null) {
        submitting.dispose();
        return;
      }
      try {
        const submitOptions = {
          signal: submitting.signal,
          outDir: opts.output,
          settings: {
            ...settings,
            ...(opts.dose !== undefined ? { doseLevel: opts.dose } : {}),
            overwrite: Boolean(opts.overwrite),
          },
          attempts: opts.attempts,
          backoffMs: opts.backoff,
          includeDerived: Boolean(opts.includeDerived),
          log: (message: string) => out.info(message),
        };
        let submitted: Submitted & { queries?: PacsQueryReport[] };
        try {
          // A PACS batch: the submitter's client options answer the queries; each worker pulls with its own.
          submitted = pacs
            ? await submitPacsBatch(queue, paths, {
                ...submitOptions,
                keys: pacs.keys,
                ...(pacs.identifiers ? { identifiers: pacs.identifiers } : {}),
                dicomweb: dicomwebClientOptions(opts, (message) => out.info(message)),
                dimse: dimseClientOptions(opts),
                ...(opts.stow !== undefined ? { stow: parseDicomwebBase(opts.stow) } : {}),
                ...(opts.store !== undefined ? { store: opts.store } : {}),
                allowIncomplete: Boolean(opts.allowIncomplete),
                skipByUid: Boolean(opts.skipByUid),
              })
            : await submitBatch(queue, paths, submitOptions);
        } catch (error) {
          if (!submitting.received) throw error;
          reportStopped(out, submitting, notSubmitted(toLowdoseError(error).message), null, setExitCode);
          return;
        } finally {
          submitting.dispose();
        }
        const { batch, errors, errorCount, errorsByCode, errorsFile, skipped, queries } = submitted;
        // The series not queued, as denoise's JSON lists them (absent when none); a PACS batch's queries and --skip-by-uid.
        const skippedField = { ...(errorsFile ? { errorsFile } : {}), ...(skipped ? { skipped } : {}), ...(queries ? { queries } : {}), ...(pacs && opts.skipByUid ? { skipByUid: true } : {}) };
        // Listening before the batch id is shown: an interrupt from then on is this wait's to handle.
        const stop = opts.wait ? stopOnSignal(`waiting for batch ${batch.id}`, (message) => out.info(message), 'the batch goes on, it is read once more and reported') : null;
        const interrupt = stop ? { get signal() { return stop.received; }, sleep: stop.sleep } : null;
        out.info(`batch ${batch.id}: ${batch.jobs.length} ${queries ? 'PACS studies / series' : 'series'} queued`);
        if (!interrupt) {
          // stdout is the batch id alone (scripts read it); files left out of the batch go to stderr.
          for (const line of errorLines(errors, { errorCount, errorsByCode, ...(errorsFile ? { errorsFile } : {}) })) out.info(line);
          out.result({ id: batch.id, outDir: batch.outDir, jobs: batch.jobs, errors, errorCount, errorsByCode, ...skippedField });
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
          stop!.dispose();
        }
        if (!snapshot.status.finished) {
          // SIGINT / SIGTERM stops the waiting, not the batch: its jobs are in Redis and the workers go on.
          const s = snapshot.status.series;
          out.info(
            `stopped waiting (${interrupt.signal}): batch ${batch.id} goes on (${s.done}/${s.total} series done, ${s.failed} failed, ${s.running} running, ${s.waiting} waiting); ` +
              `lowdose batch status ${batch.id} follows it, lowdose batch cancel ${batch.id} stops it`,
          );
          out.result({ id: batch.id, outDir: batch.outDir, jobs: batch.jobs, errors, errorCount, errorsByCode, ...skippedField, status: snapshot.status, interrupted: interrupt.signal });
          out.print(humanStatus(snapshot.status));
          setExitCode(SIGNAL_EXIT[stop!.received!]);
          return;
        }
        // A PACS batch's unreadable instances are its workers' to meet: their lists, joined once more (./job-error-lists.ts).
        const joined = pacs ? await joinBatchErrorLists(batch.outDir, batch.id) : null;
        const status = joined ? { ...snapshot.status, errorsFile: joined } : snapshot.status;
        const report = batchReport(snapshot.results, status, errors, skipped, snapshot.failedJobSeries, snapshot.studies);
        await writeReport(batch.outDir, report);
        out.result({ id: batch.id, outDir: batch.outDir, jobs: batch.jobs, errors, errorCount, errorsByCode, ...skippedField, status: snapshot.status, report });
        out.print([humanStatus(snapshot.status), ...warningLines(report)].join('\n'));
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
      await withQueue(opts.redis, { out, setExitCode, what: 'batch status', nothing: 'nothing was read' }, async (queue) => {
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
      await withQueue(opts.redis, { out, setExitCode, what: 'batch cancel', nothing: 'nothing was cancelled' }, async (queue) => {
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

/**
 * PACS addresses and files are not mixed; the PACS-only options need a PACS input, as for denoise.
 * Returns the study keys of a PACS batch, null for a batch of files.
 */
async function checkBatchInputs(command: Command, paths: readonly string[], opts: BatchCliOptions): Promise<{ keys: StudyKeys; identifiers?: StudyIdentifiers } | null> {
  const keys: StudyKeys = withoutUndefined({ patientId: opts.patientId, from: opts.from, to: opts.to });
  const identifiers = opts.accession !== undefined || opts.studiesFrom !== undefined ? await namedStudies(opts) : undefined;
  const urls = paths.filter(isDicomwebUrl);
  const dimseUrls = paths.filter(isDimseUrl);
  const pacs = urls.length + dimseUrls.length;
  if (pacs > 0 && pacs < paths.length) throw usageError('PACS addresses (DICOMweb URLs, dimse://) and files or folders are not mixed in one batch');
  checkStudyQueries(paths, keys, identifiers);
  checkPacsOptionScope(command, paths);
  if (opts.store !== undefined && dimseUrls.length === 0) throw usageError('--store needs a dimse:// input');
  checkStoreTargets(opts, paths, 'batch');
  if (opts.store !== undefined) parseDimsePeer(opts.store);
  if (pacs === 0) {
    if (opts.allowIncomplete) throw usageError('--allow-incomplete needs a DICOMweb URL or dimse:// input: a folder is denoised as it is');
    if (opts.skipByUid) throw usageError('--skip-by-uid needs a DICOMweb URL or dimse:// input: a folder is read and compared as it is');
    return null;
  }
  // The one-study route chooses a study's series as denoise <url> does (a series the address names is denoised even if lowdose derived it).
  if (opts.includeDerived) throw usageError('--include-derived is for files and folders: a PACS study\'s series are chosen as lowdose denoise <url> chooses them');
  return { keys, ...(identifiers ? { identifiers } : {}) };
}

/**
 * Runs `use` on the queue of `url`. SIGINT / SIGTERM while Redis has not answered stops the wait
 * (E_CANCELLED "<what> was stopped: ...; <nothing>", exit 130 / 143); once it has, the signal
 * ends the process as it would without this.
 */
async function withQueue(
  url: string,
  stopped: { readonly out: Output; readonly setExitCode: (code: number) => void; readonly what: string; readonly nothing: string },
  use: (queue: Queue<SeriesJobData, SeriesJobResult>) => Promise<void>,
): Promise<void> {
  const stop = stopOnSignal(stopped.what, (message) => stopped.out.info(message), `the wait for Redis ends, ${stopped.nothing}`);
  let queue: Queue<SeriesJobData, SeriesJobResult> | null;
  try {
    queue = await startUnlessStopped(stop, stopped.out, stopped.setExitCode, (signal) => openQueue(parseRedisUrl(url), signal), (why) => `${stopped.what} was stopped: ${why}; ${stopped.nothing}`);
  } finally {
    stop.dispose();
  }
  if (queue === null) return;
  try {
    await use(queue);
  } finally {
    await queue.close();
  }
}

/** The files the scan could not read, as `denoise` prints them: each one makes the batch exit 1. */
function errorLines(errors: DenoiseReport['errors'], counts: Partial<ErrorCounts> & { readonly errorsFile?: string } = {}): string[] {
  const leftOut = errorsLeftOutLine(errors.length, counts);
  return [...errors.map((e) => `error ${e.code}: ${e.message}`), ...(leftOut ? [leftOut] : [])];
}

/** Each finished series' warnings (a gap in the series, a filter too narrow for its pixels), as `denoise` prints them. */
function warningLines(report: DenoiseReport): string[] {
  return report.series.flatMap((s) => s.warnings.map((w) => `  warning [${w.code}] ${w.message}`));
}

function humanStatus(status: BatchStatus): string {
  const s = status.series;
  const lines = [
    `batch ${status.id}${status.cancelled ? ' (cancelled)' : ''}: ${s.done}/${s.total} series done, ${s.failed} failed, ${s.running} running, ${s.waiting} waiting` +
      `${s.cancelled ? `, ${s.cancelled} cancelled` : ''}; ${status.slices.done}/${status.slices.total} slices` +
      `${status.slices.jobsNotListed ? ` (not counting ${status.slices.jobsNotListed} PACS stud${status.slices.jobsNotListed === 1 ? 'y' : 'ies'} no worker has listed yet)` : ''} -> ${status.outDir}`,
  ];
  for (const job of status.jobs) {
    // A PACS job's study, once its worker listed the series: its series and slices finished.
    const study = job.seriesCount !== undefined ? `${job.seriesDone ?? 0}/${job.seriesCount} series (${job.modality}), ${job.slicesDone}/${job.slices} slices finished` : null;
    const what = `  ${job.id} ${job.source ?? `${job.modality} ${job.seriesInstanceUid}`}`;
    // A failed PACS job's study counted whole: its error is the first of them.
    const counted = job.errorCount !== undefined && job.errorCount > 1 && job.errorsByCode ? `; ${job.errorCount} errors in the study (${countsByCodeText(job.errorsByCode)})` : '';
    if (job.error) lines.push(`${what}: failed after ${job.attempts} attempt(s): ${job.error.message} [${job.error.code}]${counted}${study ? `; ${study}` : ''}`);
    else if (study && job.state !== 'completed') lines.push(`${what}: ${job.state}, ${study}`);
  }
  const notPulled = status.jobs.filter((j) => j.skipped).length;
  if (notPulled > 0) lines.push(`  ${notPulled} PACS stud${notPulled === 1 ? 'y' : 'ies'} not pulled (--skip-by-uid): every series finished in -o with the PACS's SOP Instance UIDs`);
  // A PACS batch's unreadable instances, joined from its workers' lists.
  if (status.errorsFile !== undefined && status.jobs.some((j) => j.source !== undefined)) lines.push(`  every unreadable instance the workers met: ${status.errorsFile}`);
  // The submission's errors (files that are not readable DICOM, a query naming a study that listed none).
  lines.push(...errorLines(status.errors ?? [], status));
  return lines.join('\n');
}
