/** Small least-squares polynomial fits (NPS peak location). */

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
