/**
 * An attenuation map for PET when no CT is at hand: the body outline of the activity image filled
 * with water. The outline is where the lightly smoothed activity exceeds a small fraction of a high
 * percentile; enclosed holes (lungs, cold inserts, bowel gas) are filled, since they lie inside the
 * body. The same map is used to simulate and to reconstruct, so a wrong outline changes the noise
 * pattern a little but never biases activity.
 */
import { MU_WATER_PET_PER_MM } from './attenuation.js';
import { gaussianBlur } from './gaussian.js';
import { borderConnectedFill } from '../util/border-connected.js';
import { kthSmallest } from '../util/select.js';

export interface BodyOutlineOptions {
  /** Threshold as a fraction of the 99th percentile of positive activity (default 0.02). */
  readonly fraction?: number;
  /** Attenuation inside, per mm (default water at 511 keV, 0.0096). */
  readonly mu?: number;
}

/** Body mask of an activity image (1 inside, 0 outside), holes filled. */
export function bodyOutline(activity: Float32Array, rows: number, columns: number, fraction = 0.02): Uint8Array {
  const smooth = gaussianBlur(activity, rows, columns, 1, 1);
  const positive = smooth.filter((v) => v > 0);
  const mask = new Uint8Array(activity.length);
  if (positive.length === 0) return mask;
  const threshold = fraction * kthSmallest(positive, Math.min(positive.length - 1, Math.floor(0.99 * positive.length)));
  for (let i = 0; i < smooth.length; i++) mask[i] = smooth[i]! > threshold ? 1 : 0;
  return fillHoles(mask, rows, columns);
}

/** Everything not reachable from the border through background pixels is inside. */
function fillHoles(mask: Uint8Array, rows: number, columns: number): Uint8Array {
  const outside = borderConnectedFill(rows, columns, (i) => mask[i] === 0).mask;
  return Uint8Array.from(outside, (o) => (o ? 0 : 1));
}

/** Uniform water attenuation (per mm) inside the body outline of an activity image. */
export function bodyOutlineMuMap(activity: Float32Array, rows: number, columns: number, options: BodyOutlineOptions = {}): Float32Array {
  const mask = bodyOutline(activity, rows, columns, options.fraction);
  const mu = options.mu ?? MU_WATER_PET_PER_MM;
  const out = new Float32Array(mask.length);
  for (let i = 0; i < mask.length; i++) out[i] = mask[i]! * mu;
  return out;
}
