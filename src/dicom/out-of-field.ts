/**
 * Out-of-field pixels of a CT slice that does not mark them with a (matching) PixelPaddingValue.
 *
 * A CT scanner reconstructs a disc; the pixels of the square image outside it hold a fill value
 * that is not an attenuation measurement. GE declares it as PixelPaddingValue (-2000 stored,
 * -3024 HU) on most series, but some GE series declare -32768 and fill with -2000, and Toshiba
 * and Hitachi slices fill with -2048 / -2000 HU and declare nothing. Rule, applied to CT in HU only:
 *
 *   the pixels that hold the slice's minimum stored value, when that value is at or below
 *   OUT_OF_FIELD_MAX_HU, and that are 4-connected to the image border through such pixels.
 *
 * Why it is safe: no measured attenuation lies 500 HU below air (on the real slices of
 * ../shared/dicom and ../shared/ldct-mayo the lowest image value is -1047 HU, every fill value
 * -2000 HU or lower; docs/metrics.md), and the border connection keeps a stray low pixel inside
 * the body out. The reconstruction circle's geometry is not assumed: on every real slice where the
 * rule fires it marks exactly the outside of the inscribed circle, and on GE slices that declare
 * PixelPaddingValue it marks exactly the declared padding (test/dicom/out-of-field.test.ts).
 *
 * A lossy-compressed slice (lossy transfer syntax, or LossyImageCompression 01) no longer holds one
 * fill value: the codec moves the constant fill by up to a few hundred stored values (fo-dicom's
 * CT1_J2KI, JPEG 2000 at ratio 69: its 55 772 fill pixels of -2000 now span -2315 .. -1661, 2 284
 * of them still -2000), and its minimum is one such moved pixel. There the rule is the safety
 * bound itself: the pixels at or below OUT_OF_FIELD_MAX_HU that are 4-connected to the border
 * through such pixels. The same argument holds (no measured attenuation lies 500 HU below air, and
 * the border connection keeps the inside of the body out); what the codec pushed from the fill
 * above -1500 HU (or from the image below it) at the circle's edge is left as it is.
 */
import { borderConnectedFill } from '../util/border-connected.js';
import type { StoredValues } from './pixels.js';

/** A slice minimum at or below this (HU) is a fill value, not a measurement (air is -1000 HU). */
export const OUT_OF_FIELD_MAX_HU = -1500;

export interface OutOfFieldOptions {
  /** The stored values went through a lossy codec: the fill is no longer one value (rule above). */
  readonly lossy?: boolean;
}

/**
 * 1 where the pixel is out-of-field fill by the rule above, or null when the slice has none.
 * `slope` and `intercept` take stored values to HU.
 */
export function outOfFieldMask(
  stored: StoredValues,
  rows: number,
  columns: number,
  slope: number,
  intercept: number,
  options: OutOfFieldOptions = {},
): Uint8Array | null {
  if (stored.length !== rows * columns || stored.length === 0 || !(slope > 0)) return null;
  let min = stored[0]!;
  for (let i = 1; i < stored.length; i++) if (stored[i]! < min) min = stored[i]!;
  if (min * slope + intercept > OUT_OF_FIELD_MAX_HU) return null;

  const isFill = options.lossy
    ? (i: number) => stored[i]! * slope + intercept <= OUT_OF_FIELD_MAX_HU
    : (i: number) => stored[i] === min;
  const { mask, count } = borderConnectedFill(rows, columns, isFill);
  return count === 0 ? null : mask;
}

/** 1 where either mask is 1; null when both are null. */
export function unionMasks(a: Uint8Array | null, b: Uint8Array | null): Uint8Array | null {
  if (!a) return b;
  if (!b) return a;
  const out = new Uint8Array(a.length);
  for (let i = 0; i < out.length; i++) out[i] = a[i]! | b[i]!;
  return out;
}
