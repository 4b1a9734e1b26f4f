/**
 * Boundary handling shared by the filters: scipy.ndimage's 'reflect' mode (half-sample symmetric,
 * the edge pixel repeated: d c b a | a b c d | d c b a). Repeating the edge keeps a flat region
 * flat up to the border and leaves a constant image unchanged, and it is what
 * `scipy.ndimage.gaussian_filter` does by default, so our Gaussian can be checked against scipy.
 */

/** Source index of position `i` on a line of `length` samples, reflected beyond either end. */
export function reflectHalfSample(i: number, length: number): number {
  if (i >= 0 && i < length) return i;
  const period = 2 * length;
  let m = i % period;
  if (m < 0) m += period;
  return m < length ? m : period - 1 - m;
}

/**
 * A copy of a rows x columns image with `pad` reflected pixels on every side, row-major,
 * (rows + 2 pad) x (columns + 2 pad). The filters index it without bounds checks.
 */
export function padReflect(data: ArrayLike<number>, rows: number, columns: number, pad: number): Float32Array {
  const width = columns + 2 * pad;
  const height = rows + 2 * pad;
  const out = new Float32Array(width * height);
  const columnSource = Int32Array.from({ length: width }, (_, x) => reflectHalfSample(x - pad, columns));
  for (let y = 0; y < height; y++) {
    const sourceRow = reflectHalfSample(y - pad, rows) * columns;
    const outRow = y * width;
    for (let x = 0; x < width; x++) out[outRow + x] = data[sourceRow + columnSource[x]!]!;
  }
  return out;
}
