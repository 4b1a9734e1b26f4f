/**
 * The per-slice metrics of one or more denoising methods of the same low-dose series as CSV (the
 * viewer's "CSV" of the metrics plot, `GET /api/metrics.csv`): one row per slice for the low-dose
 * series and one per method, with the numbers of `GET /api/comparisons/:id/metrics` unrounded.
 */
import type { ComparisonMetrics, Scores } from './api-types.js';
import type { ComparisonPairingWarning } from './data/pairing.js';

export interface MethodMetrics {
  readonly comparisonId: string;
  /** The report's method (`nlm`, `gaussian`, `diffusion`, …), or '' when paired by headers. */
  readonly method: string;
  /** The denoised series' id and description. */
  readonly seriesId: string;
  readonly description: string;
  readonly metrics: ComparisonMetrics;
  /** The comparison's pairing warnings (comparisonPairingWarnings): its low-dose row carries the `lowDose` ones, its denoised row the `denoised` ones. */
  readonly pairingWarnings: readonly ComparisonPairingWarning[];
}

export interface LowDoseFacts {
  readonly seriesId: string;
  readonly description: string;
  /** Slice location (mm) of each low-dose slice, null where unknown. */
  readonly locations: ReadonlyArray<number | null>;
}

/**
 * `reference_noise_sd` (added last): the no-reference noise estimate of the reference slice the row's
 * comparison scores this slice against (`noise.reference` of the metrics route), the full-dose noise
 * a denoised slice's `noise_sd` reads against; empty without a reference or an estimate.
 * `pairing_warnings` (added after it): what makes the row's scores suspect although the pairs line
 * up (the comparison's `pairingWarnings` for that row's series: another kernel, slice thickness, a
 * gate against an ungated series), each `CODE: message`, several joined by ` | `; empty when none.
 */
export const METRICS_CSV_HEADER = 'index,location_mm,role,comparison,method,series,description,against,psnr_db,ssim,rmse,noise_sd,units,reference_noise_sd,pairing_warnings';

/**
 * Rows by slice: the low-dose row first (its scores against the first method's reference, empty
 * without one; its noise estimate; that reference slice's), then each method in the order given,
 * each with its own reference slice's noise. A slice a method has no match for has empty score cells.
 */
export function metricsCsv(lowDose: LowDoseFacts, methods: readonly MethodMetrics[]): string {
  const lines = [METRICS_CSV_HEADER];
  const first = methods[0];
  for (let index = 0; index < lowDose.locations.length; index++) {
    const location = lowDose.locations[index];
    const at = location === null || location === undefined ? '' : String(location);
    if (first) {
      const slice = first.metrics.slices[index];
      lines.push(row([index, at, 'low-dose', first.comparisonId, '', lowDose.seriesId, lowDose.description, first.metrics.against === 'reference' ? 'reference' : '', ...scoreCells(slice?.lowDose ?? null), cell(slice?.noise.lowDose ?? null), first.metrics.units, cell(slice?.noise.reference ?? null), warningsCell(first, 'lowDose')]));
    }
    for (const m of methods) {
      const slice = m.metrics.slices[index];
      lines.push(row([index, at, 'denoised', m.comparisonId, m.method, m.seriesId, m.description, m.metrics.against, ...scoreCells(slice?.denoised ?? null), cell(slice?.noise.denoised ?? null), m.metrics.units, cell(slice?.noise.reference ?? null), warningsCell(m, 'denoised')]));
    }
  }
  return lines.join('\n') + '\n';
}

/** The pairing warnings of one row's scores, `CODE: message` joined by ` | ` (the messages hold `;` and `,` of their own). */
function warningsCell(method: MethodMetrics, scores: ComparisonPairingWarning['scores']): string {
  return method.pairingWarnings.filter((w) => w.scores === scores).map((w) => `${w.code}: ${w.message}`).join(' | ');
}

/** A scored slice's PSNR is null where the two slices are identical within the range: +Infinity, `inf` (as `lowdose metrics` prints it), not an empty cell. */
function scoreCells(scores: Scores | null): string[] {
  return scores ? [scores.psnr === null ? 'inf' : cell(scores.psnr), cell(scores.ssim), cell(scores.rmse)] : ['', '', ''];
}

function cell(value: number | null): string {
  return value === null || !Number.isFinite(value) ? '' : String(value);
}

/** RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled. */
function row(fields: ReadonlyArray<string | number>): string {
  return fields.map((f) => (typeof f === 'string' && /[",\r\n]/.test(f) ? `"${f.replace(/"/g, '""')}"` : String(f))).join(',');
}
