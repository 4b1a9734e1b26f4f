/**
 * Seeded mutations of a DICOM file, aimed at what breaks readers and writers: byte flips,
 * truncations, huge declared lengths and counts, wrong VRs, zero or huge rows / columns, odd
 * BitsAllocated, NaN rescale, changed transfer syntax / modality / photometric interpretation,
 * deeply nested sequences. Structural mutations locate elements with the toolkit's own parser;
 * a file it cannot parse (or a deflated one) gets byte-level mutations only.
 *
 * Pure: (bytes, rng) -> bytes and a description, so a case is reproducible from its seed.
 */
import { parseDicomBytes } from '../../src/dicom/parse.js';
import type { Element } from '../../src/dicom/dicom-parser.js';
import type { Rng } from '../../src/util/random.js';

export interface Mutation {
  readonly bytes: Uint8Array;
  /** What was done, one entry per step, e.g. `rows=0`, `truncate@1234`. */
  readonly steps: string[];
}

/** VRs whose explicit encoding has a 2-byte reserved field and a 4-byte length. */
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);
const ALL_VRS = 'AE AS AT CS DA DS DT FL FD IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI UL UN UR US UT UV'.split(' ');

/** The VRs of the attributes mutations may insert when a file lacks them. */
const KNOWN: Record<string, { vr: string; kind: 'string' | 'us' }> = {
  x00080060: { vr: 'CS', kind: 'string' }, // Modality
  x00280002: { vr: 'US', kind: 'us' }, // SamplesPerPixel
  x00280004: { vr: 'CS', kind: 'string' }, // PhotometricInterpretation
  x00280008: { vr: 'IS', kind: 'string' }, // NumberOfFrames
  x00280010: { vr: 'US', kind: 'us' }, // Rows
  x00280011: { vr: 'US', kind: 'us' }, // Columns
  x00280030: { vr: 'DS', kind: 'string' }, // PixelSpacing
  x00280100: { vr: 'US', kind: 'us' }, // BitsAllocated
  x00280101: { vr: 'US', kind: 'us' }, // BitsStored
  x00280102: { vr: 'US', kind: 'us' }, // HighBit
  x00280103: { vr: 'US', kind: 'us' }, // PixelRepresentation
  x00281052: { vr: 'DS', kind: 'string' }, // RescaleIntercept
  x00281053: { vr: 'DS', kind: 'string' }, // RescaleSlope
  x00200032: { vr: 'DS', kind: 'string' }, // ImagePositionPatient
  x00200037: { vr: 'DS', kind: 'string' }, // ImageOrientationPatient
  x00180050: { vr: 'DS', kind: 'string' }, // SliceThickness
};

const TRANSFER_SYNTAXES = [
  '1.2.840.10008.1.2',
  '1.2.840.10008.1.2.1',
  '1.2.840.10008.1.2.2',
  '1.2.840.10008.1.2.1.99',
  '1.2.840.10008.1.2.4.50',
  '1.2.840.10008.1.2.4.57',
  '1.2.840.10008.1.2.4.70',
  '1.2.840.10008.1.2.4.80',
  '1.2.840.10008.1.2.4.90',
  '1.2.840.10008.1.2.4.201',
  '1.2.840.10008.1.2.5',
  '1.2.3.4.5.6.7.8.9',
  '',
];

/** What a structural mutation needs to know about the file. */
interface Layout {
  readonly explicitVr: boolean;
  readonly littleEndian: boolean;
  /** Top-level data set elements (and file meta elements) in file order, with their header offsets. */
  readonly elements: LocatedElement[];
}

interface LocatedElement {
  readonly tag: string;
  readonly vr: string | undefined;
  readonly headerStart: number;
  readonly dataOffset: number;
  /** Offset and size (2 or 4) of the length field. */
  readonly lengthAt: number;
  readonly lengthSize: 2 | 4;
  /** Bytes of value actually in the file (undefined-length elements: up to their end). */
  readonly length: number;
  readonly meta: boolean;
}

