/**
 * The minimal image shape the metrics need: size plus row-major values. `Image2D` (../image.ts)
 * fits it; so do plain arrays of any numeric type (Int16Array test data, Float64Array work images).
 */
export interface Pixels {
  readonly rows: number;
  readonly columns: number;
  readonly data: ArrayLike<number>;
}

export function checkPixels(image: Pixels, what = 'image'): void {
  const { rows, columns, data } = image;
  if (!Number.isInteger(rows) || !Number.isInteger(columns) || rows < 1 || columns < 1) {
    throw new RangeError(`${what}: size must be positive integers, got ${rows}x${columns}`);
  }
  if (data.length !== rows * columns) {
    throw new RangeError(`${what}: ${data.length} values for ${rows}x${columns}`);
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
