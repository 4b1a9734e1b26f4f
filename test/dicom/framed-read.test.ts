/**
 * A large multi-frame file is read frame by frame (src/dicom/parse.ts `readDicomFile`,
 * src/dicom/pixel-file.ts, src/dicom/frames.ts): past FRAMED_READ_BYTES only its header stays in
 * memory and each frame is read from the file when asked for, native or encapsulated, up to
 * MAX_FRAMED_FILE_BYTES. The files are Enhanced CTs laid out by pydicom
 * (test/dicom/data/write-enhanced-ct.py: eCT_Supplemental's header with one per-frame item per
 * frame, the pixel data written frame by frame), sparse where their frames are not read; frame k's
 * stored value at (r, c) is (37 k + 3 r + c) mod 2000, RescaleIntercept -1024.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { clearSliceCache, readDicomFile, readInstanceHeader, readSlicePixels, scanPaths, type Series } from '../../src/dicom/index.js';
import { createDerivedSeriesWriter } from '../../src/dicom/write-derived.js';
import { FRAMED_READ_BYTES, MAX_DICOM_FILE_BYTES, MAX_FRAMED_FILE_BYTES } from '../../src/dicom/file-size.js';
import { failure } from '../helpers/lowdose-failure.js';
import { corpusPath } from './helpers/corpus.js';

const PYTHON = '/usr/bin/python3';
const WRITER = fileURLToPath(new URL('data/write-enhanced-ct.py', import.meta.url));
const ENHANCED_CT = corpusPath('pydicom__pydicom-data/data_store/data/eCT_Supplemental.dcm');
const root = mkdtempSync(path.join(tmpdir(), 'lowdose-framed-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
beforeEach(() => clearSliceCache());

/** An Enhanced CT of `frames` 512 x 512 frames written by write-enhanced-ct.py with `args`. */
function enhancedCt(name: string, frames: number, ...args: string[]): string {
  const file = path.join(root, name, 'enhanced.dcm');
  mkdirSync(path.dirname(file), { recursive: true });
  const run = spawnSync(PYTHON, [WRITER, ENHANCED_CT, file, String(frames), ...args], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`write-enhanced-ct.py failed: ${run.stderr}`);
  return file;
}

/** Frame k in HU as the writer stored it. */
function expectedFrame(k: number): Float32Array {
  const out = new Float32Array(512 * 512);
  for (let r = 0; r < 512; r++) for (let c = 0; c < 512; c++) out[r * 512 + c] = ((k * 37 + r * 3 + c) % 2000) - 1024;
  return out;
}

async function onlySeries(file: string): Promise<Series> {
  const scan = await scanPaths([file]);
  expect(scan.errors.map((e) => e.message)).toEqual([]);
  expect(scan.series).toHaveLength(1);
  return scan.series[0]!;
}

async function frameHu(series: Series, frame: number): Promise<Float32Array> {
  const slice = series.slices.find((s) => s.frame === frame)!;
  return (await readSlicePixels(slice, series.units)).data;
}

/** The header alone is held: a parse whose bytes end where the pixel data starts. */
async function expectHeaderOnly(file: string): Promise<void> {
  const parsed = await readDicomFile(file);
  expect(parsed.pixelFile).toEqual({ path: file, size: statSync(file).size });
  expect(parsed.dataSet.byteArray.length).toBeLessThan(2 * 1024 * 1024);
}

describe('a large multi-frame file is read frame by frame', () => {
  it('a 68 MiB native Enhanced CT keeps only its header in memory; its frames read from the file are the stored ones', async () => {
    const file = enhancedCt('native', 136, '--written', '0,77,135');
    expect(statSync(file).size).toBeGreaterThan(FRAMED_READ_BYTES);
    await expectHeaderOnly(file);
    const series = await onlySeries(file);
    expect(series.slices).toHaveLength(136);
    for (const k of [0, 77, 135]) expect(await frameHu(series, k)).toEqual(expectedFrame(k));
    // A derived slice is written from the header alone: frame 77's place and values.
    const index = series.slices.findIndex((s) => s.frame === 77);
    const writer = createDerivedSeriesWriter(series, { outDir: path.join(root, 'native-derived'), derivationDescription: 'framed-read test' });
    const out = await writer.writeSlice(index, expectedFrame(77));
    const derived = await onlySeries(out);
    expect(derived.slices[0]!.position).toEqual(series.slices[index]!.position);
    expect(await frameHu(derived, 0)).toEqual(expectedFrame(77));
  });

  it('an Enhanced CT of 2,100 frames, past the 1 GiB read whole, is a series whose last frame reads back', async () => {
    const file = enhancedCt('past-1gib', 2100, '--written', '2099');
    expect(statSync(file).size).toBeGreaterThan(MAX_DICOM_FILE_BYTES);
    expect((await readInstanceHeader(file)).frames).toBe(2100);
    const series = await onlySeries(file);
    expect(series.slices).toHaveLength(2100);
    expect(await frameHu(series, 2099)).toEqual(expectedFrame(2099));
  });

  it('encapsulated (RLE) pixel data has its fragments found by walking item headers, with or without a basic offset table, a frame in one fragment or two', async () => {
    for (const table of [[], ['--no-table'], ['--split']]) {
      const file = enhancedCt(`rle${table.join('')}`, 136, '--syntax', 'rle', '--written', '0,77,135', ...table);
      expect(statSync(file).size).toBeGreaterThan(FRAMED_READ_BYTES);
      await expectHeaderOnly(file);
      const series = await onlySeries(file);
      expect(series.slices).toHaveLength(136);
      for (const k of [77, 135]) expect(await frameHu(series, k)).toEqual(expectedFrame(k));
    }
  });

  it('keeps the refusals: a fragment past the end of the file, a file cut short after its header was read, past 64 GiB', async () => {
    const cut = enhancedCt('rle-cut', 136, '--syntax', 'rle', '--no-table', '--cut', '100');
    const error = await failure(readInstanceHeader(cut));
    expect(error.code).toBe('E_TRUNCATED');
    expect(error.message).toContain('fragment 136 of the pixel data declares 528448 bytes but the file has only 528356 left');

    const file = enhancedCt('shrunk', 136, '--written', '135');
    const series = await onlySeries(file);
    await frameHu(series, 0); // the file's header is now held (src/dicom/read-slice.ts keeps the last file read)
    truncateSync(file, statSync(file).size - 1000);
    const shrunk = await failure(frameHu(series, 135));
    expect(shrunk.code).toBe('E_TRUNCATED');
    expect(shrunk.message).toContain('inside pixel data its header placed up to byte');

    // A header followed by a hole past MAX_FRAMED_FILE_BYTES (sparse: no disk used).
    const huge = enhancedCt('huge', 2, '--tail', String(MAX_FRAMED_FILE_BYTES));
    const tooLarge = await failure(readDicomFile(huge));
    expect(tooLarge.code).toBe('E_FILE_TOO_LARGE');
    expect(tooLarge.message).toContain('more than the 64 GiB lowdose reads of one DICOM file frame by frame; its header declares 2 frame(s) of 512 x 512 x 16 bits');
  });
});
