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
 *
 * The noise floor: each ESF bin's mean has a standard error (its samples' residual SD around the
 * ESF over the square root of their count); the LSF, window and DFT are linear in the bin means,
 * so that error is propagated exactly to the SD of the MTF's noise at each frequency
 * (`noiseFloor`). MTF50 / MTF10 are reported only where the curve crosses its level at a frequency
 * whose noise SD is at most 1/3 of the level (`MEASURABLE_SNR`); above that, the crossing is where
 * the noise happens to dip and the value is null (docs/metrics.md, "MTF noise floor").
 */
import { fft, nextPowerOfTwo } from '../util/fft.js';
import { bracket, interpolate } from '../util/interpolate.js';
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
  /**
   * Frequency where the MTF first falls to 0.5 / 0.1 (linear interpolation); null if it does not
   * in range, or if it does where the noise floor is too high to tell (`levels` says which).
   */
  readonly mtf50: number | null;
  readonly mtf10: number | null;
  /**
   * SD of the MTF's noise at each frequency, propagated from the ESF bins' standard errors: what
   * the curve reads (as an RMS) where the edge carries no signal.
   */
  readonly noiseFloor: Float64Array;
  /** The crossings behind `mtf50` and `mtf10`, with the noise floor where they fall. */
  readonly levels: { readonly mtf50: MtfLevel; readonly mtf10: MtfLevel };
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

/**
 * A level crossing is measurable where the MTF's noise SD there is at most level / MEASURABLE_SNR.
 * With 3, the curve's scatter at the crossing is at most 1/3 of the level (radially about 1/4), so
 * MTF10 of a Gaussian-like MTF moves by about 5 % for one SD; a curve sitting on its floor crosses
 * 3 noise SDs with probability exp(-9) per frequency.
 */
export const MEASURABLE_SNR = 3;

export interface MtfLevel {
  /** The MTF level (0.5, 0.1). */
  readonly level: number;
  /** Frequency (cycles/mm) where the curve first falls to the level; null if it does not in range. */
  readonly crossing: number | null;
  /** `noiseFloor` at that frequency; null with `crossing`. */
  readonly floor: number | null;
  /** Whether level >= MEASURABLE_SNR x floor, so that the crossing is reported. */
  readonly measurable: boolean;
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
  const grid = { row: new Int32Array(rows * columns), col: new Int32Array(rows * columns) };
  let n = 0;
  for (let l = 0; l < lines; l++) {
    const edgeAt = (fit.a + fit.b * l) * stepSpacing;
    for (let s = 0; s < steps; s++) {
      distances[n] = (s * stepSpacing - edgeAt) / norm;
      values[n] = sample(l, s);
      grid.row[n] = vertical ? l : s;
      grid.col[n] = vertical ? s : l;
      n++;
    }
  }
  // The ESF reaches as far as every line covers: from the edge's nearest approach to either end.
  const nearestStart = fit.a + fit.b * (fit.b > 0 ? 0 : lines - 1);
  const farthestStart = fit.a + fit.b * (fit.b > 0 ? lines - 1 : 0);
  const halfRange = (Math.min(nearestStart, steps - 1 - farthestStart) * stepSpacing) / norm;
  const pixel = Math.min(sr, sc);
  const result = mtfFromSamples(distances, values, halfRange, pixel, options.oversampling ?? 4, grid);
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
  const rowOf: number[] = [];
  const colOf: number[] = [];
  for (let r = r0; r <= r1; r++) {
    for (let c = c0; c <= c1; c++) {
      const d = Math.hypot((r - cr) * sr, (c - cc) * sc) - refined.radius;
      if (Math.abs(d) > halfWidth + pixel) continue;
      distances.push(d);
      values.push(image.data[r * image.columns + c]!);
      rowOf.push(r);
      colOf.push(c);
    }
  }
  const grid = { row: Int32Array.from(rowOf), col: Int32Array.from(colOf) };
  const result = mtfFromSamples(Float64Array.from(distances), Float64Array.from(values), halfWidth, pixel, options.oversampling ?? 4, grid);
  return { ...result, center: refined.center, radius: refined.radius };
}

