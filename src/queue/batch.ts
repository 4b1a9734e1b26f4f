/**
 * The client side of a batch: submit one job per series, read the batch's state, cancel it.
 * The batch record and its cancel flag live in Redis beside the queue (src/queue/jobs.ts).
 */
import { NothingToDenoiseError, nothingToDenoiseScan, seriesToDenoiseIn, type SkippedSeries } from '../pipeline/not-denoised.js';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Queue, type RedisClient } from 'bullmq';
import { scanPaths, scanProblems } from '../dicom/index.js';
import { LowdoseError } from '../errors.js';
import { abortReason } from '../util/abort-reason.js';
import { CodeSample, LISTED_PER_CODE, type ErrorCounts } from '../util/code-sample.js';
import { ERRORS_FILE, ErrorListFile } from '../util/error-list-file.js';
import { resolvePacsStudies, type PacsQueryReport, type PacsStudiesOptions, type PacsStudyReport } from '../pipeline/pacs-studies.js';
import type { DenoiseReport, SeriesReport } from '../pipeline/types.js';
import { isDimseUrl, parseDimsePeer, parseDimseUrl } from '../dimse/url.js';
import { parseDicomwebUrl } from '../dicomweb/url.js';
import { closeUnready, connectionOptions, whenReachable, type RedisTarget } from './connection.js';
import {
  QUEUE_NAME,
  QUEUE_PREFIX,
  batchKey,
  cancelKey,
  cancelledListsKey,
  decodeFailure,
  jobId,
  resultSeries,
  type BatchJobEntry,
  type BatchRecord,
  type BatchStatus,
  type JobSettings,
  type JobState,
  type JobProgress,
  type JobStatus,
  type PacsJobSource,
  type PacsSeriesProgress,
  type SeriesJobData,
  type SeriesJobResult,
} from './jobs.js';


export interface SubmitOptions {
  readonly outDir: string;
  readonly settings: JobSettings;
  /** Runs per job before it fails for good (default 3). */
  readonly attempts?: number;
  /** First retry's delay, ms; doubled on each later one (default 2000). */
  readonly backoffMs?: number;
  /** Queue series lowdose derived too (skipped by default, as `denoise` skips them). */
  readonly includeDerived?: boolean;
  readonly log?: (message: string) => void;
  /**
   * Stops the submission (SIGINT / SIGTERM) before anything is queued or written to the output
   * folder: the scan stops at its next file, a PACS query in flight is aborted (E_CANCELLED).
   */
  readonly signal?: AbortSignal;
}

/** E_CANCELLED once the submission's signal is aborted: nothing is queued. */
function throwIfStopped(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new LowdoseError('E_CANCELLED', `the submission was stopped before anything was queued (${abortReason(signal)})`);
}

export interface Submitted extends ErrorCounts {
  readonly batch: BatchRecord;
  /**
   * Files that are not readable DICOM, as `denoise` reports them: at most LISTED_PER_CODE of each
   * code (src/util/code-sample.ts); `errorCount` and `errorsByCode` count them all.
   */
  readonly errors: DenoiseReport['errors'];
  /** Every one of them, in the output folder (unreadable.tsv, src/util/error-list-file.ts); absent when none. */
  readonly errorsFile?: string;
  /** Series not queued (another modality, or derived by lowdose), as `denoise` reports them; absent when none. */
  readonly skipped?: SkippedSeries[];
}

/**
 * Opens the queue and checks that Redis answers (E_QUEUE_UNAVAILABLE otherwise). `signal`
 * (SIGINT / SIGTERM) stops the wait for Redis's answer (E_CANCELLED) and drops the connection
 * without asking Redis to close it: a Redis that never answers would not answer that either.
 */
export async function openQueue(target: RedisTarget, signal?: AbortSignal): Promise<Queue<SeriesJobData, SeriesJobResult>> {
  const queue = new Queue<SeriesJobData, SeriesJobResult>(QUEUE_NAME, { connection: connectionOptions(target), prefix: QUEUE_PREFIX });
  // Without a listener an unreachable Redis is reported as an unhandled 'error' event.
  queue.on('error', () => {});
  try {
    await whenReachable(queue.waitUntilReady(), target, queue, signal ? { signal } : {});
  } catch (error) {
    await closeUnready(queue, signal?.aborted === true);
    throw error;
  }
  return queue;
}

