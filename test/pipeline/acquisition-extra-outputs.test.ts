/**
 * The frames of a dynamic PET acquisition share ONE uncertainty series and ONE hallucination map
 * series, so their extra outputs (src/pipeline/extra-outputs.ts) are one processing, as their
 * settings are: `.lowdose-series.json` records them (`extraOutputs`) under the UID lock when the
 * first frame of the series is started, and every later frame is checked against the record
 * (src/pipeline/acquisition-series.ts), finished frames or not. An older file without the record
 * takes it from the finished frames' markers and is recorded by the first run that agrees with them.
 * Shipped PET model, 2-sample ensembles, one step, on make-pet-timing.py's 3 time points x 2 slices.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquisitionUids, ACQUISITION_UIDS_FILE } from '../../src/pipeline/acquisition-series.js';
import { acquireFolderLock } from '../../src/util/folder-lock.js';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import type { ExtraOutputs } from '../../src/pipeline/extra-outputs.js';
import type { MadeWith } from '../../src/pipeline/made-with.js';
import type { DenoiseOptions, DenoiseReport } from '../../src/pipeline/types.js';
import { cliArgv, REPO } from '../helpers/cli-process.js';
import { hasPydicom, makePetTiming, readWithPydicom } from '../helpers/pet-timing.js';

const PET_MODEL = path.join(REPO, 'models/lowdose-pet.json');
const ENSEMBLE = { model: PET_MODEL, method: 'diffusion' as const, samples: 2, steps: 1, seed: 3, device: 'cpu' as const, threads: 1 };
/** The shipped PET card's calibration threshold (models/lowdose-pet.json). */
const CALIBRATED: ExtraOutputs = { uncertainty: 'calibrated', hallucination: false, sigmaThreshold: 0.2 };
const SPREAD: ExtraOutputs = { uncertainty: 'spread', hallucination: false, sigmaThreshold: null };
const GAUSSIAN: MadeWith = { method: 'gaussian', model: null, settings: null };

