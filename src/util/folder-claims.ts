/**
 * Runs that share a folder they may remove: two `denoise <URL>` runs of one study pull into the
 * same cache folder (util/pull-cache.ts), and the first to succeed would remove it while the other
 * still reads from it. Each run marks its use with `<dir>/.claims/<owner tag>` (a hidden entry: the
 * folder scan skips it) and on release removes the folder only when no other claim is held by a
 * process that may still run (./owner-tag.ts): the last run to finish removes it. A run that was
 * killed leaves its claim behind; it no longer counts once its process has ended.
 */
import { mkdir, readdir, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { ownerMayRun, ownerTag } from './owner-tag.js';

const CLAIMS = '.claims';

export interface FolderClaim {
  /**
   * Gives the claim up; with `remove`, also removes the folder unless another run's claim is
   * live. Resolves to whether the folder was removed.
   */
  release(options: { readonly remove: boolean }): Promise<boolean>;
}

/** Claims `dir` (created if missing) for this run. */
export async function claimFolder(dir: string): Promise<FolderClaim> {
  const claims = path.join(dir, CLAIMS);
  const mine = path.join(claims, ownerTag());
  await mkdir(mine, { recursive: true });
  return {
    async release({ remove }) {
      await rm(mine, { recursive: true, force: true });
      if (!remove) {
        // Nothing else in it (a run that failed before retrieving anything): leave no empty folder.
        await rmdir(claims).then(() => rmdir(dir)).catch(() => {});
        return false;
      }
      const others = await readdir(claims).catch(() => []);
      if (others.some((name) => ownerMayRun(name))) return false;
      await rm(dir, { recursive: true, force: true });
      return true;
    },
  };
}
