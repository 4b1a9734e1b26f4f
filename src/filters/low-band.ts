/**
 * Low-band denoising: an edge-preserving filter run on a coarse grid of an already denoised image,
 * to remove the slow noise the network leaves (periods of tens of pixels, longer than it can see)
 * without touching the finer scales it handled.
 *
 *   1. C = the image on a grid `factor` times coarser: a normalised Gaussian low-pass of
 *      sigma = factor / 2 pixels, sampled at the centre of each factor x factor cell (pixels marked
 *      in `keep`, padding and out-of-field fill, carry no weight).
 *   2. sigma_c = the noise SD of C, measured on C itself (local-std over soft tissue,
 *      ../metrics/noise-estimate.ts, a 5-cell window), unless given: the noise left in the band
 *      to remove, whatever the dose, kernel and model.
 *   3. F = non-local means of C (3x3 patches, 11x11 search) with h = `strength` x sigma_c and the
 *      patch-distance offset 2 sigma_c^2, or a bilateral filter of range `strength` x sigma_c:
 *      flat regions are averaged, edges well above sigma_c are kept.
 *   4. out = image + bilinear(F - C): only the change is brought back to the full grid, so the
 *      fine scales and the image's own sharpness stay exactly as they were; `keep` pixels are
 *      copied unchanged.
 *
 * Why after the network: on flat water `lowdose-ct` keeps 0.8 to 0.9 of the input's noise
 * amplitude below about 0.06 cycles per pixel, where a full-dose scan keeps sqrt(d), and training
 * did not move it (docs/training.md, "Low-frequency loss term"). docs/diffusion.md ("Low band")
 * has the measurements.
 *
 * Pure function over Float32Arrays.
 */
import { LowdoseError } from '../errors.js';
import { estimateNoise, SOFT_TISSUE_HU } from '../metrics/noise-estimate.js';
import { bilateralFilter } from './bilateral.js';
import { gaussianSmooth } from './gaussian.js';
import { nlmFilter } from './nlm.js';

export const LOW_BAND_FILTERS = ['nlm', 'bilateral'] as const;
export type LowBandFilter = (typeof LOW_BAND_FILTERS)[number];
/** Beyond about 3 noise SDs the filter flattens everything of lower contrast; 10 bounds typing errors. */
export const LOW_BAND_MAX_STRENGTH = 10;
export const LOW_BAND_DEFAULT_FACTOR = 4;

export interface LowBandOptions {
  /** Filter strength in units of the band's noise SD (NLM h, bilateral range); 0 returns the image unchanged. */
  readonly strength: number;
  /** Coarse grid step in pixels (2 to 16; default 4). */
  readonly factor?: number;
  /** Edge-preserving filter on the coarse grid (default 'nlm'). */
  readonly filter?: LowBandFilter;
  /** The band's noise SD in image units; default measured on the coarse grid (module comment). */
  readonly noiseStd?: number;
  /** Value range whose cells the noise is measured on (default CT soft tissue, [-150, 250] HU). */
  readonly tissueRange?: readonly [number, number];
  /** 1 = not image (padding, out-of-field): no weight in the band, copied unchanged. */
  readonly keep?: ArrayLike<number> | null;
}

export interface LowBandResult {
  readonly data: Float32Array;
  /** The band's noise SD the filter was scaled by (image units); 0 when the step did not run. */
  readonly noiseStd: number;
  /** Coarse grid size. */
  readonly coarse: readonly [number, number];
}

const NLM_PATCH_RADIUS = 1;
const NLM_SEARCH_RADIUS = 5;
const BILATERAL_SIGMA_CELLS = 1.5;
const NOISE_WINDOW = 5;

