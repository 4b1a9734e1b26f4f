/**
 * Calibrated per-pixel uncertainty of a denoised slice, and the statistics that check it
 * (docs/uncertainty.md).
 *
 * The predicted error variance of the output against the noise-free truth is
 *
 *   sigma² = spreadScale² · std² + noiseScale² · boxmean((input − output)², noiseWindowMm)
 *            + noiseLevelScale² · inputNoise²
 *
 * with std the per-pixel standard deviation of a K-sample ensemble, the second term a local noise
 * level of the input (what the denoiser removed, averaged over a window) and the third the input
 * series' noise level (inputNoise: its robust soft-tissue noise SD, estimateSeriesNoise, as the
 * classical filters measure it): terms that know how noisy the input was, which a nearly
 * deterministic sampler's spread does not. The series term moves every pixel's sigma alike, so it
 * scales the interval with the dose without changing which patches rank as most uncertain within
 * a series. The scales are per model and per K, fitted by scripts/uncertainty/calibrate.ts and
 * stored in the model card's `uncertainty` block (noiseLevelScale absent: 0).
 */
import { LowdoseError } from '../errors.js';
import { patchIsTissue } from './sfrc.js';

/** The calibration of one ensemble size (a card's `uncertainty.calibration[]` entry). */
export interface UncertaintyCalibration {
  readonly samples: number;
  readonly spreadScale: number;
  readonly noiseScale: number;
  /** Weight of the input series' noise SD (absent: 0, the cards calibrated before it existed). */
  readonly noiseLevelScale?: number;
}

/**
 * Mean of `values` over a (2·radius+1)² box around each pixel, the box clipped at the image
 * border (summed-area table, float64).
 */
export function boxMean(values: ArrayLike<number>, rows: number, columns: number, radius: number): Float32Array {
  if (values.length !== rows * columns) throw new LowdoseError('E_INTERNAL', `boxMean: ${values.length} values for ${rows}x${columns}`);
  const w = columns + 1;
  const table = new Float64Array((rows + 1) * w);
  for (let r = 0; r < rows; r++) {
    let run = 0;
    for (let c = 0; c < columns; c++) {
      run += values[r * columns + c]!;
      table[(r + 1) * w + c + 1] = table[r * w + c + 1]! + run;
    }
  }
  const out = new Float32Array(rows * columns);
  for (let r = 0; r < rows; r++) {
    const r0 = Math.max(0, r - radius);
    const r1 = Math.min(rows, r + radius + 1);
    for (let c = 0; c < columns; c++) {
      const c0 = Math.max(0, c - radius);
      const c1 = Math.min(columns, c + radius + 1);
      const sum = table[r1 * w + c1]! - table[r0 * w + c1]! - table[r1 * w + c0]! + table[r0 * w + c0]!;
      out[r * columns + c] = sum / ((r1 - r0) * (c1 - c0));
    }
  }
  return out;
}

/** The box radius in pixels for a window of `windowMm` at the given [row, column] spacing. */
export function windowRadius(windowMm: number, pixelSpacing: readonly [number, number]): number {
  const spacing = Math.sqrt(pixelSpacing[0] * pixelSpacing[1]);
  return Math.max(1, Math.round(windowMm / spacing / 2));
}

/** The local noise level of the input: boxmean((input − output)²). */
export function removedNoiseVariance(
  input: ArrayLike<number>,
  output: ArrayLike<number>,
  rows: number,
  columns: number,
  radius: number,
): Float32Array {
  const squared = new Float32Array(rows * columns);
  for (let i = 0; i < squared.length; i++) {
    const d = input[i]! - output[i]!;
    squared[i] = d * d;
  }
  return boxMean(squared, rows, columns, radius);
}

