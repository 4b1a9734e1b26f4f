/**
 * `lowdose info` end to end through the CLI: JSON shape of docs/contract.md, exit codes, and the
 * whole corpus read without a crash.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runCli as runCliWith } from '../helpers/cli.js';
import { CORPUS, corpusPath } from './helpers/corpus.js';

const runCli = (args: string[]) => runCliWith(...args);

afterEach(() => vi.restoreAllMocks());

describe('lowdose info', () => {
  it('reads the whole corpus with --json --stats: every series, every unreadable file, exit 1', async () => {
    const { code, stdout } = await runCli(['info', CORPUS, '--json', '--stats']);
    expect(code).toBe(1);
    const result = JSON.parse(stdout);
    expect(Object.keys(result)).toEqual(expect.arrayContaining(['series', 'errors', 'skipped']));
    expect(result.series.length).toBeGreaterThan(40);
    for (const s of result.series) {
      expect(s).toMatchObject({
        seriesInstanceUid: expect.any(String),
        modality: expect.any(String),
        rows: expect.any(Number),
        columns: expect.any(Number),
        slices: expect.any(Number),
        units: expect.any(String),
      });
      expect(s.spacing).toHaveLength(3);
      expect(s.transferSyntaxes.length).toBeGreaterThan(0);
      expect(s.files.length).toBeGreaterThan(0);
      expect(s.stats.length).toBeGreaterThan(0);
      for (const st of s.stats) {
        expect(st).toMatchObject({ file: expect.any(String), frame: expect.any(Number) });
        expect(Number.isFinite(st.min) && Number.isFinite(st.max) && Number.isFinite(st.mean)).toBe(true);
        expect(st.min).toBeLessThanOrEqual(st.mean);
        expect(st.mean).toBeLessThanOrEqual(st.max);
      }
    }
    for (const e of result.errors) {
      expect(e.code).toMatch(/^E_[A-Z_]+$/);
      expect(e.message).toContain(e.path.split('/').pop());
    }
    const errorFiles = result.errors.map((e: { path: string }) => e.path.split('/').pop());
    expect(errorFiles).toEqual(expect.arrayContaining(['MR_truncated.dcm', 'rtplan_truncated.dcm', 'GH626.dcm', 'no_meta.dcm']));
    const skippedCodes = new Set(result.skipped.map((s: { code: string }) => s.code));
    expect(skippedCodes).toEqual(new Set(['E_DICOMDIR', 'E_NOT_IMAGE', 'E_NOT_DICOM']));
    // The CT of QIICR reads in HU with plausible values (air about -1000, bone above 1000).
    const qiicr = result.series.find((s: { files: string[] }) => s.files.some((f) => f.includes('ct-3slice')));
    expect(qiicr.units).toBe('HU');
    expect(qiicr.stats[0].min).toBeLessThan(-900);
    expect(qiicr.stats[0].max).toBeGreaterThan(1000);
  });

  it('--stats leaves the padding out, and --help says so', async () => {
    // 01.dcm: PixelPaddingValue -2000 (-3024 HU); pydicom over the pixels that are not padding:
    // min -1024, max 1381, mean -401.80429 HU (over every pixel the mean is -959.685 HU).
    const { code, stdout } = await runCli(['info', corpusPath('QIICR__dcmqi/data/segmentations/ct-3slice/01.dcm'), '--json', '--stats']);
    expect(code).toBe(0);
    const [stats] = JSON.parse(stdout).series[0].stats;
    expect(stats.min).toBe(-1024);
    expect(stats.max).toBe(1381);
    expect(stats.mean).toBeCloseTo(-401.80429, 4);
    const help = await runCli(['info', '--help']);
    expect(help.stdout.replace(/\s+/g, ' ')).toContain('of the pixels that are not padding (PixelPaddingValue');
  });

  it('exits 0 on a clean series and prints a human table on stdout without --json', async () => {
    const { code, stdout, stderr } = await runCli(['info', corpusPath('QIICR__dcmqi/data/segmentations/ct-3slice')]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/CT\s+512x512\s+3 slice\(s\)/);
    expect(stdout).not.toMatch(/^\s*\{/);
    expect(stderr).toMatch(/1 series, 0 error/);
  });

  it('exits 2 when no given path exists', async () => {
    const { code, stdout } = await runCli(['info', '/no/such/dir', '--json']);
    expect(code).toBe(2);
    expect(JSON.parse(stdout).errors[0]).toMatchObject({ code: 'E_NOT_FOUND', path: '/no/such/dir' });
  });

  it('exits 1 when one of several paths is missing', async () => {
    const { code } = await runCli(['info', corpusPath('QIICR__dcmqi/data/segmentations/ct-3slice'), '/no/such/file.dcm', '--json']);
    expect(code).toBe(1);
  });
});
