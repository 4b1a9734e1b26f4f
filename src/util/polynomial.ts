/** Small least-squares polynomial fits and their maxima (NPS peak location). */

/** Least-squares polynomial of `degree` through (x, y) by the normal equations; coefficients from the constant up, null when singular. */
export function polynomialFit(x: readonly number[], y: readonly number[], degree: number): number[] | null {
  const m = degree + 1;
  const a = Array.from({ length: m }, () => new Float64Array(m + 1));
  for (let i = 0; i < x.length; i++) {
    const powers = Array.from({ length: 2 * m }, (_, p) => x[i]! ** p);
    for (let r = 0; r < m; r++) {
      for (let c = 0; c < m; c++) a[r]![c]! += powers[r + c]!;
      a[r]![m]! += powers[r]! * y[i]!;
    }
  }
  // Gauss-Jordan with partial pivoting.
  for (let c = 0; c < m; c++) {
    let pivot = c;
    for (let r = c + 1; r < m; r++) if (Math.abs(a[r]![c]!) > Math.abs(a[pivot]![c]!)) pivot = r;
    if (Math.abs(a[pivot]![c]!) < 1e-300) return null;
    [a[c], a[pivot]] = [a[pivot]!, a[c]!];
    for (let r = 0; r < m; r++) {
      if (r === c) continue;
      const factor = a[r]![c]! / a[c]![c]!;
      for (let k = c; k <= m; k++) a[r]![k]! -= factor * a[c]![k]!;
    }
  }
  return a.map((row, r) => row[m]! / row[r]!);
}

/**
 * Where the polynomial p (constant first, degree at most 3) is largest on [lo, hi]: a critical point
 * inside, or an end.
 */
export function polynomialMaximum(p: readonly number[], lo: number, hi: number): number {
  if (p.length > 4) throw new Error(`polynomialMaximum: degree ${p.length - 1} above 3`);
  const value = (x: number) => p.reduce((acc, c, i) => acc + c * x ** i, 0);
  const candidates = [lo, hi];
  // p' = p1 + 2 p2 x + 3 p3 x^2.
  const [qa, qb, qc] = [3 * (p[3] ?? 0), 2 * (p[2] ?? 0), p[1] ?? 0];
  if (Math.abs(qa) < 1e-300) {
    if (qb < 0) candidates.push(-qc / qb);
  } else {
    const disc = qb * qb - 4 * qa * qc;
    if (disc >= 0) for (const sign of [-1, 1]) candidates.push((-qb + sign * Math.sqrt(disc)) / (2 * qa));
  }
  let best = lo;
  for (const x of candidates) if (x >= lo && x <= hi && value(x) > value(best)) best = x;
  return best;
}
