/**
 * Builds small explicit VR little endian Part 10 files in memory, for tests that need pixel
 * layouts the corpus lacks (high-bit shifts, padding, HTJ2K, JPEG XL, offset tables, lying
 * lengths). Deliberately independent of src/dicom so that it cannot share its bugs.
 */

export type ElementValue = string | number | number[] | Uint8Array;

export interface SyntheticElement {
  /** 0xGGGGEEEE */
  readonly tag: number;
  readonly vr: string;
  readonly value: ElementValue;
}

export type PixelData =
  | { readonly native: Uint8Array; readonly vr?: 'OB' | 'OW'; readonly declaredLength?: number }
  | { readonly fragments: Uint8Array[]; readonly basicOffsetTable?: number[] };

export interface SyntheticFile {
  readonly transferSyntax: string;
  readonly elements: SyntheticElement[];
  readonly pixelData?: PixelData;
  readonly sopClassUid?: string;
}

const LONG_LENGTH_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);

function encodeValue(vr: string, value: ElementValue): Uint8Array {
  if (value instanceof Uint8Array) return value.length % 2 ? concat([value, new Uint8Array(1)]) : value;
  const numbers = typeof value === 'number' ? [value] : Array.isArray(value) ? value : null;
  if (numbers && ['US', 'SS', 'UL', 'SL', 'FL', 'FD'].includes(vr)) {
    const size = { US: 2, SS: 2, UL: 4, SL: 4, FL: 4, FD: 8 }[vr]!;
    const view = new DataView(new ArrayBuffer(size * numbers.length));
    numbers.forEach((n, i) => {
      if (vr === 'US') view.setUint16(i * 2, n, true);
      else if (vr === 'SS') view.setInt16(i * 2, n, true);
      else if (vr === 'UL') view.setUint32(i * 4, n, true);
      else if (vr === 'SL') view.setInt32(i * 4, n, true);
      else if (vr === 'FL') view.setFloat32(i * 4, n, true);
      else view.setFloat64(i * 8, n, true);
    });
    return new Uint8Array(view.buffer);
  }
  const text = numbers ? numbers.join('\\') : String(value);
  const bytes = new TextEncoder().encode(text);
  if (bytes.length % 2 === 0) return bytes;
  return concat([bytes, new Uint8Array([vr === 'UI' ? 0 : 0x20])]);
}

function header(tag: number, vr: string, length: number): Uint8Array {
  const long = LONG_LENGTH_VRS.has(vr);
  const view = new DataView(new ArrayBuffer(long ? 12 : 8));
  view.setUint16(0, tag >>> 16, true);
  view.setUint16(2, tag & 0xffff, true);
  view.setUint8(4, vr.charCodeAt(0));
  view.setUint8(5, vr.charCodeAt(1));
  if (long) view.setUint32(8, length >>> 0, true);
  else view.setUint16(6, length, true);
  return new Uint8Array(view.buffer);
}

export function element(tag: number, vr: string, value: ElementValue): Uint8Array {
  const body = encodeValue(vr, value);
  return concat([header(tag, vr, body.length), body]);
}

