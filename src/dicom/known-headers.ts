/**
 * What reading each file's header gave (its header, or why it is no usable image), kept by the
 * file's revision (src/util/file-revision.ts: size, mtime, ctime, inode): a scan given these
 * (ScanOptions.knownHeaders) reads a file again only when its revision moved. The server's data index keeps one across refreshes, so a
 * refresh with nothing changed stats its folders and opens no DICOM file.
 */
import { dirname } from 'node:path';
import { LowdoseError } from '../errors.js';
import type { ImageHeader } from './image-header.js';

/** A file's header, or the error reading it gave. */
export type HeaderOutcome = ImageHeader | LowdoseError;

/**
 * Errors that say nothing lasting about the file's bytes (it vanished or could not be opened this
 * time: permissions, too many open files): never kept, the file is read again next time.
 */
const PASSING_CODES = new Set(['E_IO', 'E_NOT_FOUND', 'E_CANCELLED']);

export class KnownHeaders {
  private readonly byPath = new Map<string, { readonly revision: string; readonly outcome: HeaderOutcome }>();

  /** What reading `path` gave when it had this revision; undefined when it was not read so. */
  get(path: string, revision: string): HeaderOutcome | undefined {
    const kept = this.byPath.get(path);
    return kept?.revision === revision ? kept.outcome : undefined;
  }

  /** Keeps what reading `path` at `revision` gave (not a passing error: that file is read again). */
  set(path: string, revision: string, outcome: HeaderOutcome): void {
    if (outcome instanceof LowdoseError && PASSING_CODES.has(outcome.code)) this.byPath.delete(path);
    else this.byPath.set(path, { revision, outcome });
  }

  /** Forgets `path` (read again next time). */
  delete(path: string): void {
    this.byPath.delete(path);
  }

  /** Forgets every file not in `paths` (removed from the tree the headers are kept for). */
  keepOnly(paths: ReadonlySet<string>): void {
    for (const path of this.byPath.keys()) if (!paths.has(path)) this.byPath.delete(path);
  }

  /**
   * Forgets every file under `scanned` (files, or folders walked whole) that is not in `met`: a scan
   * of those paths no longer found it (removed, renamed), so what is kept of it would never be used.
   */
  forgetUnder(scanned: readonly string[], met: ReadonlySet<string>): void {
    const roots = new Set(scanned.filter((p) => !met.has(p)));
    if (roots.size === 0) return;
    for (const path of this.byPath.keys()) {
      if (met.has(path)) continue;
      for (let at = path; ; at = dirname(at)) {
        if (roots.has(at)) {
          this.byPath.delete(path);
          break;
        }
        if (dirname(at) === at) break;
      }
    }
  }

  /** Files whose outcome is kept. */
  get size(): number {
    return this.byPath.size;
  }
}
