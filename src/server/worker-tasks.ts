/**
 * What the server's worker threads do (./worker-pool.ts), as plain functions of transferable
 * inputs: score a comparison slice, check an uploaded file like `lowdose info` does, scan the data
 * folders, read a series' header facts, decode a slice for the viewer. Everything that parses
 * DICOM for the server runs here, never on its event loop: a hostile upload (a header of a million
 * elements, a corrupt length) or a slow codec then costs a worker thread its time, not every other
 * request its answer.
 */
import { readInstanceHeader, readSliceImage, scanPaths, type ScanResult, type Series } from '../dicom/index.js';
import { isErrorCode, LowdoseError, toLowdoseError } from '../errors.js';
import type { Image2D } from '../image.js';
import { readSeriesFacts, type SeriesFacts } from './data/series-facts.js';
import { scoreSlice, type SliceScoreInput, type SliceScoreOutput } from './slice-scores.js';

/** A LowdoseError as it crosses threads. */
export interface ErrorTransfer {
  readonly code: string;
  readonly message: string;
  readonly path: string | null;
}

export type SeriesTransfer = Omit<Series, 'warnings'> & { readonly warnings: ErrorTransfer[] };

/** ScanResult with its errors as plain data (structured cloning keeps no classes). */
export interface ScanTransfer extends Omit<ScanResult, 'series' | 'errors'> {
  readonly series: SeriesTransfer[];
  readonly errors: ErrorTransfer[];
}

export interface WorkerTasks {
  score: { input: SliceScoreInput; output: SliceScoreOutput };
  /** null: a usable DICOM image; else why not. */
  checkFile: { input: { path: string }; output: ErrorTransfer | null };
  scan: { input: { paths: string[]; within: string[] }; output: ScanTransfer };
  seriesFacts: { input: { series: SeriesTransfer }; output: SeriesFacts };
  /** Slice `index` of a series in modality units (what readSliceImage returns). */
  readSlice: { input: { series: SeriesTransfer; index: number }; output: Image2D };
}

export type TaskName = keyof WorkerTasks;

export function toTransfer(error: LowdoseError): ErrorTransfer {
  return { code: error.code, message: error.message, path: error.path ?? null };
}

export function fromTransfer(error: ErrorTransfer): LowdoseError {
  const code = isErrorCode(error.code) ? error.code : 'E_INTERNAL';
  return new LowdoseError(code, error.message, error.path === null ? {} : { path: error.path });
}

/** A series as it crosses threads; its warnings are not needed there and do not clone as errors. */
export function seriesToTransfer(series: Series): SeriesTransfer {
  return { ...series, warnings: [] };
}

export function scanFromTransfer(scan: ScanTransfer): ScanResult {
  return {
    ...scan,
    series: scan.series.map((s) => ({ ...s, warnings: s.warnings.map(fromTransfer) })),
    errors: scan.errors.map(fromTransfer),
  };
}

export async function runTask<T extends TaskName>(task: T, input: WorkerTasks[T]['input']): Promise<WorkerTasks[T]['output']> {
  switch (task) {
    case 'score':
      return scoreSlice(input as SliceScoreInput);
    case 'checkFile':
      try {
        await readInstanceHeader((input as WorkerTasks['checkFile']['input']).path);
        return null;
      } catch (error) {
        return toTransfer(toLowdoseError(error, 'E_NOT_DICOM'));
      }
    case 'scan': {
      const { paths, within } = input as WorkerTasks['scan']['input'];
      const scan = await scanPaths(paths, { within });
      return {
        ...scan,
        series: scan.series.map((s) => ({ ...s, warnings: s.warnings.map(toTransfer) })),
        errors: scan.errors.map(toTransfer),
      } as WorkerTasks[T]['output'];
    }
    case 'seriesFacts': {
      const { series } = input as WorkerTasks['seriesFacts']['input'];
      return await readSeriesFacts({ ...series, warnings: [] });
    }
    case 'readSlice': {
      const { series, index } = input as WorkerTasks['readSlice']['input'];
      return await readSliceImage({ ...series, warnings: [] }, index);
    }
    default:
      throw new LowdoseError('E_INTERNAL', `unknown worker task ${String(task)}`);
  }
}
