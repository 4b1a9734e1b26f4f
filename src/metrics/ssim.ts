/**
 * Structural similarity (Wang et al. 2004) exactly as scikit-image's
 * `structural_similarity(ref, test, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
 * data_range=R)` on float64 images clipped to the metric range.
 *
 * scikit-image filters the whole image with scipy's gaussian_filter (truncate 3.5, so radius
 * int(3.5 * 1.5 + 0.5) = 5 and 11 taps, mode 'reflect') and then averages the SSIM map over the image
 * cropped by (11 - 1) / 2 = 5 pixels on each side. Every pixel of that cropped region has its full
 * 11 x 11 window inside the image, so the reflected border never reaches the mean: a "valid"
 * separable convolution gives the same number with no padding.
 *
 * Padding (pixels outside the scanned field that either image marks, `Pixels.padding`) is not
 * image, so unlike pixels merely left out by `valid` it must not enter any window: each window's
 * means, variances and covariance are then weighted over its non-padding pixels only (normalised
 * convolution: the Gaussian weights of padded pixels dropped, the rest renormalised). A window
 * without padding gives the same value as above.
 */
import { checkSameSize, checkValidMask, countedPixels, paddingUnion, type Pixels, type ValidMask } from './pixels.js';
import { checkRange, clipToRange, type IntensityRange } from './range.js';

export interface SsimOptions {
  /** Gaussian window sigma in pixels (CONTRACT: 1.5). */
  readonly sigma?: number;
  readonly k1?: number;
  readonly k2?: number;
  /**
   * Pixels the mean counts (non-zero = counts): the SSIM map is averaged over the valid pixels of
   * the border-cropped region, i.e. scikit-image's `full=True` map, cropped, at the mask. Windows
   * centred on a valid pixel may still reach masked ones (as the map does).
   */
  readonly valid?: ValidMask;
  /**
   * Pixels that are not image (non-zero = padding): left out of the mean and out of every window
   * (normalised convolution). `ssim()` takes them from the images' own `padding`.
   */
  readonly padding?: ArrayLike<number> | null;
  /**
   * When given (rows x columns), receives the SSIM of each pixel the mean counts, at its index;
   * the other entries are left as they are. `ssimMap` fills one.
   */
  readonly map?: Float64Array;
}

/** scipy.ndimage's normalised 1-D Gaussian kernel for `sigma` and `truncate`. */
export function gaussianKernel(sigma: number, truncate = 3.5): Float64Array {
  const radius = Math.trunc(truncate * sigma + 0.5);
  const kernel = new Float64Array(2 * radius + 1);
  let sum = 0;
  for (let i = -radius; i <= radius; i++) {
    const w = Math.exp((-0.5 * i * i) / (sigma * sigma));
    kernel[i + radius] = w;
    sum += w;
  }
  for (let i = 0; i < kernel.length; i++) kernel[i]! /= sum;
  return kernel;
}

/**
 * Why slices of `rows` x `columns` cannot be scored with the CONTRACT's SSIM (Gaussian sigma 1.5,
 * an 11 x 11 window, cropped at the border as scikit-image does), or null when they can. One
 * wording for every caller that refuses such a pair before computing (`lowdose metrics`, the
 * server's comparison metrics).
 */
export function ssimWindowRefusal(rows: number, columns: number): string | null {
  const taps = gaussianKernel(1.5).length;
  return rows < taps || columns < taps ? `slices of ${columns} x ${rows} are smaller than SSIM's ${taps} x ${taps} window` : null;
}

/** Mean SSIM of `test` against `reference`, both clipped to `range`, data_range = hi - lo. */
export function ssim(reference: Pixels, test: Pixels, range: IntensityRange, options: SsimOptions = {}): number {
  checkSameSize(reference, test);
  checkRange(range);
  checkValidMask(options.valid, reference);
  return ssimOfClipped(
    reference.rows,
    reference.columns,
    clipToRange(reference.data, range),
    clipToRange(test.data, range),
    range[1] - range[0],
    { ...options, padding: options.padding ?? paddingUnion(reference, test) },
  );
}

/**
 * The SSIM map behind `ssim(reference, test, range, options)`: each counted pixel's SSIM (the value
 * `ssim` averages), NaN where the mean does not count (the border crop, padding, outside `valid`).
 * The mean of its finite entries in index order is `ssim`'s value exactly, so a region's share of
 * the mean can be read off it.
 */
