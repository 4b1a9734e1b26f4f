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
 * removes the job lists' temporaries killed workers left (src/util/stale-temporaries.ts). A join
 * rewrites the batch's list whole: the bytes written over a batch grow with the jobs that have
 * unreadable instances times the list's size (jobs without any join nothing).
 */
import { open, readdir, readFile, rename, rm, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { acquireFolderLock } from '../util/folder-lock.js';
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
 * header line, renamed into place whole, under the lists' lock (see the module comment); its
 * path, or null when no job of the batch has a list (an earlier list there is then removed, as a
 * denoise run with no unreadable file removes it).
 */
export async function joinBatchErrorLists(outDir: string, batchId: string): Promise<string | null> {
  const lock = await acquireFolderLock(joinLockFolder(outDir), { wait: true, quietWait: true, pollMs: 100 });
  try {
    await removeStaleErrorLists(outDir);
    // The job lists' temporaries killed workers left (src/util/stale-temporaries.ts).
    await removeStaleTemporaries(path.join(outDir, JOB_ERROR_LISTS), (final) => final.endsWith('.tsv'));
    return await joinJobErrorLists(outDir, await jobsWithErrorLists(outDir, batchId), () => lock.assertHeld());
  } finally {
    await lock.release();
  }
}

/** The lists of jobs `jobIds` (in that order; a job without one has none) joined as `<outDir>/unreadable.tsv`; `beforeRename` checks the lock is still held. */
async function joinJobErrorLists(outDir: string, jobIds: readonly string[], beforeRename: () => Promise<void>): Promise<string | null> {
  const target = path.join(outDir, ERRORS_FILE);
  // Named as a list's working file (owner tag), so that one a killed join left goes with the next join or publish.
  const tmp = path.join(outDir, `.${ERRORS_FILE}.${ownerTag()}.tmp`);
  let file: FileHandle | null = null;
  try {
    for (const id of jobIds) {
      // One study's list at a time.
      const text = await readFile(jobErrorListPath(outDir, id), 'utf8').catch(() => null);
      const entries = text?.startsWith(`${ERRORS_FILE_HEADER}\n`) ? text.slice(ERRORS_FILE_HEADER.length + 1) : '';
      if (entries === '') continue;
      if (file === null) {
        file = await open(tmp, 'wx');
        await file.writeFile(`${ERRORS_FILE_HEADER}\n`);
      }
      await file.writeFile(entries.endsWith('\n') ? entries : `${entries}\n`);
    }
    await beforeRename();
    if (file === null) {
      await rm(target, { force: true });
      return null;
    }
    await file.close();
    file = null;
    await rename(tmp, target);
    return target;
  } catch (error) {
    await file?.close();
    await rm(tmp, { force: true });
    throw error;
  }
}
