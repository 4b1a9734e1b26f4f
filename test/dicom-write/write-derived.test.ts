/**
 * createDerivedSeriesWriter on real source files: a processed copy is a new series in the same
 * study with the listed patient, study, geometry and PET attributes kept, values within quantization,
 * readable by our reader, dicom-parser and dcmtk; the inputs are not touched.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { calculateSUVScalingFactors } from '@cornerstonejs/calculate-suv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clearSliceCache, readSlice, scanPaths, type Series } from '../../src/dicom/index.js';
import { isValidUid } from '../../src/dicom/uid.js';
import { createDerivedSeriesWriter } from '../../src/dicom/write-derived.js';
import { encodeElement, withElement, writeTemporary } from '../helpers/mutate-dicom.js';
import { corpus, dcmdump, hasDcmdump, modalityValues, parse, petMetadata, sha256, storedValues, temporaryDirectory } from './helpers.js';

const CT_3SLICE = corpus('QIICR__dcmqi/data/segmentations/ct-3slice');
const CT_JPEG_LS = corpus('cornerstonejs__cornerstone3D/packages/dicomImageLoader/testImages/CTImage.dcm_JPEGLSLosslessTransferSyntax_1.2.840.10008.1.2.4.80.dcm');
const PET = corpus('suyashkumar__dicom/testdata/1.dcm');
const ENHANCED_CT = corpus('pydicom__pydicom-data/data_store/data/eCT_Supplemental.dcm');
const SOURCES = [
  ...['01.dcm', '02.dcm', '03.dcm'].map((f) => `${CT_3SLICE}/${f}`),
  CT_JPEG_LS,
  PET,
  ENHANCED_CT,
];

const dirs: string[] = [];
const tmp = (name: string) => {
  const dir = temporaryDirectory(name);
  dirs.push(dir);
  return dir;
};
const hashesBefore = new Map<string, string>();
beforeAll(() => SOURCES.forEach((f) => hashesBefore.set(f, sha256(f))));
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function onlySeries(path: string): Promise<Series> {
  const { series, errors } = await scanPaths([path]);
  expect(errors).toEqual([]);
  expect(series).toHaveLength(1);
  return series[0]!;
}

/** Writes `transform(values)` for every slice of `source`; returns the writer and what was written. */
async function derive(source: Series, transform: (values: Float32Array, index: number) => Float32Array, name: string) {
  const writer = createDerivedSeriesWriter(source, {
    outDir: tmp(name),
    derivationDescription: 'lowdose test: model=unit-test steps=4 seed=1',
    seriesDescriptionSuffix: ' [denoised]',
  });
  const written: Float32Array[] = [];
  for (let k = 0; k < source.slices.length; k++) {
    const values = transform(await readSlice(source.slices[k]!), k);
    written.push(values);
    await writer.writeSlice(k, values);
  }
  clearSliceCache();
  return { writer, written };
}

