/**
 * Root-mean-square error in modality units. Unlike PSNR and SSIM it is not clipped to the metric
 * range (CONTRACT: "RMSE is in modality units"), so it also counts errors in bone and air.
 */
import { checkSameSize, type Pixels } from './pixels.js';

export function meanSquaredError(reference: ArrayLike<number>, test: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < reference.length; i++) {
    const d = reference[i]! - test[i]!;
    sum += d * d;
  }
  return sum / reference.length;
}

export function rmse(reference: Pixels, test: Pixels): number {
  checkSameSize(reference, test);
  return Math.sqrt(meanSquaredError(reference.data, test.data));
}
