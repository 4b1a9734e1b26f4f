/** File-system edges shared by every writer: atomic writes so an interrupted run leaves no half files. */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { LowdoseError } from '../errors.js';

/**
 * Temporary sibling name: same directory (so rename is atomic), hidden, never a final name.
 * src/dicom/write-file.ts names its temporaries the same way.
 */
export function temporaryPathFor(finalPath: string): string {
  return join(dirname(finalPath), `.${basename(finalPath)}.${randomBytes(4).toString('hex')}.tmp`);
}

/** `.<final name>.<8 hex>.tmp`: a temporary of ours (temporaryPathFor), of `finalName` when given. */
export function isTemporaryName(name: string, finalName?: string): boolean {
  const match = /^\.(.+)\.[0-9a-f]{8}\.tmp$/.exec(name);
  return match !== null && (finalName === undefined || match[1] === finalName);
}

/**
 * Removes our temporaries from `dir` (not its subfolders): what a run killed between writing a
 * temporary and renaming it left behind. Only call it for a folder this run holds the lock of,
 * or a concurrent writer's temporary would go. Returns how many were removed.
 */
export async function removeTemporaries(dir: string, finalName?: string): Promise<number> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    if (!isTemporaryName(name, finalName)) continue;
    if (await rm(join(dir, name), { force: true }).then(() => true, () => false)) removed++;
  }
  return removed;
}

/** Writes `data` to a temporary name beside `path`, then renames it into place. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = temporaryPathFor(path);
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}

/**
 * `mkdir -p` of an output folder. A file in the way (`-o` naming a file) or a folder it may not
 * write is E_IO naming the folder, as the series writers say it (src/dicom/write-derived.ts), not
 * E_INTERNAL: it is no bug.
 */
export async function makeOutputFolder(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    throw new LowdoseError('E_IO', `${dir}: cannot create output directory: ${(error as Error).message}`, { path: dir });
  }
}
