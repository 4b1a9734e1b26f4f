/**
 * Denoise jobs: one running job per device, the rest queued in submission order, progress to
 * subscribers (server-sent events), cancel through an AbortSignal. The pipeline itself is
 * injected (`DenoiseRunner`), so the queue knows nothing of models and tests can drive it.
 */
import { randomBytes } from 'node:crypto';
import { LowdoseError, toLowdoseError } from '../../errors.js';
import type { DenoiseOptions, DenoiseProgress, DenoiseReport } from '../../pipeline/types.js';
import { suvNoteOfRead } from '../../util/remote-series.js';
import { withHttpStatus } from '../http-errors.js';
import type { ApiError, JobError, JobIncomplete, JobOptions, JobProgress, JobResultError, JobStatus, JobView, StoredSeriesView } from '../api-types.js';

export type DenoiseRunner = (paths: string[], options: DenoiseOptions) => Promise<DenoiseReport>;

export interface JobSeries {
  readonly id: string;
  readonly files: string[];
}

export interface JobSpec {
  readonly series: JobSeries[];
  readonly reference: JobSeries | null;
  /** As the client asked (what job views show). */
  readonly options: JobOptions;
  /** What the runner gets instead, where the server resolved something (a model name to its card). */
  readonly runOptions?: Partial<JobOptions>;
  /** Queue key: jobs on the same device run one at a time. */
  readonly device: string;
  readonly outDir: string;
  /** Store the result back to the DICOMweb server once denoised (the `completed` hook does it). */
  readonly store?: boolean;
  /**
   * Files of the input series that could not be read when they came in (instances of a series
   * opened from the PACS that the index left out), then those of the reference series (`role`
   * "reference"): the job's `result.errors` lists them first, as `denoise <url>` lists them in its
   * errors, so the job's result says what it did not denoise or score against.
   */
  readonly inputErrors?: JobResultError[];
  /** The request's `allowIncomplete` (what job views show). */
  readonly allowIncomplete?: boolean;
  /** Input series that came short of their instances and are denoised as they came (`allowIncomplete`): the result records them. */
  readonly incomplete?: JobIncomplete[];
  /** The reference series, when it came short of its instances and is scored against as it came (`allowIncomplete`): the result records it. */
  readonly referenceIncomplete?: JobIncomplete;
  /**
   * Why the job must not run (an input series short of its instances without `allowIncomplete`):
   * it is listed as failed with this error at once, and never queued.
   */
  readonly refusal?: JobError;
  /**
   * What the job is expected to write, bytes (./output-estimate.ts): promised to it until it ends
   * (`promisedOutputs`, ./output-room.ts); `beforeRun` checks the disk has room for it.
   */
  readonly outputBytes?: number;
}

/** The expected output of a job that has not ended, for the disk room (./output-room.ts). */
export interface PromisedOutput {
  readonly id: string;
  readonly bytes: number;
  /** Where it writes (what a running job has written there is no longer to come). */
  readonly outDir: string;
  readonly running: boolean;
}

/** What `completed` made of a finished run. */
export interface CompletedResult {
  readonly comparisons: string[];
  readonly uncertainty?: Array<string | null>;
  readonly hallucination?: Array<string | null>;
  /** Series stored to the DICOMweb server (jobs with `store`). */
  readonly stored?: StoredSeriesView[];
  /** What went wrong after the run (storing back): the job fails with the first, its outputs kept. */
  readonly errors?: ApiError[];
}

export interface JobQueueHooks {
  /** Output dir for a new job. */
  outDirFor(jobId: string): string;
  /** After a successful run: make the outputs visible and say which comparisons they are. */
  completed(
    report: DenoiseReport,
    job: { id: string; outDir: string; store: boolean; stage: (stage: 'store') => void },
  ): Promise<CompletedResult>;
  /**
   * Before a job runs (it may have waited in the queue while the disk filled): a throw fails the
   * job with that error instead of running it.
   */
  beforeRun?(job: { id: string; outputBytes: number }): Promise<void>;
  /** After a cancelled run: its partial output is of no use (the CLI keeps it to resume; a job does not). */
  cancelled?(job: { id: string; outDir: string }): Promise<void>;
  log?(message: string): void;
  /** Applied to error messages before job views show them (server folders become labels). */
  redact?(text: string): string;
}

