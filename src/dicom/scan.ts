/**
 * Paths (files and directories, walked recursively) → series, errors and skipped files. A bad
 * file is an entry in `errors` and the batch goes on. Only headers are kept: each file's bytes
 * are dropped once its header is read, so a whole study never sits in memory.
 */
import { readdir, realpath, stat } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import { LowdoseError, toLowdoseError } from '../errors.js';
import { abortReason } from '../util/abort-reason.js';
import { CodeSample } from '../util/code-sample.js';
import { isPathWithin } from '../util/fs.js';
import { requireImage, SKIP_CODES } from './classify.js';
import { checkPixelData } from './frames.js';
import { frameAcquisitionSlots } from './derived-pet-series.js';
import { getString, TAG } from './attributes.js';
import { readImageHeader, readPixelModule, type ImageHeader } from './image-header.js';
import { fileRevision } from '../util/file-revision.js';
import type { HeaderOutcome, KnownHeaders } from './known-headers.js';
import { decoderFor } from './decoders/index.js';
import { readDicomFile } from './parse.js';
import { buildSeries } from './series.js';
import type { Series } from './types.js';

export interface SkippedFile {
  readonly path: string;
  /** E_DICOMDIR, E_NOT_IMAGE, or E_NOT_DICOM for non-DICOM files met while walking a directory. */
  readonly code: 'E_DICOMDIR' | 'E_NOT_IMAGE' | 'E_NOT_DICOM';
  readonly message: string;
}

export interface ScanResult {
  readonly series: Series[];
  /** The files that could not be read: all, or with `ScanOptions.listedPerCode` the first of each code. */
  readonly errors: LowdoseError[];
  /** Every file that could not be read, listed in `errors` or not. */
  readonly errorCount: number;
  /** `errorCount` by code. */
  readonly errorsByCode: Record<string, number>;
  /** The files passed over: all, or with `ScanOptions.listedPerCode` the first of each code. */
  readonly skipped: SkippedFile[];
  /** Every file passed over, listed in `skipped` or not. */
  readonly skippedCount: number;
  /** `skippedCount` by code. */
  readonly skippedByCode: Record<string, number>;
  /** Files looked at (after expanding directories). */
  readonly fileCount: number;
  /** Given paths that do not exist (also in `errors`, code E_NOT_FOUND). */
  readonly missing: string[];
  /** Entries left out because their real path lies outside `ScanOptions.within` (symlinks out). */
  readonly outside: number;
}

export interface ScanOptions {
  /** Called before each file is read (for progress output). */
  readonly onFile?: (index: number, total: number, path: string) => void;
  /**
   * Stops the scan (SIGINT / SIGTERM) between files, and between the folders it lists: it throws
   * E_CANCELLED saying how many files were read.
   */
  readonly signal?: AbortSignal;
  /**
   * What a stopped scan leaves undone, the end of its E_CANCELLED message (default
   * STOPPED_SCAN_LEAVES, a `denoise` run's): `info` says what it did not list.
   */
  readonly stoppedLeaves?: string;
  /**
   * Folders everything must really lie in: a file or folder whose real path (symlinks resolved)
   * is outside all of them is left out, not read. The server confines itself to its data folders
   * this way; the CLI follows links wherever the user's own files point.
   */
  readonly within?: readonly string[];
  /**
   * Keep only the first this many `errors` and `skipped` entries of each code (all are counted):
   * a folder of tens of thousands of files that are not DICOM then costs a few entries, not one
   * per file (src/util/code-sample.ts). Default: all are kept.
   */
  readonly listedPerCode?: number;
  /**
   * Told every file that could not be read (each `errors` entry, listed or not), as the scan meets
   * it: the whole list can be written out as it grows (src/util/error-list-file.ts) while `errors`
   * stays capped.
   */
  readonly onError?: (error: LowdoseError) => void;
  /**
   * File names (`report.json`) whose `skipped` entries are listed whatever `listedPerCode` says:
   * the server's data index finds the denoise reports of its folders among the skipped files, so
   * a report.json must not be crowded out by a folder's other files that are not DICOM.
   */
  readonly keepSkippedNamed?: readonly string[];
  /**
   * What earlier scans read of each file, by its revision (./known-headers.ts): a file whose size,
   * mtime, ctime and inode are unchanged is not opened again, and what is read is kept there. The result
   * (series, errors, skipped files, the frame bounds) is the same as a fresh scan's. A file refused
   * for MAX_SCAN_FRAMES / MAX_SERIES_FRAMES is not kept (it is read again, as a fresh scan would),
   * so what is kept is no more than the scans keep anyway.
   */
  readonly knownHeaders?: KnownHeaders;
  /**
   * With `knownHeaders`: this scan covers every file they are kept for (the server's refresh of its
   * data folders), so what is kept of any file it did not meet (removed, renamed) is dropped.
   * Without it, what is kept of the files under the scanned paths that it did not meet is dropped.
   */
  readonly forgetUnmet?: boolean;
}

