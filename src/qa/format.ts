/** Check values and thresholds as text, shared by the terminal table and the HTML report. */
import { fmt } from './judge.js';
import { FIRM_MARGIN_SE, notFirmCounts } from './margin.js';
import type { QaCheck } from './types.js';
import { textTable } from '../util/text-table.js';

/**
 * Fractions (`fraction`, and `fraction of patches`) are shown in percent: "-12.3 %" reads faster
 * than "-0.123". A mean over noise realisations carries its standard error: "-5.18 ± 1.21 %".
 * A value that would round onto a limit it is not equal to gets the digits that tell it apart
 * ("39.996 %" against ">= 40.0 %", FAIL), so the table never prints a failing value that reads
 * as the limit itself.
 */
export function formatValue(check: QaCheck): string {
  const se = check.measured.standardError;
  const digits = digitsApartFromLimits(check);
  if (check.value === null || typeof se !== 'number' || !Number.isFinite(se)) return withUnit(check.value, check.unit, digits);
  if (isFraction(check.unit)) return `${fmt(100 * check.value, digits)} ± ${fmt(100 * se, 2)} %`;
  if (check.unit === 'ratio' || check.unit === '') return `${fmt(check.value, digits)} ± ${fmt(se, 2)}`;
  return `${fmt(check.value, digits)} ± ${fmt(se, 2)} ${check.unit}`;
}

/** Significant digits of the unit's display (3 for percent, 4 otherwise). */
function baseDigits(unit: string): number {
  return isFraction(unit) ? 3 : 4;
}

function isFraction(unit: string): boolean {
  return unit === 'fraction' || unit.startsWith('fraction of');
}

/**
 * The unit's digits, or more (up to 6 more) where the value would print as one of its limits
 * without being equal to it.
 */
function digitsApartFromLimits(check: QaCheck): number {
  const base = baseDigits(check.unit);
  const value = check.value;
  if (value === null || !Number.isFinite(value)) return base;
  const scale = isFraction(check.unit) ? 100 : 1;
  const limits = (Array.isArray(check.threshold) ? check.threshold : [check.threshold]).filter((l) => Number.isFinite(l) && l !== value);
  let digits = base;
  while (digits < base + 6 && limits.some((l) => fmt(scale * value, digits) === fmt(scale * l, digits))) digits++;
  return digits;
}

export function formatThreshold(check: QaCheck): string {
  const t = check.threshold;
  if (Array.isArray(t)) {
    const [lo, hi] = t as readonly [number, number];
    if (lo === -hi) return `|x| <= ${withUnit(hi, check.unit)}`;
    return `${withUnit(lo, check.unit)} .. ${withUnit(hi, check.unit)}`;
  }
  return `${check.op} ${withUnit(t as number, check.unit)}`;
}

function withUnit(value: number | null, unit: string, digits = baseDigits(unit)): string {
  if (value === null) return 'n/a';
  if (isFraction(unit)) return `${fmt(100 * value, digits)} %`;
  if (unit === 'ratio' || unit === '') return fmt(value, digits);
  return `${fmt(value, digits)} ${unit}`;
}

/**
 * PASS or FAIL, and for a verdict that another set of noise realisations could flip (`firm`
 * false, src/qa/margin.ts) how close to the limit it is: "FAIL (not firm: 0.4 SE outside the limit)".
 */
export function formatVerdict(check: QaCheck): string {
  const verdict = check.pass ? 'PASS' : 'FAIL';
  if (check.firm !== false) return verdict;
  const margin = check.measured.limitMarginSe;
  if (typeof margin !== 'number') return `${verdict} (not firm)`;
  // Rounded to 0.1 but capped below the rule's 2, so that a margin of 1.96 does not read "2.0 SE" beside "not firm".
  const distance = Math.min(Math.round(Math.abs(margin) * 10) / 10, FIRM_MARGIN_SE - 0.1).toFixed(1);
  return `${verdict} (not firm: ${distance} SE ${margin >= 0 ? 'inside' : 'outside'} the limit)`;
}

/**
 * The verdict line: "FAIL: 3 of 18 checks failed, 2 of them not firm; 1 pass not firm" or
 * "PASS: all 18 checks passed". Not-firm counts appear only when there are some.
 */
export function formatSummary(checks: readonly QaCheck[]): string {
  const failed = checks.filter((c) => !c.pass);
  const { passedNotFirm, failedNotFirm } = notFirmCounts(checks);
  const passes = passedNotFirm === 0 ? '' : `${passedNotFirm} ${passedNotFirm === 1 ? 'pass' : 'passes'} not firm`;
  if (failed.length === 0) return `PASS: all ${checks.length} checks passed${passes ? `, ${passes}` : ''}`;
  const fails = failedNotFirm === 0 ? '' : `, ${failedNotFirm} of them not firm`;
  return `FAIL: ${failed.length} of ${checks.length} checks failed${fails}${passes ? `; ${passes}` : ''}`;
}

/** The terminal table: check, value, threshold, PASS / FAIL (and whether it is firm), then a summary line. */
export function formatTable(checks: readonly QaCheck[]): string {
  const rows = checks.map((c) => [c.name, formatValue(c), formatThreshold(c), formatVerdict(c)]);
  const columns = [{ header: 'check' }, { header: 'value', right: true }, { header: 'threshold' }, { header: 'result' }];
  return [...textTable(columns, rows, { rule: true }), '', formatSummary(checks)].join('\n');
}