/** sigma per pixel (module comment), in the image's units; `inputNoise` is the series' noise SD. */
export function calibratedSigma(
  std: ArrayLike<number>,
  noiseVariance: ArrayLike<number>,
  calibration: Pick<UncertaintyCalibration, 'spreadScale' | 'noiseScale' | 'noiseLevelScale'>,
  inputNoise = 0,
): Float32Array {
  const a2 = calibration.spreadScale ** 2;
  const c2 = calibration.noiseScale ** 2;
  const level = (calibration.noiseLevelScale ?? 0) ** 2 * inputNoise ** 2;
  const out = new Float32Array(std.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.sqrt(a2 * std[i]! ** 2 + c2 * noiseVariance[i]! + level);
  return out;
}

/** Spearman's rank correlation (ties get their mean rank); NaN for fewer than 3 pairs. */
export function spearman(x: ArrayLike<number>, y: ArrayLike<number>): number {
  if (x.length !== y.length) throw new LowdoseError('E_INTERNAL', `spearman: ${x.length} and ${y.length} values`);
  if (x.length < 3) return Number.NaN;
  const rx = ranks(x);
  const ry = ranks(y);
  let mx = 0;
  let my = 0;
  for (let i = 0; i < rx.length; i++) {
    mx += rx[i]!;
    my += ry[i]!;
  }
  mx /= rx.length;
  my /= ry.length;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < rx.length; i++) {
    const a = rx[i]! - mx;
    const b = ry[i]! - my;
    sxy += a * b;
    sxx += a * a;
    syy += b * b;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : Number.NaN;
}

function ranks(values: ArrayLike<number>): Float64Array {
  const order = Array.from({ length: values.length }, (_, i) => i).sort((a, b) => values[a]! - values[b]!);
  const out = new Float64Array(values.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && values[order[j + 1]!] === values[order[i]!]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) out[order[k]!] = rank;
    i = j + 1;
  }
  return out;
}

/** A square block of a slice with the means of some per-pixel quantities over it. */
export interface PatchMeans {
  readonly row: number;
  readonly column: number;
  readonly means: number[];
  /** Pixels the means are over: the block's pixels that are not padding. */
  readonly pixels: number;
}

/**
 * Non-overlapping size x size blocks that hold tissue (sFRC's air rule on `reference`), with the
 * mean of each of `maps` over the block. Padding pixels (1 in `padding`: outside the scanned
 * field, not image) are in no mean, and a block that is more than half padding is no tissue.
 */
export function tissuePatchMeans(
  maps: ReadonlyArray<ArrayLike<number>>,
  reference: ArrayLike<number>,
  rows: number,
  columns: number,
  size: number,
  units: string,
  padding: ArrayLike<number> | null = null,
): PatchMeans[] {
  let sliceMax = -Infinity;
  if (units !== 'HU') for (let i = 0; i < reference.length; i++) if ((!padding || !padding[i]) && reference[i]! > sliceMax) sliceMax = reference[i]!;
  const out: PatchMeans[] = [];
  for (let row = 0; row + size <= rows; row += size) {
    for (let column = 0; column + size <= columns; column += size) {
      if (!patchIsTissue(reference, columns, row, column, size, units, sliceMax, padding)) continue;
      let pixels = 0;
      const sums = maps.map(() => 0);
      for (let y = row; y < row + size; y++) {
        for (let x = column; x < column + size; x++) {
          const p = y * columns + x;
          if (padding && padding[p]) continue;
          pixels++;
          maps.forEach((map, j) => (sums[j] = sums[j]! + map[p]!));
        }
      }
      out.push({ row, column, means: sums.map((sum) => sum / pixels), pixels });
    }
  }
  return out;
}

/** Pixels of the tissue blocks of tissuePatchMeans, as a mask (padding pixels never in it). */
export function tissueMask(
  reference: ArrayLike<number>,
  rows: number,
  columns: number,
  size: number,
  units: string,
  padding: ArrayLike<number> | null = null,
): Uint8Array {
  const mask = new Uint8Array(rows * columns);
  for (const p of tissuePatchMeans([], reference, rows, columns, size, units, padding)) {
    for (let y = p.row; y < p.row + size; y++) {
      for (let x = p.column; x < p.column + size; x++) if (!padding || !padding[y * columns + x]) mask[y * columns + x] = 1;
    }
  }
  return mask;
}
