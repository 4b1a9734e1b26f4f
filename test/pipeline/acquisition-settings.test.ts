/**
 * One derived series of a dynamic PET acquisition is ONE processing: the settings that define it
 * (method, model, the model's settings: what a finished frame's completion marker is checked
 * against) are recorded in the folder's `.lowdose-series.json` with its UIDs, and a run without
 * `--overwrite` with other settings writes nothing into that series (src/pipeline/acquisition-series.ts).
 * On make-pet-timing.py's 3 time points x 2 slices; the written files are read with pydicom.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACQUISITION_UIDS_FILE } from '../../src/pipeline/acquisition-series.js';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import type { DenoiseOptions, DenoiseReport } from '../../src/pipeline/types.js';
import { runCli } from '../helpers/cli.js';
import { hasPydicom, makePetTiming, readWithPydicom } from '../helpers/pet-timing.js';
import { replaceableModel } from '../helpers/replaceable-model.js';

const PET_MODEL = fileURLToPath(new URL('../../models/lowdose-pet.json', import.meta.url));

describe.skipIf(!hasPydicom)('a dynamic PET acquisition\'s derived series is made with one set of settings', () => {
  let dir = '';
  let input = '';
  const frameFiles = (t: number) => [1, 2].map((s) => path.join(input, `t${t}-s${s}.dcm`));

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'lowdose-acquisition-settings-'));
    makePetTiming(path.join(dir, 'in'));
    input = path.join(dir, 'in', 'dynamic');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const denoise = (files: string[], out: string, extra: Partial<DenoiseOptions> = {}) => denoisePaths(files, { outDir: out, method: 'gaussian', ...extra });
  /** The frame tags with a completion marker in the folder. */
  const markers = (folder: string) => readdirSync(folder).filter((n) => n.startsWith('.lowdose-complete-')).map((n) => n.slice(18, 21)).sort();
  /** Each written file's name and SeriesInstanceUID, as pydicom reads them. */
  const written = (folder: string) => readWithPydicom(folder).map((f) => [f.name, f.seriesInstanceUid]);

  it('a run with another method writes no time point into the series a first run started: E_EXISTS for each, naming the folder, both methods and --overwrite (exit 1)', async () => {
    const out = path.join(dir, 'out-method');
    const first = await denoise(frameFiles(1), out);
    const folder = first.series[0]!.output.dir;
    const uid = first.series[0]!.output.seriesInstanceUid;

    const run = await runCli('denoise', input, '-o', out, '--method', 'nlm', '--no-progress', '--json');
    expect(run.code, run.stderr).toBe(1);
    const report = JSON.parse(run.stdout) as DenoiseReport;
    expect(report.series).toEqual([]);
    // t01 is finished with gaussian; t02 and t03 are not begun, and would join its series.
    expect(report.errors.map((e) => e.code)).toEqual(['E_EXISTS', 'E_EXISTS', 'E_EXISTS']);
    for (const error of report.errors.slice(1)) {
      expect(error.path).toBe(folder);
      expect(error.message).toContain(folder);
      expect(error.message).toContain('method gaussian');
      expect(error.message).toContain('nlm');
      expect(error.message).toContain('--overwrite');
    }
    expect(written(folder)).toEqual([['t01-IM0001.dcm', uid], ['t01-IM0002.dcm', uid]]);
    expect(markers(folder)).toEqual(['t01']);

    // The run that asks for it replaces the series with one made by nlm throughout.
    const redone = await denoise([input], out, { method: 'nlm', overwrite: true });
    expect(redone.errors).toEqual([]);
    expect(redone.series.map((s) => [s.input.petFrame?.tag, s.method])).toEqual([['t01', 'nlm'], ['t02', 'nlm'], ['t03', 'nlm']]);
    const uids = new Set(readWithPydicom(folder).map((f) => f.seriesInstanceUid));
    expect(uids.size).toBe(1);
    expect(uids.has(uid)).toBe(false);
  });

  it('a run with another model seed does not finish an interrupted time point: E_EXISTS naming both seeds, its files removed, the time points made as recorded kept; the recorded seed finishes the series', async () => {
    const out = path.join(dir, 'out-seed');
    const model = { model: PET_MODEL, method: 'diffusion' as const, steps: 1, samples: 1 };
    const first = await denoise([input], out, { ...model, seed: 7 });
    expect(first.errors).toEqual([]);
    const folder = first.series[0]!.output.dir;
    const uid = first.series[0]!.output.seriesInstanceUid;
    // t02 as a killed run leaves it: its files, no marker.
    rmSync(path.join(folder, '.lowdose-complete-t02.json'));

    const run = await denoise([input], out, { ...model, seed: 8 });
    expect(run.series).toEqual([]);
    expect(run.errors.map((e) => e.code)).toEqual(['E_EXISTS', 'E_EXISTS', 'E_EXISTS']);
    const t02 = run.errors[1]!;
    expect(t02.message).toContain(folder);
    expect(t02.message).toContain('settings "seed 7", this run "seed 8"');
    expect(t02.message).toContain('--overwrite');
    // The interrupted t02 is removed (as at the end of any run on the acquisition); t01, t03 stay.
    expect(written(folder)).toEqual([['t01-IM0001.dcm', uid], ['t01-IM0002.dcm', uid], ['t03-IM0001.dcm', uid], ['t03-IM0002.dcm', uid]]);
    expect(markers(folder)).toEqual(['t01', 't03']);

    // The recorded settings finish it into the same series.
    const rerun = await denoise([input], out, { ...model, seed: 7 });
    expect(rerun.series.map((s) => [s.input.petFrame?.tag, s.skipped ?? false, s.output.seriesInstanceUid])).toEqual([
      ['t01', true, uid],
      ['t02', false, uid],
      ['t03', true, uid],
    ]);
    expect(new Set(rerun.series.map((s) => s.settings)).size).toBe(1);
  });

  it('an older .lowdose-series.json without settings takes those of the time points finished under it: another method is refused, the same one records them', async () => {
    const out = path.join(dir, 'out-legacy');
    const first = await denoise(frameFiles(1), out);
    const folder = first.series[0]!.output.dir;
    const uid = first.series[0]!.output.seriesInstanceUid;
    const file = path.join(folder, ACQUISITION_UIDS_FILE);
    const { source, denoised, uncertainty, hallucination } = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
    const legacy = { source, denoised, uncertainty, hallucination };
    writeFileSync(file, JSON.stringify(legacy));

    const other = await denoise(frameFiles(2), out, { method: 'bilateral' });
    expect(other.series).toEqual([]);
    expect(other.errors).toEqual([expect.objectContaining({ code: 'E_EXISTS', path: folder, message: expect.stringContaining('method gaussian') })]);
    expect(markers(folder)).toEqual(['t01']);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(legacy);

    const same = await denoise(frameFiles(2), out);
    expect(same.errors).toEqual([]);
    expect(same.series[0]!.output.seriesInstanceUid).toBe(uid);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ ...legacy, madeWith: { method: 'gaussian', model: null, settings: null } });
    expect(await denoise(frameFiles(3), out, { method: 'bilateral' })).toMatchObject({ series: [], errors: [{ code: 'E_EXISTS' }] });
    expect(markers(folder)).toEqual(['t01', 't02']);
  });

  /** Time point 1 denoised into `out-<name>` with a replaceable PET model (test/helpers/replaceable-model.ts). */
  async function firstWithModel(name: string) {
    const model = replaceableModel(path.join(dir, `model-${name}`), 'PT');
    const settings = { model: model.card, method: 'diffusion' as const, seed: 7 };
    const first = await denoise(frameFiles(1), path.join(dir, `out-${name}`), settings);
    expect(first.errors).toEqual([]);
    const folder = first.series[0]!.output.dir;
    return { model, settings, out: path.join(dir, `out-${name}`), folder, uid: first.series[0]!.output.seriesInstanceUid, file: path.join(folder, ACQUISITION_UIDS_FILE) };
  }

  it('a run with the model file replaced under the same card name and version adds no time point: E_EXISTS naming both sha256; the file records them and the padding fill, and the first files join', async () => {
    const { model, settings, out, folder, uid, file } = await firstWithModel('weights');
    const made = await model.sha256();
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ madeWith: { method: 'diffusion', modelSha256: made, paddingFill: { kind: 'nearest' } } });

    model.replaceWeights();
    const replaced = await model.sha256();
    const other = await denoise(frameFiles(2), out, settings);
    expect(other.series).toEqual([]);
    expect(other.errors).toEqual([
      expect.objectContaining({ code: 'E_EXISTS', path: folder, message: expect.stringContaining(`model files sha256 ${made.slice(0, 12)}, this run ${replaced.slice(0, 12)}`) }),
    ]);
    expect(markers(folder)).toEqual(['t01']);

    model.replaceWeights(true);
    const same = await denoise(frameFiles(2), out, settings);
    expect(same.errors).toEqual([]);
    expect(same.series[0]!.output.seriesInstanceUid).toBe(uid);
    expect(markers(folder)).toEqual(['t01', 't02']);
  });

  it('a .lowdose-series.json recorded without the model files\' sha256 and the padding fill takes them from the time points finished under it: other model files are refused, the same ones are recorded', async () => {
    const { model, settings, out, file } = await firstWithModel('older');
    const recorded = JSON.parse(readFileSync(file, 'utf8')) as { madeWith: Record<string, unknown> };
    const { modelSha256: made, paddingFill: _fill, ...older } = recorded.madeWith;
    writeFileSync(file, JSON.stringify({ ...recorded, madeWith: older }));

    model.replaceWeights();
    const other = await denoise(frameFiles(2), out, settings);
    expect(other.series).toEqual([]);
    expect(other.errors).toEqual([expect.objectContaining({ code: 'E_EXISTS', message: expect.stringContaining(`model files sha256 ${(made as string).slice(0, 12)}`) })]);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ ...recorded, madeWith: older });

    model.replaceWeights(true);
    const same = await denoise(frameFiles(2), out, settings);
    expect(same.errors).toEqual([]);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(recorded);
  });
});