describe('derived CT series from an implicit VR source (ct-3slice)', () => {
  let source: Series;
  let result: Awaited<ReturnType<typeof derive>>;
  beforeAll(async () => {
    source = await onlySeries(CT_3SLICE);
    // A float result, as a denoiser produces: fractions of an HU everywhere.
    result = await derive(source, (v, k) => Float32Array.from(v, (x, i) => x + 0.37 + 0.01 * ((i + k) % 7)), 'ct3');
  });

  it('reads back through our reader within 0.05 HU, same geometry, new series', async () => {
    const back = await onlySeries(result.writer.dir);
    expect(back.seriesInstanceUid).toBe(result.writer.seriesInstanceUid);
    expect(back.studyInstanceUid).toBe(source.studyInstanceUid);
    expect(back.units).toBe('HU');
    expect(back.slices).toHaveLength(3);
    expect(back.orientation).toEqual(source.orientation);
    back.slices.forEach((slice, k) => expect(slice.position).toEqual(source.slices[k]!.position));
    for (let k = 0; k < 3; k++) {
      const values = await readSlice(back.slices[k]!);
      let worst = 0;
      for (let i = 0; i < values.length; i++) worst = Math.max(worst, Math.abs(values[i]! - result.written[k]![i]!));
      // Half the 0.1 HU step, plus float32 rounding of values up to ~3000 HU.
      expect(worst).toBeLessThanOrEqual(0.05 + 3e-4);
    }
  });

  it('keeps patient, study and frame of reference; marks the images DERIVED with a description', () => {
    result.writer.files.forEach((file, k) => {
      const out = parse(file);
      const input = parse(source.slices[k]!.file);
      for (const tag of ['x00100010', 'x00100020', 'x00100030', 'x00100040', 'x0020000d', 'x00200052', 'x00080020', 'x00080050', 'x00200032', 'x00200037', 'x00280030', 'x00180050']) {
        expect(out.string(tag), tag).toBe(input.string(tag));
      }
      expect(out.string('x00020010')).toBe('1.2.840.10008.1.2.1');
      expect(out.string('x00080008')!.startsWith('DERIVED\\SECONDARY')).toBe(true);
      expect(out.string('x00082111')).toBe('lowdose test: model=unit-test steps=4 seed=1');
      expect(out.string('x0008103e')).toBe(`${input.string('x0008103e') ?? ''} [denoised]`.trim());
      expect(out.intString('x00200011')).not.toBe(input.intString('x00200011'));
      expect(out.uint16('x00280100')).toBe(16);
      expect(out.string('x00280004')).toBe('MONOCHROME2');
      // The source instance is referenced.
      expect(out.elements.x00082112!.items![0]!.dataSet!.string('x00081155')).toBe(input.string('x00080018'));
    });
  });

  it('gives new, valid, distinct UIDs', () => {
    const sops = result.writer.files.map((f) => parse(f).string('x00080018')!);
    const inputs = source.slices.map((s) => s.sopInstanceUid);
    expect(new Set(sops).size).toBe(sops.length);
    for (const uid of [...sops, result.writer.seriesInstanceUid]) expect(isValidUid(uid), uid).toBe(true);
    expect(sops.some((u) => inputs.includes(u))).toBe(false);
    expect(result.writer.seriesInstanceUid).not.toBe(source.seriesInstanceUid);
    result.writer.files.forEach((f) => expect(parse(f).string('x00020003')).toBe(parse(f).string('x00080018')));
  });

  it('leaves no temporary files and refuses to overwrite', async () => {
    expect(readdirSync(result.writer.dir).sort()).toEqual(['IM0001.dcm', 'IM0002.dcm', 'IM0003.dcm']);
    expect(() =>
      createDerivedSeriesWriter(source, { outDir: result.writer.dir, derivationDescription: 'again' }),
    ).toThrow(expect.objectContaining({ code: 'E_EXISTS' }));
  });

  it('with a uidSeed derives the UIDs: the same seed and pixels give the same UIDs and bytes, other pixels other instance UIDs, and now: null leaves out the creation time', async () => {
    const write = async (name: string, seed: string, offset: number) => {
      const writer = createDerivedSeriesWriter(source, { outDir: tmp(name), derivationDescription: 'lowdose test', uidSeed: seed, now: null });
      for (let k = 0; k < source.slices.length; k++) await writer.writeSlice(k, Float32Array.from(await readSlice(source.slices[k]!), (x) => x + offset));
      clearSliceCache();
      return { writer, sops: writer.files.map((f) => parse(f).string('x00080018')!) };
    };
    const a = await write('seeded-a', 'seed one', 0.5);
    const b = await write('seeded-b', 'seed one', 0.5);
    const shifted = await write('seeded-shifted', 'seed one', 1.5);
    const other = await write('seeded-other', 'seed two', 0.5);
    expect(b.writer.seriesInstanceUid).toBe(a.writer.seriesInstanceUid);
    expect(b.sops).toEqual(a.sops);
    expect(b.writer.files.map(sha256)).toEqual(a.writer.files.map(sha256));
    // Same seed, other pixels: the series UID is the seed's, every instance UID is new.
    expect(shifted.writer.seriesInstanceUid).toBe(a.writer.seriesInstanceUid);
    expect(shifted.sops.filter((u) => a.sops.includes(u))).toEqual([]);
    expect(other.writer.seriesInstanceUid).not.toBe(a.writer.seriesInstanceUid);
    expect(other.sops.filter((u) => a.sops.includes(u))).toEqual([]);
    for (const uid of [...a.sops, a.writer.seriesInstanceUid]) expect(isValidUid(uid), uid).toBe(true);
    expect(new Set(a.sops).size).toBe(a.sops.length);
    expect(parse(a.writer.files[0]!).string('x00080012')).toBeUndefined();
    expect(parse(result.writer.files[0]!).string('x00080012')).toMatch(/^\d{8}$/);
  });

  it('rejects a slice of the wrong size', async () => {
    const writer = createDerivedSeriesWriter(source, { outDir: tmp('wrong-size'), derivationDescription: 'x' });
    await expect(writer.writeSlice(0, new Float32Array(10))).rejects.toMatchObject({ code: 'E_INTERNAL' });
  });

  it('keeps padding declared when padding pixels come through unchanged', async () => {
    const kept = await derive(source, (v) => Float32Array.from(v, (x) => (x <= -3024 ? x : x + 0.25)), 'padding');
    const out = parse(kept.writer.files[0]!);
    const stored = out.int16('x00280120');
    expect(stored).toBeDefined();
    const slope = out.floatString('x00281053')!;
    const intercept = out.floatString('x00281052')!;
    expect(stored! * slope + intercept).toBe(-3024);
  });
});

