/**
 * Byte-level mutations of real DICOM files for hardening tests: the corrupt headers that archives
 * and attackers produce, made in memory from ../shared/dicom files (never committed as copies).
 * Explicit VR little endian data sets only; the element offsets come from dicom-parser.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import dicomParser from 'dicom-parser';

const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);

/** "x00280030" or "(0028,0030)" → group and element numbers. */
function tagNumbers(tag: string): [number, number] {
  const hex = tag.replace(/[^0-9a-fA-F]/g, '').slice(-8);
  return [parseInt(hex.slice(0, 4), 16), parseInt(hex.slice(4, 8), 16)];
}

function tagKey(tag: string): string {
  const [g, e] = tagNumbers(tag);
  return `x${g.toString(16).padStart(4, '0')}${e.toString(16).padStart(4, '0')}`;
}

function elementAt(bytes: Uint8Array, tag: string) {
  const ds = dicomParser.parseDicom(bytes, { untilTag: 'x7fe00010' });
  const element = ds.elements[tagKey(tag)];
  if (!element) throw new Error(`no element ${tag}`);
  // Short header: tag, VR, 2-byte length. Long header (OB, SQ, UN, ...): tag, VR, 2 reserved, 4-byte length.
  const at = (offset: number) => String.fromCharCode(bytes[offset]!, bytes[offset + 1]!);
  const long = LONG_VRS.has(at(element.dataOffset - 8)) && bytes[element.dataOffset - 6] === 0 && bytes[element.dataOffset - 5] === 0;
  return { element, headerStart: element.dataOffset - (long ? 12 : 8) };
}

/** Overwrites the two VR bytes of a top-level element (e.g. DS → "D="), keeping its length field. */
export function withVr(bytes: Uint8Array, tag: string, vr: string): Uint8Array {
  const out = bytes.slice();
  const { headerStart } = elementAt(out, tag);
  out[headerStart + 4] = vr.charCodeAt(0);
  out[headerStart + 5] = vr.charCodeAt(1);
  return out;
}

/** One explicit VR little endian element. */
export function encodeElement(tag: string, vr: string, value: Uint8Array | string): Uint8Array {
  let data = typeof value === 'string' ? new TextEncoder().encode(value) : value;
  if (data.length % 2) {
    const padded = new Uint8Array(data.length + 1);
    padded.set(data);
    padded[data.length] = vr === 'UI' || vr === 'OB' || vr === 'UN' ? 0 : 0x20;
    data = padded;
  }
  const long = LONG_VRS.has(vr);
  const header = new Uint8Array(long ? 12 : 8);
  const view = new DataView(header.buffer);
  const [g, e] = tagNumbers(tag);
  view.setUint16(0, g, true);
  view.setUint16(2, e, true);
  header[4] = vr.charCodeAt(0);
  header[5] = vr.charCodeAt(1);
  if (long) view.setUint32(8, data.length, true);
  else view.setUint16(6, data.length, true);
  const out = new Uint8Array(header.length + data.length);
  out.set(header);
  out.set(data, header.length);
  return out;
}

/**
 * Replaces a top-level element (or inserts it in tag order when absent) with `element`'s bytes
 * (from encodeElement). Group lengths are not updated: use files without them.
 */
export function withElement(bytes: Uint8Array, tag: string, element: Uint8Array): Uint8Array {
  const ds = dicomParser.parseDicom(bytes, { untilTag: 'x7fe00010' });
  const key = tagKey(tag);
  let start: number;
  let end: number;
  const existing = ds.elements[key];
  if (existing) {
    ({ headerStart: start } = elementAt(bytes, tag));
    end = existing.dataOffset + existing.length;
  } else {
    const next = Object.values(ds.elements)
      .filter((e) => e.tag > key && !e.tag.startsWith('x0002'))
      .sort((a, b) => a.dataOffset - b.dataOffset)[0];
    if (!next) throw new Error(`nothing after ${tag} to insert before`);
    start = elementAt(bytes, next.tag).headerStart;
    end = start;
  }
  const out = new Uint8Array(bytes.length - (end - start) + element.length);
  out.set(bytes.subarray(0, start));
  out.set(element, start);
  out.set(bytes.subarray(end), start + element.length);
  return out;
}

/**
 * A private sequence (6001,1010) of `items` empty items (eight bytes each) inserted before the
 * pixel data: a "sequence bomb", each item an object for the parser.
 */
export function withEmptyItems(bytes: Uint8Array, items: number): Uint8Array {
  const data = new Uint8Array(items * 8);
  const view = new DataView(data.buffer);
  for (let i = 0; i < items; i++) {
    view.setUint16(i * 8, 0xfffe, true);
    view.setUint16(i * 8 + 2, 0xe000, true);
  }
  return withElement(bytes, 'x60011010', encodeElement('x60011010', 'SQ', data));
}

