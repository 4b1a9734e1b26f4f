/**
 * The binary slice format, both ends (docs/viewer.md):
 *
 *   [uint32 LE n][n bytes of JSON SliceHeader, space-padded][rows × columns pixels, little endian]
 *
 * with the pixel block 8-byte aligned so a client views it in place as an Int16Array or
 * Float32Array. The server packs (./slice-encoding.ts decides int16 or float32), the viewer unpacks
 * (viewer/src/image-loader.ts), and both quantise floats onto int16 with `quantiseInt16`. No Node
 * APIs: the viewer bundles this file.
 */
import type { SliceHeader } from './api-types.js';

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const SPACE = 0x20;

/** Header and pixels as one message; the pixels are copied (and byte-swapped on a big-endian host). */
export function packSlice(header: SliceHeader, pixels: Int16Array | Float32Array): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil((4 + json.length) / 8) * 8 - 4;
  const out = new Uint8Array(4 + padded + pixels.byteLength);
  new DataView(out.buffer).setUint32(0, padded, true);
  out.set(json, 4);
  out.fill(SPACE, 4 + json.length, 4 + padded);
  out.set(new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.byteLength), 4 + padded);
  if (!LITTLE_ENDIAN) swapBytes(out.subarray(4 + padded), pixels.BYTES_PER_ELEMENT);
  return out;
}

/** The header and a typed view of the pixels (in place when the block is aligned, else a copy). */
export function unpackSlice(bytes: Uint8Array): { header: SliceHeader; pixels: Int16Array | Float32Array } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + n))) as SliceHeader;
  const count = header.rows * header.columns;
  const Type = header.dtype === 'int16' ? Int16Array : Float32Array;
  let block = bytes.subarray(4 + n, 4 + n + count * Type.BYTES_PER_ELEMENT);
  if (block.length !== count * Type.BYTES_PER_ELEMENT) throw new RangeError(`slice message holds ${block.length} pixel bytes for ${header.rows}x${header.columns} ${header.dtype}`);
  if (block.byteOffset % Type.BYTES_PER_ELEMENT !== 0 || !LITTLE_ENDIAN) {
    block = block.slice();
    if (!LITTLE_ENDIAN) swapBytes(block, Type.BYTES_PER_ELEMENT);
  }
  const pixels = header.dtype === 'int16' ? new Int16Array(block.buffer, block.byteOffset, count) : new Float32Array(block.buffer, block.byteOffset, count);
  return { header, pixels };
}

/** The pixels in the header's units (stored × slope + intercept for int16 blocks). */
export function sliceValues(header: SliceHeader, pixels: Int16Array | Float32Array): Float32Array {
  if (pixels instanceof Float32Array) return pixels;
  const { slope, intercept } = header.rescale;
  return Float32Array.from(pixels, (stored) => stored * slope + intercept);
}

/**
 * Int16 pixels with their rescale, as a viewer's lookup tables want them (indexed by stored value):
 * an int16 block as it is, a float32 block quantised over the slice's range.
 */
export function int16Pixels(header: SliceHeader, pixels: Int16Array | Float32Array): { pixels: Int16Array; slope: number; intercept: number } {
  if (pixels instanceof Int16Array) return { pixels, slope: header.rescale.slope, intercept: header.rescale.intercept };
  return quantiseInt16(pixels, header.min, header.max);
}

/**
 * Values onto int16 with value = stored × slope + intercept spanning [min, max] symmetrically
 * (-32767..32767: the grid is centred on the range, and -32768 is left unused).
 */
export function quantiseInt16(values: ArrayLike<number>, min: number, max: number): { pixels: Int16Array; slope: number; intercept: number } {
  const slope = max > min ? (max - min) / 65534 : 1;
  const intercept = min + 32767 * slope;
  const pixels = new Int16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const q = Math.round((values[i]! - intercept) / slope);
    pixels[i] = q < -32767 ? -32767 : q > 32767 ? 32767 : q;
  }
  return { pixels, slope, intercept };
}

/**
 * A padding mask as runs `[start, length, …]` over the row-major pixels (a reconstruction circle
 * is about one run per row), or undefined when nothing is marked.
 */
export function paddingRuns(mask: ArrayLike<number> | null | undefined): number[] | undefined {
  if (!mask) return undefined;
  const runs: number[] = [];
  let i = 0;
  while (i < mask.length) {
    if (!mask[i]) {
      i++;
      continue;
    }
    const start = i;
    while (i < mask.length && mask[i]) i++;
    runs.push(start, i - start);
  }
  return runs.length > 0 ? runs : undefined;
}

/** The mask of `paddingRuns` again (1 = not image), or null when there are no runs. */
export function paddingMaskOf(runs: readonly number[] | undefined, count: number): Uint8Array | null {
  if (!runs || runs.length === 0) return null;
  const mask = new Uint8Array(count);
  for (let k = 0; k + 1 < runs.length; k += 2) {
    const start = Math.max(0, runs[k]!);
    mask.fill(1, start, Math.min(count, start + Math.max(0, runs[k + 1]!)));
  }
  return mask;
}

function swapBytes(bytes: Uint8Array, size: number): void {
  for (let i = 0; i + size <= bytes.length; i += size) bytes.subarray(i, i + size).reverse();
}
