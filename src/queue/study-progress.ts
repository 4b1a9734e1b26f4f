/**
 * The progress a worker reports for a PACS job (src/queue/jobs.ts JobProgress): the study's series
 * once the pipeline has listed them, the slices each has finished, and after an attempt that
 * failed, the series of the study that it finished. The job's list of unreadable instances an
 * earlier attempt left (`unreadable`, `unreadableAttempt`) is carried in every progress a retry
 * writes: the list stays in the batch's folder until the retry ends and replaces it, so `batch
 * status` keeps naming it while the retry runs.
 */
import type { DenoiseProgress, SeriesReport } from '../pipeline/types.js';
import type { ErrorCounts } from '../util/code-sample.js';
import type { JobProgress, PacsSeriesProgress } from './jobs.js';

export interface StudyProgress {
  /** The series the pipeline chose to denoise (DenoiseOptions.onSeriesList). */
  list(series: ReadonlyArray<{ readonly seriesInstanceUid: string; readonly modality: string; readonly slices: number }>): void;
  /** A progress event of one of them (DenoiseOptions.onProgress). */
  progress(event: DenoiseProgress): void;
  /**
   * The attempt failed having finished `finished` (the study's series reported done): only those
   * stay counted; with the study's errors counted (`errors`) and the entries of its list of
   * unreadable instances (`unreadable`). Resolves once the progress is written.
   */
  failed(finished: readonly SeriesReport[], errors?: ErrorCounts, unreadable?: number): Promise<void>;
}

/** The attempt a worker starts: its number (1 for the first) and the job's progress before it (BullMQ's job.progress). */
export interface StudyAttempt {
  readonly attempt: number;
  readonly previous?: unknown;
}

/** The job's list an earlier attempt left, as its progress names it (absent when it left none). */
function carriedList(start: StudyAttempt): { unreadable: number; unreadableAttempt: number } | null {
  const previous = typeof start.previous === 'object' && start.previous !== null ? (start.previous as Partial<JobProgress>) : {};
  if (typeof previous.unreadable !== 'number' || previous.unreadable <= 0) return null;
  // A progress written before the attempt was kept with the list: the attempt just before this one wrote it.
  return { unreadable: previous.unreadable, unreadableAttempt: previous.unreadableAttempt ?? start.attempt - 1 };
}

export function studyProgress(write: (progress: JobProgress) => Promise<void>, start: StudyAttempt = { attempt: 1 }): StudyProgress {
  let series: PacsSeriesProgress[] = [];
  const carried = carriedList(start);
  const current = (finished?: SeriesReport[], errors?: ErrorCounts, unreadable?: number): JobProgress => ({
    slicesDone: series.reduce((n, s) => n + s.slicesDone, 0),
    slicesTotal: series.reduce((n, s) => n + s.slices, 0),
    series,
    ...(finished ? { finished } : {}),
    ...(errors ? { errorCount: errors.errorCount, errorsByCode: errors.errorsByCode } : {}),
    // This attempt's list once it failed; until then the earlier attempt's, still in the batch's folder.
    ...(unreadable !== undefined ? { unreadable, unreadableAttempt: start.attempt } : (carried ?? {})),
  });
  const send = () => {
    write(current()).catch(() => {});
  };
  return {
    list(listed) {
      series = listed.map((s) => ({ seriesInstanceUid: s.seriesInstanceUid, modality: s.modality, slices: s.slices, slicesDone: 0 }));
      send();
    },
    progress(event) {
      const at = series[event.seriesIndex];
      if (!at) return;
      series = series.map((s, i) => (i === event.seriesIndex ? { ...s, slicesDone: Math.min(event.slicesDone, s.slices) } : s));
      send();
    },
    async failed(finished, errors, unreadable) {
      // A series whose last slice was written but that then failed (its completion marker, its
      // store) is not among the finished ones: it does not count.
      const done = new Set(finished.map((s) => s.input.seriesInstanceUid));
      series = series.map((s) => (s.slicesDone === s.slices && done.has(s.seriesInstanceUid) ? s : { ...s, slicesDone: 0 }));
      await write(current([...finished], errors, unreadable)).catch(() => {});
    },
  };
}
