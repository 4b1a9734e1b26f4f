/**
 * A rerun into the same -o skips a finished series only when it is made from the same input: the
 * completion marker records each slice's SOPInstanceUID, the sha256 of what was read of it and the
 * sha256 of the header attributes its derived slice carries (`input.content`,
 * src/pipeline/input-content.ts), and a slice whose pixels or header changed under the same UIDs,
 * a slice removed or one added is E_EXISTS for that series (exit 1), naming what differs (for a
 * header, the attribute keywords, never the values) and --overwrite, the finished output left as it
 * was. The same objects in another folder, another transfer syntax and another file meta (as a
 * PACS pull writes them) are the same input. On copies of real Mayo slices (../shared/ldct-mayo),
 * a real enhanced CT in five encodings (../shared/dicom), the IEC PET fixture (fixtures/iec) and
 * make-pet-timing.py's dynamic PET, changed with pydicom.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import type { DenoiseOptions, DenoiseReport } from '../../src/pipeline/types.js';
import { runCli } from '../helpers/cli.js';
import { hasPydicom, makePetTiming } from '../helpers/pet-timing.js';

const MAYO = fileURLToPath(new URL('../../../shared/ldct-mayo/L192/B30f/quarter', import.meta.url));
const PYTHON = '/usr/bin/python3';
const root = mkdtempSync(path.join(tmpdir(), 'lowdose-rerun-input-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Runs a pydicom snippet with `d` the data set of `file`, saved back in place (or to `to`). */
function pydicom(file: string, code: string, to = file): void {
  const script = `import sys, pydicom, numpy as np\nfrom pydicom.uid import generate_uid\nd = pydicom.dcmread(sys.argv[1])\n${code}\nd.save_as(sys.argv[2])`;
  execFileSync(PYTHON, ['-c', script, file, to], { stdio: 'pipe' });
}

/** Adds 1 to one pixel of the file's stored values, nothing else (same UIDs, same headers). */
const changeOnePixel = (file: string) => pydicom(file, 'a = d.pixel_array.copy(); a.flat[a.size // 2] += 1; d.PixelData = a.tobytes()');

const hashes = (dir: string) =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.dcm'))
    .map((e) => createHash('sha256').update(readFileSync(path.join(e.parentPath, e.name))).digest('hex'))
    .sort();

const denoise = (input: string, out: string, extra: Partial<DenoiseOptions> = {}) => denoisePaths([input], { outDir: out, method: 'gaussian', ...extra });

