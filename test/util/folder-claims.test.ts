/**
 * Claims on a shared pull folder (src/util/folder-claims.ts) across real processes: node children
 * claim, write a file as a pull would, check it, and release with removal, in a loop against one
 * folder, each with its own seeded pauses; no child may ever find its claim or its file deleted
 * under it (before the claim lock, a claim made between another run's "am I the last?" check and
 * its removal was deleted with the folder). A lock left by a process that was killed while
 * holding it is taken over; one whose holder lives is waited for.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { claimFolder } from '../../src/util/folder-claims.js';
import { LOCK_HEARTBEAT_MS, LOCK_HEARTBEAT_TIMEOUT_MS, lockPathFor } from '../../src/util/folder-lock.js';
import { ownerTag } from '../../src/util/owner-tag.js';
import { cacheStore } from '../../src/dimse/study.js';
import { temporaryPathFor } from '../../src/util/fs.js';
import { endedPid } from '../helpers/processes.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-claims-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface Child {
  readonly child: ChildProcess;
  /** Resolves with the child's first stdout line. */
  readonly ready: Promise<string>;
  readonly done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

/** A node child running `script` (an ES module over the sources, through tsx) with `args`. */
function startChild(script: string, ...args: string[]): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, ...args], {
    cwd: REPO,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let told: (line: string) => void;
  const ready = new Promise<string>((resolve) => (told = resolve));
  child.stdout!.on('data', (c: Buffer) => {
    stdout += c.toString();
    if (stdout.includes('\n')) told(stdout.slice(0, stdout.indexOf('\n')));
  });
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, ready, done };
}

/**
 * One claimer: says "ready", waits for a line on stdin (so that all children start together), then
 * `iterations` times: claim, write its file into the folder, pause (seeded: 0 to 3 event-loop turns
 * or a timer), check its claim and file are still there, release with removal. Prints a JSON
 * summary: iterations, lost (claims or files found deleted, with what), failed (releases that
 * threw: a removal racing a claimer's writes fails with ENOTEMPTY), removed (releases that removed
 * the folder).
 */
const CLAIMER = `
import { access, writeFile } from 'node:fs/promises';
import path from 'node:path';
const { claimFolder } = await import('./src/util/folder-claims.ts');
const [dir, seedText, iterationsText] = process.argv.slice(1);
let seed = Number(seedText) >>> 0;
const random = () => {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pause = async () => {
  const r = random();
  if (r < 0.25) return;
  if (r < 0.75) { for (let i = Math.floor(r * 8); i > 0; i--) await new Promise((resolve) => setImmediate(resolve)); return; }
  await new Promise((resolve) => setTimeout(resolve, 1));
};
process.stdout.write('ready\\n');
await new Promise((resolve) => process.stdin.once('data', resolve));
const lost = [];
const failed = [];
let removed = 0;
const iterations = Number(iterationsText);
for (let i = 0; i < iterations; i++) {
  const claim = await claimFolder(dir);
  const file = path.join(dir, 'pulled-' + process.pid + '-' + i + '.dcm');
  try {
    await writeFile(file, 'instance');
    await pause();
    await access(file);
    const claims = await import('node:fs/promises').then((fs) => fs.readdir(path.join(dir, '.claims')));
    if (!claims.some((name) => name.includes('-' + process.pid + '-'))) lost.push(i + ': claim gone');
  } catch (error) {
    lost.push(i + ': ' + error.code);
  }
  try {
    if (await claim.release({ remove: true })) removed++;
  } catch (error) {
    failed.push(i + ': release: ' + error.code);
  }
  await pause();
}
process.stdout.write(JSON.stringify({ iterations, lost, failed, removed }) + '\\n');
process.stdin.destroy();
`;

