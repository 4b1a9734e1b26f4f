/**
 * A file's frames are bounded by count, not only by bytes (src/dicom/file-size.ts
 * MAX_FRAMES_PER_FILE, checked in src/dicom/frames.ts checkDeclaredFrames): what a frame costs is
 * the bookkeeping kept for it, so a file of a few hundred kilobytes declaring 100,000 frames of
 * 1 x 1, its pixel data holding every one of them, is refused from its header with
 * E_FILE_TOO_LARGE, before any per-frame work; so is a file that takes its series or the run past
 * their bounds (src/dicom/scan.ts), and a Per-frame Functional Groups Sequence of more items than
 * frames is E_MALFORMED at its first item too many (src/dicom/walk-data-set.ts). The files are eCT_Supplemental's header with
 * Rows = Columns = 1 and many frames, written by test/dicom/data/write-many-frames.py (native, or
 * RLE with one fragment per frame; with or without one Per-frame Functional Groups item per frame).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { KnownHeaders, readInstanceHeader, readSlicePixels, scanPaths } from '../../src/dicom/index.js';
import { MAX_FRAMES_PER_FILE } from '../../src/dicom/file-size.js';
import { MAX_SCAN_FRAMES, MAX_SERIES_FRAMES } from '../../src/dicom/scan.js';
import { runCli } from '../helpers/cli.js';
import { failure } from '../helpers/lowdose-failure.js';
import { corpusPath } from './helpers/corpus.js';

const PYTHON = '/usr/bin/python3';
const WRITER = fileURLToPath(new URL('data/write-many-frames.py', import.meta.url));
const ENHANCED_CT = corpusPath('pydicom__pydicom-data/data_store/data/eCT_Supplemental.dcm');
const JPEG2K_FRAMES = corpusPath('pydicom__pydicom-data/data_store/data/emri_small_jpeg_2k_lossless.dcm');
const root = mkdtempSync(path.join(tmpdir(), 'lowdose-frame-count-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A file of `frames` 1 x 1 frames written by write-many-frames.py with `args`, in the folder `name` (`file` its name there). */
function manyFrames(name: string, frames: number, ...args: string[]): string {
  return frameFile(name, name, frames, ...args);
}

function frameFile(folder: string, name: string, frames: number, ...args: string[]): string {
  const file = path.join(root, folder, `${name}.dcm`);
  mkdirSync(path.dirname(file), { recursive: true });
  const run = spawnSync(PYTHON, [WRITER, ENHANCED_CT, file, String(frames), ...args], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`write-many-frames.py failed: ${run.stderr}`);
  return file;
}

const TOO_MANY = /its header declares 100000 frames, more than the 20,000 lowdose reads of one DICOM file; not read/;

