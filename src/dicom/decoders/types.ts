/**
 * The one interface every pixel decoder implements: encoded frame bytes in, one sample per pixel
 * out (grayscale only), in the order of the image rows. Samples are the raw container values;
 * ../pixels.ts turns them into stored values (bits stored, sign).
 */
import type { PixelModule } from '../types.js';

export type SampleArray = Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array;

export interface FrameContext {
  readonly path: string;
  readonly pixel: PixelModule;
  readonly transferSyntaxUid: string;
  readonly littleEndian: boolean;
  /** VR of the pixel data element when the file states it (OB / OW matter for 8-bit big endian). */
  readonly pixelDataVr: string | undefined;
}

export type FrameDecoder = (encoded: Uint8Array, context: FrameContext) => Promise<SampleArray>;
