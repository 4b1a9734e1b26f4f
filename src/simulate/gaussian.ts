/**
 * Separable Gaussian smoothing with edge renormalisation (weights outside the image are dropped and
 * the rest rescaled), so a flat region stays flat up to the border and no activity leaks out of
 * the mean. Used for PET post-filtering, resolution modelling and mask smoothing.
 */

/** Gaussian FWHM in mm to sigma in pixels. */
export function fwhmToSigmaPixels(fwhmMm: number, spacingMm: number): number {
  return fwhmMm / (2 * Math.sqrt(2 * Math.log(2))) / spacingMm;
}

function kernel1d(sigma: number): Float64Array {
  const radius = Math.max(1, Math.ceil(3 * sigma));
  const k = new Float64Array(2 * radius + 1);
  for (let i = -radius; i <= radius; i++) k[i + radius] = Math.exp((-0.5 * i * i) / (sigma * sigma));
  return k;
}

/** Smooths a row-major rows x columns image with per-axis sigmas in pixels (0 skips an axis). */
export function gaussianBlur(
  data: Float32Array,
  rows: number,
  columns: number,
  sigmaRows: number,
  sigmaColumns: number,
): Float32Array {
  const tmp = new Float32Array(data.length);
  const out = new Float32Array(data.length);
  blurAxis(data, tmp, rows, columns, sigmaColumns, 1, columns, rows, columns);
  blurAxis(tmp, out, rows, columns, sigmaRows, columns, rows, columns, 1);
  return out;
}

/** Blurs `length`-long lines with element `stride`; `lines` of them, starting `lineStride` apart. */
function blurAxis(
  src: Float32Array,
  dst: Float32Array,
  _rows: number,
  _columns: number,
  sigma: number,
  stride: number,
  length: number,
  lines: number,
  lineStride: number,
): void {
  if (!(sigma > 0)) {
    dst.set(src);
    return;
  }
  const k = kernel1d(sigma);
  const radius = (k.length - 1) / 2;
  for (let line = 0; line < lines; line++) {
    const base = line * lineStride;
    for (let i = 0; i < length; i++) {
      const lo = Math.max(0, i - radius);
      const hi = Math.min(length - 1, i + radius);
      let sum = 0;
      let weight = 0;
      for (let j = lo; j <= hi; j++) {
        const w = k[j - i + radius]!;
        sum += w * src[base + j * stride]!;
        weight += w;
      }
      dst[base + i * stride] = sum / weight;
    }
  }
}
