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
 * A join does not rewrite the list whole, and never writes a file a reader may have open: it writes
 * a fresh file (the working file above) that starts as a copy of `unreadable.tsv` cut after the
 * first job list that changed since that was joined (`joined.json` in the lists' folder records
 * which job lists it holds, in order, with each list file's revision (size, mtime, ctime, inode:
 * src/util/file-revision.ts) and bytes, and the revision of `unreadable.tsv` it describes, read
 * after it was renamed into place), gets the lists from there appended, and is
 * renamed over `unreadable.tsv`. With jobs ending in batch order that is the last job's list read,
 * not every job's. A worker's join names its job (the only list its attempt wrote); `batch --wait`'s
 * names none and looks at every list. An `unreadable.tsv` that is not the one `joined.json`
 * describes (another revision: replaced, or rewritten in place even with its size and mtime put
 * back) is joined whole, and so is every list after one whose revision moved. Once written, an `unreadable.tsv` is
 * never written again: a reader that opened it reads one join's list to its end.
 *
 * The job lists stay in `.unreadable-jobs/` when the batch ends: they are what `unreadable.tsv` is
 * joined from (each job's, replaced by its retries), and a batch without `--wait` has no process
 * that sees it end; a join of another batch into the same folder does not join them.
 */
import { constants, copyFile, open, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileRevision } from '../util/file-revision.js';
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

/** What `joined.json` says of the `unreadable.tsv` the last join wrote: its identity, and which job lists it holds, in order. */
export const JOINED_MANIFEST = 'joined.json';
/** The working files an earlier lowdose kept in the lists' folder (two taking turns being `unreadable.tsv`): removed by a join. */
const FORMER_WORKING_FILES = ['joined-0.list', 'joined-1.list'];

/** A job's list as a join read it: its id, the list file's revision when read, and the bytes of entries it gave. */
interface JoinedList {
  readonly id: string;
  readonly revision: string;
  readonly bytes: number;
}

/** The `unreadable.tsv` a join wrote: its revision, and the header line and these jobs' entries, in this order, `size` bytes in all. */
interface Manifest {
  readonly revision: string;
  readonly size: number;
  readonly lists: JoinedList[];
}

async function readManifest(folder: string): Promise<Manifest | null> {
  const text = await readFile(path.join(folder, JOINED_MANIFEST), 'utf8').catch(() => null);
  if (text === null) return null;
  try {
    const parsed = JSON.parse(text) as Partial<Manifest> | null;
    // An earlier lowdose's manifest (an array, one entry per working file; or files named by inode,
    // size and mtime, no revision) vouches for nothing: the list is joined whole.
    return parsed !== null && typeof parsed === 'object' && typeof parsed.revision === 'string' && Array.isArray(parsed.lists) && parsed.lists.every((l) => typeof l?.revision === 'string')
      ? (parsed as Manifest)
      : null;
  } catch {
    return null;
  }
}

/** How many of `held` (from the start) are `wanted`'s first lists, unchanged since they were read. */
function sharedPrefix(held: readonly JoinedList[], wanted: ReadonlyArray<Omit<JoinedList, 'bytes'>>): number {
  let k = 0;
  while (k < held.length && k < wanted.length) {
    const a = held[k]!;
    const b = wanted[k]!;
    if (a.id !== b.id || a.revision !== b.revision) break;
    k++;
  }
  return k;
}

/**
 * The lists of jobs `jobIds` (in that order; a job without one has none) joined as
 * `<outDir>/unreadable.tsv`; `beforeRename` checks the lock is still held. A fresh working file
 * starts as the `unreadable.tsv` on show cut after the first list that changed since it was joined
 * (or is no longer wanted), gets the lists from there appended, and is renamed over it: as jobs end
 * in batch order, the last job's list is read, not every job's. An `unreadable.tsv` the manifest
 * does not describe (a join killed between its rename and the manifest, a file put there by
 * hand) is joined whole. The file on show is only read, never written.
 */
async function joinJobErrorLists(outDir: string, jobIds: readonly string[], beforeRename: () => Promise<void>, endedJob?: string): Promise<string | null> {
  const target = path.join(outDir, ERRORS_FILE);
  const folder = path.join(outDir, JOB_ERROR_LISTS);
  await Promise.all(FORMER_WORKING_FILES.map((name) => rm(path.join(folder, name), { force: true })));
  const recorded = await readManifest(folder);
  const shown = await stat(target).catch(() => null);
  const manifest = recorded && shown && fileRevision(shown) === recorded.revision ? recorded : null;
  // With the job whose attempt ended named, the other lists are as the list on show (the last
  // join's) read them: a list is only written by its job's attempt, which then joins. Without, or
  // with no list on show that the manifest vouches for, each is looked at.
  const known = new Map<string, Omit<JoinedList, 'bytes'>>();
  if (endedJob !== undefined && manifest) for (const l of manifest.lists) known.set(l.id, l);
  const wanted = (
    await Promise.all(
      jobIds.map(async (id) => {
        const seen = id === endedJob ? undefined : known.get(id);
        if (seen) return { id, revision: seen.revision };
        const info = await stat(jobErrorListPath(outDir, id)).catch(() => null);
        return info ? { id, revision: fileRevision(info) } : null;
      }),
    )
  ).filter((l) => l !== null);
  if (wanted.length === 0) return removeJoined(target, folder, beforeRename);
  let kept = manifest ? sharedPrefix(manifest.lists, wanted) : 0;
  const lists = manifest ? manifest.lists.slice(0, kept) : [];
  // The list on show holds every wanted list as it is: nothing to write.
  if (manifest && kept === wanted.length && kept === manifest.lists.length) return target;
  const header = Buffer.byteLength(`${ERRORS_FILE_HEADER}\n`);
  let size = kept > 0 ? header + lists.reduce((n, l) => n + l.bytes, 0) : 0;
  // Named as a list's working file (owner tag), so that one a killed join left goes with the next join or publish.
  const tmp = path.join(outDir, `.${ERRORS_FILE}.${ownerTag()}.tmp`);
  try {
    // The lists kept: copied from the file on show (a clone where the file system has them), the rest cut off.
    if (kept > 0) await copyFile(target, tmp, constants.COPYFILE_FICLONE);
    const file = await open(tmp, kept > 0 ? 'r+' : 'w');
    try {
      if (kept > 0 && (await file.stat()).size !== manifest!.size) {
        // Not the file the manifest described after all: joined whole.
        kept = 0;
        lists.length = 0;
        size = 0;
      }
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
      await rm(tmp, { force: true });
      return await removeJoined(target, folder, beforeRename);
    }
    // The manifest no longer vouches for the list on show once it is replaced; it names the new one after.
    await rm(path.join(folder, JOINED_MANIFEST), { force: true });
    await beforeRename();
    await rename(tmp, target);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
  // Read once in place: the rename moved its ctime. No other join writes it while the lock is held.
  await writeManifest(folder, { revision: fileRevision(await stat(target)), size, lists });
  return target;
}

/** No job of the batch has entries: `unreadable.tsv` removed, as a denoise run with no unreadable file removes it, and what described it. */
async function removeJoined(target: string, folder: string, beforeRename: () => Promise<void>): Promise<null> {
  await rm(path.join(folder, JOINED_MANIFEST), { force: true });
  await beforeRename();
  await rm(target, { force: true });
  return null;
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
