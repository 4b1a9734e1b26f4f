/**
 * A Part 10 file as the DIMSE network sees it: the dataset's bytes in a transfer syntax, without
 * the preamble and file meta. Received instances are kept byte for byte (a meta header is put in
 * front); files to send are split at the end of their meta group.
 */
import { LowdoseError } from '../errors.js';
import { writePart10 } from './write-dcmjs.js';
import { fileMeta } from './write-file.js';

export interface Part10Ids {
  readonly sopClassUid: string;
  readonly sopInstanceUid: string;
  readonly transferSyntaxUid: string;
}

/** Preamble + file meta for `ids`, followed by the dataset bytes unchanged. */
export function part10FromDataset(dataset: Uint8Array, ids: Part10Ids): Uint8Array {
  const head = writePart10(fileMeta(ids.sopClassUid, ids.sopInstanceUid, ids.transferSyntaxUid), {});
  const out = new Uint8Array(head.length + dataset.length);
  out.set(head, 0);
  out.set(dataset, head.length);
  return out;
}

/**
 * The meta's UIDs and the dataset bytes after it. The meta group is always explicit VR little
 * endian (PS3.10 7.1); it is walked element by element rather than trusting its group length.
 */
export function splitPart10(bytes: Uint8Array, name: string): Part10Ids & { dataset: Uint8Array } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bad = (why: string) => new LowdoseError('E_MALFORMED', `${name}: ${why}`, { path: name });
  if (bytes.length < 132 || String.fromCharCode(...bytes.subarray(128, 132)) !== 'DICM') throw bad('not a DICOM Part 10 file (no DICM prefix)');
  const values = new Map<number, string>();
  let offset = 132;
  while (offset + 8 <= bytes.length && view.getUint16(offset, true) === 0x0002) {
    const element = view.getUint16(offset + 2, true);
    const vr = String.fromCharCode(bytes[offset + 4]!, bytes[offset + 5]!);
    const long = ['OB', 'OD', 'OF', 'OL', 'OW', 'SQ', 'UC', 'UN', 'UR', 'UT', 'OV', 'SV', 'UV'].includes(vr);
    const length = long ? view.getUint32(offset + 8, true) : view.getUint16(offset + 6, true);
    const start = offset + (long ? 12 : 8);
    if (start + length > bytes.length) throw bad('file meta runs past the end of the file');
    if (vr === 'UI') values.set(element, new TextDecoder().decode(bytes.subarray(start, start + length)).replace(/[\0 ]+$/, ''));
    offset = start + length;
  }
  const sopClassUid = values.get(0x0002);
  const sopInstanceUid = values.get(0x0003);
  const transferSyntaxUid = values.get(0x0010);
  if (!sopClassUid || !sopInstanceUid || !transferSyntaxUid) throw bad('file meta lacks the SOP class, SOP instance or transfer syntax UID');
  return { sopClassUid, sopInstanceUid, transferSyntaxUid, dataset: bytes.subarray(offset) };
}
