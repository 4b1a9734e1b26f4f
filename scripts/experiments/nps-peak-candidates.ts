/**
 * The candidate NPS peak estimators of scripts/experiments/nps-peak-estimators.ts (docs/metrics.md,
 * "Which NPS peak estimator"): each maps a radial NPS (frequency from 0, equally spaced; values, NaN
 * for empty bins; bin 0 ignored) to its peak frequency.
 */
import { argmaxAboveZero, gaussianSmoothedAboveZero } from '../../src/metrics/nps.js';
import { polynomialFit, polynomialMaximum } from '../../src/util/polynomial.js';

export type Estimator = (frequency: Float64Array, values: Float64Array) => number;

/** Gaussian smoothing of `sigma` bins over bins 1..n-1 (NaN skipped, weights renormalised), as smoothedRadialPeak did. */
export function gaussianSmoothed(values: Float64Array, sigma: number): Float64Array {
  if (sigma > 0) return gaussianSmoothedAboveZero(values, sigma);
  const out = new Float64Array(values.length).fill(NaN);
  for (let k = 1; k < values.length; k++) out[k] = values[k]!;
  return out;
}

/** Parabola through the top bin and its neighbours, in bins (the top bin itself at an end or where not concave). */
function parabolaVertex(smooth: Float64Array, best: number): number {
  const n = smooth.length;
  if (best > 1 && best < n - 1 && !Number.isNaN(smooth[best - 1]!) && !Number.isNaN(smooth[best + 1]!)) {
    const [a, b, d] = [smooth[best - 1]!, smooth[best]!, smooth[best + 1]!];
    const curvature = a - 2 * b + d;
    if (curvature < 0) return best + (0.5 * (a - d)) / curvature;
  }
  return best;
}

/** Gaussian of `sigmaOf(n)` bins, then the parabola through the top three bins. */
function gaussianPeak(sigmaOf: (bins: number, values: Float64Array) => number): Estimator {
  return (frequency, values) => {
    const smooth = gaussianSmoothed(values, sigmaOf(values.length, values));
    const best = argmaxAboveZero(smooth);
    if (best < 0) return NaN;
    return parabolaVertex(smooth, best) * (frequency[1]! - frequency[0]!);
  };
}


/**
 * A local polynomial least-squares fit around the maximum: start at the arg-max of the curve
 * smoothed by a 2-bin Gaussian, fit `degree` over [c - h, c + h] (shifted inside bins 1..n-1, NaN skipped), move c
 * to the fit's maximum and refit until it stays (at most 6 times). `halfWidthOf(c)` gives h.
 * `logf` fits log S against log f (a log-normal-like peak).
 */
function localFitPeak(degree: number, halfWidthOf: (centre: number, bins: number) => number, logf = false): Estimator {
  return (frequency, values) => {
    const n = values.length;
    const step = frequency[1]! - frequency[0]!;
    const start = argmaxAboveZero(gaussianSmoothed(values, 2));
    if (start < 0) return NaN;
    let centre = start;
    let vertex = start;
    for (let iteration = 0; iteration < 6; iteration++) {
      const h = halfWidthOf(centre, n);
      // 2h + 1 bins, shifted inwards at either end so a peak near bin 1 still gets a full window.
      const hi = Math.min(n - 1, Math.max(1, centre - h) + 2 * h);
      const lo = Math.max(1, hi - 2 * h);
      const x: number[] = [];
      const y: number[] = [];
      for (let k = lo; k <= hi; k++) {
        const v = values[k]!;
        if (Number.isNaN(v) || (logf && !(v > 0))) continue;
        // Centred on the window for conditioning.
        x.push(logf ? Math.log(k / centre) : k - centre);
        y.push(logf ? Math.log(v) : v);
      }
      if (x.length < degree + 2) break;
      const p = polynomialFit(x, y, degree);
      if (!p) break;
      const xLo = logf ? Math.log(lo / centre) : lo - centre;
      const xHi = logf ? Math.log(hi / centre) : hi - centre;
      const at = polynomialMaximum(p, xLo, xHi);
      vertex = logf ? centre * Math.exp(at) : centre + at;
      const next = Math.min(n - 1, Math.max(1, Math.round(vertex)));
      if (next === centre) break;
      centre = next;
    }
    return vertex * step;
  };
}

export const CANDIDATES: Record<string, Estimator> = {
  'gauss-3': gaussianPeak(() => 3),
  'gauss-2': gaussianPeak(() => 2),
  'gauss-1.5': gaussianPeak(() => 1.5),
  'gauss-1': gaussianPeak(() => 1),
  'raw arg-max + parabola': gaussianPeak(() => 0),
  // A width in cycles/pixel: a share of Nyquist (the last bin is Nyquist).
  'gauss 0.03 Nyquist': gaussianPeak((n) => 0.03 * (n - 1)),
  'gauss 0.06 Nyquist': gaussianPeak((n) => 0.06 * (n - 1)),
  'gauss 0.1 Nyquist': gaussianPeak((n) => 0.1 * (n - 1)),
  // A width that scales with the peak's own bin (located by a 2-bin Gaussian).
  'gauss 0.25 x peak bin (>= 1)': gaussianPeak((_, v) => Math.max(1, 0.25 * argmaxAboveZero(gaussianSmoothed(v, 2)))),
  'quadratic fit +-2 bins': localFitPeak(2, () => 2),
  'quadratic fit +-3 bins': localFitPeak(2, () => 3),
  'quadratic fit +-4 bins': localFitPeak(2, () => 4),
  'quadratic fit +-max(2, 0.5 x peak bin)': localFitPeak(2, (c) => Math.max(2, Math.round(0.5 * c))),
  'cubic fit +-3 bins': localFitPeak(3, () => 3),
  'cubic fit +-4 bins': localFitPeak(3, () => 4),
  'cubic fit +-5 bins': localFitPeak(3, () => 5),
  'cubic fit +-max(3, 0.6 x peak bin)': localFitPeak(3, (c) => Math.max(3, Math.round(0.6 * c))),
  'quadratic in log f, +-3 bins': localFitPeak(2, () => 3, true),
};