function locate(bytes: Uint8Array): Layout | null {
  let parsed;
  try {
    parsed = parseDicomBytes(bytes, 'fuzz');
  } catch {
    return null;
  }
  // A deflated data set's offsets are into the inflated bytes, not the file's.
  if (parsed.transferSyntax.deflated || parsed.dataSet.byteArray !== bytes) return null;
  const dataElements = Object.values(parsed.dataSet.elements);
  const explicitVr = dataElements.some((e) => e.vr !== undefined);
  const littleEndian = parsed.transferSyntax.littleEndian;
  const elements: LocatedElement[] = [];
  const add = (e: Element, meta: boolean, explicit: boolean) => {
    const long = explicit ? LONG_VRS.has(e.vr ?? '') : true;
    const headerStart = e.dataOffset - (explicit && long ? 12 : 8);
    if (headerStart < 0) return;
    elements.push({
      tag: e.tag,
      vr: e.vr,
      headerStart,
      dataOffset: e.dataOffset,
      lengthAt: e.dataOffset - (long ? 4 : 2),
      lengthSize: long ? 4 : 2,
      length: e.length,
      meta,
    });
  };
  for (const e of Object.values(parsed.meta?.elements ?? {})) add(e, true, true);
  for (const e of dataElements) add(e, false, explicitVr);
  elements.sort((a, b) => a.headerStart - b.headerStart);
  return { explicitVr, littleEndian, elements };
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function ascii(text: string, pad = ' '): Uint8Array {
  const even = text.length % 2 === 1 ? text + pad : text;
  return Uint8Array.from(even, (c) => c.charCodeAt(0) & 0xff);
}

function uint16(value: number, littleEndian: boolean): Uint8Array {
  const out = new Uint8Array(2);
  new DataView(out.buffer).setUint16(0, value & 0xffff, littleEndian);
  return out;
}

function uint32(value: number, littleEndian: boolean): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value >>> 0, littleEndian);
  return out;
}

function tagBytes(tag: string, littleEndian: boolean): Uint8Array {
  const group = parseInt(tag.slice(1, 5), 16);
  const element = parseInt(tag.slice(5, 9), 16);
  return concat(uint16(group, littleEndian), uint16(element, littleEndian));
}

/** A whole element (header and value) in the file's encoding. */
function encodeElement(tag: string, vr: string, value: Uint8Array, layout: { explicitVr: boolean; littleEndian: boolean }, meta = false): Uint8Array {
  const le = meta || layout.littleEndian;
  if (!(meta || layout.explicitVr)) return concat(tagBytes(tag, le), uint32(value.length, le), value);
  const vrBytes = Uint8Array.from(vr.slice(0, 2).padEnd(2, ' '), (c) => c.charCodeAt(0));
  if (LONG_VRS.has(vr)) return concat(tagBytes(tag, le), vrBytes, new Uint8Array(2), uint32(value.length, le), value);
  return concat(tagBytes(tag, le), vrBytes, uint16(value.length, le), value);
}

/** Replaces an element's value (new length in its header), or inserts the element in tag order. */
function setValue(bytes: Uint8Array, layout: Layout, tag: string, value: Uint8Array): Uint8Array | null {
  const existing = layout.elements.find((e) => e.tag === tag && !e.meta);
  const le = layout.littleEndian;
  if (existing) {
    if (existing.lengthSize === 2 && value.length > 0xffff) return null;
    const header = bytes.slice(existing.headerStart, existing.dataOffset);
    const lengthField = existing.lengthSize === 2 ? uint16(value.length, le) : uint32(value.length, le);
    header.set(lengthField, existing.lengthAt - existing.headerStart);
    const end = Math.min(bytes.length, existing.dataOffset + existing.length);
    return concat(bytes.subarray(0, existing.headerStart), header, value, bytes.subarray(end));
  }
  const known = KNOWN[tag];
  const vr = known?.vr ?? 'UN';
  const element = encodeElement(tag, vr, value, layout);
  const next = layout.elements.find((e) => !e.meta && e.tag > tag);
  const at = next ? next.headerStart : bytes.length;
  return concat(bytes.subarray(0, at), element, bytes.subarray(at));
}

function valueFor(tag: string, value: string | number, layout: Layout): Uint8Array {
  const known = KNOWN[tag];
  if (known?.kind === 'us' && typeof value === 'number') return uint16(value, layout.littleEndian);
  return ascii(String(value), tag === 'x00020010' ? '\0' : ' ');
}

function pick<T>(rng: Rng, values: readonly T[]): T {
  return values[rng.int(values.length)]!;
}

type Structural = (bytes: Uint8Array, layout: Layout, rng: Rng) => { bytes: Uint8Array; step: string } | null;

const setTag =
  (name: string, tag: string, values: ReadonlyArray<string | number>): Structural =>
  (bytes, layout, rng) => {
    const value = pick(rng, values);
    const out = setValue(bytes, layout, tag, valueFor(tag, value, layout));
    return out ? { bytes: out, step: `${name}=${JSON.stringify(value)}` } : null;
  };

