/**
 * The unreadable instances of a PACS batch's studies, which only the workers meet: each PACS job
 * writes the list of its study's unreadable instances (every one, as `denoise <study>` writes
 * `unreadable.tsv`) into the batch's output folder, which its workers share with the submitting
 * client (they write the denoised series there), as `.unreadable-jobs/<job id>.tsv`; each attempt
 * replaces its job's list whole (or removes it when it met none). The client that writes the
 * batch's report.json (`batch --wait`) joins them, in batch order, into `<outDir>/unreadable.tsv`,
 * renamed into place whole, and names it in the report (`errorsFile`).
 */
import { open, readFile, rename, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { temporaryPathFor } from '../util/fs.js';
import { ERRORS_FILE, ERRORS_FILE_HEADER, ErrorListFile } from '../util/error-list-file.js';

/** The folder of the PACS jobs' lists in a batch's output folder. */
export const JOB_ERROR_LISTS = '.unreadable-jobs';

/** Where PACS job `jobId` of a batch writing into `outDir` keeps its study's list. */
export function jobErrorListPath(outDir: string, jobId: string): string {
  return path.join(outDir, JOB_ERROR_LISTS, `${jobId}.tsv`);
}

/** Job `jobId`'s list as `list` holds it: written whole when it has entries, else an earlier attempt's removed. */
export async function writeJobErrorList(list: ErrorListFile, outDir: string, jobId: string): Promise<void> {
  const file = jobErrorListPath(outDir, jobId);
  if (list.count === 0) await rm(file, { force: true });
  else await list.writeTo(file);
}

/**
 * `<outDir>/unreadable.tsv` as the lists of jobs `jobIds` (in that order; a job without one has
 * none) joined under one header line, renamed into place whole; its path, or null (and nothing
 * written) when no job has a list.
 */
export async function joinJobErrorLists(outDir: string, jobIds: readonly string[]): Promise<string | null> {
  const target = path.join(outDir, ERRORS_FILE);
  const tmp = temporaryPathFor(target);
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
    if (file === null) return null;
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
