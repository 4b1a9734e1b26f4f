/**
 * Runs that share a folder they may remove: two `denoise <URL>` runs of one study pull into the
 * same cache folder (util/pull-cache.ts), and the first to succeed would remove it while the other
 * still reads from it. Each run marks its use with `<dir>/.claims/<owner tag>` (a hidden entry: the
 * folder scan skips it) and on release removes the folder only when no other claim is held by a
 * process that may still run (./owner-tag.ts): the last run to finish removes it. A run that was
 * killed leaves its claim behind; it no longer counts once its process has ended. A claim's run
 * holds the lock of its claim (`.claims/.<owner tag>.lock`, ./folder-lock.ts) until it releases
 * it, so a claim of another host, whose process cannot be checked from here, counts only while
 * that lock's heartbeat is fresh (entryOwnerMayRun): a run on another host that died leaves a
 * claim that stops counting once its heartbeat is LOCK_HEARTBEAT_TIMEOUT_MS old, and the folder
 * is removed by the next run that succeeds.
 *
 * A run killed while receiving leaves temporaries (`.<name>.<8 hex>.tmp`, ./fs.ts: a DIMSE
 * instance on its way in, a DICOMweb instance being written) in the folder or its series folders.
 * A run that claims the folder when no other claim is live removes them: no live run owns them.
 *
 * Claiming and the release's "am I the last? then remove" are each done while holding the folder's
 * lock (`.<folder>.lock` beside it, ./folder-lock.ts: O_EXCL, taken over when its holder's process
 * is gone), so they cannot interleave across processes: without it, a run claiming between
 * another's last check and its removal had its claim and its pulled files deleted under it. The
 * lock is held for milliseconds (a mkdir; a readdir and the removal), never while pulling or
 * denoising, so runs of one source still proceed side by side.
 */
import { readdir, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { acquireFolderLock } from './folder-lock.js';
import { makeOutputFolder, removeTemporaries } from './fs.js';
import { entryOwnerMayRun, ownerTag } from './owner-tag.js';

const CLAIMS = '.claims';
/** Poll interval while another run holds the lock: it is held for milliseconds. */
const POLL_MS = 10;

export interface FolderClaim {
  /**
   * Gives the claim up; with `remove`, also removes the folder unless another run's claim is
   * live. Resolves to whether the folder was removed.
   */
  release(options: { readonly remove: boolean }): Promise<boolean>;
}

export interface ClaimOptions {
  /** Told when a lock left by a killed run is taken over. */
  readonly log?: (message: string) => void;
}

/** Runs `step` while holding `dir`'s lock (waiting for another run's, taking over a dead run's). */
async function underLock<T>(dir: string, options: ClaimOptions, step: () => Promise<T>): Promise<T> {
  const lock = await acquireFolderLock(dir, { wait: true, pollMs: POLL_MS, quietWait: true, ...(options.log ? { log: options.log } : {}) });
  try {
    return await step();
  } finally {
    await lock.release();
  }
}

/** Claims `dir` (created if missing) for this run. */
export async function claimFolder(dir: string, options: ClaimOptions = {}): Promise<FolderClaim> {
  const claims = path.join(dir, CLAIMS);
  const mine = path.join(claims, ownerTag());
  // The claim's own lock first (its name is this run's alone: never waited for), whose heartbeat
  // tells runs on other hosts that this one lives.
  const claimLock = await underLock(dir, options, async () => {
    const lock = await acquireFolderLock(mine, options.log ? { log: options.log } : {});
    await makeOutputFolder(mine);
    if (!(await otherClaimLive(claims, path.basename(mine)))) {
      const removed = await removeLeftTemporaries(dir);
      if (removed > 0) options.log?.(`removed ${removed} temporary file(s) a killed run left in ${dir}`);
    }
    return lock;
  });
  return {
    release: ({ remove }) =>
      underLock(dir, options, async () => {
        await rm(mine, { recursive: true, force: true });
        await claimLock.release();
        if (!remove) {
          // Nothing else in it (a run that failed before retrieving anything): leave no empty folder.
          await rmdir(claims)
            .then(() => rmdir(dir))
            .catch(() => {});
          return false;
        }
        if (await otherClaimLive(claims, path.basename(mine))) return false;
        await rm(dir, { recursive: true, force: true });
        return true;
      }),
  };
}

/** Whether a claim in `claims` other than `mine` is held by a run that may still run. */
async function otherClaimLive(claims: string, mine: string): Promise<boolean> {
  for (const name of await readdir(claims).catch(() => [])) if (name !== mine && (await entryOwnerMayRun(claims, name))) return true;
  return false;
}

/** Removes our temporaries from `dir` and its folders (not hidden ones: the claims); how many. */
async function removeLeftTemporaries(dir: string): Promise<number> {
  const folders = (await readdir(dir, { withFileTypes: true }).catch(() => [])).filter((e) => e.isDirectory() && !e.name.startsWith('.'));
  let removed = await removeTemporaries(dir);
  for (const folder of folders) removed += await removeTemporaries(path.join(dir, folder.name));
  return removed;
}