const HUGE_COUNTS = ['2147483647', '4294967295', '99999999', '65536', '0', '-1', '1e9', 'abc', ''];
const DIMENSIONS = [0, 1, 2, 3, 7, 255, 256, 4096, 32767, 32768, 65535];
const BITS = [0, 1, 2, 7, 8, 9, 12, 15, 16, 17, 24, 31, 32, 33, 48, 64, 255, 65535];
const DS_VALUES = ['NaN', 'nan', 'Inf', '-Inf', 'Infinity', '1e309', '-1e308', '1e-320', '0', '-0', '', 'abc', '1\\2', '0.5.5', '+', '1e38'];

const STRUCTURAL: Array<[weight: number, name: string, mutate: Structural]> = [
  [3, 'frames', setTag('NumberOfFrames', 'x00280008', HUGE_COUNTS)],
  [3, 'rows', setTag('Rows', 'x00280010', DIMENSIONS)],
  [3, 'columns', setTag('Columns', 'x00280011', DIMENSIONS)],
  [3, 'bitsAllocated', setTag('BitsAllocated', 'x00280100', BITS)],
  [2, 'bitsStored', setTag('BitsStored', 'x00280101', BITS)],
  [1, 'highBit', setTag('HighBit', 'x00280102', BITS)],
  [1, 'pixelRepresentation', setTag('PixelRepresentation', 'x00280103', [0, 1, 2, 65535])],
  [1, 'samplesPerPixel', setTag('SamplesPerPixel', 'x00280002', [0, 1, 3, 4, 65535])],
  [3, 'rescaleSlope', setTag('RescaleSlope', 'x00281053', DS_VALUES)],
  [3, 'rescaleIntercept', setTag('RescaleIntercept', 'x00281052', DS_VALUES)],
  [1, 'pixelSpacing', setTag('PixelSpacing', 'x00280030', ['NaN\\NaN', '0\\0', '-1\\-1', '1e309\\1', 'abc', '', '1'])],
  [1, 'position', setTag('ImagePositionPatient', 'x00200032', ['NaN\\0\\0', '1e309\\0\\0', '', '0\\0', 'a\\b\\c'])],
  [1, 'orientation', setTag('ImageOrientationPatient', 'x00200037', ['0\\0\\0\\0\\0\\0', 'NaN\\0\\0\\0\\1\\0', '1\\0\\0\\1\\0\\0', ''])],
  [1, 'photometric', setTag('PhotometricInterpretation', 'x00280004', ['RGB', 'PALETTE COLOR', 'YBR_FULL', 'MONOCHROME1', 'MONOCHROME3', ''])],
  [2, 'modality', setTag('Modality', 'x00080060', ['CT', 'PT', 'MR', '', 'XX'])],
  [2, 'transferSyntax', (bytes, layout, rng) => {
    const meta = layout.elements.find((e) => e.meta && e.tag === 'x00020010');
    if (!meta) return null;
    const uid = pick(rng, TRANSFER_SYNTAXES);
    const value = ascii(uid, '\0');
    const header = bytes.slice(meta.headerStart, meta.dataOffset);
    header.set(uint16(value.length, true), meta.lengthAt - meta.headerStart);
    return { bytes: concat(bytes.subarray(0, meta.headerStart), header, value, bytes.subarray(meta.dataOffset + meta.length)), step: `TransferSyntax=${uid || '""'}` };
  }],
  [4, 'hugeLength', (bytes, layout, rng) => {
    const e = pick(rng, layout.elements);
    const lengths = e.lengthSize === 2 ? [0xffff, 0xfffe, 0x8001] : [0xffffffff, 0xfffffffe, 0x7ffffff0, 0x10000001, e.length + 2 + 2 * rng.int(4096)];
    const length = pick(rng, lengths);
    const out = bytes.slice();
    out.set(e.lengthSize === 2 ? uint16(length, layout.littleEndian || e.meta) : uint32(length, layout.littleEndian || e.meta), e.lengthAt);
    return { bytes: out, step: `length(${e.tag})=0x${length.toString(16)}` };
  }],
  [3, 'wrongVr', (bytes, layout, rng) => {
    const candidates = layout.elements.filter((e) => e.vr !== undefined);
    if (candidates.length === 0) return null;
    const e = pick(rng, candidates);
    const vr = rng.uniform() < 0.7 ? pick(rng, ALL_VRS) : pick(rng, ['D=', 'XX', '\0\0', '  ', 'ds', 'S']);
    const out = bytes.slice();
    out.set(Uint8Array.from(vr.padEnd(2, '?'), (c) => c.charCodeAt(0)), e.headerStart + 4);
    return { bytes: out, step: `vr(${e.tag})=${JSON.stringify(vr)}` };
  }],
  [2, 'pixelLength', (bytes, layout, rng) => {
    const pixels = layout.elements.find((e) => e.tag === 'x7fe00010' && !e.meta);
    if (!pixels) return null;
    const cut = pick(rng, [1, 2, 3, Math.floor(pixels.length / 2), pixels.length - 1]);
    const end = Math.min(bytes.length, pixels.dataOffset + pixels.length);
    const keep = Math.max(0, pixels.length - cut);
    const out = bytes.slice(0, pixels.dataOffset + keep);
    // Either the length field says the new (shorter, maybe odd) length, or it keeps the old one.
    if (rng.uniform() < 0.5 && out.length >= pixels.lengthAt + pixels.lengthSize) {
      out.set(pixels.lengthSize === 2 ? uint16(keep, layout.littleEndian) : uint32(keep, layout.littleEndian), pixels.lengthAt);
    }
    return { bytes: concat(out, bytes.subarray(end)), step: `pixelData(-${cut})` };
  }],
  [2, 'deepSequence', (bytes, layout, rng) => {
    const depth = pick(rng, [64, 1000, 5000, 20000]);
    const le = layout.littleEndian;
    const undefinedLength = uint32(0xffffffff, le);
    const item = concat(tagBytes('xfffee000', le), undefinedLength);
    const itemEnd = concat(tagBytes('xfffee00d', le), uint32(0, le));
    const sequenceEnd = concat(tagBytes('xfffee0dd', le), uint32(0, le));
    const open = layout.explicitVr
      ? concat(tagBytes('x00091010', le), ascii('SQ'), new Uint8Array(2), undefinedLength)
      : concat(tagBytes('x00091010', le), undefinedLength);
    const one = concat(open, item);
    const close = concat(itemEnd, sequenceEnd);
    const nested = new Uint8Array(depth * (one.length + close.length));
    for (let i = 0; i < depth; i++) nested.set(one, i * one.length);
    for (let i = 0; i < depth; i++) nested.set(close, depth * one.length + i * close.length);
    const next = layout.elements.find((e) => !e.meta && e.tag > 'x00091010');
    const at = next ? next.headerStart : bytes.length;
    return { bytes: concat(bytes.subarray(0, at), nested, bytes.subarray(at)), step: `deepSequence(${depth})` };
  }],
];

