/**
 * Decoded samples → stored values, the numbers the modality LUT applies to: the BitsStored bits
 * at HighBit, sign-extended for PixelRepresentation 1. Also the pixel padding mask.
 *
 * MONOCHROME1 is deliberately not inverted: stored values and modality values mean the same
 * quantity whatever the display polarity, and inversion is a display concern (the photometric
 * interpretation travels with the series for viewers that want it).
 */
import type { PixelModule } from './image-header.js';
import type { SampleArray } from './decoders/index.js';

/** Int32 for everything except unsigned 32-bit data, which needs Uint32. */
export type StoredValues = Int32Array | Uint32Array;

/**
 * `native`: samples straight from uncompressed pixel data, where unused high bits may hold
 * other things (overlays, garbage) and HighBit says where the value sits. Codecs return the
 * value itself, so only the sign and width apply.
 */
export function storedValues(samples: SampleArray, pixel: PixelModule, native: boolean): StoredValues {
  const count = pixel.rows * pixel.columns;
  const { bitsStored, pixelRepresentation } = pixel;
  const shift = native ? pixel.highBit + 1 - bitsStored : 0;
  if (bitsStored === 32) {
    const out = pixelRepresentation === 1 ? new Int32Array(count) : new Uint32Array(count);
    for (let i = 0; i < count; i++) out[i] = samples[i]!;
    return out;
  }
  const mask = 2 ** bitsStored - 1;
  const out = new Int32Array(count);
  if (pixelRepresentation === 1) {
    const up = 32 - bitsStored;
    for (let i = 0; i < count; i++) out[i] = (((samples[i]! >>> shift) & mask) << up) >> up;
  } else {
    for (let i = 0; i < count; i++) out[i] = (samples[i]! >>> shift) & mask;
  }
  return out;
}

/**
 * 1 where the stored value is PixelPaddingValue (or within PixelPaddingRangeLimit): pixels outside
 * the scanned field of view, which metrics and denoising must not count. Null without padding.
 */
export function paddingMask(stored: StoredValues, pixel: PixelModule): Uint8Array | null {
  const padding = pixel.padding;
  if (padding === null) return null;
  const value = toStoredDomain(padding.value, pixel);
  const limit = padding.rangeLimit === null ? value : toStoredDomain(padding.rangeLimit, pixel);
  const lo = Math.min(value, limit);
  const hi = Math.max(value, limit);
  const mask = new Uint8Array(stored.length);
  let any = false;
  for (let i = 0; i < stored.length; i++) {
    const v = stored[i]!;
    if (v >= lo && v <= hi) {
      mask[i] = 1;
      any = true;
    }
  }
  return any ? mask : null;
}

/** Padding attributes are read as 16 / 32-bit integers; bring them to BitsStored's width and sign. */
export function toStoredDomain(value: number, pixel: PixelModule): number {
  if (pixel.bitsStored >= 32) return value;
  const mask = 2 ** pixel.bitsStored - 1;
  const bits = value & mask;
  if (pixel.pixelRepresentation === 1) {
    const up = 32 - pixel.bitsStored;
    return (bits << up) >> up;
  }
  return bits;
}
