/**
 * The intensity range that PSNR and SSIM are computed in (docs/contract.md, "Metric
 * conventions"): both images are clipped to [lo, hi] and data_range = hi - lo. Fixing the range
 * per modality, instead of taking it from each image, makes scores comparable across slices,
 * series and models.
 */

export type IntensityRange = readonly [lo: number, hi: number];

/** CT default: [-1000, 1000] HU. */
export const CT_RANGE: IntensityRange = [-1000, 1000];

/**
 * The default range for a modality: CT [-1000, 1000] HU; PET [0, max of the reference] (SUV or
 * Bq/ml, whatever units the reference is in). `referenceMax` is the maximum over the whole
 * reference series, so all slices share one range.
 */
export function defaultRange(modality: string, referenceMax?: number): IntensityRange {
  if (modality === 'PT' || modality === 'PET') {
    if (referenceMax === undefined || !(referenceMax > 0)) {
      throw new RangeError(`PET default range needs a positive reference maximum, got ${referenceMax}`);
    }
    return [0, referenceMax];
  }
  return CT_RANGE;
}

/** Largest finite value of one or more images (NaN ignored); -Infinity when there is none. */
export function maxValue(images: Iterable<ArrayLike<number>>): number {
  let max = -Infinity;
  for (const image of images) {
    for (let i = 0; i < image.length; i++) {
      const v = image[i]!;
      if (v > max && v !== Infinity) max = v;
    }
  }
  return max;
}

export function checkRange(range: IntensityRange): void {
  const [lo, hi] = range;
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || !(hi > lo)) {
    throw new RangeError(`intensity range must be two finite numbers lo < hi, got [${lo}, ${hi}]`);
  }
}

/** A Float64 copy of `image` clipped to [lo, hi]; the precision every range-based metric works in. */
export function clipToRange(image: ArrayLike<number>, range: IntensityRange): Float64Array {
  const [lo, hi] = range;
  const out = new Float64Array(image.length);
  for (let i = 0; i < image.length; i++) {
    const v = image[i]!;
    out[i] = v < lo ? lo : v > hi ? hi : v;
  }
  return out;
}
