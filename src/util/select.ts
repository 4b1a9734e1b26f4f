/**
 * The k-th smallest of `values` (0-based), the value `values.sort()[k]` would hold, found in
 * expected linear time (quickselect, Hoare partition around a median of three) instead of a sort:
 * a percentile of a 64 Mi-pixel slice costs a pass or two, not seconds. Reorders `values` in place;
 * NaN must not be among them.
 */
export function kthSmallest(values: Float32Array, k: number): number {
  if (!(k >= 0 && k < values.length) || !Number.isInteger(k)) throw new RangeError(`kthSmallest: k = ${k} of ${values.length} values`);
  let lo = 0;
  let hi = values.length - 1;
  while (lo < hi) {
    const mid = lo + ((hi - lo) >> 1);
    // Median of three as the pivot, which also keeps sorted and reversed input linear.
    const a = values[lo]!;
    const b = values[mid]!;
    const c = values[hi]!;
    const pivot = a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (values[i]! < pivot) i++;
      while (values[j]! > pivot) j--;
      if (i <= j) {
        const t = values[i]!;
        values[i] = values[j]!;
        values[j] = t;
        i++;
        j--;
      }
    }
    // [lo, j] <= pivot <= [i, hi]; between them, values equal to the pivot.
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return values[k]!;
  }
  return values[k]!;
}

/** The median: the middle value, or the mean of the two middle ones for an even count. */
export function medianOf(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('medianOf: no values');
  const sorted = [...values].sort((a, b) => a - b);
  const half = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[half]! : (sorted[half - 1]! + sorted[half]!) / 2;
}