describe('the frames of one file are bounded by count', () => {
  it('refuses a 200 KB native file whose pixel data holds 100,000 frames of 1 x 1 (E_FILE_TOO_LARGE), in scanPaths and `lowdose info`', async () => {
    const file = manyFrames('native', 100_000);
    expect(statSync(file).size).toBeLessThan(250_000);
    const error = await failure(readInstanceHeader(file));
    expect(error.code).toBe('E_FILE_TOO_LARGE');
    expect(error.message).toMatch(TOO_MANY);
    const scan = await scanPaths([file, ENHANCED_CT]);
    expect(scan.series.map((s) => s.slices.length)).toEqual([2]);
    expect(scan.errors.map((e) => e.code)).toEqual(['E_FILE_TOO_LARGE']);
    const cli = await runCli('info', path.dirname(file), '--json');
    expect(cli.code).toBe(1);
    expect(JSON.parse(cli.stdout).errors.map((e: { code: string }) => e.code)).toEqual(['E_FILE_TOO_LARGE']);
  });

  it('refuses an Enhanced CT with one Per-frame Functional Groups item for each of its 100,000 frames (E_FILE_TOO_LARGE)', async () => {
    const file = manyFrames('enhanced', 100_000, '--items', '100000');
    const error = await failure(readInstanceHeader(file));
    expect(error.code).toBe('E_FILE_TOO_LARGE');
    expect(error.message).toMatch(TOO_MANY);
  });

  it('refuses RLE pixel data of one fragment for each of 100,000 frames (E_FILE_TOO_LARGE)', async () => {
    const file = manyFrames('rle', 100_000, '--syntax', 'rle');
    const error = await failure(readInstanceHeader(file));
    expect(error.code).toBe('E_FILE_TOO_LARGE');
    expect(error.message).toMatch(TOO_MANY);
  });

  it('refuses a Per-frame Functional Groups Sequence of more items than frames (E_MALFORMED naming both) at the first item too many, in a file read whole and in one whose header is read first', async () => {
    const few = manyFrames('items-3', 2, '--items', '3');
    const fewError = await failure(readInstanceHeader(few));
    expect(fewError.code).toBe('E_MALFORMED');
    expect(fewError.message).toMatch(/NumberOfFrames is 2 but the Per-frame Functional Groups Sequence holds more than 2 item\(s\) \(item 3 at byte \d+\); one item per frame/);
    // 200,000 empty items (1.6 MB, past the 1 MiB from which a header is read before the file).
    const many = manyFrames('items-200000', 2, '--items', '200000', '--empty-items');
    expect(statSync(many).size).toBeGreaterThan(1024 * 1024);
    const manyError = await failure(readInstanceHeader(many));
    expect(manyError.code).toBe('E_MALFORMED');
    expect(manyError.message).toMatch(/NumberOfFrames is 2 but the Per-frame Functional Groups Sequence holds more than 2 item\(s\) \(item 3 at byte \d+\)/);
    const cli = await runCli('info', path.dirname(many), '--json');
    expect(JSON.parse(cli.stdout).errors.map((e: { code: string; message: string }) => [e.code, /holds more than 2 item/.test(e.message)])).toEqual([['E_MALFORMED', true]]);
  });

  it(`reads a file of exactly ${MAX_FRAMES_PER_FILE} frames, and the multi-frame files of the corpus`, async () => {
    // A series of its own: eCT_Supplemental's 2 frames are of the series it was made from.
    const file = manyFrames('at-bound', MAX_FRAMES_PER_FILE, '--items', String(MAX_FRAMES_PER_FILE), '--series', '1');
    const scan = await scanPaths([file, ENHANCED_CT, JPEG2K_FRAMES]);
    expect(scan.errors.map((e) => e.message)).toEqual([]);
    expect(scan.series.map((s) => s.slices.length).sort((a, b) => a - b)).toEqual([2, 10, MAX_FRAMES_PER_FILE]);
    const bound = scan.series.find((s) => s.slices.length === MAX_FRAMES_PER_FILE)!;
    const last = bound.slices.find((s) => s.frame === MAX_FRAMES_PER_FILE - 1)!;
    // Frame k holds k mod 2000, RescaleIntercept -1024.
    expect(Array.from((await readSlicePixels(last, bound.units)).data)).toEqual([((MAX_FRAMES_PER_FILE - 1) % 2000) - 1024]);
  });
});