interface Job {
  readonly id: string;
  readonly spec: JobSpec;
  readonly createdAt: Date;
  status: JobStatus;
  startedAt: Date | null;
  finishedAt: Date | null;
  progress: JobProgress | null;
  error: JobError | null;
  result: JobView['result'];
  readonly controller: AbortController;
  readonly listeners: Set<(view: JobView) => void>;
  /** Resolves when the job reaches a terminal status. */
  readonly ended: Promise<void>;
  readonly markEnded: () => void;
}

const TERMINAL: ReadonlySet<JobStatus> = new Set(['done', 'failed', 'cancelled']);
const INTERNAL_MESSAGE = 'internal error: the job failed in a way the server did not expect (the server log has the details)';

/** Finished jobs kept for GET /api/jobs. */
const KEEP_FINISHED = 200;

export function isTerminal(status: JobStatus): boolean {
  return TERMINAL.has(status);
}

export class JobQueue {
  private readonly jobs = new Map<string, Job>();
  private readonly running = new Map<string, Job>();
  private closed = false;

  /**
   * `maxQueued`: most jobs waiting to run, all devices together (a running job does not count);
   * one more is refused with 429 before it gets an id or a folder.
   */
  constructor(
    private readonly runner: DenoiseRunner,
    private readonly hooks: JobQueueHooks,
    private readonly maxQueued = Infinity,
  ) {}

  submit(spec: Omit<JobSpec, 'outDir'>): JobView {
    if (this.closed) throw new LowdoseError('E_USAGE', 'the server is shutting down; no new jobs');
    if (!spec.refusal) this.checkRoom();
    const id = randomBytes(9).toString('base64url');
    let markEnded = () => {};
    const ended = new Promise<void>((resolve) => (markEnded = resolve));
    const job: Job = {
      id,
      spec: { ...spec, outDir: this.hooks.outDirFor(id) },
      createdAt: new Date(),
      status: 'queued',
      startedAt: null,
      finishedAt: null,
      progress: null,
      error: null,
      result: null,
      controller: new AbortController(),
      listeners: new Set(),
      ended,
      markEnded,
    };
    this.jobs.set(id, job);
    this.prune();
    if (spec.refusal) {
      this.hooks.log?.(`job ${id}: refused: ${spec.refusal.message}`);
      this.finish(job, 'failed', { error: spec.refusal });
    } else this.schedule();
    return this.view(job);
  }

  private checkRoom(): void {
    let queued = 0;
    for (const job of this.jobs.values()) if (job.status === 'queued') queued++;
    if (queued >= this.maxQueued) {
      const error = new LowdoseError('E_USAGE', `${queued} jobs are waiting to run, the most this server queues; try again when one has started, or cancel one (DELETE /api/jobs/:id)`);
      throw withHttpStatus(error, 429);
    }
  }

  get(id: string): JobView {
    return this.view(this.find(id));
  }

  list(): JobView[] {
    return [...this.jobs.values()].map((job) => this.view(job)).reverse();
  }

  /** The expected outputs of the jobs queued or running: the disk must keep room for them until each ends. */
  promisedOutputs(): PromisedOutput[] {
    const promised: PromisedOutput[] = [];
    for (const job of this.jobs.values()) {
      const bytes = job.spec.outputBytes ?? 0;
      if (isTerminal(job.status) || bytes <= 0) continue;
      promised.push({ id: job.id, bytes, outDir: job.spec.outDir, running: job.status === 'running' });
    }
    return promised;
  }

  /** Cancels a queued job at once, a running one at its next batch; finished jobs are left as they are. */
  cancel(id: string): JobView {
    const job = this.find(id);
    if (job.status === 'queued') {
      this.finish(job, 'cancelled', { error: { code: 'E_CANCELLED', message: 'cancelled before it started' } });
      this.notifyQueued();
    } else if (job.status === 'running') {
      job.controller.abort(new LowdoseError('E_CANCELLED', `job ${id} cancelled`));
    }
    return this.view(job);
  }

