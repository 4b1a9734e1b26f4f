/**
 * Modulation transfer function from a high-contrast edge: ESF -> LSF -> MTF.
 *
 * Two ways to get an oversampled edge spread function (ESF):
 * - `edgeMtf`: a straight edge slightly tilted against the pixel grid (the slanted-edge method of
 *   ISO 12233 / Samei et al. 1998): each pixel's signed distance to the fitted edge line, binned at
 *   a fraction of a pixel.
 * - `rodMtf`: a circular rod or insert (ACR / Catphan style, Richard et al. 2012's "task-based"
 *   MTF): each pixel's radial distance from the rod's centre, binned the same way.
 * Each bin's mean value is placed at the mean distance of its samples (not at the bin's centre)
 * and the ESF linearly interpolated back onto the uniform bin grid. Around a circle the pixels'
 * radial distances do not fill a 1/4-pixel bin evenly, so the nominal centre is the wrong abscissa
 * and the result then depended on where the edge fell within a bin (docs/metrics.md, "MTF").
 * Then LSF = dESF/dx (central differences), windowed against noise in its tails, Fourier
 * transformed, normalised to 1 at f = 0, and divided by the transfer functions of the binning
 * (sinc) and of the central difference, which the measurement itself adds.
 */
import { fft, nextPowerOfTwo } from '../util/fft.js';
import { interpolate } from '../util/interpolate.js';
import { checkPixels } from './pixels.js';
import type { SpacedPixels } from './roi.js';

export interface MtfOptions {
  /** ESF bins per pixel (default 4). */
  readonly oversampling?: number;
}

export interface MtfResult {
  /** Cycles/mm, from 0 to the sampling frequency 1 / pixel spacing (twice the Nyquist frequency). */
  readonly frequency: Float64Array;
  readonly mtf: Float64Array;
  /** Frequency where the MTF first falls to 0.5 / 0.1 (linear interpolation), null if it does not in range. */
  readonly mtf50: number | null;
  readonly mtf10: number | null;
  /**
   * Edge spread function on the bin grid (mm, signed distance from the edge): interpolated from
   * each bin's mean value at its samples' mean distance.
   */
  readonly esf: { readonly distance: Float64Array; readonly value: Float64Array };
  /** Line spread function (derivative of the ESF, before windowing). */
  readonly lsf: { readonly distance: Float64Array; readonly value: Float64Array };
  /** ESF bin width in mm. */
  readonly binWidth: number;
}

export interface EdgeRegion {
  /** Top-left pixel and size of a rectangle containing one straight edge, in pixels. */
  readonly row: number;
  readonly col: number;
  readonly rows: number;
  readonly columns: number;
}

export interface EdgeMtfResult extends MtfResult {
  /** Angle of the edge against the nearer pixel axis, degrees. */
  readonly edgeAngle: number;
}

export interface RodMtfResult extends MtfResult {
  /** Refined rod centre (row, column) in pixels and its radius in mm. */
  readonly center: readonly [number, number];
  readonly radius: number;
}

