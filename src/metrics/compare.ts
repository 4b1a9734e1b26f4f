/**
 * Reference-versus-test comparison of whole series: the `metrics --json` shape of
 * docs/contract.md, `{ slices: [{ index, psnr, ssim, rmse }], mean: { psnr, ssim, rmse }, range }`.
 *
 * `mean` is the plain mean of the per-slice values. PSNR of a slice pair that is identical within
 * the range is +Infinity (scikit-image's value); JSON has no Infinity, so such slices carry
 * `psnr: null`, and `mean.psnr` averages only the finite slices (null when every slice is identical).
 */
import { checkSameSize, checkValidMask, countedPixels, paddingUnion, type Pixels, type ValidMask } from './pixels.js';
import { psnrOfClipped } from './psnr.js';
import { checkRange, clipToRange, type IntensityRange } from './range.js';
import { meanSquaredError } from './rmse.js';
import { ssimOfClipped } from './ssim.js';

export interface SliceScores {
  /** The caller's slice index (position in the reference series). */
  readonly index: number;
  /** dB; null when the slices are identical within the range (PSNR = +Infinity). */
  readonly psnr: number | null;
  readonly ssim: number;
  /** Modality units, unclipped. */
  readonly rmse: number;
}

export interface SeriesScores {
  readonly slices: SliceScores[];
  readonly mean: { readonly psnr: number | null; readonly ssim: number; readonly rmse: number };
  readonly range: [number, number];
}

export interface SlicePair {
  readonly index: number;
  readonly reference: Pixels;
  readonly test: Pixels;
  /** Which pixels count (`compareSlices`' `valid`); absent: every pixel that is not padding. */
  readonly valid?: ValidMask;
}

/**
 * PSNR, SSIM and RMSE of one slice pair; PSNR may be +Infinity here. With `valid` (non-zero =
 * counts), all three leave the other pixels out. Pixels that either image marks as padding
 * (`Pixels.padding`: outside the scanned field) never count, and SSIM windows do not see them
 * (docs/metrics.md, "Valid pixels").
 */
export function compareSlices(
  reference: Pixels,
  test: Pixels,
  range: IntensityRange,
  valid?: ValidMask,
): { psnr: number; ssim: number; rmse: number } {
  checkSameSize(reference, test);
  checkRange(range);
  checkValidMask(valid, reference);
  const padding = paddingUnion(reference, test);
  const counted = countedPixels(valid, padding);
  const x = clipToRange(reference.data, range);
  const y = clipToRange(test.data, range);
  const dataRange = range[1] - range[0];
  return {
    psnr: psnrOfClipped(x, y, dataRange, counted),
    ssim: ssimOfClipped(reference.rows, reference.columns, x, y, dataRange, { ...(valid ? { valid } : {}), padding }),
    rmse: Math.sqrt(meanSquaredError(reference.data, test.data, counted)),
  };
}

/** Accumulates slice scores one pair at a time, so a long series streams through. */
export class SeriesComparison {
  private readonly scores: SliceScores[] = [];
  readonly range: IntensityRange;

  constructor(range: IntensityRange) {
    checkRange(range);
    this.range = range;
  }

  /** `valid` as for `compareSlices`: absent, every pixel that is not padding counts. */
  add(index: number, reference: Pixels, test: Pixels, valid?: ValidMask): SliceScores {
    const { psnr, ssim, rmse } = compareSlices(reference, test, this.range, valid);
    const scores: SliceScores = { index, psnr: Number.isFinite(psnr) ? psnr : null, ssim, rmse };
    this.scores.push(scores);
    return scores;
  }

  result(): SeriesScores {
    if (this.scores.length === 0) throw new RangeError('no slice pairs were compared');
    return { slices: [...this.scores], mean: meanScores(this.scores), range: [this.range[0], this.range[1]] };
  }
}

/** `SeriesScores.mean` of some slices' scores: plain means, PSNR over the finite ones (null when none is). */
export function meanScores(slices: readonly Pick<SliceScores, 'psnr' | 'ssim' | 'rmse'>[]): SeriesScores['mean'] {
  const finitePsnr = slices.map((s) => s.psnr).filter((v): v is number => v !== null);
  return {
    psnr: finitePsnr.length > 0 ? mean(finitePsnr) : null,
    ssim: mean(slices.map((s) => s.ssim)),
    rmse: mean(slices.map((s) => s.rmse)),
  };
}

export function compareSeries(pairs: Iterable<SlicePair>, range: IntensityRange): SeriesScores {
  const comparison = new SeriesComparison(range);
  for (const pair of pairs) comparison.add(pair.index, pair.reference, pair.test, pair.valid);
  return comparison.result();
}

function mean(values: readonly number[]): number {
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}
