/**
 * The display range of an uncertainty map, one rule for every place that shows one: the written
 * σ series' VOI window (./voi-window.ts), the viewer's uncertainty pane and the server figure's
 * (src/server/uncertainty-pane.ts). Pure: no DICOM writing, so the viewer bundles it.
 */
import { kthSmallest } from '../util/select.js';

/** A display range in the series' units (`Series.units`: HU, SUV, a score): `lo` black, `hi` white. */
export interface OwnWindow {
  readonly lo: number;
  readonly hi: number;
  /** WindowCenterWidthExplanation (LO, up to 64 characters), e.g. "SIGMA 0-40 HU". */
  readonly explanation: string;
}

/** How many times the uncertainty threshold a σ series' window spans: the threshold sits at a quarter of the grey scale. */
export const SIGMA_WINDOW_THRESHOLDS = 4;

/**
 * The window of a calibrated σ series: 0 to 4 × the card's threshold (`--uncertainty-threshold`),
 * the same for every slice and every series of a model, so a grey level means one σ everywhere.
 */
export function sigmaWindow(threshold: number, units: string): OwnWindow {
  const hi = SIGMA_WINDOW_THRESHOLDS * threshold;
  return { lo: 0, hi, explanation: `SIGMA 0-${Number(hi.toPrecision(6))} ${units}` };
}

/**
 * The window of a raw ensemble spread (no calibration, so no threshold to anchor to): 0 to the
 * slice's own 99th percentile over pixels that are finite and not padding (`padding` 1).
 */
export function spreadWindow(values: Float32Array, padding: ArrayLike<number> | null, units: string): OwnWindow {
  const kept = values.filter((v, i) => Number.isFinite(v) && !(padding && padding[i]));
  const p99 = kept.length > 0 ? kthSmallest(kept, Math.min(kept.length - 1, Math.floor(0.99 * kept.length))) : 0;
  const hi = p99 > 0 ? Number(p99.toPrecision(3)) : 1;
  return { lo: 0, hi, explanation: `SD 0-${hi} ${units} (SLICE P99)` };
}

/**
 * What an uncertainty series' own window (its WindowCenterWidthExplanation, as `sigmaWindow` and
 * `spreadWindow` write it) says it holds: calibrated σ with its threshold (`SIGMA 0-40 HU`: 40 / 4),
 * a raw spread (`SD 0-4.94 HU (SLICE P99)`), or null for an explanation of neither form (a series
 * written without its own window, or by another program). So a viewer decides from the map itself,
 * without the run's report.json.
 */
export function sigmaSeriesKind(explanation: string): { readonly calibrated: true; readonly threshold: number } | { readonly calibrated: false } | null {
  const sigma = /^SIGMA 0-([0-9.eE+-]+) \S/.exec(explanation.trim());
  if (sigma) {
    const hi = Number(sigma[1]);
    return Number.isFinite(hi) && hi > 0 ? { calibrated: true, threshold: hi / SIGMA_WINDOW_THRESHOLDS } : null;
  }
  return /^SD 0-[0-9.eE+-]+ \S.* \(SLICE P99\)$/.test(explanation.trim()) ? { calibrated: false } : null;
}

/**
 * The window of an uncertainty slice: with the calibration's σ threshold (`threshold`, in `units`)
 * 0 to 4 × it, whatever the slice holds; without one (the raw spread of `--samples K`) 0 to the
 * slice's 99th percentile.
 */
export function uncertaintySliceWindow(values: Float32Array, padding: ArrayLike<number> | null, threshold: number | null, units: string): OwnWindow {
  return threshold !== null && threshold > 0 ? sigmaWindow(threshold, units) : spreadWindow(values, padding, units);
}
