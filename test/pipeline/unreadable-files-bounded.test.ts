/**
 * `denoise` over a folder of hundreds of files that are not DICOM (and a few truncated slices)
 * beside one real series: report.json lists at most LISTED_PER_CODE unreadable files of each code,
 * in file order, with their exact count in all (`errorCount`) and by code (`errorsByCode`); the text
 * output lists the same and says how many more there are. `info --json` lists and counts the
 * unreadable files, and the files it passes over (not DICOM, no .dcm name), the same way.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import { runInfo } from '../../src/pipeline/info.js';
import { openReference } from '../../src/pipeline/reference.js';
import { runPhantom } from '../../src/pipeline/phantom.js';
import type { DenoiseReport } from '../../src/pipeline/types.js';
import { LISTED_PER_CODE } from '../../src/util/code-sample.js';
import { runCli } from '../helpers/cli.js';
import { writeJunkFolder } from '../helpers/junk-folder.js';

const root = mkdtempSync(path.join(tmpdir(), 'lowdose-denoise-bounded-'));
const input = path.join(root, 'in');
const NOT_DICOM = 2 * LISTED_PER_CODE + 9;
const TRUNCATED = 2;
const byCode = { E_NOT_DICOM: NOT_DICOM, E_TRUNCATED: TRUNCATED };

beforeAll(async () => {
  const series = path.join(input, 'series');
  await runPhantom('water', { outDir: series, size: 32, slices: 2, uidSeed: 'denoise-bounded' });
  writeJunkFolder(path.join(input, 'junk'), { notDicom: NOT_DICOM, truncatedOf: path.join(series, readdirSync(series).sort()[0]!), truncated: TRUNCATED, seed: 5 });
}, 60_000);

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('denoise over a folder of unreadable files keeps a sample of their errors and their exact counts', () => {
  it('report.json: 100 per code listed, every one counted, the series denoised', async () => {
    const outDir = path.join(root, 'out');
    const report = await denoisePaths([input], { outDir, method: 'gaussian' });
    expect(report.series).toHaveLength(1);
    expect(report.errors).toHaveLength(LISTED_PER_CODE + TRUNCATED);
    expect(report.errorCount).toBe(NOT_DICOM + TRUNCATED);
    expect(report.errorsByCode).toEqual(byCode);
    expect(report.errors[0]!.path).toBe(path.join(input, 'junk', 'junk000000.dcm'));
    const written = JSON.parse(readFileSync(path.join(outDir, 'report.json'), 'utf8')) as DenoiseReport;
    expect(written.errors).toHaveLength(LISTED_PER_CODE + TRUNCATED);
    expect(written.errorCount).toBe(NOT_DICOM + TRUNCATED);
    expect(written.errorsByCode).toEqual(byCode);
  }, 60_000);

  it('the text output lists the sample and counts the rest by code (exit 1)', async () => {
    const outDir = path.join(root, 'out-cli');
    const run = await runCli('denoise', input, '-o', outDir, '--method', 'gaussian', '--no-progress');
    expect(run.code, run.stderr).toBe(1);
    const lines = run.stdout.trim().split('\n');
    expect(lines.filter((l) => l.startsWith('error '))).toHaveLength(LISTED_PER_CODE + TRUNCATED);
    expect(lines.at(-1)).toBe(
      `... and ${NOT_DICOM - LISTED_PER_CODE} more error(s) not listed; ${NOT_DICOM + TRUNCATED} in all: ${NOT_DICOM} E_NOT_DICOM, ${TRUNCATED} E_TRUNCATED; see ${path.join(outDir, 'unreadable.tsv')}`,
    );
  }, 60_000);

  it('nothing to denoise: the error JSON lists a sample and counts them all', async () => {
    const run = await runCli('denoise', path.join(input, 'junk'), '-o', path.join(root, 'out-none'), '--method', 'gaussian', '--json', '--no-progress');
    expect(run.code).toBe(2);
    const answer = JSON.parse(run.stdout) as { errors: Array<{ scan?: { errors: unknown[]; errorCount: number; errorsByCode: Record<string, number> } }> };
    const scan = answer.errors[0]!.scan!;
    expect(scan.errors).toHaveLength(LISTED_PER_CODE + TRUNCATED);
    expect(scan.errorCount).toBe(NOT_DICOM + TRUNCATED);
    expect(scan.errorsByCode).toEqual(byCode);
  }, 60_000);
});

describe('info over a folder of unreadable and passed-over files keeps a sample of each and their exact counts', () => {
  it('--json: 100 per code of errors and of skipped files, every one counted; the text counts them by code', async () => {
    const folder = path.join(root, 'info');
    writeJunkFolder(path.join(folder, 'junk'), { notDicom: NOT_DICOM, seed: 8 });
    // The same bytes without a DICOM name: passed over (skipped), not an error.
    writeJunkFolder(path.join(folder, 'notes'), { notDicom: NOT_DICOM, seed: 9, extension: '.txt' });
    const { result, exitCode } = await runInfo([input, folder]);
    expect(exitCode).toBe(1);
    expect(result.series).toHaveLength(1);
    expect(result.errors).toHaveLength(LISTED_PER_CODE + TRUNCATED);
    expect(result.errorCount).toBe(2 * NOT_DICOM + TRUNCATED);
    expect(result.errorsByCode).toEqual({ E_NOT_DICOM: 2 * NOT_DICOM, E_TRUNCATED: TRUNCATED });
    expect(result.skipped).toHaveLength(LISTED_PER_CODE);
    expect(result.skippedCount).toBe(NOT_DICOM);
    expect(result.skippedByCode).toEqual({ E_NOT_DICOM: NOT_DICOM });

    const run = await runCli('info', input, folder);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`${2 * NOT_DICOM + TRUNCATED} file(s) could not be read:`);
    expect(run.stdout).toContain(`  ... and ${2 * NOT_DICOM - LISTED_PER_CODE} more error(s) not listed; ${2 * NOT_DICOM + TRUNCATED} in all: ${2 * NOT_DICOM} E_NOT_DICOM, ${TRUNCATED} E_TRUNCATED`);
    expect(run.stdout).toContain(`${NOT_DICOM} file(s) skipped (${NOT_DICOM} E_NOT_DICOM); --json lists the first ${LISTED_PER_CODE} of each kind`);
  }, 60_000);
});

describe('simulate and metrics over a folder of unreadable files', () => {
  it('simulate --json: 100 per code listed, every one counted, the series simulated (exit 1)', async () => {
    const run = await runCli('simulate', input, '-o', path.join(root, 'sim'), '--dose', '0.5', '--json');
    expect(run.code, run.stderr).toBe(1);
    const result = JSON.parse(run.stdout) as { series: unknown[]; errors: unknown[]; errorCount: number; errorsByCode: Record<string, number> };
    expect(result.series).toHaveLength(1);
    expect(result.errors).toHaveLength(LISTED_PER_CODE + TRUNCATED);
    expect(result.errorCount).toBe(NOT_DICOM + TRUNCATED);
    expect(result.errorsByCode).toEqual(byCode);
  }, 60_000);

  it("metrics names the first unreadable file and counts the rest, in one line (exit 2)", async () => {
    const junk = path.join(input, 'junk');
    const run = await runCli('metrics', '--test', junk, '--reference', path.join(input, 'series'));
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`--test ${junk}: no readable image series found: ${path.join(junk, 'junk000000.dcm')}: not DICOM`);
    expect(run.stderr).toContain(`(and ${NOT_DICOM + TRUNCATED - 1} more file(s) that could not be read)`);
    expect(run.stderr).not.toContain('junk000001.dcm');
  }, 60_000);
});

describe('denoise --reference over a folder of unreadable files', () => {
  it("report.json lists 100 of the reference folder's unreadable files per code and counts them all", async () => {
    const reference = path.join(root, 'reference');
    await runPhantom('water', { outDir: path.join(reference, 'series'), size: 32, slices: 2, uidSeed: 'denoise-bounded-reference' });
    writeJunkFolder(path.join(reference, 'junk'), { notDicom: NOT_DICOM, seed: 13 });
    const report = await denoisePaths([path.join(input, 'series')], { outDir: path.join(root, 'out-reference'), method: 'gaussian', reference: [reference] });
    expect(report.series).toHaveLength(1);
    expect(report.series[0]!.metrics).toBeDefined();
    expect(report.errors).toHaveLength(LISTED_PER_CODE);
    expect(report.errorCount).toBe(NOT_DICOM);
    expect(report.errorsByCode).toEqual({ E_NOT_DICOM: NOT_DICOM });
    // The reference scan itself keeps only the sample: its errors are not all held until the run ends.
    const opened = await openReference([reference], () => {});
    expect(opened.errors).toHaveLength(LISTED_PER_CODE);
    expect(opened.errorCount).toBe(NOT_DICOM);
  }, 60_000);
});

describe('metrics over series folders with unreadable files beside them', () => {
  it('--json: 100 per code listed, every one counted, the pair scored (exit 1)', async () => {
    const reference = path.join(root, 'metrics-reference');
    await runPhantom('water', { outDir: reference, size: 32, slices: 2, uidSeed: 'metrics-bounded-reference' });
    writeJunkFolder(path.join(reference, 'junk'), { notDicom: NOT_DICOM, seed: 17 });
    const run = await runCli('metrics', '--test', path.join(input, 'series'), '--reference', reference, '--json');
    expect(run.code, run.stderr).toBe(1);
    const result = JSON.parse(run.stdout) as { errors: unknown[]; errorCount: number; errorsByCode: Record<string, number> };
    expect(result.errors).toHaveLength(LISTED_PER_CODE);
    expect(result.errorCount).toBe(NOT_DICOM);
    expect(result.errorsByCode).toEqual({ E_NOT_DICOM: NOT_DICOM });
  }, 60_000);
});
