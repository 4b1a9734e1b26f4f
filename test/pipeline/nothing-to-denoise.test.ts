/**
 * When `denoise`, `batch` or `trace` find no CT / PET series, the error says why: the named folder
 * does not exist, the file is truncated, the file is not an image. Real files from ../shared/dicom.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { submitBatch } from '../../src/queue/batch.js';
import { corpusPath } from '../dicom/helpers/corpus.js';
import { runCli } from '../helpers/cli.js';

const root = mkdtempSync(join(tmpdir(), 'lowdose-nothing-'));
const TRUNCATED = corpusPath('pydicom__pydicom/src/pydicom/data/test_files/MR_truncated.dcm');
const RT_DOSE = corpusPath('pydicom__pydicom/src/pydicom/data/test_files/rtdose.dcm');
const RT_PLAN_TRUNCATED = corpusPath('pydicom__pydicom/src/pydicom/data/test_files/rtplan_truncated.dcm');
const MR = corpusPath('pydicom__pydicom/src/pydicom/data/test_files/MR_small.dcm');
const missing = join(root, 'no-such-study');

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('nothing to denoise: the error says why', () => {
  it('denoise names a folder that does not exist (exit 2)', async () => {
    const { code, stderr } = await runCli('denoise', missing, '-o', join(root, 'out'), '--method', 'gaussian', '--no-progress');
    expect(code).toBe(2);
    expect(stderr).toContain(`no CT or PET series found in ${missing}: ${missing}: no such file or directory [E_NOT_FOUND]`);
  });

  it("denoise gives a truncated file's reason (exit 2)", async () => {
    const { code, stderr } = await runCli('denoise', TRUNCATED, '-o', join(root, 'out'), '--method', 'gaussian', '--no-progress');
    expect(code).toBe(2);
    expect(stderr).toMatch(/no CT or PET series found in .*MR_truncated\.dcm: .*MR_truncated\.dcm: truncated: element \(7FE0,0010\)/);
  });

  it('denoise says a non-image DICOM was skipped and what it is (exit 2)', async () => {
    const { code, stderr } = await runCli('denoise', RT_DOSE, '-o', join(root, 'out'), '--method', 'gaussian', '--no-progress');
    expect(code).toBe(2);
    expect(stderr).toMatch(/no CT or PET series found in .*rtdose\.dcm: 1 file\(s\) skipped: .*radiotherapy object/);
  });

  it('trace says a non-image DICOM was skipped and what it is (exit 2)', async () => {
    const { code, stderr } = await runCli('trace', RT_DOSE, '-o', join(root, 'trace.png'));
    expect(code).toBe(2);
    expect(stderr).toMatch(/no CT or PET series found in .*rtdose\.dcm: 1 file\(s\) skipped: .*radiotherapy object/);
  });

  it('batch names a truncated file before it touches the queue', async () => {
    const queue = {} as Parameters<typeof submitBatch>[0]; // never used: the scan fails first
    const options = { outDir: join(root, 'batch'), settings: {} } as Parameters<typeof submitBatch>[2];
    await expect(submitBatch(queue, [TRUNCATED], options)).rejects.toThrow(/MR_truncated\.dcm: truncated/);
  });

  it("batch's error carries denoise's per-file and per-series reasons as data (its --json errors[] entry)", async () => {
    const queue = {} as Parameters<typeof submitBatch>[0]; // never used: the scan fails first
    const options = { outDir: join(root, 'batch'), settings: {} } as Parameters<typeof submitBatch>[2];
    const error = await submitBatch(queue, [TRUNCATED, MR], options).then(
      () => null,
      (e: { toJSON(): Record<string, unknown> }) => e.toJSON(),
    );
    expect(error).toMatchObject({
      code: 'E_NOT_FOUND',
      scan: {
        fileCount: 2,
        errors: [{ path: TRUNCATED, code: 'E_TRUNCATED' }],
        skipped: [],
        skippedSeries: [{ modality: 'MR', reason: 'modality' }],
      },
    });
  });
});

/** The one `errors[]` entry `denoise --json` prints when it stops with nothing to denoise. */
async function nothingToDenoiseJson(...paths: string[]) {
  const { code, stdout } = await runCli('denoise', ...paths, '-o', join(root, 'out-json'), '--method', 'gaussian', '--no-progress', '--json');
  const printed = JSON.parse(stdout) as { errors: Array<Record<string, unknown>> };
  expect(printed.errors).toHaveLength(1);
  return { code, error: printed.errors[0]! };
}

describe('denoise --json with nothing to denoise says what it found, file by file', () => {
  it('lists every unreadable file with its code when all files are corrupt (exit 2)', async () => {
    const { code, error } = await nothingToDenoiseJson(TRUNCATED, RT_PLAN_TRUNCATED);
    expect(code).toBe(2);
    expect(error).toMatchObject({ path: null, code: 'E_NOT_FOUND' });
    expect(error.scan).toEqual({
      fileCount: 2,
      errors: [
        { path: TRUNCATED, code: 'E_TRUNCATED', message: expect.stringContaining('truncated') },
        { path: RT_PLAN_TRUNCATED, code: 'E_TRUNCATED', message: expect.stringContaining('truncated') },
      ],
      errorCount: 2,
      errorsByCode: { E_TRUNCATED: 2 },
      skipped: [],
      skippedCount: 0,
      skippedByCode: {},
      skippedSeries: [],
    });
  });

  it('says an empty folder held no files at all (exit 2)', async () => {
    const empty = join(root, 'empty-study');
    mkdirSync(empty, { recursive: true });
    const { code, error } = await nothingToDenoiseJson(empty);
    expect(code).toBe(2);
    expect(error).toMatchObject({ code: 'E_NOT_FOUND', scan: { fileCount: 0, errors: [], skipped: [], skippedSeries: [] } });
  });

  it('lists series of other modalities and non-image files apart from unreadable ones (exit 2)', async () => {
    const { code, error } = await nothingToDenoiseJson(MR, RT_DOSE);
    expect(code).toBe(2);
    expect(error.scan).toEqual({
      fileCount: 2,
      errors: [],
      errorCount: 0,
      errorsByCode: {},
      skipped: [{ path: RT_DOSE, code: 'E_NOT_IMAGE', message: expect.stringContaining('not an image') }],
      skippedCount: 1,
      skippedByCode: { E_NOT_IMAGE: 1 },
      skippedSeries: [
        {
          key: expect.any(String),
          seriesInstanceUid: expect.any(String),
          modality: 'MR',
          reason: 'modality',
          message: expect.stringContaining('only CT and PET are denoised'),
        },
      ],
    });
  });

  it("trace --json's E_NOT_FOUND carries the same scan as denoise --json's, file by file and series by series (exit 2)", async () => {
    const paths = [TRUNCATED, MR, RT_DOSE];
    const denoised = await nothingToDenoiseJson(...paths);
    const traced = await runCli('trace', ...paths, '-o', join(root, 'trace-json.png'), '--json');
    expect(traced.code).toBe(2);
    const printed = JSON.parse(traced.stdout) as { errors: Array<Record<string, unknown>> };
    expect(printed.errors).toEqual([expect.objectContaining({ code: 'E_NOT_FOUND', scan: denoised.error.scan })]);
    expect(printed.errors[0]!.scan).toMatchObject({
      fileCount: 3,
      errors: [{ path: TRUNCATED, code: 'E_TRUNCATED' }],
      skipped: [{ path: RT_DOSE, code: 'E_NOT_IMAGE' }],
      skippedSeries: [{ modality: 'MR', reason: 'modality' }],
    });
  });
});
