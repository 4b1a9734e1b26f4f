/**
 * PET → SUVbw: the eight vendor cases of @cornerstonejs/calculate-suv against their expected
 * factors, real PET files against the textbook formula, and the refusal when SUV cannot be had.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readInstanceHeader, readSlice, scanPaths, suvbwFactors, type PetAttributes } from '../../src/dicom/index.js';
import { decodeFrameStoredValues } from '../../src/dicom/read-slice.js';
import { corpusPath } from './helpers/corpus.js';
import { writeBedSeries } from './helpers/pet-beds.js';

const SUV_DIR = 'cornerstonejs__calculate-suv/test/';
const FO = 'fo-dicom__fo-dicom/Tests/FO-DICOM.Tests/Test Data/';

const expectedFactors = readFileSync(corpusPath(`${SUV_DIR}expected-suvbw-factors.tsv`), 'utf8')
  .trim()
  .split('\n')
  .slice(1)
  .map((line) => line.split('\t'))
  .map(([name, factor, note]) => ({ name: name!, factor: Number(factor), note: note! }));

describe('SUVbw on the eight vendor cases', () => {
  it('has all eight cases', () => expect(expectedFactors).toHaveLength(8));
  for (const { name, factor, note } of expectedFactors) {
    it(`${name}: ${note}`, () => {
      const instances = JSON.parse(readFileSync(corpusPath(`${SUV_DIR}metadata/${name}-instances.json`), 'utf8')) as PetAttributes[];
      const outcome = suvbwFactors(instances);
      expect(outcome.ok, outcome.ok ? '' : outcome.reason).toBe(true);
      if (!outcome.ok) return;
      expect(outcome.factors).toHaveLength(instances.length);
      for (const f of outcome.factors) expect(Math.abs(f - factor) / factor).toBeLessThan(1e-9);
    });
  }
});

/** HHMMSS.FFFFFF → seconds after midnight. */
function seconds(tm: string): number {
  return Number(tm.slice(0, 2)) * 3600 + Number(tm.slice(2, 4)) * 60 + Number(tm.slice(4));
}

describe('SUVbw on real PET files', () => {
  // Decay-corrected to the series start (DecayCorrection START, series time <= acquisition time):
  // SUVbw factor = weight [g] / (injected dose [Bq] x 2^(-(series time - injection time) / half-life)).
  for (const file of ['suyashkumar__dicom/testdata/1.dcm', 'suyashkumar__dicom/testdata/2.dcm', `${FO}GH184.dcm`]) {
    it(`${file.split('/').pop()} matches the textbook formula and reads in SUVbw`, async () => {
      const header = await readInstanceHeader(corpusPath(file));
      const pet = header.pet!;
      expect(pet.Units).toBe('BQML');
      expect(pet.DecayCorrection).toBe('START');
      const elapsed = seconds(pet.SeriesTime) - seconds(pet.RadiopharmaceuticalStartTime!);
      const expected = (pet.PatientWeight * 1000) / (pet.RadionuclideTotalDose * 2 ** (-elapsed / pet.RadionuclideHalfLife));

      const { series } = await scanPaths([corpusPath(file)]);
      const s = series[0]!;
      expect(s.units).toBe('SUVbw');
      expect(s.warnings).toEqual([]);
      const slice = s.slices[0]!;
      expect(Math.abs(slice.unitsScale - expected) / expected).toBeLessThan(1e-4);

      // Pixels come out as (stored x slope + intercept) x factor.
      const suv = await readSlice(slice);
      const { values } = await decodeFrameStoredValues(corpusPath(file));
      let brightest = -Infinity;
      for (const v of values) brightest = Math.max(brightest, v);
      const i = values.indexOf(brightest);
      expect(suv[i]).toBeCloseTo((values[i]! * slice.rescaleSlope + slice.rescaleIntercept) * slice.unitsScale, 4);
      // A plausible SUV range for a whole-body FDG slice.
      expect(suv[i]).toBeGreaterThan(1);
      expect(suv[i]).toBeLessThan(50);
    });
  }

  it('keeps GH610.dcm (PROPCPS, no weight) in its stored units and says why', async () => {
    const { series } = await scanPaths([corpusPath(`${FO}GH610.dcm`)]);
    const s = series[0]!;
    expect(s.units).toBe('PROPCPS');
    expect(s.slices[0]!.unitsScale).toBe(1);
    const warning = s.warnings.find((w) => w.code === 'E_SUV_UNAVAILABLE');
    expect(warning?.message).toMatch(/PatientWeight/);
  });

  it('refuses SUV without a weight, a dose or a half-life, naming the attribute', () => {
    const base = JSON.parse(readFileSync(corpusPath(`${SUV_DIR}metadata/SIEMENS-instances.json`), 'utf8'))[0] as PetAttributes;
    expect(suvbwFactors([{ ...base, PatientWeight: Number.NaN }])).toEqual({ ok: false, reason: expect.stringMatching(/PatientWeight/) });
    expect(suvbwFactors([{ ...base, RadionuclideTotalDose: 0 }])).toEqual({ ok: false, reason: expect.stringMatching(/TotalDose/) });
    expect(suvbwFactors([{ ...base, Units: 'PROPCPS' }]).ok).toBe(false);
  });
});