export function ssimMap(reference: Pixels, test: Pixels, range: IntensityRange, options: Omit<SsimOptions, 'map'> = {}): Float64Array {
  const map = new Float64Array(reference.rows * reference.columns).fill(NaN);
  ssim(reference, test, range, { ...options, map });
  return map;
}

/** Mean SSIM of two rows x columns images already clipped to a range of width `dataRange`. */
export function ssimOfClipped(
  rows: number,
  columns: number,
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  dataRange: number,
  options: SsimOptions = {},
): number {
  if (options.padding) return ssimWithoutPadding(rows, columns, x, y, dataRange, options, options.padding);
  const valid = options.valid ?? null;
  const { map, kernel, taps, radius, validRows, validColumns, c1, c2 } = ssimWindow(rows, columns, dataRange, options);

  // Horizontal pass: five moments, each rows x validColumns.
  const size = rows * validColumns;
  const hx = new Float64Array(size);
  const hy = new Float64Array(size);
  const hxx = new Float64Array(size);
  const hyy = new Float64Array(size);
  const hxy = new Float64Array(size);
  for (let r = 0; r < rows; r++) {
    const rowStart = r * columns;
    const outStart = r * validColumns;
    for (let c = 0; c < validColumns; c++) {
      let sx = 0;
      let sy = 0;
      let sxx = 0;
      let syy = 0;
      let sxy = 0;
      const start = rowStart + c;
      for (let t = 0; t < taps; t++) {
        const w = kernel[t]!;
        const a = x[start + t]!;
        const b = y[start + t]!;
        const wa = w * a;
        const wb = w * b;
        sx += wa;
        sy += wb;
        sxx += wa * a;
        syy += wb * b;
        sxy += wa * b;
      }
      const o = outStart + c;
      hx[o] = sx;
      hy[o] = sy;
      hxx[o] = sxx;
      hyy[o] = syy;
      hxy[o] = sxy;
    }
  }

  // Vertical pass one output row at a time, then the SSIM formula, summed in float64.
  const mx = new Float64Array(validColumns);
  const my = new Float64Array(validColumns);
  const mxx = new Float64Array(validColumns);
  const myy = new Float64Array(validColumns);
  const mxy = new Float64Array(validColumns);
  let total = 0;
  let counted = 0;
  for (let r = 0; r < validRows; r++) {
    mx.fill(0);
    my.fill(0);
    mxx.fill(0);
    myy.fill(0);
    mxy.fill(0);
    for (let t = 0; t < taps; t++) {
      const w = kernel[t]!;
      const base = (r + t) * validColumns;
      for (let c = 0; c < validColumns; c++) {
        mx[c]! += w * hx[base + c]!;
        my[c]! += w * hy[base + c]!;
        mxx[c]! += w * hxx[base + c]!;
        myy[c]! += w * hyy[base + c]!;
        mxy[c]! += w * hxy[base + c]!;
      }
    }
    const centreRow = (r + radius) * columns + radius;
    for (let c = 0; c < validColumns; c++) {
      if (valid && !valid[centreRow + c]) continue;
      counted++;
      const ux = mx[c]!;
      const uy = my[c]!;
      const vx = mxx[c]! - ux * ux;
      const vy = myy[c]! - uy * uy;
      const vxy = mxy[c]! - ux * uy;
      const value = windowSsim(ux, uy, vx, vy, vxy, c1, c2);
      total += value;
      if (map) map[centreRow + c] = value;
    }
  }
  if (counted === 0) throw new RangeError('SSIM: no valid pixel in the border-cropped region');
  return total / counted;
}

/** The window, constants and crop both SSIM paths share, after checking the map and the image size. */
interface SsimWindow {
  readonly map: Float64Array | null;
  readonly kernel: Float64Array;
  readonly taps: number;
  readonly radius: number;
  /** The border-cropped region's size: the centres whose whole window lies inside the image. */
  readonly validRows: number;
  readonly validColumns: number;
  readonly c1: number;
  readonly c2: number;
}

function ssimWindow(rows: number, columns: number, dataRange: number, options: SsimOptions): SsimWindow {
  const { sigma = 1.5, k1 = 0.01, k2 = 0.03, map = null } = options;
  if (map && map.length !== rows * columns) throw new RangeError(`SSIM map needs ${rows * columns} entries, got ${map.length}`);
  const kernel = gaussianKernel(sigma);
  const taps = kernel.length;
  if (rows < taps || columns < taps) {
    throw new RangeError(`SSIM needs images of at least ${taps}x${taps} pixels, got ${rows}x${columns}`);
  }
  return {
    map,
    kernel,
    taps,
    radius: (taps - 1) / 2,
    validRows: rows - taps + 1,
    validColumns: columns - taps + 1,
    c1: (k1 * dataRange) ** 2,
    c2: (k2 * dataRange) ** 2,
  };
}

