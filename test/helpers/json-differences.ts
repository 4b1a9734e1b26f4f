/**
 * Where a re-run's JSON differs from a committed result: numbers beyond a relative tolerance (the
 * last bits another CPU's kernels may move), anything else at all. Used by the tests that keep the
 * committed results under models/eval/ current.
 */

/** Equal within `tolerance` of the larger magnitude (at least 1). */
export function closeTo(a: number, b: number, tolerance: number): boolean {
  return Math.abs(a - b) <= tolerance * Math.max(1, Math.abs(a), Math.abs(b));
}

/** "path: before -> now" for every difference between `before` and `now`, depth first. */
export function jsonDifferences(before: unknown, now: unknown, at: string, tolerance: number, out: string[] = []): string[] {
  if (typeof before === 'number' && typeof now === 'number') {
    if (!closeTo(before, now, tolerance)) out.push(`${at}: ${before} -> ${now}`);
  } else if (Array.isArray(before) && Array.isArray(now)) {
    if (before.length !== now.length) out.push(`${at}: ${before.length} -> ${now.length} entries`);
    else before.forEach((v, i) => jsonDifferences(v, now[i], `${at}[${i}]`, tolerance, out));
  } else if (before !== null && now !== null && typeof before === 'object' && typeof now === 'object') {
    for (const k of new Set([...Object.keys(before), ...Object.keys(now)])) {
      jsonDifferences((before as Record<string, unknown>)[k], (now as Record<string, unknown>)[k], `${at}.${k}`, tolerance, out);
    }
  } else if (before !== now) {
    out.push(`${at}: ${JSON.stringify(before)} -> ${JSON.stringify(now)}`);
  }
  return out;
}