describe('derived series from a JPEG-LS compressed CT', () => {
  it('writes uncompressed explicit VR and reuses the input rescale for unchanged integer data', async () => {
    const source = await onlySeries(CT_JPEG_LS);
    const { writer, written } = await derive(source, (v) => v, 'jpegls');
    const out = parse(writer.files[0]!);
    expect(out.string('x00020010')).toBe('1.2.840.10008.1.2.1');
    expect(out.floatString('x00281053')).toBe(source.slices[0]!.rescaleSlope);
    expect(out.floatString('x00281052')).toBe(source.slices[0]!.rescaleIntercept);
    const values = modalityValues(out);
    for (let i = 0; i < values.length; i++) expect(values[i]).toBe(written[0]![i]);
  });
});

describe('derived PET series (SUVbw)', () => {
  it('stores activity again, keeps the SUV factor, and leaves out private tags it does not know', async () => {
    const source = await onlySeries(PET);
    expect(source.units).toBe('SUVbw');
    const { writer, written } = await derive(source, (v) => Float32Array.from(v, (x) => x * 0.8 + 0.013), 'pet');
    const input = parse(PET);
    const out = parse(writer.files[0]!);
    const [before] = calculateSUVScalingFactors([petMetadata(input)]);
    const [after] = calculateSUVScalingFactors([petMetadata(out)]);
    expect(after!.suvbw).toBe(before!.suvbw);
    expect(out.string('x00541001')).toBe('BQML');
    expect(out.string('x00080016')).toBe('1.2.840.10008.5.1.4.1.1.128');
    // Only the listed attributes are copied (src/dicom/derived-attributes.ts): this file's private
    // blocks (CTP, Siemens CSA) are not among them.
    expect(input.string('x00130010')).toBe('CTP');
    expect(out.elements.x00130010).toBeUndefined();
    expect(out.elements.x00290010).toBeUndefined();
    // SUV values round-trip within the 16-bit quantization of this slice.
    const back = await onlySeries(writer.dir);
    expect(back.units).toBe('SUVbw');
    expect(back.slices[0]!.unitsScale).toBeCloseTo(source.slices[0]!.unitsScale, 12);
    const values = await readSlice(back.slices[0]!);
    const peak = Math.max(...written[0]!);
    let worst = 0;
    for (let i = 0; i < values.length; i++) worst = Math.max(worst, Math.abs(values[i]! - written[0]![i]!));
    expect(worst).toBeLessThanOrEqual(peak / 65535);
    // Stored activity, not SUV: the rescale maps back to Bq/ml.
    expect(Math.max(...storedValues(out)) * out.floatString('x00281053')!).toBeCloseTo(peak / source.slices[0]!.unitsScale, -1);
  });
});

