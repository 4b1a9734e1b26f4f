/**
 * Denoise jobs on a BullMQ queue: what a job carries, how the batch that groups them is kept in
 * Redis, and how its state is read back.
 *
 * One job per series. A job names the series' files and the shared output folder; any worker that
 * sees the same storage runs it with the `denoise` pipeline (src/pipeline/denoise.ts), which
 * writes atomically and locks the output series folder, so a job run twice leaves one copy.
 *
 * Or one job per PACS study (or series): the job names its address (`pacs`), and the worker pulls
 * it into its own pull folder and denoises it with the one-study route `denoise <url>` uses
 * (src/pipeline/pacs-studies.ts), with the PACS credentials of its own environment: a job never
 * carries any.
 */
import type { SkippedSeries } from '../pipeline/not-denoised.js';
import type { PacsQueryReport, PacsStudyReport, QueriedStudy } from '../pipeline/pacs-studies.js';
import type { DenoiseOptions, DenoiseReport, SeriesReport } from '../pipeline/types.js';
import { CodeSample, type ErrorCounts } from '../util/code-sample.js';
import { toolkitIdentity } from '../util/toolkit.js';

export const QUEUE_NAME = 'denoise';
/** Redis key prefix of the queue and of the batch records. */
export const QUEUE_PREFIX = 'lowdose';

/**
 * The denoiser settings a batch gives all its jobs. A worker's own --device, --threads and
 * --memory-budget, where given, replace the batch's: they describe the machine, not the job.
 */
export type JobSettings = Pick<
  DenoiseOptions,
  'method' | 'model' | 'device' | 'steps' | 'sampler' | 'seed' | 'samples' | 'guidance' | 'orientations' | 'consistency' | 'consistencyPilot' | 'lowBand' | 'texture' | 'batch' | 'threads' | 'memoryBudget'
> & {
  readonly doseLevel?: number;
  /** Reference series' files (absolute, shared): adds metrics to the series' report. */
  readonly reference?: string[];
  readonly overwrite?: boolean;
};

/**
 * A PACS study (or series) a job pulls and denoises. No credentials: DICOMweb URLs with user
 * information are refused, and each worker authenticates with its own --dicomweb-auth /
 * $LOWDOSE_DICOMWEB_AUTH, --calling-aet.
 */
export interface PacsJobSource {
  /** A DICOMweb study / series URL or a dimse:// study / series address. */
  readonly source: string;
  readonly studyInstanceUid: string;
  /** The query (its `source`) that listed the study; absent for an address given on the command line. */
  readonly query?: string;
  /** DICOMweb base the derived series of a DICOMweb study are stored to (STOW-RS). */
  readonly stow?: string;
  /** dimse://AET@host:port the derived series of a dimse:// study are stored to (C-STORE). */
  readonly store?: string;
  /** Denoise a series the PACS gave short of its instances (as denoise --allow-incomplete). */
  readonly allowIncomplete?: boolean;
  /**
   * Do not pull a study whose series are all finished in the batch's -o with exactly the SOP
   * Instance UIDs the PACS lists (as denoise --skip-by-uid, src/pipeline/finished-by-uid.ts).
   */
  readonly skipByUid?: boolean;
}

export interface SeriesJobData {
  readonly batchId: string;
  /** Position of the series in the batch. */
  readonly index: number;
  /** Absolute paths of the series' files, on storage every worker sees (empty for a PACS job). */
  readonly files: string[];
  readonly seriesInstanceUid: string;
  readonly modality: string;
  readonly slices: number;
  /** Absolute output folder, shared by the batch. */
  readonly outDir: string;
  readonly settings: JobSettings;
  /**
   * When the batch was submitted (its record's createdAt): with the batch's id, the `--overwrite`
   * request all its jobs share (src/pipeline/acquisition-series.ts). Absent in jobs queued by an
   * older client: the job's own start time stands in.
   */
  readonly submittedAt?: string;
  /** A PACS job: the study (or series) to pull instead of `files`. */
  readonly pacs?: PacsJobSource;
}

