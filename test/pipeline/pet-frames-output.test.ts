/**
 * A denoised dynamic or gated PET acquisition is written as ONE derived series with the source's
 * frame structure, as kinetic and gating software expects: every time point (gate) in one folder
 * under one SeriesInstanceUID, each file with its source image's NumberOfTimeSlices /
 * NumberOfRRIntervals / NumberOfTimeSlots, ImageIndex and frame timing. The source files and
 * their SUVbw factors come from test/dicom/data/make-pet-timing.py; the written files are read
 * with pydicom (test/dicom/data/read-pet-series.py), not with lowdose's reader.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSlice, scanPaths } from '../../src/dicom/index.js';
import type { DenoiseReport } from '../../src/pipeline/types.js';
import type { SimulateResult } from '../../src/pipeline/simulate.js';
import type { MetricsResult } from '../../src/pipeline/metrics.js';
import { acquisitionUids } from '../../src/pipeline/acquisition-series.js';
import { acquireFolderLock } from '../../src/util/folder-lock.js';
import type { MadeWith } from '../../src/pipeline/made-with.js';
import { derivedSeriesToStore } from '../../src/pipeline/remote-denoise.js';
import { pairSeries, type IndexedSeries } from '../../src/server/data/pairing.js';
import { readReportLinks } from '../../src/server/data/reports.js';
import { readSeriesFacts } from '../../src/server/data/series-facts.js';
import { runCli } from '../helpers/cli.js';
import { hasPydicom, makePetTiming, readWithPydicom, type PydicomFile } from '../helpers/pet-timing.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const PYTHON = '/usr/bin/python3';
const LESION_STATS = fileURLToPath(new URL('../dicom/data/pet-lesion-stats.py', import.meta.url));

/** The DICOM files' names and bytes (a completion marker records its run: its folder, its time per slice). */
function hashFolder(folder: string): string {
  const hash = createHash('sha256');
  for (const name of readdirSync(folder).filter((n) => n.endsWith('.dcm')).sort()) hash.update(name).update(readFileSync(path.join(folder, name)));
  return hash.digest('hex');
}

/** A lesion as pydicom and numpy read it in one frame (test/dicom/data/pet-lesion-stats.py). */
interface PydicomLesion {
  name: string;
  voxels: number;
  mean: number;
  max: number;
  peak: number;
}

