/**
 * One writer per output series folder. Two runs writing the same folder would each write their
 * own series (new UIDs) into it, leaving a mix; so a run first creates `.<folder>.lock` beside the
 * folder exclusively (O_EXCL semantics: exactly one creator wins), holding its pid, host, process
 * start time and a random token, and removes it when done.
 *
 * A lock whose owner is gone is stale and taken over: same host and the pid is not running, or it
 * runs but started at another time (the pid was reused). A lock from another host cannot be
 * checked through its pid: its heartbeat says whether its run lives. While a run holds a lock it
 * refreshes the lock file's modification time every LOCK_HEARTBEAT_MS (the file says so,
 * `heartbeatMs`); a lock from another host whose modification time is older than
 * LOCK_HEARTBEAT_TIMEOUT_MS is a dead run's and is taken over. (Same-host locks keep the pid
 * check: it is exact. The timeout is ten heartbeats, far beyond the clock differences of hosts
 * that share a file system.) When it was taken by a queue job (`lowdose worker`), it names the job
 * and its attempt's token, and the queue answers too: once the queue no longer holds that
 * attempt's job lock (its worker stopped renewing it: dead, or cut off from Redis, and a live
 * worker that loses its job lock stops its job), and after a grace period that lets such a worker
 * release the folder, the lock is stale. A lock from another host written by an older lowdose has
 * no heartbeat: it is respected and the error says which file to remove. Taking over is guarded by
 * a second O_EXCL file, so two runs that both find the same stale lock cannot both take it.
 *
 * A run can be judged dead while it lives (suspended past the timeout, or its host cut off from
 * the shared file system). It must then not write beside the run that took its folder over: a held
 * lock's `assertHeld` reads the lock file and throws E_LOCKED naming the new owner once it is no
 * longer ours, and `lost` is aborted (by that check or by a heartbeat). The writers call it before
 * each slice file, completion marker and report.json they write under the lock.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { link, open, readFile, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { LowdoseError } from '../errors.js';
import { makeOutputFolder } from './fs.js';

export interface LockOwner {
  readonly pid: number;
  readonly host: string;
  /** ISO time the lock was taken. */
  readonly startedAt: string;
  /** The owner's process start time (Linux clock ticks since boot), null where unknown. */
  readonly processStart: number | null;
  readonly token: string;
  /** The queue job attempt that took the lock, where a `lowdose worker` did. */
  readonly job?: QueueJobRef;
  /** How often the owner refreshes the lock file's modification time, ms; absent in a lock an older lowdose wrote. */
  readonly heartbeatMs?: number;
}

/** A held lock's file has its modification time refreshed this often, ms. */
export const LOCK_HEARTBEAT_MS = 30_000;
/**
 * A lock from another host whose modification time is older than this is a dead run's, ms (ten
 * heartbeats; ten of the owner's own, where it says it beats less often).
 */
export const LOCK_HEARTBEAT_TIMEOUT_MS = 10 * LOCK_HEARTBEAT_MS;

/** How old another host's lock may be before it is a dead run's, for an owner that beats every `heartbeatMs`. */
function heartbeatTimeout(heartbeatMs: number): number {
  return Math.max(LOCK_HEARTBEAT_TIMEOUT_MS, 10 * heartbeatMs);
}

/** A BullMQ job attempt: the job's id and the token its worker holds the job's lock with. */
export interface QueueJobRef {
  readonly id: string;
  readonly token: string;
}

/** For runs that are queue jobs: who we are, and how to ask the queue about another lock's job. */
export interface QueueLockCheck {
  /** This run's job attempt, written into the lock file. */
  readonly job: QueueJobRef;
  /** Whether the queue still holds `job`'s lock for that attempt (its worker is alive and renewing). */
  holds(job: QueueJobRef): Promise<boolean>;
  /**
   * How long a lock whose job attempt has lost its queue lock is left to its owner before it is
   * taken over, ms: time for a worker that is alive to see the loss and release the folder.
   */
  readonly graceMs: number;
}

export interface FolderLock {
  /** The lock file. */
  readonly path: string;
  /** The folder it guards. */
  readonly dir: string;
  /** Removes the lock file if it is still ours. */
  release(): Promise<void>;
  /**
   * Refreshes the lock file's modification time, the heartbeat that tells other hosts this run
   * lives (done every LOCK_HEARTBEAT_MS until release); false when the lock is no longer ours (or
   * its file could not be read this time).
   */
  heartbeat(): Promise<boolean>;
  /**
   * Resolves while the lock file is still this run's; else throws E_LOCKED naming the run that
   * took it over (and `lost` is aborted). Called before each write that matters: a run judged dead
   * (suspended, or its host cut off from the shared file system, past the heartbeat timeout) and
   * taken over must not write beside the new owner.
   */
  assertHeld(): Promise<void>;
  /** Aborted, with assertHeld's E_LOCKED error as reason, once a heartbeat or a check finds the lock taken over. */
  readonly lost: AbortSignal;
}

