/**
 * How firm a verdict is: a check value that is a mean over noise realisations (or carries another
 * standard error, e.g. the observer's jackknife) would come out differently on another set of
 * realisations, so a value close to a limit could pass on one set and fail on the next. The margin
 * says how far the value is from the nearest limit of its pass band in standard errors; the
 * verdict (pass or fail) is left as it is, and only said to be not firm (docs/qa.md, "The value,
 * its standard error and its spread").
 */
import type { Bounds } from './config.js';

/**
 * The one rule: a verdict is firm when the value lies at least 2 standard errors from the nearest
 * limit. ±1.96 SE is the two-sided 95 % interval of a normal mean, rounded to 2: a limit inside
 * that interval around the value is not excluded by the data, so the verdict could flip with
 * another set of realisations. With 8 realisations the SE is itself estimated from 7 degrees of
 * freedom, whose 95 % t interval is ±2.36 SE, so "firm" at 2 is the normal approximation, not a
 * guarantee.
 */
export const FIRM_MARGIN_SE = 2;

/**
 * Signed distance from `value` to the nearest limit of its band, in units of `standardError`:
 * positive inside the band (the value passes), negative outside (it fails), 0 on a limit (an
 * inclusive limit passes). For a two-sided band that is min(value - min, max - value) / SE, which
 * is the distance to the nearer limit inside and to the crossed limit outside; a one-sided band
 * keeps the term of its one limit.
 *
 * null when there is nothing to measure it with: no value, no standard error, or a standard error
 * of 0 (the realisations agree exactly; the margin is unbounded and JSON has no Infinity).
 */
export function limitMarginSe(value: number | null, bounds: Bounds, standardError: number | null): number | null {
  if (value === null || !Number.isFinite(value)) return null;
  if (standardError === null || !Number.isFinite(standardError) || !(standardError > 0)) return null;
  const distances: number[] = [];
  if (bounds.min !== null) distances.push(value - bounds.min);
  if (bounds.max !== null) distances.push(bounds.max - value);
  if (distances.length === 0) return null;
  return Math.min(...distances) / standardError;
}

/**
 * Whether the verdict stands whatever the realisations: |margin| >= FIRM_MARGIN_SE. A standard
 * error of exactly 0 is firm (every realisation gave the same value). null when the check has no
 * standard error or no value: there is no spread to judge it by.
 */
export function isFirm(value: number | null, standardError: number | null, margin: number | null): boolean | null {
  if (value === null || !Number.isFinite(value) || standardError === null || !Number.isFinite(standardError)) return null;
  if (standardError === 0) return true;
  return margin === null ? null : Math.abs(margin) >= FIRM_MARGIN_SE;
}

/** How many passes and failures are not firm (`QaResult.summary`, and the verdict line that prints it). */
export function notFirmCounts(checks: ReadonlyArray<{ readonly pass: boolean; readonly firm: boolean | null }>): { passedNotFirm: number; failedNotFirm: number } {
  let passedNotFirm = 0;
  let failedNotFirm = 0;
  for (const c of checks) {
    if (c.firm !== false) continue;
    if (c.pass) passedNotFirm++;
    else failedNotFirm++;
  }
  return { passedNotFirm, failedNotFirm };
}