/** Real paths of `roots` (as given where they do not exist). */
export async function realRoots(roots: readonly string[]): Promise<string[]> {
  return Promise.all(roots.map(async (r) => realpath(resolve(r)).catch(() => resolve(r))));
}

function isInside(real: string, roots: readonly string[]): boolean {
  return roots.some((root) => isPathWithin(real, root));
}

/** Extensions that say "this is DICOM": such a file that is not DICOM is an error, not a skip. */
const DICOM_EXTENSIONS = new Set(['.dcm', '.dicom', '.dic', '.ima']);

interface FoundFile {
  readonly path: string;
  /** Named on the command line (not found by walking a directory). */
  readonly explicit: boolean;
  /** Its size, mtime, ctime and inode when it was found (src/util/file-revision.ts). */
  readonly revision: string;
}

/** Expands directories recursively (sorted, hidden entries skipped, symlink loops avoided). */
/** What a stopped scan of a `denoise` run leaves undone (ScanOptions.stoppedLeaves). */
const STOPPED_SCAN_LEAVES = 'no series was listed, nothing was denoised';

/** The scan stopped by its signal (E_CANCELLED): `where` says how far it came, `leaves` what is left undone. */
function scanStopped(signal: AbortSignal, where: string, leaves = STOPPED_SCAN_LEAVES): LowdoseError {
  return new LowdoseError('E_CANCELLED', `the input scan was stopped ${where} (${abortReason(signal)}): ${leaves}`);
}

export async function findFiles(
  paths: readonly string[],
  options: { within?: readonly string[]; signal?: AbortSignal; stoppedLeaves?: string } = {},
): Promise<{ files: FoundFile[]; missing: LowdoseError[]; outside: number }> {
  const files: FoundFile[] = [];
  const missing: LowdoseError[] = [];
  const seen = new Set<string>();
  const visitedDirs = new Set<string>();
  const within = options.within ? await realRoots(options.within) : null;
  let outside = 0;
  /** False (and counted) for a path whose real location is outside `within`. */
  const allowed = async (full: string): Promise<boolean> => {
    if (!within) return true;
    const real = await realpath(full).catch(() => null);
    if (real !== null && isInside(real, within)) return true;
    outside++;
    return false;
  };

  async function walk(dir: string): Promise<void> {
    if (options.signal?.aborted) throw scanStopped(options.signal, `while listing the input folders (${files.length} file(s) found)`, options.stoppedLeaves);
    const real = await realpath(dir).catch(() => dir);
    if (visitedDirs.has(real)) return;
    visitedDirs.add(real);
    let entries: string[];
    try {
      entries = (await readdir(dir)).sort();
    } catch (error) {
      missing.push(new LowdoseError('E_IO', `${dir}: cannot list directory: ${(error as Error).message}`, { path: dir, cause: error }));
      return;
    }
    for (const name of entries) {
      if (name.startsWith('.')) continue;
      const full = join(dir, name);
      if (!(await allowed(full))) continue;
      const info = await stat(full).catch(() => null);
      if (info?.isDirectory()) await walk(full);
      else if (info?.isFile() && !seen.has(full)) {
        seen.add(full);
        files.push({ path: full, explicit: false, revision: fileRevision(info) });
      }
    }
  }

  for (const given of paths) {
    const full = resolve(given);
    const info = await stat(full).catch(() => null);
    if (info === null) {
      missing.push(new LowdoseError('E_NOT_FOUND', `${given}: no such file or directory`, { path: given }));
    } else if (!(await allowed(full))) {
      continue;
    } else if (info.isDirectory()) {
      await walk(full);
    } else if (!seen.has(full)) {
      seen.add(full);
      files.push({ path: full, explicit: true, revision: fileRevision(info) });
    }
  }
  return { files, missing, outside };
}

/**
 * Told the frames a file declares and its series before anything is read per frame; throws to
 * refuse the file (scanPaths' MAX_SCAN_FRAMES / MAX_SERIES_FRAMES).
 */
export type AdmitFrames = (frames: number, seriesInstanceUid: string) => void;

