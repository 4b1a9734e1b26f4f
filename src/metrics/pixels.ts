/**
 * The minimal image shape the metrics need: size plus row-major values. `Image2D` (../image.ts)
 * fits it; so do plain arrays of any numeric type (Int16Array test data, Float64Array work images).
 */
export interface Pixels {
  readonly rows: number;
  readonly columns: number;
  readonly data: ArrayLike<number>;
  /**
   * Nonzero where the pixel is not image (padding or out-of-field fill, see `Image2D.padding`).
   * Comparisons leave out every pixel that either image marks, and SSIM windows do not see them.
   * Absent or null: all image.
   */
  readonly padding?: ArrayLike<number> | null;
}

export function checkPixels(image: Pixels, what = 'image'): void {
  const { rows, columns, data } = image;
  if (!Number.isInteger(rows) || !Number.isInteger(columns) || rows < 1 || columns < 1) {
    throw new RangeError(`${what}: size must be positive integers, got ${rows}x${columns}`);
  }
  if (data.length !== rows * columns) {
    throw new RangeError(`${what}: ${data.length} values for ${rows}x${columns}`);
  }
  if (image.padding && image.padding.length !== data.length) {
    throw new RangeError(`${what}: padding mask of ${image.padding.length} values for ${rows}x${columns}`);
  }
}

export function checkSameSize(a: Pixels, b: Pixels): void {
  checkPixels(a, 'reference');
  checkPixels(b, 'test');
  if (a.rows !== b.rows || a.columns !== b.columns) {
    throw new RangeError(`images differ in size: reference ${a.rows}x${a.columns}, test ${b.rows}x${b.columns}`);
  }
}

/**
 * Which pixels a metric counts: rows x columns values, non-zero = counts. Absent (undefined or
 * null) = every pixel. Padding and pixels outside the scanned field of view are left out this way.
 */
export type ValidMask = ArrayLike<number> | null;

export function checkValidMask(valid: ValidMask | undefined, image: Pixels): void {
  if (valid && valid.length !== image.rows * image.columns) {
    throw new RangeError(`valid-pixel mask of ${valid.length} values for a ${image.rows}x${image.columns} image`);
  }
}

/**
 * 1 where either image marks padding (`Pixels.padding`), or null when neither marks any, so that
 * callers keep their unmasked path.
 */
export function paddingUnion(reference: Pixels, test: Pixels): Uint8Array | null {
  const a = anyMarked(reference.padding) ? reference.padding! : null;
  const b = anyMarked(test.padding) ? test.padding! : null;
  if (!a && !b) return null;
  const out = new Uint8Array(reference.data.length);
  for (let i = 0; i < out.length; i++) if ((a && a[i]) || (b && b[i])) out[i] = 1;
  return out;
}

/** The pixels a comparison counts: those of `valid` (all when absent) that are not `padding`. */
export function countedPixels(valid: ValidMask | undefined, padding: ArrayLike<number> | null): ValidMask {
  if (!padding) return valid ?? null;
  return Uint8Array.from(padding, (p, i) => (p || (valid && !valid[i]) ? 0 : 1));
}

function anyMarked(mask: ArrayLike<number> | null | undefined): boolean {
  if (!mask) return false;
  for (let i = 0; i < mask.length; i++) if (mask[i]) return true;
  return false;
}
