/**
 * A VR corrupted into a binary one, or a binary value that does not fit its VR, never reaches
 * dcmjs (src/dicom/vr-values.ts): the long fuzz pass of seed 22 (docs/robustness.md) found three
 * files that made `denoise` fail with E_INTERNAL or grow dcmjs's write buffer past 2 GiB. The
 * files here are those cases' exact bytes, rebuilt from their corpus file (the fuzzer's VR
 * mutation overwrites the two VR bytes, as withVr does), and synthetic values in CT_small.dcm.
 */
import { readFileSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import dicomParser from 'dicom-parser';
import { afterAll, describe, expect, it } from 'vitest';
import { clearSliceCache, readSlice, scanPaths, type Series } from '../../src/dicom/index.js';
import { createDerivedSeriesWriter } from '../../src/dicom/write-derived.js';
import type { DenoiseReport } from '../../src/pipeline/types.js';
import { runCli } from '../helpers/cli.js';
import { encodeElement, withElement, withVr, writeTemporary } from '../helpers/mutate-dicom.js';
import { corpus, dcmdump, hasDcmdump, parse, temporaryDirectory } from './helpers.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const bytesOf = (path: string) => new Uint8Array(readFileSync(path));
function temporaryFile(bytes: Uint8Array, name: string): string {
  const path = writeTemporary(bytes, name, 'corrupted-vr');
  dirs.push(dirname(path));
  return path;
}

/** `lowdose denoise --method gaussian --json` on one file: exit 0, one series, output checked by dcmtk and `info`. */
async function denoise(file: string): Promise<{ report: DenoiseReport; output: string }> {
  const out = temporaryDirectory('corrupted-vr-out');
  dirs.push(out);
  const cli = await runCli('denoise', file, '-o', out, '--method', 'gaussian', '--json', '--no-progress');
  expect(cli.code, cli.stderr).toBe(0);
  const report = JSON.parse(cli.stdout) as DenoiseReport;
  expect(report.errors).toEqual([]);
  const output = report.series[0]!.output.files[0]!;
  expect(statSync(output).size).toBeLessThan(4 * Math.max(statSync(file).size, 512 * 512 * 2));
  if (hasDcmdump) expect(dcmdump(output).stderr).toBe('');
  expect((await runCli('info', output, '--json')).code).toBe(0);
  return { report, output };
}

const warnings = (report: DenoiseReport, code: string) => report.series[0]!.warnings.filter((w) => w.code === code).map((w) => w.message);

const TEST_IMAGES = 'cornerstonejs__cornerstone3D/packages/dicomImageLoader/testImages/';

describe('a VR corrupted into a binary one (fuzz seed 22)', () => {
  it('case 1668: an empty ReferringPhysicianName read as UV is written as PN (was E_INTERNAL "Cannot convert 0 to a BigInt")', async () => {
    const source = corpus(`${TEST_IMAGES}CT2_J2KR`);
    const file = temporaryFile(withVr(bytesOf(source), 'x00080090', 'UV'), 'case1668.dcm');
    const { report, output } = await denoise(file);
    expect(warnings(report, 'W_VALUE_REPAIRED')).toContainEqual(expect.stringMatching(/^ReferringPhysicianName \(0008,0090\): VR "UV" in the file read as PN/));
    const ds = parse(output);
    expect(ds.elements.x00080090?.vr).toBe('PN');
    expect(ds.elements.x00080090?.length).toBe(0);
  });

  it('case 2618: a SeriesTime read as UV keeps its time as TM (dcmjs grew its buffer past 2 GiB)', async () => {
    const source = corpus(`${TEST_IMAGES}CTImage.dcm_LittleEndianExplicitTransferSyntax_1.2.840.10008.1.2.1.dcm`);
    const file = temporaryFile(withVr(bytesOf(source), 'x00080031', 'UV'), 'case2618.dcm');
    const { report, output } = await denoise(file);
    expect(warnings(report, 'W_VALUE_REPAIRED')).toContainEqual(expect.stringMatching(/^SeriesTime \(0008,0031\): VR "UV" in the file read as TM/));
    expect(parse(output).string('x00080031')).toBe(parse(source).string('x00080031'));
  });

  it('case 6420: a RotationDirection "CW" read as FD keeps its code as CS (dcmjs grew its buffer past 2 GiB)', async () => {
    const source = corpus('pydicom__pydicom/src/pydicom/data/test_files/dicomdirtests/98892001/CT2N/6293');
    const file = temporaryFile(withVr(bytesOf(source), 'x00181140', 'FD'), 'case6420.dcm');
    const { report, output } = await denoise(file);
    expect(warnings(report, 'W_VALUE_REPAIRED')).toContainEqual(expect.stringMatching(/^RotationDirection \(0018,1140\): VR "FD" in the file read as CS/));
    const ds = parse(output);
    expect(ds.elements.x00181140?.vr).toBe('CS');
    expect(ds.string('x00181140')).toBe('CW');
  });
});

const CT_SMALL = corpus('pydicom__pydicom/src/pydicom/data/test_files/CT_small.dcm');
const GE_PET = corpus('fo-dicom__fo-dicom/Tests/FO-DICOM.Tests/Test Data/GH184.dcm');

async function onlySeries(path: string): Promise<Series> {
  const { series, errors } = await scanPaths([path]);
  expect(errors).toEqual([]);
  return series[0]!;
}

async function deriveFirst(path: string) {
  const source = await onlySeries(path);
  const outDir = temporaryDirectory('corrupted-vr-derive');
  dirs.push(outDir);
  const writer = createDerivedSeriesWriter(source, { outDir, derivationDescription: 'lowdose test' });
  const file = await writer.writeSlice(0, await readSlice(source.slices[0]!));
  clearSliceCache();
  return { file, writer };
}

function float64(value: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setFloat64(0, value, true);
  return out;
}

describe('binary values of copied attributes', () => {
  it('drops a non-finite FD and an FD of 4 bytes (W_VALUE_DROPPED), and leaves an empty FD empty (dcmjs reads it as 0)', async () => {
    let bytes: Uint8Array = bytesOf(CT_SMALL);
    bytes = withElement(bytes, 'x00189345', encodeElement('x00189345', 'FD', float64(Number.NaN))); // CTDIvol
    bytes = withElement(bytes, 'x00189311', encodeElement('x00189311', 'FD', new Uint8Array(0))); // SpiralPitchFactor
    bytes = withElement(bytes, 'x00189309', encodeElement('x00189309', 'FD', new Uint8Array(4))); // TableSpeed
    const { file, writer } = await deriveFirst(temporaryFile(bytes, 'binary.dcm'));
    const out = parse(file);
    expect(out.elements.x00189345).toBeUndefined();
    expect(out.elements.x00189311?.length).toBe(0);
    expect(out.elements.x00189309).toBeUndefined();
    const dropped = writer.warnings.filter((w) => w.code === 'W_VALUE_DROPPED').map((w) => w.message);
    expect(dropped).toContainEqual(expect.stringMatching(/^CTDIvol \(0018,9345\): dropped: VR "FD": as FD: a FD value that is not a finite number \(NaN\)/));
    expect(dropped).toContainEqual(expect.stringMatching(/^TableSpeed \(0018,9309\): dropped: VR "FD": as FD: 4 bytes are not a whole number of FD values/));
    if (hasDcmdump) expect(dcmdump(file).stderr).toBe('');
  });

  it('ImageOrientationPatient under a VR corrupted to DA is read as DS: the orientation is kept, not E_GEOMETRY_LOST (fuzz seed 23, case 2065)', async () => {
    const path = temporaryFile(withVr(bytesOf(CT_SMALL), 'x00200037', 'DA'), 'orientation-da.dcm');
    const { file, writer } = await deriveFirst(path);
    expect((await onlySeries(file)).orientation).toEqual((await onlySeries(CT_SMALL)).orientation);
    expect(writer.warnings.map((w) => w.message)).toContainEqual(expect.stringMatching(/^ImageOrientationPatient \(0020,0037\): VR "DA" in the file read as DS/));
  });

  it('keeps a finite FD value exactly', async () => {
    const bytes = withElement(bytesOf(CT_SMALL), 'x00189345', encodeElement('x00189345', 'FD', float64(12.5)));
    const { file, writer } = await deriveFirst(temporaryFile(bytes, 'ctdi.dcm'));
    expect(parse(file).double('x00189345')).toBe(12.5);
    expect(writer.warnings.filter((w) => w.message.includes('(0018,9345)'))).toEqual([]);
  });

  it('a nested element of a copied sequence read as UV is patched to its dictionary VR in place; SUV is unchanged', async () => {
    const bytes = bytesOf(GE_PET);
    const ds = dicomParser.parseDicom(bytes, { untilTag: 'x7fe00010' });
    const nested = ds.elements.x00540016!.items![0]!.dataSet!.elements.x00181072!; // RadiopharmaceuticalStartTime, TM
    const mutated = bytes.slice();
    mutated.set([0x55, 0x56], nested.dataOffset - 4); // "UV" over the short header's VR
    const path = temporaryFile(mutated, 'nested-uv.dcm');
    const [before, after] = [await onlySeries(GE_PET), await onlySeries(path)];
    expect(after.slices[0]!.unitsScale).toBe(before.slices[0]!.unitsScale);
    const { file, writer } = await deriveFirst(path);
    expect(statSync(file).size).toBeLessThan(2 * statSync(GE_PET).size);
    const item = parse(file).elements.x00540016!.items![0]!.dataSet!;
    expect(item.elements.x00181072?.vr).toBe('TM');
    expect(item.string('x00181072')).toBe('093200.00');
    expect(writer.warnings.map((w) => w.message)).toContainEqual(
      expect.stringMatching(/^RadiopharmaceuticalInformationSequence \(0054,0016\): VR "UV" in the file read as TM \(nested element \(0018,1072\)\)/),
    );
    expect((await onlySeries(file)).units).toBe('SUVbw');
  });

  it('a nested number VR on a text attribute is read as the text VR when the bytes are text, else the sequence’s items are left out', async () => {
    const bytes = bytesOf(GE_PET);
    const ds = dicomParser.parseDicom(bytes, { untilTag: 'x7fe00010' });
    const item = ds.elements.x00540016!.items![0]!.dataSet!;
    const volume = item.elements.x00181071!; // RadiopharmaceuticalVolume, DS "0 "
    const start = item.elements.x00181072!; // RadiopharmaceuticalStartTime, TM "093200.00 "
    const text = bytes.slice();
    text.set([0x46, 0x44], volume.dataOffset - 4); // "FD": 2 bytes are no FD
    const repaired = await deriveFirst(temporaryFile(text, 'nested-fd.dcm'));
    expect(parse(repaired.file).elements.x00540016!.items![0]!.dataSet!.string('x00181071')).toBe('0');
    expect(repaired.writer.warnings.map((w) => w.message)).toContainEqual(expect.stringMatching(/VR "FD" in the file read as DS \(nested element \(0018,1071\)\)/));

    const garbage = bytes.slice();
    garbage.set([0x46, 0x44], start.dataOffset - 4);
    garbage.fill(0x01, start.dataOffset, start.dataOffset + start.length); // 10 control bytes: neither FD nor TM
    const dropped = await deriveFirst(temporaryFile(garbage, 'nested-garbage.dcm'));
    // Its items are left out; the sequence itself is Type 2 in the PET Isotope module, so it stays, empty.
    expect(parse(dropped.file).elements.x00540016!.items ?? []).toEqual([]);
    expect(dropped.writer.warnings.filter((w) => w.code === 'W_VALUE_DROPPED').map((w) => w.message)).toContainEqual(
      expect.stringMatching(/^RadiopharmaceuticalInformationSequence \(0054,0016\): dropped: a nested element \(0018,1072\): VR "FD": as TM: 10 bytes that are not TM text; as FD: 10 bytes/),
    );
  });
});
