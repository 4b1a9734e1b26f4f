/**
 * RLE Lossless (DICOM PS3.5 Annex G): a 64-byte header of segment offsets, then one PackBits
 * segment per byte plane, most significant byte first. Written here because it is simple and
 * the standard defines it completely; every read is bounds-checked.
 */
import { LowdoseError } from '../../errors.js';
import type { FrameDecoder, SampleArray } from './types.js';

export const decodeRle: FrameDecoder = async (encoded, context) => {
  const { rows, columns, bitsAllocated, samplesPerPixel } = context.pixel;
  const fail = (what: string) =>
    new LowdoseError('E_DECODE', `${context.path}: RLE frame ${what}`, { path: context.path });
  if (encoded.length < 64) throw fail(`is ${encoded.length} bytes, shorter than its 64-byte header`);
  const header = new DataView(encoded.buffer, encoded.byteOffset, 64);
  const segmentCount = header.getUint32(0, true);
  const bytesPerSample = bitsAllocated / 8;
  if (segmentCount !== bytesPerSample * samplesPerPixel) {
    throw fail(`has ${segmentCount} segments, expected ${bytesPerSample * samplesPerPixel}`);
  }
  const offsets: number[] = [];
  for (let s = 0; s < segmentCount; s++) offsets.push(header.getUint32(4 + 4 * s, true));
  const pixels = rows * columns;
  const planes: Uint8Array[] = [];
  for (let s = 0; s < segmentCount; s++) {
    const start = offsets[s]!;
    const end = s + 1 < segmentCount ? offsets[s + 1]! : encoded.length;
    if (start < 64 || start > end || end > encoded.length) throw fail(`segment ${s + 1} has offsets ${start}..${end} outside the frame`);
    const plane = new Uint8Array(pixels);
    const written = unpackBits(encoded, start, end, plane);
    if (written < pixels) throw fail(`segment ${s + 1} decodes to ${written} bytes, expected ${pixels}`);
    planes.push(plane);
  }
  return assembleSamples(planes, pixels, bytesPerSample);
};

/** PackBits into `out`; returns how many bytes were written (never more than out.length). */
function unpackBits(input: Uint8Array, start: number, end: number, out: Uint8Array): number {
  let i = start;
  let o = 0;
  while (i < end && o < out.length) {
    const control = input[i++]!;
    if (control < 128) {
      const count = Math.min(control + 1, end - i, out.length - o);
      out.set(input.subarray(i, i + count), o);
      i += control + 1;
      o += count;
    } else if (control > 128) {
      if (i >= end) break;
      const count = Math.min(257 - control, out.length - o);
      out.fill(input[i++]!, o, o + count);
      o += count;
    }
    // 128 (-128) is a no-op.
  }
  return o;
}

function assembleSamples(planes: Uint8Array[], pixels: number, bytesPerSample: number): SampleArray {
  if (bytesPerSample === 1) return planes[0]!;
  if (bytesPerSample === 2) {
    const out = new Uint16Array(pixels);
    const [hi, lo] = planes as [Uint8Array, Uint8Array];
    for (let i = 0; i < pixels; i++) out[i] = (hi[i]! << 8) | lo[i]!;
    return out;
  }
  const out = new Uint32Array(pixels);
  const [b3, b2, b1, b0] = planes as [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  for (let i = 0; i < pixels; i++) out[i] = ((b3[i]! << 24) | (b2[i]! << 16) | (b1[i]! << 8) | b0[i]!) >>> 0;
  return out;
}