describe('claims on a shared pull folder, across processes', () => {
  it('never delete a folder under a run that claimed it, whatever the interleaving of claims and releases', async () => {
    const dir = path.join(root, 'shared');
    const iterations = 150;
    const children = [11, 22, 33, 44].map((seed) => startChild(CLAIMER, dir, String(seed), String(iterations)));
    await Promise.all(children.map((c) => c.ready));
    for (const c of children) c.child.stdin!.write('go\n');
    const results = await Promise.all(children.map((c) => c.done));
    const summaries = results.map((r) => {
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { iterations: number; lost: string[]; failed: string[]; removed: number };
    });
    for (const s of summaries) expect(s).toMatchObject({ iterations, lost: [], failed: [] });
    // The folder was really shared and really removed many times (the loop exercised both paths).
    expect(summaries.reduce((n, s) => n + s.removed, 0)).toBeGreaterThan(0);
    expect(summaries.reduce((n, s) => n + s.removed, 0)).toBeLessThan(4 * iterations);
    // The last release removed it, and no lock is left behind.
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(lockPathFor(dir))).toBe(false);
  }, 30_000);

  it('waits while the claim lock is held by a live process, and takes it over once that process is killed', async () => {
    const dir = path.join(root, 'stale');
    // A child takes the lock the claims use and holds it until it is killed.
    const holder = startChild(
      `const { acquireFolderLock } = await import('./src/util/folder-lock.ts');
       await acquireFolderLock(process.argv[1]);
       process.stdout.write('held\\n');
       setInterval(() => {}, 1000);`,
      dir,
    );
    expect(await holder.ready).toBe('held');
    const pid = holder.child.pid!;
    expect(JSON.parse(readFileSync(lockPathFor(dir), 'utf8'))).toMatchObject({ pid });

    const messages: string[] = [];
    let claimed = false;
    const claiming = claimFolder(dir, { log: (m) => messages.push(m) }).then((claim) => {
      claimed = true;
      return claim;
    });
    // Many poll rounds (10 ms each) while the holder lives: no claim is made.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(claimed).toBe(false);
    expect(existsSync(path.join(dir, '.claims'))).toBe(false);

    holder.child.kill('SIGKILL');
    expect((await holder.done).signal).toBe('SIGKILL');
    expect(existsSync(lockPathFor(dir))).toBe(true); // the killed holder could not remove it
    const claim = await claiming;
    expect(messages).toEqual([`taking over the lock of ${dir}: process ${pid} is no longer running`]);
    expect(existsSync(path.join(dir, '.claims'))).toBe(true);
    expect(await claim.release({ remove: true })).toBe(true);
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(lockPathFor(dir))).toBe(false);
  }, 20_000);

  it("a claim of another host counts while its lock's heartbeat is fresh, and not once it stopped: the last live run removes the folder", async () => {
    const dir = path.join(root, 'remote-claims');
    const claims = path.join(dir, '.claims');
    // A run on another host claimed the folder and holds its claim's lock (the heartbeat file).
    const remote = ownerTag(4242, 'there.example-org');
    mkdirSync(path.join(claims, remote), { recursive: true });
    const remoteLock = lockPathFor(path.join(claims, remote));
    writeFileSync(remoteLock, JSON.stringify({ pid: 4242, host: 'there.example.org', startedAt: 'then', processStart: 1, token: 'remote', heartbeatMs: LOCK_HEARTBEAT_MS }));

    // This run's claim holds a lock of its own, with a heartbeat.
    const first = await claimFolder(dir);
    const own = readdirSync(claims).filter((name) => name.endsWith('.lock') && name !== path.basename(remoteLock));
    expect(own).toHaveLength(1);
    expect(JSON.parse(readFileSync(path.join(claims, own[0]!), 'utf8'))).toMatchObject({ pid: process.pid, heartbeatMs: LOCK_HEARTBEAT_MS });
    // The remote run's heartbeat is fresh: it may still read the folder, which stays.
    expect(await first.release({ remove: true })).toBe(false);
    expect(existsSync(path.join(claims, remote))).toBe(true);
    expect(readdirSync(claims).sort()).toEqual([path.basename(remoteLock), remote].sort());

    // Its heartbeat stopped (that run died): the folder goes with the next successful run.
    const old = new Date(Date.now() - LOCK_HEARTBEAT_TIMEOUT_MS - 60_000);
    utimesSync(remoteLock, old, old);
    const second = await claimFolder(dir);
    expect(await second.release({ remove: true })).toBe(true);
    expect(existsSync(dir)).toBe(false);
  });

  it('a run that claims the folder when no other claim is live removes the temporaries killed runs left; one beside a live claim stays', async () => {
    const dir = path.join(root, 'temporaries');
    const series = path.join(dir, '0123456789abcdef');
    mkdirSync(series, { recursive: true });
    // What a run killed while receiving leaves: a DIMSE instance on its way in (src/dimse/study.ts
    // cacheStore), and a DICOMweb instance being written in its series folder; its claim too.
    mkdirSync(path.join(dir, '.claims', ownerTag(await endedPid())), { recursive: true });
    // Another run uses the folder and lives: temporaries may be its own.
    const live = await claimFolder(dir);
    const left = [cacheStore(dir).temporaryFile(), temporaryPathFor(path.join(series, '1.2.3.4.dcm'))];
    for (const file of left) writeFileSync(file, 'part of an instance');
    writeFileSync(path.join(series, '1.2.3.5.dcm'), 'a whole instance');
    const messages: string[] = [];
    const beside = await claimFolder(dir, { log: (m) => messages.push(m) });
    expect(left.every((file) => existsSync(file))).toBe(true);
    expect(messages).toEqual([]);
    await beside.release({ remove: false });
    await live.release({ remove: false });

    const alone = await claimFolder(dir, { log: (m) => messages.push(m) });
    expect(left.some((file) => existsSync(file))).toBe(false);
    expect(messages).toEqual([`removed 2 temporary file(s) a killed run left in ${dir}`]);
    expect(readFileSync(path.join(series, '1.2.3.5.dcm'), 'utf8')).toBe('a whole instance');
    expect(await alone.release({ remove: true })).toBe(true);
  });
});
