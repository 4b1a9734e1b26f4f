/**
 * Derived files carry only the attributes lowdose understands (src/dicom/derived-attributes.ts),
 * none larger than a small limit, with invalid values repaired or dropped and reported, and never
 * lose the source's geometry silently. On real corpus files and in-memory mutations of them.
 */
import { readFileSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { clearSliceCache, readSlice, readSliceImage, scanPaths, type Series } from '../../src/dicom/index.js';
import { MAX_COPIED_ELEMENT_BYTES } from '../../src/dicom/derived-attributes.js';
import { repairValues } from '../../src/dicom/value-repair.js';
import { createDerivedSeriesWriter } from '../../src/dicom/write-derived.js';
import type { DcmDataset } from '../../src/dicom/write-dcmjs.js';
import { isLowdoseError } from '../../src/errors.js';
import { encodeElement, withElement, withVr, writeTemporary } from '../helpers/mutate-dicom.js';
import { corpus, dcmdump, hasDcmdump, parse, temporaryDirectory } from './helpers.js';

const CT_SMALL = corpus('pydicom__pydicom/src/pydicom/data/test_files/CT_small.dcm');
const BAD_SEQUENCE = corpus('pydicom__pydicom-data/data_store/data/bad_sequence.dcm');
const GE_PET = corpus('fo-dicom__fo-dicom/Tests/FO-DICOM.Tests/Test Data/GH184.dcm');

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const tmp = (name: string) => {
  const dir = temporaryDirectory(name);
  dirs.push(dir);
  return dir;
};
function temporaryFile(bytes: Uint8Array, name: string): string {
  const path = writeTemporary(bytes, name, 'derived-source');
  dirs.push(dirname(path));
  return path;
}

async function onlySeries(path: string): Promise<Series> {
  const { series, errors } = await scanPaths([path]);
  expect(errors).toEqual([]);
  expect(series).toHaveLength(1);
  return series[0]!;
}

/** Writes slice 0 of `path` unchanged as a derived file; returns it, the writer and the source series. */
async function deriveFirst(path: string, name: string) {
  const source = await onlySeries(path);
  const writer = createDerivedSeriesWriter(source, { outDir: tmp(name), derivationDescription: 'lowdose test' });
  const file = await writer.writeSlice(0, await readSlice(source.slices[0]!));
  clearSliceCache();
  return { file, writer, source };
}

const bytesOf = (path: string) => new Uint8Array(readFileSync(path));

describe('what a derived file copies', () => {
  it('bad_sequence.dcm: a small output (909 MB before), geometry kept, its UN sequence left out and reported', async () => {
    const { file, writer, source } = await deriveFirst(BAD_SEQUENCE, 'bad-sequence');
    expect(statSync(file).size).toBeLessThan(4 * statSync(BAD_SEQUENCE).size);
    const back = await onlySeries(file);
    expect(back.spacing).toEqual(source.spacing);
    expect(back.orientation).toEqual(source.orientation);
    expect(back.slices[0]!.position).toEqual(source.slices[0]!.position);
    const dropped = writer.warnings.find((w) => w.code === 'W_VALUE_DROPPED');
    expect(dropped?.message).toMatch(/CTDIPhantomTypeCodeSequence \(0018,9346\): dropped: a UN/);
    expect(parse(file).elements.x00189346).toBeUndefined();
  });

  for (const [tag, keyword] of [
    ['x00180050', 'SliceThickness'],
    ['x00280030', 'PixelSpacing'],
    ['x00200032', 'ImagePositionPatient'],
  ] as const) {
    it(`a DS whose VR was corrupted to "D=" (${keyword}) is read as DS: same geometry as the intact file, output < 4x input`, async () => {
      const mutated = temporaryFile(withVr(bytesOf(CT_SMALL), tag, 'D='), `${keyword}.dcm`);
      const { file, writer } = await deriveFirst(mutated, `vr-${keyword}`);
      const intact = await deriveFirst(CT_SMALL, `intact-${keyword}`);
      expect(statSync(file).size).toBeLessThan(4 * statSync(mutated).size);
      const [back, clean] = [await onlySeries(file), await onlySeries(intact.file)];
      expect(back.spacing).toEqual(clean.spacing);
      expect(back.slices[0]!.position).toEqual(clean.slices[0]!.position);
      expect(parse(file).string(tag)).toBe(parse(intact.file).string(tag));
      expect(writer.warnings.map((w) => [w.code, w.message.split(':')[0]])).toContainEqual(['W_VALUE_REPAIRED', `${keyword} (${tag.slice(1, 5).toUpperCase()},${tag.slice(5).toUpperCase()})`]);
    });
  }

  it('copies only the listed attributes: unknown private blocks are left out, the GE PET factor is kept under its creator', async () => {
    const ct = await deriveFirst(CT_SMALL, 'private-ct');
    const input = parse(CT_SMALL);
    expect(input.string('x00090010')).toBe('GEMS_IDEN_01');
    const out = parse(ct.file);
    expect(Object.keys(out.elements).filter((tag) => parseInt(tag.slice(1, 5), 16) % 2 === 1)).toEqual([]);
    expect(out.string('x00100010')).toBe(input.string('x00100010'));
    const pet = await deriveFirst(GE_PET, 'private-pet');
    const petOut = parse(pet.file);
    expect(petOut.string('x00090010')).toBe('GEMS_PETD_01');
    expect(petOut.string('x0009100d')).toBe(parse(GE_PET).string('x0009100d'));
    // calculate-suv reads the same factor from input and output.
    const [before, after] = [await onlySeries(GE_PET), await onlySeries(pet.file)];
    expect(after.units).toBe('SUVbw');
    expect(after.slices[0]!.unitsScale).toBeCloseTo(before.slices[0]!.unitsScale, 10);
  });

  it('never copies a UN element over the UN limit, nor any attribute over the 64 KiB limit', async () => {
    let bytes: Uint8Array = bytesOf(CT_SMALL);
    // StudyDescription as UN of 2 KB; ImageComments (LT) of 100 KB.
    bytes = withElement(bytes, 'x00081030', encodeElement('x00081030', 'UN', 'x'.repeat(2048)));
    bytes = withElement(bytes, 'x00204000', encodeElement('x00204000', 'UT', 'y'.repeat(MAX_COPIED_ELEMENT_BYTES + 1000)));
    const path = temporaryFile(bytes, 'large.dcm');
    const { file, writer } = await deriveFirst(path, 'large');
    const out = parse(file);
    expect(out.elements.x00081030).toBeUndefined();
    expect(out.elements.x00204000).toBeUndefined();
    expect(statSync(file).size).toBeLessThan(statSync(CT_SMALL).size * 1.1);
    const messages = writer.warnings.filter((w) => w.code === 'W_VALUE_DROPPED').map((w) => w.message);
    expect(messages.some((m) => /^StudyDescription \(0008,1030\): dropped: a UN \(unknown VR\) element of 2048 bytes/.test(m))).toBe(true);
    expect(messages.some((m) => /^ImageComments \(0020,4000\): dropped: \d+ bytes, more than the 65536/.test(m))).toBe(true);
  });

  it('refuses a series whose derived header would lose its geometry (E_GEOMETRY_LOST), writing nothing', async () => {
    // A PixelSpacing the reader can use (its first two values) but too large to copy.
    const spacing = `0.661468\\0.661468${'\\1'.repeat(MAX_COPIED_ELEMENT_BYTES / 2)}`;
    const path = temporaryFile(withElement(bytesOf(CT_SMALL), 'x00280030', encodeElement('x00280030', 'UT', spacing)), 'spacing.dcm');
    const source = await onlySeries(path);
    expect(source.spacing.slice(0, 2)).toEqual([0.661468, 0.661468]);
    const dir = tmp('geometry');
    const writer = createDerivedSeriesWriter(source, { outDir: dir, derivationDescription: 'lowdose test' });
    const image = await readSliceImage(source, 0);
    let code = 'ok';
    try {
      await writer.writeSlice(0, image.data);
    } catch (error) {
      code = isLowdoseError(error) ? error.code : 'not a LowdoseError';
    }
    expect(code).toBe('E_GEOMETRY_LOST');
    expect(writer.files).toEqual([]);
  });

  it.skipIf(!hasDcmdump)('every readable CT / PT / MR series of the corpus writes a derived slice that dcmdump reads silently', async () => {
    const scan = await scanPaths([corpus('')]);
    const series = scan.series.filter((s) => ['CT', 'PT', 'MR'].includes(s.modality));
    expect(series.length).toBeGreaterThanOrEqual(40);
    const failures: string[] = [];
    for (const s of series) {
      try {
        const writer = createDerivedSeriesWriter(s, { outDir: tmp('corpus'), derivationDescription: 'lowdose corpus check' });
        const file = await writer.writeSlice(0, await readSlice(s.slices[0]!));
        const dump = dcmdump(file);
        if (dump.status !== 0 || dump.stderr !== '') failures.push(`${s.slices[0]!.file}: dcmdump ${dump.stderr}`);
      } catch (error) {
        const code = isLowdoseError(error) ? error.code : 'thrown';
        // Pixel data a codec refuses is the reader's business, not the writer's.
        if (code !== 'E_DECODE') failures.push(`${s.slices[0]!.file}: ${code} ${(error as Error).message}`);
      }
      clearSliceCache();
    }
    expect(failures).toEqual([]);
  }, 60_000);
});

describe('repairValues', () => {
  const element = (vr: string, ...values: string[]) => ({ vr, Value: values, _rawValue: values });
  it('repairs what keeps its meaning and drops what does not, saying which', () => {
    const dataset: DcmDataset = {
      '00080020': element('DA', '1993.04.30'),
      '00080030': element('TM', '11:27:24'),
      '00101010': element('AS', '22Y'),
      '00180050': element('DS', '0.12345678901234567'),
      '00200013': element('IS', '12.0'),
      '00080060': element('CS', 'TOMOSCINTIGRAFIA PET'),
      '00081030': element('LO', 'z'.repeat(70)),
      '0020000D': element('UI', `1.2.${'3'.repeat(70)}`),
      '00180060': element('DS', '1A'),
      '00100030': element('DA', '19910101'),
    };
    const repairs = repairValues(dataset);
    const value = (tag: string) => dataset[tag]!.Value;
    expect(value('00080020')).toEqual(['19930430']);
    expect(value('00080030')).toEqual(['112724']);
    expect(value('00101010')).toEqual(['022Y']);
    expect((value('00180050')![0] as string).length).toBeLessThanOrEqual(16);
    expect(Number(value('00180050')![0])).toBeCloseTo(0.123456789012346, 12);
    expect(value('00200013')).toEqual(['12']);
    expect(value('00080060')).toEqual([]);
    expect(value('00081030')).toEqual(['z'.repeat(64)]);
    expect((value('0020000D')![0] as string).startsWith('2.25.')).toBe(true);
    expect(value('00180060')).toEqual([]);
    expect(dataset['00100030']!._rawValue).toEqual(['19910101']);
    expect(repairs.filter((r) => r.action === 'dropped').map((r) => r.tag)).toEqual(['(0008,0060)', '(0018,0060)']);
    expect(repairs.filter((r) => r.action === 'repaired')).toHaveLength(7);
    // No patient-module value is quoted in a report.
    expect(repairs.find((r) => r.tag === '(0010,1010)')!.detail).not.toMatch(/22Y/);
  });

  it('maps the same over-long UID to the same new UID in every file, and keeps UIDs it can write', () => {
    const long = `1.2.${'4'.repeat(70)}`;
    const a: DcmDataset = { '0020000D': element('UI', long) };
    const b: DcmDataset = { '0020000D': element('UI', long) };
    repairValues(a);
    repairValues(b);
    expect(a['0020000D']!.Value).toEqual(b['0020000D']!.Value);
    const hexUid: DcmDataset = { '0020000D': element('UI', '05fa52f0e599f17b8186ff18fcdf2b5570a52206a75c4d03afebf5c475dc8758') };
    expect(repairValues(hexUid)).toEqual([]);
  });
});
