/**
 * A simulate run whose output folder locks another run took over (it judged this one dead) writes
 * and removes nothing there: the series fails with E_LOCKED naming the new owner, and what the
 * folder holds stays. The takeover is simulated by rewriting the lock files as another host's run
 * when the series starts, so nothing depends on timing.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { writeVolumeSeries } from '../../src/dicom/write-volume.js';
import { generateWater } from '../../src/phantoms/water.js';
import { runSimulate, type SimulateOptions } from '../../src/pipeline/simulate.js';
import { LOCK_HEARTBEAT_MS } from '../../src/util/folder-lock.js';

const root = mkdtempSync(path.join(tmpdir(), 'lowdose-simulate-lock-taken-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const TAKER = { pid: 4242, host: 'elsewhere.example', startedAt: 'now', processStart: 1, token: 'taker', heartbeatMs: LOCK_HEARTBEAT_MS };

/** Every lock file under `dir`. */
const lockFiles = (dir: string) =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /^\..+\.lock$/.test(e.name))
    .map((e) => path.join(e.parentPath, e.name));

/** Every file under `dir` but the locks, with its modification time. */
const filesWithTimes = (dir: string) =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && !e.name.endsWith('.lock'))
    .map((e) => `${path.relative(dir, path.join(e.parentPath, e.name))} ${statSync(path.join(e.parentPath, e.name)).mtimeMs}`)
    .sort();

describe('simulate under a lock taken over', () => {
  test('an --overwrite rerun whose folders were taken over as the series starts leaves them as the new owner has them', async () => {
    const input = path.join(root, 'input');
    await writeVolumeSeries(generateWater({ size: 48, slices: 4, fov: 250 }).volume, input, { uidSeed: 'simulate-lock-taken' });
    const out = path.join(root, 'out');
    const base: SimulateOptions = { dose: 0.25, outDir: out, seed: 3, workers: 1, mode: 'truth', withReference: true };
    const first = await runSimulate([input], base);
    expect(first.result.series).toHaveLength(1);
    const before = filesWithTimes(out);
    expect(before.length).toBeGreaterThanOrEqual(8);

    let taken = 0;
    const progress = (message: string) => {
      if (taken > 0 || !message.startsWith('simulating')) return;
      for (const lock of lockFiles(out)) writeFileSync(lock, JSON.stringify(TAKER));
      taken = lockFiles(out).length;
    };
    const { result, exitCode } = await runSimulate([input], { ...base, overwrite: true, progress });
    expect(taken).toBe(2);
    expect(exitCode).not.toBe(0);
    expect(result.series).toEqual([]);
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]).toMatchObject({ code: 'E_LOCKED' });
    expect(result.errors[0]!.message).toContain('it was taken over by pid 4242 on elsewhere.example');
    // Not one file removed or rewritten; the taker's locks stay.
    expect(filesWithTimes(out)).toEqual(before);
    for (const lock of lockFiles(out)) expect(JSON.parse(readFileSync(lock, 'utf8'))).toMatchObject({ token: 'taker' });
  });
});
