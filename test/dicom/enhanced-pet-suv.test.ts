/**
 * SUVbw of Enhanced PET Image Storage and Legacy Converted Enhanced PET: decayed to the Decay
 * Correction DateTime, the dose in MBq, units from the Real World Value Mapping, a factor per
 * frame; and every refusal with its reason. The files and their expected SUVbw come from
 * test/dicom/data/make-enhanced-pet.py (pydicom, from the ACRIN slice suyashkumar__dicom/testdata/1.dcm,
 * the factors computed there from the DICOM attributes with PS3.3's formula, not with lowdose's code).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDicomFile, readInstanceHeader, readSlice, readSliceImage, scanPaths, suvbwFactors } from '../../src/dicom/index.js';
import { maxValue, SeriesComparison } from '../../src/metrics/index.js';
import { lowdoseStatedCount } from '../../src/dicom/read-contributing-equipment.js';
import { statedCountProblem } from '../../src/pipeline/output-markers.js';
import { createDerivedSeriesWriter } from '../../src/dicom/write-derived.js';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import { derivedParts } from '../../src/pipeline/remote-denoise.js';
import { runMetrics } from '../../src/pipeline/metrics.js';
import type { DenoiseReport } from '../../src/pipeline/types.js';
import type { Series } from '../../src/dicom/types.js';
import { runCli } from '../helpers/cli.js';
import { CORPUS } from './helpers/corpus.js';

const PYTHON = '/usr/bin/python3';
const GENERATOR = fileURLToPath(new URL('./data/make-enhanced-pet.py', import.meta.url));
/** pydicom and the Type 1 / 1C / 2 / 2C attributes of PS3.3 A.21's modules, from the standard's tables. */
const FULL_COUNT = fileURLToPath(new URL('./data/make-two-agents-full-count.py', import.meta.url));
const IOD_CHECK = fileURLToPath(new URL('./data/check-pet-image-iod.py', import.meta.url));
const hasPydicom = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import pydicom, numpy'], { encoding: 'utf8' }).status === 0;

interface Frames {
  factors: number[];
  suvMax: number[];
  bqmlMax: number[];
}

interface Expected {
  decayCorrectionDateTime: string;
  enhanced: Frames & { seriesTimeFactor: number };
  twoAgents: Frames;
  suvbwMapped: Frames;
  legacy: Frames;
  zoned: Frames;
  fileZone: Frames;
  classicZoned: { factor: number; suvMax: number };
}

const relative = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

/** The maximum of each frame, indexed by frame number in the file (the series sorts them by position). */
async function frameMaxima(series: Series): Promise<number[]> {
  const maxima: number[] = [];
  for (const slice of series.slices) maxima[slice.frame] = (await readSlice(slice)).reduce((m, v) => Math.max(m, v), -Infinity);
  return maxima;
}

/** Each frame's unitsScale, indexed by frame number in the file. */
const frameScales = (series: Series) => {
  const scales: number[] = [];
  for (const slice of series.slices) scales[slice.frame] = slice.unitsScale;
  return scales;
};

