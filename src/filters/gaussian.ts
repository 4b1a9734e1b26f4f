/**
 * Separable Gaussian smoothing, the same as `scipy.ndimage.gaussian_filter(image, sigma=(sr, sc),
 * mode='reflect', truncate=4.0)`: the sampled Gaussian normalised to sum 1, radius
 * int(truncate * sigma + 0.5) taps per side, edges reflected (half-sample symmetric).
 *
 * Unlike ../simulate/gaussian.ts (which renormalises at the border, for activity maps), this is
 * the textbook linear filter: every output is the same weighted sum, which is what a baseline
 * denoiser reported next to the model must be.
 */
import type { Image2D } from '../image.js';
import { gaussianKernel } from '../metrics/ssim.js';
import { reflectHalfSample } from './boundary.js';
import { widthInPixels } from './spacing.js';

export interface GaussianOptions {
  /** Standard deviation in mm (per PixelSpacing axis); give this or `sigmaPx`. */
  readonly sigmaMm?: number | undefined;
  /** Standard deviation in pixels, both axes. */
  readonly sigmaPx?: number | undefined;
  /** Kernel radius in standard deviations (default 4, scipy's). */
  readonly truncate?: number;
}

export const GAUSSIAN_TRUNCATE = 4;

export function gaussianFilter(image: Image2D, options: GaussianOptions): Image2D {
  const [sigmaRows, sigmaColumns] = widthInPixels({ mm: options.sigmaMm, px: options.sigmaPx }, image.pixelSpacing, 'sigma');
  const data = gaussianSmooth(image.data, image.rows, image.columns, sigmaRows, sigmaColumns, options.truncate);
  return { rows: image.rows, columns: image.columns, data, pixelSpacing: image.pixelSpacing };
}

/**
 * Smooths a row-major rows x columns image with per-axis sigmas in pixels (0 leaves an axis
 * alone). Work is in float64; the result is float32.
 */
export function gaussianSmooth(
  data: ArrayLike<number>,
  rows: number,
  columns: number,
  sigmaRows: number,
  sigmaColumns: number,
  truncate = GAUSSIAN_TRUNCATE,
): Float32Array {
  const horizontal = new Float64Array(rows * columns);
  smoothRows(data, horizontal, rows, columns, sigmaColumns, truncate);
  const out = new Float32Array(rows * columns);
  smoothColumns(horizontal, out, rows, columns, sigmaRows, truncate);
  return out;
}

/** 1-D taps for `sigma` (a single 1 for sigma 0). */
function taps(sigma: number, truncate: number): Float64Array {
  return sigma > 0 ? gaussianKernel(sigma, truncate) : Float64Array.of(1);
}

function smoothRows(src: ArrayLike<number>, dst: Float64Array, rows: number, columns: number, sigma: number, truncate: number): void {
  const kernel = taps(sigma, truncate);
  const radius = (kernel.length - 1) / 2;
  const line = new Float64Array(columns + 2 * radius);
  const source = Int32Array.from({ length: line.length }, (_, x) => reflectHalfSample(x - radius, columns));
  for (let r = 0; r < rows; r++) {
    const base = r * columns;
    for (let x = 0; x < line.length; x++) line[x] = src[base + source[x]!]!;
    for (let c = 0; c < columns; c++) {
      let sum = 0;
      for (let t = 0; t < kernel.length; t++) sum += kernel[t]! * line[c + t]!;
      dst[base + c] = sum;
    }
  }
}

/** Row by row over whole output rows, so the inner loop runs along contiguous memory. */
function smoothColumns(src: Float64Array, dst: Float32Array, rows: number, columns: number, sigma: number, truncate: number): void {
  const kernel = taps(sigma, truncate);
  const radius = (kernel.length - 1) / 2;
  const sum = new Float64Array(columns);
  for (let r = 0; r < rows; r++) {
    sum.fill(0);
    for (let t = 0; t < kernel.length; t++) {
      const w = kernel[t]!;
      const base = reflectHalfSample(r + t - radius, rows) * columns;
      for (let c = 0; c < columns; c++) sum[c]! += w * src[base + c]!;
    }
    dst.set(sum, r * columns);
  }
}