  /** Calls `listener` with the job's state now and on every change until it ends; returns an unsubscribe. */
  subscribe(id: string, listener: (view: JobView) => void): () => void {
    const job = this.find(id);
    listener(this.view(job));
    if (isTerminal(job.status)) return () => {};
    job.listeners.add(listener);
    return () => job.listeners.delete(listener);
  }

  /** Resolves when the job has ended (tests and shutdown). */
  async settled(id: string): Promise<JobView> {
    const job = this.find(id);
    await job.ended;
    return this.view(job);
  }

  /** Cancels everything and waits for running jobs to stop. */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.jobs.values()) if (!isTerminal(job.status)) this.cancel(job.id);
    await Promise.all([...this.running.values()].map((job) => job.ended));
  }

  private find(id: string): Job {
    const job = this.jobs.get(id);
    if (!job) throw new LowdoseError('E_NOT_FOUND', `no job with id ${id}`);
    return job;
  }

  private schedule(): void {
    for (const job of this.jobs.values()) {
      if (job.status !== 'queued' || this.running.has(job.spec.device)) continue;
      this.running.set(job.spec.device, job);
      void this.run(job);
    }
    this.notifyQueued();
  }

  private async run(job: Job): Promise<void> {
    job.status = 'running';
    job.startedAt = new Date();
    this.emit(job);
    const { spec } = job;
    // The API's `dose` is the pipeline's doseLevel (as `denoise --dose`).
    const { dose, ...options } = { ...spec.options, ...spec.runOptions };
    try {
      await this.hooks.beforeRun?.({ id: job.id, outputBytes: spec.outputBytes ?? 0 });
      if (job.controller.signal.aborted) throw job.controller.signal.reason;
      const report = await this.runner(
        spec.series.flatMap((s) => s.files),
        {
          ...options,
          ...(dose !== undefined ? { doseLevel: dose } : {}),
          outDir: spec.outDir,
          // The user picked these series: a derived one is denoised again, as by a worker or a series URL
          // (only a folder walk skips lowdose's own outputs).
          includeDerived: true,
          ...(spec.reference ? { reference: spec.reference.files } : {}),
          signal: job.controller.signal,
          onProgress: (event) => this.progress(job, event),
          log: (message) => this.hooks.log?.(`job ${job.id}: ${message}`),
        },
      );
      if (job.controller.signal.aborted) throw job.controller.signal.reason;
      const done = await this.hooks.completed(report, { id: job.id, outDir: spec.outDir, store: Boolean(spec.store), stage: (stage) => this.stage(job, stage) });
      const { comparisons, uncertainty, hallucination, stored } = done;
      // Each short input's SUV note from this run's reading, as denoise <url> --allow-incomplete adds it to pulled[].incomplete.
      const incomplete = spec.incomplete?.length ? { incomplete: spec.incomplete.map((e) => withSuvNote(e, suvNoteOfRead(e.seriesInstanceUid, report.series))) } : {};
      const after = done.errors ?? [];
      const errors = [...(spec.inputErrors ?? []), ...report.errors.map((e) => ({ code: e.code, message: e.message })), ...after];
      const ok = report.series.some((s) => !s.skipped) && comparisons.length > 0 && after.length === 0;
      // A failed store-back names its own error; the comparisons are kept (the denoised series is on this server).
      const first = after[0] ?? errors[0];
      this.finish(job, ok ? 'done' : 'failed', {
        result: {
          comparisons,
          ...(uncertainty ? { uncertainty } : {}),
          ...(hallucination ? { hallucination } : {}),
          ...(stored ? { stored } : {}),
          ...incomplete,
          ...(spec.referenceIncomplete ? { referenceIncomplete: spec.referenceIncomplete } : {}),
          errors,
        },
        ...(ok ? {} : { error: { code: first?.code ?? 'E_INTERNAL', message: first?.message ?? 'the job produced no denoised series' } }),
      });
    } catch (thrown) {
      const error = toLowdoseError(job.controller.signal.aborted ? (job.controller.signal.reason ?? thrown) : thrown);
      const cancelled = job.controller.signal.aborted || error.code === 'E_CANCELLED';
      if (cancelled) await this.hooks.cancelled?.({ id: job.id, outDir: spec.outDir }).catch(() => {});
      this.finish(job, cancelled ? 'cancelled' : 'failed', {
        error: { code: cancelled ? 'E_CANCELLED' : error.code, message: error.message },
      });
    } finally {
      this.running.delete(spec.device);
      this.schedule();
    }
  }

  private progress(job: Job, event: DenoiseProgress): void {
    const perSeries = event.slicesTotal > 0 ? event.slicesDone / event.slicesTotal : 0;
    job.progress = {
      fraction: Math.min(1, (event.seriesIndex + perSeries) / Math.max(1, event.seriesCount)),
      seriesIndex: event.seriesIndex,
      seriesCount: event.seriesCount,
      slicesDone: event.slicesDone,
      slicesTotal: event.slicesTotal,
      ...(job.spec.store ? { stage: 'denoise' as const } : {}),
    };
    this.emit(job);
  }

  private stage(job: Job, stage: 'store'): void {
    const p = job.progress ?? { fraction: 1, seriesIndex: 0, seriesCount: job.spec.series.length, slicesDone: 0, slicesTotal: 0 };
    job.progress = { ...p, stage };
    this.emit(job);
  }

  private finish(job: Job, status: JobStatus, extra: { error?: JobError; result?: JobView['result'] }): void {
    const redact = (e: JobError): JobError => {
      if (e.code !== 'E_INTERNAL') return { ...e, message: this.hooks.redact ? this.hooks.redact(e.message) : e.message };
      // An unexpected failure's words are the engine's or a library's: the log keeps them, the view does not.
      this.hooks.log?.(`job ${job.id}: internal error: ${e.message}`);
      return { code: e.code, message: INTERNAL_MESSAGE };
    };
    job.status = status;
    job.finishedAt = new Date();
    job.error = extra.error ? redact(extra.error) : null;
    job.result = extra.result ? { ...extra.result, errors: extra.result.errors.map(redact) } : null;
    if (status === 'done' && job.progress) job.progress = { ...job.progress, fraction: 1 };
    this.emit(job);
    job.listeners.clear();
    job.markEnded();
  }

  private emit(job: Job): void {
    const view = this.view(job);
    for (const listener of job.listeners) listener(view);
  }

  /** Queue positions change for everyone waiting on a device when one ahead starts or leaves. */
  private notifyQueued(): void {
    for (const job of this.jobs.values()) if (job.status === 'queued' && job.listeners.size > 0) this.emit(job);
  }

  private queuePosition(job: Job): number | null {
    if (job.status !== 'queued') return null;
    let ahead = 0;
    for (const other of this.jobs.values()) {
      if (other === job) break;
      if (other.status === 'queued' && other.spec.device === job.spec.device) ahead++;
    }
    return ahead;
  }

  private prune(): void {
    const finished = [...this.jobs.values()].filter((j) => isTerminal(j.status));
    for (const job of finished.slice(0, Math.max(0, finished.length - KEEP_FINISHED))) this.jobs.delete(job.id);
  }

  private view(job: Job): JobView {
    return {
      id: job.id,
      status: job.status,
      device: job.spec.device,
      series: job.spec.series.map((s) => s.id),
      reference: job.spec.reference?.id ?? null,
      options: job.spec.options,
      store: Boolean(job.spec.store),
      allowIncomplete: Boolean(job.spec.allowIncomplete),
      createdAt: job.createdAt.toISOString(),
      startedAt: job.startedAt?.toISOString() ?? null,
      finishedAt: job.finishedAt?.toISOString() ?? null,
      queuePosition: this.queuePosition(job),
      progress: job.progress,
      error: job.error,
      result: job.result,
    };
  }
}

function withSuvNote(entry: JobIncomplete, suvNote: string | undefined): JobIncomplete {
  return suvNote === undefined ? entry : { ...entry, suvNote };
}
