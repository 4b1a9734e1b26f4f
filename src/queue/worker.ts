/**
 * A queue worker: takes series jobs from Redis and runs each with the `denoise` pipeline
 * (src/pipeline/denoise.ts) on the storage the batch's paths name; a PACS job (one study or series)
 * with the one-study route of `denoise <url>` (src/pipeline/pacs-studies.ts), with this worker's own
 * PACS client options and credentials.
 *
 * Failure handling is BullMQ's: a job that throws is retried with exponential back-off until its
 * attempts are spent, then fails with its error kept; a worker that dies (kill -9, power) stops
 * renewing its job's lock, and another worker's stalled-job check puts the job back in the queue
 * after `stallTimeoutMs`. Rerunning is safe: the pipeline locks the output series folder (a dead
 * worker's lock is stale and taken over: on this host by its pid, on another when Redis no longer
 * holds its job attempt's lock), removes what an interrupted run left, and skips a series that is
 * already complete. A job found to have been given to another worker stops and frees its folder.
 */
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { isErrorCode, LowdoseError, toLowdoseError } from '../errors.js';
import type { DicomwebClientOptions } from '../dicomweb/client.js';
import { isDimseUrl, parseDimsePeer } from '../dimse/url.js';
import { denoisePaths } from '../pipeline/denoise.js';
import type { DimseOptions } from '../pipeline/dimse.js';
import { runStudy } from '../pipeline/pacs-studies.js';
import type { DenoiseOptions } from '../pipeline/types.js';
import type { DeviceRequest } from '../runtime/index.js';
import { closeUnready, connectionOptions, whenReachable, type RedisTarget } from './connection.js';
import { studyProgress, type StudyProgress } from './study-progress.js';
import { jobErrorListPath, joinBatchErrorLists, writeJobErrorList } from './job-error-lists.js';
import { ErrorListFile } from '../util/error-list-file.js';
import { CodeSample } from '../util/code-sample.js';
import { QUEUE_NAME, QUEUE_PREFIX, cancelKey, encodeFailure, type JobProgress, type PacsJobSource, type SeriesJobData, type SeriesJobResult } from './jobs.js';

export interface WorkerOptions {
  /** Jobs this worker runs at once (default 1; on a GPU, one per GPU process is usual). */
  readonly concurrency?: number;
  readonly device?: DeviceRequest;
  readonly threads?: number;
  readonly memoryBudget?: number;
  /** For PACS jobs from DICOMweb: this worker's client options (credentials: --dicomweb-auth, else $LOWDOSE_DICOMWEB_AUTH). */
  readonly dicomweb?: DicomwebClientOptions;
  /** For PACS jobs from dimse://: this worker's AE title, timeout, DICOM TLS and C-MOVE port (else C-GET). */
  readonly dimse?: DimseOptions;
  /**
   * How long a job's lock lives without renewal, and how often stalled jobs are looked for, ms
   * (default 30000): a dead worker's job is taken over after one to two of these.
   */
  readonly stallTimeoutMs?: number;
  /** How often a running job checks its batch's cancel flag, ms (default 1000). */
  readonly cancelPollMs?: number;
  readonly log?: (message: string) => void;
  /** Every job event, for `worker --json`. */
  readonly onEvent?: (event: WorkerEvent) => void;
  /** Stops the start (SIGINT / SIGTERM) while Redis has not answered yet: E_CANCELLED, the connection dropped. */
  readonly startSignal?: AbortSignal;
}

export interface WorkerEvent {
  readonly event: 'started' | 'completed' | 'failed' | 'retrying';
  readonly job: string;
  readonly batch: string;
  readonly seriesInstanceUid: string;
  readonly attempt: number;
  readonly attempts: number;
  readonly seconds?: number;
  readonly output?: string;
  readonly error?: { readonly path: string | null; readonly code: string; readonly message: string };
}

export interface RunningWorker {
  /** Stops taking jobs and waits for the running ones to end. */
  close(): Promise<void>;
}

