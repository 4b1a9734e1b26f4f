/** Check values and thresholds as text, shared by the terminal table and the HTML report. */
import { fmt } from './judge.js';
import type { QaCheck } from './types.js';

/** Fractions are shown in percent: "-12.3 %" reads faster than "-0.123". */
export function formatValue(check: QaCheck): string {
  return withUnit(check.value, check.unit);
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
