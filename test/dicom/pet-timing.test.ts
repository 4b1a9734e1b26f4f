/**
 * SUVbw of PET series that are not one static series: a dynamic series (time points at the same
 * positions), a gated one, an injection before midnight for a scan after it (Enhanced PET:
 * enhanced-pet-suv.test.ts).
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
import { readWithPydicom } from '../helpers/pet-timing.js';
import { CORPUS } from './helpers/corpus.js';

const PYTHON = '/usr/bin/python3';
const GENERATOR = fileURLToPath(new URL('./data/make-pet-timing.py', import.meta.url));
const hasPydicom = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import pydicom, numpy'], { encoding: 'utf8' }).status === 0;

interface Expected {
  halfLife: number;
  dynamic: { factor: number; timePoints: { acquisitionTime: string; suvMax: number }[] };
  dynamicLate: { wholeFactor: number; laterTimePointsFactor: number };
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

  describe("each frame's timing", () => {
    // make-pet-timing.py: frames of 60, 120 and 300 s back to back from the SeriesTime, each with
    // its AcquisitionTime at its start and its FrameReferenceTime at its middle.
    const durations = [60, 120, 300];
    const starts = [0, 60, 180];

    it('gives each time point of a dynamic series its start, duration and middle from the SeriesTime, its FrameReferenceTime and start date-time, as the files carry them', async () => {
      const { series } = await scanPaths([path.join(dir, 'dynamic')]);
      expect(series.map((s) => s.petFrame?.timing)).toEqual(
        durations.map((d, t) => ({
          startMs: starts[t]! * 1000,
          durationMs: d * 1000,
          midMs: (starts[t]! + d / 2) * 1000,
          referenceMs: (starts[t]! + d / 2) * 1000,
          acquisitionDateTime: `19600614${expected.dynamic.timePoints[t]!.acquisitionTime}`,
        })),
      );
      // The same numbers as pydicom reads them from each time point's files.
      const pydicom = readWithPydicom(path.join(dir, 'dynamic'));
      for (const [t, s] of series.entries()) {
        for (const f of pydicom.filter((x) => x.name.startsWith(`t${t + 1}-`))) {
          expect([f.name, Number(f.attributes.ActualFrameDuration), Number(f.attributes.FrameReferenceTime)]).toEqual([f.name, s.petFrame!.timing!.durationMs, s.petFrame!.timing!.referenceMs]);
        }
      }
      for (const s of series) expect(s.petFrame?.gating).toBeUndefined();
    });

    it("counts a time point's start from the SeriesTime even when that is later than every frame", async () => {
      // dynamic-late: SeriesTime 15:40:00, the first frame acquired at 15:23:16.921.
      const { series } = await scanPaths([path.join(dir, 'dynamic-late')]);
      const late = -(16 * 60 + 43.079) * 1000;
      expect(series.map((s) => s.petFrame!.timing!.startMs)).toEqual(starts.map((t) => late + t * 1000));
      expect(series.map((s) => s.petFrame!.timing!.referenceMs)).toEqual([30000, 120000, 330000]);
    });

    it("reports no value, with a warning naming the values found, where a time point's slices disagree on it", async () => {
      const headers = await Promise.all(files('dynamic', dynamicNames).map((f) => readInstanceHeader(f)));
      // Time point 2's second slice says its frame lasted 121 s, and started 1 s later.
      const changed = headers.map((h) =>
        path.basename(h.path) === 't2-s2.dcm' ? { ...h, pet: { ...h.pet!, ActualFrameDuration: 121000, AcquisitionTime: '152417.921000' } } : h,
      );
      const series = buildSeries(changed);
      const second = series.find((s) => s.key.endsWith('#t2'))!;
      expect(second.petFrame!.timing).toEqual({ startMs: null, durationMs: null, midMs: null, referenceMs: 120000, acquisitionDateTime: null });
      const messages = second.warnings.filter((w) => w.code === 'E_INCONSISTENT_SERIES').map((w) => w.message);
      expect(messages).toHaveLength(2);
      expect(messages.join('\n')).toMatch(/#t2: time point 2's slices disagree on ActualFrameDuration \(120000, 121000 ms\)/);
      expect(messages.join('\n')).toMatch(/disagree on AcquisitionDate \/ AcquisitionTime \(19600614152416\.921000, 19600614152417\.921000\)/);
      // The other time points keep theirs, without a warning.
      for (const s of series.filter((x) => !x.key.endsWith('#t2'))) {
        expect(s.warnings).toEqual([]);
        expect(s.petFrame!.timing!.durationMs).not.toBeNull();
      }
    });

    it('gives each gate of a gated series the TriggerTime, FrameTime and R-R limits its files carry, and nothing they do not', async () => {
      const { series } = await scanPaths([path.join(dir, 'gated')]);
      // make-pet-timing.py: time slots 250 ms apart from the R wave, 250 ms long; R-R 600-1000 ms, then 1000-1400 ms; no NominalInterval.
      expect(series.map((s) => s.petFrame?.gating)).toEqual(
        [[600, 1000], [1000, 1400]].flatMap(([low, high]) => [0, 250, 500].map((trigger) => ({ triggerTimeMs: trigger, frameTimeMs: 250, lowRRMs: low, highRRMs: high }))),
      );
      const pydicom = readWithPydicom(path.join(dir, 'gated'));
      for (const [g, s] of series.entries()) {
        const gate = expected.gated.gates[g]!;
        for (const f of pydicom.filter((x) => x.name.startsWith(`rr${gate.rrInterval}-slot${gate.timeSlot}-`))) {
          expect([f.name, Number(f.attributes.TriggerTime), Number(f.attributes.FrameTime), Number(f.attributes.LowRRValue), Number(f.attributes.HighRRValue)]).toEqual([
            f.name,
            s.petFrame!.gating!.triggerTimeMs,
            s.petFrame!.gating!.frameTimeMs,
            s.petFrame!.gating!.lowRRMs,
            s.petFrame!.gating!.highRRMs,
          ]);
        }
        expect(s.petFrame?.timing).toBeUndefined();
      }
    });

    it("warns on a gate whose TriggerTime is not after its R-R interval's earlier time slot's, though its own files agree", async () => {
      // The gated set with both files of time slot 2 of R-R interval 1 (gate 2) given TriggerTime 500 ms, time slot 3's.
      const moved = path.join(dir, 'gated-trigger-moved');
      const script = [
        'import sys, os, glob, pydicom',
        'from pydicom.uid import generate_uid',
        'os.makedirs(sys.argv[2], exist_ok=True)',
        "uid = generate_uid(entropy_srcs=['lowdose-pet-gated-trigger-moved'])",
        "for p in glob.glob(os.path.join(sys.argv[1], '*.dcm')):",
        '    d = pydicom.dcmread(p)',
        '    d.SeriesInstanceUID = uid',
        "    d.SOPInstanceUID = generate_uid(entropy_srcs=['lowdose-pet-gated-trigger-moved', os.path.basename(p)])",
        '    d.file_meta.MediaStorageSOPInstanceUID = d.SOPInstanceUID',
        "    if os.path.basename(p).startswith('rr1-slot2-'): d.TriggerTime = 500",
        '    d.save_as(os.path.join(sys.argv[2], os.path.basename(p)))',
      ].join('\n');
      const run = spawnSync(PYTHON, ['-c', script, path.join(dir, 'gated'), moved], { encoding: 'utf8' });
      expect(run.status, run.stderr).toBe(0);
      const { series } = await scanPaths([moved]);
      expect(series.map((s) => s.petFrame?.gating?.triggerTimeMs)).toEqual([0, 500, 500, 0, 250, 500]);
      const warned = series.map((s) => s.warnings.filter((w) => w.code === 'E_INCONSISTENT_SERIES' && /TriggerTime/.test(w.message)).map((w) => w.message));
      expect(warned.map((w) => w.length)).toEqual([0, 0, 1, 0, 0, 0]);
      expect(warned[2]![0]).toMatch(/#g3: gate 3 \(time slot 3 of R-R interval 1 by its ImageIndex\) has TriggerTime 500 ms, not after gate 2's 500 ms/);
      // The unchanged set: no such warning.
      const { series: clean } = await scanPaths([path.join(dir, 'gated')]);
      expect(clean.flatMap((s) => s.warnings.filter((w) => /not after gate/.test(w.message)))).toEqual([]);
    });

    it('info lists each time point with its start, duration and middle in s, and each gate with its trigger time and R-R limits', async () => {
      const run = await runCli('info', path.join(dir, 'dynamic'), path.join(dir, 'gated'));
      expect(run.code, run.stderr).toBe(0);
      const lines = run.stdout.split('\n');
      expect(lines.filter((l) => l.startsWith('  time point '))).toEqual([
        '  time point 1 of 3: start 0 s, duration 60 s, mid 30 s, FrameReferenceTime 30 s (from the SeriesTime), acquired 19600614152316.921000',
        '  time point 2 of 3: start 60 s, duration 120 s, mid 120 s, FrameReferenceTime 120 s (from the SeriesTime), acquired 19600614152416.921000',
        '  time point 3 of 3: start 180 s, duration 300 s, mid 330 s, FrameReferenceTime 330 s (from the SeriesTime), acquired 19600614152616.921000',
      ]);
      expect(lines.filter((l) => l.startsWith('  gate '))).toEqual([
        '  gate 1 of 6: TriggerTime 0 ms, R-R 600-1000 ms',
        '  gate 2 of 6: TriggerTime 250 ms, R-R 600-1000 ms',
        '  gate 3 of 6: TriggerTime 500 ms, R-R 600-1000 ms',
        '  gate 4 of 6: TriggerTime 0 ms, R-R 1000-1400 ms',
        '  gate 5 of 6: TriggerTime 250 ms, R-R 1000-1400 ms',
        '  gate 6 of 6: TriggerTime 500 ms, R-R 1000-1400 ms',
      ]);
      const json = JSON.parse((await runCli('info', path.join(dir, 'dynamic'), '--json')).stdout) as { series: { petFrame?: { tag: string; timing?: { durationMs: number } } }[] };
      expect(json.series.map((s) => [s.petFrame?.tag, s.petFrame?.timing?.durationMs])).toEqual([['t01', 60000], ['t02', 120000], ['t03', 300000]]);
    });
  });

  it('denoise names each time point of a dynamic series by its key in its summary line', async () => {
    const out = path.join(dir, 'dynamic-denoised');
    const run = await runCli('denoise', path.join(dir, 'dynamic'), '-o', out, '--method', 'gaussian', '--no-progress');
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.split('\n').filter((l) => l.startsWith('PT '));
    expect(lines.map((l) => /#t\d/.exec(l)?.[0]).sort()).toEqual(['#t1', '#t2', '#t3']);
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
