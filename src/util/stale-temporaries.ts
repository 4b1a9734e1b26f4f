/**
 * Removing what killed runs left of the lists of unreadable files (./error-list-file.ts), only
 * where nothing can still be using it:
 *
 * - a temporary or working file beside a final file, `.<final>.<owner tag>.tmp` (./owner-tag.ts):
 *   when its process is known to be gone (same host, pid not running or reused; another host's is
 *   left, as it cannot be checked through its pid);
 * - one whose name says no owner, `.<final>.<8 hex>.tmp` (what lowdose wrote before its working
 *   files named their owner, ./fs.ts temporaryPathFor): its writer wrote it and renamed it at once,
 *   so once it has not been modified for LOCK_HEARTBEAT_TIMEOUT_MS it is taken as a dead run's, by
 *   the rule that judges another host's folder lock (./folder-lock.ts);
 * - a scratch folder `lowdose-unreadable-*` in the system's temporary folder (a run before the
 *   scratch file was unlinked as soon as it was open left one when killed): the run that made it
 *   held its file open until it removed it, so one of this user, older than
 *   LOCK_HEARTBEAT_TIMEOUT_MS, holding no file that a process of this host has open, is a dead
 *   run's. This is proved only where the process table shows every process that could hold it:
 *   Linux's /proc, readable for every process of this user, and the temporary folder on a local
 *   file system (not one other hosts may share); elsewhere nothing is removed.
 */
import { readdir, readlink, rm, stat, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LOCK_HEARTBEAT_TIMEOUT_MS, staleReason } from './folder-lock.js';
import { hostTag, parseOwnerTag } from './owner-tag.js';

/**
 * Whether `name` is a temporary `.<final>.<tag>.tmp` of a final name `wanted` accepts, with `tag`
 * an owner tag or 8 hex digits; its tag, or null. (Both the final name and a host's part of the tag
 * may hold dots: every split is tried.)
 */
function temporaryTag(name: string, wanted: (final: string) => boolean): string | null {
  if (!name.startsWith('.') || !name.endsWith('.tmp')) return null;
  const middle = name.slice(1, -'.tmp'.length);
  for (let at = middle.indexOf('.'); at > 0; at = middle.indexOf('.', at + 1)) {
    const tag = middle.slice(at + 1);
    if (wanted(middle.slice(0, at)) && (/^[0-9a-f]{8}$/.test(tag) || parseOwnerTag(tag) !== null)) return tag;
  }
  return null;
}

/**
 * Removes from `dir` the temporaries of the final names `finalName` accepts whose writer is known
 * to be gone (see the module comment); returns how many were removed.
 */
export async function removeStaleTemporaries(dir: string, finalName: string | ((final: string) => boolean), host = hostTag(), now = Date.now()): Promise<number> {
  const wanted = typeof finalName === 'string' ? (final: string) => final === finalName : finalName;
  let removed = 0;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const tag = temporaryTag(name, wanted);
    if (tag === null) continue;
    const file = path.join(dir, name);
    const owner = parseOwnerTag(tag);
    const stale = owner !== null
      ? owner.host === host && staleReason(owner, host) !== null
      : await stat(file).then((s) => now - s.mtimeMs > LOCK_HEARTBEAT_TIMEOUT_MS, () => false);
    if (stale && (await rm(file, { force: true }).then(() => true, () => false))) removed++;
  }
  return removed;
}

/** The scratch folders' names in the temporary folder (./error-list-file.ts ErrorListFile.open). */
export const SCRATCH_PREFIX = 'lowdose-unreadable-';

/** statfs types of local file systems (ext2-4, xfs, btrfs, tmpfs, ramfs, overlayfs, zfs, f2fs). */
const LOCAL_FILE_SYSTEMS = new Set([0xef53, 0x58465342, 0x9123683e, 0x01021994, 0x858458f6, 0x794c7630, 0x2fc12fc1, 0xf2f52010]);

/**
 * Removes the scratch folders killed runs of this user left in `tmp` (see the module comment);
 * returns how many were removed, 0 where it cannot be proved that none is in use.
 */
export async function removeStaleScratchFolders(tmp = tmpdir(), now = Date.now()): Promise<number> {
  const uid = process.getuid?.();
  if (uid === undefined) return 0;
  const candidates: string[] = [];
  for (const name of await readdir(tmp).catch(() => [] as string[])) {
    if (!name.startsWith(SCRATCH_PREFIX)) continue;
    const folder = path.join(tmp, name);
    const info = await stat(folder).catch(() => null);
    if (info?.isDirectory() && info.uid === uid && now - info.mtimeMs > LOCK_HEARTBEAT_TIMEOUT_MS) candidates.push(folder);
  }
  if (candidates.length === 0) return 0;
  const local = await statfs(tmp).then((s) => LOCAL_FILE_SYSTEMS.has(Number(s.type)), () => false);
  const open = local ? await openFilesOf(uid) : null;
  if (open === null) return 0;
  let removed = 0;
  for (const folder of candidates) {
    const inside = `${folder}${path.sep}`;
    if ([...open].some((file) => file.startsWith(inside))) continue;
    if (await rm(folder, { recursive: true, force: true }).then(() => true, () => false)) removed++;
  }
  return removed;
}

/** The files the processes of user `uid` on this host have open (/proc), or null where that cannot be read whole. */
async function openFilesOf(uid: number): Promise<Set<string> | null> {
  const pids = await readdir('/proc').catch(() => null);
  if (pids === null) return null;
  const files = new Set<string>();
  for (const pid of pids) {
    if (!/^\d+$/.test(pid)) continue;
    const owner = await stat(`/proc/${pid}`).catch(() => null);
    // Gone meanwhile, or another user's (it cannot open a folder of this user's made 0700).
    if (owner === null || owner.uid !== uid) continue;
    const fds = await readdir(`/proc/${pid}/fd`).catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? [] : null));
    if (fds === null) return null;
    for (const fd of fds) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => null);
      // An unlinked file reads "<path> (deleted)": its folder is still its own.
      if (target !== null) files.add(target.replace(/ \(deleted\)$/, ''));
    }
  }
  return files;
}
