/**
 * Real `lowdose denoise` child processes on one output folder: a second run while the first
 * writes exits 2 (E_LOCKED) or, with --wait-lock, waits; a run killed with SIGKILL mid-write
 * leaves temporaries and a stale lock that the rerun removes and takes over. The first run is
 * frozen with SIGSTOP at the moment that matters (lock taken, temporary written), so no test
 * depends on timing.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, watch, type FSWatcher } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanPaths } from '../../src/dicom/index.js';
import { runPhantom } from '../../src/pipeline/phantom.js';
import type { DenoiseReport } from '../../src/pipeline/types.js';
import { isTemporaryName } from '../../src/util/fs.js';
import { spawnCli, type CliProcess } from '../helpers/cli-process.js';

const SLICES = 16;
const root = mkdtempSync(path.join(tmpdir(), 'lowdose-concurrent-'));
const input = path.join(root, 'input');

const startCli = (...args: string[]): CliProcess => spawnCli(args);

const denoiseArgs = (out: string, ...extra: string[]) => ['denoise', input, '-o', out, '--method', 'gaussian', '--json', '--no-progress', ...extra];

/** Resolves with the first name created in `dir` that passes `test` (inotify, so nothing is missed by polling). */
function whenCreated(dir: string, test: (name: string) => boolean): { seen: Promise<string>; close: () => void } {
  let watcher: FSWatcher;
  const seen = new Promise<string>((resolve) => {
    watcher = watch(dir, (_event, name) => {
      if (name && test(name)) resolve(name);
    });
  });
  return { seen, close: () => watcher.close() };
}

/** Starts a denoise run and freezes it (SIGSTOP) as soon as it holds its output folder's lock. */
async function startAndFreezeAtLock(out: string, ...extra: string[]): Promise<{ run: CliProcess; lockName: string }> {
  mkdirSync(out, { recursive: true });
  const lock = whenCreated(out, (name) => /^\..+\.lock$/.test(name));
  const run = startCli(...denoiseArgs(out, ...extra));
  const lockName = await Promise.race([lock.seen, run.done.then((r) => Promise.reject(new Error(`run ended before locking: ${r.stderr}`)))]);
  run.child.kill('SIGSTOP');
  lock.close();
  return { run, lockName };
}

async function seriesIn(out: string) {
  const { series } = await scanPaths([out]);
  return series;
}

function temporariesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && isTemporaryName(e.name))
    .map((e) => path.join(e.parentPath, e.name));
}

/**
 * Kills `run` with SIGKILL while a temporary of one of its slices exists: freezes it when a
 * temporary appears in `seriesDir`, and kills it if the file is still there (else lets it go on
 * to the next one). Resolves with the temporary's path.
 */
async function killWhileWritingTemporary(run: CliProcess, seriesDir: string): Promise<string> {
  mkdirSync(seriesDir, { recursive: true });
  return new Promise<string>((resolve, reject) => {
    const watcher = watch(seriesDir, (_event, name) => {
      if (!name || !isTemporaryName(name)) return;
      run.child.kill('SIGSTOP');
      const file = path.join(seriesDir, name);
      if (existsSync(file)) {
        watcher.close();
        run.child.kill('SIGKILL');
        resolve(file);
      } else {
        run.child.kill('SIGCONT');
      }
    });
    run.child.kill('SIGCONT');
    void run.done.then((r) => {
      watcher.close();
      reject(new Error(`the run finished before a temporary could be caught (exit ${r.code})`));
    });
  });
}

beforeAll(async () => {
  await runPhantom('water', { outDir: input, size: 128, slices: SLICES, uidSeed: 'concurrent-runs' });
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('two denoise runs on one output folder', () => {
  it('the second exits 2 with E_LOCKED while the first writes, and the folder holds one series', async () => {
    const out = path.join(root, 'out-locked');
    const { run: first, lockName } = await startAndFreezeAtLock(out);
    try {
      const second = await startCli(...denoiseArgs(out)).done;
      expect(second.code).toBe(2);
      expect(second.stderr).toMatch(/being written by another lowdose run \(pid \d+ on .+, started .+\).*\[E_LOCKED\]/);
      expect(second.stderr).toContain(`pid ${first.child.pid}`);
    } finally {
      first.child.kill('SIGCONT');
    }
    const result = await first.done;
    expect(result.code).toBe(0);
    const series = await seriesIn(out);
    expect(series).toHaveLength(1);
    expect(series[0]!.slices).toHaveLength(SLICES);
    expect(series[0]!.seriesInstanceUid).toBe((JSON.parse(result.stdout) as DenoiseReport).series[0]!.output.seriesInstanceUid);
    expect(existsSync(path.join(out, lockName))).toBe(false);
  });

  it('with --wait-lock the second waits, then finds the series done', async () => {
    const out = path.join(root, 'out-wait');
    const { run: first } = await startAndFreezeAtLock(out);
    const second = startCli(...denoiseArgs(out, '--wait-lock'));
    try {
      while (!second.stderr().includes('waiting for another lowdose run')) {
        if (second.child.exitCode !== null) throw new Error(`second run ended: ${second.stderr()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      first.child.kill('SIGCONT');
    }
    const [a, b] = await Promise.all([first.done, second.done]);
    expect(a.code).toBe(0);
    expect(b.code).toBe(0);
    const report = JSON.parse(b.stdout) as DenoiseReport;
    expect(report.series[0]!.skipped).toBe(true);
    expect(await seriesIn(out)).toHaveLength(1);
  });
});

describe('a run killed with SIGKILL', () => {
  it('leaves temporaries and a stale lock; the rerun removes them and completes the series', async () => {
    const out = path.join(root, 'out-killed');
    const { run, lockName } = await startAndFreezeAtLock(out);
    const seriesDir = path.join(out, lockName.slice(1, -'.lock'.length));
    const temporary = await killWhileWritingTemporary(run, seriesDir);
    await run.done;
    expect(existsSync(temporary)).toBe(true);
    expect(existsSync(path.join(out, lockName))).toBe(true);

    const rerun = await startCli(...denoiseArgs(out)).done;
    expect(rerun.code).toBe(0);
    expect(rerun.stderr).toMatch(/taking over the lock of .+: process \d+ is no longer running/);
    expect(rerun.stderr).toMatch(/removed [1-9]\d* temporary file\(s\) an interrupted run left/);
    expect(temporariesUnder(out)).toEqual([]);
    expect(existsSync(path.join(out, lockName))).toBe(false);
    const series = await seriesIn(out);
    expect(series).toHaveLength(1);
    expect(series[0]!.slices).toHaveLength(SLICES);
  });

  it('during --overwrite leaves the series unfinished, so a plain rerun redoes it instead of skipping a mix', async () => {
    const out = path.join(root, 'out-overwrite');
    expect((await startCli(...denoiseArgs(out)).done).code).toBe(0);
    const { run, lockName } = await startAndFreezeAtLock(out, '--overwrite');
    await killWhileWritingTemporary(run, path.join(out, lockName.slice(1, -'.lock'.length)));
    await run.done;

    const rerun = await startCli(...denoiseArgs(out)).done;
    expect(rerun.code).toBe(0);
    const report = JSON.parse(rerun.stdout) as DenoiseReport;
    expect(report.series[0]!.skipped).toBeUndefined();
    const series = await seriesIn(out);
    expect(series).toHaveLength(1); // one SeriesInstanceUID: no slice of the killed run is left
    expect(series[0]!.slices).toHaveLength(SLICES);
    expect(temporariesUnder(out)).toEqual([]);
  });
});