const root = mkdtempSync(path.join(tmpdir(), 'lowdose-acquisition-extras-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** `.lowdose-series.json` of an acquisition folder, as written. */
const record = (folder: string) => JSON.parse(readFileSync(path.join(folder, ACQUISITION_UIDS_FILE), 'utf8')) as Record<string, unknown>;
/** The frame tags with a completion marker in the folder. */
const markers = (folder: string) => readdirSync(folder).filter((n) => n.startsWith('.lowdose-complete-')).map((n) => n.slice(18, 21)).sort();
/** Removes `extraOutputs` from `.lowdose-series.json`, as a file an older lowdose wrote. */
function stripRecord(folder: string): void {
  const { extraOutputs: _extras, ...older } = record(folder);
  expect(_extras).toBeDefined();
  writeFileSync(path.join(folder, ACQUISITION_UIDS_FILE), JSON.stringify(older));
}

describe('the extra outputs recorded with an acquisition\'s derived series\' UIDs', () => {
  it('the first frame records them; another frame with others is E_EXISTS naming both; an unreadable record is E_MALFORMED', async () => {
    const folder = path.join(root, 'unit');
    // The run that records them is writing t01 (it holds its lock, as every run holds its frames'
    // from its start): the record stands though no frame is finished yet.
    const writing = await acquireFolderLock(path.join(folder, 't01'));
    const extras = (outputs: ExtraOutputs) => ({ extras: { outputs, units: 'Bq/ml' } });
    const first = await acquisitionUids(folder, 'acquisition', GAUSSIAN, null, { held: new Set(['t01']), ...extras(CALIBRATED) });
    expect(first.extraOutputs).toEqual(CALIBRATED);
    expect(record(folder).extraOutputs).toEqual(CALIBRATED);
    expect(await acquisitionUids(folder, 'acquisition', GAUSSIAN, null, extras(CALIBRATED))).toEqual(first);
    const other = acquisitionUids(folder, 'acquisition', GAUSSIAN, null, extras({ ...CALIBRATED, hallucination: true }));
    await expect(other).rejects.toMatchObject({
      code: 'E_EXISTS',
      message: expect.stringContaining('recorded with other extra outputs (uncertainty series calibrated σ, no hallucination map, this run uncertainty series calibrated σ, hallucination map)'),
    });
    const threshold = acquisitionUids(folder, 'acquisition', GAUSSIAN, null, extras({ ...CALIBRATED, sigmaThreshold: 20 }));
    await expect(threshold).rejects.toMatchObject({ code: 'E_EXISTS', message: expect.stringContaining('σ threshold 0.2 Bq/ml, this run uncertainty series calibrated σ, no hallucination map, σ threshold 20 Bq/ml') });
    // An --overwrite request records its own.
    const replaced = await acquisitionUids(folder, 'acquisition', GAUSSIAN, { id: 'r', requestedAt: new Date().toISOString() }, extras(SPREAD));
    expect(record(folder).extraOutputs).toEqual(SPREAD);
    expect(await acquisitionUids(folder, 'acquisition', GAUSSIAN, null, extras(SPREAD))).toEqual(replaced);

    writeFileSync(path.join(folder, ACQUISITION_UIDS_FILE), JSON.stringify({ ...record(folder), extraOutputs: { uncertainty: 'sigma' } }));
    await expect(acquisitionUids(folder, 'acquisition', GAUSSIAN, null, extras(SPREAD))).rejects.toMatchObject({ code: 'E_MALFORMED' });
    await writing.release();
  });
});

describe.skipIf(!hasPydicom)('the extra outputs of a dynamic PET acquisition\'s frames', () => {
  let input = '';
  beforeAll(() => {
    makePetTiming(path.join(root, 'pet-in'));
    input = path.join(root, 'pet-in', 'dynamic');
  });
  const frameFiles = (t: number) => [1, 2].map((s) => path.join(input, `t${t}-s${s}.dcm`));
  const denoise = (files: string[], out: string, extra: Partial<DenoiseOptions> = {}): Promise<DenoiseReport> => denoisePaths(files, { outDir: out, ...ENSEMBLE, ...extra });

  it('two runs started on different time points with different extra outputs before either finishes: the later one writes nothing, the series stays one calibrated σ series', async () => {
    const out = path.join(root, 'concurrent');
    // While the first run (--uncertainty) is inside t01 (its UIDs recorded, t01 locked, no marker),
    // a second lowdose process denoises t02 with the raw spread. spawnSync holds the first run
    // there until the second one has exited: the interleaving does not depend on timing.
    let second: ReturnType<typeof spawnSync> | null = null;
    const cli = ['denoise', ...frameFiles(2), '-o', out, '--model', PET_MODEL, '--samples', '2', '--steps', '1', '--seed', '3', '--device', 'cpu', '--threads', '1', '--no-progress', '--json'];
    const first = await denoise(frameFiles(1), out, {
      uncertainty: true,
      onProgress: (event) => {
        if (second !== null || event.slicesDone !== 0) return;
        second = spawnSync(process.execPath, cliArgv(cli), { cwd: REPO, encoding: 'utf8' });
      },
    });
    expect(first.errors).toEqual([]);
    const folder = first.series[0]!.output.dir;
    const run = second as ReturnType<typeof spawnSync> | null;
    expect(run).not.toBeNull();
    expect(run!.status, String(run!.stderr)).toBe(1);
    const report = JSON.parse(String(run!.stdout)) as DenoiseReport;
    expect(report.series).toEqual([]);
    expect(report.errors).toEqual([
      expect.objectContaining({
        code: 'E_EXISTS',
        path: folder,
        message: expect.stringContaining('recorded with other extra outputs (uncertainty series calibrated σ, no hallucination map, this run uncertainty series raw ensemble spread, no hallucination map)'),
      }),
    ]);
    expect(report.errors[0]!.message).toContain('--overwrite');
    expect(markers(folder)).toEqual(['t01']);
    expect(readWithPydicom(path.join(folder, 'uncertainty')).map((f) => f.name)).toEqual(['t01-IM0001.dcm', 't01-IM0002.dcm']);

    // The rest of the acquisition as recorded joins the same series: one uncertainty series, all calibrated.
    const rest = await denoise([input], out, { uncertainty: true });
    expect(rest.errors).toEqual([]);
    expect(rest.series.map((s) => [s.input.petFrame?.tag, s.skipped ?? false, s.extraOutputs])).toEqual([
      ['t01', true, CALIBRATED],
      ['t02', false, CALIBRATED],
      ['t03', false, CALIBRATED],
    ]);
    const sigma = readWithPydicom(path.join(folder, 'uncertainty'));
    expect(sigma).toHaveLength(6);
    expect(new Set(sigma.map((f) => f.seriesInstanceUid)).size).toBe(1);
    expect(record(folder).extraOutputs).toEqual(CALIBRATED);
  });

  it('an older .lowdose-series.json without the record takes it from the finished time points: others are refused and not recorded, the same ones are recorded', async () => {
    const out = path.join(root, 'legacy');
    const first = await denoise(frameFiles(1), out, { uncertainty: true });
    const folder = first.series[0]!.output.dir;
    expect(record(folder).extraOutputs).toEqual(CALIBRATED);
    stripRecord(folder);

    const spread = await denoise(frameFiles(2), out);
    expect(spread.errors).toEqual([expect.objectContaining({ code: 'E_EXISTS', message: expect.stringContaining('with frame t01 written with other extra outputs') })]);
    expect(record(folder).extraOutputs).toBeUndefined();

    const same = await denoise(frameFiles(2), out, { uncertainty: true });
    expect(same.errors).toEqual([]);
    expect(record(folder).extraOutputs).toEqual(CALIBRATED);
    // Recorded now: the check no longer needs a finished frame while a run writes one (t01 redone).
    rmSync(path.join(folder, '.lowdose-complete-t01.json'));
    rmSync(path.join(folder, '.lowdose-complete-t02.json'));
    const writing = await acquireFolderLock(path.join(folder, 't01'));
    try {
      const later = await denoise(frameFiles(3), out);
      expect(later.errors).toEqual([expect.objectContaining({ code: 'E_EXISTS', message: expect.stringContaining('recorded with other extra outputs') })]);
    } finally {
      await writing.release();
    }
  });

  it('an older .lowdose-series.json without the record and no finished time point refuses nothing and records the run\'s', async () => {
    const out = path.join(root, 'legacy-unfinished');
    const first = await denoise(frameFiles(1), out, { uncertainty: true });
    const folder = first.series[0]!.output.dir;
    stripRecord(folder);
    // t01 as a killed run leaves it: its files, no marker.
    rmSync(path.join(folder, '.lowdose-complete-t01.json'));

    const spread = await denoise(frameFiles(2), out);
    expect(spread.errors).toEqual([]);
    expect(spread.series[0]!.extraOutputs).toEqual(SPREAD);
    expect(record(folder).extraOutputs).toEqual(SPREAD);
    const calibrated = await denoise(frameFiles(3), out, { uncertainty: true });
    expect(calibrated.errors).toEqual([expect.objectContaining({ code: 'E_EXISTS', message: expect.stringContaining('this run uncertainty series calibrated σ') })]);
  });

  it('an --overwrite that replaces the series records its own extra outputs, and later time points are checked against them', async () => {
    const out = path.join(root, 'overwrite');
    const first = await denoise(frameFiles(1), out, { uncertainty: true, hallucination: true });
    const folder = first.series[0]!.output.dir;
    expect(record(folder).extraOutputs).toEqual({ ...CALIBRATED, hallucination: true });

    const redone = await denoise(frameFiles(2), out, { overwrite: true });
    expect(redone.errors).toEqual([]);
    expect(record(folder).extraOutputs).toEqual(SPREAD);
    expect(markers(folder)).toEqual(['t02']);

    const map = await denoise(frameFiles(3), out, { uncertainty: true, hallucination: true });
    expect(map.errors).toEqual([expect.objectContaining({ code: 'E_EXISTS', message: expect.stringContaining('recorded with other extra outputs') })]);
    const joined = await denoise(frameFiles(3), out);
    expect(joined.errors).toEqual([]);
    expect(markers(folder)).toEqual(['t02', 't03']);
  });
});
