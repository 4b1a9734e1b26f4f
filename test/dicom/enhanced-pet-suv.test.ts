/**
 * SUVbw of Enhanced PET Image Storage and Legacy Converted Enhanced PET: decayed to the Decay
 * Correction DateTime, the dose in MBq, units from the Real World Value Mapping, a factor per
 * frame; and every refusal with its reason. The files and their expected SUVbw come from
 * test/dicom/data/make-enhanced-pet.py (pydicom, from the ACRIN slice suyashkumar__dicom/testdata/1.dcm,
 * the factors computed there from the DICOM attributes with PS3.3's formula, not with lowdose's code).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readInstanceHeader, readSlice, scanPaths, suvbwFactors } from '../../src/dicom/index.js';
import type { Series } from '../../src/dicom/types.js';
import { runCli } from '../helpers/cli.js';
import { CORPUS } from './helpers/corpus.js';

const PYTHON = '/usr/bin/python3';
const GENERATOR = fileURLToPath(new URL('./data/make-enhanced-pet.py', import.meta.url));
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
});
