/**
 * The whole list of the files a run could not read, as `unreadable.tsv` beside its report.json.
 * report.json and --json keep only the first LISTED_PER_CODE of each code (./code-sample.ts); this
 * file keeps every one, so that 150 truncated files of an export can all be found again.
 *
 * The list is streamed: each error is written as the scan meets it (buffered a few kB at a time)
 * into a scratch file outside the output folder (the output folder is not made before the run's
 * checks pass), never held in memory. The scratch file is unlinked as soon as it is open (where
 * the system allows it, as Linux and macOS do), so a run killed with SIGKILL leaves nothing of it.
 *
 * `publish` puts the list so far into the output folder, appended rather than copied whole: two
 * hidden working files there (`.unreadable.tsv.<owner tag>.tmp`, ./owner-tag.ts) take turns; the
 * one not on show gets the entries it lacks appended, is hard-linked under a temporary name (named
 * as a working file is) and renamed over `unreadable.tsv`. So a publish writes what the last two publishes added (a run over
 * many studies publishes after each), and `unreadable.tsv` is only ever replaced whole by a rename,
 * never written while it has that name: a reader sees a whole list or none, never a cut one. On a
 * file system without hard links it is copied whole under a temporary name and renamed instead.
 * The working files' names are removed when the run ends (`discard`); a run killed before leaves
 * them, and the next run publishing into that folder removes those whose process is gone
 * (same host, pid no longer running or reused), and the temporaries an older lowdose left without
 * an owner in their name once unmodified for LOCK_HEARTBEAT_TIMEOUT_MS; `discard` removes, once
 * per process, the scratch folders killed runs of an older lowdose left in the temporary folder
 * where it can prove no process uses them (./stale-temporaries.ts). A run with no unreadable file removes the list an
 * earlier run left there (report.json, which the run rewrites too, would no longer name it).
 *
 * Format: UTF-8, one line per file, tab-separated `path`, `code`, `message`, after a header line
 * `path\tcode\tmessage`; a tab, newline, carriage return or backslash inside a field is written
 * `\t`, `\n`, `\r`, `\\`.
 */