/** MTF of a straight edge inside `region` (it should cross the region, tilted 2 to 10 degrees). */
export function edgeMtf(image: SpacedPixels, region: EdgeRegion, options: MtfOptions = {}): EdgeMtfResult {
  checkPixels(image);
  const { row, col, rows, columns } = region;
  if (row < 0 || col < 0 || row + rows > image.rows || col + columns > image.columns || rows < 8 || columns < 8) {
    throw new RangeError(`edge region ${JSON.stringify(region)} must be at least 8x8 and inside the ${image.rows}x${image.columns} image`);
  }
  const [sr, sc] = image.pixelSpacing ?? [1, 1];
  const at = (r: number, c: number): number => image.data[(row + r) * image.columns + col + c]!;

  // Which way does the edge run? Sum of absolute differences across columns vs across rows.
  let acrossColumns = 0;
  let acrossRows = 0;
  for (let r = 1; r < rows; r++) {
    for (let c = 1; c < columns; c++) {
      acrossColumns += Math.abs(at(r, c) - at(r, c - 1));
      acrossRows += Math.abs(at(r, c) - at(r - 1, c));
    }
  }
  // "Lines" run along the edge, "steps" cross it: for a near-vertical edge lines are rows.
  const vertical = acrossColumns >= acrossRows;
  const lines = vertical ? rows : columns;
  const steps = vertical ? columns : rows;
  const sample = vertical ? (l: number, s: number) => at(l, s) : (l: number, s: number) => at(s, l);
  const lineSpacing = vertical ? sr : sc;
  const stepSpacing = vertical ? sc : sr;

  // Edge position on each line: centroid of |derivative| around its peak.
  const positions: number[] = [];
  const lineIndex: number[] = [];
  const derivative = new Float64Array(steps);
  for (let l = 0; l < lines; l++) {
    for (let s = 1; s < steps - 1; s++) derivative[s] = Math.abs(sample(l, s + 1) - sample(l, s - 1)) / 2;
    let peak = 1;
    for (let s = 2; s < steps - 1; s++) if (derivative[s]! > derivative[peak]!) peak = s;
    const halfWidth = Math.max(3, Math.floor(steps / 8));
    let sum = 0;
    let moment = 0;
    for (let s = Math.max(1, peak - halfWidth); s <= Math.min(steps - 2, peak + halfWidth); s++) {
      sum += derivative[s]!;
      moment += s * derivative[s]!;
    }
    if (sum > 0) {
      positions.push(moment / sum);
      lineIndex.push(l);
    }
  }
  const fit = robustLine(lineIndex, positions);
  if (!fit) throw new RangeError('no edge found in the edge region');
  // position (steps) = a + b * line; in mm, along-step = a * stepSpacing + slope * along-line.
  const slope = (fit.b * stepSpacing) / lineSpacing;
  const shiftAcrossRegion = Math.abs(fit.b) * (lines - 1);
  if (shiftAcrossRegion < 1) {
    throw new RangeError(
      `the edge is within ${shiftAcrossRegion.toFixed(2)} pixel of the pixel grid across the region; the slanted-edge method needs it tilted (2 to 10 degrees)`,
    );
  }
  const norm = Math.sqrt(1 + slope * slope);
  const distances = new Float64Array(rows * columns);
  const values = new Float64Array(rows * columns);
  let n = 0;
  for (let l = 0; l < lines; l++) {
    const edgeAt = (fit.a + fit.b * l) * stepSpacing;
    for (let s = 0; s < steps; s++) {
      distances[n] = (s * stepSpacing - edgeAt) / norm;
      values[n] = sample(l, s);
      n++;
    }
  }
  // The ESF reaches as far as every line covers: from the edge's nearest approach to either end.
  const nearestStart = fit.a + fit.b * (fit.b > 0 ? 0 : lines - 1);
  const farthestStart = fit.a + fit.b * (fit.b > 0 ? lines - 1 : 0);
  const halfRange = (Math.min(nearestStart, steps - 1 - farthestStart) * stepSpacing) / norm;
  const pixel = Math.min(sr, sc);
  const result = mtfFromSamples(distances, values, halfRange, pixel, options.oversampling ?? 4);
  return { ...result, edgeAngle: (Math.atan(Math.abs(slope)) * 180) / Math.PI };
}

/**
 * MTF from a circular rod: `center` (row, column) in pixels and `radius` in mm are first guesses;
 * the centre is refined from the thresholded rod. The ESF reaches `profileHalfWidth` mm (default
 * the smaller of 0.8 radius and 15 pixels) either side of the rod's edge.
 */
export function rodMtf(
  image: SpacedPixels,
  center: readonly [number, number],
  radius: number,
  options: MtfOptions & { readonly profileHalfWidth?: number } = {},
): RodMtfResult {
  checkPixels(image);
  const [sr, sc] = image.pixelSpacing ?? [1, 1];
  const pixel = Math.min(sr, sc);
  const halfWidth = options.profileHalfWidth ?? Math.min(0.8 * radius, 15 * pixel);
  const reach = radius + halfWidth;
  const refined = refineRod(image, center, radius, reach);
  const [cr, cc] = refined.center;
  const r0 = Math.max(0, Math.floor(cr - reach / sr) - 1);
  const r1 = Math.min(image.rows - 1, Math.ceil(cr + reach / sr) + 1);
  const c0 = Math.max(0, Math.floor(cc - reach / sc) - 1);
  const c1 = Math.min(image.columns - 1, Math.ceil(cc + reach / sc) + 1);
  const distances: number[] = [];
  const values: number[] = [];
  for (let r = r0; r <= r1; r++) {
    for (let c = c0; c <= c1; c++) {
      const d = Math.hypot((r - cr) * sr, (c - cc) * sc) - refined.radius;
      if (Math.abs(d) > halfWidth + pixel) continue;
      distances.push(d);
      values.push(image.data[r * image.columns + c]!);
    }
  }
  const result = mtfFromSamples(Float64Array.from(distances), Float64Array.from(values), halfWidth, pixel, options.oversampling ?? 4);
  return { ...result, center: refined.center, radius: refined.radius };
}

