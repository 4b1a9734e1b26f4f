/**
 * What the server sends of a slice in the binary format of ./slice-codec.ts: int16 when every
 * value is exactly stored × slope + intercept with the slice's own rescale (CT as scanned, and our
 * derived series): half the bytes, and exactly what cornerstone's lookup tables want. Anything else
 * goes as float32, bit for bit (or quantised onto int16 when the client asks for int16).
 */
import type { SliceRef } from '../dicom/index.js';
import type { Image2D } from '../image.js';
import type { SliceHeader } from './api-types.js';
import { packSlice, paddingRuns, quantiseInt16, sliceValues, unpackSlice } from './slice-codec.js';

export type SliceDtype = SliceHeader['dtype'];

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
    return pack(image, context, 'int16', quantised.slope, quantised.intercept, min, max, quantised.pixels);
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
  const padding = paddingRuns(image.padding);
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
    ...(padding ? { padding } : {}),
  };
  const bytes = packSlice(header, values);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
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

/** Reads the format back in the header's units (tests, scripts). */
export function decodeSlice(bytes: Uint8Array): { header: SliceHeader; values: Float32Array } {
  const { header, pixels } = unpackSlice(bytes);
  return { header, values: sliceValues(header, pixels) };
}
