/**
 * An export with 150 truncated slices beside one real series: report.json and --json list the first
 * LISTED_PER_CODE of them and count all 150, and the whole list of the 150 is written beside
 * report.json (unreadable.tsv), named in the report (`errorsFile`) and in the text line that says
 * how many were not listed. The scan holds no more than the cap of them while every one reaches
 * the list. A rerun neither reads the list as input nor trips over it; --overwrite rewrites it; a
 * rerun whose files all read removes it. `simulate` writes the same into its output folder.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanPaths } from '../../src/dicom/scan.js';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import { runPhantom } from '../../src/pipeline/phantom.js';
import type { DenoiseReport } from '../../src/pipeline/types.js';
import { LISTED_PER_CODE } from '../../src/util/code-sample.js';
import { ERRORS_FILE, ERRORS_FILE_HEADER, errorListLine, parseErrorList } from '../../src/util/error-list-file.js';
import { runCli } from '../helpers/cli.js';
import { writeJunkFolder } from '../helpers/junk-folder.js';

const root = mkdtempSync(path.join(tmpdir(), 'lowdose-unreadable-list-'));
const input = path.join(root, 'in');
const series = path.join(input, 'series');
const junk = path.join(input, 'junk');
const TRUNCATED = 150;
const truncatedFiles = Array.from({ length: TRUNCATED }, (_, i) => path.join(junk, `truncated${i}.dcm`)).sort();

beforeAll(async () => {
  await runPhantom('water', { outDir: series, size: 32, slices: 2, uidSeed: 'unreadable-list' });
  writeJunkFolder(junk, { notDicom: 0, truncatedOf: path.join(series, readdirSync(series).sort()[0]!), truncated: TRUNCATED, seed: 3 });
}, 60_000);

afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The list's lines (header first) and its entries. */
function readList(file: string): { lines: string[]; entries: ReturnType<typeof parseErrorList> } {
  const text = readFileSync(file, 'utf8');
  return { lines: text.split('\n').filter(Boolean), entries: parseErrorList(text) };
}

describe('the whole list of unreadable files beside report.json', () => {
  it('150 truncated files: 150 lines in unreadable.tsv, 100 in report.json, the count 150', async () => {
    const outDir = path.join(root, 'out');
    const report = await denoisePaths([input], { outDir, method: 'gaussian' });
    const file = path.join(outDir, ERRORS_FILE);
    expect(report.series).toHaveLength(1);
    expect(report.errors).toHaveLength(LISTED_PER_CODE);
    expect(report.errorCount).toBe(TRUNCATED);
    expect(report.errorsFile).toBe(file);
    const written = JSON.parse(readFileSync(path.join(outDir, 'report.json'), 'utf8')) as DenoiseReport;
    expect(written.errors).toHaveLength(LISTED_PER_CODE);
    expect(written.errorCount).toBe(TRUNCATED);
    expect(written.errorsFile).toBe(file);

    const { lines, entries } = readList(file);
    expect(lines[0]).toBe(ERRORS_FILE_HEADER);
    expect(lines).toHaveLength(TRUNCATED + 1);
    expect(entries.map((e) => e.path)).toEqual(truncatedFiles);
    expect(new Set(entries.map((e) => e.code))).toEqual(new Set(['E_TRUNCATED']));
    // The listed ones are the list's first, word for word.
    expect(entries.slice(0, LISTED_PER_CODE)).toEqual(written.errors);
    // Nothing is left under a temporary name.
    expect(readdirSync(outDir).filter((name) => name.startsWith('.'))).toEqual([]);
  }, 60_000);

  it('the scan keeps only the cap while every unreadable file reaches the list', async () => {
    const told: string[] = [];
    const scan = await scanPaths([junk], { listedPerCode: LISTED_PER_CODE, onError: (e) => told.push(e.path!) });
    expect(scan.errors).toHaveLength(LISTED_PER_CODE);
    expect(scan.errorCount).toBe(TRUNCATED);
    expect(told).toEqual(truncatedFiles);
  }, 60_000);

  it('the text line that counts the rest names the list (exit 1)', async () => {
    const outDir = path.join(root, 'out-cli');
    const run = await runCli('denoise', input, '-o', outDir, '--method', 'gaussian', '--no-progress');
    expect(run.code, run.stderr).toBe(1);
    expect(run.stdout.trim().split('\n').at(-1)).toBe(
      `... and ${TRUNCATED - LISTED_PER_CODE} more error(s) not listed; ${TRUNCATED} in all: ${TRUNCATED} E_TRUNCATED; see ${path.join(outDir, ERRORS_FILE)}`,
    );
    const json = await runCli('denoise', input, '-o', outDir, '--method', 'gaussian', '--no-progress', '--json');
    expect((JSON.parse(json.stdout) as DenoiseReport).errorsFile).toBe(path.join(outDir, ERRORS_FILE));
  }, 60_000);

  it('a rerun into -o inside the input neither reads the list as input nor trips over it; --overwrite rewrites it', async () => {
    const folder = path.join(root, 'inside');
    mkdirSync(folder);
    await runPhantom('water', { outDir: path.join(folder, 'series'), size: 32, slices: 2, uidSeed: 'unreadable-list-inside' });
    writeJunkFolder(path.join(folder, 'junk'), { notDicom: 0, truncatedOf: path.join(series, readdirSync(series).sort()[0]!), truncated: 3, seed: 4 });
    const outDir = path.join(folder, 'out');
    const first = await denoisePaths([folder], { outDir, method: 'gaussian' });
    expect(first.errorCount).toBe(3);
    const rerun = await denoisePaths([folder], { outDir, method: 'gaussian' });
    expect(rerun.series.map((s) => s.skipped)).toEqual([true]);
    expect(rerun.errorCount).toBe(3);
    expect(rerun.errors.map((e) => e.path)).toEqual(first.errors.map((e) => e.path));
    expect(readList(path.join(outDir, ERRORS_FILE)).entries).toEqual(first.errors);
    const overwritten = await denoisePaths([folder], { outDir, method: 'gaussian', overwrite: true });
    expect(overwritten.series.map((s) => s.skipped ?? false)).toEqual([false]);
    expect(overwritten.errorsFile).toBe(path.join(outDir, ERRORS_FILE));
    expect(readList(path.join(outDir, ERRORS_FILE)).entries).toEqual(first.errors);

    // Every file reads now: the list of an earlier run goes with it, report.json names none.
    rmSync(path.join(folder, 'junk'), { recursive: true });
    const clean = await denoisePaths([folder], { outDir, method: 'gaussian' });
    expect(clean.errorCount).toBe(0);
    expect(clean.errorsFile).toBeUndefined();
    expect(existsSync(path.join(outDir, ERRORS_FILE))).toBe(false);
  }, 120_000);

  it('simulate --json names the whole list in its output folder', async () => {
    const outDir = path.join(root, 'sim');
    const run = await runCli('simulate', input, '-o', outDir, '--dose', '0.5', '--json');
    expect(run.code, run.stderr).toBe(1);
    const result = JSON.parse(run.stdout) as { errors: unknown[]; errorCount: number; errorsFile?: string };
    expect(result.errors).toHaveLength(LISTED_PER_CODE);
    expect(result.errorCount).toBe(TRUNCATED);
    expect(result.errorsFile).toBe(path.join(outDir, ERRORS_FILE));
    expect(readList(result.errorsFile!).entries.map((e) => e.path)).toEqual(truncatedFiles);
  }, 60_000);
});