/** Each frame's lesions (by 1-based frame number) of a PET folder in SUVbw = Bq/ml x `factor`, with pydicom and numpy. */
function lesionsWithPydicom(folder: string, factor: number, lesionsFile: string): Record<string, PydicomLesion[]> {
  const run = spawnSync(PYTHON, [LESION_STATS, folder, String(factor), lesionsFile], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`pet-lesion-stats.py failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as Record<string, PydicomLesion[]>;
}

/**
 * Two lesions on the two slices (z -278.5 and -281.77 mm) of make-pet-timing.py's copies of the
 * ACRIN slice: one on its hottest pixel (row 95, column 88), one wider in the body.
 */
const LESIONS = {
  lesions: [
    { name: 'hot', centre: [16.3, -141.8, -280.1], radius: 8 },
    { name: 'wide', centre: [0, -200, -279], radius: 15 },
  ],
};

async function denoiseJson(...args: string[]): Promise<DenoiseReport> {
  const run = await runCli('denoise', ...args, '--method', 'gaussian', '--no-progress', '--json');
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as DenoiseReport;
}

async function simulateJson(...args: string[]): Promise<SimulateResult> {
  const run = await runCli('simulate', ...args, '--dose', '0.25', '--seed', '7', '--json');
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as SimulateResult;
}

/** The frame attributes a derived file must keep from its source image. */
const KEPT = ['SeriesType', 'NumberOfSlices', 'NumberOfTimeSlices', 'NumberOfRRIntervals', 'NumberOfTimeSlots', 'ImageIndex', 'AcquisitionTime',
  'FrameReferenceTime', 'ActualFrameDuration', 'TriggerTime', 'FrameTime', 'LowRRValue', 'HighRRValue', 'SeriesTime', 'DecayCorrection', 'Units'];

/** What the Gaussian filter's series are made with. */
const GAUSSIAN: MadeWith = { method: 'gaussian', model: null, settings: null };

describe.skipIf(!hasPydicom)('a denoised dynamic or gated PET acquisition', () => {
  let dir = '';
  let expected: { dynamic: { factor: number }; dynamicLate: { wholeFactor: number }; gated: { factor: number } };

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'lowdose-pet-frames-'));
    makePetTiming(path.join(dir, 'in'));
    expected = JSON.parse(readFileSync(path.join(dir, 'in', 'expected.json'), 'utf8')) as typeof expected;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /**
   * Checks that `folder` holds one consistent derived series of the acquisition in `source`, each
   * file keeping its source image's frame attributes, and returns it as pydicom reads it. `units`:
   * the Units the files must say instead of the source's (NONE: the sFRC map's unitless scores).
   */
  function expectOneSeriesLikeTheSource(folder: string, source: string, images: number, pixels = false, units?: string): PydicomFile[] {
    const written = readWithPydicom(folder, pixels);
    const sources = new Map(readWithPydicom(source).map((f) => [f.sopInstanceUid, f]));
    expect(written).toHaveLength(images);
    expect(new Set(written.map((f) => f.seriesInstanceUid)).size).toBe(1);
    expect(new Set(written.map((f) => f.seriesNumber)).size).toBe(1);
    expect(new Set(written.map((f) => f.sopInstanceUid)).size).toBe(images);
    // ImageIndex runs 1..N over the series, and InstanceNumber with it.
    expect(written.map((f) => f.attributes.ImageIndex).sort((a, b) => Number(a) - Number(b))).toEqual(Array.from({ length: images }, (_, i) => i + 1));
    expect(new Set(written.map((f) => f.instanceNumber)).size).toBe(images);
    for (const f of written) {
      const original = sources.get(f.source!);
      expect(original, f.name).toBeDefined();
      expect(sources.has(f.sopInstanceUid)).toBe(false);
      for (const keyword of KEPT) {
        const want = keyword === 'Units' && units !== undefined ? units : original!.attributes[keyword];
        expect([f.name, keyword, f.attributes[keyword]]).toEqual([f.name, keyword, want]);
      }
      expect(f.instanceNumber).toBe(f.attributes.ImageIndex);
    }
    return written;
  }

  /** Reads `folder` back with lowdose: the frame split, and SUVbw = the written Bq/ml (pydicom) x the factor computed with pydicom. */
  async function expectReadBack(folder: string, written: PydicomFile[], keys: string[], factor: number): Promise<void> {
    const { series } = await scanPaths([folder]);
    expect(series.map((s) => s.key)).toEqual(keys.map((k) => `${written[0]!.seriesInstanceUid}${k}`));
    const byName = new Map(written.map((f) => [f.name, f]));
    for (const s of series) {
      expect(s.units).toBe('SUVbw');
      expect(s.warnings).toEqual([]);
      for (const slice of s.slices) {
        const suv = await readSlice(slice);
        const bqml = byName.get(path.basename(slice.file))!.bqml;
        let worst = 0;
        for (let i = 0; i < suv.length; i++) worst = Math.max(worst, Math.abs(suv[i]! - bqml[i]! * factor) / Math.max(1e-6, Math.abs(bqml[i]! * factor)));
        expect(worst).toBeLessThan(1e-5);
      }
    }
  }

  it('writes every time point of a dynamic series into one derived series that keeps its frame structure, one JSON entry per time point', async () => {
    const input = path.join(dir, 'in', 'dynamic');
    const before = hashFolder(input);
    const out = path.join(dir, 'out-dynamic');
    const report = await denoiseJson(input, '-o', out);
    expect(hashFolder(input)).toBe(before);
    expect(report.series.map((s) => s.input.key.replace(/^.*#/, '#'))).toEqual(['#t1', '#t2', '#t3']);
    // Each time point's timing: make-pet-timing.py's frames of 60, 120 and 300 s from the SeriesTime.
    const starts = [0, 60, 180];
    const durations = [60, 120, 300];
    expect(report.series.map((s) => s.input.petFrame)).toEqual([1, 2, 3].map((frame) => ({
      acquisitionKey: report.series[0]!.input.seriesInstanceUid,
      kind: 'dynamic',
      frame,
      frames: 3,
      tag: `t0${frame}`,
      timing: {
        startMs: starts[frame - 1]! * 1000,
        durationMs: durations[frame - 1]! * 1000,
        midMs: (starts[frame - 1]! + durations[frame - 1]! / 2) * 1000,
        referenceMs: (starts[frame - 1]! + durations[frame - 1]! / 2) * 1000,
        acquisitionDateTime: expect.stringMatching(/^19600614152[346]16\.921000$/) as unknown as string,
      },
    })));
    expect(new Set(report.series.map((s) => s.output.seriesInstanceUid)).size).toBe(1);
    expect(new Set(report.series.map((s) => s.output.dir)).size).toBe(1);
    expect(report.series.map((s) => s.output.files.map((f) => path.basename(f)))).toEqual([1, 2, 3].map((t) => [`t0${t}-IM0001.dcm`, `t0${t}-IM0002.dcm`]));

    const folder = report.series[0]!.output.dir;
    const written = expectOneSeriesLikeTheSource(folder, input, 6, true);
    expect(written[0]!.seriesInstanceUid).toBe(report.series[0]!.output.seriesInstanceUid);
    expect(new Set(written.map((f) => f.attributes.NumberOfTimeSlices))).toEqual(new Set([3]));
    await expectReadBack(folder, written, ['#t1', '#t2', '#t3'], expected.dynamic.factor);
  });

  it('writes every gate of a gated series into one derived series that keeps its R-R intervals, time slots and trigger times', async () => {
    const input = path.join(dir, 'in', 'gated');
    const report = await denoiseJson(input, '-o', path.join(dir, 'out-gated'));
    expect(report.series.map((s) => s.input.petFrame?.tag)).toEqual(['g01', 'g02', 'g03', 'g04', 'g05', 'g06']);
    expect(report.series.map((s) => s.input.petFrame?.gating)).toEqual(
      [[600, 1000], [1000, 1400]].flatMap(([low, high]) => [0, 250, 500].map((trigger) => ({ triggerTimeMs: trigger, frameTimeMs: 250, lowRRMs: low, highRRMs: high }))),
    );
    expect(new Set(report.series.map((s) => s.output.seriesInstanceUid)).size).toBe(1);
    const folder = report.series[0]!.output.dir;
    const written = expectOneSeriesLikeTheSource(folder, input, 12, true);
    expect(new Set(written.map((f) => `${String(f.attributes.NumberOfRRIntervals)}x${String(f.attributes.NumberOfTimeSlots)}`))).toEqual(new Set(['2x3']));
    await expectReadBack(folder, written, ['#g1', '#g2', '#g3', '#g4', '#g5', '#g6'], expected.gated.factor);
  });

  it("the uncertainty and hallucination map series of a dynamic series are each ONE series with the source's frame structure, read back per time point", async () => {
    const input = path.join(dir, 'in', 'dynamic');
    // The shipped PET model's calibrated 2-sample ensemble, one step: the cheapest run that writes both maps.
    const run = await runCli('denoise', input, '-o', path.join(dir, 'out-maps'), '--model', path.join(REPO, 'models/lowdose-pet.json'), '--samples', '2', '--steps', '1',
      '--uncertainty', '--hallucination', '--device', 'cpu', '--seed', '3', '--threads', '1', '--no-progress', '--json');
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as DenoiseReport;
    expect(report.series.map((s) => s.input.petFrame?.tag)).toEqual(['t01', 't02', 't03']);
    const maps = {
      uncertainty: report.series.map((s) => s.uncertainty!),
      hallucination: report.series.map((s) => s.hallucination!.map!),
    };
    const uids = new Set<string>([report.series[0]!.output.seriesInstanceUid]);
    for (const [kind, parts] of Object.entries(maps)) {
      // One series (one UID, one folder) for the three time points, each time point's 2 files in it.
      expect(new Set(parts.map((p) => p.seriesInstanceUid)).size, kind).toBe(1);
      expect(new Set(parts.map((p) => p.dir)).size, kind).toBe(1);
      expect(parts.map((p) => p.files.map((f) => path.basename(f))), kind).toEqual([1, 2, 3].map((t) => [`t0${t}-IM0001.dcm`, `t0${t}-IM0002.dcm`]));
      uids.add(parts[0]!.seriesInstanceUid);
      const written = expectOneSeriesLikeTheSource(parts[0]!.dir, input, 6, false, kind === 'hallucination' ? 'NONE' : undefined);
      expect(written[0]!.seriesInstanceUid, kind).toBe(parts[0]!.seriesInstanceUid);
      expect(new Set(written.map((f) => f.attributes.NumberOfTimeSlices)), kind).toEqual(new Set([3]));
      const { series } = await scanPaths([parts[0]!.dir]);
      expect(series.map((s) => [s.key, s.slices.length]), kind).toEqual(['#t1', '#t2', '#t3'].map((k) => [`${parts[0]!.seriesInstanceUid}${k}`, 2]));
    }
    // The denoised, uncertainty and map series are three series.
    expect(uids.size).toBe(3);
  });

  it('a rerun skips the finished time points; --overwrite of all of them draws a new series UID', async () => {
    const input = path.join(dir, 'in', 'dynamic');
    const out = path.join(dir, 'out-rerun');
    const first = await denoiseJson(input, '-o', out);
    const uid = first.series[0]!.output.seriesInstanceUid;
    const folder = first.series[0]!.output.dir;

    const again = await denoiseJson(input, '-o', out);
    expect(again.series.map((s) => s.skipped)).toEqual([true, true, true]);
    expect(again.series.map((s) => s.output.seriesInstanceUid)).toEqual([uid, uid, uid]);

    const all = await denoiseJson(input, '-o', out, '--overwrite');
    const redrawn = all.series[0]!.output.seriesInstanceUid;
    expect(redrawn).not.toBe(uid);
    expect(all.series.map((s) => s.output.seriesInstanceUid)).toEqual([redrawn, redrawn, redrawn]);
    expect(expectOneSeriesLikeTheSource(folder, input, 6).every((f) => f.seriesInstanceUid === redrawn)).toBe(true);
  });

  it('scores each time point against the same time point of a --reference acquisition', async () => {
    // dynamic-late holds the same pixels as dynamic under another UID: each time point's input
    // equals its reference exactly, and differs from the reference's other time points.
    const report = await denoiseJson(path.join(dir, 'in', 'dynamic'), '-o', path.join(dir, 'out-reference'), '--reference', path.join(dir, 'in', 'dynamic-late'));
    expect(report.series.map((s) => s.metrics?.input?.rmse)).toEqual([0, 0, 0]);
  });

  it("the viewer's index pairs each denoised time point with its own input time point, as the report names them", async () => {
    const input = path.join(dir, 'in', 'dynamic');
    const out = path.join(dir, 'out-index');
    await denoiseJson(input, '-o', out);
    const { series } = await scanPaths([input, out]);
    const all: IndexedSeries[] = await Promise.all(series.map(async (s) => ({ id: s.key, studyId: 'study', series: s, facts: await readSeriesFacts(s), rev: '' })));
    const { comparisons } = pairSeries(all, await readReportLinks(path.join(out, 'report.json')));
    const frame = (s: IndexedSeries) => s.series.key.replace(/^.*#/, '#');
    expect(comparisons.map((c) => [frame(c.lowDose), frame(c.denoised), c.pairedBy])).toEqual([
      ['#t1', '#t1', 'report'],
      ['#t2', '#t2', 'report'],
      ['#t3', '#t3', 'report'],
    ]);
  });

  it('simulates a dynamic series as one series that keeps its frame structure, reads back as the same time points, and denoises', async () => {
    const input = path.join(dir, 'in', 'dynamic');
    const out = path.join(dir, 'sim-dynamic');
    const result = await simulateJson(input, '-o', out, '--with-reference');
    expect(result.errors).toEqual([]);
    expect(result.series.map((s) => s.input.petFrame?.tag)).toEqual(['t01', 't02', 't03']);
    for (const part of ['output', 'reference'] as const) {
      expect(new Set(result.series.map((s) => s[part]!.seriesInstanceUid)).size).toBe(1);
      expect(new Set(result.series.map((s) => s[part]!.dir)).size).toBe(1);
    }
    expect(result.series.map((s) => s.reference!.files.map((f) => path.basename(f)))).toEqual([1, 2, 3].map((t) => [`t0${t}-REF0001.dcm`, `t0${t}-REF0002.dcm`]));
    expect(result.series[0]!.reference!.seriesInstanceUid).not.toBe(result.series[0]!.output.seriesInstanceUid);

    const folder = result.series[0]!.output.dir;
    const written = expectOneSeriesLikeTheSource(folder, input, 6, true);
    expect(written[0]!.seriesInstanceUid).toBe(result.series[0]!.output.seriesInstanceUid);
    expectOneSeriesLikeTheSource(result.series[0]!.reference!.dir, input, 6);
    await expectReadBack(folder, written, ['#t1', '#t2', '#t3'], expected.dynamic.factor);

    const info = await runCli('info', '--stats', folder, '--json');
    expect(info.code, info.stderr).toBe(0);
    const read = JSON.parse(info.stdout) as { series: Array<{ key: string; units: string; slices: number; warnings: unknown[] }> };
    expect(read.series.map((s) => [s.key.replace(/^.*#/, '#'), s.units, s.slices, s.warnings])).toEqual(['#t1', '#t2', '#t3'].map((k) => [k, 'SUVbw', 2, []]));

    const denoised = await denoiseJson(folder, '-o', path.join(dir, 'sim-dynamic-denoised'));
    expect(denoised.series.map((s) => s.input.petFrame?.tag)).toEqual(['t01', 't02', 't03']);
    expectOneSeriesLikeTheSource(denoised.series[0]!.output.dir, folder, 6);
  });

  it('simulates a gated series as one series, and the same seed again writes the same bytes', async () => {
    const input = path.join(dir, 'in', 'gated');
    const first = await simulateJson(input, '-o', path.join(dir, 'sim-gated-1'));
    const second = await simulateJson(input, '-o', path.join(dir, 'sim-gated-2'));
    expect(first.series.map((s) => s.input.petFrame?.tag)).toEqual(['g01', 'g02', 'g03', 'g04', 'g05', 'g06']);
    expect(new Set(first.series.map((s) => s.output.seriesInstanceUid)).size).toBe(1);
    const folder = first.series[0]!.output.dir;
    const written = expectOneSeriesLikeTheSource(folder, input, 12, true);
    await expectReadBack(folder, written, ['#g1', '#g2', '#g3', '#g4', '#g5', '#g6'], expected.gated.factor);
    expect(hashFolder(second.series[0]!.output.dir)).toBe(hashFolder(folder));
    // --overwrite into the same -o: each gate replaces its own files only (t01-IM*, not the other
    // gates' in the shared folder), so the folder is the same 12 files again.
    const again = await simulateJson(input, '-o', path.join(dir, 'sim-gated-2'), '--overwrite');
    expect(again.errors).toEqual([]);
    expect(again.series.flatMap((s) => s.output.files)).toHaveLength(12);
    expect(hashFolder(again.series[0]!.output.dir)).toBe(hashFolder(folder));
  });

  it('simulates each gate of the same activity with noise of its own', async () => {
    // The gated set with every gate given the first gate's activity (RescaleSlope per slice): the
    // gates then differ in nothing the simulator reads but their frame number.
    const input = path.join(dir, 'gated-equal');
    const copy = spawnSync(PYTHON, ['-c', [
      'import os, sys, pydicom',
      'src, out = sys.argv[1], sys.argv[2]',
      'os.makedirs(out, exist_ok=True)',
      'for name in sorted(os.listdir(src)):',
      '    d = pydicom.dcmread(os.path.join(src, name))',
      "    d.RescaleSlope = pydicom.dcmread(os.path.join(src, 'rr1-slot1-' + name.split('-')[-1])).RescaleSlope",
      '    d.save_as(os.path.join(out, name))',
    ].join('\n'), path.join(dir, 'in', 'gated'), input], { encoding: 'utf8' });
    expect(copy.status, copy.stderr).toBe(0);
    const simulated = await simulateJson(input, '-o', path.join(dir, 'sim-gated-equal'));
    const written = readWithPydicom(simulated.series[0]!.output.dir, true);
    expect(written).toHaveLength(12);
    // ImageIndex of slice s (1, 2) in gate g (0..5): 2 g + s.
    const image = (gate: number, slice: number) => written.find((f) => f.attributes.ImageIndex === 2 * gate + slice)!.bqml;
    for (const slice of [1, 2]) {
      const first = image(0, slice);
      for (let gate = 1; gate < 6; gate++) {
        const other = image(gate, slice);
        const differing = first.filter((v, i) => v !== other[i]).length;
        expect([gate, slice, differing > first.length / 4]).toEqual([gate, slice, true]);
      }
    }
  });

  it('metrics scores each time point of a dynamic test against the same time point of the reference, and reports every frame', async () => {
    // dynamic-late holds dynamic's pixels under another UID: frame k against frame k is RMSE 0;
    // against the reference's first time point, time points 2 and 3 would not be.
    const run = await runCli('metrics', '--reference', path.join(dir, 'in', 'dynamic-late'), '--test', path.join(dir, 'in', 'dynamic'), '--json');
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as MetricsResult;
    expect(result.frames!.map((f) => [f.tag, f.test.key.replace(/^.*#/, '#'), f.reference.key.replace(/^.*#/, '#'), f.mean.rmse, f.mean.psnr])).toEqual([
      ['t01', '#t1', '#t1', 0, null],
      ['t02', '#t2', '#t2', 0, null],
      ['t03', '#t3', '#t3', 0, null],
    ]);
    expect(result.slices.map((s) => `${s.frame!}:${s.index}`)).toEqual(['t01:0', 't01:1', 't02:0', 't02:1', 't03:0', 't03:1']);
    expect(result.mean.rmse).toBe(0);
    expect([result.reference.slices, result.test.slices]).toEqual([6, 6]);
  });

  it('metrics of a simulated dynamic series against its full-dose reconstruction gives each frame the RMSE pydicom computes for that frame', async () => {
    const input = path.join(dir, 'in', 'dynamic');
    const simulated = await simulateJson(input, '-o', path.join(dir, 'sim-metrics'), '--with-reference');
    const low = simulated.series[0]!.output.dir;
    const full = simulated.series[0]!.reference!.dir;
    const run = await runCli('metrics', '--reference', full, '--test', low, '--json');
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as MetricsResult;
    // RMSE in SUVbw per slice pair, from pydicom's Bq/ml and make-pet-timing.py's factor (no padding in these slices).
    const byName = (folder: string) => new Map(readWithPydicom(folder, true).map((f) => [f.name.replace(/-(IM|REF)/, '-'), f.bqml]));
    const lows = byName(low);
    const fulls = byName(full);
    const expectedRmse = (tag: string, slice: number) => {
      const name = `${tag}-${String(slice + 1).padStart(4, '0')}.dcm`;
      const a = lows.get(name)!;
      const b = fulls.get(name)!;
      let sum = 0;
      for (let i = 0; i < a.length; i++) sum += ((a[i]! - b[i]!) * expected.dynamic.factor) ** 2;
      return Math.sqrt(sum / a.length);
    };
    expect(result.frames!.map((f) => f.tag)).toEqual(['t01', 't02', 't03']);
    for (const s of result.slices) expect(s.rmse).toBeCloseTo(expectedRmse(s.frame!, s.index), 4);
    // The frames differ: the activity falls and the frames lengthen, so the later ones are less noisy.
    const rmse = result.frames!.map((f) => f.mean.rmse);
    expect(rmse[0]).toBeGreaterThan(rmse[2]! * 2);
  });

  it("metrics scores each frame of two acquisitions as that frame pair alone: its own range, PSNR and SSIM, whichever frames come with it", async () => {
    const simulated = await simulateJson(path.join(dir, 'in', 'dynamic'), '-o', path.join(dir, 'sim-frame-range'), '--with-reference');
    const low = simulated.series[0]!.output.dir;
    const full = simulated.series[0]!.reference!.dir;
    const whole = JSON.parse((await runCli('metrics', '--reference', full, '--test', low, '--json')).stdout) as MetricsResult;
    for (const [k, tag] of ['t01', 't02', 't03'].entries()) {
      const alone = JSON.parse((await runCli('metrics', '--reference', frameOnly(full, tag, 'range-full'), '--test', frameOnly(low, tag, 'range-low'), '--json')).stdout) as MetricsResult;
      const frame = whole.frames![k]!;
      expect([tag, frame.range]).toEqual([tag, alone.range]);
      expect([tag, frame.mean]).toEqual([tag, alone.mean]);
      expect(whole.slices.filter((s) => s.frame === tag).map(({ frame: _, ...s }) => s)).toEqual(alone.slices.map(({ frame: _, ...s }) => s));
    }
    // The frames' own ranges differ (the activity falls), and the top level spans them.
    const highs = whole.frames!.map((f) => f.range[1]);
    expect(highs[0]).toBeGreaterThan(highs[2]! * 2);
    expect(whole.range).toEqual([0, Math.max(...highs)]);
    // --range scores every frame with it.
    const fixed = JSON.parse((await runCli('metrics', '--reference', full, '--test', low, '--range', '0,10', '--json')).stdout) as MetricsResult;
    expect(fixed.range).toEqual([0, 10]);
    expect(fixed.frames!.map((f) => f.range)).toEqual([[0, 10], [0, 10], [0, 10]]);
  });

  /** Each frame's lesion readings of `side` match pydicom's for that frame (SUVbw, float32 pixels: 1e-5 relative). */
  function expectLesionsAsPydicom(result: MetricsResult, side: 'reference' | 'test', byFrame: Record<string, PydicomLesion[]>): void {
    for (const f of result.frames!) {
      const known = byFrame[String(f.frame)]!;
      expect(f.lesions!.map((l) => l.name)).toEqual(known.map((l) => l.name));
      for (const [i, l] of f.lesions!.entries()) {
        const reading = l[side];
        const k = known[i]!;
        expect([f.tag, l.name, side, reading.voxels]).toEqual([f.tag, l.name, side, k.voxels]);
        for (const q of ['mean', 'max', 'peak'] as const) {
          expect([f.tag, l.name, side, q, Math.abs(reading[q] - k[q]) / k[q] < 1e-5]).toEqual([f.tag, l.name, side, q, true]);
        }
      }
    }
  }

  /** A folder holding only frame `tag`'s files of a derived acquisition folder (`t02-IM0001.dcm`, ...). */
  function frameOnly(folder: string, tag: string, name: string): string {
    const one = path.join(dir, `frame-${tag}-${name}`);
    mkdirSync(one, { recursive: true });
    for (const file of readdirSync(folder).filter((n) => n.startsWith(`${tag}-`))) copyFileSync(path.join(folder, file), path.join(one, file));
    return one;
  }

  function writeLesions(): string {
    const file = path.join(dir, 'lesions.json');
    writeFileSync(file, JSON.stringify(LESIONS));
    return file;
  }

  it("metrics --lesions on two dynamic acquisitions reads each time point's lesions as pydicom and numpy do, and prints each lesion's curve over the time points", async () => {
    const simulated = await simulateJson(path.join(dir, 'in', 'dynamic'), '-o', path.join(dir, 'sim-lesions'), '--with-reference');
    const low = simulated.series[0]!.output.dir;
    const full = simulated.series[0]!.reference!.dir;
    const lesions = writeLesions();
    const run = await runCli('metrics', '--reference', full, '--test', low, '--lesions', lesions, '--json');
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as MetricsResult;
    expect(result.frames!.map((f) => f.tag)).toEqual(['t01', 't02', 't03']);
    // Several frames: each frame's lesions in its entry, none at the top.
    expect(result.lesions).toBeUndefined();
    const reference = lesionsWithPydicom(full, expected.dynamic.factor, lesions);
    const test = lesionsWithPydicom(low, expected.dynamic.factor, lesions);
    expectLesionsAsPydicom(result, 'reference', reference);
    expectLesionsAsPydicom(result, 'test', test);
    for (const f of result.frames!) {
      for (const l of f.lesions!) {
        for (const q of ['mean', 'max', 'peak'] as const) expect(l.recovery[q]).toBeCloseTo(l.test[q] / l.reference[q], 12);
      }
    }
    // The time points differ (activity 1, 0.6, 0.3 of the source's): the curve falls.
    const hot = result.frames!.map((f) => f.lesions![0]!.reference.mean);
    expect(hot[0]! > hot[1]! && hot[1]! > hot[2]!).toBe(true);

    // Each frame's timing: make-pet-timing.py's frames of 60, 120 and 300 s, back to back from the SeriesTime.
    const starts = [0, 60, 180];
    const durations = [60, 120, 300];
    expect(result.frames!.map((f) => f.timing && [f.timing.startMs, f.timing.durationMs, f.timing.midMs, f.timing.referenceMs])).toEqual(
      durations.map((d, t) => [starts[t]! * 1000, d * 1000, (starts[t]! + d / 2) * 1000, (starts[t]! + d / 2) * 1000]),
    );

    // The text: under each lesion's name, one row per time point with its start, duration and
    // middle in s, then pydicom's numbers to 3 decimals.
    const text = await runCli('metrics', '--reference', full, '--test', low, '--lesions', lesions);
    expect(text.code, text.stderr).toBe(0);
    const lines = text.stdout.split('\n');
    for (const [i, name] of ['hot', 'wide'].entries()) {
      const at = lines.findIndex((l) => l.startsWith(`${name}: `));
      expect(lines[at + 1]!.split(/\s+/)).toEqual(['frame', 'start', 's', 'duration', 's', 'mid', 's', 'voxels', 'SUVmean', 'ref', 'SUVmax', 'ref', 'SUVpeak', 'ref',
        'SUVmean', 'test', 'SUVmax', 'test', 'SUVpeak', 'test', 'ratio', 'mean', 'ratio', 'max', 'ratio', 'peak']);
      for (const t of [1, 2, 3]) {
        const r = reference[String(t)]![i]!;
        const s = test[String(t)]![i]!;
        const cells = lines[at + 1 + t]!.trim().split(/\s+/).slice(0, 14);
        const d = durations[t - 1]!;
        expect(cells).toEqual([`t0${t}`, String(starts[t - 1]), String(d), String(starts[t - 1]! + d / 2), String(r.voxels),
          ...[r.mean, r.max, r.peak, s.mean, s.max, s.peak].map((v) => v.toFixed(3)),
          ...[s.mean / r.mean, s.max / r.max, s.peak / r.peak].map((v) => v.toFixed(3))]);
      }
    }
    // Each frame's means line names its start and duration.
    expect(lines.filter((l) => /^ {2}t0\d /.test(l)).map((l) => /start +(\S+) s +duration +(\S+) s/.exec(l)?.slice(1))).toEqual([['0', '60'], ['60', '120'], ['180', '300']]);
  });

  it('metrics --lesions on two gated acquisitions gives each gate the recovery of its known activity scale, with the SUVs pydicom reads', async () => {
    // The gated set again under another UID, every gate's RescaleSlope scaled by its own factor.
    const scales = [0.95, 0.9, 0.85, 0.8, 0.75, 0.7];
    const scaled = path.join(dir, 'gated-scaled');
    const copy = spawnSync(PYTHON, ['-c', [
      'import json, math, os, sys, pydicom',
      'from pydicom.uid import generate_uid',
      'src, out, scales = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])',
      'os.makedirs(out, exist_ok=True)',
      "uid = generate_uid(entropy_srcs=['lowdose-pet-gated-scaled'])",
      'for name in sorted(os.listdir(src)):',
      '    d = pydicom.dcmread(os.path.join(src, name))',
      '    gate = math.ceil(int(d.ImageIndex) / int(d.NumberOfSlices))',
      "    d.RescaleSlope = f'{float(d.RescaleSlope) * scales[gate - 1]:.10g}'",
      '    d.SeriesInstanceUID = uid',
      "    d.SOPInstanceUID = generate_uid(entropy_srcs=['lowdose-pet-gated-scaled', name])",
      '    d.file_meta.MediaStorageSOPInstanceUID = d.SOPInstanceUID',
      '    d.save_as(os.path.join(out, name))',
    ].join('\n'), path.join(dir, 'in', 'gated'), scaled, JSON.stringify(scales)], { encoding: 'utf8' });
    expect(copy.status, copy.stderr).toBe(0);
    const lesions = writeLesions();
    const run = await runCli('metrics', '--reference', path.join(dir, 'in', 'gated'), '--test', scaled, '--lesions', lesions, '--json');
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as MetricsResult;
    expect(result.frames!.map((f) => [f.tag, f.kind])).toEqual(['g01', 'g02', 'g03', 'g04', 'g05', 'g06'].map((tag) => [tag, 'gated']));
    expect(result.lesions).toBeUndefined();
    expectLesionsAsPydicom(result, 'reference', lesionsWithPydicom(path.join(dir, 'in', 'gated'), expected.gated.factor, lesions));
    expectLesionsAsPydicom(result, 'test', lesionsWithPydicom(scaled, expected.gated.factor, lesions));
    // Each gate's TriggerTime, FrameTime and R-R limits (make-pet-timing.py: slots 250 ms apart and long; 600-1000, then 1000-1400 ms).
    const triggers = [0, 250, 500, 0, 250, 500];
    const rr = ['600-1000', '600-1000', '600-1000', '1000-1400', '1000-1400', '1000-1400'];
    expect(result.frames!.map((f) => f.gating)).toEqual(triggers.map((t, g) => ({ triggerTimeMs: t, frameTimeMs: 250, lowRRMs: Number(rr[g]!.split('-')[0]), highRRMs: Number(rr[g]!.split('-')[1]) })));
    const text = (await runCli('metrics', '--reference', path.join(dir, 'in', 'gated'), '--test', scaled, '--lesions', lesions)).stdout.split('\n');
    const at = text.findIndex((l) => l.startsWith('hot: '));
    expect(text[at + 1]!.split(/\s+/).slice(0, 6)).toEqual(['frame', 'trigger', 'ms', 'R-R', 'ms', 'voxels']);
    expect(text.slice(at + 2, at + 8).map((l) => l.trim().split(/\s+/).slice(0, 3))).toEqual(triggers.map((t, g) => [`g0${g + 1}`, String(t), rr[g]]));
    // Every pixel of gate g scaled by scales[g]: so is every reading.
    for (const [g, f] of result.frames!.entries()) {
      for (const l of f.lesions!) {
        for (const q of ['mean', 'max', 'peak'] as const) expect([f.tag, l.name, q, l.recovery[q]! - scales[g]!].map((v) => (typeof v === 'number' ? Math.abs(v) < 1e-6 : v))).toEqual([f.tag, l.name, q, true]);
      }
    }
  });

  it('metrics --lesions scores a test frame only against the same reference frame: time points 2 and 3 against three, and one time point against another is refused', async () => {
    // dynamic-late holds dynamic's pixels (and, read whole, its SUVbw factor) under another UID.
    const part = path.join(dir, 'dynamic-t2-t3');
    mkdirSync(part, { recursive: true });
    for (const name of ['t2-s1.dcm', 't2-s2.dcm', 't3-s1.dcm', 't3-s2.dcm']) copyFileSync(path.join(dir, 'in', 'dynamic', name), path.join(part, name));
    const lesions = writeLesions();
    const run = await runCli('metrics', '--reference', path.join(dir, 'in', 'dynamic-late'), '--test', part, '--lesions', lesions, '--json');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/reference frame \S+#t1 has no test frame; skipped/);
    const result = JSON.parse(run.stdout) as MetricsResult;
    expect(result.frames!.map((f) => f.tag)).toEqual(['t02', 't03']);
    const known = lesionsWithPydicom(path.join(dir, 'in', 'dynamic-late'), expected.dynamicLate.wholeFactor, lesions);
    expectLesionsAsPydicom(result, 'reference', known);
    for (const f of result.frames!) for (const l of f.lesions!) expect(l.recovery).toEqual({ mean: 1, max: 1, peak: 1 });
    // Time point 1 reads otherwise: a pairing by position alone would have shown it.
    expect(result.frames![0]!.lesions![0]!.reference.mean).not.toBeCloseTo(known['1']![0]!.mean, 3);

    const refused = await runCli('metrics', '--reference', path.join(dir, 'in', 'dynamic-late', 't2-s1.dcm'), '--test', path.join(dir, 'in', 'dynamic', 't1-s1.dcm'), '--lesions', lesions, '--json');
    expect(refused.code).toBe(2);
    const { errors } = JSON.parse(refused.stdout) as { errors: Array<{ code: string; message: string }> };
    expect(errors[0]!.code).toBe('E_USAGE');
    expect(errors[0]!.message).toMatch(/#t1\b[\s\S]*#t2\b/);
  });

  it("metrics --lesions of one frame pair reports its lesions at the top level, as for one series, with the numbers that frame has in the whole acquisition's run", async () => {
    const simulated = await simulateJson(path.join(dir, 'in', 'dynamic'), '-o', path.join(dir, 'sim-one-frame'), '--with-reference');
    const low = simulated.series[0]!.output.dir;
    const full = simulated.series[0]!.reference!.dir;
    const lesions = writeLesions();
    const whole = JSON.parse((await runCli('metrics', '--reference', full, '--test', low, '--lesions', lesions, '--json')).stdout) as MetricsResult;
    const reference = frameOnly(full, 't02', 'one-frame-full');
    const test = frameOnly(low, 't02', 'one-frame-low');
    const run = await runCli('metrics', '--reference', reference, '--test', test, '--lesions', lesions, '--json');
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as MetricsResult;
    expect(result.frames!.map((f) => f.tag)).toEqual(['t02']);
    expect(Object.keys(result.frames![0]!)).not.toContain('lesions');
    expect(result.lesions).toEqual(whole.frames![1]!.lesions);
    // The text: the one-series lesion table, no table per frame.
    const text = await runCli('metrics', '--reference', reference, '--test', test, '--lesions', lesions);
    expect(text.stdout).toMatch(/^lesion {2}voxels {3}SUVmean ref -> test \(ratio\)/m);
    expect(text.stdout).not.toMatch(/per frame/);
  });

  it("metrics --hallucination on two dynamic acquisitions writes the time points' sFRC maps as one series, each time point's map and summary those of that time point alone", async () => {
    const simulated = await simulateJson(path.join(dir, 'in', 'dynamic'), '-o', path.join(dir, 'sim-hallucination'), '--with-reference');
    const low = simulated.series[0]!.output.dir;
    const full = simulated.series[0]!.reference!.dir;
    const sfrc = ['--patch-size', '16'];
    const all = path.join(dir, 'sfrc-all');
    const run = await runCli('metrics', '--reference', full, '--test', low, '--hallucination', all, ...sfrc, '--json');
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as MetricsResult;
    expect(result.hallucination).toBeUndefined();
    const maps = result.frames!.map((f) => f.hallucination!.map);
    expect(new Set(maps.map((m) => m.seriesInstanceUid)).size).toBe(1);
    expect(maps.map((m) => m.files.map((f) => path.basename(f)))).toEqual([1, 2, 3].map((t) => [`t0${t}-IM0001.dcm`, `t0${t}-IM0002.dcm`]));
    // One series with the test acquisition's frame structure, read back as its three time points.
    expectOneSeriesLikeTheSource(maps[0]!.dir, low, 6, false, 'NONE');
    const { series } = await scanPaths([maps[0]!.dir]);
    expect(series.map((s) => [s.key, s.slices.length])).toEqual(['#t1', '#t2', '#t3'].map((k) => [`${maps[0]!.seriesInstanceUid}${k}`, 2]));
    const allMaps = new Map(readWithPydicom(maps[0]!.dir, true).map((f) => [f.name, f.bqml]));
    const { map: _map, overlays: _overlays, ...firstSummary } = result.frames![0]!.hallucination!;
    expect(firstSummary.patches).toBeGreaterThan(0);
    expect(result.frames!.some((f) => f.hallucination!.flagged.length > 0)).toBe(true);

    for (const [k, f] of result.frames!.entries()) {
      const alone = path.join(dir, `sfrc-${f.tag}`);
      const single = await runCli('metrics', '--reference', frameOnly(full, f.tag, 'sfrc-full'), '--test', frameOnly(low, f.tag, 'sfrc-low'), '--hallucination', alone, ...sfrc, '--json');
      expect(single.code, single.stderr).toBe(0);
      const own = (JSON.parse(single.stdout) as MetricsResult).hallucination!;
      const { map: ownMap, overlays: ownOverlays, ...ownSummary } = own;
      const { map: frameMap, overlays: frameOverlays, ...frameSummary } = f.hallucination!;
      expect(frameSummary, f.tag).toEqual(ownSummary);
      expect(frameOverlays.map((o) => path.basename(o))).toEqual(ownOverlays.map((o) => `${f.tag}-${path.basename(o)}`));
      const ownPixels = new Map(readWithPydicom(ownMap.dir, true).map((w) => [w.name, w.bqml]));
      for (const name of ['IM0001.dcm', 'IM0002.dcm']) expect(allMaps.get(`${f.tag}-${name}`), `${f.tag} ${name}`).toEqual(ownPixels.get(name));
      expect(frameMap.files).toHaveLength(2);
      expect(k).toBe(f.frame - 1);
    }

    const text = await runCli('metrics', '--reference', full, '--test', low, '--hallucination', path.join(dir, 'sfrc-text'), ...sfrc);
    expect(text.stdout.split('\n').filter((l) => / sFRC hallucination map: /.test(l)).map((l) => l.split(' ')[0])).toEqual(['t01', 't02', 't03']);

    // A rerun into the same folder is refused; with --overwrite the time points' maps are again one series, the new run's alone.
    const again = await runCli('metrics', '--reference', full, '--test', low, '--hallucination', all, ...sfrc, '--json');
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('E_EXISTS');
    const replaced = await runCli('metrics', '--reference', full, '--test', low, '--hallucination', all, ...sfrc, '--overwrite', '--json');
    expect(replaced.code, replaced.stderr).toBe(0);
    const newMaps = (JSON.parse(replaced.stdout) as MetricsResult).frames!.map((f) => f.hallucination!.map);
    expect(new Set(newMaps.map((m) => m.seriesInstanceUid)).size).toBe(1);
    expect(newMaps[0]!.seriesInstanceUid).not.toBe(maps[0]!.seriesInstanceUid);
    const rescanned = await scanPaths([newMaps[0]!.dir]);
    expect(rescanned.series.map((s) => [s.key, s.slices.length])).toEqual(['#t1', '#t2', '#t3'].map((k) => [`${newMaps[0]!.seriesInstanceUid}${k}`, 2]));
  });

  it('metrics --noise on two PET acquisitions is refused for what it is, PET, as for one time point', async () => {
    const args = (reference: string, test: string) => ['metrics', '--reference', reference, '--test', test, '--noise', '--input', test, '--json'];
    const messages: string[] = [];
    for (const [reference, test] of [['dynamic-late', 'dynamic'], [path.join('dynamic-late', 't1-s1.dcm'), path.join('dynamic', 't1-s1.dcm')]]) {
      const run = await runCli(...args(path.join(dir, 'in', reference!), path.join(dir, 'in', test!)));
      expect(run.code).toBe(2);
      const { errors } = JSON.parse(run.stdout) as { errors: Array<{ code: string; message: string }> };
      expect(errors[0]!.code).toBe('E_USAGE');
      messages.push(errors[0]!.message);
    }
    expect(messages[0]).toMatch(/^--noise needs CT: .* which PT does not give/);
    expect(messages[1]).toBe(messages[0]);
  });

  it('metrics refuses a time point scored against another time point, naming both keys', async () => {
    const run = await runCli('metrics', '--reference', path.join(dir, 'in', 'dynamic-late', 't2-s1.dcm'), '--test', path.join(dir, 'in', 'dynamic', 't1-s1.dcm'), '--json');
    expect(run.code).toBe(2);
    const { errors } = JSON.parse(run.stdout) as { errors: Array<{ code: string; message: string }> };
    expect(errors[0]!.code).toBe('E_USAGE');
    expect(errors[0]!.message).toMatch(/#t1\b[\s\S]*#t2\b/);
  });

  it("the viewer's index gives each denoised time point the same time point of the reference the report names", async () => {
    const out = path.join(dir, 'out-index-reference');
    const reference = path.join(dir, 'in', 'dynamic-late');
    await denoiseJson(path.join(dir, 'in', 'dynamic'), '-o', out, '--reference', reference);
    const { series } = await scanPaths([path.join(dir, 'in', 'dynamic'), out, reference]);
    const all: IndexedSeries[] = await Promise.all(series.map(async (s) => ({ id: s.key, studyId: 'study', series: s, facts: await readSeriesFacts(s), rev: '' })));
    const { comparisons } = pairSeries(all, await readReportLinks(path.join(out, 'report.json')));
    const frame = (s: IndexedSeries | null) => s?.series.key.replace(/^.*#/, '#') ?? null;
    expect(comparisons.map((c) => [frame(c.lowDose), frame(c.reference), c.reference?.series.seriesInstanceUid === series.find((s) => s.slices[0]!.file.startsWith(reference))!.seriesInstanceUid])).toEqual([
      ['#t1', '#t1', true],
      ['#t2', '#t2', true],
      ['#t3', '#t3', true],
    ]);
  });

  it('frames written at the same time agree on the derived series UIDs', async () => {
    const folder = path.join(dir, 'uids');
    const all = await Promise.all(Array.from({ length: 8 }, () => acquisitionUids(folder, 'acquisition-key', GAUSSIAN)));
    expect(new Set(all.map((u) => JSON.stringify(u))).size).toBe(1);
    await expect(acquisitionUids(folder, 'another-key', GAUSSIAN)).rejects.toMatchObject({ code: 'E_EXISTS' });
  });

  it('of frames started at the same time with two methods, those of the method recorded first join the series and the others are refused', async () => {
    const folder = path.join(dir, 'uids-two-methods');
    const nlm: MadeWith = { method: 'nlm', model: null, settings: null };
    // Each holds its frame's lock, as a run does from its start.
    const locks = await Promise.all(Array.from({ length: 8 }, (_, i) => acquireFolderLock(path.join(folder, `t0${i + 1}`))));
    const runs = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => acquisitionUids(folder, 'acquisition-key', i % 2 === 0 ? GAUSSIAN : nlm, null, { held: new Set([`t0${i + 1}`]) })),
    );
    await Promise.all(locks.map((lock) => lock.release()));
    const joined = runs.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const refused = runs.flatMap((r) => (r.status === 'rejected' ? [r.reason as { code: string }] : []));
    expect(joined).toHaveLength(4);
    expect(new Set(joined.map((u) => JSON.stringify(u))).size).toBe(1);
    expect(refused.map((e) => e.code)).toEqual(['E_EXISTS', 'E_EXISTS', 'E_EXISTS', 'E_EXISTS']);
  });

  it('stores the time points of one acquisition as one derived series with all their files', () => {
    const entry = (tag: string) => ({
      output: { seriesInstanceUid: '1.2.3', dir: '/o', files: [`/o/${tag}-IM0001.dcm`] },
      uncertainty: { seriesInstanceUid: '1.2.4', dir: '/o/uncertainty', files: [`/o/uncertainty/${tag}-IM0001.dcm`] },
    }) as unknown as DenoiseReport['series'][number];
    expect(derivedSeriesToStore([entry('t01'), entry('t02')])).toEqual([
      { kind: 'denoised', seriesInstanceUid: '1.2.3', files: ['/o/t01-IM0001.dcm', '/o/t02-IM0001.dcm'] },
      { kind: 'uncertainty', seriesInstanceUid: '1.2.4', files: ['/o/uncertainty/t01-IM0001.dcm', '/o/uncertainty/t02-IM0001.dcm'] },
    ]);
  });
});
