/**
 * writeVolumeSeries: a volume made from scratch comes back from our reader, dicom-parser and
 * dcmtk as written: values within quantization, geometry, UIDs, and PET that stays SUV-able.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { calculateSUVScalingFactors } from '@cornerstonejs/calculate-suv';
import { describe, expect, it } from 'vitest';
import { readSlice, scanPaths } from '../../src/dicom/index.js';
import { isValidUid } from '../../src/dicom/uid.js';
import { writeVolumeSeries } from '../../src/dicom/write-volume.js';
import { LowdoseError } from '../../src/errors.js';
import type { Volume } from '../../src/image.js';
import { Rng } from '../../src/util/random.js';
import { dcmdump, hasDcmdump, modalityValues, parse, petMetadata, temporaryDirectories } from './helpers.js';

const tmp = temporaryDirectories();

/** Float CT data with fine fractions over the whole clinical range, seeded. */
function floatCt(slices = 3, rows = 48, columns = 40): Volume {
  const rng = new Rng(7);
  return {
    modality: 'CT',
    units: 'HU',
    rows,
    columns,
    slices: Array.from({ length: slices }, () => Float32Array.from({ length: rows * columns }, () => rng.range(-1024, 2000))),
    spacing: [0.7, 0.8, 2.5],
    description: 'WATER test volume',
  };
}

const PET_INFO = {
  injectedDoseBq: 350e6,
  halfLifeSeconds: 6586.2,
  patientWeightKg: 81.5,
  radionuclide: '^18^Fluorine',
  injectionTime: '083000.000000',
  seriesTime: '094512.500000',
};

describe('writeVolumeSeries (CT)', () => {
  const volume = floatCt();
  const out = tmp('ct');
  const written = writeVolumeSeries(volume, out, { patientName: 'PHANTOM^WATER', seriesNumber: 7 });

  it('round-trips float HU through our reader within 0.05 HU', async () => {
    const w = await written;
    const { series, errors } = await scanPaths([w.dir]);
    expect(errors).toEqual([]);
    expect(series).toHaveLength(1);
    const s = series[0]!;
    expect(s.seriesInstanceUid).toBe(w.seriesInstanceUid);
    expect(s.units).toBe('HU');
    expect([s.rows, s.columns, s.slices.length]).toEqual([48, 40, 3]);
    expect(s.spacing[0]).toBeCloseTo(0.7, 6);
    expect(s.spacing[1]).toBeCloseTo(0.8, 6);
    expect(s.spacing[2]).toBeCloseTo(2.5, 6);
    for (let k = 0; k < 3; k++) {
      const values = await readSlice(s.slices[k]!);
      let worst = 0;
      for (let i = 0; i < values.length; i++) worst = Math.max(worst, Math.abs(values[i]! - volume.slices[k]![i]!));
      // Half the 0.1 HU step, plus float32 rounding of values up to ~3000 HU.
      expect(worst).toBeLessThanOrEqual(0.05 + 3e-4);
    }
  });

  it('is read by dicom-parser with the same values, slices along +z, centred geometry', async () => {
    const w = await written;
    w.files.forEach((file, k) => {
      const ds = parse(file);
      expect(ds.string('x00020010')).toBe('1.2.840.10008.1.2.1');
      expect(ds.string('x00080016')).toBe('1.2.840.10008.5.1.4.1.1.2');
      expect(ds.string('x00100010')).toBe('PHANTOM^WATER');
      expect(ds.string('x00281054')).toBe('HU');
      expect(ds.uint16('x00280100')).toBe(16);
      expect(ds.string('x00200037')).toBe('1\\0\\0\\0\\1\\0');
      expect(ds.intString('x00200011')).toBe(7);
      const position = [0, 1, 2].map((i) => ds.floatString('x00200032', i)!);
      expect(position[0]).toBeCloseTo((-(40 - 1) / 2) * 0.8, 6);
      expect(position[1]).toBeCloseTo((-(48 - 1) / 2) * 0.7, 6);
      expect(position[2]).toBeCloseTo((k - 1) * 2.5, 6);
      const values = modalityValues(ds);
      for (let i = 0; i < values.length; i += 97) expect(Math.abs(values[i]! - volume.slices[k]![i]!)).toBeLessThanOrEqual(0.05 + 3e-4);
    });
  });

  it.skipIf(!hasDcmdump)('dcmdump reads every file without a warning (skipped when /usr/bin/dcmdump is absent)', async () => {
    const w = await written;
    for (const file of w.files) {
      const result = dcmdump(file);
      expect(result.status).toBe(0);
      expect(result.stderr).toBe('');
      expect(result.stdout).toContain('CTImageStorage');
    }
  });

  it('gives every instance a valid UID of its own and leaves no temporary files', async () => {
    const w = await written;
    const uids = [w.studyInstanceUid, w.seriesInstanceUid, w.frameOfReferenceUid, ...w.sopInstanceUids];
    expect(new Set(uids).size).toBe(uids.length);
    for (const uid of uids) expect(isValidUid(uid), uid).toBe(true);
    expect(readdirSync(out).sort()).toEqual(['IM0001.dcm', 'IM0002.dcm', 'IM0003.dcm']);
  });

  it('refuses to overwrite existing files unless asked', async () => {
    await written;
    await expect(writeVolumeSeries(volume, out)).rejects.toMatchObject({ code: 'E_EXISTS' });
    await expect(writeVolumeSeries(volume, out)).rejects.toBeInstanceOf(LowdoseError);
    const again = await writeVolumeSeries(volume, out, { overwrite: true });
    expect(again.files).toHaveLength(3);
  });
});