import { closeSync, mkdtempSync, openSync, readSync, rmdirSync, unlinkSync, writeSync } from 'node:fs';
import { link, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { makeDirectories } from './fs.js';
import { hostTag, ownerTag } from './owner-tag.js';
import { removeStaleScratchFolders, removeStaleTemporaries } from './stale-temporaries.js';

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

/** A hidden working file of a list in an output folder: its path, open descriptor and bytes written. */
interface WorkingFile {
  readonly path: string;
  readonly fd: number;
  bytes: number;
}

/** Bytes copied at a time from the scratch file. */
const COPY_BYTES = 1024 * 1024;

/**
 * Removes the working files (`.unreadable.tsv.<owner tag>.tmp`) that runs on this host left in
 * `dir` when they were killed: those whose process no longer runs (or whose pid another process
 * now has); those of a live process or of another host stay. And the temporaries an older lowdose
 * left there without an owner in their name (`.unreadable.tsv.<8 hex>.tmp`) once unmodified for
 * LOCK_HEARTBEAT_TIMEOUT_MS (./stale-temporaries.ts). Returns how many were removed.
 */
export async function removeStaleErrorLists(dir: string, host = hostTag()): Promise<number> {
  return removeStaleTemporaries(dir, ERRORS_FILE, host);
}

/** This process's sweep of the scratch folders killed runs left in the temporary folder: once. */
let scratchSwept: Promise<number> | null = null;

export class ErrorListFile {
  private fd: number | null;
  private pending: string[] = [];
  private pendingBytes = 0;
  private written = 0;
  /** Bytes in the scratch file (what is flushed). */
  private scratchBytes = 0;
  /** The output folder's working files (two, taking turns) and which one is next; null before the first publish. */
  private output: { readonly dir: string; readonly files: WorkingFile[]; next: number; shown: number } | null = null;

  private constructor(
    /** The scratch folder while it must stay (a system that cannot unlink an open file), else null. */
    private scratchDir: string | null,
    scratch: string,
  ) {
    this.fd = openSync(scratch, 'w+');
    try {
      unlinkSync(scratch);
      rmdirSync(scratchDir!);
      this.scratchDir = null;
    } catch {
      // Kept until discard.
    }
    this.push(ERRORS_FILE_HEADER);
  }

  /** A new list in a scratch file of the system's temporary folder. */
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
   * The list as `<outDir>/unreadable.tsv`, replaced whole by a rename (see the module comment);
   * its path, or null when it has no entry (an earlier run's list there is then removed). The
   * first publish into a folder removes the working files killed runs left there.
   */
  async publish(outDir: string): Promise<string | null> {
    const target = path.join(outDir, ERRORS_FILE);
    if (this.written === 0) {
      await rm(target, { force: true });
      await removeStaleErrorLists(outDir);
      return null;
    }
    if (this.output?.dir !== outDir) await this.startOutput(outDir);
    this.flush();
    const output = this.output!;
    if (output.shown === this.scratchBytes) return target;
    const file = output.files[output.next]!;
    this.copyScratch(file.fd, file.bytes, this.scratchBytes);
    file.bytes = this.scratchBytes;
    // Named as a working file, so that one a killed run left between link and rename goes as they do.
    const tmp = path.join(outDir, `.${ERRORS_FILE}.${ownerTag()}.tmp`);
    try {
      const linked = await link(file.path, tmp).then(() => true, () => false);
      if (!linked) this.copyScratchTo(tmp);
      await rename(tmp, target);
    } catch (error) {
      await rm(tmp, { force: true });
      throw error;
    }
    output.shown = this.scratchBytes;
    output.next = 1 - output.next;
    return target;
  }

  /**
   * The list as `file` (its folder made where missing), renamed into place whole, entries or none;
   * written first as `.<name>.<owner tag>.tmp`, so that one a killed run left goes with the next
   * write of `file` once its process is gone.
   */
  async writeTo(file: string): Promise<void> {
    this.flush();
    await makeDirectories(path.dirname(file));
    await removeStaleTemporaries(path.dirname(file), path.basename(file));
    const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${ownerTag()}.tmp`);
    try {
      this.copyScratchTo(tmp);
      await rename(tmp, file);
    } catch (error) {
      await rm(tmp, { force: true });
      throw error;
    }
  }

  /** Closes the scratch file (and removes it where it still has a name) and the output folder's working files' names. */
  async discard(): Promise<void> {
    this.close();
    for (const file of this.output?.files ?? []) {
      closeSync(file.fd);
      await rm(file.path, { force: true });
    }
    this.output = null;
    if (this.scratchDir !== null) await rm(this.scratchDir, { recursive: true, force: true });
    // The scratch folders killed runs of an older lowdose left (./stale-temporaries.ts), once per process.
    scratchSwept ??= removeStaleScratchFolders().catch(() => 0);
    await scratchSwept;
  }

  /** Makes `outDir` (where missing) and its two working files, after removing those killed runs left. */
  private async startOutput(outDir: string): Promise<void> {
    for (const file of this.output?.files ?? []) {
      closeSync(file.fd);
      await rm(file.path, { force: true });
    }
    this.output = null;
    await makeDirectories(outDir);
    await removeStaleErrorLists(outDir);
    const files = [0, 1].map((): WorkingFile => {
      const file = path.join(outDir, `.${ERRORS_FILE}.${ownerTag()}.tmp`);
      return { path: file, fd: openSync(file, 'wx'), bytes: 0 };
    });
    this.output = { dir: outDir, files, next: 0, shown: -1 };
  }

  /** Appends the scratch file's bytes `from` to `to` to `fd` at `from`. */
  private copyScratch(fd: number, from: number, to: number): void {
    const buffer = Buffer.alloc(Math.min(COPY_BYTES, Math.max(1, to - from)));
    for (let at = from; at < to; ) {
      const read = readSync(this.fd!, buffer, 0, Math.min(buffer.length, to - at), at);
      if (read === 0) throw new Error(`the scratch list ends at byte ${at} of ${to}`);
      writeSync(fd, buffer, 0, read, at);
      at += read;
    }
  }

  /** The whole scratch file as a new file `file`. */
  private copyScratchTo(file: string): void {
    const fd = openSync(file, 'wx');
    try {
      this.copyScratch(fd, 0, this.scratchBytes);
    } finally {
      closeSync(fd);
    }
  }

  private push(line: string): void {
    const text = `${line}\n`;
    this.pending.push(text);
    this.pendingBytes += text.length;
    if (this.pendingBytes >= FLUSH_BYTES) this.flush();
  }

  private flush(): void {
    if (this.fd === null || this.pending.length === 0) return;
    const bytes = Buffer.from(this.pending.join(''));
    writeSync(this.fd, bytes, 0, bytes.length, this.scratchBytes);
    this.scratchBytes += bytes.length;
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
