/**
 * Real archive files whose header values a DICOM writer must not copy as they are (ACR-NEMA dates
 * and times, over-long codes, a UN sequence): `lowdose denoise --method gaussian` writes each of
 * them back (exit 0), dcmtk reads the output silently, and the report's warnings name what was
 * repaired or dropped. Before, these failed with E_INTERNAL or wrote a 909 MB file.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import dicomParser from 'dicom-parser';
import { afterAll, describe, expect, it } from 'vitest';
import type { DenoiseReport } from '../../src/pipeline/types.js';
import { dcmdump, hasDcmdump } from '../dicom-write/helpers.js';
import { runCli } from '../helpers/cli.js';

const corpus = (relative: string) => fileURLToPath(new URL(`../../../shared/dicom/${relative}`, import.meta.url));
const FO = 'fo-dicom__fo-dicom/Tests/FO-DICOM.Tests/Test Data/';
const root = mkdtempSync(join(tmpdir(), 'lowdose-real-values-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function denoise(file: string, name: string): Promise<{ report: DenoiseReport; output: string }> {
  const out = join(root, name);
  const cli = await runCli('denoise', file, '-o', out, '--method', 'gaussian', '--json', '--no-progress');
  expect(cli.code, cli.stderr).toBe(0);
  const report = JSON.parse(cli.stdout) as DenoiseReport;
  expect(report.errors).toEqual([]);
  expect(report.series).toHaveLength(1);
  const output = report.series[0]!.output.files[0]!;
  if (hasDcmdump) {
    const dump = dcmdump(output);
    expect(dump.status).toBe(0);
    expect(dump.stderr).toBe('');
  }
  return { report, output };
}

const named = (report: DenoiseReport, code: string) =>
  report.series[0]!.warnings.filter((w) => w.code === code).map((w) => w.message.split(':')[0]);

describe('real-world values written back', () => {
  for (const file of ['CT-MONO2-16-ankle', 'GH355.dcm']) {
    it(`${file}: ACR-NEMA dates "1993.04.30" and times "11:27:24" are written as DA / TM, each repair reported`, async () => {
      const { report, output } = await denoise(corpus(`${FO}${file}`), file);
      expect(named(report, 'W_VALUE_REPAIRED')).toEqual(
        expect.arrayContaining(['StudyDate (0008,0020)', 'SeriesDate (0008,0021)', 'ContentDate (0008,0023)', 'StudyTime (0008,0030)']),
      );
      const ds = dicomParser.parseDicom(new Uint8Array(readFileSync(output)));
      expect(ds.string('x00080020')).toBe('19930430');
      expect(ds.string('x00080030')).toBe('112724');
    });
  }

  it('GH184.dcm (GE PET): the private 32-character CS is not copied, the SUV factor and study are kept', async () => {
    const { report, output } = await denoise(corpus(`${FO}GH184.dcm`), 'gh184');
    const input = dicomParser.parseDicom(new Uint8Array(readFileSync(corpus(`${FO}GH184.dcm`))), { untilTag: 'x7fe00010' });
    const ds = dicomParser.parseDicom(new Uint8Array(readFileSync(output)));
    expect(input.string('x00331004')?.length).toBeGreaterThan(16);
    expect(ds.elements.x00331004).toBeUndefined();
    expect(ds.string('x00081030')).toBe(input.string('x00081030'));
    expect(ds.string('x0020000d')).toBe(input.string('x0020000d'));
    expect(ds.string('x00090010')).toBe('GEMS_PETD_01');
    expect(report.series[0]!.input.modality).toBe('PT');
  });

  it('bad_sequence.dcm: an output under 4x its input, its UN sequence reported as dropped', async () => {
    const file = corpus('pydicom__pydicom-data/data_store/data/bad_sequence.dcm');
    const { report, output } = await denoise(file, 'bad-sequence');
    expect(statSync(output).size).toBeLessThan(4 * statSync(file).size);
    expect(named(report, 'W_VALUE_DROPPED')).toContain('CTDIPhantomTypeCodeSequence (0018,9346)');
  });
});
