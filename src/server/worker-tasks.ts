/**
 * What the server's worker threads do (./worker-pool.ts), as plain functions of transferable
 * inputs: score a comparison slice, check an uploaded file like `lowdose info` does, scan the data
 * folders, read a series' header facts, decode a slice for the viewer, draw a figure and measure
 * ROIs for the exports (./export-tasks.ts). Everything that parses
 * DICOM for the server runs here, never on its event loop: a hostile upload (a header of a million
 * elements, a corrupt length) or a slow codec then costs a worker thread its time, not every other
 * request its answer.
 */
import { KnownHeaders, readInstanceHeader, readSeriesSlice, type ScanResult, type Series, type SliceRef, type SliceSeriesFacts } from '../dicom/index.js';
import { isErrorCode, LowdoseError, toLowdoseError } from '../errors.js';
import type { Image2D } from '../image.js';
import { scanKeepingHeaders } from './data/index-scan.js';
import { readSeriesFacts, type SeriesFacts } from './data/series-facts.js';
import { drawFigure, measureTable, type FigureTaskInput, type TableTaskInput, type TableTaskOutput } from './export-tasks.js';
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
  /** `listedPerCode` / `keepSkippedNamed` as ScanOptions has them: a capped answer crosses the thread, not one entry per bad file. */
  /**
   * The data index's scans (./data/index-scan.ts): what this thread read of each file is kept by
   * its revision for the next (`wholeTree`: a refresh of every data folder, which drops the rest).
   */
  scan: { input: { paths: string[]; within: string[]; listedPerCode: number; keepSkippedNamed: string[]; wholeTree: boolean }; output: ScanTransfer };
  seriesFacts: { input: { series: SeriesTransfer }; output: SeriesFacts };
  /**
   * Slice `index` of a series in modality units (what readSliceImage returns), its pixels on shared
   * memory: passing it on to the exports or metrics thread then shares it instead of copying it on
   * the event loop (a 7900² slice is 250 MB, about 0.4 s to clone each way).
   */
  readSlice: { input: SliceReadInput; output: Image2D };
  /** A figure's PNG bytes. */
  figure: { input: FigureTaskInput; output: Uint8Array };
  measureTable: { input: TableTaskInput; output: TableTaskOutput };
}

export type TaskName = keyof WorkerTasks;

/** One slice to read: its file and frame and the few facts of its series reading needs, not the whole series. */
export interface SliceReadInput {
  readonly series: SliceSeriesFacts;
  readonly slice: SliceRef;
}

/** What the slice thread is sent to read slice `index` of `series` (a 10,000-slice series' list stays here). */
export function sliceReadInput(series: Series, index: number): SliceReadInput {
  const slice = series.slices[index];
  if (!slice) throw new LowdoseError('E_USAGE', `series ${series.key} has no slice ${index} (${series.slices.length} slices)`);
  const { key, units, rows, columns, spacing } = series;
  return { series: { key, units, rows, columns, spacing }, slice };
}

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

/** `image` with its pixels (and padding) copied onto SharedArrayBuffers. */
export function onSharedMemory(image: Image2D): Image2D {
  const data = new Float32Array(new SharedArrayBuffer(image.data.byteLength));
  data.set(image.data);
  const source = image.padding;
  if (!source) return { ...image, data };
  const padding = new Uint8Array(new SharedArrayBuffer(source.length));
  padding.set(source);
  return { ...image, data, padding };
}

/** The files thread's scans of the data folders, with what it read of each file kept between them. */
const indexScan = scanKeepingHeaders(new KnownHeaders());

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
      const { paths, ...options } = input as WorkerTasks['scan']['input'];
      const scan = await indexScan(paths, options);
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
      const { series, slice } = input as SliceReadInput;
      return onSharedMemory(await readSeriesSlice(series, slice));
    }
    case 'figure':
      return drawFigure(input as FigureTaskInput);
    case 'measureTable':
      return measureTable(input as TableTaskInput);
    default:
      throw new LowdoseError('E_INTERNAL', `unknown worker task ${String(task)}`);
  }
}
