/**
 * Declared sizes are believed only as far as the bytes behind them (src/dicom/frames.ts,
 * checkDeclaredFrames): real corpus files, mutated in memory, that declare more frames, pixels or
 * per-frame items than they hold fail at once with a stable code, before any per-frame work.
 */
import { readFileSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { failure } from '../helpers/lowdose-failure.js';
import { parseDicomBytes, readImageHeader, readInstanceHeader, scanPaths } from '../../src/dicom/index.js';
import { ALWAYS_INFLATE_BYTES, MAX_DATA_SET_ENTRIES, MAX_DEFLATE_RATIO } from '../../src/dicom/parse.js';
import { encodeElement, withDeflatedZeros, withElement, withEmptyItems, withVr, writeTemporary } from '../helpers/mutate-dicom.js';
import { runCli } from '../helpers/cli.js';
import { corpusPath } from './helpers/corpus.js';

const CT_SMALL = corpusPath('pydicom__pydicom/src/pydicom/data/test_files/CT_small.dcm');
const JPEG2K_FRAMES = corpusPath('pydicom__pydicom-data/data_store/data/emri_small_jpeg_2k_lossless.dcm');
const ENHANCED_CT = corpusPath('pydicom__pydicom-data/data_store/data/eCT_Supplemental.dcm');
const DEFLATED_CT = corpusPath('cornerstonejs__cornerstone3D/packages/dicomImageLoader/testImages/CTImage.dcm_DeflatedExplicitVRLittleEndianTransferSyntax_1.2.840.10008.1.2.1.99.dcm');

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function temporary(bytes: Uint8Array, name: string): string {
  const path = writeTemporary(bytes, name, 'sizes');
  dirs.push(dirname(path));
  return path;
}

const original = (path: string) => new Uint8Array(readFileSync(path));

describe('declared sizes against the bytes', () => {
  it('refuses a 39 KB file declaring 2^31 - 1 frames before any per-frame work (E_TRUNCATED)', async () => {
    const bytes = withElement(original(CT_SMALL), 'x00280008', encodeElement('x00280008', 'IS', '2147483647'));
    expect(bytes.length).toBeLessThan(40_000);
    const path = temporary(bytes, 'frames.dcm');
    const error = await failure(readInstanceHeader(path));
    expect(error.code).toBe('E_TRUNCATED');
    expect(error.message).toMatch(/2147483647 frame/);
    // readImageHeader alone (the per-frame geometry loop) is guarded too.
    expect(() => readImageHeader(parseDicomBytes(bytes, path))).toThrow(/2147483647 frame/);
  });

  it('refuses an encapsulated file declaring more frames than it has fragments', async () => {
    const bytes = withElement(original(JPEG2K_FRAMES), 'x00280008', encodeElement('x00280008', 'IS', '2147483647'));
    const error = await failure(readInstanceHeader(temporary(bytes, 'fragments.dcm')));
    expect(error.code).toBe('E_TRUNCATED');
    expect(error.message).toMatch(/holds only 10 fragment/);
  });

  it('refuses Rows x Columns that the native pixel data cannot hold, and frames too large to allocate', async () => {
    const bigger = withElement(
      withElement(original(CT_SMALL), 'x00280010', encodeElement('x00280010', 'US', new Uint8Array([0x00, 0x20]))),
      'x00280011',
      encodeElement('x00280011', 'US', new Uint8Array([0x00, 0x20])),
    );
    expect((await failure(readInstanceHeader(temporary(bigger, 'rows.dcm')))).message).toMatch(/8192 x 8192 x 16 bits need/);
    const huge = withElement(
      withElement(original(CT_SMALL), 'x00280010', encodeElement('x00280010', 'US', new Uint8Array([0xff, 0xff]))),
      'x00280011',
      encodeElement('x00280011', 'US', new Uint8Array([0xff, 0xff])),
    );
    expect((await failure(readInstanceHeader(temporary(huge, 'huge.dcm')))).code).toBe('E_UNSUPPORTED_PIXELS');
  });

  it('refuses a multi-frame file with fewer per-frame functional group items than frames (E_MALFORMED)', async () => {
    // eCT_Supplemental: 2 frames of 512 x 512 x 16 bits and 2 per-frame items. Declare 3 frames and
    // give the pixel data room for 3, so that only the item count is wrong.
    let bytes = withElement(original(ENHANCED_CT), 'x00280008', encodeElement('x00280008', 'IS', '3'));
    bytes = withElement(bytes, 'x7fe00010', encodeElement('x7fe00010', 'OW', new Uint8Array(3 * 512 * 512 * 2)));
    const error = await failure(readInstanceHeader(temporary(bytes, 'items.dcm')));
    expect(error.code).toBe('E_MALFORMED');
    expect(error.message).toMatch(/Per-frame Functional Groups Sequence has 2 item/);
  });

  it('reads a DS whose VR was corrupted to "D=" as the number it holds, not as binary', async () => {
    const path = temporary(withVr(original(CT_SMALL), 'x00280030', 'D='), 'vr.dcm');
    const header = await readInstanceHeader(path);
    const clean = await readInstanceHeader(CT_SMALL);
    expect(header.frameGeometry[0]!.pixelSpacing).toEqual(clean.frameGeometry[0]!.pixelSpacing);
  });

  it('lists the hostile file as an error in scanPaths and `lowdose info` (exit 1), and goes on', async () => {
    const path = temporary(withElement(original(CT_SMALL), 'x00280008', encodeElement('x00280008', 'IS', '2147483647')), 'frames.dcm');
    const scan = await scanPaths([path, CT_SMALL]);
    expect(scan.series).toHaveLength(1);
    expect(scan.errors.map((e) => e.code)).toEqual(['E_TRUNCATED']);
    const cli = await runCli('info', path, '--json');
    expect(cli.code).toBe(1);
    expect(JSON.parse(cli.stdout).errors[0].code).toBe('E_TRUNCATED');
  });

  it('refuses a sequence of more empty items than a data set may hold (E_MALFORMED) while it is read, and reads the file beside it', async () => {
    // Eight bytes per item: MAX_DATA_SET_ENTRIES + 1 items are an 8 MB file; 32 times that fits
    // the server's 256 MB per upload file and took past 4 GB of heap before the bound.
    const bomb = temporary(withEmptyItems(original(CT_SMALL), MAX_DATA_SET_ENTRIES + 1), 'items.dcm');
    const error = await failure(readInstanceHeader(bomb));
    expect(error.code).toBe('E_MALFORMED');
    expect(error.message).toContain(`more than ${MAX_DATA_SET_ENTRIES} elements, sequence items and fragments`);
    const scan = await scanPaths([bomb, CT_SMALL]);
    expect(scan.series).toHaveLength(1);
    expect(scan.errors.map((e) => e.code)).toEqual(['E_MALFORMED']);
  });

  it('refuses a deflated data set that inflates past 64 MiB at more than 128:1 (E_MALFORMED), and reads the deflated corpus file', async () => {
    const bytes = withDeflatedZeros(original(DEFLATED_CT), 80 * 1024 * 1024);
    expect(bytes.length).toBeLessThan(ALWAYS_INFLATE_BYTES / MAX_DEFLATE_RATIO);
    const error = await failure(readInstanceHeader(temporary(bytes, 'deflated.dcm')));
    expect(error.code).toBe('E_MALFORMED');
    expect(error.message).toContain(`deflated data set inflates beyond ${ALWAYS_INFLATE_BYTES} bytes, the most lowdose inflates from`);
    expect((await readInstanceHeader(DEFLATED_CT)).rows).toBe(512);
  });

  it('reads a header with a sequence of many items within the bound', async () => {
    const path = temporary(withEmptyItems(original(CT_SMALL), 100_000), 'items.dcm');
    const header = await readInstanceHeader(path);
    expect(header.sopInstanceUid).toBe((await readInstanceHeader(CT_SMALL)).sopInstanceUid);
  });
});
