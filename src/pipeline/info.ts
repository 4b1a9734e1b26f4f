/**
 * What `lowdose info` reports: the series found under some paths, every file that could not be
 * read (with its reason) and, on request, per-slice statistics in modality units
 * (docs/contract.md). A layer over src/dicom that the CLI prints.
 */
import path from 'node:path';
import { LowdoseError, toLowdoseError } from '../errors.js';
import { abortReason } from '../util/abort-reason.js';
import { clearSliceCache, readSlicePixels, scanPaths, type Series } from '../dicom/index.js';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from '../exit-codes.js';
import { CodeSample, LISTED_PER_CODE } from '../util/code-sample.js';
import { ErrorListFile } from '../util/error-list-file.js';
import { petFrameReport, type PetFrameReport } from './frame-output.js';

export interface SliceStats {
  file: string;
  frame: number;
  min: number;
  max: number;
  mean: number;
}

export interface InfoSeries {
  key: string;
  seriesInstanceUid: string;
  studyInstanceUid: string;
  modality: string;
  description: string;
  /** ConvolutionKernel (0018,1210), CT; null when not stored. */
  convolutionKernel: string | null;
  rows: number;
  columns: number;
  slices: number;
  spacing: [number, number, number];
  units: string;
  photometricInterpretation: string | null;
  transferSyntaxes: string[];
  files: string[];
  warnings: Array<{ path: string | null; code: string; message: string }>;
  /**
   * The series is one frame of a dynamic or gated PET acquisition (`key` ends in `#t<n>` / `#g<n>`):
   * which, and a time point's `timing` or a gate's `gating` (as `denoise`'s `input.petFrame`).
   */
  petFrame?: PetFrameReport;
  stats?: SliceStats[];
}

export interface InfoResult {
  series: InfoSeries[];
  /** At most LISTED_PER_CODE of each code (src/util/code-sample.ts); `errorCount` / `errorsByCode` count all. */
  errors: Array<{ path: string | null; code: string; message: string }>;
  errorCount: number;
  errorsByCode: Record<string, number>;
  /** With `InfoOptions.errorsFile` (--errors-file): the file every error was written to, as `denoise` writes unreadable.tsv. */
  errorsFile?: string;
  /**
   * DICOMDIRs, non-image objects (RT, SR, SEG, ECG, ...) and non-DICOM files met in directories: at
   * most LISTED_PER_CODE of each code; `skippedCount` / `skippedByCode` count all.
   */
  skipped: Array<{ path: string; code: string; message: string }>;
  skippedCount: number;
  skippedByCode: Record<string, number>;
  fileCount: number;
}

export interface InfoOptions {
  readonly stats?: boolean;
  /** Progress messages (the CLI sends them to stderr). */
  readonly progress?: (message: string) => void;
  /**
   * Write every error (each file that could not be read, and with `stats` each slice that could not
   * be decoded), listed in `errors` or not, to this file, streamed as they are met
   * (src/util/error-list-file.ts); written whole, with a header line only when there is none.
   */
  readonly errorsFile?: string;
  /**
   * Stops the run (SIGINT / SIGTERM): the scan at its next file, `stats` at its next slice, with
   * E_CANCELLED saying how far it came; nothing is listed and no errors file is written.
   */
  readonly signal?: AbortSignal;
}

/** What a stopped `info` leaves undone, the end of its E_CANCELLED message. */
const STOPPED_INFO_LEAVES = 'nothing was listed';

/** Does the work of `lowdose info`; returns the JSON result and the exit code. */
export async function runInfo(paths: readonly string[], options: InfoOptions = {}): Promise<{ result: InfoResult; exitCode: number }> {
  const list = options.errorsFile !== undefined ? ErrorListFile.open() : null;
  try {
    const run = await infoScanned(paths, options, list);
    if (list && options.errorsFile !== undefined) {
      const errorsFile = path.resolve(options.errorsFile);
      await list.writeTo(errorsFile);
      run.result.errorsFile = errorsFile;
    }
    return run;
  } finally {
    await list?.discard();
  }
}

