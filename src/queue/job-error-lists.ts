/**
 * The unreadable instances of a PACS batch's studies, which only the workers meet: each PACS job
 * writes the list of its study's unreadable instances (every one, as `denoise <study>` writes
 * `unreadable.tsv`) into the batch's output folder, which its workers share with the submitting
 * client (they write the denoised series there), as `.unreadable-jobs/<job id>.tsv`; each attempt
 * replaces its job's list whole (or removes it when it met none).
 *
 * The batch's lists are joined, in batch order, into `<outDir>/unreadable.tsv` under one header
 * line, renamed into place whole: by the worker whose job attempt wrote or removed a list, when
 * that attempt ends (so a batch submitted without `--wait` has its one list as its jobs end), and
 * by `batch --wait` before it writes report.json. A join holds the lock of the lists
 * (`.unreadable-jobs/.join.lock`, src/util/folder-lock.ts: live owners waited for, dead ones'
 * taken over, on other hosts by their heartbeat) and reads every list of the batch as it is then,
 * so the last join reads every list written before it, whichever worker's job ends last. Its
 * working file is `.unreadable.tsv.<owner tag>.tmp` (src/util/owner-tag.ts), which the next join or
 * publish into the folder removes once its process is gone (removeStaleErrorLists); a join also
 * removes the job lists' temporaries killed workers left (src/util/stale-temporaries.ts).
 *
 * A join does not rewrite the list whole: two working files in the lists' folder
 * (`.unreadable-jobs/joined-0.list`, `joined-1.list`) take turns being `unreadable.tsv` (hard-linked
 * under a temporary name and renamed over it, so the file is still only ever replaced whole), and
 * `joined.json` records which job lists each holds, in order, with each list file's identity (inode,
 * size, mtime) and bytes. The one not on show is cut after the first list that changed since it was
 * written and gets the lists from there appended: with jobs ending in batch order, the lists of the
 * last two joins. A worker's join names its job (the only list its attempt wrote); `batch --wait`'s
 * names none and looks at every list. A working file whose size is not what `joined.json` says (a
 * join killed while writing it) is rewritten whole.
 */
import { constants, copyFile, link, open, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { acquireFolderLock } from '../util/folder-lock.js';
import { temporaryPathFor } from '../util/fs.js';
import { ownerTag } from '../util/owner-tag.js';
import { removeStaleTemporaries } from '../util/stale-temporaries.js';
import { ERRORS_FILE, ERRORS_FILE_HEADER, ErrorListFile, removeStaleErrorLists } from '../util/error-list-file.js';

/** The folder of the PACS jobs' lists in a batch's output folder. */
export const JOB_ERROR_LISTS = '.unreadable-jobs';

/** Where PACS job `jobId` of a batch writing into `outDir` keeps its study's list. */
export function jobErrorListPath(outDir: string, jobId: string): string {
  return path.join(outDir, JOB_ERROR_LISTS, `${jobId}.tsv`);
}

/**
 * Job `jobId`'s list as `list` holds it: written whole when it has entries, else an earlier
 * attempt's removed. True when the batch's joined list may have to change (a list written or
 * removed), false when the job had none and has none.
 */
export async function writeJobErrorList(list: ErrorListFile, outDir: string, jobId: string): Promise<boolean> {
  const file = jobErrorListPath(outDir, jobId);
  if (list.count > 0) {
    await list.writeTo(file);
    return true;
  }
  return unlink(file).then(
    () => true,
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return false;
      throw error;
    },
  );
}

/** The ids of batch `batchId`'s jobs (`<batch id>-<index>`, src/queue/jobs.ts jobId) that have a list in `outDir`, in batch order. */
export async function jobsWithErrorLists(outDir: string, batchId: string): Promise<string[]> {
  const names = await readdir(path.join(outDir, JOB_ERROR_LISTS)).catch(() => [] as string[]);
  const prefix = `${batchId}-`;
  const jobs = names.flatMap((name) => {
    const index = name.startsWith(prefix) ? /^(\d+)\.tsv$/.exec(name.slice(prefix.length))?.[1] : undefined;
    return index === undefined ? [] : [{ id: name.slice(0, -'.tsv'.length), index: Number(index) }];
  });
  return jobs.sort((a, b) => a.index - b.index).map((j) => j.id);
}