export async function startWorker(target: RedisTarget, options: WorkerOptions = {}): Promise<RunningWorker> {
  const log = options.log ?? (() => {});
  const emit = options.onEvent ?? (() => {});
  const stall = options.stallTimeoutMs ?? 30_000;
  // Job id -> its attempts running here (two, briefly, when a job thought stalled came back here).
  const running = new Map<string, Set<RunningJob>>();
  const processor = (job: Job<SeriesJobData, SeriesJobResult>, token?: string) => runJob(job, token, worker, running, options, emit);
  const worker: Worker<SeriesJobData, SeriesJobResult> = new Worker<SeriesJobData, SeriesJobResult>(QUEUE_NAME, processor, {
    connection: connectionOptions(target),
    prefix: QUEUE_PREFIX,
    concurrency: options.concurrency ?? 1,
    lockDuration: stall,
    stalledInterval: stall,
    // One stall puts the job back; a second (it killed two workers) fails it.
    maxStalledCount: 1,
    autorun: false,
  });
  let lastError = '';
  worker.on('error', (error) => {
    // ioredis reports each failed reconnect; say it once until it changes.
    if (error.message !== lastError) log(`queue: ${error.message}`);
    lastError = error.message;
  });
  // A job whose lock could not be renewed and is now held under another token has been given to
  // another worker (it was thought stalled): stop it, so that it stops writing its series folder
  // and releases the folder's lock for the worker that has the job now. A lock that merely
  // expired (Redis was out of reach, or this process starved) is left alone until that happens.
  worker.on('lockRenewalFailed', (ids) => {
    for (const id of ids) {
      const attempts = running.get(id);
      if (!attempts) continue;
      worker.client
        .then((client) => client.get(`${QUEUE_PREFIX}:${QUEUE_NAME}:${id}:lock`))
        .then(
          (holder) => {
            for (const attempt of attempts) {
              if (holder !== null && holder !== attempt.token) attempt.lose('the queue has given the job to another worker');
            }
          },
          () => {},
        );
    }
  });
  worker.on('failed', (job, error) => {
    if (!job) return;
    const attempts = job.opts.attempts ?? 1;
    const final = error instanceof UnrecoverableError || job.attemptsMade >= attempts;
    const failure = toFailure(error);
    log(`job ${job.id} ${final ? 'failed' : `failed (attempt ${job.attemptsMade}/${attempts}, retried)`}: ${failure.message} [${failure.code}]`);
    emit({ ...eventBase(job), event: final ? 'failed' : 'retrying', attempt: job.attemptsMade, error: failure });
  });
  try {
    await whenReachable(worker.waitUntilReady(), target, worker, options.startSignal ? { signal: options.startSignal } : {});
  } catch (error) {
    await closeUnready(worker, true);
    throw error;
  }
  // After an outage, say once that Redis answers again (ioredis emits 'ready' on each reconnect).
  (await worker.client).on('ready', () => {
    if (lastError === '') return;
    log('queue: connected to Redis again');
    lastError = '';
  });
  void worker.run().catch((error: unknown) => log(`queue: ${error instanceof Error ? error.message : String(error)}`));
  return {
    close: async () => {
      await worker.close();
    },
  };
}

/** A job this worker is running: the token of its lock, and how to stop it. */
interface RunningJob {
  readonly token: string | undefined;
  lose(why: string): void;
}

function eventBase(job: Job<SeriesJobData, SeriesJobResult>) {
  return {
    job: job.id ?? '',
    batch: job.data.batchId,
    seriesInstanceUid: job.data.seriesInstanceUid,
    attempt: job.attemptsMade + 1,
    attempts: job.opts.attempts ?? 1,
  };
}

function toFailure(error: Error): { path: string | null; code: string; message: string } {
  const m = /^([\s\S]*) \[([A-Z_]+)\](?: \((.*)\))?$/.exec(error.message);
  return m ? { message: m[1]!, code: m[2]!, path: m[3] ?? null } : { message: error.message, code: 'E_INTERNAL', path: null };
}

