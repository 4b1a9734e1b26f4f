/** File-system edges shared by every writer: atomic writes so an interrupted run leaves no half files. */
import { randomBytes } from 'node:crypto';
import { mkdirSync, realpathSync, statSync, type Stats } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { LowdoseError } from '../errors.js';

/**
 * Temporary sibling name: same directory (so rename is atomic), hidden, never a final name.
 * src/dicom/write-file.ts names its temporaries the same way.
 */
export function temporaryPathFor(finalPath: string): string {
  return join(dirname(finalPath), `.${basename(finalPath)}.${randomBytes(4).toString('hex')}.tmp`);
}

/**
 * `.<final name>.<8 hex>.tmp`: a temporary of ours (temporaryPathFor), of `finalName` when given
 * (a name, or which final names count).
 */
export function isTemporaryName(name: string, finalName?: string | ((final: string) => boolean)): boolean {
  const match = /^\.(.+)\.[0-9a-f]{8}\.tmp$/.exec(name);
  if (match === null || finalName === undefined) return match !== null;
  return typeof finalName === 'string' ? match[1] === finalName : finalName(match[1]!);
}

/**
 * Removes our temporaries from `dir` (not its subfolders): what a run killed between writing a
 * temporary and renaming it left behind. Only call it for a folder this run holds the lock of,
 * or a concurrent writer's temporary would go. Returns how many were removed.
 */
export async function removeTemporaries(dir: string, finalName?: string | ((final: string) => boolean)): Promise<number> {
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
  await makeDirectories(dirname(path));
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
 * `mkdir -p` that always returns. Node's `mkdir(dir, { recursive: true })` never settles (async) or
 * spins at full CPU (sync) when a parent exists but answers ENOENT for a new child, as /proc and
 * /sys do and a dangling symbolic link does: it reads ENOENT as "the parent is missing", finds the
 * parent exists and tries the child again, for ever (Node 18 to 22). Here the missing ancestors
 * are found by walking up with stat, then each is made on its own, top down, so any refusal is an
 * error at once. Returns nothing; throws the system error (code, path) of the step that failed.
 */
export async function makeDirectories(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let at = resolve(dir); ; at = dirname(at)) {
    const found = await stat(at).then(
      (stats) => stats,
      (error: NodeJS.ErrnoException) => (error.code === 'ENOENT' && dirname(at) !== at ? null : Promise.reject(error)),
    );
    if (found) {
      if (!found.isDirectory()) throw notADirectory(at);
      break;
    }
    missing.push(at);
  }
  for (const at of missing.reverse()) {
    try {
      await mkdir(at);
    } catch (error) {
      // Made by another run meanwhile: fine when it is a folder.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw explainMkdirError(error, at);
      const made = await stat(at).catch(() => null);
      if (!made?.isDirectory()) throw notADirectory(at);
    }
  }
}

/** makeDirectories for the synchronous writers (the DICOM series writers). */
export function makeDirectoriesSync(dir: string): void {
  const missing: string[] = [];
  for (let at = resolve(dir); ; at = dirname(at)) {
    let found: Stats | null;
    try {
      found = statSync(at);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(at) === at) throw error;
      found = null;
    }
    if (found) {
      if (!found.isDirectory()) throw notADirectory(at);
      break;
    }
    missing.push(at);
  }
  for (const at of missing.reverse()) {
    try {
      mkdirSync(at);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw explainMkdirError(error, at);
      let made: Stats | null = null;
      try {
        made = statSync(at);
      } catch {
        made = null;
      }
      if (!made?.isDirectory()) throw notADirectory(at);
    }
  }
}

function notADirectory(at: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`ENOTDIR: ${at} exists and is not a folder (a file, or a link to nothing)`), { code: 'ENOTDIR', path: at });
}

/** ENOENT from mkdir with the parent in place means the parent takes no new folders (/proc, /sys): say so. */
function explainMkdirError(error: unknown, at: string): unknown {
  const e = error as NodeJS.ErrnoException;
  if (e.code !== 'ENOENT') return error;
  return Object.assign(new Error(`ENOENT: ${dirname(at)} exists but no folder can be created in it (a virtual file system such as /proc or /sys)`), {
    code: 'ENOENT',
    path: at,
  });
}

/** The E_IO a writer throws when its output folder cannot be made: no bug, so not E_INTERNAL. */
export function outputFolderError(dir: string, error: unknown): LowdoseError {
  return new LowdoseError('E_IO', `${dir}: cannot create output directory: ${(error as Error).message}`, { path: dir });
}

/**
 * `mkdir -p` of an output folder (makeDirectories, so it never hangs). A file in the way (`-o`
 * naming a file), a folder it may not write or a parent that takes no folders (`-o /proc/x`) is
 * E_IO naming the folder, as the series writers say it (src/dicom/write-derived.ts), not
 * E_INTERNAL: it is no bug.
 */
export async function makeOutputFolder(dir: string): Promise<void> {
  try {
    await makeDirectories(dir);
  } catch (error) {
    throw outputFolderError(dir, error);
  }
}

/** makeOutputFolder for the synchronous writers. */
export function makeOutputFolderSync(dir: string): void {
  try {
    makeDirectoriesSync(dir);
  } catch (error) {
    throw outputFolderError(dir, error);
  }
}

/** The real path of `file` (links resolved), or its absolute path when it cannot be resolved (it does not exist yet). */
export function realPathOrSelf(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    return resolve(file);
  }
}

/**
 * Whether `file` is `dir` or lies below it, by path (relative to the working folder when not
 * absolute; links not resolved: pass real paths where links matter). A sibling that only shares a
 * prefix (`/data/in2` for `/data/in`) is not inside, a child named `..x` is.
 */
export function isPathWithin(file: string, dir: string): boolean {
  const rel = relative(resolve(dir), resolve(file));
  return rel === '' || (rel !== '..' && !rel.startsWith('..' + sep) && !isAbsolute(rel));
}