describe.runIf(existsSync(MAYO) && hasPydicom)('denoise rerun of a series whose input changed (Mayo L192 quarter dose)', () => {
  let input = '';
  let out = '';
  let first: DenoiseReport;
  beforeEach(async () => {
    const dir = mkdtempSync(path.join(root, 'mayo-'));
    input = path.join(dir, 'in');
    out = path.join(dir, 'out');
    cpSync(MAYO, input, { recursive: true });
    for (const name of readdirSync(input)) execFileSync('chmod', ['u+w', path.join(input, name)]);
    first = await denoise(input, out);
    expect(first.errors).toEqual([]);
  });

  it('records each slice\'s SOPInstanceUID and sha256 in the completion marker, and the unchanged input skips', async () => {
    const marker = JSON.parse(readFileSync(path.join(first.series[0]!.output.dir, '.lowdose-complete.json'), 'utf8')) as DenoiseReport['series'][number];
    expect(marker.input.content?.slices).toHaveLength(7);
    expect(marker.input.content?.slices.every((s) => /^[0-9a-f]{64}$/.test(s.sha256))).toBe(true);
    const again = await denoise(input, out);
    expect([again.errors, again.series.map((s) => s.skipped)]).toEqual([[], [true]]);
  });

  it('one pixel changed under the same UIDs: E_EXISTS naming the changed slice, the output untouched; --overwrite redoes it, and that skips after', async () => {
    const before = hashes(out);
    const changed = path.join(input, '003.IMA');
    const uid = execFileSync(PYTHON, ['-c', 'import sys, pydicom; print(pydicom.dcmread(sys.argv[1]).SOPInstanceUID)', changed], { encoding: 'utf8' }).trim();
    changeOnePixel(changed);

    const run = await runCli('denoise', input, '-o', out, '--method', 'gaussian', '--json', '--no-progress');
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout) as DenoiseReport;
    expect(report.series).toEqual([]);
    expect(report.errors).toEqual([expect.objectContaining({ code: 'E_EXISTS', path: first.series[0]!.output.dir })]);
    expect(report.errors[0]!.message).toContain(`1 of 7 slices changed (pixel values, padding or position; SOPInstanceUID ${uid})`);
    expect(report.errors[0]!.message).toContain('--overwrite');
    expect(hashes(out)).toEqual(before);

    const redone = await denoise(input, out, { overwrite: true });
    expect([redone.errors, redone.series.map((s) => s.skipped)]).toEqual([[], [undefined]]);
    expect(redone.series[0]!.input.content?.sha256).not.toBe(first.series[0]!.input.content?.sha256);
    const again = await denoise(input, out);
    expect(again.series.map((s) => s.skipped)).toEqual([true]);
  });

  it('a slice removed, or one added under the same SeriesInstanceUID: E_EXISTS with the counts', async () => {
    rmSync(path.join(input, '005.IMA'));
    const removed = await denoise(input, out);
    expect(removed.series).toEqual([]);
    expect(removed.errors[0]).toMatchObject({ code: 'E_EXISTS', message: expect.stringContaining('1 slice removed (finished from 7 slices, the input now has 6; removed: SOPInstanceUID ') });

    cpSync(path.join(MAYO, '005.IMA'), path.join(input, '005.IMA'));
    execFileSync('chmod', ['u+w', path.join(input, '005.IMA')]);
    // A slice beyond the last one, a new object of the same series.
    pydicom(
      path.join(input, '006.IMA'),
      'd.SOPInstanceUID = generate_uid(); d.file_meta.MediaStorageSOPInstanceUID = d.SOPInstanceUID; d.InstanceNumber = int(d.InstanceNumber) + 50\n' +
        'd.ImagePositionPatient = [d.ImagePositionPatient[0], d.ImagePositionPatient[1], float(d.ImagePositionPatient[2]) + 30]; d.SliceLocation = float(d.SliceLocation) + 30',
      path.join(input, '007.IMA'),
    );
    const added = await denoise(input, out);
    expect(added.series).toEqual([]);
    expect(added.errors[0]).toMatchObject({ code: 'E_EXISTS', message: expect.stringContaining('1 slice added (finished from 7 slices, the input now has 8; added: SOPInstanceUID ') });
  });

  it('the same objects in another folder, re-encoded as a PACS pull may write them (implicit VR, RLE lossless, deflated; other file meta): the same input, skipped', async () => {
    const copy = path.join(path.dirname(input), 'pulled');
    cpSync(input, copy, { recursive: true });
    const meta = "d.file_meta.ImplementationClassUID = '1.2.3.4'\nd.file_meta.ImplementationVersionName = 'PULL'\nd.file_meta.SourceApplicationEntityTitle = 'PACS'\n";
    const encodings: Record<string, string> = {
      implicit: 'd.file_meta.TransferSyntaxUID = pydicom.uid.ImplicitVRLittleEndian\nd.is_implicit_VR = True\nd.is_little_endian = True',
      rle: 'd.compress(pydicom.uid.RLELossless)',
      deflated: 'd.file_meta.TransferSyntaxUID = pydicom.uid.DeflatedExplicitVRLittleEndian',
    };
    const names = readdirSync(copy).sort();
    const kinds = Object.keys(encodings);
    for (const [i, name] of names.entries()) pydicom(path.join(copy, name), meta + encodings[kinds[i % kinds.length]!]!);
    const tsOf = (name: string) => execFileSync(PYTHON, ['-c', 'import sys, pydicom; print(pydicom.dcmread(sys.argv[1]).file_meta.TransferSyntaxUID)', path.join(copy, name)], { encoding: 'utf8' }).trim();
    expect(names.slice(0, 3).map(tsOf)).toEqual(['1.2.840.10008.1.2', '1.2.840.10008.1.2.5', '1.2.840.10008.1.2.1.99']);
    // Other bytes: the file is another encoding of the same object.
    expect(readFileSync(path.join(copy, '000.IMA')).equals(readFileSync(path.join(MAYO, '000.IMA')))).toBe(false);
    const again = await denoise(copy, out);
    expect([again.errors, again.series.map((s) => s.skipped)]).toEqual([[], [true]]);
  });

  it('the header corrected under the same UIDs (patient identity, study attributes): E_EXISTS naming the slices and the attribute keywords, not the values', async () => {
    const before = hashes(out);
    for (const name of readdirSync(input)) {
      pydicom(path.join(input, name), "d.PatientName = 'Corrected^Patient'\nd.PatientBirthDate = '19610203'\nd.PatientSex = 'F'");
    }
    // One slice's study attributes only.
    pydicom(path.join(input, '004.IMA'), "d.AccessionNumber = 'ACC98765'\nd.StudyDescription = 'CT ABDOMEN CORRECTED'");
    // The first slice in the series' order.
    const uid = first.series[0]!.input.content!.slices[0]!.sopInstanceUid;

    const run = await runCli('denoise', input, '-o', out, '--method', 'gaussian', '--json', '--no-progress');
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout) as DenoiseReport;
    expect(report.series).toEqual([]);
    expect(report.errors).toEqual([expect.objectContaining({ code: 'E_EXISTS', path: first.series[0]!.output.dir })]);
    const message = report.errors[0]!.message;
    expect(message).toContain(`7 of 7 slices' header changed (AccessionNumber, PatientBirthDate, PatientName, PatientSex, StudyDescription; SOPInstanceUID ${uid}, `);
    // The pixels are the same: no pixel change is reported.
    expect(message).not.toContain('pixel values');
    for (const value of ['Corrected', '19610203', 'ACC98765', 'CORRECTED']) expect(message).not.toContain(value);
    expect(message).toContain('--overwrite');
    expect(hashes(out)).toEqual(before);

    // Redone: the output names the corrected patient, and the next run skips.
    const redone = await denoise(input, out, { overwrite: true });
    expect(redone.errors).toEqual([]);
    const name = execFileSync(PYTHON, ['-c', 'import sys, pydicom; print(pydicom.dcmread(sys.argv[1]).PatientName)', redone.series[0]!.output.files[0]!], { encoding: 'utf8' }).trim();
    expect(name).toBe('Corrected^Patient');
    const again = await denoise(input, out);
    expect([again.errors, again.series.map((s) => s.skipped)]).toEqual([[], [true]]);
  });

  it('attributes of the patient\'s placement corrected in one slice (patient position, body part): E_EXISTS naming that slice', async () => {
    pydicom(path.join(input, '002.IMA'), "d.PatientPosition = 'HFS'\nd.BodyPartExamined = 'CHEST'");
    const again = await denoise(input, out);
    expect(again.series).toEqual([]);
    expect(again.errors[0]).toMatchObject({ code: 'E_EXISTS', message: expect.stringContaining("1 of 7 slices' header changed (BodyPartExamined, PatientPosition; SOPInstanceUID ") });
  });

  it('the marker records a header digest per slice and keyed digests per attribute, none of them a plain hash of a value', async () => {
    const content = first.series[0]!.input.content!;
    expect(content.slices.every((s) => /^[0-9a-f]{64}$/.test(s.header ?? ''))).toBe(true);
    expect(content.header?.attributes.PatientName).toMatch(/^[0-9a-f]{64}$/);
    // The patient's sex ("O" in these files) cannot be read off by hashing the candidates.
    const candidates = ['M', 'F', 'O', ''].flatMap((v) => [v, JSON.stringify([v])]).map((v) => createHash('sha256').update(v).digest('hex'));
    const recorded = JSON.stringify(content);
    for (const digest of candidates) expect(recorded).not.toContain(digest);
  });

  it('a marker without input.content.header (an older lowdose) has its pixels compared, not its header', async () => {
    const markerPath = path.join(first.series[0]!.output.dir, '.lowdose-complete.json');
    const marker = JSON.parse(readFileSync(markerPath, 'utf8')) as { input: { content: { header?: unknown; slices: Array<{ header?: string }> } } };
    delete marker.input.content.header;
    for (const slice of marker.input.content.slices) delete slice.header;
    writeFileSync(markerPath, JSON.stringify(marker));
    pydicom(path.join(input, '001.IMA'), "d.PatientName = 'Corrected^Patient'");
    const logs: string[] = [];
    const headerOnly = await denoise(input, out, { log: (m) => logs.push(m) });
    expect([headerOnly.errors, headerOnly.series.map((s) => s.skipped)]).toEqual([[], [true]]);
    expect(logs.join('\n')).toContain("does not record its input's header attributes");
    changeOnePixel(path.join(input, '003.IMA'));
    const pixels = await denoise(input, out);
    expect(pixels.errors[0]).toMatchObject({ code: 'E_EXISTS', message: expect.stringContaining('1 of 7 slices changed (pixel values') });
  });

  it('a marker an older lowdose wrote, without input.content, is not compared: the changed input skips', async () => {
    const markerPath = path.join(first.series[0]!.output.dir, '.lowdose-complete.json');
    const marker = JSON.parse(readFileSync(markerPath, 'utf8')) as { input: Record<string, unknown> };
    delete marker.input.content;
    writeFileSync(markerPath, JSON.stringify(marker));
    changeOnePixel(path.join(input, '003.IMA'));
    const again = await denoise(input, out);
    expect([again.errors, again.series.map((s) => s.skipped)]).toEqual([[], [true]]);
  });
});

