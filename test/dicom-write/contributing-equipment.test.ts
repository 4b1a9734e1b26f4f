/**
 * Every derived series names lowdose in the Contributing Equipment Sequence (0018,A001): real
 * ../shared/dicom files in (CT and PET), the item read back with dicom-parser (not our reader) and
 * dcmtk, the source's own items kept before it, and the General Equipment module left the scanner's.
 * Skipped when ../shared/dicom is absent.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { clearSliceCache, readSlice, scanPaths, type Series } from '../../src/dicom/index.js';
import { createDerivedSeriesWriter, type DerivedSeriesOptions } from '../../src/dicom/write-derived.js';
import { packageVersion } from '../../src/util/package-root.js';
import { CORPUS, corpus, dcmdump, hasDcmdump, parse, temporaryDirectories, type DataSet } from './helpers.js';

const CT_3SLICE = corpus('QIICR__dcmqi/data/segmentations/ct-3slice');
const PET = corpus('suyashkumar__dicom/testdata/1.dcm');
const WHEN = new Date(2026, 0, 2, 3, 4, 5, 678);
const DESCRIPTION = 'lowdose diffusion model lowdose-ct, steps 4, seed 1 (unit test)';

const tmp = temporaryDirectories();

async function onlySeries(path: string): Promise<Series> {
  const { series, errors } = await scanPaths([path]);
  expect(errors).toEqual([]);
  expect(series).toHaveLength(1);
  return series[0]!;
}

/** Writes every slice of `path` unchanged through the derived writer; returns the files. */
async function derive(path: string, options: Omit<DerivedSeriesOptions, 'outDir'>): Promise<string[]> {
  const source = await onlySeries(path);
  const writer = createDerivedSeriesWriter(source, { outDir: tmp('equipment'), ...options });
  for (let k = 0; k < source.slices.length; k++) await writer.writeSlice(k, await readSlice(source.slices[k]!));
  clearSliceCache();
  return writer.files;
}

function items(ds: DataSet): DataSet[] {
  return (ds.elements.x0018a001?.items ?? []).map((item) => item.dataSet!);
}

/** An item as plain text values, read with dicom-parser. */
function itemValues(item: DataSet) {
  const purpose = item.elements.x0040a170!.items!.map((i) => i.dataSet!);
  return {
    manufacturer: item.string('x00080070'),
    modelName: item.string('x00081090'),
    softwareVersions: (item.string('x00181020') === undefined ? '' : readText(item, 'x00181020')).split('\\'),
    dateTime: item.string('x0018a002'),
    description: item.elements.x0018a003 ? readText(item, 'x0018a003') : undefined,
    purpose: purpose.map((p) => [p.string('x00080100'), p.string('x00080102'), p.string('x00080104')]),
  };
}

/** The whole value of a multi-valued or long text element (dicom-parser's string() gives the first value). */
function readText(ds: DataSet, tag: string): string {
  const e = ds.elements[tag]!;
  return Buffer.from(ds.byteArray.slice(e.dataOffset, e.dataOffset + e.length)).toString('latin1').replace(/[\0 ]+$/, '');
}

