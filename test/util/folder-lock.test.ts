/** The output folder lock: O_EXCL, owner facts in the file, stale locks taken over, live ones respected. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isLowdoseError } from '../../src/errors.js';
import { acquireFolderLock, acquireFolderLocks, lockPathFor, processStartTime, staleReason, type LockOptions } from '../../src/util/folder-lock.js';
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