/** What a finished PACS job returns: its study's entry (as `denoise` reports it) and its series. */
export interface StudyJobResult {
  readonly study: PacsStudyReport;
  readonly series: SeriesReport[];
}

/** A series of a PACS job's study, as its worker listed it, with the slices finished so far. */
export interface PacsSeriesProgress {
  readonly seriesInstanceUid: string;
  readonly modality: string;
  readonly slices: number;
  /** Equal to `slices` once the series is finished (denoised now, or found done). */
  readonly slicesDone: number;
}

/**
 * A running job's progress (BullMQ's job.progress): the slices written so far of its series. A
 * PACS job's, once its worker has pulled the study and listed its series: the study's slices, and
 * `series`; after an attempt that failed, the series of the study that finished in it
 * (`finished`, on disk with their completion markers), with `slicesDone` counting only theirs.
 */
export interface JobProgress {
  readonly slicesDone: number;
  readonly slicesTotal: number;
  readonly series?: PacsSeriesProgress[];
  readonly finished?: SeriesReport[];
  /** After an attempt that failed: every error its study met, each unreadable instance one (its entry's counts). */
  readonly errorCount?: number;
  readonly errorsByCode?: Record<string, number>;
  /**
   * After an attempt that failed: the entries of its job's list of unreadable instances
   * (./job-error-lists.ts); carried through a retry's progress until the retry ends (its list
   * stays in the batch's folder until then).
   */
  readonly unreadable?: number;
  /** With `unreadable`: the attempt (1 for the first) whose list it is. Absent in progress written before it was kept. */
  readonly unreadableAttempt?: number;
}

/** What a finished job returns (BullMQ keeps it as the job's return value). */
export type SeriesJobResult = SeriesReport | StudyJobResult;

/** The series a finished job denoised (or found done): a series job's one, a PACS job's all. */
export function resultSeries(result: SeriesJobResult): SeriesReport[] {
  return 'study' in result ? result.series : [result];
}

/** The batch record, `lowdose:batch:<id>`. */
export interface BatchRecord {
  readonly id: string;
  readonly createdAt: string;
  readonly outDir: string;
  readonly attempts: number;
  readonly jobs: ReadonlyArray<BatchJobEntry>;
  /** The study queries a PACS batch answered at submission; absent for a batch of files. */
  readonly queries?: PacsQueryReport[];
  /**
   * The errors of the submission (files that are not readable DICOM, a query naming a study that
   * listed none), as `batch --json` has them: at most LISTED_PER_CODE of each code
   * (src/util/code-sample.ts); absent when none.
   */
  readonly errors?: DenoiseReport['errors'];
  /** Every error of the submission, listed in `errors` or not; with `errors` (absent in records written before it). */
  readonly errorCount?: number;
  /** `errorCount` by code; with `errors` (absent in records written before it). */
  readonly errorsByCode?: Record<string, number>;
  /**
   * The whole list of the files the submission's scan could not read, written by the submitting
   * client into `outDir` (unreadable.tsv, src/util/error-list-file.ts): Redis keeps the sample only;
   * absent when there was none.
   */
  readonly errorsFile?: string;
}

/**
 * One job of a batch record. A PACS job has `source` and `studyInstanceUid`; its
 * seriesInstanceUid is the series its address names ('' for a whole study), its modality '' and
 * its slices 0 with `countsKnown: false`: they are not counts, the series to denoise and their
 * slices are known only once a worker has listed the study (JobStatus, `countsKnown: true`).
 */
export interface BatchJobEntry {
  readonly id: string;
  readonly seriesInstanceUid: string;
  readonly modality: string;
  readonly slices: number;
  readonly source?: string;
  readonly studyInstanceUid?: string;
  /** A PACS job: whether `modality` and `slices` are the study's (false: placeholders until a worker lists it). */
  readonly countsKnown?: boolean;
  /**
   * A PACS job whose study a query listed: the study as the query answered it (ModalitiesInStudy,
   * NumberOfStudyRelatedSeries / Instances, null where the PACS did not give them), the whole
   * study's, lowdose's own and non-CT / PET series included: not the slices to denoise.
   */
  readonly pacsStudy?: QueriedStudy;
}