describe('info --errors-file', () => {
  it('writes every unreadable file to the file given and names it; the output lists 100', async () => {
    const file = path.join(root, 'info', 'all-errors.tsv');
    const run = await runCli('info', input, '--errors-file', file, '--json');
    expect(run.code, run.stderr).toBe(1);
    const result = JSON.parse(run.stdout) as { errors: unknown[]; errorCount: number; errorsFile?: string };
    expect(result.errors).toHaveLength(LISTED_PER_CODE);
    expect(result.errorCount).toBe(TRUNCATED);
    expect(result.errorsFile).toBe(file);
    expect(readList(file).entries.map((e) => e.path)).toEqual(truncatedFiles);

    const text = await runCli('info', input, '--errors-file', file);
    expect(text.stdout).toContain(`  ... and ${TRUNCATED - LISTED_PER_CODE} more error(s) not listed; ${TRUNCATED} in all: ${TRUNCATED} E_TRUNCATED; see ${file}`);
  }, 60_000);

  it('a folder that reads whole gives a list of its header alone; a PACS address is refused (exit 2)', async () => {
    const file = path.join(root, 'info', 'none.tsv');
    const run = await runCli('info', series, '--errors-file', file, '--json');
    expect(run.code, run.stderr).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(`${ERRORS_FILE_HEADER}\n`);
    const remote = await runCli('info', 'dimse://PACS@127.0.0.1:1', '--errors-file', file);
    expect(remote.code).toBe(2);
    expect(remote.stderr).toContain('--errors-file');
  }, 60_000);
});

describe('the list file format', () => {
  it('escapes tabs, newlines and backslashes in a field and reads them back', () => {
    const entry = { path: '/data/a\tb\\c.dcm', code: 'E_DECODE', message: 'line one\nline two\r' };
    const line = errorListLine(entry);
    expect(line.split('\t')).toHaveLength(3);
    expect(line).not.toContain('\n');
    expect(parseErrorList(`${ERRORS_FILE_HEADER}\n${line}\n`)).toEqual([entry]);
  });
});
