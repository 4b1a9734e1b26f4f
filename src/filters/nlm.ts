/**
 * Non-local means (Buades, Coll and Morel 2005): each pixel becomes a weighted mean of the pixels
 * in a search window around it, weighted by how similar the patches around them are,
 *
 *   d^2(p, q) = mean over the patch offsets k of (I(p + k) - I(q + k))^2
 *   w(p, q)   = exp(-max(d^2 - 2 sigma^2, 0) / h^2)
 *
 * The "- 2 sigma^2" is the expected d^2 of two noisy copies of the same patch, so that patches
 * that differ only by noise all get weight ~1 (Buades, Coll and Morel, IPOL 2011). Patches are
 * square and uniformly weighted, and the centre pixel has weight 1 (its own d^2 is 0).
 *
 * Speed: the patch distance for one search offset o is a box sum of the squared difference image
 * (I(x) - I(x + o))^2, computed for every pixel at once with running sums (Darbon et al. 2008;
 * Froment, IPOL 2014), so the cost is O(pixels x search window), independent of the patch size.
 * Weights are symmetric, w(p, p + o) = w(p + o, p), so only half of the offsets are computed and
 * each weight is used twice. The edge is reflected (half-sample), as in the other filters.
 *
 * Guided (`guidedNlm`): the weights come from the patches of one image (a guide, e.g. a denoised
 * pilot) and the mean is taken over another (the noisy measurement), as in BM3D's second stage or
 * NLM with a pre-filtered similarity: the output is a convex combination of measured pixels.
 */
import { LowdoseError } from '../errors.js';
import type { Image2D } from '../image.js';
import { padReflect } from './boundary.js';
import { EXP_TABLE_STEPS_PER_UNIT, EXP_TABLE_X_MAX, expTable } from './exp-table.js';

export interface NlmOptions {
  /** Filtering strength in image units: larger smooths more. */
  readonly h: number;
  /** Noise standard deviation subtracted from patch distances (2 sigma^2); 0 gives the original weights. */
  readonly noiseStd: number;
  /** Patch half-width in pixels (default 3: 7x7 patches). */
  readonly patchRadius?: number;
  /** Search window half-width in pixels (default 10: 21x21). */
  readonly searchRadius?: number;
  /**
   * The centre pixel's own weight: 'one' (default; its d² is 0) or 'max', the largest weight of the
   * other pixels in its window (Buades, Coll and Morel 2005's remedy: with a noise-free guide a
   * pixel whose patch is unique, such as one on a small hot lesion's slope, would otherwise
   * keep its own noisy value).
   */
  readonly selfWeight?: 'one' | 'max';
  /**
   * The weight as a function of u = max(d² − 2σ², 0) / h²: 'exp' (default), exp(−u); 'bisquare',
   * (1 − u)² for u < 1 and 0 beyond: compact, so that the many pixels of a large dissimilar region
   * (the background around a small lesion) add nothing instead of a small weight each.
   */
  readonly kernel?: 'exp' | 'bisquare';
}

export const NLM_PATCH_RADIUS = 3;
export const NLM_SEARCH_RADIUS = 10;

export function nlmFilter(image: Image2D, options: NlmOptions): Image2D {
  return { rows: image.rows, columns: image.columns, data: nlmCore(image.data, image.data, image.rows, image.columns, options), pixelSpacing: image.pixelSpacing };
}

/**
 * Non-local means of `values` with the weights of `guide`'s patches (module comment): each output
 * pixel is Σ_j w_ij values_j / Σ_j w_ij over the search window, w from the guide alone, so the
 * weights sum to one and a constant `values` passes unchanged whatever the guide. `noiseStd` is
 * the guide's noise (0 for a noise-free pilot).
 */
export function guidedNlm(guide: Image2D, values: Float32Array, options: NlmOptions): Float32Array {
  if (values.length !== guide.rows * guide.columns) {
    throw new LowdoseError('E_INTERNAL', `guidedNlm: ${values.length} values for a ${guide.rows}x${guide.columns} guide`);
  }
  return nlmCore(guide.data, values, guide.rows, guide.columns, options);
}