export interface LockOptions {
  /** Wait for a live owner to finish instead of failing with E_LOCKED. */
  readonly wait?: boolean;
  /** With `wait`: fail with E_LOCKED after waiting this long, ms (default: wait as long as it takes). */
  readonly maxWaitMs?: number;
  /** Poll interval while waiting, ms (default 1000). */
  readonly pollMs?: number;
  readonly signal?: AbortSignal;
  /** Told once when a run starts waiting (unless `quietWait`), and when it takes over a stale lock. */
  readonly log?: (message: string) => void;
  /** Wait without telling `log`: for locks held only for milliseconds, where "waiting" would alarm for nothing. */
  readonly quietWait?: boolean;
  /** Set by queue workers: other hosts' locks taken by queue jobs are judged by the queue. */
  readonly queue?: QueueLockCheck;
}

/** `.<folder>.lock` in the folder's parent: locking does not create the folder. */
export function lockPathFor(dir: string): string {
  const resolved = path.resolve(dir);
  return path.join(path.dirname(resolved), `.${path.basename(resolved)}.lock`);
}

/** A process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat), or null. */
export function processStartTime(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]);
    return Number.isFinite(ticks) ? ticks : null;
  } catch {
    return null;
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Why the lock's owner (or any process named by pid, host and start time) is known to be gone, or null when it may still be running. */
export function staleReason(owner: Pick<LockOwner, 'pid' | 'host' | 'processStart'>, host = hostname()): string | null {
  if (owner.host !== host) return null;
  if (!isRunning(owner.pid)) return `process ${owner.pid} is no longer running`;
  if (owner.processStart !== null) {
    const now = processStartTime(owner.pid);
    if (now !== null && now !== owner.processStart) return `process ${owner.pid} is another process now (the pid was reused)`;
  }
  return null;
}

/**
 * Why a lock file's owner is known to be gone, or null when it may still run: on this host by its
 * pid (staleReason); from another host by its heartbeat, when it has one (`ageMs`: how long ago
 * the file was last modified).
 */
function lockStaleReason(owner: LockOwner, ageMs: number, host: string): string | null {
  const byPid = staleReason(owner, host);
  if (byPid !== null || owner.host === host || owner.heartbeatMs === undefined) return byPid;
  const timeout = heartbeatTimeout(owner.heartbeatMs);
  return ageMs > timeout
    ? `its heartbeat stopped: ${describe(owner)}, last refreshed it ${Math.round(ageMs / 1000)} s ago (a live run refreshes it every ${owner.heartbeatMs / 1000} s; dead after ${timeout / 1000} s)`
    : null;
}

function parseOwner(text: string): LockOwner | null {
  try {
    const value = JSON.parse(text) as Partial<LockOwner>;
    if (typeof value.pid !== 'number' || typeof value.host !== 'string' || typeof value.token !== 'string') return null;
    const job = value.job as Partial<QueueJobRef> | undefined;
    return {
      pid: value.pid,
      host: value.host,
      startedAt: typeof value.startedAt === 'string' ? value.startedAt : '?',
      processStart: typeof value.processStart === 'number' ? value.processStart : null,
      token: value.token,
      ...(typeof job?.id === 'string' && typeof job.token === 'string' ? { job: { id: job.id, token: job.token } } : {}),
      ...(typeof value.heartbeatMs === 'number' && value.heartbeatMs > 0 ? { heartbeatMs: value.heartbeatMs } : {}),
    };
  } catch {
    return null;
  }
}

/** A lock file nobody wrote into for this long was left by a run killed while creating it. */
const UNWRITTEN_STALE_MS = 10_000;

type Existing = { kind: 'owner'; owner: LockOwner; ageMs: number } | { kind: 'unreadable'; ageMs: number } | { kind: 'gone' };

async function readExisting(file: string): Promise<Existing> {
  let text: string;
  let mtimeMs: number;
  try {
    [text, { mtimeMs }] = await Promise.all([readFile(file, 'utf8'), stat(file)]);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'gone' };
    throw error;
  }
  const owner = parseOwner(text);
  const ageMs = Date.now() - mtimeMs;
  return owner ? { kind: 'owner', owner, ageMs } : { kind: 'unreadable', ageMs };
}

/**
 * Whether the lock of `dir` is held, and when it is, why its holder is known to be gone (`stale`,
 * by the rule a taker applies: this host's lock by its pid, another host's by its heartbeat, a lock
 * file left empty by its age), or null when the holder may still run. For entries whose owner
 * holds their lock for as long as it uses them (folder claims, server pull sessions): the lock's
 * heartbeat says for them whether a run on another host lives.
 */
