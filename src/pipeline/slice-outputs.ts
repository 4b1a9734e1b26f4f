/**
 * What `lowdose denoise` writes for one slice from what the model gave: the output with the input's
 * padding back, and the uncertainty map (the calibrated sigma or the raw ensemble spread).
 *
 * Order matters. The calibration (scripts/uncertainty/calibrate.ts) saw the model's own output and
 * the padding-filled input it denoised, so sigma is worked out from those before the padding goes
 * back into the output (restorePadding writes in place): after it, input − output along the
 * field-of-view edge would be fill value against padding value and blow up the removed-noise term.
 */
import type { Image2D } from '../image.js';
import { calibratedSigma, removedNoiseVariance, windowRadius } from '../metrics/uncertainty.js';
import { restorePadding } from '../padding.js';
import type { ResolvedUncertainty } from './slice-denoiser.js';

export interface SliceOutputs {
  /** The denoised slice with the input's values in its padding (the model's output array, reused). */
  readonly output: Float32Array;
  /** The calibrated sigma (no padding written into it: the summaries leave padding out), or null. */
  readonly sigma: Float32Array | null;
  /** The uncertainty series' values (sigma when calibrated, else the spread), padding restored; null without an ensemble. */
  readonly map: Float32Array | null;
}

/**
 * `raw`: the model's output for the padding-filled input `filled`; `spread`: the ensemble's
 * per-pixel SD (null for one sample); `uncertainty`: the card's calibration when `--uncertainty`
 * or `--hallucination` asked for it; `calibrated`: the map written is sigma (else the spread).
 */
export function sliceOutputs(
  raw: Float32Array,
  spread: Float32Array | null | undefined,
  input: Image2D,
  filled: Float32Array,
  uncertainty: ResolvedUncertainty | null,
  calibrated: boolean,
  inputNoise: number | null,
): SliceOutputs {
  const sigma = spread && uncertainty ? calibratedSigmaOf(uncertainty, spread, { ...input, data: filled }, raw, inputNoise) : null;
  const output = restorePadding(raw, input.data, input.padding);
  const values = calibrated ? sigma : (spread ?? null);
  // A copy for the series when it is sigma, which the summaries and the sigma gate still read.
  const map = values ? restorePadding(values === sigma ? Float32Array.from(values) : values, input.data, input.padding) : null;
  return { output, sigma, map };
}

/** The calibrated sigma map of one slice (src/metrics/uncertainty.ts). */
export function calibratedSigmaOf(u: ResolvedUncertainty, std: Float32Array, input: Image2D, output: Float32Array, inputNoise: number | null): Float32Array {
  const noise = removedNoiseVariance(input.data, output, input.rows, input.columns, windowRadius(u.noiseWindowMm, input.pixelSpacing));
  return calibratedSigma(std, noise, u, inputNoise ?? 0);
}