/**
 * A deflated file (transfer syntax 1.2.840.10008.1.2.1.99, explicit VR little endian inside) with
 * a private OB element (6001,1010) of `zeros` zero bytes inserted before its pixel data: deflate
 * turns them into about a thousandth of their size (a "deflate bomb").
 */
export function withDeflatedZeros(bytes: Uint8Array, zeros: number): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let metaEnd = 132;
  while (view.getUint16(metaEnd, true) === 0x0002) {
    const long = LONG_VRS.has(String.fromCharCode(bytes[metaEnd + 4]!, bytes[metaEnd + 5]!));
    metaEnd += long ? 12 + view.getUint32(metaEnd + 8, true) : 8 + view.getUint16(metaEnd + 6, true);
  }
  const inflated = inflateRawSync(bytes.subarray(metaEnd));
  const pixelData = inflated.indexOf(Buffer.from([0xe0, 0x7f, 0x10, 0x00]));
  if (pixelData < 0) throw new Error('no pixel data in the deflated data set');
  const header = Buffer.alloc(12);
  header.writeUInt16LE(0x6001, 0);
  header.writeUInt16LE(0x1010, 2);
  header.write('OB', 4, 'latin1');
  header.writeUInt32LE(zeros, 8);
  const body = deflateRawSync(Buffer.concat([inflated.subarray(0, pixelData), header, Buffer.alloc(zeros), inflated.subarray(pixelData)]));
  return Buffer.concat([bytes.subarray(0, metaEnd), body]);
}