const MULTI_FRAME = fileURLToPath(new URL('../../../shared/dicom/cornerstonejs__dicomParser/testImages/encapsulated/multi-frame', import.meta.url));

describe.runIf(existsSync(MULTI_FRAME))('denoise rerun of an enhanced CT (2 frames) pulled again in a compressed transfer syntax', () => {
  it('the same object as JPEG lossless, JPEG-LS lossless or RLE (other DerivationDescription, added by the compressor): the same input, skipped', async () => {
    const dir = mkdtempSync(path.join(root, 'multi-frame-'));
    const out = path.join(dir, 'out');
    const folderOf = (name: string) => {
      const folder = path.join(dir, name);
      cpSync(path.join(MULTI_FRAME, name), path.join(folder, 'CT0012.dcm'));
      return folder;
    };
    const first = await denoise(folderOf('CT0012.explicit_little_endian.dcm'), out);
    expect(first.errors).toEqual([]);
    expect(first.series[0]!.input.content?.slices.map((s) => [s.frame ?? 0, /^[0-9a-f]{64}$/.test(s.header ?? '')]).sort()).toEqual([[0, true], [1, true]]);
    for (const name of ['CT0012.fragmented_no_bot_jpeg_lossless.70.dcm', 'CT0012.fragmented_no_bot_jpeg_ls.80.dcm', 'CT0012.not_fragmented_no_bot_rle.dcm']) {
      const again = await denoise(folderOf(name), out);
      expect([name, again.errors, again.series.map((s) => s.skipped)]).toEqual([name, [], [true]]);
    }
  });
});