function flip(bytes: Uint8Array, rng: Rng): { bytes: Uint8Array; step: string } {
  const out = bytes.slice();
  const flips = 1 + rng.int(8);
  const at: number[] = [];
  for (let i = 0; i < flips && out.length > 0; i++) {
    // Half the flips hit the first 2 KB (the header), where they change how everything after is read.
    const p = rng.uniform() < 0.5 ? rng.int(Math.min(out.length, 2048)) : rng.int(out.length);
    out[p] = out[p]! ^ (1 + rng.int(255));
    at.push(p);
  }
  return { bytes: out, step: `flip@${at.join(',')}` };
}

function truncate(bytes: Uint8Array, rng: Rng): { bytes: Uint8Array; step: string } {
  const at = rng.uniform() < 0.5 ? rng.int(Math.min(bytes.length, 4096)) : rng.int(bytes.length);
  return { bytes: bytes.slice(0, at), step: `truncate@${at}` };
}

const STRUCTURAL_WEIGHT = STRUCTURAL.reduce((n, [w]) => n + w, 0);

function structural(bytes: Uint8Array, rng: Rng): { bytes: Uint8Array; step: string } | null {
  const layout = locate(bytes);
  if (!layout || layout.elements.length === 0) return null;
  let r = rng.uniform() * STRUCTURAL_WEIGHT;
  for (const [weight, , mutate] of STRUCTURAL) {
    r -= weight;
    if (r < 0) return mutate(bytes, layout, rng);
  }
  return null;
}

/** One to three mutations of `original`: three in five structural, the rest flips and truncations. */
export function mutate(original: Uint8Array, rng: Rng): Mutation {
  let bytes = original;
  const steps: string[] = [];
  const count = 1 + (rng.uniform() < 0.35 ? 1 + rng.int(2) : 0);
  for (let i = 0; i < count; i++) {
    const r = rng.uniform();
    let done = r < 0.6 ? structural(bytes, rng) : null;
    if (!done) done = r < 0.85 ? flip(bytes, rng) : truncate(bytes, rng);
    bytes = done.bytes;
    steps.push(done.step);
  }
  return { bytes, steps };
}

/** Makes a file the denoiser will take: its Modality set to CT (used for MR and other corpus files). */
export function asCt(original: Uint8Array): Uint8Array {
  const layout = locate(original);
  if (!layout) return original;
  return setValue(original, layout, 'x00080060', ascii('CT')) ?? original;
}
