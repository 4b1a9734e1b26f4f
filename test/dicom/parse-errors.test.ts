/**
 * Parse failures are told in words about the file, with the stable codes: never dicom-parser's
 * function names ("dicomParser.readSequenceItem", "littleEndianByteArrayParser.readUint16") or
 * the engine's "Maximum call stack size exceeded". Cases are real corpus files cut or corrupted
 * the way the fuzzer (scripts/fuzz) found them to surface those words.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isLowdoseError, type LowdoseError } from '../../src/errors.js';
import { parseDicomBytes } from '../../src/dicom/index.js';
import { corpusPath } from './helpers/corpus.js';

const LIBRARY_WORDS = /dicomParser|ByteArrayParser|maxP ?osition|call stack|RangeError|readFixedString|readSequenceItem/;

function parseError(bytes: Uint8Array): LowdoseError {
  try {
    parseDicomBytes(bytes, 'case.dcm');
  } catch (error) {
    if (isLowdoseError(error)) return error;
    throw error;
  }
  throw new Error('parsed without error');
}

const read = (relative: string) => new Uint8Array(readFileSync(corpusPath(relative)));

/** Inserts `element` before the data set's first element (explicit VR little endian files). */
function insertFirst(bytes: Uint8Array, element: Uint8Array): Uint8Array {
  const first = Math.min(...Object.values(parseDicomBytes(bytes).dataSet.elements).map((e) => e.dataOffset));
  const at = first - 8; // (0008,0005) CS or (0008,0008) CS: a short-VR header
  const out = new Uint8Array(bytes.length + element.length);
  out.set(bytes.subarray(0, at));
  out.set(element, at);
  out.set(bytes.subarray(at), at + element.length);
  return out;
}

function le32(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
}

/** (0009,1010) SQ of undefined length, nested `depth` levels deep through undefined-length items. */
function nestedSequences(depth: number): Uint8Array {
  const open = [0x09, 0x00, 0x10, 0x10, 0x53, 0x51, 0, 0, ...le32(0xffffffff), 0xfe, 0xff, 0x00, 0xe0, ...le32(0xffffffff)];
  const close = [0xfe, 0xff, 0x0d, 0xe0, ...le32(0), 0xfe, 0xff, 0xdd, 0xe0, ...le32(0)];
  const out = new Uint8Array(depth * (open.length + close.length));
  for (let i = 0; i < depth; i++) out.set(open, i * open.length);
  for (let i = 0; i < depth; i++) out.set(close, depth * open.length + i * close.length);
  return out;
}

describe('parse errors say what is wrong with the file', () => {
  it.each([
    ['cornerstonejs__dicomParser/testImages/encapsulated/single-frame/CT1_UNC.fragmented_bot_jpeg_ls.80.dcm', 133412],
    ['pydicom__pydicom/src/pydicom/data/test_files/dicomdirtests/77654033/CT2/17106', 2565],
    ['fo-dicom__fo-dicom/Tests/FO-DICOM.Tests/Test Data/GH220.dcm', 163],
  ])('%s cut at byte %i is E_TRUNCATED: the file ends inside an element', (file, at) => {
    const error = parseError(read(file).slice(0, at));
    expect(error.code).toBe('E_TRUNCATED');
    expect(error.message).toMatch(/^case\.dcm: truncated/);
    expect(error.message).not.toMatch(LIBRARY_WORDS);
  });

  it('sequences nested 20000 deep are E_MALFORMED "nested too deeply", not a stack overflow message', () => {
    const bytes = insertFirst(read('pydicom__pydicom/src/pydicom/data/test_files/liver_1frame.dcm'), nestedSequences(20000));
    const error = parseError(bytes);
    expect(error.code).toBe('E_MALFORMED');
    expect(error.message).toContain('sequences nested too deeply');
    expect(error.message).not.toMatch(LIBRARY_WORDS);
  });

  it('a sequence whose content is not an item is E_MALFORMED naming the byte where the item should start', () => {
    const garbage = [...'NOT AN ITEM AT ALL'].map((c) => c.charCodeAt(0));
    const sequence = new Uint8Array([0x09, 0x00, 0x10, 0x10, 0x53, 0x51, 0, 0, ...le32(garbage.length), ...garbage]);
    const error = parseError(insertFirst(read('pydicom__pydicom/src/pydicom/data/test_files/liver_1frame.dcm'), sequence));
    expect(error.code).toBe('E_MALFORMED');
    expect(error.message).toMatch(/a sequence has no item where its next item must start \(byte \d+\)/);
    expect(error.message).not.toMatch(LIBRARY_WORDS);
  });
});
