/**
 * SUVbw of PET series that are not one static series: a dynamic series (time points at the same
 * positions), Enhanced PET (timing per frame), an injection before midnight for a scan after it.
 * The files and their expected SUVbw come from test/dicom/data/make-pet-timing.py (pydicom, from
 * the ACRIN slice suyashkumar__dicom/testdata/1.dcm, the factors computed there from the DICOM
 * attributes, not with lowdose's code).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSeries, readInstanceHeader, readSlice, scanPaths, suvbwFactors } from '../../src/dicom/index.js';
import { partialSeriesSuvNote } from '../../src/dicom/suv.js';
import type { Series } from '../../src/dicom/types.js';
import { runCli } from '../helpers/cli.js';
import { CORPUS } from './helpers/corpus.js';

const PYTHON = '/usr/bin/python3';
const GENERATOR = fileURLToPath(new URL('./data/make-pet-timing.py', import.meta.url));
const hasPydicom = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import pydicom, numpy'], { encoding: 'utf8' }).status === 0;

interface Expected {
  halfLife: number;
  dynamic: { factor: number; timePoints: { acquisitionTime: string; suvMax: number }[] };
  dynamicLate: { wholeFactor: number; laterTimePointsFactor: number };
  enhanced: { bqmlMax: number };
  midnight: { injection: string; factor: number; suvMax: number };
  dynamicAdmin: { factor: number; timePoints: { suvMax: number }[] };
  gated: { factor: number; gates: { rrInterval: number; timeSlot: number; suvMax: number }[] };
}

async function maxOf(series: Series): Promise<number> {
  let max = -Infinity;
  for (const slice of series.slices) for (const v of await readSlice(slice)) max = Math.max(max, v);
  return max;
}

const relative = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

describe.skipIf(!hasPydicom)('SUVbw of PET series with other timing than one static series', () => {
  let dir = '';
  let expected: Expected;
  const files = (set: string, names: string[]) => names.map((n) => path.join(dir, set, n));
  const dynamicNames = ['t1-s1.dcm', 't1-s2.dcm', 't2-s1.dcm', 't2-s2.dcm', 't3-s1.dcm', 't3-s2.dcm'];
  /** The headers of a file set as if its images carried no ImageIndex. */
  const withoutImageIndex = async (set: string, names: string[]) =>
    (await Promise.all(files(set, names).map((f) => readInstanceHeader(f)))).map((h) => {
      const { ImageIndex: _index, ...pet } = h.pet!;
      return { ...h, pet };
    });

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'lowdose-pet-timing-'));
    const run = spawnSync(PYTHON, [GENERATOR, CORPUS, dir], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`make-pet-timing.py failed: ${run.stderr}`);
    expected = JSON.parse(readFileSync(path.join(dir, 'expected.json'), 'utf8')) as Expected;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  describe('a dynamic series (NumberOfTimeSlices 3 x NumberOfSlices 2)', () => {
    it('is one volume per time point, each in SUVbw decayed to the series start, as computed with pydicom', async () => {
      const { series } = await scanPaths([path.join(dir, 'dynamic')]);
      expect(series.map((s) => s.key.replace(/^.*#/, '#'))).toEqual(['#t1', '#t2', '#t3']);
      for (const [t, s] of series.entries()) {
        expect(s.warnings).toEqual([]);
        expect(s.units).toBe('SUVbw');
        expect(s.slices.map((x) => path.basename(x.file)).sort()).toEqual([`t${t + 1}-s1.dcm`, `t${t + 1}-s2.dcm`]);
        // DecayCorrection START: every frame is corrected to the series start, so one factor for all.
        for (const slice of s.slices) expect(relative(slice.unitsScale, expected.dynamic.factor)).toBeLessThan(1e-9);
        expect(relative(await maxOf(s), expected.dynamic.timePoints[t]!.suvMax)).toBeLessThan(1e-6);
      }
    });

    it('counts NumberOfSlices x NumberOfTimeSlices images as the whole series when the dose is decayed to the files read', async () => {
      // SeriesTime 15:40, after every frame: the dose is decayed to the earliest AcquisitionTime read.
      const whole = (await scanPaths(files('dynamic-late', dynamicNames))).series;
      expect(whole).toHaveLength(3);
      for (const s of whole) {
        expect(s.warnings).toEqual([]);
        for (const slice of s.slices) expect(relative(slice.unitsScale, expected.dynamicLate.wholeFactor)).toBeLessThan(1e-9);
      }
      // Time points 2 and 3 alone: 4 images, more than NumberOfSlices (2), fewer than the series' 6.
      const part = (await scanPaths(files('dynamic-late', dynamicNames.slice(2)))).series;
      expect(part).toHaveLength(2);
      for (const s of part) {
        const warning = s.warnings.find((w) => w.code === 'W_SUV_PARTIAL_SERIES');
        expect(warning?.message).toMatch(/holds 6 image\(s\) \(NumberOfSlices 2 x NumberOfTimeSlices 3\) and 4 were read/);
        expect(warning?.message).toMatch(/19600614 152416\.921000/);
        for (const slice of s.slices) expect(relative(slice.unitsScale, expected.dynamicLate.laterTimePointsFactor)).toBeLessThan(1e-9);
      }
      const pet = await Promise.all(files('dynamic-late', dynamicNames).map(async (f) => (await readInstanceHeader(f)).pet!));
      expect(partialSeriesSuvNote(pet, 'x')).toBeNull();
      expect(partialSeriesSuvNote(pet.slice(2), 'x')).toMatch(/4 were read/);
    });

    it('stays one volume in stored units, and says why, when its images carry no ImageIndex', async () => {
      const [s, ...rest] = buildSeries(await withoutImageIndex('dynamic', dynamicNames));
      expect(rest).toEqual([]);
      expect(s!.units).toBe('BQML');
      expect(s!.slices).toHaveLength(6);
      expect(s!.warnings.find((w) => w.code === 'E_SUV_UNAVAILABLE')?.message).toMatch(/time points cannot be told apart.*ImageIndex \(0054,1330\)/);
    });
  });

  describe('a dynamic series decay-corrected to the administration (ADMIN), its scan started 10 s before the injection', () => {
    it('is in SUVbw with the dose as injected, the same factor for every time point, as computed with pydicom', async () => {
      const { series } = await scanPaths([path.join(dir, 'dynamic-admin')]);
      expect(series.map((s) => s.key.replace(/^.*#/, '#'))).toEqual(['#t1', '#t2', '#t3']);
      for (const [t, s] of series.entries()) {
        expect(s.warnings).toEqual([]);
        expect(s.units).toBe('SUVbw');
        for (const slice of s.slices) expect(relative(slice.unitsScale, expected.dynamicAdmin.factor)).toBeLessThan(1e-9);
        expect(relative(await maxOf(s), expected.dynamicAdmin.timePoints[t]!.suvMax)).toBeLessThan(1e-6);
      }
    });

    it('takes no time from the injection or the scan: a RadiopharmaceuticalStartDateTime after the scan start, or none, gives the same factor', async () => {
      const pet = await Promise.all(files('dynamic-admin', dynamicNames).map(async (f) => (await readInstanceHeader(f)).pet!));
      const variants = [
        pet.map((p) => ({ ...p, RadiopharmaceuticalStartDateTime: '19600614141700' })),
        pet.map(({ RadiopharmaceuticalStartTime: _time, ...p }) => p),
      ];
      for (const instances of variants) {
        const outcome = suvbwFactors(instances);
        expect(outcome.ok && outcome.injectionDateAssumed).toBe(undefined);
        expect(outcome.ok && outcome.factors.every((f) => relative(f, expected.dynamicAdmin.factor) < 1e-9)).toBe(true);
      }
    });
  });

  describe('a gated series (NumberOfRRIntervals 2 x NumberOfTimeSlots 3 x NumberOfSlices 2)', () => {
    const gatedNames = [1, 2].flatMap((r) => [1, 2, 3].flatMap((g) => [1, 2].map((s) => `rr${r}-slot${g}-s${s}.dcm`)));

    it('is one volume per gate, placed by ImageIndex, each in SUVbw decayed to the series start, as computed with pydicom', async () => {
      const { series } = await scanPaths([path.join(dir, 'gated')]);
      expect(series.map((s) => s.key.replace(/^.*#/, '#'))).toEqual(['#g1', '#g2', '#g3', '#g4', '#g5', '#g6']);
      for (const [n, s] of series.entries()) {
        const gate = expected.gated.gates[n]!;
        expect(s.warnings).toEqual([]);
        expect(s.units).toBe('SUVbw');
        // Gate n = (R-R interval - 1) x NumberOfTimeSlots + time slot.
        expect(s.slices.map((x) => path.basename(x.file)).sort()).toEqual([1, 2].map((i) => `rr${gate.rrInterval}-slot${gate.timeSlot}-s${i}.dcm`));
        // Every gate shares the acquisition start: one factor (START).
        for (const slice of s.slices) expect(relative(slice.unitsScale, expected.gated.factor)).toBeLessThan(1e-9);
        expect(relative(await maxOf(s), gate.suvMax)).toBeLessThan(1e-6);
      }
    });

    it('stays one volume in stored units, and says why, when its images carry no ImageIndex', async () => {
      const [s, ...rest] = buildSeries(await withoutImageIndex('gated', gatedNames));
      expect(rest).toEqual([]);
      expect(s!.units).toBe('BQML');
      expect(s!.slices).toHaveLength(12);
      expect(s!.warnings.find((w) => w.code === 'E_SUV_UNAVAILABLE')?.message).toMatch(/gates cannot be told apart.*ImageIndex \(0054,1330\)/);
      expect(s!.warnings.find((w) => w.code === 'E_INCONSISTENT_SERIES')?.message).toMatch(/NumberOfSlices 2 x NumberOfRRIntervals 2 x NumberOfTimeSlots 3/);
    });

    it('counts NumberOfSlices x NumberOfRRIntervals x NumberOfTimeSlots images as the whole series', async () => {
      const pet = await Promise.all(files('gated', gatedNames).map(async (f) => (await readInstanceHeader(f)).pet!));
      expect(partialSeriesSuvNote(pet, 'x')).toBeNull();
      expect(partialSeriesSuvNote(pet.slice(0, 2), 'x')).toMatch(/holds 12 image\(s\) \(NumberOfSlices 2 x NumberOfRRIntervals 2 x NumberOfTimeSlots 3\) and 2 were read/);
    });
  });

  it('denoise names each time point of a dynamic series by its key in its summary line', async () => {
    const out = path.join(dir, 'dynamic-denoised');
    const run = await runCli('denoise', path.join(dir, 'dynamic'), '-o', out, '--method', 'gaussian', '--no-progress');
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.split('\n').filter((l) => l.startsWith('PT '));
    expect(lines.map((l) => /#t\d/.exec(l)?.[0]).sort()).toEqual(['#t1', '#t2', '#t3']);
  });

  it('refuses SUVbw of Enhanced PET, whose pixels are decay-corrected to a time calculate-suv does not read, and keeps Bq/ml', async () => {
    // The file also carries the classic Units BQML / DecayCorrection START and a SeriesTime 10 min
    // before its Decay Correction DateTime: decayed to the SeriesTime its SUVs would be 6.5 % low.
    const { series } = await scanPaths([path.join(dir, 'enhanced')]);
    const s = series[0]!;
    expect(s.units).toBe('BQML');
    expect(s.slices).toHaveLength(2);
    const warning = s.warnings.find((w) => w.code === 'E_SUV_UNAVAILABLE');
    expect(warning?.message).toMatch(/Enhanced PET Image Storage \(1\.2\.840\.10008\.5\.1\.4\.1\.1\.130\).*Decay Correction DateTime \(0018,9701\).*export the series as PET Image Storage/);
    expect(relative(await maxOf(s), expected.enhanced.bqmlMax)).toBeLessThan(1e-6);
    // Units GML is SUV already, whatever the timing.
    const pet = (await readInstanceHeader(path.join(dir, 'enhanced', 'enhanced.dcm'))).pet!;
    expect(suvbwFactors([{ ...pet, Units: 'GML' }])).toEqual({ ok: true, factors: [1] });
  });

  describe('an injection time of day later than the scan (no RadiopharmaceuticalStartDateTime)', () => {
    it('takes the injection on the day before, says so, and reads the SUVbw computed with pydicom', async () => {
      const { series } = await scanPaths([path.join(dir, 'midnight')]);
      const s = series[0]!;
      expect(s.units).toBe('SUVbw');
      const warning = s.warnings.find((w) => w.code === 'W_SUV_INJECTION_DATE_ASSUMED');
      expect(warning?.message).toMatch(/day before the SeriesDate \(19600614 231700\.000000\)/);
      expect(warning?.message).toMatch(/set RadiopharmaceuticalStartDateTime/);
      expect(relative(s.slices[0]!.unitsScale, expected.midnight.factor)).toBeLessThan(1e-9);
      expect(relative(await maxOf(s), expected.midnight.suvMax)).toBeLessThan(1e-6);
    });

    it('refuses an injection that the day before would put more than 12 h before the scan, saying how to fix it', async () => {
      // ACRIN slice: SeriesTime 15:23:16.921 on 19600614; an injection entered as 15:30 would be 23.9 h before.
      const pet = (await readInstanceHeader(`${CORPUS}suyashkumar__dicom/testdata/1.dcm`)).pet!;
      const outcome = suvbwFactors([{ ...pet, RadiopharmaceuticalStartTime: '153000.000000' }]);
      expect(outcome).toEqual({ ok: false, reason: expect.stringMatching(/later than the scan time 19600614 152316\.921000.*23\.9 h.*set RadiopharmaceuticalStartDateTime \(0018,1078\)/) });
      // An injection date given explicitly is never moved.
      const explicit = suvbwFactors([{ ...pet, RadiopharmaceuticalStartDateTime: '19600614153000' }]);
      expect(explicit.ok).toBe(false);
      // Before the scan on the same day: nothing assumed.
      const sameDay = suvbwFactors([pet]);
      expect(sameDay.ok && sameDay.injectionDateAssumed).toBe(undefined);
    });
  });
});