describe('SUVbw follows DecayCorrection', () => {
  const siemens = () => JSON.parse(readFileSync(corpusPath(`${SUV_DIR}metadata/SIEMENS-instances.json`), 'utf8')) as PetAttributes[];

  it('divides by the dose as injected when the pixels are decay-corrected to the administration (ADMIN)', async () => {
    // ACRIN slice 1.dcm, 66 min after injection: START decays the dose to the series start, ADMIN does not.
    const pet = (await readInstanceHeader(corpusPath('suyashkumar__dicom/testdata/1.dcm'))).pet!;
    const start = suvbwFactors([pet]);
    const admin = suvbwFactors([{ ...pet, DecayCorrection: 'ADMIN' }]);
    expect(start.ok && admin.ok).toBe(true);
    if (!start.ok || !admin.ok) return;
    const undecayed = (pet.PatientWeight * 1000) / pet.RadionuclideTotalDose;
    expect(Math.abs(admin.factors[0]! - undecayed) / undecayed).toBeLessThan(1e-12);
    const elapsed = seconds(pet.SeriesTime) - seconds(pet.RadiopharmaceuticalStartTime!);
    expect(start.factors[0]! / admin.factors[0]!).toBeCloseTo(2 ** (elapsed / pet.RadionuclideHalfLife), 9);
  });

  it('ADMIN on every instance of a series, and on Philips counts with the activity factor', () => {
    const instances = siemens().map((i) => ({ ...i, DecayCorrection: 'ADMIN' }));
    const outcome = suvbwFactors(instances);
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    const [first] = instances;
    for (const f of outcome.factors) expect(f).toBeCloseTo((first!.PatientWeight * 1000) / first!.RadionuclideTotalDose, 15);

    // Philips CNTS with only the activity concentration factor: counts x factor = Bq/ml, then as BQML.
    const philips = JSON.parse(readFileSync(corpusPath(`${SUV_DIR}metadata/PHILIPS_CNTS_AND_BQML_SUV-instances.json`), 'utf8')) as PetAttributes[];
    const activityOnly = philips.map((i) => ({
      ...i,
      DecayCorrection: 'ADMIN',
      PhilipsPETPrivateGroup: { SUVScaleFactor: undefined, ActivityConcentrationScaleFactor: Number(i.PhilipsPETPrivateGroup!.ActivityConcentrationScaleFactor) },
    }));
    const counts = suvbwFactors(activityOnly);
    expect(counts.ok).toBe(true);
    if (!counts.ok) return;
    const p = activityOnly[0]!;
    const expected = (p.PhilipsPETPrivateGroup.ActivityConcentrationScaleFactor * p.PatientWeight * 1000) / p.RadionuclideTotalDose;
    for (const f of counts.factors) expect(Math.abs(f - expected) / expected).toBeLessThan(1e-12);
  });

  it('refuses SUV for pixels not decay-corrected (NONE) or without a DecayCorrection, naming the attribute', () => {
    for (const value of ['NONE', '', 'XYZ']) {
      const outcome = suvbwFactors(siemens().map((i) => ({ ...i, DecayCorrection: value })));
      expect(outcome).toEqual({ ok: false, reason: expect.stringMatching(/DecayCorrection \(0054,1102\)/) });
    }
  });

  it('reads Units GML (already SUV) with factor 1 whatever its DecayCorrection', () => {
    for (const value of ['START', 'ADMIN', 'NONE', '']) {
      expect(suvbwFactors(siemens().map((i) => ({ ...i, Units: 'GML', DecayCorrection: value })))).toEqual({ ok: true, factors: [1, 1, 1] });
    }
  });
});

