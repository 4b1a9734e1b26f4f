/**
 * A rerun into the same -o skips a finished series only when it is made from the same input: the
 * completion marker records each slice's SOPInstanceUID and the sha256 of what was read of it
 * (`input.content`, src/pipeline/input-content.ts), and a slice whose pixels changed under the same
 * UIDs, a slice removed or one added is E_EXISTS for that series (exit 1), naming what differs and
 * --overwrite, the finished output left as it was. The same objects in another folder and another
 * transfer syntax (as a PACS pull writes them) are the same input. On copies of real Mayo slices
 * (../shared/ldct-mayo) and make-pet-timing.py's dynamic PET, changed with pydicom.
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

  it('the same objects in another folder, re-encoded implicit VR little endian as a PACS pull may write them: the same input, skipped', async () => {
    const copy = path.join(path.dirname(input), 'pulled');
    cpSync(input, copy, { recursive: true });
    for (const name of readdirSync(copy)) {
      pydicom(path.join(copy, name), "d.file_meta.TransferSyntaxUID = pydicom.uid.ImplicitVRLittleEndian\nd.file_meta.ImplementationClassUID = '1.2.3.4'\nd.is_implicit_VR = True\nd.is_little_endian = True");
    }
    const tsOf = execFileSync(PYTHON, ['-c', 'import sys, pydicom; print(pydicom.dcmread(sys.argv[1]).file_meta.TransferSyntaxUID)', path.join(copy, '000.IMA')], { encoding: 'utf8' }).trim();
    expect(tsOf).toBe('1.2.840.10008.1.2');
    // Other bytes: the file is another encoding of the same object.
    expect(readFileSync(path.join(copy, '000.IMA')).equals(readFileSync(path.join(MAYO, '000.IMA')))).toBe(false);
    const again = await denoise(copy, out);
    expect([again.errors, again.series.map((s) => s.skipped)]).toEqual([[], [true]]);
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