/** ESF binning, LSF, windowed DFT and corrections shared by both geometries. */
export function mtfFromSamples(
  distances: Float64Array,
  values: Float64Array,
  halfRange: number,
  pixel: number,
  oversampling: number,
): MtfResult {
  const binWidth = pixel / oversampling;
  const half = Math.floor(halfRange / binWidth);
  if (half < 4 * oversampling) throw new RangeError(`the edge profile reaches only ${halfRange.toFixed(2)} mm; need at least 4 pixels either side`);
  const bins = 2 * half + 1;
  const total = new Float64Array(bins);
  const spread = new Float64Array(bins);
  const count = new Uint32Array(bins);
  for (let i = 0; i < distances.length; i++) {
    const k = Math.round(distances[i]! / binWidth) + half;
    if (k < 0 || k >= bins) continue;
    total[k]! += values[i]!;
    spread[k]! += distances[i]!;
    count[k]!++;
  }
  // Each bin's mean value belongs at its samples' mean distance, not at the bin's centre: around a
  // circle the pixels do not fill a bin evenly, and placing the mean at the centre made MTF50
  // depend on where the edge falls within a bin. The ESF is then interpolated back onto the grid.
  const at: number[] = [];
  const mean: number[] = [];
  for (let k = 0; k < bins; k++) {
    if (count[k]! === 0) continue;
    at.push(spread[k]! / count[k]!);
    mean.push(total[k]! / count[k]!);
  }
  if (at.length === 0) throw new RangeError('the edge profile is empty');
  const esfDistance = new Float64Array(bins);
  for (let k = 0; k < bins; k++) esfDistance[k] = (k - half) * binWidth;
  const esf = esfDistance.map((x) => interpolate(at, mean, x));

  // Central-difference LSF; the two end bins repeat their neighbours.
  const lsf = new Float64Array(bins);
  for (let k = 1; k < bins - 1; k++) lsf[k] = (esf[k + 1]! - esf[k - 1]!) / (2 * binWidth);
  lsf[0] = lsf[1]!;
  lsf[bins - 1] = lsf[bins - 2]!;

  // Tukey window centred on the edge: flat over the inner half so the LSF itself is untouched,
  // cosine taper over the outer quarters where only noise is left. (A Hann window over the whole
  // profile, as ISO 12233 uses, narrows a blurred LSF and raised MTF50 by 5 % in our tests.)
  const padded = nextPowerOfTwo(Math.max(4 * bins, 1024));
  const re = new Float64Array(padded);
  const im = new Float64Array(padded);
  for (let k = 0; k < bins; k++) re[k] = lsf[k]! * tukey(Math.abs(k - half) / (half + 1));
  fft(re, im);
  const dc = Math.hypot(re[0]!, im[0]!);
  if (!(dc > 0)) throw new RangeError('the edge has no contrast');
  const df = 1 / (padded * binWidth);
  const fMax = 1 / pixel;
  const points = Math.min(padded / 2, Math.floor(fMax / df + 1e-9) + 1);
  const frequency = new Float64Array(points);
  const mtf = new Float64Array(points);
  for (let k = 0; k < points; k++) {
    const f = k * df;
    frequency[k] = f;
    const x = Math.PI * f * binWidth;
    // Bin averaging is a box of one bin (sinc); the central difference is sin(2x) / (2x).
    const correction = k === 0 ? 1 : (Math.sin(x) / x) * (Math.sin(2 * x) / (2 * x));
    mtf[k] = Math.hypot(re[k]!, im[k]!) / dc / correction;
  }
  return {
    frequency,
    mtf,
    mtf50: crossing(frequency, mtf, 0.5),
    mtf10: crossing(frequency, mtf, 0.1),
    esf: { distance: esfDistance, value: esf },
    lsf: { distance: esfDistance, value: lsf },
    binWidth,
  };
}