async function runJob(
  job: Job<SeriesJobData, SeriesJobResult>,
  token: string | undefined,
  worker: Worker<SeriesJobData, SeriesJobResult>,
  running: Map<string, Set<RunningJob>>,
  options: WorkerOptions,
  emit: (event: WorkerEvent) => void,
): Promise<SeriesJobResult> {
  const log = options.log ?? (() => {});
  const data = job.data;
  const client = await worker.client;
  const cancelled = async () => (await client.get(cancelKey(data.batchId))) !== null;
  if (await cancelled()) throw new UnrecoverableError(encodeFailure({ code: 'E_CANCELLED', message: `batch ${data.batchId} was cancelled` }));
  const stall = options.stallTimeoutMs ?? 30_000;
  const abort = new AbortController();
  // Why the job was taken from this worker, once it was (set from the lock events).
  const lost: { why: string | null } = { why: null };
  const tracked: RunningJob = {
    token,
    lose: (why) => {
      if (lost.why !== null) return;
      lost.why = why;
      log(`job ${job.id}: stopping, ${why}`);
      abort.abort();
    },
  };
  const attempts = running.get(job.id ?? '') ?? new Set<RunningJob>();
  attempts.add(tracked);
  running.set(job.id ?? '', attempts);
  const poll = setInterval(() => {
    cancelled().then(
      (yes) => yes && abort.abort(),
      () => {},
    );
  }, options.cancelPollMs ?? 1000);
  const started = performance.now();
  emit({ ...eventBase(job), event: 'started' });
  const what = data.pacs ? `PACS ${data.pacs.source}` : `${data.modality} series ${data.seriesInstanceUid}, ${data.slices} slices`;
  log(`job ${job.id}: ${what} (attempt ${job.attemptsMade + 1}/${job.opts.attempts ?? 1})`);
  // A PACS job's progress is its study's, once the pipeline has listed the series.
  // A retry carries the list of unreadable instances the attempt before it left (still in the batch's folder).
  const study = data.pacs ? studyProgress((progress) => job.updateProgress(progress), { attempt: job.attemptsMade + 1, previous: job.progress }) : null;
  const pipeline: DenoiseOptions = {
    ...data.settings,
    outDir: data.outDir,
    ...(options.device !== undefined ? { device: options.device } : {}),
    ...(options.threads !== undefined ? { threads: options.threads } : {}),
    ...(options.memoryBudget !== undefined ? { memoryBudget: options.memoryBudget } : {}),
    // The batch writes report.json for all its series; a job only its series' folder.
    writeReport: false,
    // The batch's jobs are one --overwrite request: the frames of an acquisition they redo go into one new series.
    overwriteRequest: { id: data.batchId, requestedAt: data.submittedAt ?? new Date().toISOString() },
    // The submit chose the series (a derived one only with --include-derived).
    includeDerived: true,
    // Held by a live run (a job thought stalled that is still running): fail this attempt and
    // retry after the back-off, when the other run has finished and the series is complete.
    waitLock: false,
    // A folder lock left on another host by a queue job is judged by that job's lock in Redis.
    ...(token !== undefined && job.id !== undefined
      ? {
          queueLock: {
            job: { id: job.id, token },
            holds: async (other) => (await client.get(`${QUEUE_PREFIX}:${QUEUE_NAME}:${other.id}:lock`)) === other.token,
            graceMs: stall,
          },
        }
      : {}),
    signal: abort.signal,
    log,
    ...(study ? { onSeriesList: (series) => study.list(series) } : {}),
    onProgress: (event) => {
      if (study) study.progress(event);
      else job.updateProgress({ slicesDone: event.slicesDone, slicesTotal: event.slicesTotal } satisfies JobProgress).catch(() => {});
    },
  };
  try {
    const result = data.pacs && study ? await runPacsJob(data.batchId, data.pacs, pipeline, options, study, job.id) : await runSeriesJob(data, pipeline);
    const series = 'study' in result ? result.series : [result];
    const seconds = Math.round((performance.now() - started) / 10) / 100;
    const dirs = series.map((s) => `${s.output.dir}${s.skipped ? ' (already complete)' : ''}`);
    log(`job ${job.id}: done in ${seconds} s -> ${dirs.join(', ') || 'no series'}`);
    emit({ ...eventBase(job), event: 'completed', seconds, output: series[0]?.output.dir ?? '' });
    return result;
  } catch (error) {
    const e = toLowdoseError(error);
    if (lost.why !== null) {
      // The queue will not take this attempt's result (the job is not ours now); say why it ended.
      throw new Error(encodeFailure({ code: 'E_CANCELLED', message: `job ${job.id} stopped: ${lost.why}` }));
    }
    if (abort.signal.aborted || e.code === 'E_CANCELLED') {
      throw new UnrecoverableError(encodeFailure({ code: 'E_CANCELLED', message: `batch ${data.batchId} was cancelled` }));
    }
    const failure = encodeFailure({ code: e.code, message: e.message, path: e.path ?? null });
    // An output that exists (another run's, or an acquisition's series made with other settings)
    // is there for every worker and every later attempt: retrying only waits out the back-off.
    if (e.code === 'E_EXISTS') throw new UnrecoverableError(failure);
    throw new Error(failure);
  } finally {
    clearInterval(poll);
    attempts.delete(tracked);
    if (attempts.size === 0 && running.get(job.id ?? '') === attempts) running.delete(job.id ?? '');
  }
}

