/**
 * The binary slice format the viewer loads (docs/viewer.md):
 *
 *   [uint32 LE n][n bytes of JSON SliceHeader, space-padded][rows × columns pixels, little endian]
 *
 * with the pixel block 8-byte aligned so the client views it in place as an Int16Array or
 * Float32Array. Int16 is used when every value is exactly stored × slope + intercept with the
 * slice's own rescale (CT as scanned, and our derived series): half the bytes, and exactly what
 * cornerstone's lookup tables want. Anything else goes as float32, bit for bit.
 */
import type { SliceRef } from '../dicom/index.js';
import type { Image2D } from '../image.js';
import type { SliceHeader } from './api-types.js';

export type SliceDtype = 'int16' | 'float32';

export interface EncodeContext {
  readonly index: number;
  readonly slice: SliceRef;
  readonly spacing: [number, number, number];
  readonly units: string;
  readonly photometricInterpretation: string;
}

export function encodeSlice(image: Image2D, context: EncodeContext, want: SliceDtype | 'auto'): Buffer {
  const { min, max } = rangeOf(image.data);
  const slope = context.slice.rescaleSlope * context.slice.unitsScale;
  const intercept = context.slice.rescaleIntercept * context.slice.unitsScale;
  const asInt16 = want === 'float32' ? null : exactInt16(image.data, slope, intercept);
  if (want === 'int16' && !asInt16) {
    // Asked for int16 but the values do not fit the slice's rescale: quantise to the full range.
    const quantised = quantiseInt16(image.data, min, max);
    return pack(image, context, 'int16', quantised.slope, quantised.intercept, min, max, quantised.values);
  }
  if (asInt16) return pack(image, context, 'int16', slope, intercept, min, max, asInt16);
  return pack(image, context, 'float32', 1, 0, min, max, image.data);
}

function pack(
  image: Image2D,
  context: EncodeContext,
  dtype: SliceDtype,
  slope: number,
  intercept: number,
  min: number,
  max: number,
  values: Int16Array | Float32Array,
): Buffer {
  const header: SliceHeader = {
    rows: image.rows,
    columns: image.columns,
    index: context.index,
    spacing: context.spacing,
    dtype,
    rescale: { slope, intercept },
    units: context.units,
    min,
    max,
    photometricInterpretation: context.photometricInterpretation,
  };
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = Math.ceil((4 + json.length) / 8) * 8 - 4;
  json = Buffer.concat([json, Buffer.alloc(padded - json.length, 0x20)]);
  const out = Buffer.allocUnsafe(4 + padded + values.byteLength);
  out.writeUInt32LE(padded, 0);
  json.copy(out, 4);
  const pixels = Buffer.from(values.buffer, values.byteOffset, values.byteLength);
  if (!LITTLE_ENDIAN) swapInPlace(pixels, values.BYTES_PER_ELEMENT);
  pixels.copy(out, 4 + padded);
  return out;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function swapInPlace(bytes: Buffer, size: number): void {
  if (size === 2) bytes.swap16();
  else bytes.swap32();
}

function rangeOf(data: Float32Array): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return Number.isFinite(min) ? { min, max } : { min: 0, max: 0 };
}

/** Stored values that reproduce `data` through (slope, intercept) to float32 precision, else null. */
export function exactInt16(data: Float32Array, slope: number, intercept: number): Int16Array | null {
  if (!(slope !== 0) || !Number.isFinite(slope) || !Number.isFinite(intercept)) return null;
  const out = new Int16Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    const q = Math.round((v - intercept) / slope);
    if (q < -32768 || q > 32767) return null;
    // The reader computed v in float32 from an integer stored value; allow its rounding only.
    if (Math.abs(q * slope + intercept - v) > 1e-6 * Math.max(1, Math.abs(v)) + 1e-3 * Math.abs(slope)) return null;
    out[i] = q;
  }
  return out;
}

function quantiseInt16(data: Float32Array, min: number, max: number): { values: Int16Array; slope: number; intercept: number } {
  const slope = max > min ? (max - min) / 65535 : 1;
  const intercept = min + 32768 * slope;
  const values = new Int16Array(data.length);
  for (let i = 0; i < data.length; i++) values[i] = Math.max(-32768, Math.min(32767, Math.round((data[i]! - intercept) / slope)));
  return { values, slope, intercept };
}

/** Reads the format back (tests, scripts). */
export function decodeSlice(bytes: Uint8Array): { header: SliceHeader; values: Float32Array } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + n))) as SliceHeader;
  const count = header.rows * header.columns;
  const start = 4 + n;
  const values = new Float32Array(count);
  const { slope, intercept } = header.rescale;
  for (let i = 0; i < count; i++) {
    values[i] =
      header.dtype === 'int16' ? view.getInt16(start + 2 * i, true) * slope + intercept : view.getFloat32(start + 4 * i, true);
  }
  return { header, values };
}