describe('derived PET series keep what their SUV is computed from', () => {
  /** The ACRIN slice with `edit` applied to its bytes, written to a temporary folder. */
  function variant(edit: (bytes: Uint8Array) => Uint8Array, name: string): string {
    const path = writeTemporary(edit(new Uint8Array(readFileSync(PET))), 'pet.dcm', name);
    dirs.push(dirname(path));
    return path;
  }

  it('a Philips series in counts: Units CNTS and the private SUV scale factor, so it reads the same SUV again', async () => {
    const path = variant(
      (b) =>
        [
          ['x00541001', encodeElement('x00541001', 'CS', 'CNTS')],
          ['x70530010', encodeElement('x70530010', 'LO', 'Philips PET Private Group')],
          ['x70531000', encodeElement('x70531000', 'DS', '0.000551')],
          ['x70531009', encodeElement('x70531009', 'DS', '1.602563')],
        ].reduce((bytes, [tag, element]) => withElement(bytes, tag as string, element as Uint8Array), b),
      'philips',
    );
    const source = await onlySeries(path);
    expect([source.units, source.slices[0]!.unitsScale]).toEqual(['SUVbw', 0.000551]);
    const { writer, written } = await derive(source, (v) => Float32Array.from(v, (x) => x * 0.8 + 0.013), 'philips-out');
    const out = parse(writer.files[0]!);
    expect(out.string('x00541001')).toBe('CNTS');
    expect([out.string('x70530010'), out.floatString('x70531000'), out.floatString('x70531009')]).toEqual(['Philips PET Private Group', 0.000551, 1.602563]);
    const back = await onlySeries(writer.dir);
    expect([back.units, back.slices[0]!.unitsScale]).toEqual(['SUVbw', 0.000551]);
    const values = await readSlice(back.slices[0]!);
    const peak = Math.max(...written[0]!);
    for (let i = 0; i < values.length; i++) expect(Math.abs(values[i]! - written[0]![i]!)).toBeLessThanOrEqual(peak / 65535);
  });

  it('a series decay-corrected to the administration: DecayCorrection ADMIN kept, SUV = activity x weight / dose as injected', async () => {
    const path = variant((b) => withElement(b, 'x00541102', encodeElement('x00541102', 'CS', 'ADMIN')), 'admin');
    const source = await onlySeries(path);
    const input = parse(path);
    const drug = input.elements.x00540016!.items![0]!.dataSet!;
    const undecayed = (input.floatString('x00101030')! * 1000) / drug.floatString('x00181074')!;
    expect(source.units).toBe('SUVbw');
    expect(Math.abs(source.slices[0]!.unitsScale - undecayed) / undecayed).toBeLessThan(1e-12);
    const { writer } = await derive(source, (v) => v, 'admin-out');
    const out = parse(writer.files[0]!);
    expect(out.string('x00541102')).toBe('ADMIN');
    const back = await onlySeries(writer.dir);
    expect(Math.abs(back.slices[0]!.unitsScale - undecayed) / undecayed).toBeLessThan(1e-12);
  });
});

describe('derived series from an enhanced multi-frame CT', () => {
  it('writes one single-frame CT Image per frame with that frame’s geometry', async () => {
    const source = await onlySeries(ENHANCED_CT);
    expect(source.slices).toHaveLength(2);
    const { writer } = await derive(source, (v) => Float32Array.from(v, (x) => x - 0.5), 'enhanced');
    expect(writer.files).toHaveLength(2);
    const back = await onlySeries(writer.dir);
    expect(back.slices).toHaveLength(2);
    writer.files.forEach((file, k) => {
      const out = parse(file);
      expect(out.string('x00080016')).toBe('1.2.840.10008.5.1.4.1.1.2');
      expect(out.elements.x52009230).toBeUndefined();
      expect(out.elements.x00280008).toBeUndefined();
      const position = [0, 1, 2].map((i) => out.floatString('x00200032', i)!);
      const expected = source.slices[k]!.position!;
      position.forEach((p, i) => expect(p).toBeCloseTo(expected[i]!, 4));
      expect(out.elements.x00082112!.items![0]!.dataSet!.intString('x00081160')).toBe(source.slices[k]!.frame + 1);
    });
    expect(back.slices[0]!.position).not.toEqual(back.slices[1]!.position);
  });
});

describe('outputs and inputs', () => {
  it.skipIf(!hasDcmdump)('dcmdump reads every derived file without a warning (skipped without dcmtk)', () => {
    const files = dirs.flatMap((d) => readdirSync(d).filter((f) => f.endsWith('.dcm')).map((f) => `${d}/${f}`));
    expect(files.length).toBeGreaterThanOrEqual(9);
    for (const file of files) {
      const result = dcmdump(file);
      expect(result.status, file).toBe(0);
      expect(result.stderr, file).toBe('');
    }
  });

  it('leaves every input file byte-identical', () => {
    for (const [file, hash] of hashesBefore) expect(sha256(file), file).toBe(hash);
  });
});
