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
 */
import type { StoredValues } from './pixels.js';

/** A slice minimum at or below this (HU) is a fill value, not a measurement (air is -1000 HU). */
export const OUT_OF_FIELD_MAX_HU = -1500;

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
): Uint8Array | null {
  if (stored.length !== rows * columns || stored.length === 0 || !(slope > 0)) return null;
  let min = stored[0]!;
  for (let i = 1; i < stored.length; i++) if (stored[i]! < min) min = stored[i]!;
  if (min * slope + intercept > OUT_OF_FIELD_MAX_HU) return null;

  const mask = new Uint8Array(stored.length);
  const queue = new Int32Array(stored.length);
  let head = 0;
  let tail = 0;
  const seed = (i: number) => {
    if (mask[i] || stored[i] !== min) return;
    mask[i] = 1;
    queue[tail++] = i;
  };
  for (let c = 0; c < columns; c++) {
    seed(c);
    seed((rows - 1) * columns + c);
  }
  for (let r = 0; r < rows; r++) {
    seed(r * columns);
    seed(r * columns + columns - 1);
  }
  if (tail === 0) return null;
  while (head < tail) {
    const i = queue[head++]!;
    const r = Math.floor(i / columns);
    const c = i - r * columns;
    if (c > 0) seed(i - 1);
    if (c < columns - 1) seed(i + 1);
    if (r > 0) seed(i - columns);
    if (r < rows - 1) seed(i + columns);
  }
  return mask;
}

/** 1 where either mask is 1; null when both are null. */
export function unionMasks(a: Uint8Array | null, b: Uint8Array | null): Uint8Array | null {
  if (!a) return b;
  if (!b) return a;
  const out = new Uint8Array(a.length);
  for (let i = 0; i < out.length; i++) out[i] = a[i]! | b[i]!;
  return out;
}