describe('writeVolumeSeries identity options', () => {
  it('shares study and frame of reference between a normal-dose and a low-dose copy', async () => {
    const volume = floatCt(2, 16, 16);
    const normal = await writeVolumeSeries(volume, tmp('normal'));
    const low = await writeVolumeSeries(volume, tmp('low'), {
      studyInstanceUid: normal.studyInstanceUid,
      frameOfReferenceUid: normal.frameOfReferenceUid,
      seriesDescription: 'WATER simulated 25% dose',
      imageType: ['DERIVED', 'SECONDARY', 'AXIAL'],
    });
    expect(low.studyInstanceUid).toBe(normal.studyInstanceUid);
    expect(low.frameOfReferenceUid).toBe(normal.frameOfReferenceUid);
    expect(low.seriesInstanceUid).not.toBe(normal.seriesInstanceUid);
    expect(low.sopInstanceUids.some((u) => normal.sopInstanceUids.includes(u))).toBe(false);
    const ds = parse(low.files[0]!);
    expect(ds.string('x0020000d')).toBe(normal.studyInstanceUid);
    expect(ds.string('x00200052')).toBe(normal.frameOfReferenceUid);
    expect(ds.string('x00080008')).toBe('DERIVED\\SECONDARY\\AXIAL');
  });

  it('writes identical bytes for the same uidSeed and date, different UIDs for another seed', async () => {
    const volume = floatCt(2, 16, 16);
    const date = new Date(2024, 5, 1, 9, 30, 0);
    const a = await writeVolumeSeries(volume, tmp('a'), { uidSeed: 'fixture-water', date });
    const b = await writeVolumeSeries(volume, tmp('b'), { uidSeed: 'fixture-water', date });
    const c = await writeVolumeSeries(volume, tmp('c'), { uidSeed: 'fixture-other', date });
    a.files.forEach((file, k) => expect(readFileSync(file).equals(readFileSync(b.files[k]!))).toBe(true));
    expect(c.seriesInstanceUid).not.toBe(a.seriesInstanceUid);
    expect(c.sopInstanceUids[0]).not.toBe(a.sopInstanceUids[0]);
  });
});

describe('writeVolumeSeries (PET)', () => {
  const rows = 24;
  const columns = 24;
  const rng = new Rng(11);
  // Background about 4 kBq/ml with hot pixels, slice maxima differing by a factor of ten.
  const slices = [1, 3, 10].map((scale) => Float32Array.from({ length: rows * columns }, () => rng.range(0, 4000) * scale));
  const volume: Volume = { modality: 'PT', units: 'BQML', rows, columns, slices, spacing: [4, 4, 3], description: 'IEC test', pet: PET_INFO };

  it('stores activity within 1e-4 of each slice maximum and keeps SUV computable', async () => {
    const w = await writeVolumeSeries(volume, tmp('pet'));
    const expectedFactor = (81.5 * 1000) / (350e6 * 2 ** (-(4512.5) / 6586.2));
    for (const [k, file] of w.files.entries()) {
      const ds = parse(file);
      expect(ds.string('x00080016')).toBe('1.2.840.10008.5.1.4.1.1.128');
      expect(ds.string('x00541001')).toBe('BQML');
      expect(ds.string('x00541102')).toBe('START');
      expect(ds.string('x00280051')).toContain('ATTN');
      expect(ds.string('x00280051')).toContain('DECY');
      const values = modalityValues(ds);
      const peak = Math.max(...slices[k]!);
      for (let i = 0; i < values.length; i++) expect(Math.abs(values[i]! - slices[k]![i]!)).toBeLessThanOrEqual(peak * 1e-4);
      const [factor] = calculateSUVScalingFactors([petMetadata(ds)]);
      expect(Math.abs(factor!.suvbw - expectedFactor) / expectedFactor).toBeLessThan(1e-6);
    }
    // Our reader turns the same headers into SUVbw with the same factor.
    const { series } = await scanPaths([w.dir]);
    expect(series[0]!.units).toBe('SUVbw');
    expect(Math.abs(series[0]!.slices[0]!.unitsScale - expectedFactor) / expectedFactor).toBeLessThan(1e-6);
  });

  it.skipIf(!hasDcmdump)('dcmdump reads the PET files without a warning (skipped without dcmtk)', async () => {
    const w = await writeVolumeSeries(volume, tmp('pet-dump'));
    const result = dcmdump(w.files[0]!);
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('PositronEmissionTomographyImageStorage');
    expect(result.stdout).toContain('RadiopharmaceuticalInformationSequence');
  });

  it('refuses a PET volume without dose information', async () => {
    const { pet: _pet, ...bare } = volume;
    await expect(writeVolumeSeries(bare as Volume, join(tmp('bare'), 'x'))).rejects.toMatchObject({ code: 'E_USAGE' });
  });
});
