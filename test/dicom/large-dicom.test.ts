/**
 * A large file that carries the "DICM" marker is judged by its header before any pixel data is
 * read (src/dicom/parse.ts `readDicomFile`, src/dicom/file-size.ts): past MAX_DICOM_FILE_BYTES a
 * file that cannot be read frame by frame is E_FILE_TOO_LARGE, and native pixel data that the
 * declared frames x rows x columns x bits cannot account for is refused. Sparse files (no disk
 * used) made from real corpus headers stand in for a 3 GiB file with a DICOM preamble and for a
 * multi-frame file far over the limit. (A large file read frame by frame: ./framed-read.test.ts.)
 */
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import dicomParser from 'dicom-parser';
import { afterAll, describe, expect, it } from 'vitest';
import { readDicomFile, readInstanceHeader, scanPaths } from '../../src/dicom/index.js';
import { MAX_DICOM_FILE_BYTES } from '../../src/dicom/file-size.js';
import { HEADER_FIRST_BYTES } from '../../src/dicom/parse.js';
import { DEFAULT_MAX_INSTANCE_BYTES as DICOMWEB_MAX } from '../../src/dicomweb/client.js';
import { DEFAULT_MAX_INSTANCE_BYTES as DIMSE_MAX } from '../../src/dimse/receive.js';
import { formatBytes } from '../../src/util/bytes.js';
import { failure } from '../helpers/lowdose-failure.js';
import { encodeElement, withElement } from '../helpers/mutate-dicom.js';
import { corpusPath } from './helpers/corpus.js';

const CT_SMALL = corpusPath('pydicom__pydicom/src/pydicom/data/test_files/CT_small.dcm');
const ENHANCED_CT = corpusPath('pydicom__pydicom-data/data_store/data/eCT_Supplemental.dcm');
const GiB = 1024 ** 3;

