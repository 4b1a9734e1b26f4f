/**
 * Peak signal-to-noise ratio as scikit-image's `peak_signal_noise_ratio(ref, test, data_range=R)`
 * after clipping both images to the metric range: 10 log10(R^2 / MSE), R = hi - lo.
 * Identical images (MSE 0) give +Infinity, as in scikit-image.
 */
import { checkSameSize, type Pixels } from './pixels.js';
import { checkRange, clipToRange, type IntensityRange } from './range.js';
import { meanSquaredError } from './rmse.js';

export function psnr(reference: Pixels, test: Pixels, range: IntensityRange): number {
  checkSameSize(reference, test);
  checkRange(range);
  return psnrOfClipped(clipToRange(reference.data, range), clipToRange(test.data, range), range[1] - range[0]);
}

/** PSNR of images already clipped to a range of width `dataRange`. */
export function psnrOfClipped(reference: ArrayLike<number>, test: ArrayLike<number>, dataRange: number): number {
  return 10 * Math.log10((dataRange * dataRange) / meanSquaredError(reference, test));
}