export type JobState = 'waiting' | 'delayed' | 'active' | 'completed' | 'failed' | 'cancelled';

export interface JobStatus extends BatchJobEntry {
  readonly state: JobState;
  /** Attempts made so far (a retried job counts each run that failed or stalled). */
  readonly attempts: number;
  readonly slicesDone: number;
  /** The last attempt's error, kept when the job failed for good. */
  readonly error: { readonly path: string | null; readonly code: string; readonly message: string } | null;
  /** The output series folder once done (a PACS job's first one). */
  readonly output: string | null;
  /** A PACS job's output series folders once done. */
  readonly outputs?: string[];
  /**
   * A PACS job, once its worker has listed its study's series: how many it denoises and how many
   * are finished. Its `modality` (the series' modalities, '/'-joined) and `slices` are then known
   * too; before that they are '' and 0 and these are absent.
   */
  readonly seriesCount?: number;
  readonly seriesDone?: number;
  /**
   * A completed PACS job whose worker did not pull its study: `--skip-by-uid` found every series
   * it would denoise finished in -o with exactly the PACS's SOP Instance UIDs (its study entry's
   * `skipped` and `notPulled`). Absent when the study was pulled.
   */
  readonly skipped?: true;
  /**
   * A failed PACS job: every error its study met in its last attempt, each unreadable instance
   * one (as `denoise` counts a study's errors), of which `error` is the first; the unreadable
   * instances are all in the batch's unreadable.tsv (`errorsFile`). Absent for other jobs, for a
   * job that failed before its study was run, and where these counts do not hold `error` (a job
   * stopped after its study ran): its one `error` counts.
   */
  readonly errorCount?: number;
  /** `errorCount` by code; with it. */
  readonly errorsByCode?: Record<string, number>;
  /**
   * A PACS job that has not completed whose list of unreadable instances is joined into the
   * batch's unreadable.tsv (`errorsFile`): its entries and the attempt (1 for the first) that met
   * them, also while a retry runs (the retry replaces the list when it ends) and once `batch
   * cancel` removed the job while it waited for its retry (its list stays). Absent otherwise.
   */
  readonly unreadableList?: { readonly entries: number; readonly attempt: number };
}

export interface BatchStatus {
  readonly id: string;
  readonly createdAt: string;
  readonly outDir: string;
  readonly cancelled: boolean;
  /** Every job has ended (completed, failed for good or cancelled). */
  readonly finished: boolean;
  readonly series: {
    readonly total: number;
    readonly done: number;
    readonly failed: number;
    readonly running: number;
    readonly waiting: number;
    readonly cancelled: number;
  };
  /** `jobsNotListed`: PACS jobs whose study no worker has listed yet, their slices not in `total` (absent when none). */
  readonly slices: { readonly total: number; readonly done: number; readonly jobsNotListed?: number };
  readonly jobs: JobStatus[];
  /** As in the batch record (a PACS batch's study queries). */
  readonly queries?: PacsQueryReport[];
  /** As in the batch record: the submission's errors (at most LISTED_PER_CODE of each code), absent when none. */
  readonly errors?: DenoiseReport['errors'];
  /** With `errors`: every error of the submission, listed or not (a record that lacks it: errors' length). */
  readonly errorCount?: number;
  /** With `errors`: `errorCount` by code. */
  readonly errorsByCode?: Record<string, number>;
  /**
   * As in the batch record: the whole list of the files the submission could not read; absent
   * when none. A PACS batch's: `<outDir>/unreadable.tsv`, the unreadable instances its workers met,
   * joined from the jobs' lists as their attempts end (./job-error-lists.ts), named while a job
   * that has not completed holds a list.
   */
  readonly errorsFile?: string;
}

/** A batch's report.json: `denoise`'s report, with a PACS batch's `studies` (its finished jobs') and `queries`. */
export interface BatchReport extends DenoiseReport {
  readonly studies?: PacsStudyReport[];
  readonly queries?: PacsQueryReport[];
}

