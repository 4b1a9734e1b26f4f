/**
 * The PACS pull folder of a server session: `<work>/pacs/<owner tag>/` (../util/owner-tag.ts:
 * host, pid, process start, random). Each server pulls into a folder of its own, so servers that
 * share a work folder (two ports, or the default `<tmp>/lowdose-serve-<user>` of one user) never
 * remove, list or store back each other's pulls. A server holds the lock of its folder
 * (`<work>/pacs/.<owner tag>.lock`, ../util/folder-lock.ts) while it runs (./app.ts), and
 * that lock's heartbeat says to servers on other hosts sharing the work folder that it lives. A
 * starting server removes only the folders of sessions that have ended: those of a process of this
 * host that no longer runs (or whose pid now names another process), those of another host whose
 * lock heartbeat stopped (older than LOCK_HEARTBEAT_TIMEOUT_MS), and anything in the old one-folder
 * layout. A folder of another host without a lock (an older lowdose's, without heartbeat) is kept:
 * from here it cannot be told whether that server still runs; that server clears it when it starts
 * again.
 */
import path from 'node:path';
import { readdir, rm } from 'node:fs/promises';
import { entryOwnerMayRun, hostTag, lockedEntryOf } from '../util/owner-tag.js';

/**
 * Removes from the pull root what no running server owns: session folders of ended processes
 * (this host: by pid; another host: by their lock's heartbeat), with their lock files, and entries
 * that are no session folder (the one-folder layout of earlier versions). Run before the data
 * index reads the work folder. Returns how many folders it removed.
 */
export async function clearEndedPullSessions(pullRoot: string, host = hostTag()): Promise<number> {
  const entries = await readdir(pullRoot, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  const mayRun = new Map<string, boolean>();
  const sessionMayRun = async (tag: string) => {
    if (!mayRun.has(tag)) mayRun.set(tag, await entryOwnerMayRun(pullRoot, tag, host));
    return mayRun.get(tag)!;
  };
  const ended = [];
  for (const entry of entries) {
    // A session's lock file goes with its session.
    const tag = lockedEntryOf(entry.name) ?? entry.name;
    if (!(await sessionMayRun(tag))) ended.push(entry);
  }
  await Promise.all(ended.map((e) => rm(path.join(pullRoot, e.name), { recursive: true, force: true })));
  return ended.filter((e) => e.isDirectory()).length;
}
