/**
 * The PACS pull folder of a server session: `<work>/pacs/<host>-<pid>-<random>/`. Each server
 * pulls into a folder of its own, named after its process, so servers that share a work folder
 * (two ports, or the default `<tmp>/lowdose-serve-<user>` of one user) never remove, list or store
 * back each other's pulls. A starting server removes only the folders of sessions that have ended:
 * those of a process on this host that no longer runs, and anything in the old one-folder layout.
 * A folder made on another host (a work folder on a network share) is kept: from here it cannot
 * be told whether that server still runs; that server clears it when it starts again.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { readdir, rm } from 'node:fs/promises';

/** The host part of a session folder's name: the host name with only file-name-safe characters. */
export function hostTag(hostname = os.hostname()): string {
  return hostname.replace(/[^A-Za-z0-9.-]/g, '_') || 'host';
}

/** A new session folder's name for this process: `<host>-<pid>-<8 hex digits>`. */
export function pullSessionName(pid = process.pid, host = hostTag()): string {
  return `${host}-${pid}-${randomBytes(4).toString('hex')}`;
}

/** The host and process a session folder's name stands for, or null for any other name. */
export function parsePullSessionName(name: string): { host: string; pid: number } | null {
  const match = /^(.+)-(\d+)-[0-9a-f]{8}$/.exec(name);
  return match ? { host: match[1]!, pid: Number(match[2]) } : null;
}

/** Whether a process with this id runs on this host (one we may not signal runs too). */
export function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface StaleCheck {
  /** This host's tag (default: hostTag()). */
  readonly host?: string;
  /** Whether a process of this host runs (default: processRuns). */
  readonly runs?: (pid: number) => boolean;
}

/**
 * Removes from the pull root what no running server owns: session folders of ended processes of
 * this host and entries that are no session folder (the one-folder layout of earlier versions).
 * Run before the data index reads the work folder. Returns how many folders it removed.
 */
export async function clearEndedPullSessions(pullRoot: string, check: StaleCheck = {}): Promise<number> {
  const host = check.host ?? hostTag();
  const runs = check.runs ?? processRuns;
  const entries = await readdir(pullRoot, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  const ended = entries.filter((e) => {
    const owner = parsePullSessionName(e.name);
    return owner === null || (owner.host === host && !runs(owner.pid));
  });
  await Promise.all(ended.map((e) => rm(path.join(pullRoot, e.name), { recursive: true, force: true })));
  return ended.filter((e) => e.isDirectory()).length;
}
