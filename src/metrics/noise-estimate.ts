/**
 * No-reference noise estimates for slices with no second realisation and no phantom: what a QA
 * script can say about a clinical image on its own.
 *
 * - 'local-std' (default): the mode of the histogram of local standard deviations over pixels
 *   whose local mean lies in a tissue window (the "global noise level" idea of Christianson et al.,
 *   AJR 2015). Flat regions dominate the histogram, edges only fatten its right tail, and the
 *   local std measures the pixel noise itself, correlated (CT kernel) noise included, apart from
 *   the part of it slower than the window.
 * - 'laplacian': Immerkær (1996) — the residual of the 3x3 kernel [1 -2 1; -2 4 -2; 1 -2 1]
 *   cancels any locally planar signal and has 6 sigma standard deviation for white noise. We take
 *   a robust (MAD) scale of it over pixels with a small Sobel gradient, so edges do not inflate
 *   it (Tai and Yang 2008 exclude edges likewise). It assumes white noise: for CT noise
 *   correlated by the reconstruction kernel it reads low (it sees only high-frequency noise).
 */
import { checkPixels } from './pixels.js';
import type { SpacedPixels } from './roi.js';

/** Fat and soft tissue in HU: the flat regions of a CT body slice. */
export const SOFT_TISSUE_HU: readonly [number, number] = [-150, 250];

export interface NoiseEstimateOptions {
  readonly method?: 'local-std' | 'laplacian';
  /** Only pixels whose local mean (local-std) or value (laplacian) is in [lo, hi] count. */
  readonly valueRange?: readonly [number, number];
  /** Local window edge in pixels, odd (local-std; default 7). */
  readonly window?: number;
}

export interface NoiseEstimate {
  /** Estimated noise standard deviation, image units. */
  readonly std: number;
  readonly method: 'local-std' | 'laplacian';
  /** Pixels that entered the estimate. */
  readonly pixels: number;
}

export function estimateNoise(image: SpacedPixels, options: NoiseEstimateOptions = {}): NoiseEstimate {
  checkPixels(image);
  const method = options.method ?? 'local-std';
  return method === 'laplacian'
    ? laplacianNoise(image, options.valueRange)
    : localStdNoise(image, options.window ?? 7, options.valueRange);
}

function localStdNoise(image: SpacedPixels, window: number, valueRange?: readonly [number, number]): NoiseEstimate {
  if (!Number.isInteger(window) || window < 3 || window % 2 === 0) throw new RangeError(`noise window must be an odd integer >= 3, got ${window}`);
  const { rows, columns, data } = image;
  if (rows < window || columns < window) throw new RangeError(`image ${rows}x${columns} is smaller than the ${window}x${window} noise window`);
  // Summed-area tables of values and squares, offset by the image mean so float64 keeps the
  // variance exact even for -1000 HU air.
  let offset = 0;
  for (let i = 0; i < data.length; i++) offset += data[i]!;
  offset /= data.length;
  const w = columns + 1;
  const s1 = new Float64Array((rows + 1) * w);
  const s2 = new Float64Array((rows + 1) * w);
  for (let r = 0; r < rows; r++) {
    let a = 0;
    let b = 0;
    for (let c = 0; c < columns; c++) {
      const v = data[r * columns + c]! - offset;
      a += v;
      b += v * v;
      s1[(r + 1) * w + c + 1] = s1[r * w + c + 1]! + a;
      s2[(r + 1) * w + c + 1] = s2[r * w + c + 1]! + b;
    }
  }
  const n = window * window;
  const radius = (window - 1) / 2;
  const stds: number[] = [];
  for (let r = radius; r < rows - radius; r++) {
    for (let c = radius; c < columns - radius; c++) {
      const r0 = r - radius;
      const c0 = c - radius;
      const r1 = r + radius + 1;
      const c1 = c + radius + 1;
      const sum = s1[r1 * w + c1]! - s1[r0 * w + c1]! - s1[r1 * w + c0]! + s1[r0 * w + c0]!;
      const squares = s2[r1 * w + c1]! - s2[r0 * w + c1]! - s2[r1 * w + c0]! + s2[r0 * w + c0]!;
      const mean = sum / n + offset;
      if (valueRange && (mean < valueRange[0] || mean > valueRange[1])) continue;
      const variance = Math.max(0, (squares - (sum * sum) / n) / (n - 1));
      // Constant patches (padding, clipped air) carry no noise information.
      if (variance > 0) stds.push(Math.sqrt(variance));
    }
  }
  if (stds.length < 100) throw new RangeError(`only ${stds.length} pixels in the value range for a noise estimate`);
  const mode = histogramMode(stds);
  // The sample SD of n Gaussian values is sigma * chi_{n-1} / sqrt(n-1), whose mode is
  // sigma * sqrt((n-2)/(n-1)); undo that so white noise is estimated without bias.
  return { std: mode / Math.sqrt((n - 2) / (n - 1)), method: 'local-std', pixels: stds.length };
}