describe('the frames of a series and of a run are bounded', () => {
  it(`refuses a file that takes its series past ${MAX_SERIES_FRAMES} frames (E_FILE_TOO_LARGE) from the frames its header declares, before its per-frame groups are read, and keeps the series read before it`, async () => {
    const count = MAX_SERIES_FRAMES / MAX_FRAMES_PER_FILE + 1;
    // The last file's per-frame groups hold a RescaleSlope of 0: read, they are E_MALFORMED.
    const files = Array.from({ length: count }, (_, i) =>
      frameFile('series', `i${String(i + 1).padStart(2, '0')}`, MAX_FRAMES_PER_FILE, '--instance', String(i + 1), ...(i + 1 === count ? ['--items', String(MAX_FRAMES_PER_FILE), '--zero-slope'] : [])),
    );
    expect((await failure(readInstanceHeader(files.at(-1)!))).message).toMatch(/invalid RescaleSlope 0/);
    const scan = await scanPaths([path.join(root, 'series')]);
    expect(scan.series.map((s) => s.slices.length)).toEqual([MAX_SERIES_FRAMES]);
    expect(scan.errors.map((e) => [e.path, e.code])).toEqual([[files.at(-1), 'E_FILE_TOO_LARGE']]);
    expect(scan.errors[0]!.message).toMatch(/holds 100,000 frame\(s\) in the files read before it; its 20,000 frame\(s\) would take it past the 100,000 lowdose reads of one series; not read/);
  });

  it(`bounds a scan given the headers read before as a fresh scan: a file refused past ${MAX_SERIES_FRAMES} frames is read again once it fits`, async () => {
    const files = Array.from({ length: MAX_SERIES_FRAMES / MAX_FRAMES_PER_FILE + 1 }, (_, i) =>
      frameFile('series-known', `i${String(i + 1).padStart(2, '0')}`, MAX_FRAMES_PER_FILE, '--instance', String(i + 1)),
    );
    const folder = path.join(root, 'series-known');
    const known = new KnownHeaders();
    const answer = (scan: Awaited<ReturnType<typeof scanPaths>>) => [scan.series.map((s) => s.slices.length), scan.errors.map((e) => [e.path, e.code, e.message])];
    const first = await scanPaths([folder], { knownHeaders: known, forgetUnmet: true });
    expect(answer(first)).toEqual(answer(await scanPaths([folder])));
    expect(first.errors.map((e) => e.path)).toEqual([files.at(-1)]);
    // The refused file's header is not kept: no more headers are held than the scan keeps.
    expect(known.size).toBe(files.length - 1);
    expect(answer(await scanPaths([folder], { knownHeaders: known, forgetUnmet: true }))).toEqual(answer(first));
    // The first file removed: the last one fits its series now, as in a fresh scan.
    unlinkSync(files[0]!);
    const after = await scanPaths([folder], { knownHeaders: known, forgetUnmet: true });
    expect(answer(after)).toEqual(answer(await scanPaths([folder])));
    expect(after.series.map((s) => s.slices.length)).toEqual([MAX_SERIES_FRAMES]);
    expect(after.errors).toEqual([]);
    expect(known.size).toBe(files.length - 1);
  });

  it(`refuses the files past ${MAX_SCAN_FRAMES} frames in one scan (E_FILE_TOO_LARGE) from the frames their headers declare, each series within its own bound`, async () => {
    const count = MAX_SCAN_FRAMES / MAX_FRAMES_PER_FILE + 1;
    // The last file's per-frame groups, E_MALFORMED when read, are not read.
    const files = Array.from({ length: count }, (_, i) =>
      frameFile('run', `s${String(i + 1).padStart(2, '0')}`, MAX_FRAMES_PER_FILE, '--series', String(i + 1), ...(i + 1 === count ? ['--items', String(MAX_FRAMES_PER_FILE), '--zero-slope'] : [])),
    );
    const scan = await scanPaths([path.join(root, 'run')]);
    expect(scan.series.reduce((sum, s) => sum + s.slices.length, 0)).toBe(MAX_SCAN_FRAMES);
    expect(scan.errors.map((e) => [e.path, e.code])).toEqual([[files.at(-1), 'E_FILE_TOO_LARGE']]);
    expect(scan.errors[0]!.message).toMatch(/the files read before it hold 200,000 frame\(s\); its 20,000 frame\(s\) would take them past the 200,000 lowdose reads in one run; not read: run over fewer folders at a time \(split the input into runs of at most 200,000 frames\)/);
  });
});
