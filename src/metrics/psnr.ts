/**
 * Peak signal-to-noise ratio as scikit-image's `peak_signal_noise_ratio(ref, test, data_range=R)`
 * after clipping both images to the metric range: 10 log10(R^2 / MSE), R = hi - lo.
 * Identical images (MSE 0) give +Infinity, as in scikit-image. With a `valid` mask the MSE is the
 * mean over the valid pixels only; pixels either image marks as padding never count.
 */
import { checkSameSize, checkValidMask, countedPixels, paddingUnion, type Pixels, type ValidMask } from './pixels.js';
import { checkRange, clipToRange, type IntensityRange } from './range.js';
import { meanSquaredError } from './rmse.js';

export function psnr(reference: Pixels, test: Pixels, range: IntensityRange, valid?: ValidMask): number {
  checkSameSize(reference, test);
  checkRange(range);
  checkValidMask(valid, reference);
  const counted = countedPixels(valid, paddingUnion(reference, test));
  return psnrOfClipped(clipToRange(reference.data, range), clipToRange(test.data, range), range[1] - range[0], counted);
}

/** PSNR of images already clipped to a range of width `dataRange`; MSE over the `valid` pixels when given. */
export function psnrOfClipped(reference: ArrayLike<number>, test: ArrayLike<number>, dataRange: number, valid?: ValidMask): number {
  return 10 * Math.log10((dataRange * dataRange) / meanSquaredError(reference, test, valid));
}
