/**
 * Pixel data left in its file. A file read frame by frame (./file-size.ts FRAMED_READ_BYTES) keeps
 * only its header in memory (./parse.ts `readDicomFile`); the bytes of a frame are read from the
 * file when the frame is asked for (./frames.ts), with one positioned read. For encapsulated
 * pixel data the item headers are walked here, eight bytes at a time, to find the basic offset
 * table and every fragment's place and length without reading the fragments themselves.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { LowdoseError } from '../errors.js';
import type { Element, Fragment } from './dicom-parser.js';

/** The file a frame-by-frame ParsedFile's pixel data lies in, and its size when its header was read. */
export interface PixelFile {
  readonly path: string;
  readonly size: number;
}

/** Up to `length` bytes of `fd` from `position` (fewer only where the file ends). */
export function readAt(fd: number, position: number, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const read = readSync(fd, bytes, done, length - done, position + done);
    if (read === 0) break;
    done += read;
  }
  return done === length ? bytes : bytes.subarray(0, done);
}

/**
 * `length` bytes at `position` of `file`: E_IO when it cannot be opened, E_TRUNCATED when it now
 * ends before them (it was cut short after its header was read).
 */
export function readPixelBytes(file: PixelFile, position: number, length: number): Uint8Array {
  let fd: number;
  try {
    fd = openSync(file.path, 'r');
  } catch (error) {
    throw new LowdoseError('E_IO', `${file.path}: cannot read its pixel data: ${(error as Error).message}`, { path: file.path, cause: error });
  }
  try {
    const bytes = readAt(fd, position, length);
    if (bytes.length < length) {
      throw new LowdoseError(
        'E_TRUNCATED',
        `${file.path}: truncated: the file ends at byte ${position + bytes.length}, inside pixel data its header placed up to byte ${position + length} (the file was ${file.size} bytes when its header was read)`,
        { path: file.path },
      );
    }
    return bytes;
  } finally {
    closeSync(fd);
  }
}

const ITEM = 0xe000;
const SEQUENCE_DELIMITER = 0xe0dd;

/**
 * Fills in an encapsulated Pixel Data element whose header alone was parsed (`element.dataOffset`
 * is where its items start in the file `fd` of `size` bytes) as dicom-parser does when it holds
 * the whole file: `basicOffsetTable`, `fragments` (offset from the first fragment's item, position
 * and length of each) and `length` up to the end of its sequence delimiter. A fragment past the end
 * of the file is E_TRUNCATED, an item that is not one E_MALFORMED, more than `maxItems` items
 * E_MALFORMED; a missing delimiter is a note, the pixel data then running to the end of the file.
 */
export function walkEncapsulatedItems(fd: number, size: number, element: Element, path: string, notes: string[], maxItems: number): void {
  let position = element.dataOffset;
  const itemAt = (what: string): { tag: number; length: number } | null => {
    const header = readAt(fd, position, 8);
    if (header.length < 8) return null;
    const view = new DataView(header.buffer, header.byteOffset, 8);
    const group = view.getUint16(0, true);
    const tag = view.getUint16(2, true);
    if (group !== 0xfffe || (tag !== ITEM && tag !== SEQUENCE_DELIMITER)) {
      throw new LowdoseError('E_MALFORMED', `${path}: malformed: ${what} of the encapsulated pixel data at byte ${position} is not an item`, { path });
    }
    return { tag, length: view.getUint32(4, true) };
  };
  const table = itemAt('the basic offset table');
  if (!table || table.tag !== ITEM) {
    throw new LowdoseError('E_TRUNCATED', `${path}: truncated: the encapsulated pixel data ends before its basic offset table`, { path });
  }
  if (table.length > size - position - 8 || table.length / 4 > maxItems) {
    throw new LowdoseError('E_TRUNCATED', `${path}: truncated: the basic offset table declares ${table.length} bytes but the file has only ${Math.max(0, size - position - 8)} left`, { path });
  }
  const offsets = readAt(fd, position + 8, table.length - (table.length % 4));
  const view = new DataView(offsets.buffer, offsets.byteOffset, offsets.length);
  const basicOffsetTable: number[] = [];
  for (let i = 0; i + 4 <= offsets.length; i += 4) basicOffsetTable.push(view.getUint32(i, true));
  position += 8 + table.length;
  const base = position;
  const fragments: Fragment[] = [];
  for (;;) {
    const item = itemAt(`item ${fragments.length + 1}`);
    if (item === null) {
      notes.push('encapsulated pixel data has no sequence delimiter; read up to the end of the file');
      element.length = size - element.dataOffset;
      break;
    }
    if (item.tag === SEQUENCE_DELIMITER) {
      element.length = position + 8 + item.length - element.dataOffset;
      break;
    }
    const left = size - position - 8;
    if (item.length > left) {
      throw new LowdoseError(
        'E_TRUNCATED',
        `${path}: truncated: fragment ${fragments.length + 1} of the pixel data declares ${item.length} bytes but the file has only ${Math.max(0, left)} left`,
        { path },
      );
    }
    if (fragments.length + basicOffsetTable.length >= maxItems) {
      throw new LowdoseError('E_MALFORMED', `${path}: malformed: the encapsulated pixel data holds more than ${maxItems} items; no image is that fragmented`, { path });
    }
    fragments.push({ offset: position - base, position: position + 8, length: item.length });
    position += 8 + item.length;
  }
  element.encapsulatedPixelData = true;
  element.basicOffsetTable = basicOffsetTable;
  element.fragments = fragments;
}