/** The folder whose lock (`.unreadable-jobs/.join.lock`) a join of `outDir`'s lists holds. */
export function joinLockFolder(outDir: string): string {
  return path.join(outDir, JOB_ERROR_LISTS, 'join');
}

/**
 * `<outDir>/unreadable.tsv` as the lists of batch `batchId`'s jobs joined in batch order under one
 * header line, renamed into place whole, under the lists' lock (see the module comment);
 * `endedJob`, the job whose attempt just wrote or removed its list (a worker's join), is the one
 * list looked at anew, without it every list is (`batch --wait`). Its
 * path, or null when no job of the batch has a list (an earlier list there is then removed, as a
 * denoise run with no unreadable file removes it).
 */
export async function joinBatchErrorLists(outDir: string, batchId: string, endedJob?: string): Promise<string | null> {
  const lock = await acquireFolderLock(joinLockFolder(outDir), { wait: true, quietWait: true, pollMs: 100 });
  try {
    await removeStaleErrorLists(outDir);
    // The job lists' temporaries killed workers left (src/util/stale-temporaries.ts).
    await removeStaleTemporaries(path.join(outDir, JOB_ERROR_LISTS), (final) => final.endsWith('.tsv') || final === JOINED_MANIFEST);
    return await joinJobErrorLists(outDir, await jobsWithErrorLists(outDir, batchId), () => lock.assertHeld(), endedJob);
  } finally {
    await lock.release();
  }
}

/** The join's two working files in the lists' folder (they take turns being `unreadable.tsv`) and what each holds. */
const JOINED_FILES = ['joined-0.list', 'joined-1.list'] as const;
export const JOINED_MANIFEST = 'joined.json';

/** A job's list as a join read it: its id, the list file's identity when read, and the bytes of entries it gave. */
interface JoinedList {
  readonly id: string;
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
  readonly bytes: number;
}

/** What a working file holds: the header line and these jobs' entries, in this order, `size` bytes in all. */
interface WorkingContent {
  readonly lists: JoinedList[];
  readonly size: number;
}

type Manifest = Array<WorkingContent | null>;

async function readManifest(folder: string): Promise<Manifest> {
  const text = await readFile(path.join(folder, JOINED_MANIFEST), 'utf8').catch(() => null);
  if (text === null) return [null, null];
  try {
    const parsed = JSON.parse(text) as unknown;
    return Array.isArray(parsed) && parsed.length === JOINED_FILES.length ? (parsed as Manifest) : [null, null];
  } catch {
    return [null, null];
  }
}

/** How many of `held` (from the start) are `wanted`'s first lists, unchanged since they were read. */
function sharedPrefix(held: readonly JoinedList[], wanted: ReadonlyArray<Omit<JoinedList, 'bytes'>>): number {
  let k = 0;
  while (k < held.length && k < wanted.length) {
    const a = held[k]!;
    const b = wanted[k]!;
    if (a.id !== b.id || a.ino !== b.ino || a.size !== b.size || a.mtimeMs !== b.mtimeMs) break;
    k++;
  }
  return k;
}

/**
 * The lists of jobs `jobIds` (in that order; a job without one has none) joined as
 * `<outDir>/unreadable.tsv`; `beforeRename` checks the lock is still held. The working file not on
 * show keeps what it held two joins ago: it is cut after the first list that changed since (or is
 * no longer wanted) and gets the lists from there appended, then is hard-linked under a temporary
 * name and renamed over `unreadable.tsv`. As jobs end in batch order that is the lists of the last
 * two joins, not the whole list. A working file whose size is not what the manifest says (a join
 * killed while writing it), or that is the one on show, is rewritten whole.
 */
