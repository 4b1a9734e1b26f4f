/**
 * A denoise run whose output folder lock another run took over (it judged this one dead: a
 * process suspended past the heartbeat timeout, a host cut off from the shared file system) stops
 * writing there: no further slice, no completion marker, and report.json does not list the series
 * as its own. The takeover is simulated by rewriting the lock file as another host's run, at a
 * progress event of the running series, so nothing depends on timing.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import { runPhantom } from '../../src/pipeline/phantom.js';
import type { DenoiseProgress, DenoiseReport } from '../../src/pipeline/types.js';
import { LOCK_HEARTBEAT_MS } from '../../src/util/folder-lock.js';

const SLICES = 6;
const root = mkdtempSync(path.join(tmpdir(), 'lowdose-lock-taken-'));
const water = path.join(root, 'water');
const second = path.join(root, 'second');

const TAKER = { pid: 4242, host: 'elsewhere.example', startedAt: 'now', processStart: 1, token: 'taker', heartbeatMs: LOCK_HEARTBEAT_MS };

/** The series lock files beside the series folders of `out`. */
const lockFiles = (out: string) => readdirSync(out).filter((name) => /^\..+\.lock$/.test(name)).map((name) => path.join(out, name));
const seriesFolders = (out: string) => readdirSync(out, { withFileTypes: true }).filter((e) => e.isDirectory() && e.name !== 'previews').map((e) => path.join(out, e.name));
const dicomFiles = (dir: string) => readdirSync(dir).filter((name) => name.endsWith('.dcm'));
const markers = (dir: string) => readdirSync(dir).filter((name) => name.endsWith('.json'));

beforeAll(async () => {
  await runPhantom('water', { outDir: water, size: 64, slices: SLICES, uidSeed: 'lock-taken-over' });
  await runPhantom('water', { outDir: second, size: 64, slices: 2, uidSeed: 'lock-taken-over-2' });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('a run whose output folder lock was taken over', () => {
  it('writes no further slice and no completion marker: the series fails with E_LOCKED naming the new owner, whose files stay', async () => {
    const out = path.join(root, 'out-mid-series');
    let taken: { folder: string; sentinel: string; before: string[] } | null = null;
    const onProgress = (event: DenoiseProgress) => {
      if (taken || event.slicesDone < 2) return;
      // Another host's run takes the folder over and starts writing its own files there.
      const [lock] = lockFiles(out);
      writeFileSync(lock!, JSON.stringify(TAKER));
      const [folder] = seriesFolders(out);
      const sentinel = path.join(folder!, 'written-by-the-taker.dcm');
      writeFileSync(sentinel, 'the other run');
      taken = { folder: folder!, sentinel, before: dicomFiles(folder!).sort() };
    };
    const report: DenoiseReport = await denoisePaths([water], { outDir: out, method: 'gaussian', batch: 1, onProgress });
    expect(taken).not.toBeNull();
    const { folder, sentinel, before } = taken!;
    expect(report.series).toHaveLength(0);
    expect(report.errors).toHaveLength(1);
    expect(report.errors[0]).toMatchObject({ code: 'E_LOCKED', path: folder });
    expect(report.errors[0]!.message).toContain('it was taken over by pid 4242 on elsewhere.example');
    // Nothing written after the takeover: the same files, the taker's untouched, no marker.
    expect(dicomFiles(folder).sort()).toEqual(before);
    expect(dicomFiles(folder).length).toBeLessThan(SLICES + 1);
    expect(readFileSync(sentinel, 'utf8')).toBe('the other run');
    expect(markers(folder)).toEqual([]);
    // Its release leaves the taker's lock.
    expect(JSON.parse(readFileSync(lockFiles(out)[0]!, 'utf8'))).toMatchObject({ token: 'taker' });
    const written = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8')) as DenoiseReport;
    expect(written.series).toHaveLength(0);
    expect(written.errors.map((e) => e.code)).toEqual(['E_LOCKED']);
  });

  it("a series finished before its lock was taken over is not reported as this run's in report.json", async () => {
    const out = path.join(root, 'out-after-finish');
    let takenFolder: string | null = null;
    const onProgress = (event: DenoiseProgress) => {
      // The second series starts: the first one's folder is taken over meanwhile.
      if (takenFolder || event.seriesIndex !== 1) return;
      const firstFolder = seriesFolders(out).find((dir) => markers(dir).length > 0)!;
      const lock = path.join(out, `.${path.basename(firstFolder)}.lock`);
      expect(existsSync(lock)).toBe(true);
      writeFileSync(lock, JSON.stringify(TAKER));
      takenFolder = firstFolder;
    };
    const report = await denoisePaths([water, second], { outDir: out, method: 'gaussian', onProgress });
    expect(takenFolder).not.toBeNull();
    expect(report.series).toHaveLength(1);
    expect(report.series[0]!.output.dir).not.toBe(takenFolder);
    expect(report.errors).toHaveLength(1);
    expect(report.errors[0]).toMatchObject({ code: 'E_LOCKED', path: takenFolder });
    expect(report.errors[0]!.message).toContain('it was taken over by pid 4242 on elsewhere.example');
    const written = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8')) as DenoiseReport;
    // The taken folder's marker is another run's now: listed (if at all) as an earlier run's, never as this run's.
    expect(written.series.filter((s) => !s.earlierRun).map((s) => s.output.dir)).toEqual([report.series[0]!.output.dir]);
    expect(written.errors.map((e) => e.code)).toEqual(['E_LOCKED']);
    expect(statSync(takenFolder!).isDirectory()).toBe(true);
  });
});