function item(tag: number, body: Uint8Array): Uint8Array {
  const view = new DataView(new ArrayBuffer(8));
  view.setUint16(0, 0xfffe, true);
  view.setUint16(2, tag, true);
  view.setUint32(4, body.length, true);
  return concat([new Uint8Array(view.buffer), body]);
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

function pixelDataBytes(pixel: PixelData): Uint8Array {
  if ('native' in pixel) {
    const body = encodeValue(pixel.vr ?? 'OW', pixel.native);
    return concat([header(0x7fe00010, pixel.vr ?? 'OW', pixel.declaredLength ?? body.length), body]);
  }
  const bot = new Uint8Array(new Uint32Array(pixel.basicOffsetTable ?? []).buffer);
  const parts = [header(0x7fe00010, 'OB', 0xffffffff), item(0xe000, bot)];
  for (const fragment of pixel.fragments) parts.push(item(0xe000, fragment.length % 2 ? concat([fragment, new Uint8Array(1)]) : fragment));
  parts.push(item(0xe0dd, new Uint8Array(0)));
  return concat(parts);
}

export function buildDicom(file: SyntheticFile): Uint8Array {
  const sopClass = file.sopClassUid ?? '1.2.840.10008.5.1.4.1.1.2';
  const metaBody = concat([
    element(0x00020001, 'OB', new Uint8Array([0, 1])),
    element(0x00020002, 'UI', sopClass),
    element(0x00020003, 'UI', '1.2.3.4.5.6.7'),
    element(0x00020010, 'UI', file.transferSyntax),
    element(0x00020012, 'UI', '1.2.3.4'),
  ]);
  const meta = concat([element(0x00020000, 'UL', metaBody.length), metaBody]);
  const body = [...file.elements]
    .sort((a, b) => a.tag - b.tag)
    .map((e) => element(e.tag, e.vr, e.value));
  const parts = [new Uint8Array(128), new TextEncoder().encode('DICM'), meta, element(0x00080016, 'UI', sopClass), ...body];
  if (file.pixelData) parts.push(pixelDataBytes(file.pixelData));
  return concat(parts);
}

/** The usual image attributes; override or add with `extra`. */
export function imageElements(options: {
  rows: number;
  columns: number;
  bitsAllocated?: number;
  bitsStored?: number;
  highBit?: number;
  pixelRepresentation?: number;
  photometric?: string;
  modality?: string;
  frames?: number;
  seriesUid?: string;
  sopInstanceUid?: string;
  position?: [number, number, number];
  orientation?: number[];
  slope?: number;
  intercept?: number;
  extra?: SyntheticElement[];
}): SyntheticElement[] {
  const bitsAllocated = options.bitsAllocated ?? 16;
  const bitsStored = options.bitsStored ?? bitsAllocated;
  const list: SyntheticElement[] = [
    { tag: 0x00080018, vr: 'UI', value: options.sopInstanceUid ?? '1.2.3.4.5.6.7' },
    { tag: 0x00080060, vr: 'CS', value: options.modality ?? 'CT' },
    { tag: 0x0020000d, vr: 'UI', value: '1.2.3.4.1' },
    { tag: 0x0020000e, vr: 'UI', value: options.seriesUid ?? '1.2.3.4.2' },
    { tag: 0x00200032, vr: 'DS', value: options.position ?? [0, 0, 0] },
    { tag: 0x00200037, vr: 'DS', value: options.orientation ?? [1, 0, 0, 0, 1, 0] },
    { tag: 0x00280002, vr: 'US', value: 1 },
    { tag: 0x00280004, vr: 'CS', value: options.photometric ?? 'MONOCHROME2' },
    { tag: 0x00280010, vr: 'US', value: options.rows },
    { tag: 0x00280011, vr: 'US', value: options.columns },
    { tag: 0x00280030, vr: 'DS', value: [0.5, 0.5] },
    { tag: 0x00280100, vr: 'US', value: bitsAllocated },
    { tag: 0x00280101, vr: 'US', value: bitsStored },
    { tag: 0x00280102, vr: 'US', value: options.highBit ?? bitsStored - 1 },
    { tag: 0x00280103, vr: 'US', value: options.pixelRepresentation ?? 0 },
    { tag: 0x00281052, vr: 'DS', value: options.intercept ?? 0 },
    { tag: 0x00281053, vr: 'DS', value: options.slope ?? 1 },
  ];
  if (options.frames !== undefined) list.push({ tag: 0x00280008, vr: 'IS', value: options.frames });
  for (const e of options.extra ?? []) {
    const i = list.findIndex((x) => x.tag === e.tag);
    if (i >= 0) list[i] = e;
    else list.push(e);
  }
  return list;
}

export function uint16Bytes(values: ArrayLike<number>): Uint8Array {
  const view = new DataView(new ArrayBuffer(values.length * 2));
  for (let i = 0; i < values.length; i++) view.setUint16(i * 2, values[i]! & 0xffff, true);
  return new Uint8Array(view.buffer);
}
