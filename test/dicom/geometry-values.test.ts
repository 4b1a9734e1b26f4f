/**
 * Geometry numbers that are present but unusable (src/dicom/image-header.ts): read as missing and
 * reported (W_GEOMETRY_INVALID), never passed on. A PixelSpacing of "1e309\1" (fuzz seed 22, case
 * 1116, rebuilt here from its corpus file) was an infinite spacing: `info` printed it as null
 * without a warning and `denoise` failed the series with E_USAGE.
 */
import { readFileSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseDicomBytes, readImageHeader } from '../../src/dicom/index.js';
import type { DenoiseReport } from '../../src/pipeline/types.js';
import { runCli } from '../helpers/cli.js';
import { encodeElement, withElement, writeTemporary } from '../helpers/mutate-dicom.js';
import { corpus, parse, temporaryDirectory } from '../dicom-write/helpers.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const bytesOf = (path: string) => new Uint8Array(readFileSync(path));
function temporaryFile(bytes: Uint8Array, name: string): string {
  const path = writeTemporary(bytes, name, 'geometry-values');
  dirs.push(dirname(path));
  return path;
}
const ds = (tag: string, value: string) => (bytes: Uint8Array) => withElement(bytes, tag, encodeElement(tag, 'DS', value));

const CT1_J2KI = corpus('fo-dicom__fo-dicom/Tests/FO-DICOM.Tests/Test Data/CT1_J2KI');
const CT_SMALL = corpus('pydicom__pydicom/src/pydicom/data/test_files/CT_small.dcm');
/** A real CT slice (fo-dicom) that has no PixelSpacing at all. */
const CT_ANKLE = corpus('fo-dicom__fo-dicom/Tests/FO-DICOM.Tests/Test Data/CT-MONO2-16-ankle');

interface InfoSeries {
  spacing: Array<number | null>;
  warnings: Array<{ code: string; message: string }>;
}

describe('unusable geometry values', () => {
  it('case 1116: PixelSpacing "1e309\\1" is read as missing: info says so (W_GEOMETRY_INVALID) and shows 1 x 1 mm, not null', async () => {
    const file = temporaryFile(ds('x00280030', '1e309\\1')(bytesOf(CT1_J2KI)), 'case1116.dcm');
    const cli = await runCli('info', file, '--json');
    expect(cli.code).toBe(0);
    const series = (JSON.parse(cli.stdout) as { series: InfoSeries[] }).series[0]!;
    expect(series.spacing).toEqual([1, 1, 5]);
    expect(series.warnings.map((w) => w.code)).toEqual(['W_GEOMETRY_INVALID']);
    expect(series.warnings[0]!.message).toMatch(/read as missing; pixel spacing 1 x 1 mm assumed: .*case1116\.dcm: PixelSpacing "Infinity\\1" is not two finite positive numbers/);
  });

  it('case 1116: denoise writes the series (was E_USAGE), with the warning, and does not copy the infinite spacing', async () => {
    const file = temporaryFile(ds('x00280030', '1e309\\1')(bytesOf(CT1_J2KI)), 'case1116.dcm');
    const out = temporaryDirectory('geometry-values-out');
    dirs.push(out);
    const cli = await runCli('denoise', file, '-o', out, '--method', 'gaussian', '--json', '--no-progress');
    expect(cli.code, cli.stderr).toBe(0);
    const report = JSON.parse(cli.stdout) as DenoiseReport;
    expect(report.errors).toEqual([]);
    const codes = report.series[0]!.warnings.map((w) => w.code);
    expect(codes).toContain('W_GEOMETRY_INVALID');
    expect(report.series[0]!.warnings.find((w) => w.code === 'W_VALUE_DROPPED')?.message).toMatch(/^PixelSpacing \(0028,0030\): DS "1e309" dropped: not a finite number/);
    // All of PixelSpacing is left out (its "1" alone would read as a spacing).
    expect(parse(report.series[0]!.output.files[0]!).string('x00280030')).toBeUndefined();
  });

  it('reads non-finite, non-positive and degenerate values as missing and names each', () => {
    const mutations = [
      ds('x00180050', '0'), // SliceThickness
      ds('x00180088', '0'), // SpacingBetweenSlices
      ds('x00200032', 'NaN\\0\\0'), // ImagePositionPatient
      ds('x00200037', '0\\0\\0\\0\\1\\0'), // ImageOrientationPatient
    ];
    const bytes = mutations.reduce<Uint8Array>((b, m) => m(b), bytesOf(CT_SMALL));
    const header = readImageHeader(parseDicomBytes(bytes, 'mutated.dcm'));
    const frame = header.frameGeometry[0]!;
    expect(frame.sliceThickness).toBeNull();
    expect(frame.position).toBeNull();
    expect(frame.orientation).toBeNull();
    expect(frame.pixelSpacing).not.toBeNull();
    expect(header.spacingBetweenSlices).toBeNull();
    expect(header.geometryIssues).toEqual([
      'ImagePositionPatient "NaN\\0\\0" is not three finite numbers',
      'ImageOrientationPatient "0\\0\\0\\0\\1\\0" has no row and column directions',
      'SliceThickness "0" is not a finite positive number',
      'SpacingBetweenSlices "0" is not a finite positive number',
    ]);
  });

  it('reads a negative SpacingBetweenSlices (GE writes one for the stack direction) as its magnitude, without an issue', () => {
    const header = readImageHeader(parseDicomBytes(ds('x00180088', '-2.511563')(bytesOf(CT_SMALL)), 'negative.dcm'));
    expect(header.spacingBetweenSlices).toBe(2.511563);
    expect(header.geometryIssues).toEqual([]);
  });

  it('an intact file has no geometry issues and its series no W_GEOMETRY_INVALID', async () => {
    const header = readImageHeader(parseDicomBytes(bytesOf(CT_SMALL), CT_SMALL));
    expect(header.geometryIssues).toEqual([]);
    const cli = await runCli('info', CT_SMALL, '--json');
    const series = (JSON.parse(cli.stdout) as { series: InfoSeries[] }).series[0]!;
    expect(series.warnings.map((w) => w.code)).not.toContain('W_GEOMETRY_INVALID');
  });

  it('a series with a usable spacing but an unusable thickness warns without assuming a spacing', async () => {
    // "Inf" is no decimal string: the reader's number is NaN.
    const file = temporaryFile(ds('x00180050', 'Inf')(bytesOf(CT_SMALL)), 'thickness.dcm');
    const cli = await runCli('info', file, '--json');
    const series = (JSON.parse(cli.stdout) as { series: InfoSeries[] }).series[0]!;
    const warning = series.warnings.find((w) => w.code === 'W_GEOMETRY_INVALID');
    expect(warning?.message).toMatch(/SliceThickness "NaN" is not a finite positive number/);
    expect(warning?.message).not.toMatch(/assumed/);
    expect(series.spacing.slice(0, 2)).toEqual([0.661468, 0.661468]);
  });

  it('a CT with no PixelSpacing at all says that 1 x 1 mm is assumed (W_GEOMETRY_INVALID), not only an unusable one', async () => {
    const cli = await runCli('info', CT_ANKLE, '--json');
    const series = (JSON.parse(cli.stdout) as { series: InfoSeries[] }).series[0]!;
    const warning = series.warnings.find((w) => w.code === 'W_GEOMETRY_INVALID');
    expect(warning?.message).toMatch(/no PixelSpacing; 1 x 1 mm assumed/);
    expect(series.spacing.slice(0, 2)).toEqual([1, 1]);
  });
});