export function newBatchId(): string {
  const stamp = new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

/** Scans the paths and queues one job per CT / PET series. */
export async function submitBatch(queue: Queue<SeriesJobData, SeriesJobResult>, paths: readonly string[], options: SubmitOptions): Promise<Submitted> {
  // Only a sample of the unreadable files is kept (all are counted): a folder of tens of thousands
  // of files that are not DICOM must not make a record of megabytes in Redis. This client writes
  // them all to the batch's output folder as its scan meets them (unreadable.tsv).
  const unreadable = ErrorListFile.open();
  try {
    return await submitScanned(queue, paths, options, unreadable);
  } finally {
    await unreadable.discard();
  }
}

async function submitScanned(queue: Queue<SeriesJobData, SeriesJobResult>, paths: readonly string[], options: SubmitOptions, unreadable: ErrorListFile): Promise<Submitted> {
  const log = options.log ?? (() => {});
  const outDir = path.resolve(options.outDir);
  const scan = await scanPaths(paths, { listedPerCode: LISTED_PER_CODE, onError: (e) => unreadable.add(e.toJSON()), ...(options.signal ? { signal: options.signal } : {}) });
  throwIfStopped(options.signal);
  const { wanted: series, skipped } = seriesToDenoiseIn(scan.series, { includeDerived: Boolean(options.includeDerived), log });
  if (series.length === 0) throw new NothingToDenoiseError(`no CT or PET series found in ${paths.join(', ')}${scanProblems(scan)}`, nothingToDenoiseScan(scan, skipped));
  const files = series.flatMap((s) => s.slices.map((slice) => path.resolve(slice.file)));
  if (files.some((file) => file.startsWith(outDir + path.sep))) {
    throw new LowdoseError('E_USAGE', `output directory ${outDir} contains input files; choose another -o`);
  }
  const jobs = series.map((s) => ({
    entry: { seriesInstanceUid: s.seriesInstanceUid, modality: s.modality, slices: s.slices.length },
    data: {
      files: [...new Set(s.slices.map((slice) => path.resolve(slice.file)))],
      seriesInstanceUid: s.seriesInstanceUid,
      modality: s.modality,
      slices: s.slices.length,
    },
  }));
  const errors = scan.errors.map((e) => e.toJSON());
  const errorsFile = await unreadable.publish(outDir);
  const counts: ErrorCounts & { errorsFile?: string } = { errorCount: scan.errorCount, errorsByCode: scan.errorsByCode, ...(errorsFile ? { errorsFile } : {}) };
  const batch = await enqueue(queue, jobs, outDir, options, { errors, counts });
  return { batch, errors, ...counts, ...(skipped.length > 0 ? { skipped } : {}) };
}

/** What a PACS batch stores and how (the PACS client options are the submitter's, for the queries only). */
export interface PacsSubmitOptions extends SubmitOptions {
  readonly keys: PacsStudiesOptions['keys'];
  readonly identifiers?: PacsStudiesOptions['identifiers'];
  readonly dicomweb?: PacsStudiesOptions['dicomweb'];
  readonly dimse?: PacsStudiesOptions['dimse'];
  readonly stow?: string;
  /** dimse://AET@host:port. */
  readonly store?: string;
  readonly allowIncomplete?: boolean;
  /** Each job's worker does not pull a study finished in -o with the PACS's SOP Instance UIDs (as denoise --skip-by-uid). */
  readonly skipByUid?: boolean;
}

/**
 * Queues one job per PACS study (or series) the addresses name or their queries list: the queries
 * are answered here, by the code and with the cap errors of `denoise` (resolvePacsStudies), and a
 * failing one queues nothing; a query naming a study that lists none is in `errors`. Each worker pulls its job's study with its own PACS credentials.
 */
export async function submitPacsBatch(
  queue: Queue<SeriesJobData, SeriesJobResult>,
  addresses: readonly string[],
  options: PacsSubmitOptions,
): Promise<Submitted & { queries: PacsQueryReport[] }> {
  const outDir = path.resolve(options.outDir);
  const { queries, studies, errors } = await resolvePacsStudies(addresses, {
    outDir,
    keys: options.keys,
    ...(options.identifiers ? { identifiers: options.identifiers } : {}),
    ...(options.dicomweb ? { dicomweb: options.dicomweb } : {}),
    ...(options.dimse ? { dimse: options.dimse } : {}),
    ...(options.stow !== undefined ? { stow: options.stow } : {}),
    ...(options.store !== undefined ? { store: parseDimsePeer(options.store) } : {}),
    ...(options.log ? { log: options.log } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const jobs = studies.map((study) => {
    const target = isDimseUrl(study.source) ? parseDimseUrl(study.source) : parseDicomwebUrl(study.source);
    const stores = isDimseUrl(study.source) ? (options.store !== undefined ? { store: options.store } : {}) : options.stow !== undefined ? { stow: options.stow } : {};
    const pacs: PacsJobSource = {
      source: study.source,
      studyInstanceUid: target.studyInstanceUid ?? '',
      ...(study.query !== undefined ? { query: study.query } : {}),
      ...stores,
      ...(options.allowIncomplete ? { allowIncomplete: true } : {}),
      ...(options.skipByUid ? { skipByUid: true } : {}),
    };
    // Its series and slices are known once a worker lists the study; the query's answer for the whole study meanwhile.
    const entry = {
      seriesInstanceUid: target.seriesInstanceUid ?? '',
      modality: '',
      slices: 0,
      source: study.source,
      studyInstanceUid: pacs.studyInstanceUid,
      countsKnown: false,
      ...(study.queried ? { pacsStudy: study.queried } : {}),
    };
    return { entry, data: { files: [], seriesInstanceUid: entry.seriesInstanceUid, modality: '', slices: 0, pacs } };
  });
  const counts = CodeSample.of(errors).counted();
  const batch = await enqueue(queue, jobs, outDir, options, { queries, errors, counts });
  // A query naming a study (an accession number, a StudyInstanceUID) that listed none: an error of the batch, as of a denoise run.
  return { batch, errors, ...counts, queries };
}

/** Writes the batch record, then adds its jobs (a worker may take a job the moment it is added). */
async function enqueue(
  queue: Queue<SeriesJobData, SeriesJobResult>,
  jobs: ReadonlyArray<{ entry: Omit<BatchJobEntry, 'id'>; data: Omit<SeriesJobData, 'batchId' | 'index' | 'outDir' | 'settings' | 'submittedAt'> }>,
  outDir: string,
  options: SubmitOptions,
  submission: { readonly queries?: PacsQueryReport[]; readonly errors: DenoiseReport['errors']; readonly counts: ErrorCounts & { readonly errorsFile?: string } },
): Promise<BatchRecord> {
  const { queries, errors, counts } = submission;
  const id = newBatchId();
  const createdAt = new Date().toISOString();
  const attempts = options.attempts ?? 3;
  const queued = jobs.map((job, index) => ({
    entry: { id: jobId(id, index), ...job.entry },
    data: { batchId: id, index, ...job.data, outDir, settings: options.settings, submittedAt: createdAt } satisfies SeriesJobData,
  }));
  const batch: BatchRecord = { id, createdAt, outDir, attempts, jobs: queued.map((job) => job.entry), ...(queries ? { queries } : {}), ...(counts.errorCount > 0 ? { errors, ...counts } : {}) };
  const client = await queue.client;
  throwIfStopped(options.signal);
  await client.set(batchKey(id), JSON.stringify(batch));
  await queue.addBulk(
    queued.map((job) => ({
      name: 'series',
      data: job.data,
      opts: {
        jobId: job.entry.id,
        attempts,
        backoff: { type: 'exponential', delay: options.backoffMs ?? 2000 },
        removeOnComplete: false,
        removeOnFail: false,
      },
    })),
  );
  return batch;
}

export async function readBatch(queue: Queue<SeriesJobData, SeriesJobResult>, id: string): Promise<BatchRecord> {
  const client = await queue.client;
  const text = await client.get(batchKey(id));
  if (text === null) throw new LowdoseError('E_NOT_FOUND', `no batch ${id} on this Redis`);
  return JSON.parse(text) as BatchRecord;
}

export interface BatchSnapshot {
  readonly status: BatchStatus;
  /** The return values of the completed jobs, in batch order. */
  readonly results: SeriesJobResult[];
  /** The series the failed PACS jobs finished (the other series of a study with an error), in batch order. */
  readonly failedJobSeries: SeriesReport[];
  /**
   * A PACS batch's studies whose job has ended, in batch order: a completed job's entry, and a
   * failed job's (`outcome: 'failed'`, the series of it that finished, its error).
   */
  readonly studies: PacsStudyReport[];
}

export async function batchStatus(queue: Queue<SeriesJobData, SeriesJobResult>, id: string): Promise<BatchSnapshot> {
  const batch = await readBatch(queue, id);
  const client = await queue.client;
  const cancelled = (await client.get(cancelKey(id))) !== null;
  const cancelledLists = cancelled ? await readCancelledLists(client, id) : new Map<string, UnreadableList>();
  const results: SeriesJobResult[] = [];
  const failedJobSeries: SeriesReport[] = [];
  const studies: PacsStudyReport[] = [];
  const jobs: JobStatus[] = [];
  let joinedList = false;
  for (const entry of batch.jobs) {
    // The state first, then the job: BullMQ writes a job's outcome (failedReason, returnvalue) in
    // the same step that moves it to its final state, so a job read after a final state carries
    // its outcome. Read the other way round, a job that ended between the two reads was reported
    // failed with no reason (E_INTERNAL, empty message) or completed with no result.
    const raw = await queue.getJobState(entry.id);
    const job = await queue.getJob(entry.id);
    // A job removed by `batch cancel` before it ran is gone from the queue.
    const state: JobState = !job
      ? 'cancelled'
      : raw === 'completed' || raw === 'failed' || raw === 'active' || raw === 'delayed'
        ? raw
        : raw === 'unknown'
          ? 'cancelled'
          : 'waiting';
    const reported = job?.progress as Partial<JobProgress> | number | undefined;
    const progress = typeof reported === 'object' && reported !== null ? reported : {};
    const result = state === 'completed' ? (job!.returnvalue) : null;
    if (result) results.push(result);
    // A study its worker did not pull (--skip-by-uid): its series are the finished ones it reported.
    const notPulled = result !== null && 'study' in result && result.study.skipped === true ? result : null;
    const series = progress.series ?? (notPulled ? finishedSeries(notPulled.series) : undefined);
    // A PACS job's study, once its worker listed the series: their modalities and slices, and how many are finished.
    const listed = entry.source !== undefined && series ? pacsCounts(series, state, progress.slicesDone ?? 0) : null;
    if (listed && state === 'failed') failedJobSeries.push(...(progress.finished ?? []));
    // Finished slices only: a completed series' all, a running one's written so far. A failed or
    // cancelled series has no completion marker (its slices are not output), and a series waiting
    // for a retry starts again from its first slice: the progress their last attempt reached is
    // not counted. A PACS job's study: the slices of its finished series (a retry skips them).
    const slicesDone = listed
      ? listed.slicesDone
      : state === 'completed'
        ? entry.slices
        : state === 'active'
          ? (progress.slicesDone ?? 0)
          : 0;
    const outputs = result ? resultSeries(result).map((r) => r.output.dir) : [];
    const failure = state === 'failed' && job ? decodeFailure(job.failedReason ?? '') : null;
    // A failed PACS job's study counted whole, as its worker counted it (each unreadable instance
    // one), where those counts hold the job's error (a job stopped after its study ran fails E_CANCELLED: its own one).
    const counted =
      failure && entry.source !== undefined && progress.errorCount !== undefined && progress.errorsByCode && (progress.errorsByCode[failure.code] ?? 0) > 0
        ? { errorCount: progress.errorCount, errorsByCode: progress.errorsByCode }
        : null;
    // A job whose last attempt ended with a list of unreadable instances: joined into the batch's unreadable.tsv.
    // A running retry's progress carries the list the attempt before it left until the retry replaces it;
    // a job `batch cancel` removed while it waited for its retry left its list, which cancelBatch kept.
    const list =
      entry.source === undefined || state === 'completed'
        ? null
        : state === 'cancelled'
          ? (cancelledLists.get(entry.id) ?? null)
          : jobUnreadableList(progress, job?.attemptsMade);
    if (list) joinedList = true;
    if (result && 'study' in result) studies.push(result.study);
    if (failure && entry.source !== undefined) studies.push(failedStudy(entry, (job?.data as Partial<SeriesJobData> | undefined)?.pacs?.query, listed && progress.finished ? progress.finished : [], failure, counted));
    // A study whose job `batch cancel` removed before a worker took it: in studies[] as not run.
    if (state === 'cancelled' && entry.source !== undefined) {
      const query = batch.queries?.find((q) => entry.studyInstanceUid !== undefined && q.studies.includes(entry.studyInstanceUid))?.source;
      studies.push(failedStudy(entry, query, [], { code: 'E_CANCELLED', message: `study ${entry.source} was not run: batch ${id} was cancelled before a worker took its job`, path: entry.source }));
    }
    jobs.push({
      ...entry,
      ...(listed ? { modality: listed.modality, slices: listed.slices } : {}),
      state,
      attempts: job?.attemptsMade ?? 0,
      slicesDone,
      error: failure,
      output: outputs[0] ?? null,
      ...(entry.source !== undefined ? { outputs } : {}),
      ...(listed ? { seriesCount: listed.seriesCount, seriesDone: listed.seriesDone } : {}),
      ...(entry.source !== undefined ? { countsKnown: listed !== null } : {}),
      ...(notPulled ? { skipped: true as const } : {}),
      ...(counted ?? {}),
      ...(list ? { unreadableList: list } : {}),
    });
  }
  const count = (state: JobState) => jobs.filter((j) => j.state === state).length;
  const running = count('active');
  const waiting = count('waiting') + count('delayed');
  const status: BatchStatus = {
    id,
    createdAt: batch.createdAt,
    outDir: batch.outDir,
    cancelled,
    finished: running === 0 && waiting === 0,
    series: { total: jobs.length, done: count('completed'), failed: count('failed'), running, waiting, cancelled: count('cancelled') },
    slices: { total: jobs.reduce((n, j) => n + j.slices, 0), done: jobs.reduce((n, j) => n + j.slicesDone, 0), ...notListed(jobs) },
    jobs,
    ...(batch.queries ? { queries: batch.queries } : {}),
    // A record written before the counts were kept lists every error: they count themselves.
    ...(batch.errors ? { errors: batch.errors, ...CodeSample.of(batch.errors, batch).counted() } : {}),
    ...(batch.errorsFile !== undefined ? { errorsFile: batch.errorsFile } : joinedList ? { errorsFile: path.join(batch.outDir, ERRORS_FILE) } : {}),
  };
  return { status, results, failedJobSeries, studies };
}

type UnreadableList = NonNullable<JobStatus['unreadableList']>;

/** The list of unreadable instances a PACS job's progress names (its last failed attempt's, carried by a retry), or null. */
function jobUnreadableList(progress: Partial<JobProgress>, attemptsMade: number | undefined): UnreadableList | null {
  return (progress.unreadable ?? 0) > 0 ? { entries: progress.unreadable!, attempt: progress.unreadableAttempt ?? Math.max(1, attemptsMade ?? 1) } : null;
}

/** The lists cancelBatch kept of the jobs it removed (cancelledListsKey), by job id. */
async function readCancelledLists(client: RedisClient, id: string): Promise<Map<string, UnreadableList>> {
  const fields = await client.hgetall(cancelledListsKey(id));
  return new Map(Object.entries(fields).map(([job, text]) => [job, JSON.parse(text) as UnreadableList]));
}

/** The PACS jobs whose study no worker has listed yet: their slices are not in `total` (absent when none). */
function notListed(jobs: readonly JobStatus[]): { jobsNotListed?: number } {
  const count = jobs.filter((j) => j.countsKnown === false).length;
  return count > 0 ? { jobsNotListed: count } : {};
}

/** The series of a study found finished without pulling it, as a worker lists the series it denoises. */
function finishedSeries(series: readonly SeriesReport[]): PacsSeriesProgress[] {
  return series.map((s) => ({ seriesInstanceUid: s.input.seriesInstanceUid, modality: s.input.modality, slices: s.output.files.length, slicesDone: s.output.files.length }));
}

/** A failed PACS job's study as `denoise` reports a failed study: the series of it that finished, the job's error. */
function failedStudy(entry: BatchJobEntry, query: string | undefined, finished: readonly SeriesReport[], error: PacsStudyReport['errors'][number], counted: ErrorCounts | null = null): PacsStudyReport {
  return {
    source: entry.source!,
    studyInstanceUid: entry.studyInstanceUid ?? '',
    ...(query !== undefined ? { query } : {}),
    outcome: 'failed',
    series: [...new Set(finished.map((s) => s.input.seriesInstanceUid))],
    errors: [error],
    ...(counted ?? {}),
  };
}

/**
 * A PACS job's figures from the series its worker listed: a completed job's are all finished; a
 * running one's slices are those written so far; otherwise (failed, waiting for a retry,
 * cancelled) only the series finished, which are on disk with their completion markers.
 */
function pacsCounts(
  series: readonly PacsSeriesProgress[],
  state: JobState,
  written: number,
): { modality: string; slices: number; slicesDone: number; seriesCount: number; seriesDone: number } {
  const finished = state === 'completed' ? series : series.filter((s) => s.slicesDone === s.slices);
  const slices = series.reduce((n, s) => n + s.slices, 0);
  const finishedSlices = finished.reduce((n, s) => n + s.slices, 0);
  return {
    modality: [...new Set(series.map((s) => s.modality))].join('/'),
    slices,
    slicesDone: state === 'active' ? written : finishedSlices,
    seriesCount: series.length,
    seriesDone: finished.length,
  };
}

/** Queue states of a job that has not ended: `batch cancel` still has something to stop. */
const UNFINISHED_STATES = new Set(['waiting', 'delayed', 'prioritized', 'waiting-children', 'active']);
/** Of those, the states of a job no worker has taken yet: `batch cancel` removes it. */
const QUEUED_STATES = new Set(['waiting', 'delayed', 'prioritized', 'waiting-children']);

/**
 * Cancels a batch: sets its flag (running jobs see it within a second and stop between slice
 * batches, failing with E_CANCELLED) and removes the jobs that have not started. Finished
 * series stay. A batch with no job left queued or running is left as it is (`cancelled: false`):
 * flagging it would make a finished batch read as cancelled.
 */
export async function cancelBatch(queue: Queue<SeriesJobData, SeriesJobResult>, id: string): Promise<{ cancelled: boolean; removed: number }> {
  const batch = await readBatch(queue, id);
  const client = await queue.client;
  const jobs = [];
  for (const entry of batch.jobs) {
    const job = await queue.getJob(entry.id);
    if (job) jobs.push({ job, state: await job.getState() });
  }
  if (!jobs.some(({ state }) => UNFINISHED_STATES.has(state))) return { cancelled: false, removed: 0 };
  await client.set(cancelKey(id), new Date().toISOString());
  let removed = 0;
  for (const { job, state } of jobs) {
    if (QUEUED_STATES.has(state)) {
      // A job waiting for its retry names the list of unreadable instances its failed attempt
      // left in the batch's folder: kept, so `batch status` still names it once the job is gone.
      const list = jobUnreadableList(typeof job.progress === 'object' && job.progress !== null ? job.progress : {}, job.attemptsMade);
      if (list) await client.hset(cancelledListsKey(id), { [job.id!]: JSON.stringify(list) });
      try {
        await job.remove();
        removed++;
      } catch {
        // A worker took it meanwhile: it sees the flag and stops.
      }
    }
  }
  return { cancelled: true, removed };
}

/** What `followBatch` needs of an interrupt: the signal once one came, and a sleep it ends. */
export interface WaitInterrupt {
  readonly signal: string | null;
  sleep(ms: number): Promise<void>;
}

/**
 * Reads a batch every `pollMs` until it has finished or an interrupt came (`batch --wait`), and
 * returns the last read. Only a read that began after the interrupt may end an unfinished wait: a
 * read under way when the signal came can carry what Redis answered before the batch finished (a
 * process stopped with SIGSTOP mid-read gets its stale answer and the signal together when it runs
 * again), and a batch that finished meanwhile would be reported as still going.
 */
export async function followBatch(
  read: () => Promise<BatchSnapshot>,
  interrupt: WaitInterrupt,
  pollMs: number,
  onRead: (snapshot: BatchSnapshot) => void = () => {},
): Promise<BatchSnapshot> {
  let snapshot = await read();
  onRead(snapshot);
  let readAfterSignal = false;
  while (!snapshot.status.finished && !readAfterSignal) {
    await interrupt.sleep(pollMs);
    const signalled = interrupt.signal !== null;
    snapshot = await read();
    readAfterSignal = signalled;
    onRead(snapshot);
  }
  return snapshot;
}

export { QUEUE_NAME, QUEUE_PREFIX };