/**
 * One window's SSIM from its means, variances and covariance (Wang et al. 2004, eq. 13), for both
 * paths. A call per cropped pixel, outside the convolution loops, and small enough for V8 to inline.
 */
function windowSsim(ux: number, uy: number, vx: number, vy: number, vxy: number, c1: number, c2: number): number {
  return ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2));
}

/**
 * SSIM by normalised convolution over the pixels that are not padding: per window, weights
 * w·(1 - padding) / Σ w·(1 - padding). Same crop as scikit-image; the mean is over the counted
 * pixels of the cropped map (not padding, and in `valid` when given).
 */
function ssimWithoutPadding(
  rows: number,
  columns: number,
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  dataRange: number,
  options: SsimOptions,
  padding: ArrayLike<number>,
): number {
  const { map, kernel, taps, radius, validRows, validColumns, c1, c2 } = ssimWindow(rows, columns, dataRange, options);
  const counted = countedPixels(options.valid, padding)!;

  // Horizontal pass of six moments of the image pixels: weight, x, y, xx, yy, xy.
  const size = rows * validColumns;
  const hw = new Float64Array(size);
  const hx = new Float64Array(size);
  const hy = new Float64Array(size);
  const hxx = new Float64Array(size);
  const hyy = new Float64Array(size);
  const hxy = new Float64Array(size);
  for (let r = 0; r < rows; r++) {
    const rowStart = r * columns;
    const outStart = r * validColumns;
    for (let c = 0; c < validColumns; c++) {
      let sw = 0;
      let sx = 0;
      let sy = 0;
      let sxx = 0;
      let syy = 0;
      let sxy = 0;
      const start = rowStart + c;
      for (let t = 0; t < taps; t++) {
        if (padding[start + t]) continue;
        const w = kernel[t]!;
        const a = x[start + t]!;
        const b = y[start + t]!;
        const wa = w * a;
        const wb = w * b;
        sw += w;
        sx += wa;
        sy += wb;
        sxx += wa * a;
        syy += wb * b;
        sxy += wa * b;
      }
      const o = outStart + c;
      hw[o] = sw;
      hx[o] = sx;
      hy[o] = sy;
      hxx[o] = sxx;
      hyy[o] = syy;
      hxy[o] = sxy;
    }
  }

  const mw = new Float64Array(validColumns);
  const mx = new Float64Array(validColumns);
  const my = new Float64Array(validColumns);
  const mxx = new Float64Array(validColumns);
  const myy = new Float64Array(validColumns);
  const mxy = new Float64Array(validColumns);
  let total = 0;
  let count = 0;
  for (let r = 0; r < validRows; r++) {
    for (const m of [mw, mx, my, mxx, myy, mxy]) m.fill(0);
    for (let t = 0; t < taps; t++) {
      const w = kernel[t]!;
      const base = (r + t) * validColumns;
      for (let c = 0; c < validColumns; c++) {
        mw[c]! += w * hw[base + c]!;
        mx[c]! += w * hx[base + c]!;
        my[c]! += w * hy[base + c]!;
        mxx[c]! += w * hxx[base + c]!;
        myy[c]! += w * hyy[base + c]!;
        mxy[c]! += w * hxy[base + c]!;
      }
    }
    const centreRow = (r + radius) * columns + radius;
    for (let c = 0; c < validColumns; c++) {
      if (!counted[centreRow + c]) continue;
      // A counted centre is not padding, so its own weight keeps the window weight positive.
      const inv = 1 / mw[c]!;
      const ux = mx[c]! * inv;
      const uy = my[c]! * inv;
      const vx = mxx[c]! * inv - ux * ux;
      const vy = myy[c]! * inv - uy * uy;
      const vxy = mxy[c]! * inv - ux * uy;
      const value = windowSsim(ux, uy, vx, vy, vxy, c1, c2);
      total += value;
      if (map) map[centreRow + c] = value;
      count++;
    }
  }
  if (count === 0) throw new RangeError('SSIM: no valid pixel in the border-cropped region');
  return total / count;
}