async function joinJobErrorLists(outDir: string, jobIds: readonly string[], beforeRename: () => Promise<void>, endedJob?: string): Promise<string | null> {
  const target = path.join(outDir, ERRORS_FILE);
  const folder = path.join(outDir, JOB_ERROR_LISTS);
  const manifest = await readManifest(folder);
  const shown = await stat(target).then((s) => s.ino, () => null);
  const files = await Promise.all(JOINED_FILES.map((name) => stat(path.join(folder, name)).catch(() => null)));
  // With the job whose attempt ended named, the other lists are as the list on show (the last
  // join's) read them: a list is only written by its job's attempt, which then joins. Without, or
  // with no list on show that the manifest vouches for, each is looked at.
  const known = new Map<string, Omit<JoinedList, 'bytes'>>();
  const onShow = files.findIndex((info, i) => info !== null && info.ino === shown && info.size === manifest[i]?.size);
  if (endedJob !== undefined && onShow >= 0) for (const l of manifest[onShow]!.lists) known.set(l.id, l);
  const wanted = (
    await Promise.all(
      jobIds.map(async (id) => {
        const seen = id === endedJob ? undefined : known.get(id);
        if (seen) return { id, ino: seen.ino, size: seen.size, mtimeMs: seen.mtimeMs };
        const info = await stat(jobErrorListPath(outDir, id)).catch(() => null);
        return info ? { id, ino: info.ino, size: info.size, mtimeMs: info.mtimeMs } : null;
      }),
    )
  ).filter((l) => l !== null);
  if (wanted.length === 0) {
    await beforeRename();
    await rm(target, { force: true });
    return null;
  }
  // The working file not on show; of two that are not, the one the manifest says holds more of what is wanted.
  const candidates = files.map((info, i) => {
    const content = manifest[i] ?? null;
    const valid = info !== null && content !== null && info.size === content.size && info.ino !== shown;
    return { i, onShow: info !== null && info.ino === shown, content: valid ? content : null };
  });
  const pick = candidates
    .filter((c) => !c.onShow)
    .sort((a, b) => (b.content ? sharedPrefix(b.content.lists, wanted) : -1) - (a.content ? sharedPrefix(a.content.lists, wanted) : -1))[0]!;
  const kept = pick.content ? sharedPrefix(pick.content.lists, wanted) : 0;
  const lists = pick.content ? pick.content.lists.slice(0, kept) : [];
  const header = Buffer.byteLength(`${ERRORS_FILE_HEADER}\n`);
  let size = kept > 0 ? header + lists.reduce((n, l) => n + l.bytes, 0) : 0;
  const working = path.join(folder, JOINED_FILES[pick.i]!);
  // The manifest no longer vouches for this file until the join has written it.
  manifest[pick.i] = null;
  await writeManifest(folder, manifest);
  const file = await open(working, 'a+').then(async (f) => {
    await f.close();
    return open(working, 'r+');
  });
  try {
    await file.truncate(size);
    if (size === 0) {
      await file.write(`${ERRORS_FILE_HEADER}\n`, 0);
      size = header;
    }
    for (const list of wanted.slice(kept)) {
      // One study's list at a time.
      const text = await readFile(jobErrorListPath(outDir, list.id), 'utf8').catch(() => null);
      const entries = text?.startsWith(`${ERRORS_FILE_HEADER}\n`) ? text.slice(ERRORS_FILE_HEADER.length + 1) : '';
      const bytes = Buffer.from(entries === '' || entries.endsWith('\n') ? entries : `${entries}\n`);
      if (bytes.length > 0) await file.write(bytes, 0, bytes.length, size);
      size += bytes.length;
      lists.push({ ...list, bytes: bytes.length });
    }
  } finally {
    await file.close();
  }
  if (size === header) {
    // Every list was empty (none has entries): as no list.
    await beforeRename();
    await rm(target, { force: true });
    return null;
  }
  // Named as a list's working file (owner tag), so that one a killed join left goes with the next join or publish.
  const tmp = path.join(outDir, `.${ERRORS_FILE}.${ownerTag()}.tmp`);
  try {
    // On a file system without hard links, copied whole instead.
    await link(working, tmp).catch(() => copyFile(working, tmp, constants.COPYFILE_EXCL));
    await beforeRename();
    await rename(tmp, target);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
  manifest[pick.i] = { lists, size };
  await writeManifest(folder, manifest);
  return target;
}

async function writeManifest(folder: string, manifest: Manifest): Promise<void> {
  const tmp = temporaryPathFor(path.join(folder, JOINED_MANIFEST));
  try {
    await writeFile(tmp, JSON.stringify(manifest));
    await rename(tmp, path.join(folder, JOINED_MANIFEST));
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}