/** First frequency where the curve falls to `level`, linearly interpolated; null if it never does. */
export function crossing(frequency: Float64Array, curve: Float64Array, level: number): number | null {
  for (let k = 1; k < curve.length; k++) {
    const a = curve[k - 1]!;
    const b = curve[k]!;
    if (a >= level && b < level) return frequency[k - 1]! + ((a - level) / (a - b)) * (frequency[k]! - frequency[k - 1]!);
  }
  return null;
}

/** Tukey (alpha 0.5) window at |x| in [0, 1] of its half-width. */
function tukey(x: number): number {
  return x <= 0.5 ? 1 : 0.5 * (1 + Math.cos(Math.PI * (2 * x - 1)));
}

/** Least-squares line y = a + b x, refit once without points more than 3 robust SDs off. */
function robustLine(x: readonly number[], y: readonly number[]): { a: number; b: number } | null {
  let fit = leastSquares(x, y, () => true);
  if (!fit) return null;
  const first = fit;
  const residuals = x.map((xi, i) => Math.abs(y[i]! - (first.a + first.b * xi)));
  const sorted = [...residuals].sort((p, q) => p - q);
  const mad = sorted[Math.floor(sorted.length / 2)]! * 1.4826;
  const limit = Math.max(3 * mad, 1e-6);
  fit = leastSquares(x, y, (i) => residuals[i]! <= limit) ?? fit;
  return fit;
}

function leastSquares(x: readonly number[], y: readonly number[], keep: (i: number) => boolean): { a: number; b: number } | null {
  let n = 0;
  let sx = 0;
  let sy = 0;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < x.length; i++) {
    if (!keep(i)) continue;
    n++;
    sx += x[i]!;
    sy += y[i]!;
    sxx += x[i]! * x[i]!;
    sxy += x[i]! * y[i]!;
  }
  const det = n * sxx - sx * sx;
  if (n < 3 || det === 0) return null;
  const b = (n * sxy - sx * sy) / det;
  return { a: (sy - b * sx) / n, b };
}

/**
 * Rod centre from the centroid of the pixels on the rod's side of the mid level between its core
 * and its surroundings; radius (mm) from that area. Two rounds so a poor first guess still converges.
 */
function refineRod(
  image: SpacedPixels,
  center: readonly [number, number],
  radius: number,
  reach: number,
): { center: [number, number]; radius: number } {
  const [sr, sc] = image.pixelSpacing ?? [1, 1];
  let [cr, cc] = center;
  let estimate = radius;
  for (let round = 0; round < 2; round++) {
    let inner = 0;
    let innerCount = 0;
    let outer = 0;
    let outerCount = 0;
    const r0 = Math.max(0, Math.floor(cr - reach / sr));
    const r1 = Math.min(image.rows - 1, Math.ceil(cr + reach / sr));
    const c0 = Math.max(0, Math.floor(cc - reach / sc));
    const c1 = Math.min(image.columns - 1, Math.ceil(cc + reach / sc));
    for (let r = r0; r <= r1; r++) {
      for (let c = c0; c <= c1; c++) {
        const d = Math.hypot((r - cr) * sr, (c - cc) * sc);
        const v = image.data[r * image.columns + c]!;
        if (d < 0.5 * estimate) {
          inner += v;
          innerCount++;
        } else if (d > estimate + 0.5 * (reach - estimate) && d <= reach) {
          outer += v;
          outerCount++;
        }
      }
    }
    if (innerCount === 0 || outerCount === 0) throw new RangeError('rod ROI is outside the image');
    const mid = (inner / innerCount + outer / outerCount) / 2;
    const sign = inner / innerCount > outer / outerCount ? 1 : -1;
    let sumR = 0;
    let sumC = 0;
    let n = 0;
    for (let r = r0; r <= r1; r++) {
      for (let c = c0; c <= c1; c++) {
        if (Math.hypot((r - cr) * sr, (c - cc) * sc) > estimate + 0.5 * (reach - estimate)) continue;
        if (sign * (image.data[r * image.columns + c]! - mid) <= 0) continue;
        sumR += r;
        sumC += c;
        n++;
      }
    }
    if (n === 0) throw new RangeError('no rod found at the given centre');
    cr = sumR / n;
    cc = sumC / n;
    estimate = Math.sqrt((n * sr * sc) / Math.PI);
  }
  return { center: [cr, cc], radius: estimate };
}