const IEC = fileURLToPath(new URL('../../fixtures/iec/dose25', import.meta.url));

describe.runIf(hasPydicom)('denoise rerun of a PET series whose SUV attributes changed (fixtures/iec, SUVbw)', () => {
  let input = '';
  let out = '';
  beforeEach(async () => {
    const dir = mkdtempSync(path.join(root, 'iec-'));
    input = path.join(dir, 'in');
    out = path.join(dir, 'out');
    cpSync(IEC, input, { recursive: true });
    for (const name of readdirSync(input)) execFileSync('chmod', ['u+w', path.join(input, name)]);
    const first = await denoise(input, out);
    expect([first.errors, first.series.map((s) => s.input.modality)]).toEqual([[], ['PT']]);
  });

  it('patient weight and injected dose corrected: E_EXISTS naming the changed SUVs and the attributes', async () => {
    for (const name of readdirSync(input)) {
      pydicom(path.join(input, name), "d.PatientWeight = '82'\nd.RadiopharmaceuticalInformationSequence[0].RadionuclideTotalDose = '400000000.0'");
    }
    const again = await denoise(input, out);
    expect(again.series).toEqual([]);
    const message = again.errors[0]!.message;
    expect(again.errors[0]!.code).toBe('E_EXISTS');
    // The values in SUV changed with the factor; the stored values did not, so the attributes are named.
    expect(message).toContain('4 of 4 slices changed (pixel values, padding or position;');
    expect(message).toContain("4 of 4 slices' header changed (PatientWeight, RadiopharmaceuticalInformationSequence; SOPInstanceUID ");
  });

  it('a radiopharmaceutical attribute that leaves the SUVs as they were: E_EXISTS all the same, no pixel change reported', async () => {
    for (const name of readdirSync(input)) pydicom(path.join(input, name), "d.RadiopharmaceuticalInformationSequence[0].Radiopharmaceutical = 'Fluorothymidine'");
    const again = await denoise(input, out);
    expect(again.series).toEqual([]);
    expect(again.errors[0]!.code).toBe('E_EXISTS');
    expect(again.errors[0]!.message).not.toContain('pixel values');
    expect(again.errors[0]!.message).toContain("4 of 4 slices' header changed (RadiopharmaceuticalInformationSequence; SOPInstanceUID ");
  });
});

describe.runIf(hasPydicom)('denoise rerun of a dynamic PET acquisition whose input changed', () => {
  it('a time point whose file changed is E_EXISTS naming the frame; the others are skipped', async () => {
    const dir = mkdtempSync(path.join(root, 'pet-'));
    makePetTiming(path.join(dir, 'in'));
    const input = path.join(dir, 'in', 'dynamic');
    const out = path.join(dir, 'out');
    const first = await denoise(input, out);
    expect(first.errors).toEqual([]);
    expect(first.series.map((s) => s.input.content?.slices.length)).toEqual([2, 2, 2]);

    changeOnePixel(path.join(input, 't2-s1.dcm'));
    const again = await denoise(input, out);
    expect(again.series.map((s) => [s.input.petFrame?.tag, s.skipped])).toEqual([['t01', true], ['t03', true]]);
    expect(again.errors).toEqual([expect.objectContaining({ code: 'E_EXISTS', message: expect.stringMatching(/time point or gate \(t02\) finished from other input .*1 of 2 slices changed/) })]);
  });
});
