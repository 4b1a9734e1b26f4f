/**
 * `value` rounded to `digits` decimal places (Math.round's half-up rule): how the reports, JSON
 * summaries and phantom geometries round the numbers they write, in one place.
 */
export function roundTo(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