export function smoothLowBand(image: Float32Array, rows: number, columns: number, options: LowBandOptions): LowBandResult {
  const n = rows * columns;
  if (image.length !== n) throw new LowdoseError('E_INTERNAL', `smoothLowBand: ${image.length} values for ${rows}x${columns}`);
  const factor = options.factor ?? LOW_BAND_DEFAULT_FACTOR;
  if (!(Number.isInteger(factor) && factor >= 2 && factor <= 16)) throw new LowdoseError('E_USAGE', `low band: factor must be an integer 2..16, got ${factor}`);
  if (!(options.strength >= 0 && Number.isFinite(options.strength))) throw new LowdoseError('E_USAGE', `low band: strength must be >= 0, got ${options.strength}`);
  const keep = options.keep ?? null;
  if (keep && keep.length !== n) throw new LowdoseError('E_INTERNAL', `smoothLowBand: keep mask of ${keep.length} for ${n} pixels`);
  const cr = Math.ceil(rows / factor);
  const cc = Math.ceil(columns / factor);
  const unchanged = { data: Float32Array.from(image), noiseStd: 0, coarse: [cr, cc] as const };
  // A grid of fewer than 8 cells a side has no room for the filter's search window.
  if (options.strength === 0 || cr < 8 || cc < 8) return unchanged;

  // 1. Coarse grid: normalised Gaussian low-pass (padding carries no weight), sampled at cell centres.
  const weight = new Float32Array(n);
  const weighted = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const w = keep && keep[i] ? 0 : 1;
    weight[i] = w;
    weighted[i] = w * image[i]!;
  }
  const sigma = factor / 2;
  const num = gaussianSmooth(weighted, rows, columns, sigma, sigma);
  const den = gaussianSmooth(weight, rows, columns, sigma, sigma);
  const coarse = new Float32Array(cr * cc);
  const valid = new Uint8Array(cr * cc);
  let validCount = 0;
  for (let y = 0; y < cr; y++) {
    const py = Math.min(rows - 1, Math.round((y + 0.5) * factor - 0.5));
    for (let x = 0; x < cc; x++) {
      const px = Math.min(columns - 1, Math.round((x + 0.5) * factor - 0.5));
      const d = den[py * columns + px]!;
      // Cells that are mostly padding are left out: their mean leans on a few pixels at the field edge.
      if (d > 0.5) {
        coarse[y * cc + x] = num[py * columns + px]! / d;
        valid[y * cc + x] = 1;
        validCount++;
      }
    }
  }
  if (validCount < 64) return unchanged;
  fillInvalidNearest(coarse, valid, cr, cc);

  // 2. The band's noise.
  const spacing = [factor, factor] as const;
  let noiseStd = options.noiseStd;
  if (noiseStd === undefined) {
    try {
      noiseStd = estimateNoise({ rows: cr, columns: cc, data: coarse, pixelSpacing: spacing }, { valueRange: options.tissueRange ?? SOFT_TISSUE_HU, window: NOISE_WINDOW }).std;
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      return unchanged; // no tissue to measure the band's noise on: nothing is known to remove
    }
  }
  if (!(noiseStd > 0)) return unchanged;

  // 3. Edge-preserving filter of the band.
  const band = { rows: cr, columns: cc, data: coarse, pixelSpacing: spacing };
  const filtered =
    (options.filter ?? 'nlm') === 'nlm'
      ? nlmFilter(band, { h: options.strength * noiseStd, noiseStd, patchRadius: NLM_PATCH_RADIUS, searchRadius: NLM_SEARCH_RADIUS }).data
      : bilateralFilter(band, { sigmaSpatialPx: BILATERAL_SIGMA_CELLS, sigmaRange: options.strength * noiseStd }).data;
  const delta = new Float32Array(cr * cc);
  for (let i = 0; i < delta.length; i++) delta[i] = valid[i] ? filtered[i]! - coarse[i]! : 0;

  // 4. The change, bilinear from cell centres, added to the image.
  const out = unchanged.data;
  for (let y = 0; y < rows; y++) {
    const gy = Math.min(cr - 1, Math.max(0, (y + 0.5) / factor - 0.5));
    const y0 = Math.floor(gy);
    const y1 = Math.min(cr - 1, y0 + 1);
    const fy = gy - y0;
    for (let x = 0; x < columns; x++) {
      const i = y * columns + x;
      if (keep && keep[i]) continue;
      const gx = Math.min(cc - 1, Math.max(0, (x + 0.5) / factor - 0.5));
      const x0 = Math.floor(gx);
      const x1 = Math.min(cc - 1, x0 + 1);
      const fx = gx - x0;
      const top = delta[y0 * cc + x0]! * (1 - fx) + delta[y0 * cc + x1]! * fx;
      const bottom = delta[y1 * cc + x0]! * (1 - fx) + delta[y1 * cc + x1]! * fx;
      out[i] = image[i]! + top * (1 - fy) + bottom * fy;
    }
  }
  return { data: out, noiseStd, coarse: [cr, cc] };
}

/** Invalid cells take the value of a nearest valid one (4-neighbour breadth-first), so the filter's windows see no holes. */
function fillInvalidNearest(values: Float32Array, valid: Uint8Array, rows: number, columns: number): void {
  const queue = new Int32Array(values.length);
  const done = Uint8Array.from(valid);
  let tail = 0;
  for (let i = 0; i < values.length; i++) if (done[i]) queue[tail++] = i;
  for (let head = 0; head < tail; head++) {
    const i = queue[head]!;
    const y = Math.floor(i / columns);
    const x = i - y * columns;
    for (const j of [y > 0 ? i - columns : -1, y < rows - 1 ? i + columns : -1, x > 0 ? i - 1 : -1, x < columns - 1 ? i + 1 : -1]) {
      if (j < 0 || done[j]) continue;
      done[j] = 1;
      values[j] = values[i]!;
      queue[tail++] = j;
    }
  }
}

/** The step as a run uses it: the card's block with the strength given for the run, if any. */
export interface LowBandSettings {
  readonly strength: number;
  readonly factor: number;
  readonly filter: LowBandFilter;
}

/**
 * The run's low-band settings: `strength` (the run's `--low-band`) over the card's block; null when
 * the resulting strength is 0 (off). A strength without a card block uses the default grid and filter.
 */
export function resolveLowBand(
  card: { readonly strength: number; readonly factor?: number; readonly filter?: LowBandFilter } | undefined,
  strength?: number,
): LowBandSettings | null {
  const s = strength ?? card?.strength ?? 0;
  if (!(s >= 0 && s <= LOW_BAND_MAX_STRENGTH)) throw new LowdoseError('E_USAGE', `--low-band: a strength in [0, ${LOW_BAND_MAX_STRENGTH}], got ${s}`);
  if (s === 0) return null;
  return { strength: s, factor: card?.factor ?? LOW_BAND_DEFAULT_FACTOR, filter: card?.filter ?? 'nlm' };
}

/** "low band nlm x4, strength 2": for the DerivationDescription. */
export function describeLowBand(settings: LowBandSettings): string {
  return `low band ${settings.filter} x${settings.factor}, strength ${settings.strength}`;
}