const root = mkdtempSync(path.join(tmpdir(), 'lowdose-large-dicom-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A sparse file of `size` bytes starting with `head` (the rest reads as zeros). */
function sparseFile(file: string, size: number, head: Uint8Array): string {
  mkdirSync(path.dirname(file), { recursive: true });
  const fd = openSync(file, 'w');
  try {
    writeSync(fd, head, 0, head.length, 0);
    if (size > head.length) writeSync(fd, new Uint8Array(1), 0, 1, size - 1);
  } finally {
    closeSync(fd);
  }
  return file;
}

const original = (file: string) => new Uint8Array(readFileSync(file));

/** `bytes` up to the value of its Pixel Data element, that element's length field set to `length`. */
function headerDeclaring(bytes: Uint8Array, length: number): Uint8Array {
  const element = dicomParser.parseDicom(bytes, { untilTag: 'x7fe00010' }).elements.x7fe00010!;
  const head = bytes.slice(0, element.dataOffset);
  new DataView(head.buffer).setUint32(element.dataOffset - 4, length, true);
  return head;
}

describe('a large DICOM file is judged by its header before it is read whole', () => {
  it('the per-file limit is the one a PACS pull has (DICOMweb and DIMSE)', () => {
    expect(MAX_DICOM_FILE_BYTES).toBe(GiB);
    expect(DICOMWEB_MAX).toBe(MAX_DICOM_FILE_BYTES);
    expect(DIMSE_MAX).toBe(MAX_DICOM_FILE_BYTES);
  });

  it('a 3 GiB file holding a whole CT slice behind its DICM preamble is E_FILE_TOO_LARGE, naming what its header declares', async () => {
    const file = sparseFile(path.join(root, 'preamble', 'huge.dcm'), 3 * GiB, original(CT_SMALL));
    const rest = 3 * GiB - (original(CT_SMALL).length);
    expect(await failure(readDicomFile(file))).toEqual({
      code: 'E_FILE_TOO_LARGE',
      message: `${file}: 3 GiB (${3 * GiB} bytes), more than the 1 GiB lowdose reads of one DICOM file whole, and not readable frame by frame: ${formatBytes(rest)} follow its pixel data, more than its header accounts for; its header declares 1 frame(s) of 128 x 128 x 16 bits (32 KiB of pixel data decoded); not read`,
    });
  });

  it('a multi-frame file declaring 6,000 frames of 512 x 512 (3 GiB of pixel data) with per-frame groups for 2 is refused by its header, never read', async () => {
    const frames = withElement(original(ENHANCED_CT), 'x00280008', encodeElement('x00280008', 'IS', '6000'));
    const need = 6000 * 512 * 512 * 2;
    const head = headerDeclaring(frames, need);
    const file = sparseFile(path.join(root, 'multiframe', 'enhanced.dcm'), head.length + need, head);
    expect(await failure(readInstanceHeader(file))).toEqual({
      code: 'E_MALFORMED',
      message: `${file}: NumberOfFrames is 6000 but the Per-frame Functional Groups Sequence has 2 item(s)`,
    });
  });

  it('a file under the limit whose pixel data declares far more than its frames need is E_MALFORMED, as a small one is; one cut short E_TRUNCATED', async () => {
    const declared = 200 * 1024 * 1024;
    const head = headerDeclaring(original(CT_SMALL), declared);
    const file = sparseFile(path.join(root, 'inconsistent', 'padded.dcm'), head.length + declared, head);
    expect(await failure(readInstanceHeader(file))).toEqual({
      code: 'E_MALFORMED',
      message: `${file}: malformed: pixel data declares ${declared} bytes (200 MiB) but 1 frame(s) of 128 x 128 x 16 bits need 32768 (32 KiB): the header and the pixel data disagree; not read`,
    });
    // The same inconsistency in a small file, read whole: the same code.
    const small = withElement(original(CT_SMALL), 'x7fe00010', encodeElement('x7fe00010', 'OW', new Uint8Array(3 * 32768)));
    const smallFile = path.join(root, 'inconsistent-small', 'small.dcm');
    mkdirSync(path.dirname(smallFile), { recursive: true });
    writeFileSync(smallFile, small);
    expect((await failure(readInstanceHeader(smallFile))).code).toBe('E_MALFORMED');
    // Pixel data running past the end of the file: E_TRUNCATED, as reading it whole says.
    const need = 40 * 512 * 512 * 2;
    const cutHead = headerDeclaring(withElement(original(ENHANCED_CT), 'x00280008', encodeElement('x00280008', 'IS', '40')), need);
    const cut = sparseFile(path.join(root, 'truncated', 'cut.dcm'), cutHead.length + need / 2, cutHead);
    const error = await failure(readInstanceHeader(cut));
    expect(error.code).toBe('E_TRUNCATED');
    expect(error.message).toContain(`element (7FE0,0010) declares ${need} bytes but the file has only ${need / 2} left`);
  });

  it('a scan keeps every such file on record and reads the rest; a large valid file with a large header still reads', async () => {
    // eCT_Supplemental (1 MB, over HEADER_FIRST_BYTES) with a 300 KiB private element before its
    // pixel data: its header takes more than one read.
    const padded = withElement(original(ENHANCED_CT), 'x00091010', encodeElement('x00091010', 'OB', new Uint8Array(300 * 1024)));
    expect(padded.length).toBeGreaterThan(HEADER_FIRST_BYTES);
    const dir = path.join(root, 'scan');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'enhanced.dcm'), padded);
    sparseFile(path.join(dir, 'huge.dcm'), 3 * GiB, original(CT_SMALL));
    const header = await readInstanceHeader(path.join(dir, 'enhanced.dcm'));
    expect([header.rows, header.columns, header.frames]).toEqual([512, 512, 2]);
    const scan = await scanPaths([dir]);
    expect(scan.series.map((s) => s.slices.length)).toEqual([2]);
    expect(scan.errors.map((e) => [path.basename(e.path!), e.code])).toEqual([['huge.dcm', 'E_FILE_TOO_LARGE']]);
  });
});