export async function lockHolder(dir: string): Promise<{ readonly held: false } | { readonly held: true; readonly stale: string | null }> {
  const existing = await readExisting(lockPathFor(dir));
  if (existing.kind === 'gone') return { held: false };
  if (existing.kind === 'unreadable') return { held: true, stale: existing.ageMs > UNWRITTEN_STALE_MS ? 'its lock file is empty' : null };
  return { held: true, stale: lockStaleReason(existing.owner, existing.ageMs, hostname()) };
}

/**
 * Creates `file` holding `content`, atomically and exclusively; false when it already exists. The
 * content is written to a private name first and hard-linked into place (link fails with EEXIST
 * like O_EXCL), so a lock is never seen empty; where hard links are not supported, O_EXCL create
 * and write.
 */
async function createExclusive(file: string, content: string): Promise<boolean> {
  const staging = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.new`;
  await writeFile(staging, content, { flag: 'wx' });
  try {
    await link(staging, file);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EXDEV') throw error;
  } finally {
    await unlink(staging).catch(() => undefined);
  }
  let handle;
  try {
    handle = await open(file, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    await handle.writeFile(content);
  } finally {
    await handle.close();
  }
  return true;
}

/**
 * Removes a stale lock, unless another run did so (and maybe took the folder) since we read it:
 * under a guard file, the lock is removed only if it still holds the stale owner's token.
 */
async function removeStale(file: string, staleToken: string | null, me: LockOwner): Promise<void> {
  const guard = `${file}.takeover`;
  if (!(await createExclusive(guard, JSON.stringify(me)))) {
    // Another run is taking over right now, or died doing it (the guard is then stale too).
    const existing = await readExisting(guard);
    const dead =
      (existing.kind === 'owner' && lockStaleReason(existing.owner, existing.ageMs, hostname()) !== null) ||
      (existing.kind === 'unreadable' && existing.ageMs > UNWRITTEN_STALE_MS);
    if (dead) await unlink(guard).catch(() => undefined);
    return;
  }
  try {
    const now = await readExisting(file);
    const same = now.kind === 'owner' ? now.owner.token === staleToken : now.kind === 'unreadable' && staleToken === null;
    if (same) await unlink(file).catch(() => undefined);
  } finally {
    await unlink(guard).catch(() => undefined);
  }
}

function describe(owner: LockOwner): string {
  return `pid ${owner.pid} on ${owner.host}, started ${owner.startedAt}${owner.job ? `, queue job ${owner.job.id}` : ''}`;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(new LowdoseError('E_CANCELLED', 'cancelled while waiting for an output folder lock'));
      },
      { once: true },
    );
  });
}

/**
 * Takes the lock of output folder `dir`. Throws E_LOCKED when a live run holds it (unless
 * `wait`, which polls until it is free); takes over stale locks.
 */
export async function acquireFolderLock(dir: string, options: LockOptions = {}): Promise<FolderLock> {
  const file = lockPathFor(dir);
  await makeOutputFolder(path.dirname(file));
  const me: LockOwner = {
    pid: process.pid,
    host: hostname(),
    startedAt: new Date().toISOString(),
    processStart: processStartTime(process.pid),
    token: randomBytes(12).toString('hex'),
    ...(options.queue ? { job: options.queue.job } : {}),
    heartbeatMs: LOCK_HEARTBEAT_MS,
  };
  const content = `${JSON.stringify(me)}\n`;
  let toldWaiting = false;
  const began = Date.now();
  // Lock token -> when its job attempt was first seen without its queue lock.
  const jobLockLost = new Map<string, number>();
  for (;;) {
    options.signal?.throwIfAborted?.();
    if (await createExclusive(file, content)) return heldLock(file, path.resolve(dir), me.token, options.log);
    const existing = await readExisting(file);
    if (existing.kind === 'gone') continue;
    if (existing.kind === 'owner') {
      let stale = lockStaleReason(existing.owner, existing.ageMs, me.host);
      const job = existing.owner.job;
      if (stale === null && options.queue && job && existing.owner.host !== me.host && !(await options.queue.holds(job))) {
        const since = jobLockLost.get(existing.owner.token) ?? Date.now();
        jobLockLost.set(existing.owner.token, since);
        const left = since + options.queue.graceMs - Date.now();
        if (left > 0) {
          options.log?.(
            `the lock of ${dir} belongs to queue job ${job.id} on ${existing.owner.host}, which no longer holds its job lock; taking it over in ${Math.ceil(left / 1000)} s unless it is released`,
          );
          await sleep(left, options.signal);
          continue;
        }
        stale = `queue job ${job.id} on ${existing.owner.host} has not held its job lock for ${Math.round((Date.now() - since) / 1000)} s (its worker is gone or cut off)`;
      }
      if (stale !== null) {
        options.log?.(`taking over the lock of ${dir}: ${stale}`);
        await removeStale(file, existing.owner.token, me);
        continue;
      }
    } else if (existing.ageMs > UNWRITTEN_STALE_MS) {
      options.log?.(`taking over the lock of ${dir}: its lock file is empty (a run was killed while creating it)`);
      await removeStale(file, null, me);
      continue;
    }
    if (!options.wait || (options.maxWaitMs !== undefined && Date.now() - began >= options.maxWaitMs)) {
      const who = existing.kind === 'owner' ? ` (${describe(existing.owner)})` : '';
      const elsewhere = existing.kind === 'owner' && existing.owner.host !== me.host ? existing : null;
      const beat = elsewhere?.owner.heartbeatMs
        ? ` (its heartbeat, refreshed every ${elsewhere.owner.heartbeatMs / 1000} s while it lives, is ${Math.max(0, Math.round(elsewhere.ageMs / 1000))} s old: it is taken over once that is over ${heartbeatTimeout(elsewhere.owner.heartbeatMs) / 1000} s)`
        : '';
      throw new LowdoseError(
        'E_LOCKED',
        `output folder ${dir} is being written by another lowdose run${who}; wait for it to finish, or pass --wait-lock` +
          (elsewhere ? `. If that run is gone, delete ${file}${beat}` : ''),
        { path: file },
      );
    }
    if (!toldWaiting && !options.quietWait) {
      options.log?.(`waiting for another lowdose run to finish with ${dir}${existing.kind === 'owner' ? ` (${describe(existing.owner)})` : ''}`);
      toldWaiting = true;
    }
    await sleep(options.pollMs ?? 1000, options.signal);
  }
}

function heldLock(file: string, dir: string, token: string, log?: (message: string) => void): FolderLock {
  let released = false;
  const lost = new AbortController();
  /**
   * Null while the lock file is still ours; else the E_LOCKED error of its loss (said once, and
   * `lost` aborted). A read that fails otherwise than "no such file" throws: it proves nothing.
   */
  const loss = async (): Promise<LowdoseError | null> => {
    if (lost.signal.aborted) return lost.signal.reason as LowdoseError;
    const existing = await readExisting(file);
    if (existing.kind === 'owner' && existing.owner.token === token) return null;
    const error = new LowdoseError(
      'E_LOCKED',
      `the lock of ${dir} is no longer this run's: ${existing.kind === 'owner' ? `it was taken over by ${describe(existing.owner)}` : 'its file is gone'} (another run judged this one dead: no heartbeat for too long); this run writes nothing more there and leaves that run's output`,
      { path: dir },
    );
    clearInterval(timer);
    log?.(error.message);
    lost.abort(error);
    return error;
  };
  const heartbeat = async (): Promise<boolean> => {
    if (released || lost.signal.aborted) return false;
    // A file that could not be read this time is tried again at the next beat.
    if ((await loss().catch(() => undefined)) !== null) return false;
    const now = new Date();
    await utimes(file, now, now).catch(() => undefined);
    return true;
  };
  // Does not keep the process alive: a run that is done releases its locks.
  const timer = setInterval(() => void heartbeat().catch(() => undefined), LOCK_HEARTBEAT_MS);
  timer.unref?.();
  return {
    path: file,
    dir,
    heartbeat,
    lost: lost.signal,
    async assertHeld() {
      const error = await loss();
      if (error) throw error;
    },
    async release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      const existing = await readExisting(file).catch(() => ({ kind: 'gone' }) as const);
      if (existing.kind === 'owner' && existing.owner.token === token) await unlink(file).catch(() => undefined);
    },
  };
}

/**
 * Locks several folders, in sorted order so that two waiting runs cannot deadlock; on failure
 * the locks already taken are released.
 */
export async function acquireFolderLocks(dirs: readonly string[], options: LockOptions = {}): Promise<FolderLock[]> {
  const held: FolderLock[] = [];
  try {
    for (const dir of [...new Set(dirs.map((d) => path.resolve(d)))].sort()) held.push(await acquireFolderLock(dir, options));
    return held;
  } catch (error) {
    await releaseAll(held);
    throw error;
  }
}

/** Throws E_LOCKED when another run took over any of `locks` (FolderLock.assertHeld). */
export async function assertAllHeld(locks: readonly FolderLock[]): Promise<void> {
  for (const lock of locks) await lock.assertHeld();
}

export async function releaseAll(locks: readonly FolderLock[]): Promise<void> {
  for (const lock of locks) await lock.release();
}
