/**
 * Picks a filter setting from a small grid by mean PSNR against reference images, with the
 * metric conventions of ../shared/CONTRACT.md (`compareSlices`: both images clipped to the range,
 * data_range = its width; CT [-1000, 1000] HU, PET [0, max of the references]). The model card's
 * evaluation tunes the Gaussian sigma on validation volumes this way before it reports the
 * baseline on test volumes.
 */
import { LowdoseError } from '../errors.js';
import type { Image2D } from '../image.js';
import { compareSlices } from '../metrics/compare.js';
import { defaultRange, maxValue, type IntensityRange } from '../metrics/range.js';
import { classicalDenoise, type ClassicalDenoiseParams, type ClassicalMethod } from './denoise.js';

export interface TuningPair {
  readonly lowDose: Image2D;
  readonly reference: Image2D;
}

export interface TuningOptions {
  /** Fixed settings for everything but the tuned parameter (modality, noiseStd, widths...). */
  readonly params?: ClassicalDenoiseParams;
  /** PSNR / SSIM range; default from the modality (CT [-1000, 1000], PET [0, max of the references]). */
  readonly range?: IntensityRange;
}

export interface TuningScore {
  readonly value: number;
  /** Mean PSNR over the pairs (dB); +Infinity when a candidate reproduces a reference exactly. */
  readonly psnr: number;
  readonly ssim: number;
  readonly rmse: number;
}

export interface TuningResult {
  /** The candidate with the highest mean PSNR (the first of equals). */
  readonly best: number;
  readonly scores: readonly TuningScore[];
  readonly range: IntensityRange;
}

/** Numeric settings that can be tuned. */
export type TunableParameter = 'sigmaMm' | 'sigmaPx' | 'sigmaSpatialMm' | 'sigmaSpatialPx' | 'sigmaRange' | 'rangeFactor' | 'h' | 'hFactor';

/** Scores `method` with `parameter` set to each candidate in turn. */
export function tuneParameter(
  method: ClassicalMethod,
  parameter: TunableParameter,
  pairs: readonly TuningPair[],
  candidates: readonly number[],
  options: TuningOptions = {},
): TuningResult {
  if (pairs.length === 0) throw new LowdoseError('E_USAGE', 'tuning needs at least one low-dose / reference pair');
  if (candidates.length === 0) throw new LowdoseError('E_USAGE', `no candidate values for ${parameter}`);
  const base = options.params ?? {};
  const range = options.range ?? defaultRange(base.modality ?? 'CT', maxValue(pairs.map((p) => p.reference.data)));
  const scores = candidates.map((value): TuningScore => {
    // Unlike the metrics report (which drops identical slices from its mean), an exact match is
    // the best a candidate can do, so +Infinity stays in the mean and wins.
    let psnr = 0;
    let ssim = 0;
    let rmse = 0;
    for (const { lowDose, reference } of pairs) {
      const { data } = classicalDenoise(method, lowDose, { ...base, [parameter]: value });
      const s = compareSlices(reference, { rows: lowDose.rows, columns: lowDose.columns, data }, range);
      psnr += s.psnr;
      ssim += s.ssim;
      rmse += s.rmse;
    }
    return { value, psnr: psnr / pairs.length, ssim: ssim / pairs.length, rmse: rmse / pairs.length };
  });
  let best = scores[0]!;
  for (const s of scores) if (s.psnr > best.psnr) best = s;
  return { best: best.value, scores, range };
}

/** The Gaussian sigma (mm, or px with `{ inPixels: true }`) with the best mean PSNR. */
export function tuneGaussianSigma(
  pairs: readonly TuningPair[],
  candidates: readonly number[],
  options: TuningOptions & { readonly inPixels?: boolean } = {},
): TuningResult {
  return tuneParameter('gaussian', options.inPixels ? 'sigmaPx' : 'sigmaMm', pairs, candidates, options);
}

/** The bilateral range factor (sigmaRange = factor x noise SD) with the best mean PSNR. */
export function tuneBilateralRange(pairs: readonly TuningPair[], candidates: readonly number[], options: TuningOptions = {}): TuningResult {
  return tuneParameter('bilateral', 'rangeFactor', pairs, candidates, options);
}

/** The NLM strength factor (h = factor x noise SD) with the best mean PSNR. */
export function tuneNlmH(pairs: readonly TuningPair[], candidates: readonly number[], options: TuningOptions = {}): TuningResult {
  return tuneParameter('nlm', 'hFactor', pairs, candidates, options);
}
