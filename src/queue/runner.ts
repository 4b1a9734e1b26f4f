/**
 * The pipeline as a queue client: `(paths, options) => DenoiseReport` like `denoisePaths`, but each
 * series runs as a job on the Redis queue, on whichever `lowdose worker` takes it. `serve --redis`
 * hands this to its job queue, so the viewer's Denoise button uses the pool of workers.
 */
import type { Queue } from 'bullmq';
import { LowdoseError } from '../errors.js';
import { writeReport } from '../pipeline/denoise.js';
import type { DenoiseOptions, DenoiseReport } from '../pipeline/types.js';
import { batchStatus, cancelBatch, submitBatch } from './batch.js';
import { batchReport, type JobSettings, type SeriesJobData, type SeriesJobResult } from './jobs.js';

export interface QueueRunnerOptions {
  readonly attempts?: number;
  readonly backoffMs?: number;
  /** How often the batch's state is read, ms (default 500). */
  readonly pollMs?: number;
}

export function queueRunner(
  queue: Queue<SeriesJobData, SeriesJobResult>,
  runner: QueueRunnerOptions = {},
): (paths: string[], options: DenoiseOptions) => Promise<DenoiseReport> {
  const pollMs = runner.pollMs ?? 500;
  return async (paths, options) => {
    const { outDir, signal, onProgress, log, paddingFill: _fill, strength: _strength, writeReport: _write, waitLock: _wait, queueLock: _queueLock, overwriteRequest: _request, reference, ...rest } = options;
    const settings: JobSettings = { ...rest, ...(reference ? { reference: [...reference] } : {}) };
    signal?.throwIfAborted();
    const { batch, errors, skipped } = await submitBatch(queue, paths, {
      outDir,
      settings,
      ...(runner.attempts !== undefined ? { attempts: runner.attempts } : {}),
      ...(runner.backoffMs !== undefined ? { backoffMs: runner.backoffMs } : {}),
      ...(log ? { log } : {}),
    });
    log?.(`batch ${batch.id}: ${batch.jobs.length} series queued`);
    let cancelled = false;
    for (;;) {
      if (signal?.aborted && !cancelled) {
        await cancelBatch(queue, batch.id);
        cancelled = true;
      }
      const { status, results, failedJobSeries, studies } = await batchStatus(queue, batch.id);
      onProgress?.({ seriesIndex: 0, seriesCount: 1, seriesKey: batch.id, slicesDone: status.slices.done, slicesTotal: status.slices.total });
      if (status.finished) {
        if (cancelled) throw new LowdoseError('E_CANCELLED', `batch ${batch.id} cancelled`);
        const report = batchReport(results, status, errors, skipped, failedJobSeries, studies);
        await writeReport(outDir, report);
        return report;
      }
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  };
}
