/**
 * Picks a filter setting from a small grid by mean PSNR against reference images, with the
 * metric conventions of docs/contract.md (`compareSlices`: both images clipped to the range,
 * data_range = its width; CT [-1000, 1000] HU, PET [0, max of the references]). The model card's
 * evaluation tunes the Gaussian sigma on validation volumes this way before it reports the
 * baseline on test volumes.
 */
import { LowdoseError } from '../errors.js';
import type { Image2D } from '../image.js';
import { compareSlices } from '../metrics/compare.js';
import type { ValidMask } from '../metrics/pixels.js';
import { defaultRange, maxValue, type IntensityRange } from '../metrics/range.js';
import { classicalDenoise, type ClassicalDenoiseParams, type ClassicalMethod } from './denoise.js';

export interface TuningPair {
  readonly lowDose: Image2D;
  readonly reference: Image2D;
  /** Pixels the scores count (non-zero); default all. Leaves padding / out-of-field pixels out. */
  readonly valid?: ValidMask;
  /** Named pixel sets a scoring window may count instead of `valid` (e.g. `patient`: the patient outline). */
  readonly regions?: Readonly<Record<string, ValidMask>>;
}

/** A metric range scored in one of each pair's named `regions` rather than in its `valid` pixels. */
export interface RegionWindow {
  readonly range: IntensityRange;
  readonly region: string;
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
  const range = options.range ?? defaultRange(options.params?.modality ?? 'CT', maxValue(pairs.map((p) => p.reference.data)));
  return tuneInRanges(method, parameter, pairs, candidates, [range], options)[0]!;
}

/**
 * tuneParameter in several metric ranges at once (e.g. CT [-1000, 1000] HU and an abdomen window
 * [-160, 240]): each candidate filters every pair once and is scored in every range. One result
 * per range, in order; `options.range` is ignored. A range given as a `RegionWindow` counts the
 * pixels of that region of each pair (which every pair must have) instead of its `valid` ones.
 */
export function tuneInRanges(
  method: ClassicalMethod,
  parameter: TunableParameter,
  pairs: readonly TuningPair[],
  candidates: readonly number[],
  windows: readonly (IntensityRange | RegionWindow)[],
  options: TuningOptions = {},
): TuningResult[] {
  const ranges = windows.map((w) => ('region' in w ? w.range : w));
  const regions = windows.map((w) => ('region' in w ? w.region : null));
  if (pairs.length === 0) throw new LowdoseError('E_USAGE', 'tuning needs at least one low-dose / reference pair');
  if (candidates.length === 0) throw new LowdoseError('E_USAGE', `no candidate values for ${parameter}`);
  if (ranges.length === 0) throw new LowdoseError('E_USAGE', 'tuning needs at least one metric range');
  const base = options.params ?? {};
  // scores[range][candidate]
  const scores: TuningScore[][] = ranges.map(() => []);
  for (const value of candidates) {
    // Unlike the metrics report (which drops identical slices from its mean), an exact match is
    // the best a candidate can do, so +Infinity stays in the mean and wins.
    const sums = ranges.map(() => ({ psnr: 0, ssim: 0, rmse: 0 }));
    for (const { lowDose, reference, valid, regions: pairRegions } of pairs) {
      const { data } = classicalDenoise(method, lowDose, { ...base, [parameter]: value });
      ranges.forEach((range, k) => {
        const region = regions[k];
        let counted = valid;
        if (region !== null && region !== undefined) {
          counted = pairRegions?.[region];
          if (!counted) throw new LowdoseError('E_USAGE', `a tuning pair has no region "${region}"`);
        }
        const s = compareSlices(reference, { rows: lowDose.rows, columns: lowDose.columns, data }, range, counted);
        sums[k]!.psnr += s.psnr;
        sums[k]!.ssim += s.ssim;
        sums[k]!.rmse += s.rmse;
      });
    }
    sums.forEach((sum, k) => {
      scores[k]!.push({ value, psnr: sum.psnr / pairs.length, ssim: sum.ssim / pairs.length, rmse: sum.rmse / pairs.length });
    });
  }
  return ranges.map((range, k) => {
    let best = scores[k]![0]!;
    for (const s of scores[k]!) if (s.psnr > best.psnr) best = s;
    return { best: best.value, scores: scores[k]!, range };
  });
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
