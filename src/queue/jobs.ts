/**
 * Denoise jobs on a BullMQ queue: what a job carries, how the batch that groups them is kept in
 * Redis, and how its state is read back.
 *
 * One job per series. A job names the series' files and the shared output folder; any worker that
 * sees the same storage runs it with the `denoise` pipeline (src/pipeline/denoise.ts), which
 * writes atomically and locks the output series folder, so a job run twice leaves one copy.
 */
import type { SkippedSeries } from '../pipeline/not-denoised.js';
import type { DenoiseOptions, DenoiseReport, SeriesReport } from '../pipeline/types.js';
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

export interface SeriesJobData {
  readonly batchId: string;
  /** Position of the series in the batch. */
  readonly index: number;
  /** Absolute paths of the series' files, on storage every worker sees. */
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
}

/** What a finished job returns (BullMQ keeps it as the job's return value). */
export type SeriesJobResult = SeriesReport;

/** The batch record, `lowdose:batch:<id>`. */
export interface BatchRecord {
  readonly id: string;
  readonly createdAt: string;
  readonly outDir: string;
  readonly attempts: number;
  readonly jobs: ReadonlyArray<{ readonly id: string; readonly seriesInstanceUid: string; readonly modality: string; readonly slices: number }>;
}

export type JobState = 'waiting' | 'delayed' | 'active' | 'completed' | 'failed' | 'cancelled';

export interface JobStatus {
  readonly id: string;
  readonly seriesInstanceUid: string;
  readonly modality: string;
  readonly slices: number;
  readonly state: JobState;
  /** Attempts made so far (a retried job counts each run that failed or stalled). */
  readonly attempts: number;
  readonly slicesDone: number;
  /** The last attempt's error, kept when the job failed for good. */
  readonly error: { readonly path: string | null; readonly code: string; readonly message: string } | null;
  /** The output series folder once done. */
  readonly output: string | null;
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
  readonly slices: { readonly total: number; readonly done: number };
  readonly jobs: JobStatus[];
}

/**
 * The batch's `report.json`: the `denoise` report of all its finished series, with the series the
 * scan left out (`skipped`, as `denoise` has it) when there were some.
 */
export function batchReport(
  results: readonly SeriesJobResult[],
  status: BatchStatus,
  scanErrors: DenoiseReport['errors'] = [],
  skipped: readonly SkippedSeries[] = [],
): DenoiseReport {
  const errors = [...scanErrors];
  for (const job of status.jobs) {
    if (job.error) errors.push({ path: job.error.path, code: job.error.code, message: job.error.message });
  }
  return { toolkit: toolkitIdentity(), series: [...results], errors, ...(skipped.length > 0 ? { skipped: [...skipped] } : {}) };
}

export const batchKey = (id: string): string => `${QUEUE_PREFIX}:batch:${id}`;
export const cancelKey = (id: string): string => `${QUEUE_PREFIX}:batch:${id}:cancelled`;
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