function nlmCore(data: Float32Array, values: Float32Array, rows: number, columns: number, options: NlmOptions): Float32Array {
  const { h, noiseStd } = options;
  const patchRadius = options.patchRadius ?? NLM_PATCH_RADIUS;
  const searchRadius = options.searchRadius ?? NLM_SEARCH_RADIUS;
  checkOptions(h, noiseStd, patchRadius, searchRadius);

  const pad = searchRadius + patchRadius;
  const width = columns + 2 * pad;
  const padded = padReflect(data, rows, columns, pad);
  const paddedValues = values === data ? padded : padReflect(values, rows, columns, pad);
  const patchArea = (2 * patchRadius + 1) ** 2;
  // t = max(ssd / area - 2 sigma^2, 0) / h^2, in exp-table steps.
  const steps = EXP_TABLE_STEPS_PER_UNIT / (h * h);
  const perSsd = steps / patchArea;
  const bias = 2 * noiseStd * noiseStd * steps;
  const limit = EXP_TABLE_X_MAX * EXP_TABLE_STEPS_PER_UNIT;
  const table = expTable();
  const bisquare = options.kernel === 'bisquare';

  // The centre pixel: weight 1, or with selfWeight 'max' added at the end.
  const selfMax = options.selfWeight === 'max';
  const sum = selfMax ? new Float64Array(rows * columns) : Float64Array.from(values);
  const weight = new Float64Array(rows * columns).fill(selfMax ? 0 : 1);
  const maxWeight = selfMax ? new Float64Array(rows * columns) : null;

  const maxBox = columns + searchRadius;
  const columnSums = new Float64Array(maxBox + 2 * patchRadius);
  const ringRows = 2 * patchRadius + 1;
  const ring = new Float64Array(ringRows * (maxBox + 2 * patchRadius));
  const weightRow = new Float64Array(maxBox);

  for (let dy = 0; dy <= searchRadius; dy++) {
    for (let dx = -searchRadius; dx <= searchRadius; dx++) {
      if (dy === 0 && dx <= 0) continue;
      // Pixels p (image coordinates) for which p or p + o is in the image.
      const r0 = -dy;
      const r1 = rows - 1;
      const c0 = Math.min(0, -dx);
      const c1 = Math.max(columns - 1, columns - 1 - dx);
      const boxWidth = c1 - c0 + 1;
      // Squared differences are needed on the box widened by the patch radius.
      const lineStart = c0 - patchRadius;
      const lineLength = boxWidth + 2 * patchRadius;
      const shift = dy * width + dx;

      columnSums.fill(0, 0, lineLength);
      ring.fill(0, 0, ringRows * lineLength);
      for (let i = -patchRadius; i <= patchRadius; i++) {
        const slot = i + patchRadius;
        slideDifferences(padded, ring, columnSums, (r0 + i + pad) * width + lineStart + pad, shift, slot * lineLength, lineLength);
      }

      for (let r = r0; r <= r1; r++) {
        patchWeights(columnSums, weightRow, boxWidth, 2 * patchRadius, perSsd, bias, bisquare ? EXP_TABLE_STEPS_PER_UNIT : limit, bisquare ? null : table);
        // p = (r, c) in the image gains I(p + o); p + o in the image gains I(p).
        if (r >= 0) accumulate(sum, weight, maxWeight, r * columns, paddedValues, (r + pad + dy) * width + pad + dx, weightRow, -c0, columns);
        // p may lie in the reflected border: c runs over p + o inside the image.
        if (r + dy < rows) accumulate(sum, weight, maxWeight, (r + dy) * columns, paddedValues, (r + pad) * width + pad - dx, weightRow, -dx - c0, columns);

        // Slide the column sums down one row: row r - patchRadius leaves, row r + patchRadius + 1
        // takes its slot in the ring.
        if (r < r1) {
          const slot = (r - r0) % ringRows;
          slideDifferences(padded, ring, columnSums, (r + patchRadius + 1 + pad) * width + lineStart + pad, shift, slot * lineLength, lineLength);
        }
      }
    }
  }

  const out = new Float32Array(rows * columns);
  if (maxWeight) {
    // A pixel with no similar neighbour at all keeps its own value (weight 1).
    for (let i = 0; i < out.length; i++) {
      const self = maxWeight[i]! > 0 ? maxWeight[i]! : 1;
      out[i] = (sum[i]! + self * values[i]!) / (weight[i]! + self);
    }
    return out;
  }
  for (let i = 0; i < out.length; i++) out[i] = sum[i]! / weight[i]!;
  return out;
}