/** Mode of a positive sample: smoothed histogram over [0, 2 median], parabolic peak refinement. */
function histogramMode(values: number[]): number {
  const sorted = Float64Array.from(values).sort();
  const median = sorted[Math.floor(sorted.length / 2)]!;
  const bins = 200;
  const width = (2 * median) / bins;
  const histogram = new Float64Array(bins);
  for (const v of sorted) {
    const k = Math.floor(v / width);
    if (k < bins) histogram[k]!++;
  }
  const smoothed = new Float64Array(bins);
  const kernel = [0.054, 0.242, 0.399, 0.242, 0.054]; // Gaussian, sigma 1 bin
  for (let k = 0; k < bins; k++) {
    let s = 0;
    for (let j = -2; j <= 2; j++) if (k + j >= 0 && k + j < bins) s += kernel[j + 2]! * histogram[k + j]!;
    smoothed[k] = s;
  }
  let peak = 0;
  for (let k = 1; k < bins; k++) if (smoothed[k]! > smoothed[peak]!) peak = k;
  let shift = 0;
  if (peak > 0 && peak < bins - 1) {
    const a = smoothed[peak - 1]!;
    const b = smoothed[peak]!;
    const c = smoothed[peak + 1]!;
    const denominator = a - 2 * b + c;
    if (denominator < 0) shift = (0.5 * (a - c)) / denominator;
  }
  return (peak + 0.5 + shift) * width;
}

function laplacianNoise(image: SpacedPixels, valueRange?: readonly [number, number]): NoiseEstimate {
  const { rows, columns, data } = image;
  if (rows < 3 || columns < 3) throw new RangeError(`image ${rows}x${columns} is too small for the Laplacian noise estimate`);
  const residuals: number[] = [];
  const gradients: number[] = [];
  for (let r = 1; r < rows - 1; r++) {
    for (let c = 1; c < columns - 1; c++) {
      const i = r * columns + c;
      const v = data[i]!;
      if (valueRange && (v < valueRange[0] || v > valueRange[1])) continue;
      const up = i - columns;
      const down = i + columns;
      const nw = data[up - 1]!;
      const n = data[up]!;
      const ne = data[up + 1]!;
      const w = data[i - 1]!;
      const e = data[i + 1]!;
      const sw = data[down - 1]!;
      const s = data[down]!;
      const se = data[down + 1]!;
      residuals.push(nw - 2 * n + ne - 2 * w + 4 * v - 2 * e + sw - 2 * s + se);
      const gx = ne + 2 * e + se - nw - 2 * w - sw;
      const gy = sw + 2 * s + se - nw - 2 * n - ne;
      gradients.push(Math.hypot(gx, gy));
    }
  }
  if (residuals.length < 100) throw new RangeError(`only ${residuals.length} pixels in the value range for a noise estimate`);
  // For white noise the Sobel gradients and this residual are uncorrelated jointly Gaussian
  // variables, hence independent: dropping pixels with a large gradient removes edges without
  // biasing the noise estimate. |G| of pure noise is Rayleigh with scale sqrt(12) sigma; 3.5 of
  // those keeps 99.8 % of flat pixels.
  let sigma = robustScale(residuals) / 6;
  let used = residuals.length;
  for (let round = 0; round < 2; round++) {
    const limit = 3.5 * Math.sqrt(12) * sigma;
    const kept = residuals.filter((_, k) => gradients[k]! < limit);
    if (kept.length < 100) break;
    sigma = robustScale(kept) / 6;
    used = kept.length;
  }
  return { std: sigma, method: 'laplacian', pixels: used };
}

/** 1.4826 MAD: the SD of a Gaussian sample, robust to a minority of outliers. */
function robustScale(values: readonly number[]): number {
  const sorted = Float64Array.from(values).sort();
  const median = sorted[Math.floor(sorted.length / 2)]!;
  const deviations = sorted.map((v) => Math.abs(v - median)).sort();
  return 1.4826 * deviations[Math.floor(deviations.length / 2)]!;
}