/**
 * The batch's `report.json`: the `denoise` report of all its finished series, with the series the
 * scan left out (`skipped`, as `denoise` has it) when there were some; a PACS batch's also has the
 * entries of its studies whose job has ended (`studies`, as `denoise` over several studies has
 * them: BatchSnapshot.studies, a failed job's study with `outcome: 'failed'`, the series of it that
 * finished and its error, also in `errors`) and its `queries`. The series a failed PACS job finished
 * (`failedJobSeries`: the other series of a study with an error) are in `series` too.
 */
export function batchReport(
  results: readonly SeriesJobResult[],
  status: BatchStatus,
  scanErrors: DenoiseReport['errors'] = [],
  skipped: readonly SkippedSeries[] = [],
  failedJobSeries: readonly SeriesReport[] = [],
  studies: readonly PacsStudyReport[] = results.flatMap((r) => ('study' in r ? [r.study] : [])),
): BatchReport {
  // The submission's errors are a sample (its counts are the status'); each failed job's is listed.
  const errors = CodeSample.of(scanErrors, status.errors !== undefined ? status : undefined);
  for (const job of status.jobs) {
    if (!job.error) continue;
    const error = { path: job.error.path, code: job.error.code, message: job.error.message };
    errors.keep(error);
    // A failed PACS job's study counted whole (each unreadable instance its list holds), its first error listed.
    const rest = job.errorCount !== undefined && job.errorsByCode ? otherErrors(error, { errorCount: job.errorCount, errorsByCode: job.errorsByCode }) : null;
    if (rest) errors.absorb([], rest);
  }
  const pacs = status.jobs.some((j) => j.source !== undefined);
  return {
    toolkit: toolkitIdentity(),
    series: [...results.flatMap(resultSeries), ...failedJobSeries],
    errors: errors.items,
    ...errors.counted(),
    ...(status.errorsFile !== undefined ? { errorsFile: status.errorsFile } : {}),
    ...(skipped.length > 0 ? { skipped: [...skipped] } : {}),
    ...(pacs ? { studies: [...studies], queries: status.queries ?? [] } : {}),
  };
}

/** `counts` less `error`, which they count; null when they do not count it (then `error` alone counts). */
function otherErrors(error: { readonly code: string }, counts: ErrorCounts): ErrorCounts | null {
  const ofCode = counts.errorsByCode[error.code] ?? 0;
  if (ofCode < 1 || counts.errorCount < 1) return null;
  const errorsByCode = { ...counts.errorsByCode, [error.code]: ofCode - 1 };
  if (errorsByCode[error.code] === 0) delete errorsByCode[error.code];
  return { errorCount: counts.errorCount - 1, errorsByCode };
}

export const batchKey = (id: string): string => `${QUEUE_PREFIX}:batch:${id}`;
export const cancelKey = (id: string): string => `${QUEUE_PREFIX}:batch:${id}:cancelled`;
/**
 * The lists of unreadable instances of the jobs `batch cancel` removed while they waited for a
 * retry (a hash: job id -> JobStatus.unreadableList as JSON): the list their failed attempt left
 * stays in the batch's folder and in its unreadable.tsv, and the job's progress that named it goes
 * with the job.
 */
export const cancelledListsKey = (id: string): string => `${QUEUE_PREFIX}:batch:${id}:cancelled-lists`;
/** BullMQ job ids may not contain ':'. */
export const jobId = (batchId: string, index: number): string => `${batchId}-${String(index).padStart(5, '0')}`;

/**
 * A job's error travels as BullMQ's failedReason, a string: "message [CODE] (path)" is parsed
 * back into the toolkit's { path, code, message }.
 */
export function encodeFailure(error: { code: string; message: string; path?: string | null }): string {
  return `${error.message} [${error.code}]${error.path ? ` (${error.path})` : ''}`;
}

export function decodeFailure(reason: string): { path: string | null; code: string; message: string } {
  const m = /^([\s\S]*) \[([A-Z_]+)\](?: \((.*)\))?$/.exec(reason);
  return m ? { message: m[1]!, code: m[2]!, path: m[3] ?? null } : { message: reason, code: 'E_INTERNAL', path: null };
}
