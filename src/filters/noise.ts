/**
 * The noise level that the edge-preserving filters scale their strength by (bilateral sigmaRange,
 * NLM h), estimated from the slice itself with ../metrics/noise-estimate.ts, so one default works
 * at any dose, kernel and patient size.
 *
 * - CT: local-std noise over soft tissue ([-150, 250] HU), the flat regions of a body slice.
 * - PET: noise grows with activity, so one number has to pick a level. We take soft tissue:
 *   pixels whose local mean is 0.5 to 2 times the mean of the body (pixels above 5 % of the
 *   maximum). Air around the patient is nearly noise-free after OSEM and would otherwise win the
 *   histogram of local SDs.
 * A slice with too little tissue (the top of the head, a slice outside the body) falls back to
 * the whole image.
 */
import { LowdoseError } from '../errors.js';
import type { Image2D } from '../image.js';
import { estimateNoise, SOFT_TISSUE_HU } from '../metrics/noise-estimate.js';

export type FilterModality = 'CT' | 'PT';

export interface NoiseLevel {
  /** Noise standard deviation, image units. */
  readonly std: number;
  /** Which pixels it came from, for the settings description ('series': `estimateSeriesNoise`). */
  readonly from: 'soft tissue' | 'whole image' | 'given' | 'series';
}

export function estimateFilterNoise(image: Image2D, modality: FilterModality): NoiseLevel {
  const range = modality === 'CT' ? SOFT_TISSUE_HU : petTissueRange(image.data);
  try {
    if (range) return { std: estimateNoise(image, { valueRange: range }).std, from: 'soft tissue' };
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
  }
  try {
    return { std: estimateNoise(image).std, from: 'whole image' };
  } catch (error) {
    throw new LowdoseError(
      'E_USAGE',
      `cannot estimate the noise of a ${image.rows}x${image.columns} slice (${(error as Error).message}); give the noise level or the filter strength explicitly`,
      { cause: error },
    );
  }
}

/**
 * One noise level for a whole series: the median of the per-slice estimates over up to
 * `maxSlices` evenly spaced slices (slices with too little tissue skipped). Passing it as
 * `noiseStd` gives every slice the same filter strength.
 */
export function estimateSeriesNoise(slices: readonly Image2D[], modality: FilterModality, maxSlices = 16): number {
  if (slices.length === 0) throw new LowdoseError('E_USAGE', 'no slices to estimate noise from');
  const count = Math.min(slices.length, Math.max(1, maxSlices));
  const estimates: number[] = [];
  for (let k = 0; k < count; k++) {
    const index = count === 1 ? Math.floor(slices.length / 2) : Math.round((k * (slices.length - 1)) / (count - 1));
    try {
      const level = estimateFilterNoise(slices[index]!, modality);
      if (level.from === 'soft tissue') estimates.push(level.std);
    } catch (error) {
      if (!(error instanceof LowdoseError)) throw error;
    }
  }
  if (estimates.length === 0) return estimateFilterNoise(slices[Math.floor(slices.length / 2)]!, modality).std;
  estimates.sort((a, b) => a - b);
  const middle = estimates.length >> 1;
  return estimates.length % 2 === 1 ? estimates[middle]! : 0.5 * (estimates[middle - 1]! + estimates[middle]!);
}

/** [0.5, 2] x the mean of pixels above 5 % of the maximum; null for an empty slice. */
function petTissueRange(data: Float32Array): readonly [number, number] | null {
  let max = 0;
  for (let i = 0; i < data.length; i++) if (data[i]! > max) max = data[i]!;
  if (!(max > 0) || !Number.isFinite(max)) return null;
  let sum = 0;
  let count = 0;
  for (let i = 0; i < data.length; i++) {
    if (data[i]! > 0.05 * max) {
      sum += data[i]!;
      count++;
    }
  }
  const mean = sum / count;
  return [0.5 * mean, 2 * mean];
}