/** Writes `bytes` to a new temporary folder; returns the file's path. */
export function writeTemporary(bytes: Uint8Array, name = 'mutated.dcm', prefix = 'mutated'): string {
  const dir = mkdtempSync(join(tmpdir(), `lowdose-${prefix}-`));
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

/** Digits a UID shift moves: 3 per window, so shifts 1 to 999 stay distinct. */
const SHIFT_DIGITS = 3;

/**
 * A UID moved by `shift`, same length and still valid. The digits it may change are those of the
 * third and later components that are not a multi-digit component's first digit (so no component
 * gains a leading zero, and the first two arcs keep their OID ranges); window 0 is the first three
 * of them from the left, window 1 the next three. The window's digits read as one number get
 * `shift` added modulo 1000. Near the left, the digits that tell the instances of a series apart
 * (usually at the end) stay as they are, so one shift keeps different UIDs different; distinct
 * shifts in one window give distinct UIDs, and shifts in different windows never undo each other.
 * A shift that is not 1 to 999 is refused, as is a UID without the digits.
 */
export function shiftedUid(uid: string, shift: number, window: 0 | 1 = 0): string {
  if (!Number.isInteger(shift) || shift < 1 || shift >= 10 ** SHIFT_DIGITS) throw new Error(`UID shift ${shift} is not 1 to ${10 ** SHIFT_DIGITS - 1}: a larger one would repeat a smaller one`);
  const components = uid.split('.');
  if (components.some((c) => !/^(0|[1-9]\d*)$/.test(c))) throw new Error(`${uid} is not a UID`);
  const free: number[] = [];
  let at = 0;
  components.forEach((component, index) => {
    if (index >= 2) for (let k = component.length > 1 ? 1 : 0; k < component.length; k++) free.push(at + k);
    at += component.length + 1;
  });
  const positions = free.slice(window * SHIFT_DIGITS, (window + 1) * SHIFT_DIGITS);
  if (positions.length < SHIFT_DIGITS) throw new Error(`UID ${uid} has too few digits to shift in window ${window}`);
  const value = Number(positions.map((p) => uid[p]).join(''));
  const moved = String((value + shift) % 10 ** SHIFT_DIGITS).padStart(SHIFT_DIGITS, '0');
  const chars = [...uid];
  positions.forEach((p, k) => (chars[p] = moved[k]!));
  return chars.join('');
}

/** Rewrites a UID element's value in place by shiftedUid (same length, so no offsets move). */
function bumpUid(bytes: Uint8Array, element: { dataOffset: number; length: number }, shift: number, window: 0 | 1): void {
  let end = element.dataOffset + element.length;
  while (end > element.dataOffset && (bytes[end - 1] === 0 || bytes[end - 1] === 0x20)) end--;
  const uid = String.fromCharCode(...bytes.subarray(element.dataOffset, end));
  const moved = shiftedUid(uid, shift, window);
  for (let i = 0; i < moved.length; i++) bytes[element.dataOffset + i] = moved.charCodeAt(i);
}

/**
 * A copy of a real series as another series of the same study: Series and SOP Instance UIDs each
 * moved by `shift` (shiftedUid, window 1: distinct shifts give distinct series, never one of a
 * copyAsOtherStudy copy), the Study Instance UID kept.
 */
export function copyAsOtherSeries(files: readonly Uint8Array[], shift: number): Uint8Array[] {
  return files.map((original) => {
    const bytes = original.slice();
    const ds = dicomParser.parseDicom(bytes);
    for (const tag of ['x0020000e', 'x00080018', 'x00020003']) {
      const element = ds.elements[tag];
      if (!element) throw new Error(`no element ${tag}`);
      bumpUid(bytes, element, shift, 1);
    }
    return bytes;
  });
}

/**
 * A copy of a real series as another study: Study, Series and SOP Instance UIDs each moved by
 * `shift` (shiftedUid, window 0, default 5: distinct shifts give distinct studies, and the
 * instances of one copy stay distinct), and in the files listed in
 * `truncate` the PixelData value cut to half its length (its length field, and the group length if any, say so too), a file a
 * PACS stores but whose pixels cannot be read. Implicit or explicit VR little endian; PixelData
 * must be the last element.
 */
export function copyAsOtherStudy(files: readonly Uint8Array[], truncate: ReadonlySet<number> = new Set(), shift = 5): Uint8Array[] {
  return files.map((original, index) => {
    const bytes = original.slice();
    const ds = dicomParser.parseDicom(bytes);
    for (const tag of ['x0020000d', 'x0020000e', 'x00080018', 'x00020003']) {
      const element = ds.elements[tag];
      if (!element) throw new Error(`no element ${tag}`);
      bumpUid(bytes, element, shift, 0);
    }
    if (!truncate.has(index)) return bytes;
    const pixels = ds.elements.x7fe00010;
    if (!pixels || pixels.dataOffset + pixels.length !== bytes.length) throw new Error('PixelData is not the last element');
    const half = Math.floor(pixels.length / 4) * 2;
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    view.setUint32(pixels.dataOffset - 4, half, true);
    const groupLength = ds.elements.x7fe00000;
    if (groupLength) view.setUint32(groupLength.dataOffset, view.getUint32(groupLength.dataOffset, true) - (pixels.length - half), true);
    return bytes.slice(0, pixels.dataOffset + half);
  });
}

/**
 * `sourceDir`'s files written to `outDir` as another series of the same study (copyAsOtherSeries by
 * `uidShift`) with each ImagePositionPatient moved `pixels` × the column spacing along the row
 * direction, the stored pixels unchanged: a reconstruction whose grid lies a fraction of a pixel
 * off. Explicit VR little endian without group lengths (withElement).
 */
export function writeRowShiftedCopy(sourceDir: string, outDir: string, pixels: number, uidShift: number): void {
  mkdirSync(outDir, { recursive: true });
  const names = readdirSync(sourceDir).sort();
  const copies = copyAsOtherSeries(names.map((n) => new Uint8Array(readFileSync(join(sourceDir, n)))), uidShift);
  copies.forEach((bytes, k) => {
    const ds = dicomParser.parseDicom(bytes, { untilTag: 'x7fe00010' });
    const numbers = (tag: string) => ds.string(tag)!.split('\\').map(Number);
    const rowDirection = numbers('x00200037').slice(0, 3);
    const columnSpacing = numbers('x00280030')[1]!;
    const moved = numbers('x00200032').map((v, i) => String(Number((v + pixels * columnSpacing * rowDirection[i]!).toFixed(8))));
    if (moved.some((v) => v.length > 16)) throw new Error(`ImagePositionPatient ${moved.join('\\')} does not fit DS`);
    writeFileSync(join(outDir, names[k]!), withElement(bytes, 'x00200032', encodeElement('x00200032', 'DS', moved.join('\\'))));
  });
}

/** A copy of `bytes` with the value of a top-level text element replaced by one of the same length (e.g. PatientID, StudyDate, Modality). */
export function withSameLengthText(bytes: Uint8Array, tag: string, value: string): Uint8Array {
  const copy = bytes.slice();
  const element = dicomParser.parseDicom(copy).elements[tag]!;
  if (element.length !== value.length) throw new Error(`${tag}: a value of another length`);
  copy.set(Buffer.from(value, 'latin1'), element.dataOffset);
  return copy;
}

/** Every .dcm file of `dir` rewritten in place with top-level element `tag` set to `value` (withElement: files without group lengths). */
export function relabelFiles(dir: string, tag: string, vr: string, value: string): void {
  for (const name of readdirSync(dir).filter((f) => f.endsWith('.dcm'))) {
    const file = join(dir, name);
    writeFileSync(file, withElement(readFileSync(file), tag, encodeElement(tag, vr, value)));
  }
}
