/**
 * Root-mean-square error in modality units. Unlike PSNR and SSIM it is not clipped to the metric
 * range (CONTRACT: "RMSE is in modality units"), so it also counts errors in bone and air.
 */
import { checkSameSize, checkValidMask, countedPixels, paddingUnion, type Pixels, type ValidMask } from './pixels.js';

/**
 * Mean squared difference; with `valid`, over the pixels where it is non-zero only (padding and
 * out-of-field pixels left out, CONTRACT "valid (unpadded) region").
 */
export function meanSquaredError(reference: ArrayLike<number>, test: ArrayLike<number>, valid?: ValidMask): number {
  let sum = 0;
  let count = 0;
  for (let i = 0; i < reference.length; i++) {
    if (valid && !valid[i]) continue;
    const d = reference[i]! - test[i]!;
    sum += d * d;
    count++;
  }
  if (count === 0) throw new RangeError('no valid pixel to compare');
  return sum / count;
}

/** RMSE over the `valid` pixels (all when absent) that neither image marks as padding. */
export function rmse(reference: Pixels, test: Pixels, valid?: ValidMask): number {
  checkSameSize(reference, test);
  checkValidMask(valid, reference);
  return Math.sqrt(meanSquaredError(reference.data, test.data, countedPixels(valid, paddingUnion(reference, test))));
}
