/**
 * How the data index reads its folders: scanPaths, with what was read of each file kept by its
 * revision across scans (src/dicom/known-headers.ts), so a refresh with nothing changed stats the
 * folders and opens no DICOM file. The server runs it in its files thread (../worker-tasks.ts).
 */
import { KnownHeaders, scanPaths, type ScanResult } from '../../dicom/index.js';

/**
 * How the index scans: within its folders, of the files that cannot be read the first
 * LISTED_PER_CODE of each code listed and all counted (src/util/code-sample.ts), and every
 * report.json among the skipped files listed (its links are read from them).
 */
export interface IndexScanOptions {
  readonly within: readonly string[];
  readonly listedPerCode: number;
  readonly keepSkippedNamed: readonly string[];
  /** The scan is of every data folder (a refresh): what is kept of files it does not meet is dropped. */
  readonly wholeTree: boolean;
}

/** How the index reads folders: `scanKeepingHeaders()`, or the same in a worker thread (the server's). */
export type ScanFunction = (paths: readonly string[], options: IndexScanOptions) => Promise<ScanResult>;

/** A ScanFunction that keeps what it read of each file in `known` and reads a file again only once it changed. */
export function scanKeepingHeaders(known: KnownHeaders = new KnownHeaders()): ScanFunction {
  return (paths, { within, listedPerCode, keepSkippedNamed, wholeTree }) =>
    scanPaths(paths, { within, listedPerCode, keepSkippedNamed, knownHeaders: known, forgetUnmet: wholeTree });
}
