/**
 * The whole list of the files a run could not read, as `unreadable.tsv` beside its report.json.
 * report.json and --json keep only the first LISTED_PER_CODE of each code (./code-sample.ts); this
 * file keeps every one, so that 150 truncated files of an export can all be found again.
 *
 * The list is streamed: each error is written as the scan meets it (buffered a few kB at a time)
 * into a scratch file outside the output folder (the output folder is not made before the run's
 * checks pass), never held in memory. `publish` copies it into the output folder under a
 * temporary name and renames it into place, so a reader sees a whole list or none, never a cut
 * one; a run with no unreadable file removes the list an earlier run left there (report.json, which
 * the run rewrites too, would no longer name it).
 *
 * Format: UTF-8, one line per file, tab-separated `path`, `code`, `message`, after a header line
 * `path\tcode\tmessage`; a tab, newline, carriage return or backslash inside a field is written
 * `\t`, `\n`, `\r`, `\\`.
 */
import { closeSync, mkdtempSync, openSync, writeSync } from 'node:fs';
import { copyFile, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { makeDirectories, temporaryPathFor } from './fs.js';

/** The file's name in an output folder (docs/contract.md "Capped lists"). */
export const ERRORS_FILE = 'unreadable.tsv';

/** Its first line. */
export const ERRORS_FILE_HEADER = 'path\tcode\tmessage';

/** An entry as the lists have them. */
export interface ErrorListEntry {
  readonly path?: string | null;
  readonly code: string;
  readonly message: string;
}

/** Bytes gathered before each write to the scratch file. */
const FLUSH_BYTES = 64 * 1024;

/** A field with its tabs, newlines and backslashes escaped. */
function field(value: string): string {
  return value.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

/** One line of the file (without its newline). */
export function errorListLine(entry: ErrorListEntry): string {
  return [entry.path ?? '', entry.code, entry.message].map(field).join('\t');
}

/** A field as written back to its text. */
function unescapeField(value: string): string {
  return value.replace(/\\([\\tnr])/g, (_, c: string) => (c === 't' ? '\t' : c === 'n' ? '\n' : c === 'r' ? '\r' : '\\'));
}

/** The entries of a file's text (its header line left out). */
export function parseErrorList(text: string): ErrorListEntry[] {
  const lines = text.split('\n').filter((line) => line.length > 0);
  return lines.slice(1).map((line) => {
    const [file = '', code = '', message = ''] = line.split('\t').map(unescapeField);
    return { path: file === '' ? null : file, code, message };
  });
}

export class ErrorListFile {
  private fd: number | null;
  private pending: string[] = [];
  private pendingBytes = 0;
  private written = 0;

  private constructor(
    private readonly scratchDir: string,
    private readonly scratch: string,
  ) {
    this.fd = openSync(scratch, 'w');
    this.push(ERRORS_FILE_HEADER);
  }

  /** A new list in a scratch folder of the system's temporary folder. */
  static open(): ErrorListFile {
    const dir = mkdtempSync(path.join(tmpdir(), 'lowdose-unreadable-'));
    return new ErrorListFile(dir, path.join(dir, ERRORS_FILE));
  }

  /** Entries written so far. */
  get count(): number {
    return this.written;
  }

  add(entry: ErrorListEntry): void {
    this.push(errorListLine(entry));
    this.written++;
  }

  /**
   * The list as `<outDir>/unreadable.tsv`, renamed into place whole; its path, or null when it has
   * no entry (an earlier run's list there is then removed). The scratch file stays until `discard`.
   */
  async publish(outDir: string): Promise<string | null> {
    const target = path.join(outDir, ERRORS_FILE);
    if (this.written === 0) {
      await rm(target, { force: true });
      return null;
    }
    await this.writeTo(target);
    return target;
  }

  /** The list as `file` (its folder made where missing), renamed into place whole, entries or none. */
  async writeTo(file: string): Promise<void> {
    this.flush();
    await makeDirectories(path.dirname(file));
    const tmp = temporaryPathFor(file);
    try {
      await copyFile(this.scratch, tmp);
      await rename(tmp, file);
    } catch (error) {
      await rm(tmp, { force: true });
      throw error;
    }
  }

  /** Closes and removes the scratch file. */
  async discard(): Promise<void> {
    this.close();
    await rm(this.scratchDir, { recursive: true, force: true });
  }

  private push(line: string): void {
    const text = `${line}\n`;
    this.pending.push(text);
    this.pendingBytes += text.length;
    if (this.pendingBytes >= FLUSH_BYTES) this.flush();
  }

  private flush(): void {
    if (this.fd === null || this.pending.length === 0) return;
    writeSync(this.fd, this.pending.join(''));
    this.pending = [];
    this.pendingBytes = 0;
  }

  private close(): void {
    if (this.fd === null) return;
    this.flush();
    closeSync(this.fd);
    this.fd = null;
  }
}
