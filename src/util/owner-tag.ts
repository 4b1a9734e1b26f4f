/**
 * Names that say which process made a folder or a marker file: `<host>-<pid>-<start>-<8 hex>`
 * (`start`: the process's start time in clock ticks, `x` where unknown). A later process tells from
 * the name alone, with nothing to read and no window between creating a folder and writing its
 * owner, whether its maker may still run: by folder-lock.ts's rule (same host, pid running, same
 * start time, so a reused pid does not count). A maker on another host cannot be checked through
 * its pid: it holds the lock of its entry (`.<tag>.lock` beside it, ./folder-lock.ts) for as long
 * as it uses it, and that lock's heartbeat says whether it lives (entryOwnerMayRun): another
 * host's entry whose lock heartbeat is older than LOCK_HEARTBEAT_TIMEOUT_MS is a dead run's. An
 * entry of another host without a lock (an older lowdose made it) counts as running. Used for the
 * server's PACS pull folders (server/pull-sessions.ts) and the claims of `denoise <URL>` runs on
 * their pull folder (./folder-claims.ts).
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { lockHolder, processStartTime, staleReason } from './folder-lock.js';

/** The host part of a tag: the host name with only file-name-safe characters. */
export function hostTag(hostname = os.hostname()): string {
  return hostname.replace(/[^A-Za-z0-9.-]/g, '_') || 'host';
}

/** A new tag for a process (default: this one). */
export function ownerTag(pid = process.pid, host = hostTag()): string {
  return `${host}-${pid}-${processStartTime(pid) ?? 'x'}-${randomBytes(4).toString('hex')}`;
}

/** The process a tag names, or null for a name that is no tag. */
export function parseOwnerTag(name: string): { host: string; pid: number; processStart: number | null } | null {
  const match = /^(.+)-(\d+)-(\d+|x)-[0-9a-f]{8}$/.exec(name);
  if (!match) return null;
  return { host: match[1]!, pid: Number(match[2]), processStart: match[3] === 'x' ? null : Number(match[3]) };
}

/**
 * Whether the maker of entry `name` of `parent` may still run: on this host by its tag (pid and
 * start time); on another host by the heartbeat of the lock it holds on the entry
 * (folder-lock.ts lockHolder), and as running when it holds none (an older lowdose, without
 * heartbeat). False for a name that is no tag.
 */
export async function entryOwnerMayRun(parent: string, name: string, host = hostTag()): Promise<boolean> {
  const owner = parseOwnerTag(name);
  if (owner === null) return false;
  if (owner.host === host) return staleReason(owner, host) === null;
  const holder = await lockHolder(path.join(parent, name));
  return !holder.held || holder.stale === null;
}

/** The owner tag whose entry's lock (or a file of taking it: `.<tag>.lock...`) `name` is, or null. */
export function lockedEntryOf(name: string): string | null {
  const match = /^\.(.+?)\.lock(\..*)?$/.exec(name);
  return match && parseOwnerTag(match[1]!) ? match[1]! : null;
}
