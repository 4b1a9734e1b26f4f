/**
 * `simulate`'s completion marker (src/pipeline/simulation-marker.ts): a finished series has
 * `.lowdose-simulated.json` (per frame `.lowdose-simulated-t01.json`) in each of its folders,
 * recording what made it and its slices; a rerun over it is refused as done, over a series a run
 * left without it as incomplete, and `--overwrite` redoes it. `denoise` and `metrics` reading a
 * simulated series without its marker warn that it may be incomplete (W_SIMULATION_INCOMPLETE),
 * unless its files are the whole series they state (pulled from a PACS, copied without hidden files).
 * On a 4-slice water phantom and make-pet-timing.py's dynamic PET (3 time points x 2 slices).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { readDicomFile } from '../../src/dicom/index.js';
import { lowdoseCompletionMarker, lowdoseStatedCount } from '../../src/dicom/read-contributing-equipment.js';
import { writeVolumeSeries } from '../../src/dicom/write-volume.js';
import { generateWater } from '../../src/phantoms/water.js';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import { runMetrics } from '../../src/pipeline/metrics.js';
import { runSimulate, type SimulateOptions } from '../../src/pipeline/simulate.js';
import type { SimulationMarker } from '../../src/pipeline/simulation-marker.js';
import { hasPydicom, makePetTiming } from '../helpers/pet-timing.js';

const root = mkdtempSync(path.join(tmpdir(), 'lowdose-simulate-marker-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function writeInput(dir: string): Promise<string[]> {
  const volume = generateWater({ size: 48, slices: 4, fov: 250 }).volume;
  await writeVolumeSeries(volume, dir, { uidSeed: `simulate-marker-${path.basename(dir)}` });
  return readdirSync(dir).filter((n) => n.endsWith('.dcm')).sort().map((n) => path.join(dir, n));
}

const MARKER = '.lowdose-simulated.json';
const readMarker = (dir: string, name = MARKER) => JSON.parse(readFileSync(path.join(dir, name), 'utf8')) as SimulationMarker;
const dcm = (dir: string) => readdirSync(dir).filter((n) => n.endsWith('.dcm')).sort();

describe('simulate completion marker', () => {
  test('a finished series has its marker in each folder, recording dose, seed, physics and slices; the same run again is refused as done', async () => {
    const input = path.join(root, 'finished');
    await writeInput(input);
    const options: SimulateOptions = { dose: 0.25, outDir: path.join(root, 'out-finished'), seed: 3, workers: 1, mode: 'truth', i0: 50000, withReference: true };
    const [series] = (await runSimulate([input], options)).result.series;
    for (const part of [series!.output, series!.reference!]) {
      const marker = readMarker(part.dir);
      expect(marker).toMatchObject({ dose: 0.25, seed: 3, mode: 'ct-truth', settings: series!.settings, output: series!.output, reference: series!.reference, input: series!.input });
      expect(marker.output.files).toHaveLength(4);
      expect(marker.toolkit.name).toBe('lowdose');
      // The files name the marker their folder holds once the series is finished.
      expect(lowdoseCompletionMarker((await readDicomFile(part.files[0]!)).dataSet)).toBe(MARKER);
    }
    await expect(runSimulate([input], options)).rejects.toMatchObject({
      code: 'E_EXISTS',
      message: expect.stringMatching(/holds 4 file\(s\) of this series from an earlier run that finished it \(its completion marker \.lowdose-simulated\.json lists them\): it is done already; use --overwrite/),
    });
    // Nothing was touched.
    expect(readMarker(series!.output.dir).output).toEqual(series!.output);
  });

  test('a series a run stopped half way is refused as incomplete, redone with --overwrite, and denoise warns until it is', async () => {
    const input = path.join(root, 'stopped');
    const files = await writeInput(input);
    const saved = path.join(root, 'stopped-last.dcm');
    cpSync(files[3]!, saved);
    const options: SimulateOptions = { dose: 0.25, outDir: path.join(root, 'out-stopped'), seed: 4, workers: 1, mode: 'truth', i0: 50000 };
    // The last slice cannot be read once the run has scanned the series: it stops after the first slices.
    const stopped = await runSimulate([input], {
      ...options,
      progress: (message) => {
        if (message.startsWith('simulating')) truncateSync(files[3]!, 600);
      },
    });
    expect(stopped.exitCode).not.toBe(0);
    const folder = readdirSync(options.outDir).map((n) => path.join(options.outDir, n))[0]!;
    const left = dcm(folder);
    expect(left.length).toBeGreaterThan(0);
    expect(left.length).toBeLessThan(4);
    expect(existsSync(path.join(folder, MARKER))).toBe(false);

    cpSync(saved, files[3]!);
    await expect(runSimulate([input], options)).rejects.toMatchObject({
      code: 'E_EXISTS',
      message: expect.stringMatching(/from an earlier run \(.*\) that did not finish it \(no completion marker \.lowdose-simulated\.json: stopped half way.*\), so the series is incomplete; use --overwrite to redo it/),
    });
    expect(dcm(folder)).toEqual(left);

    const denoised = await denoisePaths([folder], { outDir: path.join(root, 'out-stopped-denoised'), method: 'gaussian' });
    const warning = denoised.series[0]!.warnings.find((w) => w.code === 'W_SIMULATION_INCOMPLETE');
    expect(warning?.message).toMatch(/may be incomplete: .* has no \.lowdose-simulated\.json/);

    const redone = await runSimulate([input], { ...options, overwrite: true });
    expect(redone.exitCode).toBe(0);
    expect(dcm(folder)).toHaveLength(4);
    expect(readMarker(folder).output.files).toEqual(redone.result.series[0]!.output.files);
    const again = await denoisePaths([folder], { outDir: path.join(root, 'out-redone-denoised'), method: 'gaussian' });
    expect(again.series[0]!.warnings.filter((w) => w.code === 'W_SIMULATION_INCOMPLETE')).toEqual([]);
  });

  test('a finished simulated series read without its markers (pulled from a PACS, copied without hidden files) is not warned of: its files state its 4 files; one lost is', async () => {
    const input = path.join(root, 'unmarked');
    await writeInput(input);
    const options: SimulateOptions = { dose: 0.25, outDir: path.join(root, 'out-unmarked'), seed: 6, workers: 1, mode: 'truth', i0: 50000, withReference: true };
    const [series] = (await runSimulate([input], options)).result.series;
    const copies = [series!.output.dir, series!.reference!.dir].map((dir) => {
      const copy = path.join(root, 'unmarked-copies', path.basename(dir));
      mkdirSync(copy, { recursive: true });
      for (const name of dcm(dir)) cpSync(path.join(dir, name), path.join(copy, name));
      return copy;
    });
    expect(lowdoseStatedCount((await readDicomFile(path.join(copies[0]!, dcm(copies[0]!)[0]!))).dataSet)).toEqual({ files: 4, frame: false });
    const score = async () => (await runMetrics({ reference: copies[1]!, test: copies[0]! })).result.warnings.filter((w) => w.code === 'W_SIMULATION_INCOMPLETE');
    expect(await score()).toEqual([]);
    rmSync(path.join(copies[0]!, dcm(copies[0]!)[3]!));
    rmSync(path.join(copies[1]!, dcm(copies[1]!)[3]!));
    expect((await score()).map((w) => w.message)).toEqual([
      expect.stringMatching(/has no \.lowdose-simulated\.json, .* and its files say the series has 4 files numbered 1-4: 3 are here, InstanceNumber 4 is missing/),
      expect.stringMatching(/has no \.lowdose-simulated\.json, .* and its files say the series has 4 files numbered 1-4: 3 are here, InstanceNumber 4 is missing/),
    ]);
  });

  test('metrics warns of a simulated series whose marker is gone or lists other files than were read, and not while it is finished', async () => {
    const input = path.join(root, 'metrics');
    await writeInput(input);
    const options: SimulateOptions = { dose: 0.25, outDir: path.join(root, 'out-metrics'), seed: 5, workers: 1, mode: 'truth', i0: 50000, withReference: true };
    const [series] = (await runSimulate([input], options)).result.series;
    const score = async () => (await runMetrics({ reference: series!.reference!.dir, test: series!.output.dir })).result.warnings.filter((w) => w.code === 'W_SIMULATION_INCOMPLETE');
    expect(await score()).toEqual([]);
    // A slice gone: the marker lists 4 files, 3 are read.
    rmSync(series!.output.files[3]!);
    rmSync(series!.reference!.files[3]!);
    expect((await score()).map((w) => w.message)).toEqual([expect.stringMatching(/lists 4 file\(s\), 3 were read/), expect.stringMatching(/lists 4 file\(s\), 3 were read/)]);
    rmSync(path.join(series!.output.dir, MARKER));
    const warnings = await score();
    expect(warnings.map((w) => [w.path, w.message.includes(`has no ${MARKER}`)])).toEqual([
      [expect.stringContaining('_fulldose'), false],
      [series!.output.files[0], true],
    ]);
  });
});

/** Rewrites make-pet-timing.py's dynamic series as an acquisition of its first `frames` time points (NumberOfTimeSlices `frames`). */
function fewerTimePoints(from: string, to: string, frames: number): void {
  mkdirSync(to, { recursive: true });
  const script = [
    'import os, sys, pydicom',
    'src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])',
    'for name in sorted(os.listdir(src)):',
    "    if int(name[1:name.index('-')]) > n: continue",
    '    d = pydicom.dcmread(os.path.join(src, name))',
    '    d.NumberOfTimeSlices = n',
    '    d.save_as(os.path.join(dst, name), write_like_original=False)',
  ].join('\n');
  const run = spawnSync('/usr/bin/python3', ['-c', script, from, to, String(frames)], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(run.stderr);
}

describe.skipIf(!hasPydicom)('simulate rerun of a dynamic PET acquisition', () => {
  const dir = path.join(root, 'pet');
  const input = path.join(dir, 'in', 'dynamic');
  const frameFiles = (t: number) => [1, 2].map((s) => path.join(input, `t${t}-s${s}.dcm`));
  const options = (out: string, extra: Partial<SimulateOptions> = {}): SimulateOptions => ({ dose: 0.25, outDir: out, seed: 2, workers: 1, withReference: true, ...extra });
  const tagsIn = (folder: string) => [...new Set(readdirSync(folder).map((n) => /^(t\d+)-/.exec(n)?.[1] ?? /-(t\d+)\.json$/.exec(n)?.[1]).filter(Boolean))].sort();

  test('each time point is finished on its own: its own marker, naming its slices', async () => {
    makePetTiming(path.join(dir, 'in'));
    const { result } = await runSimulate([input], options(path.join(dir, 'out-markers')));
    const folder = result.series[0]!.output.dir;
    expect(readdirSync(folder).filter((n) => n.startsWith('.lowdose-simulated')).sort()).toEqual(['t01', 't02', 't03'].map((t) => `.lowdose-simulated-${t}.json`));
    for (const s of result.series) {
      const marker = readMarker(folder, `.lowdose-simulated-${s.input.petFrame!.tag}.json`);
      expect(marker.output.files).toEqual(s.output.files);
      expect(marker.reference!.files).toEqual(s.reference!.files);
      expect(lowdoseCompletionMarker((await readDicomFile(s.output.files[0]!)).dataSet)).toBe(`.lowdose-simulated-${s.input.petFrame!.tag}.json`);
    }
  });

  test('an --overwrite of the acquisition with fewer time points removes those it no longer has; a run over some of its time points leaves the others', async () => {
    const out = path.join(dir, 'out-fewer');
    const first = (await runSimulate([input], options(out))).result;
    const folder = first.series[0]!.output.dir;
    const reference = first.series[0]!.reference!.dir;
    expect(tagsIn(folder)).toEqual(['t01', 't02', 't03']);

    // Some time points of the acquisition (it still has 3): the others stay as they were.
    const some = await runSimulate(frameFiles(2), options(out, { overwrite: true }));
    expect(some.result.series.map((s) => s.input.petFrame?.tag)).toEqual(['t02']);
    expect(tagsIn(folder)).toEqual(['t01', 't02', 't03']);
    expect(tagsIn(reference)).toEqual(['t01', 't02', 't03']);

    // The acquisition again, now of 2 time points: time point 3 is no longer part of it.
    const two = path.join(dir, 'in', 'dynamic-two');
    fewerTimePoints(input, two, 2);
    const fewer = await runSimulate([two], options(out, { overwrite: true }));
    expect(fewer.exitCode).toBe(0);
    expect(fewer.result.series.map((s) => s.output.dir)).toEqual([folder, folder]);
    expect(tagsIn(folder)).toEqual(['t01', 't02']);
    expect(tagsIn(reference)).toEqual(['t01', 't02']);
    expect(dcm(folder)).toEqual(fewer.result.series.flatMap((s) => s.output.files.map((f) => path.basename(f))).sort());
  });

  test('without --overwrite, a time point the acquisition no longer has refuses the run', async () => {
    const out = path.join(dir, 'out-refused');
    const first = (await runSimulate([input], options(out))).result;
    const folder = first.series[0]!.output.dir;
    for (const name of readdirSync(folder)) if (/^t0[12]-|-t0[12]\.json$/.test(name)) rmSync(path.join(folder, name));
    const refDir = first.series[0]!.reference!.dir;
    for (const name of readdirSync(refDir)) if (/^t0[12]-|-t0[12]\.json$/.test(name)) rmSync(path.join(refDir, name));
    const two = path.join(dir, 'in', 'dynamic-two-refused');
    fewerTimePoints(input, two, 2);
    await expect(runSimulate([two], options(out))).rejects.toMatchObject({
      code: 'E_EXISTS',
      message: expect.stringMatching(/t03-IM0001\.dcm already exists: the folder holds 2 file\(s\) of time point t03, which the acquisition no longer has \(it has 2\) from an earlier run that finished it/),
    });
    expect(tagsIn(folder)).toEqual(['t03']);
  });
});