/** Weights of one row of the box from the column sums of squared differences. */
function patchWeights(
  columnSums: Float64Array,
  weightRow: Float64Array,
  boxWidth: number,
  patchWidthMinusOne: number,
  perSsd: number,
  bias: number,
  limit: number,
  /** The exp table, or null for the bisquare kernel (then `limit` is one unit in table steps). */
  table: Float64Array | null,
): void {
  let ssd = 0;
  for (let x = 0; x < patchWidthMinusOne; x++) ssd += columnSums[x]!;
  for (let c = 0; c < boxWidth; c++) {
    ssd += columnSums[c + patchWidthMinusOne]!;
    const excess = ssd * perSsd - bias;
    const t = excess > 0 ? excess : 0;
    let w = 0;
    if (t < limit) {
      if (table) {
        const i = t | 0;
        const a = table[i]!;
        w = a + (t - i) * (table[i + 1]! - a);
      } else {
        const u = 1 - t / limit;
        w = u * u;
      }
    }
    weightRow[c] = w;
    ssd -= columnSums[c]!;
  }
}

/**
 * Adds weightRow[weightStart + i] * values[valueStart + i] to sum[outStart + i] for one image row
 * (and keeps the largest weight per pixel when `maxWeight` is given).
 */
function accumulate(
  sum: Float64Array,
  weight: Float64Array,
  maxWeight: Float64Array | null,
  outStart: number,
  values: Float32Array,
  valueStart: number,
  weightRow: Float64Array,
  weightStart: number,
  length: number,
): void {
  for (let i = 0; i < length; i++) {
    const w = weightRow[weightStart + i]!;
    sum[outStart + i]! += w * values[valueStart + i]!;
    weight[outStart + i]! += w;
    if (maxWeight && w > maxWeight[outStart + i]!) maxWeight[outStart + i] = w;
  }
}

/**
 * Squared differences (I(x) - I(x + shift))^2 of one padded row segment: replaces the ring slot at
 * `slotAt` and moves `columnSums` by (new - old). The ring starts zeroed for a fresh offset.
 */
function slideDifferences(
  padded: Float32Array,
  ring: Float64Array,
  columnSums: Float64Array,
  start: number,
  shift: number,
  slotAt: number,
  length: number,
): void {
  for (let i = 0; i < length; i++) {
    const d = padded[start + i]! - padded[start + i + shift]!;
    const squared = d * d;
    columnSums[i]! += squared - ring[slotAt + i]!;
    ring[slotAt + i] = squared;
  }
}

function checkOptions(h: number, noiseStd: number, patchRadius: number, searchRadius: number): void {
  if (!(h > 0) || !Number.isFinite(h)) throw new LowdoseError('E_USAGE', `NLM h must be a positive number, got ${h}`);
  if (!(noiseStd >= 0) || !Number.isFinite(noiseStd)) {
    throw new LowdoseError('E_USAGE', `NLM noise std must be a finite number >= 0, got ${noiseStd}`);
  }
  if (!Number.isInteger(patchRadius) || patchRadius < 0 || patchRadius > 10) {
    throw new LowdoseError('E_USAGE', `NLM patch radius must be an integer in [0, 10], got ${patchRadius}`);
  }
  if (!Number.isInteger(searchRadius) || searchRadius < 1 || searchRadius > 30) {
    throw new LowdoseError('E_USAGE', `NLM search radius must be an integer in [1, 30], got ${searchRadius}`);
  }
}
