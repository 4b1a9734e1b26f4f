/**
 * Removing the slowly varying background from a noise ROI before its spectrum is taken
 * (ICRU Report 87: subtract the mean, or a low-order 2-D polynomial fit, so that cupping and
 * streak-free shading do not leak into the lowest NPS frequencies).
 */

export const DETRENDS = ['poly2', 'mean'] as const;
export type Detrend = (typeof DETRENDS)[number];

/** Subtracts the mean or the least-squares 2nd-order polynomial surface, in place. */
export function detrendInPlace(values: Float64Array, rows: number, columns: number, method: Detrend): void {
  if (method === 'mean') {
    let sum = 0;
    for (let i = 0; i < values.length; i++) sum += values[i]!;
    const mean = sum / values.length;
    for (let i = 0; i < values.length; i++) values[i]! -= mean;
    return;
  }
  const coefficients = fitPoly2(values, rows, columns);
  const b = new Float64Array(6);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) {
      basis(r, c, rows, columns, b);
      let fit = 0;
      for (let i = 0; i < 6; i++) fit += coefficients[i]! * b[i]!;
      values[r * columns + c]! -= fit;
    }
  }
}

/** Basis 1, u, v, u^2, u v, v^2 on coordinates scaled to [-1, 1] (well conditioned normal equations). */
function basis(r: number, c: number, rows: number, columns: number, out: Float64Array): void {
  const u = rows > 1 ? (2 * r) / (rows - 1) - 1 : 0;
  const v = columns > 1 ? (2 * c) / (columns - 1) - 1 : 0;
  out[0] = 1;
  out[1] = u;
  out[2] = v;
  out[3] = u * u;
  out[4] = u * v;
  out[5] = v * v;
}

function fitPoly2(values: Float64Array, rows: number, columns: number): Float64Array {
  const n = 6;
  const normal = new Float64Array(n * n);
  const rhs = new Float64Array(n);
  const b = new Float64Array(n);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) {
      basis(r, c, rows, columns, b);
      const z = values[r * columns + c]!;
      for (let i = 0; i < n; i++) {
        rhs[i]! += b[i]! * z;
        for (let j = 0; j < n; j++) normal[i * n + j]! += b[i]! * b[j]!;
      }
    }
  }
  return solve(normal, rhs, n);
}

/** Gaussian elimination with partial pivoting; `a` (n x n) and `y` are overwritten. */
function solve(a: Float64Array, y: Float64Array, n: number): Float64Array {
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(a[r * n + col]!) > Math.abs(a[pivot * n + col]!)) pivot = r;
    if (Math.abs(a[pivot * n + col]!) < 1e-12) throw new RangeError('ROI too small for a 2nd-order polynomial detrend');
    if (pivot !== col) {
      for (let j = 0; j < n; j++) {
        const t = a[col * n + j]!;
        a[col * n + j] = a[pivot * n + j]!;
        a[pivot * n + j] = t;
      }
      const t = y[col]!;
      y[col] = y[pivot]!;
      y[pivot] = t;
    }
    for (let r = col + 1; r < n; r++) {
      const f = a[r * n + col]! / a[col * n + col]!;
      if (f === 0) continue;
      for (let j = col; j < n; j++) a[r * n + j]! -= f * a[col * n + j]!;
      y[r]! -= f * y[col]!;
    }
  }
  const x = new Float64Array(n);
  for (let r = n - 1; r >= 0; r--) {
    let sum = y[r]!;
    for (let j = r + 1; j < n; j++) sum -= a[r * n + j]! * x[j]!;
    x[r] = sum / a[r * n + r]!;
  }
  return x;
}
