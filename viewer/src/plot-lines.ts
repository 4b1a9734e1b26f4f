/**
 * The per-slice metrics plot as numbers (no DOM, tested in node): one line per method and one for
 * the low-dose series, of PSNR, SSIM or the no-reference noise σ along the low-dose slices; the
 * axes' ranges; and which slice a point on the plot is nearest to.
 */
import type { ComparisonMetrics, SliceMetrics } from './api.js';

export const PLOT_METRICS = ['psnr', 'ssim', 'noise'] as const;
export type PlotMetric = (typeof PLOT_METRICS)[number];

export interface PlotLine {
  readonly label: string;
  /** The pane it belongs to ('lowDose', 'denoised', 'denoised-2', …). */
  readonly key: string;
  /** One value per low-dose slice; null where the slice has none (no match, no flat tissue, identical slices). */
  readonly values: ReadonlyArray<number | null>;
}

function valueOf(slice: SliceMetrics | undefined, metric: PlotMetric, lowDose: boolean): number | null {
  if (!slice) return null;
  if (metric === 'noise') return lowDose ? slice.noise.lowDose : slice.noise.denoised;
  const scores = lowDose ? slice.lowDose : slice.denoised;
  if (!scores) return null;
  const v = metric === 'psnr' ? scores.psnr : scores.ssim;
  return v !== null && Number.isFinite(v) ? v : null;
}

/**
 * The low-dose line (from the first method's comparison: its scores against the reference, its
 * noise) and each method's, over `count` low-dose slices. The low-dose line is left out when it
 * has no value at all (PSNR / SSIM without a reference); it is labelled `sourceLabel`, the source
 * pane's title ("Low-dose", "Original").
 */
export function plotLines(methods: ReadonlyArray<{ key: string; label: string; metrics: ComparisonMetrics }>, metric: PlotMetric, count: number, sourceLabel = 'Low-dose'): PlotLine[] {
  const at = (metrics: ComparisonMetrics, lowDose: boolean) => {
    const byIndex = new Map(metrics.slices.map((s) => [s.index, s]));
    return Array.from({ length: count }, (_, i) => valueOf(byIndex.get(i), metric, lowDose));
  };
  const first = methods[0];
  const lines: PlotLine[] = [];
  if (first) {
    const values = at(first.metrics, true);
    if (values.some((v) => v !== null)) lines.push({ key: 'lowDose', label: sourceLabel, values });
  }
  for (const m of methods) lines.push({ key: m.key, label: m.label, values: at(m.metrics, false) });
  return lines;
}

/** The y range of the lines with a little room, never empty (a flat line gets ±5 % or ±1). */
export function valueRange(lines: readonly PlotLine[]): [number, number] {
  const values = lines.flatMap((l) => l.values.filter((v): v is number => v !== null));
  if (values.length === 0) return [0, 1];
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (hi - lo < 1e-9) {
    const pad = Math.abs(lo) * 0.05 || 1;
    return [lo - pad, hi + pad];
  }
  const pad = 0.06 * (hi - lo);
  lo -= pad;
  hi += pad;
  return [lo, hi];
}

/** Plot x of slice `index` of `count` across [left, right] (one slice: the middle). */
export function sliceX(index: number, count: number, left: number, right: number): number {
  return count <= 1 ? (left + right) / 2 : left + ((right - left) * index) / (count - 1);
}

/** The slice whose x is nearest to `x` (clamped to the series). */
export function sliceAtX(x: number, count: number, left: number, right: number): number {
  if (count <= 1 || right <= left) return 0;
  return Math.max(0, Math.min(count - 1, Math.round(((x - left) / (right - left)) * (count - 1))));
}
