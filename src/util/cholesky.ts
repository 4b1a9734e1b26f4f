/** Symmetric positive definite systems by Cholesky factorisation (p x p, row-major). */

/** Lower factor L with S = L L^T; null when S is not positive definite (relative to its diagonal). */
export function cholesky(s: Float64Array, p: number): Float64Array | null {
  const l = new Float64Array(p * p);
  for (let i = 0; i < p; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = s[i * p + j]!;
      for (let k = 0; k < j; k++) sum -= l[i * p + k]! * l[j * p + k]!;
      if (i === j) {
        // Relative to the diagonal: a rank-deficient matrix (a direction the data do not vary in) has no inverse.
        if (!(sum > 1e-12 * Math.abs(s[i * p + i]!))) return null;
        l[i * p + i] = Math.sqrt(sum);
      } else {
        l[i * p + j] = sum / l[j * p + j]!;
      }
    }
  }
  return l;
}

/** Solves L L^T x = b for a factor from `cholesky`. */
export function solveFactored(l: Float64Array, b: ArrayLike<number>, p: number): Float64Array {
  const y = new Float64Array(p);
  for (let i = 0; i < p; i++) {
    let sum = b[i]!;
    for (let k = 0; k < i; k++) sum -= l[i * p + k]! * y[k]!;
    y[i] = sum / l[i * p + i]!;
  }
  const x = new Float64Array(p);
  for (let i = p - 1; i >= 0; i--) {
    let sum = y[i]!;
    for (let k = i + 1; k < p; k++) sum -= l[k * p + i]! * x[k]!;
    x[i] = sum / l[i * p + i]!;
  }
  return x;
}

/** Solves S x = b for symmetric positive definite S; null when S is not positive definite. */
export function choleskySolve(s: Float64Array, b: ArrayLike<number>, p: number): Float64Array | null {
  const l = cholesky(s, p);
  return l ? solveFactored(l, b, p) : null;
}