/**
 * Reads one file's header and checks it is an image lowdose can use: parseable, an image
 * (throws E_DICOMDIR / E_NOT_IMAGE otherwise), grayscale, a transfer syntax with a decoder, and
 * pixel data long enough for what it declares. No pixels are decoded. `admit` is told the frames
 * its pixel module declares (./image-header.ts readPixelModule, which holds them to
 * MAX_FRAMES_PER_FILE) before the per-frame functional groups are read: a file it refuses costs
 * the parse of its data set, not the reading of each frame's geometry and PET timing.
 */
export async function readInstanceHeader(path: string, admit?: AdmitFrames): Promise<ImageHeader> {
  const parsed = await readDicomFile(path);
  requireImage(parsed);
  const pixel = readPixelModule(parsed);
  if (pixel.photometricInterpretation !== 'MONOCHROME1' && pixel.photometricInterpretation !== 'MONOCHROME2') {
    throw new LowdoseError(
      'E_UNSUPPORTED_PIXELS',
      `${path}: photometric interpretation ${pixel.photometricInterpretation} is not supported (grayscale MONOCHROME1 / MONOCHROME2 only)`,
      { path },
    );
  }
  decoderFor(parsed.transferSyntax, path);
  admit?.(pixel.frames, getString(parsed.dataSet, TAG.SeriesInstanceUID) ?? '');
  const read = readImageHeader(parsed);
  const frameSlots = frameAcquisitionSlots(read, parsed);
  const header: ImageHeader = frameSlots ? { ...read, frameSlots } : read;
  checkPixelData(parsed, header);
  return header;
}

/**
 * The most frames one scan keeps, over all its files: each is a slice whose header facts stay in
 * memory until the run ends (about 0.9 kB a frame: `info` on one series of 200,000 1 x 1 frames in
 * ten 20,000-frame files of 940 KB each peaks at 325,656 kB, docs/robustness.md). Past it a file
 * is E_FILE_TOO_LARGE, not read; so is a file that would take its series past MAX_SERIES_FRAMES.
 */
export const MAX_SCAN_FRAMES = 200_000;

/**
 * The most frames one series (one SeriesInstanceUID) may hold over all its files. Real series come
 * near it: a dynamic total-body PET of 672 slices in 60 time frames is 40,320 classic images of
 * one series. What `denoise` keeps per slice of a series (about 9 KiB, SLICE_BOOKKEEPING_BYTES in
 * ../pipeline/memory-budget.ts, which its memory plan counts) is about 0.9 GiB at the bound. Hostile
 * input is bounded by MAX_SCAN_FRAMES and MAX_FRAMES_PER_FILE.
 */
export const MAX_SERIES_FRAMES = 100_000;

/**
 * The refusal of a file of `path` whose `frames` (of the series `seriesInstanceUid`) would take
 * the frames a scan keeps past MAX_SCAN_FRAMES, or its series' past MAX_SERIES_FRAMES; null when
 * they fit.
 */
function framesPastBound(path: string, frames: number, seriesInstanceUid: string, scanFrames: number, seriesFrames: number): LowdoseError | null {
  const its = `its ${frames.toLocaleString('en-US')} frame(s)`;
  if (seriesFrames + frames > MAX_SERIES_FRAMES) {
    return new LowdoseError(
      'E_FILE_TOO_LARGE',
      `${path}: its series ${seriesInstanceUid} holds ${seriesFrames.toLocaleString('en-US')} frame(s) in the files read before it; ${its} would take it past the ${MAX_SERIES_FRAMES.toLocaleString('en-US')} lowdose reads of one series; not read`,
      { path },
    );
  }
  if (scanFrames + frames > MAX_SCAN_FRAMES) {
    return new LowdoseError(
      'E_FILE_TOO_LARGE',
      `${path}: the files read before it hold ${scanFrames.toLocaleString('en-US')} frame(s); ${its} would take them past the ${MAX_SCAN_FRAMES.toLocaleString('en-US')} lowdose reads in one run; not read: run over fewer folders at a time (split the input into runs of at most ${MAX_SCAN_FRAMES.toLocaleString('en-US')} frames)`,
      { path },
    );
  }
  return null;
}

/** The file's header, or the error reading it gave (as readInstanceHeader would throw it). */
async function readOutcome(path: string, admit: AdmitFrames): Promise<HeaderOutcome> {
  try {
    return await readInstanceHeader(path, admit);
  } catch (error) {
    return toLowdoseError(error, 'E_INTERNAL', path);
  }
}

