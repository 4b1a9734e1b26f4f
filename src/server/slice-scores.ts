/**
 * The numbers behind one comparison slice, as a pure function of its pixels: PSNR / SSIM / RMSE of
 * the denoised (and low-dose) slice against the reference (or the denoised against the low-dose
 * source), and a no-reference noise estimate of each slice. Runs in the metrics worker.
 */
import type { Image2D } from '../image.js';
import { compareSlices, estimateNoise, SOFT_TISSUE_HU, type IntensityRange } from '../metrics/index.js';
import type { NoisePair, Scores } from './api-types.js';

export interface SliceScoreInput {
  readonly modality: string;
  readonly range: IntensityRange;
  readonly lowDose: Image2D;
  readonly denoised: Image2D | null;
  /** Present when the comparison has a reference; null there when no reference slice matches. */
  readonly reference: Image2D | null | undefined;
}

export interface SliceScoreOutput {
  readonly denoised: Scores | null;
  readonly lowDose: Scores | null;
  readonly noise: NoisePair;
}

export function scoreSlice(input: SliceScoreInput): SliceScoreOutput {
  const { lowDose, denoised, reference, range } = input;
  const noise: NoisePair = { lowDose: noiseOf(lowDose, input.modality), denoised: denoised && noiseOf(denoised, input.modality) };
  if (reference !== undefined) {
    return {
      denoised: reference && denoised ? scores(reference, denoised, range) : null,
      lowDose: reference ? scores(reference, lowDose, range) : null,
      noise: { ...noise, reference: reference && noiseOf(reference, input.modality) },
    };
  }
  return { denoised: denoised ? scores(lowDose, denoised, range) : null, lowDose: null, noise };
}

function scores(reference: Image2D, test: Image2D, range: IntensityRange): Scores {
  const { psnr, ssim, rmse } = compareSlices(reference, test, range);
  return { psnr: Number.isFinite(psnr) ? psnr : null, ssim, rmse };
}

function noiseOf(image: Image2D, modality: string): number | null {
  try {
    return estimateNoise(image, modality === 'CT' ? { valueRange: SOFT_TISSUE_HU } : {}).std;
  } catch {
    return null; // too little flat tissue in this slice
  }
}
