/**
 * What the network predicts, and how samplers turn it into the clean-image estimate x̂_0 and the
 * noise estimate ε̂ at a timestep with cumulative signal ᾱ (x_t = sqrt(ᾱ) x_0 + sqrt(1-ᾱ) ε):
 *
 * - `epsilon`: the noise ε.          x̂_0 = (x_t - sqrt(1-ᾱ) ε̂) / sqrt(ᾱ)
 * - `sample`:  the clean image x_0.  ε̂ = (x_t - sqrt(ᾱ) x̂_0) / sqrt(1-ᾱ)
 * - `v`:       v = sqrt(ᾱ) ε - sqrt(1-ᾱ) x_0 (Salimans & Ho 2022).
 *              x̂_0 = sqrt(ᾱ) x_t - sqrt(1-ᾱ) v,  ε̂ = sqrt(ᾱ) v + sqrt(1-ᾱ) x_t
 */
import { LowdoseError } from '../errors.js';

export const PREDICTION_TYPES = ['epsilon', 'sample', 'v'] as const;
export type PredictionType = (typeof PREDICTION_TYPES)[number];

/**
 * x̂_0 and ε̂ are linear in (x_t, model output) for every prediction type:
 * x̂_0 = x0[0]·x_t + x0[1]·out, ε̂ = eps[0]·x_t + eps[1]·out. Samplers fold these into their step
 * so that a step is one pass over the image.
 */
export interface PredictionCoefficients {
  readonly x0: readonly [number, number];
  readonly eps: readonly [number, number];
}

export function predictionCoefficients(prediction: PredictionType, alphaProd: number): PredictionCoefficients {
  const a = Math.sqrt(alphaProd);
  const s = Math.sqrt(1 - alphaProd);
  switch (prediction) {
    case 'epsilon':
      return { x0: [1 / a, -s / a], eps: [0, 1] };
    case 'sample':
      return { x0: [0, 1], eps: s > 0 ? [1 / s, -a / s] : [0, 0] };
    case 'v':
      return { x0: [a, -s], eps: [s, a] };
    default:
      throw new LowdoseError('E_MODEL', `unknown prediction type '${prediction as string}' (use epsilon, sample or v)`);
  }
}

/**
 * One pass of a linear step: x̂_0 = ax·x + ao·o into `x0`, and
 * prev = px·x + po·o (+ sigma·z) into `prev` (which may be `sample`).
 */
export function linearStep(
  sample: Float32Array,
  output: Float32Array,
  ax: number,
  ao: number,
  px: number,
  po: number,
  x0: Float32Array,
  prev: Float32Array,
  sigma = 0,
  z?: Float32Array,
): void {
  const n = sample.length;
  if (sigma > 0 && z) {
    for (let i = 0; i < n; i++) {
      const x = sample[i]!;
      const o = output[i]!;
      x0[i] = ax * x + ao * o;
      prev[i] = px * x + po * o + sigma * z[i]!;
    }
  } else {
    for (let i = 0; i < n; i++) {
      const x = sample[i]!;
      const o = output[i]!;
      x0[i] = ax * x + ao * o;
      prev[i] = px * x + po * o;
    }
  }
}

/** Optional clamp of x̂_0, like diffusers' `clip_sample` (then ε̂ is recomputed from the clamped x̂_0). */
export type ClipRange = readonly [number, number] | null;

/**
 * Writes x̂_0 into `x0` and ε̂ into `eps` (either may alias `modelOutput`, never `sample`).
 * Per element, so the two outputs may also be the same arrays across calls.
 */
export function splitPrediction(
  prediction: PredictionType,
  modelOutput: Float32Array,
  sample: Float32Array,
  alphaProd: number,
  x0: Float32Array,
  eps: Float32Array,
  clip: ClipRange = null,
): void {
  const a = Math.sqrt(alphaProd);
  const s = Math.sqrt(1 - alphaProd);
  const n = sample.length;
  if (modelOutput.length !== n || x0.length < n || eps.length < n) {
    throw new LowdoseError('E_INTERNAL', `model output has ${modelOutput.length} values for a sample of ${n}`);
  }
  switch (prediction) {
    case 'epsilon':
      for (let i = 0; i < n; i++) {
        const e = modelOutput[i]!;
        x0[i] = (sample[i]! - s * e) / a;
        eps[i] = e;
      }
      break;
    case 'sample':
      for (let i = 0; i < n; i++) {
        const p = modelOutput[i]!;
        x0[i] = p;
        eps[i] = s > 0 ? (sample[i]! - a * p) / s : 0;
      }
      break;
    case 'v':
      for (let i = 0; i < n; i++) {
        const v = modelOutput[i]!;
        const x = sample[i]!;
        x0[i] = a * x - s * v;
        eps[i] = a * v + s * x;
      }
      break;
    default:
      throw new LowdoseError('E_MODEL', `unknown prediction type '${prediction as string}' (use epsilon, sample or v)`);
  }
  if (clip) {
    const [lo, hi] = clip;
    for (let i = 0; i < n; i++) {
      const v = x0[i]!;
      if (v < lo || v > hi) {
        const c = v < lo ? lo : hi;
        x0[i] = c;
        eps[i] = s > 0 ? (sample[i]! - a * c) / s : 0;
      }
    }
  }
}
