/**
 * Names that say which process made a folder or a marker file: `<host>-<pid>-<start>-<8 hex>`
 * (`start`: the process's start time in clock ticks, `x` where unknown). A later process tells from
 * the name alone, with nothing to read and no window between creating a folder and writing its
 * owner, whether its maker may still run: by folder-lock.ts's rule (same host, pid running, same
 * start time, so a reused pid does not count). A maker on another host cannot be checked from
 * here and counts as running. Used for the server's PACS pull folders (server/pull-sessions.ts) and
 * the claims of `denoise <URL>` runs on their pull folder (./folder-claims.ts).
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { processStartTime, staleReason } from './folder-lock.js';

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

/** Whether the process a tag names may still run (true for another host's); false for a name that is no tag. */
export function ownerMayRun(name: string, host = hostTag()): boolean {
  const owner = parseOwnerTag(name);
  return owner !== null && staleReason(owner, host) === null;
}
