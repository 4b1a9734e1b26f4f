/**
 * Replacing named folders of a directory (`map/` and `overlays/` of a `--hallucination` folder) so
 * that a failure never loses what they held: the new contents are written into a hidden sibling,
 * `<parent>/.lowdose-new-<token>/<name>`, and put in place only when complete. Until then the
 * earlier folders are untouched; a failed run removes its sibling (`abandon`).
 *
 * `commit` marks the sibling complete (`.complete`), moves the earlier folders aside into
 * `.lowdose-old-<token>/`, moves the new ones in, then removes both siblings. A run killed on the
 * way leaves siblings that the next run (under the same lock) settles with `recoverStagedFolders`:
 * an incomplete new sibling is removed (the earlier folders are still in place); a complete one is
 * moved in as `commit` would have (its run had finished computing), and the earlier folders moved
 * aside are removed. The caller holds a lock on `parent` while it stages, commits and recovers.
 */
import { randomBytes } from 'node:crypto';
import { readdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { makeDirectories, writeFileAtomic } from './fs.js';

const NEW = '.lowdose-new-';
const OLD = '.lowdose-old-';
const COMPLETE = '.complete';

export interface StagedFolders {
  /** The hidden sibling the new folders are written into (`<dir>/<name>`). */
  readonly dir: string;
  /** Puts the new folders in place of the earlier ones (an empty new folder is left out). */
  commit(): Promise<void>;
  /** Removes the new folders; the earlier ones stay as they were. */
  abandon(): Promise<void>;
  /** Where a path under `dir` lies once committed (other paths as given). */
  finalPath(file: string): string;
}

/** Starts new contents for `names` of `parent` in a hidden sibling (each name created empty). */
export async function stageFolders(parent: string, names: readonly string[]): Promise<StagedFolders> {
  const token = randomBytes(6).toString('hex');
  // Absolute, as the files written under it are named (a relative --hallucination folder).
  const dir = path.resolve(parent, `${NEW}${token}`);
  for (const name of names) await makeDirectories(path.join(dir, name));
  return {
    dir,
    commit: async () => {
      await writeFileAtomic(path.join(dir, COMPLETE), '');
      await moveIn(parent, token, names);
    },
    abandon: () => rm(dir, { recursive: true, force: true }),
    finalPath: (file) => {
      const resolved = path.resolve(file);
      return resolved === dir || resolved.startsWith(dir + path.sep) ? path.resolve(parent, path.relative(dir, resolved)) : file;
    },
  };
}

/**
 * Settles what a killed run left in `parent` (see the module comment); says what it did through
 * `log`. Returns how many siblings it settled.
 */
export async function recoverStagedFolders(parent: string, names: readonly string[], log: (message: string) => void = () => {}): Promise<number> {
  const entries = await readdir(parent).catch(() => [] as string[]);
  let settled = 0;
  for (const entry of entries) {
    if (!entry.startsWith(NEW)) continue;
    const token = entry.slice(NEW.length);
    if (await exists(path.join(parent, entry, COMPLETE))) {
      await moveIn(parent, token, names);
      log(`${parent}: put in place the folders an interrupted run had finished (${names.join(', ')})`);
    } else {
      await rm(path.join(parent, entry), { recursive: true, force: true });
      log(`${parent}: removed the unfinished ${names.join(' and ')} an interrupted run left in ${entry}; the earlier ones are kept`);
    }
    settled++;
  }
  for (const entry of await readdir(parent).catch(() => [] as string[])) {
    // A swap done but for its cleanup.
    if (entry.startsWith(OLD)) {
      await rm(path.join(parent, entry), { recursive: true, force: true });
      settled++;
    }
  }
  return settled;
}

/**
 * Moves the complete new folders of `token` in: an earlier folder of a name still waiting in the new
 * sibling is moved aside first; a name already moved in is left. Repeatable after a kill.
 */
async function moveIn(parent: string, token: string, names: readonly string[]): Promise<void> {
  const fresh = path.join(parent, `${NEW}${token}`);
  const old = path.join(parent, `${OLD}${token}`);
  await makeDirectories(old);
  for (const name of names) {
    const staged = path.join(fresh, name);
    if (!(await exists(staged))) continue;
    const target = path.join(parent, name);
    if (await exists(target)) await rename(target, path.join(old, name));
    await rename(staged, target);
    // What a run that found nothing to write leaves: no empty folder.
    if ((await readdir(target)).length === 0) await rmdir(target);
  }
  await rm(old, { recursive: true, force: true });
  await rm(fresh, { recursive: true, force: true });
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}
