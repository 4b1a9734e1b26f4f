/** Check values and thresholds as text, shared by the terminal table and the HTML report. */
import { fmt } from './judge.js';
import type { QaCheck } from './types.js';

/**
 * Fractions are shown in percent: "-12.3 %" reads faster than "-0.123". A mean over noise
 * realisations carries its standard error: "-5.18 ± 1.21 %".
 */
export function formatValue(check: QaCheck): string {
  const se = check.measured.standardError;
  if (check.value === null || typeof se !== 'number' || !Number.isFinite(se)) return withUnit(check.value, check.unit);
  if (check.unit === 'fraction') return `${fmt(100 * check.value)} ± ${fmt(100 * se, 2)} %`;
  if (check.unit === 'ratio' || check.unit === '' || check.unit.startsWith('fraction of')) return `${fmt(check.value, 4)} ± ${fmt(se, 2)}`;
  return `${fmt(check.value, 4)} ± ${fmt(se, 2)} ${check.unit}`;
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

function withUnit(value: number | null, unit: string): string {
  if (value === null) return 'n/a';
  if (unit === 'fraction') return `${fmt(100 * value)} %`;
  if (unit === 'ratio' || unit === '' || unit.startsWith('fraction of')) return fmt(value, 4);
  return `${fmt(value, 4)} ${unit}`;
}

/** The terminal table: check, value, threshold, PASS / FAIL, then a summary line. */
export function formatTable(checks: readonly QaCheck[]): string {
  const rows = checks.map((c) => [c.name, formatValue(c), formatThreshold(c), c.pass ? 'PASS' : 'FAIL']);
  const header = ['check', 'value', 'threshold', 'result'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) => cells.map((cell, i) => (i === 1 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ').trimEnd();
  const failed = checks.filter((c) => !c.pass).length;
  return [
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    '',
    failed === 0 ? `PASS: all ${checks.length} checks passed` : `FAIL: ${failed} of ${checks.length} checks failed`,
  ].join('\n');
}
