/**
 * A dynamic PET acquisition's `.lowdose-series.json` records the settings of the run that started
 * its first frame. When that run dies before it finishes any frame, nothing made with those
 * settings is in the folder: a later run with other settings records its own instead of being
 * refused until --overwrite (src/pipeline/acquisition-series.ts). While another live run holds a
 * frame of the acquisition, or once a frame is finished, the record stands. On make-pet-timing.py's
 * 3 time points x 2 slices.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACQUISITION_UIDS_FILE } from '../../src/pipeline/acquisition-series.js';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import type { DenoiseOptions } from '../../src/pipeline/types.js';
import { acquireFolderLock, LOCK_HEARTBEAT_MS, LOCK_HEARTBEAT_TIMEOUT_MS } from '../../src/util/folder-lock.js';
import { hasPydicom, makePetTiming, readWithPydicom } from '../helpers/pet-timing.js';

describe.skipIf(!hasPydicom)('a dynamic PET acquisition record left by a run that finished no frame', () => {
  let dir = '';
  let input = '';
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'lowdose-stale-record-'));
    makePetTiming(path.join(dir, 'in'));
    input = path.join(dir, 'in', 'dynamic');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const denoise = (out: string, extra: Partial<DenoiseOptions> = {}) => denoisePaths([input], { outDir: out, method: 'gaussian', ...extra });
  const record = (folder: string) => JSON.parse(readFileSync(path.join(folder, ACQUISITION_UIDS_FILE), 'utf8')) as { denoised: string; madeWith: { method: string } };

  /** A gaussian run cancelled once its first time point has started (record written, no frame finished). */
  async function cancelledRun(out: string): Promise<string> {
    const controller = new AbortController();
    await expect(denoise(out, { signal: controller.signal, onProgress: () => controller.abort() })).rejects.toMatchObject({ code: 'E_CANCELLED' });
    const folder = path.join(out, readdirSync(out).find((name) => name.startsWith('pt-'))!);
    expect(record(folder).madeWith.method).toBe('gaussian');
    expect(readdirSync(folder).filter((n) => n.startsWith('.lowdose-complete-'))).toEqual([]);
    return folder;
  }

  it('a run with another method records its own settings and writes every time point, under new UIDs, as one series', async () => {
    const out = path.join(dir, 'out-cancelled');
    const folder = await cancelledRun(out);
    const stale = record(folder).denoised;

    const nlm = await denoise(out, { method: 'nlm' });
    expect(nlm.errors).toEqual([]);
    expect(nlm.series.map((s) => [s.input.petFrame?.tag, s.method, s.skipped])).toEqual([['t01', 'nlm', undefined], ['t02', 'nlm', undefined], ['t03', 'nlm', undefined]]);
    expect(record(folder).madeWith.method).toBe('nlm');
    expect(record(folder).denoised).not.toBe(stale);
    const uids = new Set(readWithPydicom(folder).map((f) => f.seriesInstanceUid));
    expect([...uids]).toEqual([record(folder).denoised]);
  });

  it('a killed run\'s frame lock, its process gone, does not hold the record: a run on one time point with another method records its own', async () => {
    const out = path.join(dir, 'out-killed');
    const folder = await cancelledRun(out);
    // What kill -9 leaves: the lock files of its frames, naming a process that is gone.
    const gone = spawnSync('true').pid!;
    for (const tag of ['t02', 't03']) {
      writeFileSync(path.join(folder, `.${tag}.lock`), `${JSON.stringify({ pid: gone, host: hostname(), startedAt: new Date().toISOString(), processStart: null, token: `dead-${tag}` })}\n`);
    }
    const nlm = await denoisePaths([path.join(input, 't1-s1.dcm'), path.join(input, 't1-s2.dcm')], { outDir: out, method: 'nlm' });
    expect(nlm.errors).toEqual([]);
    expect(nlm.series.map((s) => [s.input.petFrame?.tag, s.method])).toEqual([['t01', 'nlm']]);
    expect(record(folder).madeWith.method).toBe('nlm');
  });

  /** The lock files a run on another host leaves on frames t02 and t03, their heartbeat `ageMs` old. */
  function otherHostLocks(folder: string, ageMs: number): void {
    for (const tag of ['t02', 't03']) {
      const file = path.join(folder, `.${tag}.lock`);
      const owner = { pid: 4242, host: 'elsewhere.example', startedAt: new Date().toISOString(), processStart: 1, token: `remote-${tag}`, heartbeatMs: LOCK_HEARTBEAT_MS };
      writeFileSync(file, `${JSON.stringify(owner)}\n`);
      const at = new Date(Date.now() - ageMs);
      utimesSync(file, at, at);
    }
  }

  it("a dead run's frame locks from another host, their heartbeat older than the timeout, do not hold the record: a run with another method records its own", async () => {
    const out = path.join(dir, 'out-remote-dead');
    const folder = await cancelledRun(out);
    otherHostLocks(folder, LOCK_HEARTBEAT_TIMEOUT_MS + 60_000);
    const nlm = await denoisePaths([path.join(input, 't1-s1.dcm'), path.join(input, 't1-s2.dcm')], { outDir: out, method: 'nlm' });
    expect(nlm.errors).toEqual([]);
    expect(nlm.series.map((s) => [s.input.petFrame?.tag, s.method])).toEqual([['t01', 'nlm']]);
    expect(record(folder).madeWith.method).toBe('nlm');
  });

  it('frame locks from another host with a fresh heartbeat hold the record: E_EXISTS, as for a live run here', async () => {
    const out = path.join(dir, 'out-remote-live');
    const folder = await cancelledRun(out);
    otherHostLocks(folder, 0);
    const nlm = await denoisePaths([path.join(input, 't1-s1.dcm'), path.join(input, 't1-s2.dcm')], { outDir: out, method: 'nlm' });
    expect(nlm.series).toEqual([]);
    expect(nlm.errors).toEqual([expect.objectContaining({ code: 'E_EXISTS', message: expect.stringContaining('method gaussian, this run nlm') })]);
    expect(record(folder).madeWith.method).toBe('gaussian');
  });

  it('while another live run holds a time point of the acquisition, the record stands: E_EXISTS for each, as before', async () => {
    const out = path.join(dir, 'out-held');
    const folder = await cancelledRun(out);
    const holder = await acquireFolderLock(path.join(folder, 't03'));
    try {
      const nlm = await denoisePaths([path.join(input, 't1-s1.dcm'), path.join(input, 't1-s2.dcm')], { outDir: out, method: 'nlm' });
      expect(nlm.series).toEqual([]);
      expect(nlm.errors).toEqual([expect.objectContaining({ code: 'E_EXISTS', message: expect.stringContaining('method gaussian, this run nlm') })]);
      expect(record(folder).madeWith.method).toBe('gaussian');
    } finally {
      await holder.release();
    }
  });

  it('once a time point is finished, a run with another method is refused (E_EXISTS naming --overwrite)', async () => {
    const out = path.join(dir, 'out-finished');
    const first = await denoisePaths([path.join(input, 't1-s1.dcm'), path.join(input, 't1-s2.dcm')], { outDir: out, method: 'gaussian' });
    expect(first.errors).toEqual([]);
    const nlm = await denoise(out, { method: 'nlm' });
    expect(nlm.series).toEqual([]);
    expect(nlm.errors.map((e) => e.code)).toEqual(['E_EXISTS', 'E_EXISTS', 'E_EXISTS']);
    expect(nlm.errors[1]!.message).toContain('--overwrite');
  });
});