export async function scanPaths(paths: readonly string[], options: ScanOptions = {}): Promise<ScanResult> {
  const { files, missing, outside } = await findFiles(paths, {
    ...(options.within ? { within: options.within } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.stoppedLeaves !== undefined ? { stoppedLeaves: options.stoppedLeaves } : {}),
  });
  const headers: ImageHeader[] = [];
  const perCode = options.listedPerCode ?? Number.POSITIVE_INFINITY;
  const errors = new CodeSample<LowdoseError>(perCode);
  const failed = (e: LowdoseError) => {
    errors.add(e);
    options.onError?.(e);
  };
  for (const e of missing) failed(e);
  const skipped = new CodeSample<SkippedFile>(perCode);
  const alwaysListed = new Set(options.keepSkippedNamed ?? []);
  const passOver = (entry: SkippedFile) => (alwaysListed.has(basename(entry.path)) ? skipped.keep(entry) : skipped.add(entry));
  const known = options.knownHeaders;
  if (known) {
    const met = new Set(files.map((f) => f.path));
    // A whole-tree scan forgets every file it did not meet; any scan, those under the paths it was given.
    if (options.forgetUnmet) known.keepOnly(met);
    else known.forgetUnder(paths.map((p) => resolve(p)), met);
  }
  let scanFrames = 0;
  const seriesFrames = new Map<string, number>();
  for (const [index, file] of files.entries()) {
    if (options.signal?.aborted) throw scanStopped(options.signal, `after reading ${index} of ${files.length} file(s)`, options.stoppedLeaves);
    options.onFile?.(index, files.length, file.path);
    const pastBound = (frames: number, series: string): LowdoseError | null =>
      framesPastBound(file.path, frames, series, scanFrames, seriesFrames.get(series) ?? 0);
    let outcome = known?.get(file.path, file.revision);
    if (outcome === undefined) {
      // Refused for the bounds from the frames its header declares, before they are read one by one.
      let refused: LowdoseError | null = null;
      outcome = await readOutcome(file.path, (frames, series) => {
        refused = pastBound(frames, series);
        if (refused) throw refused;
      });
      // Whether it fits depends on the files read before it: a refusal for the bounds is not kept.
      if (outcome !== refused) known?.set(file.path, file.revision, outcome);
    }
    try {
      if (outcome instanceof Error) throw outcome;
      const header = outcome;
      const inSeries = seriesFrames.get(header.seriesInstanceUid) ?? 0;
      const past = pastBound(header.frames, header.seriesInstanceUid);
      if (past) {
        // Whether it fits depends on the files read before it: kept, it would hold headers past the bounds.
        known?.delete(file.path);
        throw past;
      }
      scanFrames += header.frames;
      seriesFrames.set(header.seriesInstanceUid, inSeries + header.frames);
      headers.push(header);
    } catch (error) {
      const e = toLowdoseError(error, 'E_INTERNAL', file.path);
      const path = e.path ?? file.path;
      if (SKIP_CODES.has(e.code)) {
        passOver({ path, code: e.code as SkippedFile['code'], message: e.message });
      } else if (e.code === 'E_NOT_DICOM' && !file.explicit && !DICOM_EXTENSIONS.has(extname(file.path).toLowerCase())) {
        // Directories hold READMEs, licences and the like: not DICOM, and not an error either.
        passOver({ path, code: 'E_NOT_DICOM', message: e.message });
      } else {
        failed(e.path ? e : new LowdoseError(e.code, e.message, { path, cause: e }));
      }
    }
  }
  return {
    series: buildSeries(headers),
    errors: errors.items,
    errorCount: errors.total,
    errorsByCode: errors.byCode(),
    skipped: skipped.items,
    skippedCount: skipped.total,
    skippedByCode: skipped.byCode(),
    fileCount: files.length,
    missing: missing.filter((e) => e.code === 'E_NOT_FOUND').map((e) => e.path!),
    outside,
  };
}

/**
 * Why a scan gave nothing to work on, for the error that says so: ": <first unreadable file's
 * reason> (and N more ...); M file(s) skipped: <first reason>", or '' when every file was read.
 * Without it a missing folder or a truncated file read as a bare "no series found".
 */
export function scanProblems(scan: Pick<ScanResult, 'errors' | 'skipped'> & Partial<Pick<ScanResult, 'errorCount' | 'skippedCount'>>): string {
  const parts: string[] = [];
  const [error] = scan.errors;
  if (error) {
    const more = (scan.errorCount ?? scan.errors.length) - 1;
    parts.push(`${error.message}${more > 0 ? ` (and ${more} more file(s) that could not be read)` : ''}`);
  }
  const [skipped] = scan.skipped;
  const skippedCount = scan.skippedCount ?? scan.skipped.length;
  if (skipped) parts.push(`${skippedCount} file(s) skipped: ${skipped.message}${skippedCount > 1 ? ', ...' : ''}`);
  return parts.length > 0 ? `: ${parts.join('; ')}` : '';
}