function asError(error: { code: string; message: string; path: string | null }): LowdoseError {
  return new LowdoseError(isErrorCode(error.code) ? error.code : 'E_INTERNAL', error.message, error.path ? { path: error.path } : {});
}

async function runSeriesJob(data: SeriesJobData, pipeline: DenoiseOptions): Promise<SeriesJobResult> {
  const report = await denoisePaths(data.files, pipeline);
  const series = report.series[0];
  if (!series) throw asError(report.errors[0] ?? { code: 'E_INTERNAL', message: `series ${data.seriesInstanceUid} gave no output`, path: null });
  return series;
}

/**
 * One PACS study (or series), as `denoise` runs each study of several: pulled into this worker's
 * pull folder, denoised into the batch's folder, stored with --stow / --store where the batch gave
 * them. A study with an error fails the job with its first error (retried as any job is; a retry
 * skips the series already finished); the series it finished and the study's error counts are
 * kept in the job's progress. Every unreadable instance the attempt met is its job's list in the
 * batch's folder, and the batch's lists are joined into its unreadable.tsv when the attempt ends
 * (./job-error-lists.ts).
 */
async function runPacsJob(batchId: string, pacs: PacsJobSource, pipeline: DenoiseOptions, options: WorkerOptions, study: StudyProgress, jobId: string | undefined): Promise<SeriesJobResult> {
  if (isDimseUrl(pacs.source) && !options.dimse) throw new LowdoseError('E_USAGE', `${pacs.source}: this worker was started without DIMSE client options`);
  // Every unreadable instance of the study, for the batch's unreadable.tsv (./job-error-lists.ts).
  const unreadable = ErrorListFile.open();
  try {
    return await runPacsStudyJob(pacs, pipeline, options, study, unreadable);
  } finally {
    try {
      if (jobId !== undefined && (await writeJobErrorList(unreadable, pipeline.outDir, jobId))) {
        // The job's list is in the batch's folder whatever happens here: batch --wait joins it too.
        await joinBatchErrorLists(pipeline.outDir, batchId, jobId).catch((error: unknown) => {
          options.log?.(`job ${jobId}: the batch's unreadable.tsv was not joined (${error instanceof Error ? error.message : String(error)}); its list is ${jobErrorListPath(pipeline.outDir, jobId)}`);
        });
      }
    } finally {
      await unreadable.discard();
    }
  }
}

async function runPacsStudyJob(pacs: PacsJobSource, pipeline: DenoiseOptions, options: WorkerOptions, study: StudyProgress, unreadable: ErrorListFile): Promise<SeriesJobResult> {
  const { series, entry } = await runStudy(
    { source: pacs.source, ...(pacs.query !== undefined ? { query: pacs.query } : {}) },
    {
      ...pipeline,
      onUnreadable: (e) => unreadable.add(e),
      keys: {},
      ...(pacs.allowIncomplete ? { allowIncomplete: true } : {}),
      ...(pacs.skipByUid ? { skipByUid: true } : {}),
      ...(options.dicomweb ? { dicomweb: options.dicomweb } : {}),
      ...(options.dimse ? { dimse: options.dimse } : {}),
      ...(pacs.stow !== undefined ? { stow: pacs.stow } : {}),
      ...(pacs.store !== undefined ? { store: parseDimsePeer(pacs.store) } : {}),
    },
  );
  const first = entry.errors[0];
  if (first) {
    // The series that finished and the study's error counts stay in the job's progress for the batch's status and report.json.
    await study.failed(series, { errorCount: entry.errorCount ?? entry.errors.length, errorsByCode: entry.errorsByCode ?? CodeSample.of(entry.errors).byCode() }, unreadable.count);
    throw asError(first);
  }
  return { study: entry, series };
}
