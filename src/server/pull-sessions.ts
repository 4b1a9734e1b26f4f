/**
 * The PACS pull folder of a server session: `<work>/pacs/<owner tag>/` (../util/owner-tag.ts:
 * host, pid, process start, random). Each server pulls into a folder of its own, so servers that
 * share a work folder (two ports, or the default `<tmp>/lowdose-serve-<user>` of one user) never
 * remove, list or store back each other's pulls. A starting server removes only the folders of
 * sessions that have ended: those of a process of this host that no longer runs (or whose pid now
 * names another process), and anything in the old one-folder layout. A folder made on another host
 * (a work folder on a network share) is kept: from here it cannot be told whether that server
 * still runs; that server clears it when it starts again.
 */
import path from 'node:path';
import { readdir, rm } from 'node:fs/promises';
import { hostTag, ownerMayRun } from '../util/owner-tag.js';

/**
 * Removes from the pull root what no running server owns: session folders of ended processes of
 * this host and entries that are no session folder (the one-folder layout of earlier versions).
 * Run before the data index reads the work folder. Returns how many folders it removed.
 */
export async function clearEndedPullSessions(pullRoot: string, host = hostTag()): Promise<number> {
  const entries = await readdir(pullRoot, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  const ended = entries.filter((e) => !ownerMayRun(e.name, host));
  await Promise.all(ended.map((e) => rm(path.join(pullRoot, e.name), { recursive: true, force: true })));
  return ended.filter((e) => e.isDirectory()).length;
}
