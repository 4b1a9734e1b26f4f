/**
 * Where `x` falls among `xs` (ascending): y(x) = (1 - t) * ys[lo] + t * ys[hi], held at the first /
 * last point beyond either end (lo = hi there, t = 0).
 */
export function bracket(xs: ArrayLike<number>, x: number): { lo: number; hi: number; t: number } {
  const n = xs.length;
  if (x <= xs[0]!) return { lo: 0, hi: 0, t: 0 };
  if (x >= xs[n - 1]!) return { lo: n - 1, hi: n - 1, t: 0 };
  let lo = 0;
  let hi = n - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (xs[mid]! <= x) lo = mid;
    else hi = mid;
  }
  return { lo, hi, t: (x - xs[lo]!) / (xs[hi]! - xs[lo]!) };
}

/** y(x) linear between the points (xs ascending), held beyond either end. */
export function interpolate(xs: ArrayLike<number>, ys: ArrayLike<number>, x: number): number {
  const { lo, hi } = bracket(xs, x);
  return lo === hi ? ys[lo]! : ys[lo]! + ((ys[hi]! - ys[lo]!) * (x - xs[lo]!)) / (xs[hi]! - xs[lo]!);
}