describe('SUVbw when SeriesTime is later than the acquisitions (multi-bed scans)', () => {
  // calculate-suv decays the dose to the earliest AcquisitionTime of the files it is given here.
  const factorsByFile = (s: { slices: readonly { file: string; unitsScale: number }[] }) => new Map(s.slices.map((x) => [x.file, x.unitsScale]));

  it('reads the whole series without a warning, and says so when only part of it (NumberOfSlices) was read, whose SUVs differ', async () => {
    const { files, remove } = writeBedSeries(6);
    try {
      const whole = (await scanPaths(files)).series[0]!;
      expect(whole.units).toBe('SUVbw');
      expect(whole.warnings).toEqual([]);
      const part = (await scanPaths(files.slice(2))).series[0]!;
      expect(part.units).toBe('SUVbw');
      const warning = part.warnings.find((w) => w.code === 'W_SUV_PARTIAL_SERIES');
      expect(warning?.message).toMatch(/earliest AcquisitionTime of the 4 file\(s\) read \(19600614 150516\.921000\)/);
      expect(warning?.message).toMatch(/holds 6 slice\(s\) \(NumberOfSlices\) and 4 were read/);
      // The same voxels read 2 min of F-18 decay (2^(120 s / 6586.2 s) = 1.0127) higher from the part.
      const pet = (await readInstanceHeader(files[0]!)).pet!;
      const w = factorsByFile(whole);
      for (const [file, factor] of factorsByFile(part)) expect(factor / w.get(file)!).toBeCloseTo(2 ** (120 / pet.RadionuclideHalfLife), 9);
    } finally {
      remove();
    }
  });

  it('says that whether the series is whole cannot be told when the files carry no NumberOfSlices', async () => {
    const { files, remove } = writeBedSeries(null);
    try {
      const whole = (await scanPaths(files)).series[0]!;
      expect(whole.warnings.find((w) => w.code === 'W_SUV_PARTIAL_SERIES')?.message).toMatch(/no NumberOfSlices \(0054,0081\)/);
    } finally {
      remove();
    }
  });

  it('reports the scan start only when the factor depends on the files read', () => {
    const beds = (JSON.parse(readFileSync(corpusPath(`${SUV_DIR}metadata/SIEMENS-instances.json`), 'utf8')) as PetAttributes[]).map((i, n) => ({
      ...i,
      SeriesTime: '110000.000000',
      AcquisitionTime: `10${String(50 + 2 * n).padStart(2, '0')}00.000000`,
    }));
    const all = suvbwFactors(beds);
    const later = suvbwFactors(beds.slice(1));
    expect(all).toMatchObject({ ok: true, scanStartFromFilesRead: '20201217 105000.000000' });
    expect(later).toMatchObject({ ok: true, scanStartFromFilesRead: '20201217 105200.000000' });
    // Series time at or before every acquisition: the series start, whatever files are read.
    const seriesStart = suvbwFactors(beds.map((i) => ({ ...i, SeriesTime: '104500.000000' })));
    expect(seriesStart.ok && seriesStart.scanStartFromFilesRead).toBe(undefined);
    // Nor with GE's private post-injection time, nor for ADMIN (no decay).
    for (const other of [
      beds.map((i) => ({ ...i, GEPrivatePostInjectionDateTime: '20201217104500.000000' })),
      beds.map((i) => ({ ...i, DecayCorrection: 'ADMIN' })),
    ]) {
      const outcome = suvbwFactors(other);
      expect(outcome.ok).toBe(true);
      expect(outcome.ok && outcome.scanStartFromFilesRead).toBe(undefined);
    }
  });
});

describe('SUVbw of Units GML (pixels already SUV)', () => {
  it('reads a GML series with factor 1 without a weight, a dose or a half-life', () => {
    const base = JSON.parse(readFileSync(corpusPath(`${SUV_DIR}metadata/SIEMENS-instances.json`), 'utf8')) as PetAttributes[];
    const gml = base.map((i) => ({ ...i, Units: 'GML', PatientWeight: Number.NaN, RadionuclideTotalDose: Number.NaN, RadionuclideHalfLife: Number.NaN }));
    expect(suvbwFactors(gml)).toEqual({ ok: true, factors: [1, 1, 1] });
    // Only a whole GML series: GML mixed with Bq/ml is not one series.
    expect(suvbwFactors([gml[0]!, base[1]!]).ok).toBe(false);
  });
});