async function infoScanned(paths: readonly string[], options: InfoOptions, list: ErrorListFile | null): Promise<{ result: InfoResult; exitCode: number }> {
  const progress = options.progress ?? (() => {});
  const scan = await scanPaths(paths, {
    ...(list ? { onError: (e: LowdoseError) => list.add(e.toJSON()) } : {}),
    onFile: (index, total) => {
      if (index === 0) progress(`reading ${total} file(s)`);
      else if (index % 200 === 0) progress(`  ${index}/${total}`);
    },
    listedPerCode: LISTED_PER_CODE,
    ...(options.signal ? { signal: options.signal, stoppedLeaves: STOPPED_INFO_LEAVES } : {}),
  });
  const errors = CodeSample.of<InfoResult['errors'][number]>(scan.errors.map((e) => e.toJSON()), scan);
  const series: InfoSeries[] = [];
  for (const s of scan.series) {
    const entry = describeSeries(s);
    if (options.stats) {
      progress(`decoding ${s.slices.length} slice(s) of ${s.key}`);
      entry.stats = await sliceStats(
        s,
        (e) => {
          errors.add(e);
          list?.add(e);
        },
        options.signal,
      );
    }
    series.push(entry);
  }
  clearSliceCache();
  const result: InfoResult = {
    series,
    errors: errors.items,
    ...errors.counted(),
    skipped: scan.skipped.map((s) => ({ path: s.path, code: s.code, message: s.message })),
    skippedCount: scan.skippedCount,
    skippedByCode: scan.skippedByCode,
    fileCount: scan.fileCount,
  };
  const nothingGiven = scan.missing.length === paths.length || scan.fileCount === 0;
  const exitCode = nothingGiven ? EXIT_USAGE : errors.total > 0 ? EXIT_FAILED : EXIT_OK;
  return { result, exitCode };
}

function describeSeries(s: Series): InfoSeries {
  return {
    key: s.key,
    seriesInstanceUid: s.seriesInstanceUid,
    studyInstanceUid: s.studyInstanceUid,
    modality: s.modality,
    description: s.seriesDescription,
    convolutionKernel: s.convolutionKernel ?? null,
    rows: s.rows,
    columns: s.columns,
    slices: s.slices.length,
    spacing: s.spacing,
    units: s.units,
    photometricInterpretation: s.photometricInterpretation ?? null,
    transferSyntaxes: s.transferSyntaxes,
    files: [...new Set(s.slices.map((slice) => slice.file))],
    warnings: s.warnings.map((w) => w.toJSON()),
    ...(s.petFrame ? { petFrame: petFrameReport(s.petFrame) } : {}),
  };
}

/**
 * Min / max / mean per slice in the series' units, over the pixels that are not padding or CT
 * out-of-field fill (all pixels when every one is). A slice that fails to decode becomes an error entry.
 */
async function sliceStats(series: Series, failedSlice: (error: InfoResult['errors'][number]) => void, signal?: AbortSignal): Promise<SliceStats[]> {
  const stats: SliceStats[] = [];
  const failed = new Set<string>();
  for (const [index, slice] of series.slices.entries()) {
    if (signal?.aborted) {
      throw new LowdoseError('E_CANCELLED', `the --stats decoding of ${series.key} was stopped after ${index} of ${series.slices.length} slice(s) (${abortReason(signal)}): ${STOPPED_INFO_LEAVES}`);
    }
    if (failed.has(slice.file)) continue;
    try {
      const { data, padding } = await readSlicePixels(slice, series.units);
      let min = Infinity;
      let max = -Infinity;
      let sum = 0;
      let count = 0;
      for (let i = 0; i < data.length; i++) {
        if (padding && padding[i]) continue;
        const v = data[i]!;
        if (v < min) min = v;
        if (v > max) max = v;
        sum += v;
        count++;
      }
      if (count === 0) {
        for (const v of data) {
          min = Math.min(min, v);
          max = Math.max(max, v);
          sum += v;
        }
        count = data.length;
      }
      stats.push({ file: slice.file, frame: slice.frame, min, max, mean: sum / count });
    } catch (error) {
      failed.add(slice.file);
      failedSlice(toLowdoseError(error, 'E_DECODE', slice.file).toJSON());
    }
  }
  return stats;
}
