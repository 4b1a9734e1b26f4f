/** The output folder lock: O_EXCL, owner facts in the file, stale locks taken over, live ones respected. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { isLowdoseError } from '../../src/errors.js';
import {
  acquireFolderLock,
  acquireFolderLocks,
  LOCK_HEARTBEAT_MS,
  LOCK_HEARTBEAT_TIMEOUT_MS,
  lockPathFor,
  processStartTime,
  staleReason,
  type LockOptions,
} from '../../src/util/folder-lock.js';
import { isTemporaryName, removeTemporaries, temporaryPathFor } from '../../src/util/fs.js';

const root = mkdtempSync(path.join(tmpdir(), 'lowdose-lock-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The pid of a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

async function lockError(dir: string, options: LockOptions = {}): Promise<Error> {
  try {
    await acquireFolderLock(dir, options);
  } catch (error) {
    return error as Error;
  }
  throw new Error('the lock was granted');
}

describe('output folder lock', () => {
  it('is a file beside the folder holding pid, host and start time, and a second taker gets E_LOCKED until release', async () => {
    const dir = path.join(root, 'a', 'ct-series');
    const lock = await acquireFolderLock(dir);
    expect(lock.path).toBe(path.join(root, 'a', '.ct-series.lock'));
    expect(existsSync(dir)).toBe(false); // locking does not create the folder
    const owner = JSON.parse(readFileSync(lock.path, 'utf8')) as Record<string, unknown>;
    expect(owner).toMatchObject({ pid: process.pid, host: hostname() });
    expect(Date.parse(owner.startedAt as string)).toBeGreaterThan(0);

    const error = await lockError(dir);
    expect(isLowdoseError(error) && error.code).toBe('E_LOCKED');
    expect(error.message).toContain(`pid ${process.pid} on ${hostname()}`);
    expect(error.message).toContain('--wait-lock');

    await lock.release();
    expect(existsSync(lock.path)).toBe(false);
    await (await acquireFolderLock(dir)).release();
  });

  it('takes over a lock whose process is gone', async () => {
    const dir = path.join(root, 'stale-dead');
    const pid = deadPid();
    writeFileSync(lockPathFor(dir), JSON.stringify({ pid, host: hostname(), startedAt: 'then', processStart: null, token: 'old' }));
    const messages: string[] = [];
    const lock = await acquireFolderLock(dir, { log: (m) => messages.push(m) });
    expect(messages.join('\n')).toContain(`process ${pid} is no longer running`);
    expect(JSON.parse(readFileSync(lock.path, 'utf8'))).toMatchObject({ pid: process.pid });
    await lock.release();
  });

  it('takes over a lock whose pid now belongs to another process (pid reuse)', async () => {
    const dir = path.join(root, 'stale-reused');
    const start = processStartTime(process.pid);
    expect(start).not.toBeNull(); // Linux: /proc/<pid>/stat
    const owner = { pid: process.pid, host: hostname(), startedAt: 'then', processStart: start! - 1, token: 'old' };
    expect(staleReason(owner)).toContain('pid was reused');
    writeFileSync(lockPathFor(dir), JSON.stringify(owner));
    await (await acquireFolderLock(dir)).release();
  });

  it('respects a lock from another host and says which file to delete', async () => {
    const dir = path.join(root, 'other-host');
    writeFileSync(lockPathFor(dir), JSON.stringify({ pid: deadPid(), host: 'elsewhere.example', startedAt: 'then', processStart: 1, token: 'x' }));
    const error = await lockError(dir);
    expect(isLowdoseError(error) && error.code).toBe('E_LOCKED');
    expect(error.message).toContain(`delete ${lockPathFor(dir)}`);
  });

  it('records its heartbeat in the lock file, and refreshes the file\'s modification time while held', async () => {
    const dir = path.join(root, 'heartbeat-own');
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    try {
      const lock = await acquireFolderLock(dir);
      expect(JSON.parse(readFileSync(lock.path, 'utf8'))).toMatchObject({ heartbeatMs: LOCK_HEARTBEAT_MS });
      const old = new Date(Date.now() - 2 * LOCK_HEARTBEAT_TIMEOUT_MS);
      utimesSync(lock.path, old, old);
      vi.advanceTimersByTime(LOCK_HEARTBEAT_MS);
      // The refresh is file I/O started by the timer: wait for it (bounded), then check its result.
      for (let i = 0; i < 200 && statSync(lock.path).mtimeMs < Date.now() - LOCK_HEARTBEAT_MS; i++) await new Promise((r) => setTimeout(r, 10));
      expect(Date.now() - statSync(lock.path).mtimeMs).toBeLessThan(LOCK_HEARTBEAT_MS);
      await lock.release();
      expect(await lock.heartbeat()).toBe(false);
    } finally {
      vi.useRealTimers();
    }
  });

  it("takes over another host's lock whose heartbeat is older than the timeout, and respects one whose heartbeat is fresh", async () => {
    const dir = path.join(root, 'heartbeat-other-host');
    const owner = { pid: 4242, host: 'elsewhere.example', startedAt: 'then', processStart: 1, token: 'x', heartbeatMs: LOCK_HEARTBEAT_MS };
    writeFileSync(lockPathFor(dir), JSON.stringify(owner));
    const fresh = await lockError(dir);
    expect(isLowdoseError(fresh) && fresh.code).toBe('E_LOCKED');
    expect(fresh.message).toContain(`delete ${lockPathFor(dir)}`);
    expect(fresh.message).toContain(`it is taken over once that is over ${LOCK_HEARTBEAT_TIMEOUT_MS / 1000} s`);

    const old = new Date(Date.now() - LOCK_HEARTBEAT_TIMEOUT_MS - 60_000);
    utimesSync(lockPathFor(dir), old, old);
    const messages: string[] = [];
    const lock = await acquireFolderLock(dir, { log: (m) => messages.push(m) });
    expect(messages.join('\n')).toMatch(/its heartbeat stopped: pid 4242 on elsewhere.example, started then, last refreshed it 36\d s ago \(a live run refreshes it every 30 s; dead after 300 s\)/);
    expect(JSON.parse(readFileSync(lock.path, 'utf8'))).toMatchObject({ pid: process.pid, host: hostname() });

    // The run that held it, were it alive after all, finds it is no longer its own.
    await lock.release();
  });

  it("gives another host's lock that says it beats less often ten of its own heartbeats", async () => {
    const dir = path.join(root, 'heartbeat-slow');
    writeFileSync(lockPathFor(dir), JSON.stringify({ pid: 4242, host: 'elsewhere.example', startedAt: 'then', processStart: 1, token: 'x', heartbeatMs: 120_000 }));
    const at = (ageMs: number) => new Date(Date.now() - ageMs);
    utimesSync(lockPathFor(dir), at(LOCK_HEARTBEAT_TIMEOUT_MS + 60_000), at(LOCK_HEARTBEAT_TIMEOUT_MS + 60_000));
    const error = await lockError(dir);
    expect(isLowdoseError(error) && error.code).toBe('E_LOCKED');
    expect(error.message).toContain('it is taken over once that is over 1200 s');
    utimesSync(lockPathFor(dir), at(1_300_000), at(1_300_000));
    await (await acquireFolderLock(dir)).release();
  });

  it("respects another host's lock without a heartbeat (an older lowdose's), however old the file", async () => {
    const dir = path.join(root, 'heartbeat-none');
    writeFileSync(lockPathFor(dir), JSON.stringify({ pid: 4242, host: 'elsewhere.example', startedAt: 'then', processStart: 1, token: 'x' }));
    const old = new Date(Date.now() - 10 * LOCK_HEARTBEAT_TIMEOUT_MS);
    utimesSync(lockPathFor(dir), old, old);
    const error = await lockError(dir);
    expect(isLowdoseError(error) && error.code).toBe('E_LOCKED');
    expect(error.message).not.toContain('taken over once');
  });

  it('a same-host lock is judged by its pid, not its heartbeat: a live owner\'s old file stays locked', async () => {
    const dir = path.join(root, 'heartbeat-same-host');
    const lock = await acquireFolderLock(dir);
    const old = new Date(Date.now() - 2 * LOCK_HEARTBEAT_TIMEOUT_MS);
    utimesSync(lock.path, old, old);
    const error = await lockError(dir);
    expect(isLowdoseError(error) && error.code).toBe('E_LOCKED');
    await lock.release();
  });

  it('a held lock taken over by another run (judged dead) stops its heartbeat and is not removed by its release', async () => {
    const dir = path.join(root, 'heartbeat-lost');
    const messages: string[] = [];
    const lock = await acquireFolderLock(dir, { log: (m) => messages.push(m) });
    writeFileSync(lock.path, JSON.stringify({ pid: 4242, host: 'elsewhere.example', startedAt: 'now', processStart: 1, token: 'taker', heartbeatMs: LOCK_HEARTBEAT_MS }));
    expect(await lock.heartbeat()).toBe(false);
    expect(messages.join('\n')).toContain('is no longer this run\'s: it was taken over by pid 4242 on elsewhere.example');
    await lock.release();
    expect(JSON.parse(readFileSync(lock.path, 'utf8'))).toMatchObject({ token: 'taker' });
  });

  it('a held lock checks, before a write, that it is still its own: E_LOCKED naming the run that took it over, and `lost` aborted', async () => {
    const dir = path.join(root, 'assert-held');
    const lock = await acquireFolderLock(dir);
    await expect(lock.assertHeld()).resolves.toBeUndefined();
    expect(lock.lost.aborted).toBe(false);
    writeFileSync(lock.path, JSON.stringify({ pid: 4242, host: 'elsewhere.example', startedAt: 'now', processStart: 1, token: 'taker', heartbeatMs: LOCK_HEARTBEAT_MS }));
    const error = await lock.assertHeld().then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(isLowdoseError(error) && error.code).toBe('E_LOCKED');
    expect(error!.message).toContain(`the lock of ${path.resolve(dir)} is no longer this run's: it was taken over by pid 4242 on elsewhere.example, started now`);
    expect(lock.lost.aborted).toBe(true);
    expect(lock.lost.reason).toBe(error);
    // Once lost, always lost: the taker releasing does not make it ours again.
    rmSync(lock.path);
    await expect(lock.assertHeld()).rejects.toBe(error);
    await lock.release();
  });

  it('a heartbeat that finds the lock taken over aborts `lost`, so a run stops before its next write without asking', async () => {
    const dir = path.join(root, 'heartbeat-aborts');
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    try {
      const lock = await acquireFolderLock(dir);
      rmSync(lock.path);
      vi.advanceTimersByTime(LOCK_HEARTBEAT_MS);
      for (let i = 0; i < 200 && !lock.lost.aborted; i++) await new Promise((r) => setTimeout(r, 10));
      expect(lock.lost.aborted).toBe(true);
      expect(isLowdoseError(lock.lost.reason) && lock.lost.reason.code).toBe('E_LOCKED');
      expect((lock.lost.reason as Error).message).toContain('its file is gone');
      await lock.release();
    } finally {
      vi.useRealTimers();
    }
  });

  it("takes over another host's lock once the queue no longer holds its job's lock, after the grace period", async () => {
    const dir = path.join(root, 'queue-dead');
    const owner = { pid: 4242, host: 'elsewhere.example', startedAt: 'then', processStart: 1, token: 'x', job: { id: 'b-00001', token: 'old-attempt' } };
    writeFileSync(lockPathFor(dir), JSON.stringify(owner));
    const asked: string[] = [];
    const logged: string[] = [];
    const started = Date.now();
    const lock = await acquireFolderLock(dir, {
      log: (m) => logged.push(m),
      queue: {
        job: { id: 'b-00001', token: 'new-attempt' },
        holds: async (job) => {
          asked.push(`${job.id} ${job.token}`);
          return false;
        },
        graceMs: 300,
      },
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(asked[0]).toBe('b-00001 old-attempt');
    // A timer may fire a millisecond early by Date.now (libuv's clock is not Date's), and then the
    // lock waits that millisecond out with the same message again: a wait, then the take-over.
    const waits = logged.slice(0, -1);
    expect(waits.length).toBeGreaterThan(0);
    for (const wait of waits) expect(wait).toContain('belongs to queue job b-00001 on elsewhere.example, which no longer holds its job lock');
    expect(logged.at(-1)).toContain('taking over the lock');
    // The new lock names this run's attempt, for the next worker to ask about.
    expect(JSON.parse(readFileSync(lock.path, 'utf8'))).toMatchObject({ pid: process.pid, job: { id: 'b-00001', token: 'new-attempt' } });
    await lock.release();
  });

  it("respects another host's lock while the queue holds its job's lock, and one without a job", async () => {
    const dir = path.join(root, 'queue-live');
    const owner = { pid: 4242, host: 'elsewhere.example', startedAt: 'then', processStart: 1, token: 'x', job: { id: 'b-00002', token: 'live' } };
    writeFileSync(lockPathFor(dir), JSON.stringify(owner));
    const queue = { job: { id: 'b-00003', token: 'me' }, holds: async () => true, graceMs: 0 };
    const error = await lockError(dir, { queue });
    expect(isLowdoseError(error) && error.code).toBe('E_LOCKED');
    expect(error.message).toContain('queue job b-00002');
    const { job: _job, ...plain } = owner;
    writeFileSync(lockPathFor(dir), JSON.stringify(plain));
    const asked: string[] = [];
    const again = await lockError(dir, { queue: { ...queue, holds: async () => (asked.push('asked'), false) } });
    expect(isLowdoseError(again) && again.code).toBe('E_LOCKED');
    expect(asked).toEqual([]);
  });

  it('takes over an empty lock file only once it is old (a run killed while creating it)', async () => {
    const dir = path.join(root, 'empty');
    writeFileSync(lockPathFor(dir), '');
    expect(isLowdoseError(await lockError(dir))).toBe(true);
    const old = new Date(Date.now() - 60_000);
    utimesSync(lockPathFor(dir), old, old);
    await (await acquireFolderLock(dir)).release();
  });

  it('with `wait` and `maxWaitMs`, gives up with E_LOCKED naming the file once it has waited that long for another host\'s lock', async () => {
    const dir = path.join(root, 'bounded-wait');
    writeFileSync(lockPathFor(dir), JSON.stringify({ pid: deadPid(), host: 'elsewhere.example', startedAt: 'then', processStart: 1, token: 'x' }));
    const error = await lockError(dir, { wait: true, maxWaitMs: 0, pollMs: 20 });
    expect(isLowdoseError(error) && error.code).toBe('E_LOCKED');
    expect(error.message).toContain(`delete ${lockPathFor(dir)}`);
  });

  it('waits for a live owner with `wait`, and locks several folders all or none', async () => {
    const [a, b] = [path.join(root, 'w', 'a'), path.join(root, 'w', 'b')];
    const held = await acquireFolderLock(b);
    const error = await acquireFolderLocks([a, b]).catch((e: Error) => e);
    expect(isLowdoseError(error) && error.code).toBe('E_LOCKED');
    expect(existsSync(lockPathFor(a))).toBe(false); // a was released when b failed

    const logged: string[] = [];
    const waiting = acquireFolderLocks([a, b], { wait: true, pollMs: 20, log: (m) => logged.push(m) });
    while (logged.length === 0) await new Promise((r) => setTimeout(r, 10));
    expect(logged[0]).toContain('waiting for another lowdose run');
    await held.release();
    const locks = await waiting;
    expect(locks.map((l) => l.dir)).toEqual([a, b]);
    for (const lock of locks) await lock.release();
  });
});

describe('temporaries', () => {
  it('removes only our own temporary names, of one final name when asked', async () => {
    const dir = path.join(root, 'tmp-names');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir, { recursive: true });
    const ours = temporaryPathFor(path.join(dir, 'IM0001.dcm'));
    expect(isTemporaryName(path.basename(ours), 'IM0001.dcm')).toBe(true);
    const other = temporaryPathFor(path.join(dir, 'x.png'));
    for (const name of [ours, other, path.join(dir, 'IM0002.dcm'), path.join(dir, 'notes.tmp'), path.join(dir, '.IM0003.dcm.zz.tmp')]) writeFileSync(name, 'x');
    expect(await removeTemporaries(dir, 'x.png')).toBe(1);
    expect(existsSync(other)).toBe(false);
    expect(await removeTemporaries(dir)).toBe(1);
    expect(existsSync(ours)).toBe(false);
    for (const kept of ['IM0002.dcm', 'notes.tmp', '.IM0003.dcm.zz.tmp']) expect(existsSync(path.join(dir, kept))).toBe(true);
  });
});