describe.skipIf(!existsSync(CORPUS))('Contributing Equipment Sequence of a derived series (real ../shared/dicom files)', () => {
  it('names lowdose, the model, its fingerprint, the time and the derivation as processing equipment (109102) in every CT file, and leaves General Equipment the scanner\'s', async () => {
    const files = await derive(CT_3SLICE, {
      derivationDescription: DESCRIPTION,
      equipment: { modelName: 'lowdose-ct', softwareVersions: ['model sha256:0123456789abcdef'] },
      now: WHEN,
    });
    expect(files).toHaveLength(3);
    for (const file of files) {
      const ds = parse(file);
      const list = items(ds);
      expect(list).toHaveLength(1);
      expect(itemValues(list[0]!)).toEqual({
        manufacturer: 'lowdose',
        modelName: 'lowdose-ct',
        softwareVersions: [`lowdose ${packageVersion()}`, 'model sha256:0123456789abcdef'],
        dateTime: expect.stringMatching(/^20260102030405\.678000[+-]\d{4}$/),
        description: DESCRIPTION,
        purpose: [['109102', 'DCM', 'Processing Equipment']],
      });
      // The acquiring scanner stays in General Equipment.
      expect(ds.string('x00080070')).toBe('GE MEDICAL SYSTEMS');
      expect(ds.string('x00081090')).toBe('LightSpeed Ultra');
    }
  });

  it('keeps the items a PET source already lists and appends its own after them', async () => {
    // A real PET file with an item of its own (a de-identifier), made in a temporary folder.
    const dcmjs = createRequire(import.meta.url)('dcmjs');
    dcmjs.log.setLevel('silent');
    const bytes = readFileSync(PET);
    const message = dcmjs.data.DicomMessage.readFile(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    const theirs = {
      '00080070': { vr: 'LO', Value: ['Acme Anonymizer'] },
      '00181020': { vr: 'LO', Value: ['4.2'] },
      '0040A170': {
        vr: 'SQ',
        Value: [{ '00080100': { vr: 'SH', Value: ['109104'] }, '00080102': { vr: 'SH', Value: ['DCM'] }, '00080104': { vr: 'LO', Value: ['De-identifying Equipment'] } }],
      },
    };
    message.dict['0018A001'] = { vr: 'SQ', Value: [theirs] };
    const dir = tmp('pet-source');
    mkdirSync(join(dir, 'pet'));
    writeFileSync(join(dir, 'pet', '1.dcm'), Buffer.from(message.write()));

    const [file] = await derive(join(dir, 'pet'), {
      derivationDescription: 'lowdose diffusion model lowdose-pet (unit test)',
      equipment: { modelName: 'lowdose-pet', softwareVersions: ['model sha256:fedcba9876543210'] },
      now: WHEN,
    });
    const list = items(parse(file!));
    expect(list).toHaveLength(2);
    expect(list[0]!.string('x00080070')).toBe('Acme Anonymizer');
    expect(list[0]!.string('x00181020')).toBe('4.2');
    expect(itemValues(list[0]!).purpose).toEqual([['109104', 'DCM', 'De-identifying Equipment']]);
    expect(itemValues(list[1]!)).toMatchObject({
      manufacturer: 'lowdose',
      modelName: 'lowdose-pet',
      softwareVersions: [`lowdose ${packageVersion()}`, 'model sha256:fedcba9876543210'],
      purpose: [['109102', 'DCM', 'Processing Equipment']],
    });
  });

  it('leaves out ContributionDateTime when the writer must not depend on the clock (now: null), and cuts the description to the 1024 characters of ST', async () => {
    const long = `lowdose test ${'x'.repeat(1500)}`;
    const [first, second] = await Promise.all([
      derive(PET, { derivationDescription: long, now: null, uidSeed: 'equipment-test' }),
      derive(PET, { derivationDescription: long, now: null, uidSeed: 'equipment-test' }),
    ]);
    const values = itemValues(items(parse(first![0]!))[0]!);
    expect(values.dateTime).toBeUndefined();
    expect(values.description).toBe(long.slice(0, 1024));
    // Without a writer's equipment: the toolkit alone.
    expect(values.modelName).toBe('lowdose');
    expect(values.softwareVersions).toEqual([`lowdose ${packageVersion()}`]);
    // Still the same bytes on a second write (simulate's reproducible outputs).
    expect(readFileSync(first![0]!).equals(readFileSync(second![0]!))).toBe(true);
  });

  it('states in every file, next to the completion marker it names, how many files the series has, without changing any UID or pixel', async () => {
    const marked = await derive(CT_3SLICE, {
      derivationDescription: DESCRIPTION,
      equipment: { modelName: 'lowdose-ct', softwareVersions: ['model sha256:0123456789abcdef', 'completion marker .lowdose-complete.json'] },
      now: null,
      uidSeed: 'stated-count',
    });
    const plain = await derive(CT_3SLICE, { derivationDescription: DESCRIPTION, equipment: { modelName: 'lowdose-ct', softwareVersions: ['model sha256:0123456789abcdef'] }, now: null, uidSeed: 'stated-count' });
    expect(marked).toHaveLength(3);
    for (const [k, file] of marked.entries()) {
      const ds = parse(file);
      expect(itemValues(items(ds)[0]!).softwareVersions).toEqual([`lowdose ${packageVersion()}`, 'model sha256:0123456789abcdef', 'completion marker .lowdose-complete.json', 'series of 3 files numbered 1-3']);
      expect(ds.string('x00200013')).toBe(String(k + 1));
      // The same series and instance UIDs and pixels as the series written without a marker: the count is in no UID.
      const other = parse(plain[k]!);
      for (const tag of ['x0020000e', 'x00080018']) expect(ds.string(tag), tag).toBe(other.string(tag));
      const pixels = (d: DataSet) => Buffer.from(d.byteArray.slice(d.elements.x7fe00010!.dataOffset, d.elements.x7fe00010!.dataOffset + d.elements.x7fe00010!.length));
      expect(pixels(ds).equals(pixels(other))).toBe(true);
    }
  });

  it.skipIf(!hasDcmdump)('dcmdump reads the item with its marker and count without a warning (skipped without dcmtk)', async () => {
    const [file] = await derive(PET, { derivationDescription: DESCRIPTION, equipment: { modelName: 'lowdose-pet', softwareVersions: ['completion marker ../../.lowdose-complete.json'] }, now: WHEN });
    const dump = dcmdump(file!);
    expect(dump.status).toBe(0);
    expect(dump.stderr).toBe('');
    // Three LO values (dcmdump cuts long text short): the version, the marker's name, the count.
    expect(dump.stdout).toMatch(/\(0018,1020\) LO \[lowdose [^\]]*completion marker \.\.\/\.\.\/\.lowdose-complete\.json\\seri.* #\s+\d+, 3 SoftwareVersions/);
  });

  it.skipIf(!hasDcmdump)('dcmdump reads the item without a warning (skipped without dcmtk)', async () => {
    const [file] = await derive(PET, { derivationDescription: DESCRIPTION, equipment: { modelName: 'lowdose-pet' }, now: WHEN });
    const dump = dcmdump(file!);
    expect(dump.status).toBe(0);
    expect(dump.stderr).toBe('');
    expect(dump.stdout).toMatch(/\(0018,a001\) SQ/);
    expect(dump.stdout).toMatch(/\(0008,0100\) SH \[109102\]/);
    expect(dump.stdout).toMatch(/\(0008,1090\) LO \[lowdose-pet\]/);
  });
});
