/**
 * Uncompressed pixel data (implicit / explicit VR little endian, explicit big endian, deflated
 * after inflation, and Encapsulated Uncompressed): the bytes of a frame as 8, 16 or 32-bit samples.
 */
import type { FrameDecoder, SampleArray } from './types.js';

export const decodeNative: FrameDecoder = async (encoded, context) => nativeSamples(encoded, context.pixel.bitsAllocated, context.littleEndian, context.pixelDataVr);

/** Copies into an aligned buffer (typed arrays need aligned offsets) and fixes byte order. */
export function nativeSamples(
  encoded: Uint8Array,
  bitsAllocated: number,
  littleEndian: boolean,
  vr: string | undefined,
): SampleArray {
  const bytes = new Uint8Array(encoded.length - (encoded.length % (bitsAllocated / 8)));
  bytes.set(encoded.subarray(0, bytes.length));
  if (!littleEndian) {
    // Big endian OW data with 8 bits allocated is stored as swapped 16-bit words.
    const word = bitsAllocated === 8 ? (vr === 'OW' ? 2 : 1) : bitsAllocated / 8;
    swapBytes(bytes, word);
  }
  if (bitsAllocated === 8) return bytes;
  if (bitsAllocated === 16) return new Uint16Array(bytes.buffer, 0, bytes.length / 2);
  return new Uint32Array(bytes.buffer, 0, bytes.length / 4);
}

function swapBytes(bytes: Uint8Array, word: number): void {
  if (word === 2) {
    for (let i = 0; i + 1 < bytes.length; i += 2) {
      const t = bytes[i]!;
      bytes[i] = bytes[i + 1]!;
      bytes[i + 1] = t;
    }
  } else if (word === 4) {
    for (let i = 0; i + 3 < bytes.length; i += 4) {
      const a = bytes[i]!;
      const b = bytes[i + 1]!;
      bytes[i] = bytes[i + 3]!;
      bytes[i + 1] = bytes[i + 2]!;
      bytes[i + 2] = b;
      bytes[i + 3] = a;
    }
  }
}