describe.skipIf(!hasPydicom)('SUVbw of Enhanced and Legacy Converted Enhanced PET', () => {
  let dir = '';
  let expected: Expected;

  /** A full-count copy of two-agents-respiratory in folder `name` (each frame a 3 x 3 mean, the source's frame order; pydicom), and what the script prints. */
  function respiratoryFullCount(name: string): { folder: string; printed: string } {
    const folder = path.join(dir, name);
    mkdirSync(folder, { recursive: true });
    const made = spawnSync(PYTHON, [FULL_COUNT, path.join(dir, 'two-agents-respiratory', 'two-agents-respiratory.dcm'), path.join(folder, 'full.dcm'), JSON.stringify(expected.twoAgents.factors)], { encoding: 'utf8' });
    expect(made.status, made.stderr).toBe(0);
    return { folder, printed: made.stdout };
  }
  const only = async (set: string) => {
    const { series } = await scanPaths([path.join(dir, set)]);
    expect(series).toHaveLength(1);
    return series[0]!;
  };

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'lowdose-enhanced-pet-'));
    const run = spawnSync(PYTHON, [GENERATOR, CORPUS, dir], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`make-enhanced-pet.py failed: ${run.stderr}`);
    expected = JSON.parse(readFileSync(path.join(dir, 'expected.json'), 'utf8')) as Expected;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('decays the dose (MBq) to the Decay Correction DateTime, not to the SeriesTime the file also carries', async () => {
    const s = await only('enhanced');
    expect(s.warnings).toEqual([]);
    expect(s.units).toBe('SUVbw');
    expect(s.slices.map((x) => x.frame).sort()).toEqual([0, 1]);
    for (const [i, scale] of frameScales(s).entries()) expect(relative(scale, expected.enhanced.factors[i]!)).toBeLessThan(1e-9);
    // Frame 2 has its own Rescale Slope (and Real World Value Mapping slope): its own SUVmax.
    const maxima = await frameMaxima(s);
    maxima.forEach((m, i) => expect(relative(m, expected.enhanced.suvMax[i]!)).toBeLessThan(1e-6));
    // The classic START rule (the SeriesTime, 10 min earlier) would read 6.1 % less.
    expect(relative(frameScales(s)[0]!, expected.enhanced.seriesTimeFactor)).toBeGreaterThan(0.06);
  });

  it('gives each frame the factor of the radiopharmaceutical its Radiopharmaceutical Usage Sequence names', async () => {
    const s = await only('two-agents');
    expect(s.units).toBe('SUVbw');
    expect(expected.twoAgents.factors[0]).not.toBeCloseTo(expected.twoAgents.factors[1]!, 6);
    for (const [i, scale] of frameScales(s).entries()) expect(relative(scale, expected.twoAgents.factors[i]!)).toBeLessThan(1e-9);
    const maxima = await frameMaxima(s);
    maxima.forEach((m, i) => expect(relative(m, expected.twoAgents.suvMax[i]!)).toBeLessThan(1e-6));
  });

  it('reads a Real World Value Mapping in {SUVbw}g/ml as SUVbw already, with no weight', async () => {
    const s = await only('suvbw-mapped');
    expect(s.units).toBe('SUVbw');
    expect(s.slices.map((x) => x.unitsScale)).toEqual([1, 1]);
    const maxima = await frameMaxima(s);
    maxima.forEach((m, i) => expect(relative(m, expected.suvbwMapped.bqmlMax[i]!)).toBeLessThan(1e-6));
  });

  it('reads Legacy Converted Enhanced PET frame by frame with the classic rules, from its Unassigned Converted Attributes', async () => {
    const s = await only('legacy');
    expect(s.warnings).toEqual([]);
    expect(s.units).toBe('SUVbw');
    for (const [i, scale] of frameScales(s).entries()) expect(relative(scale, expected.legacy.factors[i]!)).toBeLessThan(1e-9);
    const maxima = await frameMaxima(s);
    maxima.forEach((m, i) => expect(relative(m, expected.legacy.suvMax[i]!)).toBeLessThan(1e-6));
  });

  it('reads a date-time without its own UTC offset in the Timezone Offset From UTC of the file, not as UTC (PS3.5 6.2)', async () => {
    const s = await only('file-zone');
    expect(s.warnings).toEqual([]);
    expect(s.units).toBe('SUVbw');
    // The same instants as enhanced/: its factors, pydicom's from aware date-times.
    for (const [i, scale] of frameScales(s).entries()) expect(relative(scale, expected.fileZone.factors[i]!)).toBeLessThan(1e-9);
    expect(relative(expected.fileZone.factors[0]!, expected.enhanced.factors[0]!)).toBeLessThan(1e-12);
    const maxima = await frameMaxima(s);
    maxima.forEach((m, i) => expect(relative(m, expected.fileZone.suvMax[i]!)).toBeLessThan(1e-6));
  });

  it('refuses the SUV of date-times some with a UTC offset and some without when the file has no Timezone Offset From UTC', async () => {
    const s = await only('no-file-zone');
    expect(s.units).not.toBe('SUVbw');
    expect(s.slices.map((x) => x.unitsScale)).toEqual([1, 1]);
    const warning = s.warnings.find((w) => w.code === 'E_SUV_UNAVAILABLE');
    expect(warning?.message).toMatch(/cannot be compared: "\d{14}\.\d{6}\+0100" carries a UTC offset and "\d{14}\.\d{6}" does not, and the file has no Timezone Offset From UTC \(0008,0201\)/);
  });

  it('gives calculate-suv a classic Radiopharmaceutical Start DateTime with its own UTC offset in the zone of the SeriesTime', async () => {
    const s = await only('classic-zoned');
    expect(s.warnings).toEqual([]);
    expect(s.units).toBe('SUVbw');
    expect(relative(s.slices[0]!.unitsScale, expected.classicZoned.factor)).toBeLessThan(1e-9);
    // The same instant as the classic file's 14:17:00 RadiopharmaceuticalStartTime: legacy/'s factor.
    expect(relative(expected.classicZoned.factor, expected.legacy.factors[0]!)).toBeLessThan(1e-12);
    const maxima = await frameMaxima(s);
    expect(relative(maxima[0]!, expected.classicZoned.suvMax)).toBeLessThan(1e-6);
  });

  it('refuses the classic SUV of a Radiopharmaceutical Start DateTime with a UTC offset when the file has no Timezone Offset From UTC', async () => {
    const s = await only('classic-no-file-zone');
    expect(s.units).not.toBe('SUVbw');
    const warning = s.warnings.find((w) => w.code === 'E_SUV_UNAVAILABLE');
    expect(warning?.message).toMatch(/RadiopharmaceuticalStartDateTime \(0018,1078\) "\d{14}\.\d{6}\+0000" carries a UTC offset and the SeriesTime \/ AcquisitionTime it is compared with do not, and the file has no Timezone Offset From UTC/);
  });

  it.each([
    ['no-decay-datetime', /Decay Corrected \(0018,9758\) is YES but the Decay Correction DateTime \(0018,9701\).*is missing/],
    ['not-decay-corrected', /Decay Corrected \(0018,9758\) is NO: each frame holds the activity during its own acquisition/],
    ['no-weight', /PatientWeight \(0010,1030\) is missing or zero/],
    ['counts', /frame 1: its Real World Value Mapping \(0040,9096\) gives units "\{counts\}", neither "Bq\/ml".*nor "\{SUVbw\}g\/ml"/],
    ['dose-in-bq', /Radionuclide Total Dose \(0018,1074\) is 178340011\.59668, which in MBq.*over 100 GBq; it looks written in Bq/],
  ])('refuses %s with its reason and keeps the stored values', async (set, reason) => {
    const s = await only(set);
    expect(s.units).not.toBe('SUVbw');
    expect(s.slices.map((x) => x.unitsScale)).toEqual([1, 1]);
    const warning = s.warnings.find((w) => w.code === 'E_SUV_UNAVAILABLE');
    expect(warning?.message).toMatch(/Enhanced PET Image \(1\.2\.840\.10008\.5\.1\.4\.1\.1\.130\): /);
    expect(warning?.message).toMatch(reason);
    const maxima = await frameMaxima(s);
    maxima.forEach((m, i) => expect(relative(m, expected.enhanced.bqmlMax[i]!)).toBeLessThan(1e-6));
  });

  it('refuses an Enhanced PET Image without functional groups rather than read its classic attributes', async () => {
    const { EnhancedPet: _groups, ...pet } = (await readInstanceHeader(path.join(dir, 'enhanced', 'enhanced.dcm'))).pet!;
    // The file's classic Units BQML, DecayCorrection START and SeriesTime would otherwise give the 6.1 % low factor.
    expect(suvbwFactors([pet])).toEqual({ ok: false, reason: expect.stringMatching(/^Enhanced PET Image \(1\.2\.840\.10008\.5\.1\.4\.1\.1\.130\): it has no Per-Frame Functional Groups Sequence/) });
  });

  it('info --json --stats reports the SUVbw of each frame', async () => {
    const run = await runCli('info', path.join(dir, 'two-agents'), '--json', '--stats');
    expect(run.code, run.stderr).toBe(0);
    const json = JSON.parse(run.stdout) as { series: { units: string; stats?: { frame: number; max: number }[] }[] };
    expect(json.series[0]!.units).toBe('SUVbw');
    const stats = json.series[0]!.stats!;
    expect(stats.map((x) => x.frame).sort()).toEqual([0, 1]);
    for (const x of stats) expect(relative(x.max, expected.twoAgents.suvMax[x.frame]!)).toBeLessThan(1e-5);
  });

  /** QIBA's SUVbw factor of each derived file, computed by pydicom from its classic header alone. */
  const qibaFactors = (folder: string): number[] => {
    const script = [
      'import sys, glob, json, datetime as dt, pydicom',
      'def when(da, tm):',
      "    whole, _, frac = tm.partition('.')",
      "    return dt.datetime.strptime(da + whole[:6], '%Y%m%d%H%M%S') + dt.timedelta(microseconds=int((frac + '000000')[:6]))",
      'out = []',
      "for f in sorted(glob.glob(sys.argv[1] + '/**/*.dcm', recursive=True)):",
      '    d = pydicom.dcmread(f)',
      '    r = d.RadiopharmaceuticalInformationSequence[0]',
      "    assert d.SOPClassUID == '1.2.840.10008.5.1.4.1.1.128' and d.Units == 'BQML' and d.DecayCorrection == 'START'",
      "    assert 'ATTN' in d.CorrectedImage and 'DECY' in d.CorrectedImage",
      '    series, acquired = when(d.SeriesDate, d.SeriesTime), when(d.AcquisitionDate, d.AcquisitionTime)',
      '    scan = min(series, acquired)',
      "    s = r.get('RadiopharmaceuticalStartDateTime') or d.SeriesDate + r.RadiopharmaceuticalStartTime",
      '    t = (scan - when(s[:8], s[8:])).total_seconds()',
      '    out.append(float(d.PatientWeight) * 1000 / (float(r.RadionuclideTotalDose) * 2 ** (-t / float(r.RadionuclideHalfLife))))',
      'print(json.dumps(out))',
    ].join('\n');
    const run = spawnSync(PYTHON, ['-c', script, folder], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(run.stderr);
    return JSON.parse(run.stdout) as number[];
  };

  it.each([
    ['enhanced', 'enhanced'],
    ['legacy', 'legacy'],
  ] as const)('denoise of %s writes classic PET files whose header gives the same SUVbw, to lowdose and to QIBA in pydicom', async (set, key) => {
    const out = path.join(dir, `${set}-denoised`);
    const run = await runCli('denoise', path.join(dir, set), '-o', out, '--method', 'gaussian', '--no-progress');
    expect(run.code, run.stderr).toBe(0);
    const { series } = await scanPaths([out]);
    const s = series.find((x) => x.modality === 'PT')!;
    expect(s.slices).toHaveLength(2);
    expect(s.warnings.filter((w) => w.code.startsWith('E_'))).toEqual([]);
    expect(s.units).toBe('SUVbw');
    // Both frames of each set have the same factor; the classic START rule on enhanced/'s SeriesTime would be 6.1 % off.
    const factor = expected[key].factors[0]!;
    for (const slice of s.slices) expect(relative(slice.unitsScale, factor)).toBeLessThan(1e-9);
    for (const k of qibaFactors(out)) expect(relative(k, factor)).toBeLessThan(1e-9);
  });
  /** Writes `set`'s series again, unchanged, as lowdose writes any derived series; its files in slice order. */
  const derive = async (set: string): Promise<{ source: Series; files: string[] }> => {
    const source = await only(set);
    const outDir = path.join(dir, 'derived', set);
    const writer = createDerivedSeriesWriter(source, { outDir, derivationDescription: 'lowdose test', now: null, overwrite: true });
    for (let k = 0; k < source.slices.length; k++) await writer.writeSlice(k, await readSlice(source.slices[k]!));
    return { source, files: readdirSync(outDir).filter((f) => f.endsWith('.dcm')).sort().map((f) => path.join(outDir, f)) };
  };

  const SETS = [
    'enhanced',
    'two-agents',
    'suvbw-mapped',
    'zoned',
    'legacy',
    'no-decay-datetime',
    'not-decay-corrected',
    'no-weight',
    'counts',
    'dose-in-bq',
    'no-file-zone',
    'gated',
    'respiratory',
    'respiratory-cardiac',
    'legacy-gated',
    'legacy-gated-untimed',
    'split',
    'two-agents-split',
  ];

  it.each(SETS)('writes each frame of %s as a valid PET Image in a correctly numbered PET series: PS3.3 A.21 and the series checks, by pydicom', async (set) => {
    const { source, files } = await derive(set);
    expect(files).toHaveLength(source.slices.length);
    // With its source files: each series of one respiratory gate and one agent of the source.
    const sources = readdirSync(path.join(dir, set)).filter((f) => f.endsWith('.dcm')).flatMap((f) => ['--source', path.join(dir, set, f)]);
    const run = spawnSync(PYTHON, [IOD_CHECK, ...sources, ...files], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    const problems = JSON.parse(run.stdout) as Record<string, string[]>;
    for (const file of files) expect(problems[file], file).toEqual([]);
  });

  /** Each derived file's PET Image and geometry values next to what pydicom makes of its source frame (aware date-times, the source's functional groups). */
  const frameComparison = (source: string, files: string[]) => {
    const script = [
      'import sys, json, datetime as dt, pydicom',
      'def aware(text, zone):',
      "    text = text.strip(); z = text[-5:] if text[-5:-4] in '+-' else zone",
      "    base = text[:-5] if text[-5:-4] in '+-' else text",
      "    whole, _, frac = base.partition('.')",
      "    t = dt.datetime.strptime(whole[:14], '%Y%m%d%H%M%S') + dt.timedelta(microseconds=int((frac + '000000')[:6]))",
      "    return t.replace(tzinfo=dt.datetime.strptime(z, '%z').tzinfo)",
      'src = pydicom.dcmread(sys.argv[1])',
      'shared = src.SharedFunctionalGroupsSequence[0]',
      'positions = sorted({round(float(f.PlanePositionSequence[0].ImagePositionPatient[2]), 3) for f in src.PerFrameFunctionalGroupsSequence})',
      'out = []',
      'for path in sys.argv[2:]:',
      '    d = pydicom.dcmread(path)',
      '    frame = int(d.SourceImageSequence[0].ReferencedFrameNumber) - 1',
      '    f = src.PerFrameFunctionalGroupsSequence[frame]',
      '    c = f.FrameContentSequence[0]',
      "    zone = d.get('TimezoneOffsetFromUTC', '+0000')",
      "    series = aware(d.SeriesDate + d.SeriesTime, zone)",
      '    row = {',
      "        'decayReference': abs((series - aware(src.DecayCorrectionDateTime, zone)).total_seconds()),",
      "        'frameReferenceTime': [float(d.FrameReferenceTime), (aware(c.FrameReferenceDateTime, zone) - series).total_seconds() * 1000],",
      "        'actualFrameDuration': [float(d.ActualFrameDuration), float(c.FrameAcquisitionDuration)],",
      "        'acquisition': [(aware(d.AcquisitionDate + d.AcquisitionTime, zone) - series).total_seconds(), max(0.0, (aware(c.FrameAcquisitionDateTime, zone) - series).total_seconds())],",
      "        'numberOfSlices': [int(d.NumberOfSlices), len(positions)],",
      "        'imageIndex': [int(d.ImageIndex), positions.index(round(float(f.PlanePositionSequence[0].ImagePositionPatient[2]), 3)) + 1],",
      "        'position': [[float(v) for v in d.ImagePositionPatient], [float(v) for v in f.PlanePositionSequence[0].ImagePositionPatient]],",
      "        'orientation': [[float(v) for v in d.ImageOrientationPatient], [float(v) for v in shared.PlaneOrientationSequence[0].ImageOrientationPatient]],",
      "        'spacing': [[float(v) for v in d.PixelSpacing] + [float(d.SliceThickness)], [float(v) for v in shared.PixelMeasuresSequence[0].PixelSpacing] + [float(shared.PixelMeasuresSequence[0].SliceThickness)]],",
      '    }',
      '    out.append(row)',
      'print(json.dumps(out))',
    ].join('\n');
    const run = spawnSync(PYTHON, ['-c', script, source, ...files], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(run.stderr);
    return JSON.parse(run.stdout) as Record<string, [unknown, unknown]>[];
  };

  it.each(['enhanced', 'zoned'])(
    'takes the PET Image values of %s from each frame (Frame Reference Time from its Frame Reference DateTime, the series time the Decay Correction DateTime, geometry from the functional groups) and reads back with its SUVbw',
    async (set) => {
      const { source, files } = await derive(set);
      const rows = frameComparison(path.join(dir, set, `${set}.dcm`), files);
      expect(rows).toHaveLength(2);
      for (const row of rows) {
        expect(row.decayReference).toBe(0);
        for (const key of ['frameReferenceTime', 'actualFrameDuration', 'acquisition', 'numberOfSlices', 'imageIndex']) {
          const [actual, wanted] = row[key] as [number, number];
          expect(actual, key).toBeCloseTo(wanted, 6);
        }
        for (const key of ['position', 'orientation', 'spacing']) {
          const [actual, wanted] = row[key] as [number[], number[]];
          actual.forEach((v, i) => expect(v, key).toBeCloseTo(wanted[i]!, 4));
        }
      }
      // lowdose reads the series back with the source's SUVbw and geometry, frame by frame.
      const back = (await scanPaths([path.dirname(files[0]!)])).series[0]!;
      expect(back.units).toBe('SUVbw');
      expect(back.slices).toHaveLength(source.slices.length);
      const max = (x: Float32Array) => x.reduce((m, v) => Math.max(m, v), -Infinity);
      for (const [k, slice] of back.slices.entries()) {
        const from = source.slices[k]!;
        expect(relative(slice.unitsScale, from.unitsScale)).toBeLessThan(1e-9);
        slice.position!.forEach((v, i) => expect(v).toBeCloseTo(from.position![i]!, 4));
        // The frames have their own rescale slopes: each derived file its own SUVmax, stored to 16 bits.
        expect(relative(max(await readSlice(slice)), max(await readSlice(from)))).toBeLessThan(1e-4);
      }
      expect(back.orientation).toEqual(source.orientation);
      back.spacing.forEach((v, i) => expect(v).toBeCloseTo(source.spacing[i]!, 6));
    },
  );

  it('writes date-times with offsets into the classic times in one zone, so a classic reader makes the same SUVbw', async () => {
    const { files } = await derive('zoned');
    const folder = path.dirname(files[0]!);
    for (const k of qibaFactors(folder)) expect(relative(k, expected.zoned.factors[0]!)).toBeLessThan(1e-9);
    const { series } = await scanPaths([folder]);
    expect(series[0]!.units).toBe('SUVbw');
    for (const slice of series[0]!.slices) expect(relative(slice.unitsScale, expected.zoned.factors[0]!)).toBeLessThan(1e-9);
  });

  it.each([
    ['Frame Reference DateTime', 'c.FrameReferenceDateTime = c.FrameReferenceDateTime[:10] + "59" + c.FrameReferenceDateTime[12:]', ['FrameReferenceTime (derived for PET frame)']],
    ['Frame Acquisition Duration', 'c.FrameAcquisitionDuration = 240000.0', ['ActualFrameDuration (derived for PET frame)', 'DecayFactor (derived for PET frame)']],
  ])('denoise rerun of a source whose %s of frame 2 was corrected under the same UIDs: E_EXISTS naming the derived value', async (_what, change, names) => {
    const work = mkdtempSync(path.join(dir, 'rerun-'));
    const input = path.join(work, 'in');
    cpSync(path.join(dir, 'enhanced'), input, { recursive: true });
    const out = path.join(work, 'out');
    const first = await denoisePaths([input], { outDir: out, method: 'gaussian' });
    expect(first.errors).toEqual([]);
    const file = path.join(input, 'enhanced.dcm');
    const script = `import sys, pydicom\nd = pydicom.dcmread(sys.argv[1])\nc = d.PerFrameFunctionalGroupsSequence[1].FrameContentSequence[0]\n${change}\nd.save_as(sys.argv[1])`;
    const run = spawnSync(PYTHON, ['-c', script, file], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    const again = await denoisePaths([input], { outDir: out, method: 'gaussian' });
    expect(again.series).toEqual([]);
    expect(again.errors[0]?.code).toBe('E_EXISTS');
    expect(again.errors[0]!.message).not.toContain('pixel values');
    for (const name of names) expect(again.errors[0]!.message).toContain(name);
    expect(again.errors[0]!.message).toContain("1 of 2 slices' header changed (");
  });

  it.each(['no-decay-datetime', 'not-decay-corrected', 'no-weight', 'counts', 'dose-in-bq', 'no-file-zone', 'classic-no-file-zone'])(
    'leaves no dose in the derived files of %s, whose SUV lowdose refused, classic or multi-frame: no reader makes an SUV of them',
    async (set) => {
      const { files } = await derive(set);
      const script = [
        'import sys, json, pydicom',
        'out = []',
        'for path in sys.argv[1:]:',
        '    d = pydicom.dcmread(path)',
        "    out.append([('RadionuclideTotalDose' in r) for r in d.get('RadiopharmaceuticalInformationSequence', [])])",
        'print(json.dumps(out))',
      ].join('\n');
      const run = spawnSync(PYTHON, ['-c', script, ...files], { encoding: 'utf8' });
      expect(run.status, run.stderr).toBe(0);
      const doses = JSON.parse(run.stdout) as boolean[][];
      expect(doses.flat().length).toBeGreaterThan(0);
      expect(doses.flat().every((present) => !present)).toBe(true);
      const { series } = await scanPaths([path.dirname(files[0]!)]);
      expect(series[0]!.units).not.toBe('SUVbw');
    },
  );

  /** Each derived file's header as pydicom reads it: the values these tests compare. */
  const headers = (files: string[]) => {
    const script = [
      'import sys, json, pydicom',
      'out = []',
      'for path in sys.argv[1:]:',
      '    d = pydicom.dcmread(path)',
      '    r = d.get("RadiopharmaceuticalInformationSequence") or []',
      '    g = lambda k: (str(d.get(k)) if d.get(k) is not None else None)',
      '    out.append({k: g(k) for k in ["SeriesInstanceUID", "SeriesType", "NumberOfSlices", "NumberOfTimeSlices", "NumberOfRRIntervals", "NumberOfTimeSlots",',
      '        "ImageIndex", "InstanceNumber", "TriggerTime", "FrameTime", "BeatRejectionFlag", "LowRRValue", "HighRRValue", "NominalInterval",',
      '        "TimezoneOffsetFromUTC", "SeriesDate", "SeriesTime", "AcquisitionTime", "FrameReferenceTime", "SeriesDescription", "ImageComments"]}',
      '        | {"frame": int(d.SourceImageSequence[0].ReferencedFrameNumber) - 1, "source": str(d.SourceImageSequence[0].ReferencedSOPInstanceUID),',
      '           "z": float(d.ImagePositionPatient[2]), "agents": [int(x.get("RadiopharmaceuticalAgentNumber", 0)) for x in r],',
      '           "doses": [("RadionuclideTotalDose" in x) for x in r], "starts": [str(x.get("RadiopharmaceuticalStartDateTime", "")) for x in r]})',
      'print(json.dumps(out))',
    ].join('\n');
    const run = spawnSync(PYTHON, ['-c', script, ...files], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(run.stderr);
    return JSON.parse(run.stdout) as (Record<string, string | null> & { frame: number; source: string; z: number; agents: number[]; doses: boolean[]; starts: string[] })[];
  };

  /** Source frame values as pydicom reads them from the functional groups. */
  const sourceFrames = (file: string) => {
    const script = [
      'import sys, json, pydicom',
      'd = pydicom.dcmread(sys.argv[1])',
      'out = []',
      'for f in d.PerFrameFunctionalGroupsSequence:',
      '    c = f.get("CardiacSynchronizationSequence")',
      '    out.append({"delay": float(c[0].NominalCardiacTriggerDelayTime) if c else None, "z": float(f.PlanePositionSequence[0].ImagePositionPatient[2])})',
      'print(json.dumps(out))',
    ].join('\n');
    const run = spawnSync(PYTHON, ['-c', script, file], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(run.stderr);
    return JSON.parse(run.stdout) as { delay: number | null; z: number }[];
  };

  /**
   * The derived files of a source of 2 positions x 4 trigger delays (0, 200, 400, 600 ms of an 800 ms
   * R-R interval, window 600-1000 ms): one GATED series, each file its frame's delay and slot.
   */
  const expectFourGates = (rows: ReturnType<typeof headers>, frames: readonly { delay: number | null; z: number }[]) => {
    expect(rows).toHaveLength(8);
    const zs = [...new Set(frames.map((f) => f.z))].sort((a, b) => a - b);
    for (const row of rows) {
      const from = frames[row.frame]!;
      expect(row.SeriesType).toBe("['GATED', 'IMAGE']");
      expect([row.NumberOfRRIntervals, row.NumberOfTimeSlots, row.NumberOfSlices]).toEqual(['1', '4', '2']);
      expect(Number(row.TriggerTime)).toBe(from.delay);
      // The slots are 200 ms apart; the last one runs to the 800 ms R-R Interval Time Nominal.
      expect(Number(row.FrameTime)).toBe(200);
      expect([row.BeatRejectionFlag, row.LowRRValue, row.HighRRValue, row.NominalInterval]).toEqual(['Y', '600', '1000', '800']);
      // ((R-R interval - 1) x 4 + slot - 1) x 2 + slice, slices in the series' order (along the normal).
      const slot = from.delay! / 200 + 1;
      expect(Number(row.ImageIndex)).toBe((slot - 1) * 2 + zs.indexOf(from.z) + 1);
    }
  };

  it('writes a cardiac-gated source as a GATED series: each frame its trigger delay, gates numbered by PS3.3 C.8.9.4.1.9, read back gate by gate', async () => {
    const { files } = await derive('gated');
    expectFourGates(headers(files), sourceFrames(path.join(dir, 'gated', 'gated.dcm')));
    // lowdose reads the derived series as four gates, each with its trigger time.
    const { series } = await scanPaths([path.dirname(files[0]!)]);
    expect(series.map((s) => s.petFrame?.frame)).toEqual([1, 2, 3, 4]);
    expect(series.map((s) => s.petFrame?.gating?.triggerTimeMs)).toEqual([0, 200, 400, 600]);
    expect(series.every((s) => s.slices.length === 2 && s.units === 'SUVbw')).toBe(true);
  });

  it('checks a Legacy Converted source\'s converted GATED values as an Enhanced source\'s: gates numbered from its trigger times, the slot length, not its converted Number of Time Slots and Image Index', async () => {
    const { source, files } = await derive('legacy-gated');
    const rows = headers(files);
    // Each frame's converted Trigger Time, as pydicom reads it from the Unassigned Per-Frame Converted Attributes.
    const script = [
      'import sys, json, pydicom',
      'd = pydicom.dcmread(sys.argv[1])',
      'print(json.dumps([{"delay": float(f.UnassignedPerFrameConvertedAttributesSequence[0].TriggerTime), "z": float(f.PlanePositionSequence[0].ImagePositionPatient[2])} for f in d.PerFrameFunctionalGroupsSequence]))',
    ].join('\n');
    const run = spawnSync(PYTHON, ['-c', script, path.join(dir, 'legacy-gated', 'legacy-gated.dcm')], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    // 4 trigger times: 4 time slots, whatever the conversion said (2); Frame Time from the slots.
    expectFourGates(rows, JSON.parse(run.stdout) as { delay: number; z: number }[]);
    const { series } = await scanPaths([path.dirname(files[0]!)]);
    expect(series.map((s) => s.petFrame?.gating?.triggerTimeMs)).toEqual([0, 200, 400, 600]);
    for (const s of series) {
      expect(s.units).toBe('SUVbw');
      for (const slice of s.slices) expect(relative(slice.unitsScale, source.slices[0]!.unitsScale)).toBeLessThan(1e-9);
    }
  });

  it('writes a Legacy Converted GATED source without Trigger Times as one STATIC series per gate, each gate told by its converted Image Index, not as DYNAMIC time slices of one time', async () => {
    const { source, files } = await derive('legacy-gated-untimed');
    const rows = headers(files);
    // Each frame's converted Image Index and Number of Slices, as pydicom reads them: its gate is ceil(index / slices) (C.8.9.4.1.9).
    const script = [
      'import sys, json, math, pydicom',
      'd = pydicom.dcmread(sys.argv[1])',
      's = int(d.SharedFunctionalGroupsSequence[0].UnassignedSharedConvertedAttributesSequence[0].NumberOfSlices)',
      'print(json.dumps([math.ceil(int(f.UnassignedPerFrameConvertedAttributesSequence[0].ImageIndex) / s) for f in d.PerFrameFunctionalGroupsSequence]))',
    ].join('\n');
    const run = spawnSync(PYTHON, ['-c', script, path.join(dir, 'legacy-gated-untimed', 'legacy-gated-untimed.dcm')], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    const gateOf = JSON.parse(run.stdout) as number[];
    const bySeries = new Map<string, typeof rows>();
    for (const row of rows) bySeries.set(row.SeriesInstanceUID!, [...(bySeries.get(row.SeriesInstanceUID!) ?? []), row]);
    expect(bySeries.size).toBe(4);
    const zs = [...new Set(rows.map((r) => r.z))].sort();
    const gates = [...bySeries.values()].map((list) => {
      const gate = [...new Set(list.map((r) => gateOf[r.frame]))];
      expect(gate).toHaveLength(1);
      expect(list.map((r) => r.z).sort()).toEqual(zs);
      for (const row of list) {
        expect(row.SeriesType).toBe("['STATIC', 'IMAGE']");
        expect([row.NumberOfSlices, row.NumberOfTimeSlices, row.TriggerTime, row.FrameTime, row.NumberOfRRIntervals, row.NumberOfTimeSlots]).toEqual(['2', null, null, null, null, null]);
        expect(row.SeriesDescription).toMatch(new RegExp(` gate ${gate[0]} of 4$`));
        expect(row.ImageComments).toBe(`cardiac gate ${gate[0]} of 4 of the source, by its converted Image Index (no Trigger Time to write it GATED)`);
      }
      expect(list.map((r) => Number(r.ImageIndex)).sort()).toEqual([1, 2]);
      expect(list.map((r) => Number(r.InstanceNumber)).sort()).toEqual([1, 2]);
      return gate[0];
    });
    expect(gates.sort()).toEqual([1, 2, 3, 4]);
    // Read back: four series of two slices, each with the source's SUVbw.
    const { series } = await scanPaths([path.dirname(files[0]!)]);
    expect(series.map((s) => s.slices.length)).toEqual([2, 2, 2, 2]);
    for (const s of series) {
      expect(s.units).toBe('SUVbw');
      for (const slice of s.slices) expect(relative(slice.unitsScale, source.slices[0]!.unitsScale)).toBeLessThan(1e-9);
    }
  });

  it('refuses a Legacy Converted GATED source whose gates neither Trigger Time nor converted Image Index tells: E_PET_GATES_UNKNOWN, no file written', async () => {
    const reason = /legacy-gated-unplaced\.dcm: Legacy Converted GATED frames share positions but cannot be written as GATED .* converted Image Index 5 is outside 1\.\.4 .*series not written/;
    await expect(derive('legacy-gated-unplaced')).rejects.toMatchObject({ code: 'E_PET_GATES_UNKNOWN', message: expect.stringMatching(reason) });
    const out = path.join(dir, 'legacy-gated-unplaced-denoised');
    const report = await denoisePaths([path.join(dir, 'legacy-gated-unplaced')], { outDir: out, method: 'gaussian' });
    expect(report.series).toEqual([]);
    expect(report.errors.map((e) => e.code)).toEqual(['E_PET_GATES_UNKNOWN']);
    expect((await scanPaths([out])).series).toEqual([]);
  });

  /** Each derived file's respiratory gate in its source, as pydicom reads the source frame's Respiratory Synchronization group. */
  const sourceBreaths = (file: string) => {
    const script = [
      'import sys, json, pydicom',
      'd = pydicom.dcmread(sys.argv[1])',
      'print(json.dumps([float(f.RespiratorySynchronizationSequence[0].NominalPercentageOfRespiratoryPhase) for f in d.PerFrameFunctionalGroupsSequence]))',
    ].join('\n');
    const run = spawnSync(PYTHON, ['-c', script, file], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(run.stderr);
    return JSON.parse(run.stdout) as number[];
  };

  it('writes a respiratory-gated source as one STATIC series per gate, the gate in its description and Image Comments, not as DYNAMIC time slices', async () => {
    const { source, files } = await derive('respiratory');
    const rows = headers(files);
    const breaths = sourceBreaths(path.join(dir, 'respiratory', 'respiratory.dcm'));
    const bySeries = new Map<string, typeof rows>();
    for (const row of rows) bySeries.set(row.SeriesInstanceUID!, [...(bySeries.get(row.SeriesInstanceUID!) ?? []), row]);
    expect(bySeries.size).toBe(2);
    for (const list of bySeries.values()) {
      // One gate of the source per series, both positions, numbered 1..2.
      const phase = [...new Set(list.map((r) => breaths[r.frame]))];
      expect(phase).toHaveLength(1);
      const gate = phase[0] === 25 ? 1 : 2;
      expect(list.map((r) => r.z).sort()).toEqual([...new Set(rows.map((r) => r.z))].sort());
      for (const row of list) {
        expect(row.SeriesType).toBe("['STATIC', 'IMAGE']");
        expect([row.NumberOfSlices, row.NumberOfTimeSlices, row.TriggerTime, row.NumberOfRRIntervals]).toEqual(['2', null, null, null]);
        expect(row.SeriesDescription).toMatch(new RegExp(` resp gate ${gate} of 2$`));
        expect(row.ImageComments).toBe(`respiratory gate ${gate} of 2 of the source: Nominal Percentage of Respiratory Phase ${phase[0]} %`);
      }
      expect(list.map((r) => Number(r.ImageIndex)).sort()).toEqual([1, 2]);
      expect(list.map((r) => Number(r.InstanceNumber)).sort()).toEqual([1, 2]);
    }
    // Read back: two series of two slices, each with the source's SUVbw.
    const { series } = await scanPaths([path.dirname(files[0]!)]);
    expect(series).toHaveLength(2);
    for (const s of series) {
      expect(s.slices).toHaveLength(2);
      expect(s.units).toBe('SUVbw');
      expect(s.warnings.filter((w) => w.code.startsWith('E_'))).toEqual([]);
      for (const slice of s.slices) expect(relative(slice.unitsScale, source.slices[0]!.unitsScale)).toBeLessThan(1e-9);
    }
  });

  it('writes a dual-gated source as one GATED series per respiratory gate, each with the cardiac gates of its frames', async () => {
    const { files } = await derive('respiratory-cardiac');
    const rows = headers(files);
    const breaths = sourceBreaths(path.join(dir, 'respiratory-cardiac', 'respiratory-cardiac.dcm'));
    const frames = sourceFrames(path.join(dir, 'respiratory-cardiac', 'respiratory-cardiac.dcm'));
    const bySeries = new Map<string, typeof rows>();
    for (const row of rows) bySeries.set(row.SeriesInstanceUID!, [...(bySeries.get(row.SeriesInstanceUID!) ?? []), row]);
    expect(bySeries.size).toBe(2);
    for (const list of bySeries.values()) {
      expect(new Set(list.map((r) => breaths[r.frame])).size).toBe(1);
      for (const row of list) {
        expect(row.SeriesType).toBe("['GATED', 'IMAGE']");
        expect([row.NumberOfRRIntervals, row.NumberOfTimeSlots, row.NumberOfSlices]).toEqual(['1', '2', '2']);
        expect(Number(row.TriggerTime)).toBe(frames[row.frame]!.delay);
        expect(Number(row.FrameTime)).toBe(400);
      }
      expect(list.map((r) => Number(r.ImageIndex)).sort()).toEqual([1, 2, 3, 4]);
    }
  });

  it('numbers a series spread over two multi-frame files across the whole series: time slices by file, ImageIndex and InstanceNumber unique', async () => {
    const { files } = await derive('split');
    const rows = headers(files);
    expect(rows).toHaveLength(4);
    expect(new Set(rows.map((r) => r.SeriesInstanceUID)).size).toBe(1);
    expect(rows.every((r) => r.SeriesType === "['DYNAMIC', 'IMAGE']" && r.NumberOfTimeSlices === '2' && r.NumberOfSlices === '2')).toBe(true);
    const earliest = Math.min(...rows.map((r) => Number(r.FrameReferenceTime)));
    const firstFile = rows.find((r) => Number(r.FrameReferenceTime) === earliest)!.source;
    expect(new Set(rows.map((r) => Number(r.FrameReferenceTime) - earliest))).toEqual(new Set([0, 300000]));
    // The file whose frames are 5 min later holds time slice 2: ImageIndex 3 and 4.
    for (const row of rows) expect(Number(row.ImageIndex) > 2).toBe(row.source !== firstFile);
    expect(rows.map((r) => Number(r.ImageIndex)).sort()).toEqual([1, 2, 3, 4]);
    expect(rows.map((r) => Number(r.InstanceNumber)).sort()).toEqual([1, 2, 3, 4]);
  });

  it('numbers an Enhanced series read as time points by its files\' classic Image Index in the acquisition: DYNAMIC, InstanceNumber its ImageIndex, unique, valid (pydicom)', async () => {
    const { series: read } = await scanPaths([path.join(dir, 'split-classic')]);
    expect(read.map((s) => [s.petFrame?.suffix, s.petFrame?.frame, s.slices.length])).toEqual([['t', 1, 2], ['t', 2, 2]]);
    const out = path.join(dir, 'split-classic-denoised');
    const report = await denoisePaths([path.join(dir, 'split-classic')], { outDir: out, method: 'gaussian' });
    expect(report.errors).toEqual([]);
    const files = report.series.flatMap((s) => s.output.files).sort();
    expect(files).toHaveLength(4);
    const rows = headers(files);
    expect(new Set(rows.map((r) => r.SeriesInstanceUID)).size).toBe(1);
    for (const row of rows) {
      expect([row.SeriesType, row.NumberOfTimeSlices, row.NumberOfSlices]).toEqual(["['DYNAMIC', 'IMAGE']", '2', '2']);
      expect(row.InstanceNumber).toBe(row.ImageIndex);
    }
    // The file whose frames are 5 min later holds time slice 2: ImageIndex 3 and 4.
    const earliest = Math.min(...rows.map((r) => Number(r.FrameReferenceTime)));
    const firstFile = rows.find((r) => Number(r.FrameReferenceTime) === earliest)!.source;
    for (const row of rows) expect(Number(row.ImageIndex) > 2).toBe(row.source !== firstFile);
    expect(rows.map((r) => Number(r.ImageIndex)).sort()).toEqual([1, 2, 3, 4]);
    const sources = readdirSync(path.join(dir, 'split-classic')).flatMap((f) => ['--source', path.join(dir, 'split-classic', f)]);
    const check = spawnSync(PYTHON, [IOD_CHECK, ...sources, ...files], { encoding: 'utf8' });
    expect(check.status, check.stderr).toBe(0);
    const problems = JSON.parse(check.stdout) as Record<string, string[]>;
    for (const file of files) expect(problems[file], file).toEqual([]);
    // Read back: the two time points, two slices each.
    const back = (await scanPaths([path.dirname(files[0]!)])).series;
    expect(back.map((s) => [s.petFrame?.frame, s.slices.length])).toEqual([[1, 2], [2, 2]]);
  });

  it('numbers an Enhanced series read as gates by its files\' classic Image Index in the acquisition: GATED, ImageIndex by gate, InstanceNumber its ImageIndex, each gate its trigger time, valid (pydicom)', async () => {
    const { series: read } = await scanPaths([path.join(dir, 'split-gated-classic')]);
    expect(read.map((s) => [s.petFrame?.suffix, s.petFrame?.frame, s.slices.length])).toEqual([['g', 1, 2], ['g', 2, 2]]);
    const out = path.join(dir, 'split-gated-classic-denoised');
    const report = await denoisePaths([path.join(dir, 'split-gated-classic')], { outDir: out, method: 'gaussian' });
    expect(report.errors).toEqual([]);
    const files = report.series.flatMap((s) => s.output.files).sort();
    expect(files).toHaveLength(4);
    const rows = headers(files);
    expect(new Set(rows.map((r) => r.SeriesInstanceUID)).size).toBe(1);
    // Each file's gate and trigger delay as pydicom reads its source file: top-level Image Index 1 / 3 of 2 slices, the frames' Nominal Cardiac Trigger Delay Time.
    const gateOfSource = new Map<string, { gate: number; delay: number }>();
    for (const f of readdirSync(path.join(dir, 'split-gated-classic'))) {
      const file = path.join(dir, 'split-gated-classic', f);
      const run = spawnSync(PYTHON, ['-c', 'import sys, math, json, pydicom\nd = pydicom.dcmread(sys.argv[1])\nprint(json.dumps([str(d.SOPInstanceUID), math.ceil(int(d.ImageIndex) / int(d.NumberOfSlices))]))', file], { encoding: 'utf8' });
      expect(run.status, run.stderr).toBe(0);
      const [uid, gate] = JSON.parse(run.stdout) as [string, number];
      gateOfSource.set(uid, { gate, delay: sourceFrames(file)[0]!.delay! });
    }
    const zs = [...new Set(rows.map((r) => r.z))].sort((a, b) => a - b);
    for (const row of rows) {
      const { gate, delay } = gateOfSource.get(row.source)!;
      expect([row.SeriesType, row.NumberOfRRIntervals, row.NumberOfTimeSlots, row.NumberOfSlices, row.NumberOfTimeSlices]).toEqual(["['GATED', 'IMAGE']", '1', '2', '2', null]);
      expect(Number(row.ImageIndex)).toBe((gate - 1) * 2 + zs.indexOf(row.z) + 1);
      expect(row.InstanceNumber).toBe(row.ImageIndex);
      expect(Number(row.TriggerTime)).toBe(delay);
      // The files' classic Frame Time (400 ms), not the first gate's delay to the end of the R-R interval (800 ms).
      expect(Number(row.FrameTime)).toBe(400);
    }
    expect(rows.map((r) => Number(r.ImageIndex)).sort()).toEqual([1, 2, 3, 4]);
    const sources = readdirSync(path.join(dir, 'split-gated-classic')).flatMap((f) => ['--source', path.join(dir, 'split-gated-classic', f)]);
    const check = spawnSync(PYTHON, [IOD_CHECK, ...sources, ...files], { encoding: 'utf8' });
    expect(check.status, check.stderr).toBe(0);
    const problems = JSON.parse(check.stdout) as Record<string, string[]>;
    for (const file of files) expect(problems[file], file).toEqual([]);
    // Read back: the two gates, two slices each, with their trigger times.
    const back = (await scanPaths([path.dirname(files[0]!)])).series;
    expect(back.map((s) => [s.petFrame?.frame, s.slices.length, s.petFrame?.gating?.triggerTimeMs])).toEqual([[1, 2, 0], [2, 2, 400]]);
  });

  it("refuses a gate read by its files' classic Image Index whose files state two Frame Times (one time slot, two lengths): E_PET_GATES_UNKNOWN, that gate not written", async () => {
    // make-enhanced-pet.py split-gated-classic-disagree/: gate 1's files state FrameTime 400 and 300 ms; gate 2's both 400.
    const out = path.join(dir, 'split-gated-classic-disagree-denoised');
    const report = await denoisePaths([path.join(dir, 'split-gated-classic-disagree')], { outDir: out, method: 'gaussian' });
    expect(report.errors.map((e) => [e.code, /gate 1 of 2 .* its files state 2 values of Frame Time \((300, 400|400, 300)\) for one gate/.test(e.message)])).toEqual([['E_PET_GATES_UNKNOWN', true]]);
    const files = report.series.flatMap((s) => s.output.files);
    // Gate 2 is written as before (ImageIndex 3, 4 of the acquisition), FrameTime 400 ms.
    expect(headers(files).map((r) => [r.ImageIndex, Number(r.FrameTime)]).sort()).toEqual([['3', 400], ['4', 400]]);
  });

  it('refuses an Enhanced source whose frames carry Cardiac Synchronization groups without a trigger delay and share positions at one time: E_PET_GATES_UNKNOWN, not DYNAMIC', async () => {
    // make-enhanced-pet.py gated-no-delay/: 2 positions x 4 frames, every frame the same Frame Reference DateTime.
    await expect(derive('gated-no-delay')).rejects.toMatchObject({
      code: 'E_PET_GATES_UNKNOWN',
      message: expect.stringMatching(/gated-no-delay\.dcm: 4 frames at one position carry a Cardiac Synchronization group but are no different times, and 8 of 8 frames state no Nominal Cardiac Trigger Delay Time/),
    });
    const out = path.join(dir, 'gated-no-delay-denoised');
    const report = await denoisePaths([path.join(dir, 'gated-no-delay')], { outDir: out, method: 'gaussian' });
    expect(report.errors.map((e) => e.code)).toEqual(['E_PET_GATES_UNKNOWN']);
    expect((await scanPaths([out])).series).toEqual([]);
  });

  it.each(['gated', 'respiratory', 'respiratory-cardiac', 'two-agents-respiratory', 'legacy-gated', 'legacy-gated-untimed'])(
    'reads the frames of %s at one position in different gates or agents without calling them a shared position',
    async (set) => {
      const s = await only(set);
      expect(s.warnings.map((w) => w.message).filter((m) => /share a position/.test(m))).toEqual([]);
    },
  );

  it('still warns about frames of one Enhanced PET file at one position that nothing tells apart (gated-no-delay: no trigger delay, one time)', async () => {
    const s = await only('gated-no-delay');
    // 2 positions x 4 frames: 3 repeats at each position.
    expect(s.warnings.map((w) => w.message).filter((m) => /6 slice\(s\) share a position/.test(m))).toHaveLength(1);
  });

  it("still warns about a time point read by its files' classic Image Index that holds one position twice, whatever its frames' own times", async () => {
    const { series } = await scanPaths([path.join(dir, 'split-classic-shared')]);
    const messages = series.map((s) => [s.key.slice(-3), s.warnings.map((w) => w.message).filter((m) => /share a position/.test(m)).length]);
    expect(messages.sort()).toEqual([['#t1', 0], ['#t2', 1]]);
  });

  it("refuses a time point read by its files' classic Image Index whose files state two Numbers of Slices: E_PET_TIME_POINTS_UNKNOWN, not numbered by its first file", async () => {
    // make-enhanced-pet.py split-classic-disagree/: time point 1's files state NumberOfSlices 2 and 3; time point 2's both 2.
    const out = path.join(dir, 'split-classic-disagree-denoised');
    const report = await denoisePaths([path.join(dir, 'split-classic-disagree')], { outDir: out, method: 'gaussian' });
    expect(report.errors.map((e) => [e.code, /time point 1 of 2 .* its files state 2 values of Number of Slices \((2, 3|3, 2)\) for one time point/.test(e.message)])).toEqual([
      ['E_PET_TIME_POINTS_UNKNOWN', true],
    ]);
    const files = report.series.flatMap((s) => s.output.files);
    // Time point 2 is written, numbered in the acquisition (ImageIndex 3, 4).
    expect(headers(files).map((r) => r.ImageIndex).sort()).toEqual(['3', '4']);
  });

  it("refuses a time point read by its files' classic Image Index whose frames share a position: E_PET_TIME_POINTS_UNKNOWN, not numbered over the other time point", async () => {
    // make-enhanced-pet.py split-classic-shared/: time point 2's file holds position 1 twice.
    const out = path.join(dir, 'split-classic-shared-denoised');
    const report = await denoisePaths([path.join(dir, 'split-classic-shared')], { outDir: out, method: 'gaussian' });
    expect(report.errors.map((e) => [e.code, /time point 2 of 2 .* holds frames that share a position/.test(e.message)])).toEqual([['E_PET_TIME_POINTS_UNKNOWN', true]]);
    const files = report.series.flatMap((s) => s.output.files).sort();
    // Time point 1 alone, ImageIndex = InstanceNumber 1, 2, valid (pydicom).
    expect(headers(files).map((r) => [r.ImageIndex, r.InstanceNumber])).toEqual([['1', '1'], ['2', '2']]);
    const sources = readdirSync(path.join(dir, 'split-classic-shared')).flatMap((f) => ['--source', path.join(dir, 'split-classic-shared', f)]);
    const check = spawnSync(PYTHON, [IOD_CHECK, ...sources, ...files], { encoding: 'utf8' });
    expect(check.status, check.stderr).toBe(0);
    const problems = JSON.parse(check.stdout) as Record<string, string[]>;
    for (const file of files) expect(problems[file], file).toEqual([]);
  });

  it.each([
    ['two-agents', 1],
    ['two-agents-split', 2],
  ] as const)('writes the frames of %s, two radiopharmaceuticals, as one classic series per agent, each with its own SUVbw', async (set, perAgent) => {
    const { files } = await derive(set);
    const rows = headers(files);
    const bySeries = new Map<string, typeof rows>();
    for (const row of rows) bySeries.set(row.SeriesInstanceUID!, [...(bySeries.get(row.SeriesInstanceUID!) ?? []), row]);
    expect(bySeries.size).toBe(2);
    const agents = [...bySeries.values()].map((list) => [...new Set(list.map((r) => JSON.stringify(r.agents)))]);
    expect(agents.sort()).toEqual([['[1]'], ['[2]']]);
    for (const list of bySeries.values()) {
      expect(list).toHaveLength(perAgent);
      expect(list.map((r) => Number(r.InstanceNumber)).sort()).toEqual(Array.from({ length: perAgent }, (_, i) => i + 1));
      expect(list.map((r) => Number(r.ImageIndex)).sort()).toEqual(Array.from({ length: perAgent }, (_, i) => i + 1));
      expect(list.every((r) => Number(r.NumberOfSlices) === perAgent)).toBe(true);
      expect(new Set(list.map((r) => r.SeriesDescription)).size).toBe(1);
    }
    // Each series reads back in SUVbw, with its agent's factor (agent 2: 150 MBq at 15:00).
    const { series } = await scanPaths([path.dirname(files[0]!)]);
    expect(series).toHaveLength(2);
    const factors = series.map((s) => s.slices[0]!.unitsScale).sort((a, b) => a - b);
    const wanted = [...expected.twoAgents.factors].sort((a, b) => a - b);
    for (const s of series) expect(s.units).toBe('SUVbw');
    factors.forEach((f, i) => expect(relative(f, wanted[i]!)).toBeLessThan(1e-9));
    for (const k of qibaFactors(path.dirname(files[0]!))) expect(wanted.some((w) => relative(k, w) < 1e-9)).toBe(true);
  });

  it('denoise of two-agents reports both series it wrote in output.seriesInstanceUids, the first as output.seriesInstanceUid', async () => {
    const out = path.join(dir, 'two-agents-denoised');
    const run = await runCli('denoise', path.join(dir, 'two-agents'), '-o', out, '--method', 'gaussian', '--no-progress');
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8')) as DenoiseReport;
    const output = report.series[0]!.output;
    expect(output.seriesInstanceUids).toHaveLength(2);
    expect(output.seriesInstanceUids![0]).toBe(output.seriesInstanceUid);
    const { series } = await scanPaths([out]);
    const written = series.filter((s) => s.modality === 'PT');
    expect(written.map((s) => s.seriesInstanceUid).sort()).toEqual([...output.seriesInstanceUids!].sort());
    // Stored back to a PACS (denoise <url> --store / --stow), each series goes as itself, with its own files.
    const parts = derivedParts(report.series[0]!);
    expect(parts.map((p) => p.seriesInstanceUid).sort()).toEqual([...output.seriesInstanceUids!].sort());
    for (const part of parts) {
      const own = written.find((s) => s.seriesInstanceUid === part.seriesInstanceUid)!;
      expect(part.files.map((f) => path.basename(f)).sort()).toEqual(own.slices.map((s) => path.basename(s.file)).sort());
    }
  });

  it('metrics scores each agent\'s denoised series against its own agent\'s source frames only: paired by position among them, the PET range their maximum', async () => {
    const out = path.join(dir, 'two-agents-split-metrics');
    const report = await denoisePaths([path.join(dir, 'two-agents-split')], { outDir: out, method: 'gaussian' });
    expect(report.errors).toEqual([]);
    const written = (await scanPaths([report.series[0]!.output.dir])).series;
    expect(written).toHaveLength(2);
    const agentOf = (s: Series) => headers([s.slices[0]!.file])[0]!.agents[0]!;
    // The source's frames of each agent, by position (z), as pydicom reads them.
    const sourceAgents = spawnSync(
      PYTHON,
      ['-c', 'import sys, json, pydicom\nd = pydicom.dcmread(sys.argv[1])\nprint(json.dumps([[float(f.PlanePositionSequence[0].ImagePositionPatient[2]), int(f.RadiopharmaceuticalUsageSequence[0].RadiopharmaceuticalAgentNumber)] for f in d.PerFrameFunctionalGroupsSequence]))', path.join(dir, 'two-agents-split', 'two-agents-split.dcm')],
      { encoding: 'utf8' },
    );
    const frames = JSON.parse(sourceAgents.stdout) as [number, number][];
    for (const s of written) {
      const agent = agentOf(s);
      const folder = path.join(out, `agent-${agent}`);
      cpSync(path.dirname(s.slices[0]!.file), folder, { recursive: true, filter: (f) => !f.endsWith('.dcm') || s.slices.some((x) => path.basename(x.file) === path.basename(f)) });
      const { result } = await runMetrics({ reference: path.join(dir, 'two-agents-split'), test: folder });
      // Its two slices against the source's two frames of its agent, not the other agent's two.
      expect(result.reference?.slices).toBe(2);
      expect(result.slices).toHaveLength(2);
      expect(frames.filter(([, a]) => a === agent).map(([z]) => z).sort()).toEqual(s.slices.map((x) => x.position![2]).sort());
      // The range is the maximum of its agent's frames in SUVbw: the stored maximum x its agent's factor (pydicom, the generator).
      const wanted = expected.twoAgents.bqmlMax[0]! * expected.twoAgents.factors[agent - 1]!;
      expect(relative(result.range![1], wanted)).toBeLessThan(1e-6);
    }
  });

  it('denoise --reference of a two-radiopharmaceutical source scores each agent against its own agent\'s reference frames only: the PET range their maximum, the scores those of lowdose metrics', async () => {
    // The full-count reference: the same two agents (1, 2, 1, 2 by position), each frame smoothed; each agent's maximum SUVbw from pydicom.
    const full = path.join(dir, 'two-agents-full-count');
    mkdirSync(full, { recursive: true });
    const made = spawnSync(PYTHON, [FULL_COUNT, path.join(dir, 'two-agents-split', 'two-agents-split.dcm'), path.join(full, 'full.dcm'), JSON.stringify(expected.twoAgents.factors)], { encoding: 'utf8' });
    expect(made.status, made.stderr).toBe(0);
    const wanted = JSON.parse(made.stdout) as Record<string, number>;
    const out = path.join(dir, 'two-agents-split-reference');
    const report = await denoisePaths([path.join(dir, 'two-agents-split')], { outDir: out, method: 'gaussian', reference: [full] });
    expect(report.errors).toEqual([]);
    const metrics = report.series[0]!.metrics!;
    expect(metrics.agents?.map((a) => a.agent)).toEqual([1, 2]);
    // The scores outside `agents` are the first agent's (its first output series').
    const { agents, series, ...first } = metrics;
    expect({ ...first, agent: 1 }).toEqual(agents![0]);
    // Each agent is one written series here (no gates): its scores per written series are its agent's.
    expect(series!.map((o) => o.seriesInstanceUid)).toEqual(report.series[0]!.output.seriesInstanceUids);
    series!.forEach(({ seriesInstanceUid: _uid, ...o }, k) => expect(o).toEqual(agents![k]));
    const written = (await scanPaths([report.series[0]!.output.dir])).series;
    expect(written).toHaveLength(2);
    for (const scored of agents!) {
      // Its two slices against the reference's two frames of its agent; the range their maximum, not the other agent's.
      expect(scored.reference.files).toBe(2);
      expect(relative(scored.range[1], wanted[String(scored.agent)]!)).toBeLessThan(1e-6);
      // lowdose metrics of that agent's written series against the same reference: the same range and
      // slices; the scores differ by the written files' quantisation only (denoise scores the output as computed).
      const mine = written.find((s) => headers([s.slices[0]!.file])[0]!.agents[0] === scored.agent)!;
      const folder = path.join(out, `agent-${scored.agent}`);
      cpSync(path.dirname(mine.slices[0]!.file), folder, { recursive: true, filter: (f) => !f.endsWith('.dcm') || mine.slices.some((x) => path.basename(x.file) === path.basename(f)) });
      const { result } = await runMetrics({ reference: full, test: folder });
      expect(result.reference?.slices).toBe(2);
      expect(scored.range).toEqual(result.range);
      expect(scored.psnr!).toBeCloseTo(result.mean.psnr!, 3);
      expect(scored.ssim).toBeCloseTo(result.mean.ssim, 5);
      expect(relative(scored.rmse, result.mean.rmse)).toBeLessThan(1e-4);
    }
  });

  it('denoise --reference of a respiratory-gated two-radiopharmaceutical source records each written series\' agent, gate and source frames, and scores each against the reference\'s frames of its own agent and gate', async () => {
    // two-agents-respiratory: 2 positions x 2 respiratory gates (25, 75 %) x agents 1, 2, the 75 % gate's pixels halved;
    // its full-count copy (each frame a 3 x 3 mean) and each agent's maximum per gate from pydicom.
    const source = path.join(dir, 'two-agents-respiratory');
    const { folder: full, printed } = respiratoryFullCount('two-agents-respiratory-full-count');
    const wanted = JSON.parse(printed) as { gates: Record<string, number> };
    // Each frame's agent and Nominal Percentage of Respiratory Phase, as pydicom reads them (0-based frame order).
    const read = spawnSync(
      PYTHON,
      ['-c', 'import sys, json, pydicom\nd = pydicom.dcmread(sys.argv[1])\nprint(json.dumps([[int(f.RadiopharmaceuticalUsageSequence[0].RadiopharmaceuticalAgentNumber), float(f.RespiratorySynchronizationSequence[0].NominalPercentageOfRespiratoryPhase)] for f in d.PerFrameFunctionalGroupsSequence]))', path.join(source, 'two-agents-respiratory.dcm')],
      { encoding: 'utf8' },
    );
    expect(read.status, read.stderr).toBe(0);
    const frames = JSON.parse(read.stdout) as Array<[number, number]>;
    const report = await denoisePaths([source], { outDir: path.join(dir, 'two-agents-respiratory-reference'), method: 'gaussian', reference: [full] });
    expect(report.errors).toEqual([]);
    const entry = report.series[0]!;
    // report.json names every written series with what it was made from.
    const outputs = entry.output.series!;
    expect(outputs.map((o) => o.seriesInstanceUid)).toEqual(entry.output.seriesInstanceUids);
    expect(outputs).toHaveLength(4);
    const breathOf = (gate: number) => [25, 75][gate - 1]!;
    for (const o of outputs) {
      expect(o.sourceSeriesInstanceUid).toBe(entry.input.seriesInstanceUid);
      expect(o.files).toHaveLength(2);
      expect(o.sourceFrames).toHaveLength(2);
      for (const f of o.sourceFrames) expect(frames[f.frame]).toEqual([o.agent, breathOf(o.respiratoryGate!.gate)]);
      // Its files are that series, each made from the frame recorded beside it (their Source Image Sequence, pydicom).
      const written = headers(o.files);
      expect(written.map((h) => h.SeriesInstanceUID)).toEqual(o.files.map(() => o.seriesInstanceUid));
      expect(written.map((h) => h.frame)).toEqual(o.sourceFrames.map((f) => f.frame));
    }
    // Scored per written series: its 2 slices against the reference's 2 frames of its agent and gate, the range their maximum (pydicom).
    const scored = entry.metrics!.series!;
    expect(scored.map((m) => m.seriesInstanceUid)).toEqual(entry.output.seriesInstanceUids);
    for (const m of scored) {
      expect(m.reference.files).toBe(2);
      expect(relative(m.range[1], wanted.gates[`${m.agent}/${breathOf(m.respiratoryGate!.gate)}`]!)).toBeLessThan(1e-6);
    }
    // The 75 % gate, half the counts, on its own range: not the agent's (both gates') maximum.
    const half = scored.find((m) => m.agent === 1 && m.respiratoryGate!.gate === 2)!;
    expect(relative(half.range[1], entry.metrics!.agents![0]!.range[1] / 2)).toBeLessThan(1e-3);
    // A rerun into the same folder skips the finished series and scores its written files per series the same way.
    const rerun = await denoisePaths([source], { outDir: path.join(dir, 'two-agents-respiratory-reference'), method: 'gaussian', reference: [full] });
    expect(rerun.errors).toEqual([]);
    expect(rerun.series[0]!.skipped).toBe(true);
    const again = rerun.series[0]!.metrics!.series!;
    expect(again.map((m) => [m.seriesInstanceUid, m.range, m.reference.files])).toEqual(scored.map((m) => [m.seriesInstanceUid, m.range, m.reference.files]));
    again.forEach((m, k) => expect(m.psnr!).toBeCloseTo(scored[k]!.psnr!, 2));
  });

  it('denoise --reference of a respiratory-gated two-radiopharmaceutical source scores each agent over all its slices, each against its own gate\'s reference frame, on the agent\'s range', async () => {
    // The full-count copy keeps the source's frame order (each frame a 3 x 3 mean), so source frame f's reference is its frame f.
    const source = path.join(dir, 'two-agents-respiratory');
    const { folder: full } = respiratoryFullCount('two-agents-respiratory-full-count-agents');
    const report = await denoisePaths([source], { outDir: path.join(dir, 'two-agents-respiratory-agents'), method: 'gaussian', reference: [full] });
    expect(report.errors).toEqual([]);
    const entry = report.series[0]!;
    const [input] = (await scanPaths([source])).series;
    const [reference] = (await scanPaths([full])).series;
    const frameOf = async (series: Series, frame: number) => readSliceImage(series, series.slices.findIndex((s) => s.frame === frame));
    const agents = entry.metrics!.agents!;
    expect(agents.map((a) => a.agent)).toEqual([1, 2]);
    for (const scored of agents) {
      const written = entry.output.series!.filter((o) => o.agent === scored.agent);
      const frames = written.flatMap((o) => o.sourceFrames.map((f, k) => ({ frame: f.frame, file: o.files[k]! })));
      // All 4 of the agent's slices (2 positions x 2 gates), the range the maximum of its 4 reference frames.
      expect(frames).toHaveLength(4);
      let max = 0;
      for (const { frame } of frames) max = Math.max(max, maxValue([(await frameOf(reference!, frame)).data]));
      expect(scored.range).toEqual([0, max]);
      expect(scored.reference.files).toBe(4);
      const low = new SeriesComparison([0, max]);
      const denoised = new SeriesComparison([0, max]);
      for (const [k, { frame, file }] of frames.entries()) {
        const truth = await frameOf(reference!, frame);
        low.add(k, truth, await frameOf(input!, frame));
        const [out] = (await scanPaths([file])).series;
        denoised.add(k, truth, await readSliceImage(out!, 0));
      }
      const l = low.result().mean;
      const d = denoised.result().mean;
      expect(Math.abs(scored.input!.psnr! - l.psnr!)).toBeLessThan(1e-9);
      expect(Math.abs(scored.input!.ssim! - l.ssim!)).toBeLessThan(1e-9);
      expect(Math.abs(scored.input!.rmse! - l.rmse!)).toBeLessThan(1e-9);
      // The denoised series scored as it is written (its quantisation).
      expect(Math.abs(scored.psnr! - d.psnr!)).toBeLessThan(1e-2);
    }
    // The top-level scores are agent 1's.
    expect([entry.metrics!.psnr, entry.metrics!.input!.psnr, entry.metrics!.range]).toEqual([agents[0]!.psnr, agents[0]!.input!.psnr, agents[0]!.range]);
  });

  it('lowdose metrics of one gate of one agent lowdose wrote, against the gated two-radiopharmaceutical reference, scores it against that agent\'s frames of that gate only', async () => {
    const source = path.join(dir, 'two-agents-respiratory');
    const { folder: full } = respiratoryFullCount('two-agents-respiratory-full-count-gates');
    const out = path.join(dir, 'two-agents-respiratory-gates');
    const report = await denoisePaths([source], { outDir: out, method: 'gaussian', reference: [full] });
    expect(report.errors).toEqual([]);
    const entry = report.series[0]!;
    const [reference] = (await scanPaths([full])).series;
    for (const written of entry.output.series!) {
      const folder = path.join(out, `agent-${written.agent}-gate-${written.respiratoryGate!.gate}`);
      mkdirSync(folder, { recursive: true });
      for (const file of written.files) cpSync(file, path.join(folder, path.basename(file)));
      const { result } = await runMetrics({ reference: full, test: folder });
      // Its 2 slices against the reference's 2 frames of its agent and gate (the frames it was made from, as the full-count copy keeps the source's frame order).
      expect(result.reference?.slices).toBe(2);
      expect(result.slices).toHaveLength(2);
      let max = 0;
      for (const f of written.sourceFrames) max = Math.max(max, maxValue([(await readSliceImage(reference!, reference!.slices.findIndex((s) => s.frame === f.frame))).data]));
      expect(result.range).toEqual([0, max]);
      // The same as denoise --reference scored that written series (within the written files' quantisation).
      const scored = entry.metrics!.series!.find((m) => m.seriesInstanceUid === written.seriesInstanceUid)!;
      expect(scored.range).toEqual(result.range);
      expect(scored.psnr!).toBeCloseTo(result.mean.psnr!, 2);
    }
  });

  it('denoise of two-agents-split: each agent\'s series states its own count in its files, is whole by it, and stays a valid PET Image series (pydicom)', async () => {
    const out = path.join(dir, 'two-agents-split-denoised');
    const run = await runCli('denoise', path.join(dir, 'two-agents-split'), '-o', out, '--method', 'gaussian', '--no-progress');
    expect(run.code, run.stderr).toBe(0);
    const series = (await scanPaths([out])).series.filter((s) => s.modality === 'PT');
    expect(series).toHaveLength(2);
    for (const s of series) {
      expect(s.slices).toHaveLength(2);
      for (const slice of s.slices) expect(lowdoseStatedCount((await readDicomFile(slice.file)).dataSet)).toEqual({ files: 2, frame: false });
      expect(statedCountProblem(s, { files: 2, frame: false })).toBeNull();
    }
    const files = series.flatMap((s) => s.slices.map((slice) => slice.file));
    const check = spawnSync(PYTHON, [IOD_CHECK, ...files], { encoding: 'utf8' });
    expect(check.status, check.stderr).toBe(0);
    const problems = JSON.parse(check.stdout) as Record<string, string[]>;
    for (const file of files) expect(problems[file], file).toEqual([]);
    // One agent's series without one of its files: 1 of its 2.
    expect(statedCountProblem({ ...series[0]!, slices: series[0]!.slices.slice(1) }, { files: 2, frame: false })).toBe('1 is here, InstanceNumber 1 is missing');
  });

  it('refuses to write a source whose Decay Correction DateTime is off its frames\' clock and that has no classic DecayCorrection: E_DECAY_CORRECTION_UNKNOWN, no file written', async () => {
    const reason =
      /no-file-zone-bare\.dcm: Decay Corrected \(0018,9758\) is YES but the Decay Correction DateTime \(0018,9701\) "\d{14}\.\d{6}\+0100" cannot be put on the clock of frame \d's Frame Reference \/ Acquisition DateTimes .*and the file carries no classic DecayCorrection \(0054,1102\).*series not written/;
    await expect(derive('no-file-zone-bare')).rejects.toMatchObject({ code: 'E_DECAY_CORRECTION_UNKNOWN', message: expect.stringMatching(reason) });
    expect(existsSync(path.join(dir, 'derived', 'no-file-zone-bare')) ? readdirSync(path.join(dir, 'derived', 'no-file-zone-bare')).filter((f) => f.endsWith('.dcm')) : []).toEqual([]);
    // denoise: the series is in errors with that reason, no file in its folder.
    const out = path.join(dir, 'no-file-zone-bare-denoised');
    const report = await denoisePaths([path.join(dir, 'no-file-zone-bare')], { outDir: out, method: 'gaussian' });
    expect(report.series).toEqual([]);
    expect(report.errors.map((e) => e.code)).toEqual(['E_DECAY_CORRECTION_UNKNOWN']);
    expect(report.errors[0]!.message).toMatch(reason);
    const written = (await scanPaths([out])).series;
    expect(written).toEqual([]);
  });

  it('writes no time of a date-time it cannot put on the frames\' clock: no offset assumed for a source with DTs with and without one', async () => {
    const rows = headers((await derive('no-file-zone')).files);
    for (const row of rows) {
      // The frames' DTs carry no offset, nor does the file: local time, as the source's. Its Decay
      // Correction DateTime (+0100) cannot be placed on that clock, so the series time is the
      // source's own (15:23:16.921), and the frames' times are counted from it.
      expect(row.TimezoneOffsetFromUTC).toBeNull();
      expect(Number(row.SeriesTime)).toBe(152316.921);
      expect(Number(row.AcquisitionTime)).toBe(152316.921);
      expect(Number(row.FrameReferenceTime)).toBe(150000);
      expect(row.starts).toEqual(['19600614141700.000000']);
    }
  });
});
