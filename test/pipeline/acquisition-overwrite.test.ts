/**
 * `--overwrite` of a dynamic PET acquisition's frames (src/pipeline/acquisition-series.ts): the
 * redone frames are a NEW derived series, the acquisition's folder ends with its files under one
 * SeriesInstanceUID, and no SOPInstanceUID of the replaced files comes back for the new pixels.
 * On make-pet-timing.py's 3 time points x 2 slices; the written files are read with pydicom.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquisitionUids, ACQUISITION_UIDS_FILE, type OverwriteRequest } from '../../src/pipeline/acquisition-series.js';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import type { MadeWith } from '../../src/pipeline/made-with.js';
import type { DenoiseOptions, DenoiseReport } from '../../src/pipeline/types.js';
import { runCli } from '../helpers/cli.js';
import { hasPydicom, makePetTiming, readWithPydicom } from '../helpers/pet-timing.js';

/** What the Gaussian filter's series are made with. */
const GAUSSIAN: MadeWith = { method: 'gaussian', model: null, settings: null };

describe.skipIf(!hasPydicom)('--overwrite of the frames of a dynamic PET acquisition', () => {
  let dir = '';
  let input = '';
  const frameFiles = (t: number) => [1, 2].map((s) => path.join(input, `t${t}-s${s}.dcm`));

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'lowdose-acquisition-overwrite-'));
    makePetTiming(path.join(dir, 'in'));
    input = path.join(dir, 'in', 'dynamic');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function denoiseJson(...args: string[]): Promise<DenoiseReport> {
    const run = await runCli('denoise', ...args, '--method', 'gaussian', '--no-progress', '--json');
    expect(run.code, run.stderr).toBe(0);
    return JSON.parse(run.stdout) as DenoiseReport;
  }

  const denoise = (files: string[], out: string, extra: Partial<DenoiseOptions> = {}) => denoisePaths(files, { outDir: out, method: 'gaussian', ...extra });

  /** Denoises the whole acquisition into `out`: its derived series' UID, folder and SOP Instance UIDs. */
  async function finishedAcquisition(out: string): Promise<{ report: DenoiseReport; old: string; folder: string; oldSops: Set<string> }> {
    const report = await denoise([input], out);
    const folder = report.series[0]!.output.dir;
    const oldSops = new Set(readWithPydicom(folder).map((f) => f.sopInstanceUid));
    expect(oldSops.size).toBe(6);
    return { report, old: report.series[0]!.output.seriesInstanceUid, folder, oldSops };
  }

  /** The frame tags with a completion marker in the folder. */
  const markers = (folder: string) => readdirSync(folder).filter((n) => n.startsWith('.lowdose-complete-')).map((n) => n.slice(18, 21)).sort();

  it('an --overwrite of one time point writes it as a new series and removes the time points of the series it replaced; a rerun adds them to the new one', async () => {
    const out = path.join(dir, 'out-one');
    const { old, folder, oldSops } = await finishedAcquisition(out);

    const one = await denoiseJson(...frameFiles(2), '-o', out, '--overwrite');
    const redone = one.series[0]!.output.seriesInstanceUid;
    expect(one.series.map((s) => s.input.petFrame?.tag)).toEqual(['t02']);
    expect(redone).not.toBe(old);
    const afterOne = readWithPydicom(folder);
    expect(afterOne.map((f) => [f.name, f.seriesInstanceUid])).toEqual([['t02-IM0001.dcm', redone], ['t02-IM0002.dcm', redone]]);
    expect(afterOne.filter((f) => oldSops.has(f.sopInstanceUid))).toEqual([]);
    expect(markers(folder)).toEqual(['t02']);
    expect(readdirSync(path.join(out, 'previews')).filter((n) => n.includes(path.basename(folder)))).toEqual([`${path.basename(folder)}-t02.png`]);

    const rerun = await denoiseJson(input, '-o', out);
    expect(rerun.series.map((s) => [s.input.petFrame?.tag, s.skipped ?? false, s.output.seriesInstanceUid])).toEqual([
      ['t01', false, redone],
      ['t02', true, redone],
      ['t03', false, redone],
    ]);
    const written = readWithPydicom(folder);
    expect(written).toHaveLength(6);
    expect(new Set(written.map((f) => f.seriesInstanceUid))).toEqual(new Set([redone]));
    expect(written.filter((f) => oldSops.has(f.sopInstanceUid))).toEqual([]);
    expect(markers(folder)).toEqual(['t01', 't02', 't03']);
  });

  it('time points redone at once by runs of one --overwrite request (the jobs of one batch) end as one new series', async () => {
    const out = path.join(dir, 'out-request');
    const { old, folder, oldSops } = await finishedAcquisition(out);

    const request: OverwriteRequest = { id: 'batch-1', requestedAt: new Date().toISOString() };
    const jobs = await Promise.all([1, 2, 3].map((t) => denoise(frameFiles(t), out, { overwrite: true, overwriteRequest: request })));
    expect(jobs.flatMap((r) => r.errors)).toEqual([]);
    const uids = new Set(jobs.map((r) => r.series[0]!.output.seriesInstanceUid));
    expect(uids.size).toBe(1);
    expect(uids.has(old)).toBe(false);
    const written = readWithPydicom(folder);
    expect(written).toHaveLength(6);
    expect(new Set(written.map((f) => f.seriesInstanceUid))).toEqual(uids);
    expect(written.filter((f) => oldSops.has(f.sopInstanceUid))).toEqual([]);
    expect(markers(folder)).toEqual(['t01', 't02', 't03']);
  });

  it('an --overwrite cancelled after its first time point leaves no time point of the replaced series: a rerun finishes the acquisition as one new series', async () => {
    const out = path.join(dir, 'out-cancelled');
    const { old, folder } = await finishedAcquisition(out);
    const abort = new AbortController();
    const cancelled = denoise([input], out, {
      overwrite: true,
      signal: abort.signal,
      // t01 is written and marked; cancelled as t02 starts.
      onProgress: (event) => event.seriesIndex === 1 && abort.abort(),
    });
    await expect(cancelled).rejects.toMatchObject({ code: 'E_CANCELLED' });
    const left = readWithPydicom(folder);
    expect(left.map((f) => f.name)).toEqual(['t01-IM0001.dcm', 't01-IM0002.dcm']);
    expect(left.every((f) => f.seriesInstanceUid !== old)).toBe(true);

    const rerun = await denoise([input], out);
    expect(rerun.series.map((s) => [s.input.petFrame?.tag, s.skipped ?? false])).toEqual([['t01', true], ['t02', false], ['t03', false]]);
    const written = readWithPydicom(folder);
    expect(written).toHaveLength(6);
    expect(new Set(written.map((f) => f.seriesInstanceUid))).toEqual(new Set([left[0]!.seriesInstanceUid]));
  });

  it('a time point written while another run\'s --overwrite replaces the series is not marked finished, and the folder keeps no file of the replaced series', async () => {
    const out = path.join(dir, 'out-replaced');
    const { report: first, folder } = await finishedAcquisition(out);
    rmSync(path.join(folder, '.lowdose-complete-t02.json'));
    // The other run's --overwrite records its series' UIDs while this run writes t02 (its UID lock
    // taken and released; this run holds t02's lock, so it cannot touch t02). Written from the
    // progress callback, which the pipeline calls after t02's last slice and before its marker:
    // the one interleaving of two real runs a test cannot force.
    let replaced = false;
    const run = await denoise(frameFiles(2), out, {
      onProgress: (event) => {
        if (replaced || event.slicesDone !== event.slicesTotal) return;
        replaced = true;
        const other = { source: first.series[0]!.input.petFrame!.acquisitionKey, denoised: '2.25.1', uncertainty: '2.25.2', hallucination: '2.25.3', overwrite: { id: 'other', requestedAt: new Date().toISOString() } };
        writeFileSync(path.join(folder, ACQUISITION_UIDS_FILE), JSON.stringify(other));
      },
    });
    expect(replaced).toBe(true);
    expect(run.series).toEqual([]);
    expect(run.errors).toEqual([expect.objectContaining({ code: 'E_LOCKED', message: expect.stringContaining("another run's --overwrite replaced") })]);
    // No frame of the replaced series is left: t02 (this run's) and t01, t03 (finished before) are removed.
    expect(readWithPydicom(folder)).toEqual([]);
    expect(markers(folder)).toEqual([]);
    expect(readdirSync(folder).filter((n) => n.endsWith('.lock'))).toEqual([]);
  });

  it('of two --overwrite requests on one acquisition the later one wins: the earlier writes nothing more, a run without --overwrite takes the later one\'s UIDs', async () => {
    const folder = path.join(dir, 'requests');
    const later = await acquisitionUids(folder, 'acquisition', GAUSSIAN, { id: 'b', requestedAt: '2026-12-07T02:00:01.000Z' });
    await expect(acquisitionUids(folder, 'acquisition', GAUSSIAN, { id: 'a', requestedAt: '2026-12-07T02:00:00.000Z' })).rejects.toMatchObject({ code: 'E_LOCKED' });
    expect(await acquisitionUids(folder, 'acquisition', GAUSSIAN, { id: 'b', requestedAt: '2026-12-07T02:00:01.000Z' })).toEqual(later);
    expect(await acquisitionUids(folder, 'acquisition', GAUSSIAN)).toEqual(later);
    const latest = await acquisitionUids(folder, 'acquisition', GAUSSIAN, { id: 'c', requestedAt: '2026-12-07T02:00:02.000Z' });
    expect([latest.denoised, latest.uncertainty, latest.hallucination].some((uid) => [later.denoised, later.uncertainty, later.hallucination].includes(uid))).toBe(false);
    expect(existsSync(path.join(folder, '.series.lock'))).toBe(false);
  });
});