/** ESF binning, LSF, windowed DFT and corrections shared by both geometries. */
export function mtfFromSamples(
  distances: Float64Array,
  values: Float64Array,
  halfRange: number,
  pixel: number,
  oversampling: number,
  grid?: SampleGrid,
): MtfResult {
  const binWidth = pixel / oversampling;
  const half = Math.floor(halfRange / binWidth);
  if (half < 4 * oversampling) throw new RangeError(`the edge profile reaches only ${halfRange.toFixed(2)} mm; need at least 4 pixels either side`);
  const bins = 2 * half + 1;
  const total = new Float64Array(bins);
  const spread = new Float64Array(bins);
  const count = new Uint32Array(bins);
  const binOf = (d: number): number => Math.round(d / binWidth) + half;
  for (let i = 0; i < distances.length; i++) {
    const k = binOf(distances[i]!);
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
  const esfNoiseModel = esfNoise(distances, values, at, mean, binOf, bins, count, grid);

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
  const noise = lsfNoise(esfDistance, at, esfNoiseModel, binWidth, half, padded, points);
  const noiseFloor = new Float64Array(points);
  for (let k = 0; k < points; k++) {
    const f = k * df;
    frequency[k] = f;
    const x = Math.PI * f * binWidth;
    // Bin averaging is a box of one bin (sinc); the central difference is sin(2x) / (2x).
    const correction = k === 0 ? 1 : (Math.sin(x) / x) * (Math.sin(2 * x) / (2 * x));
    mtf[k] = Math.hypot(re[k]!, im[k]!) / dc / correction;
    noiseFloor[k] = noise[k]! / dc / Math.abs(correction);
  }
  const mtf50 = level(frequency, mtf, noiseFloor, 0.5);
  const mtf10 = level(frequency, mtf, noiseFloor, 0.1);
  return {
    frequency,
    mtf,
    mtf50: mtf50.measurable ? mtf50.crossing : null,
    mtf10: mtf10.measurable ? mtf10.crossing : null,
    noiseFloor,
    levels: { mtf50, mtf10 },
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

/** The first crossing of `value` and whether the noise floor there lets it be told from noise. */
function level(frequency: Float64Array, curve: Float64Array, noiseFloor: Float64Array, value: number): MtfLevel {
  const f = crossing(frequency, curve, value);
  if (f === null) return { level: value, crossing: null, floor: null, measurable: false };
  const floor = interpolate(frequency, noiseFloor, f);
  return { level: value, crossing: f, floor, measurable: value >= MEASURABLE_SNR * floor };
}

/** Pixel (row, column) of each sample, for the noise's correlation between neighbouring pixels. */
export interface SampleGrid {
  readonly row: Int32Array;
  readonly col: Int32Array;
}

/** Neighbour lags (rows, columns) up to this many pixels enter the residual noise's correlation. */
const CORRELATION_LAG = 3;

/**
 * The ESF's noise as the DFT sees it: per sample, its bin (index into the bins with samples) and the
 * residual SD of that bin's samples around the interpolated ESF (a bin with one sample takes the
 * pooled SD); with a pixel grid, the residuals' correlation coefficient between samples up to
 * CORRELATION_LAG pixels apart (CT noise is correlated by the reconstruction kernel), each
 * unordered pair once.
 */
interface EsfNoise {
  readonly bin: Int32Array;
  readonly sd: Float64Array;
  readonly binCount: Uint32Array;
  readonly pairs: { readonly a: Int32Array; readonly b: Int32Array; readonly rho: Float64Array };
}

function esfNoise(
  distances: Float64Array,
  values: Float64Array,
  at: readonly number[],
  mean: readonly number[],
  binOf: (d: number) => number,
  bins: number,
  count: Uint32Array,
  grid: SampleGrid | undefined,
): EsfNoise {
  const n = distances.length;
  const residual = new Float64Array(n);
  const squares = new Float64Array(bins);
  const raw = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const k = binOf(distances[i]!);
    raw[i] = k >= 0 && k < bins ? k : -1;
    if (raw[i]! < 0) continue;
    residual[i] = values[i]! - interpolate(at, mean, distances[i]!);
    squares[k]! += residual[i]! * residual[i]!;
  }
  let pooled = 0;
  let dof = 0;
  for (let k = 0; k < bins; k++) {
    if (count[k]! < 2) continue;
    pooled += squares[k]!;
    dof += count[k]! - 1;
  }
  const pooledVariance = dof > 0 ? pooled / dof : 0;
  const index = new Int32Array(bins).fill(-1);
  const binCount = new Uint32Array(at.length);
  const binSd = new Float64Array(at.length);
  for (let k = 0, j = 0; k < bins; k++) {
    if (count[k]! === 0) continue;
    index[k] = j;
    binCount[j] = count[k]!;
    binSd[j] = Math.sqrt(count[k]! >= 2 ? squares[k]! / (count[k]! - 1) : pooledVariance);
    j++;
  }
  const bin = raw.map((k) => (k < 0 ? -1 : index[k]!));
  const sd = Float64Array.from(bin, (j) => (j < 0 ? 0 : binSd[j]!));
  return { bin, sd, binCount, pairs: grid ? correlatedPairs(grid, bin, sd, residual) : { a: new Int32Array(0), b: new Int32Array(0), rho: new Float64Array(0) } };
}

/** Pairs of binned samples up to CORRELATION_LAG pixels apart, with their lag's residual correlation. */
function correlatedPairs(grid: SampleGrid, bin: Int32Array, sd: Float64Array, residual: Float64Array): EsfNoise['pairs'] {
  const used = Array.from(bin.keys()).filter((i) => bin[i]! >= 0 && sd[i]! > 0);
  if (used.length === 0) return { a: new Int32Array(0), b: new Int32Array(0), rho: new Float64Array(0) };
  let r0 = Infinity;
  let c0 = Infinity;
  let r1 = -Infinity;
  let c1 = -Infinity;
  for (const i of used) {
    r0 = Math.min(r0, grid.row[i]!);
    r1 = Math.max(r1, grid.row[i]!);
    c0 = Math.min(c0, grid.col[i]!);
    c1 = Math.max(c1, grid.col[i]!);
  }
  const width = c1 - c0 + 1;
  const where = new Int32Array((r1 - r0 + 1) * width).fill(-1);
  for (const i of used) where[(grid.row[i]! - r0) * width + grid.col[i]! - c0] = i;
  const L = CORRELATION_LAG;
  const a: number[] = [];
  const b: number[] = [];
  const lagOf: number[] = [];
  const lagSum = new Float64Array((2 * L + 1) * (2 * L + 1));
  const lagCount = new Uint32Array(lagSum.length);
  for (const i of used) {
    const r = grid.row[i]!;
    const c = grid.col[i]!;
    for (let dr = 0; dr <= L; dr++) {
      for (let dc = -L; dc <= L; dc++) {
        if (dr === 0 && dc <= 0) continue;
        if (r + dr > r1 || c + dc < c0 || c + dc > c1) continue;
        const other = where[(r + dr - r0) * width + c + dc - c0]!;
        if (other < 0) continue;
        const lag = dr * (2 * L + 1) + dc + L;
        lagSum[lag]! += (residual[i]! / sd[i]!) * (residual[other]! / sd[other]!);
        lagCount[lag]!++;
        a.push(i);
        b.push(other);
        lagOf.push(lag);
      }
    }
  }
  const rho = Float64Array.from(lagOf, (lag) => lagSum[lag]! / lagCount[lag]!);
  return { a: Int32Array.from(a), b: Int32Array.from(b), rho };
}

/**
 * Covariance of the bin means (indices into the bins with samples), as (a, b, value) entries with
 * both orders of an off-diagonal pair: each bin mean is its samples' mean, so
 * cov(a, b) = sum over samples i in a, o in b of rho(i, o) sd_i sd_o / (n_a n_b).
 */
function binCovariance(noise: EsfNoise): { a: Int32Array; b: Int32Array; value: Float64Array } {
  const { bin, sd, binCount, pairs } = noise;
  const nb = binCount.length;
  const sums = new Map<number, number>();
  const put = (a: number, b: number, v: number): void => {
    sums.set(a * nb + b, (sums.get(a * nb + b) ?? 0) + v / (binCount[a]! * binCount[b]!));
  };
  for (let i = 0; i < bin.length; i++) if (bin[i]! >= 0) put(bin[i]!, bin[i]!, sd[i]! * sd[i]!);
  for (let p = 0; p < pairs.a.length; p++) {
    const i = pairs.a[p]!;
    const o = pairs.b[p]!;
    const v = pairs.rho[p]! * sd[i]! * sd[o]!;
    put(bin[i]!, bin[o]!, v);
    put(bin[o]!, bin[i]!, v);
  }
  const keys = [...sums.keys()];
  return {
    a: Int32Array.from(keys, (k) => Math.floor(k / nb)),
    b: Int32Array.from(keys, (k) => k % nb),
    value: Float64Array.from(keys, (k) => sums.get(k)!),
  };
}

/**
 * RMS magnitude of the noise in the windowed LSF's DFT at the first `points` frequencies of a
 * `padded`-point transform. The grid ESF is linear in the bin means (interpolation weights), the
 * LSF linear in the grid ESF (central differences, end bins repeated), so the DFT's noise is
 * sum_j g_j(f) e_j over the bin means' errors e_j, of variance sum_jk cov(j, k) Re(g_j conj g_k).
 */
function lsfNoise(
  esfDistance: Float64Array,
  at: readonly number[],
  noise: EsfNoise,
  binWidth: number,
  half: number,
  padded: number,
  points: number,
): Float64Array {
  const bins = esfDistance.length;
  const weights = Array.from(esfDistance, (x) => bracket(at, x));
  // LSF bin k = (esf[plus(k)] - esf[minus(k)]) / (2 binWidth), windowed.
  const plus = (k: number): number => Math.min(Math.max(k, 1), bins - 2) + 1;
  const minus = (k: number): number => Math.min(Math.max(k, 1), bins - 2) - 1;
  const window = Array.from({ length: bins }, (_, k) => tukey(Math.abs(k - half) / (half + 1)) / (2 * binWidth));
  const gRe = new Float64Array(at.length);
  const gIm = new Float64Array(at.length);
  const add = (m: number, sign: number, cr: number, ci: number): void => {
    const { lo, hi, t } = weights[m]!;
    gRe[lo]! += sign * (1 - t) * cr;
    gIm[lo]! += sign * (1 - t) * ci;
    if (hi !== lo) {
      gRe[hi]! += sign * t * cr;
      gIm[hi]! += sign * t * ci;
    }
  };
  const cov = binCovariance(noise);
  const result = new Float64Array(points);
  for (let f = 0; f < points; f++) {
    gRe.fill(0);
    gIm.fill(0);
    for (let k = 0; k < bins; k++) {
      const phase = (-2 * Math.PI * f * k) / padded;
      const cr = window[k]! * Math.cos(phase);
      const ci = window[k]! * Math.sin(phase);
      add(plus(k), 1, cr, ci);
      add(minus(k), -1, cr, ci);
    }
    let variance = 0;
    for (let p = 0; p < cov.a.length; p++) {
      const a = cov.a[p]!;
      const b = cov.b[p]!;
      variance += cov.value[p]! * (gRe[a]! * gRe[b]! + gIm[a]! * gIm[b]!);
    }
    result[f] = Math.sqrt(Math.max(0, variance));
  }
  return result;
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
