/**
 * CT measurement noise in the projection domain.
 *
 * A detector channel behind line integral p, with I incident photons (I = dose x I0 x bowtie), counts
 *   N = Poisson(I exp(-p)) + Normal(0, sigma_e^2)
 * (quantum noise plus the detector's electronic noise), clamped to a small positive count, and the
 * scanner's measurement is p^ = log(I / N). To first order p^ has variance
 *   var_d(p) = exp(p) / (d I0) + sigma_e^2 exp(2p) / (d I0)^2
 * which is what noise insertion needs (Yu et al. 2012, Med. Phys. 39:5, "Development and validation
 * of a practical lower-dose-simulation tool for optimizing CT scan protocols").
 */
import { Rng } from '../util/random.js';

export interface CtNoiseModel {
  /** Incident photons per detector channel per view on the central ray at full dose. */
  readonly i0: number;
  /** Standard deviation of the electronic noise, in detected photons per channel per view. */
  readonly electronicNoise: number;
  /** Counts are clamped to at least this before the log (photon starvation). */
  readonly minCounts: number;
  /** Bowtie transmission per channel (1 = none). */
  readonly bowtie: Float64Array;
}

/**
 * A pair of noisy sinograms that share their photons: the low-dose scan detects a fraction `dose`
 * of the full-dose scan's photons (Poisson splitting: N_1 = N_d + N_rest with independent Poisson
 * parts), each with its own electronic noise. This is how a lower tube current behaves, and it
 * gives matched low / full pairs whose difference is the extra noise of lowering the dose.
 * `full` is null when not asked for; at dose 1 the two are the same array.
 */
export function noisyLineIntegrals(
  lineIntegrals: Float32Array,
  channels: number,
  dose: number,
  model: CtNoiseModel,
  rng: Rng,
  withFull: boolean,
): { low: Float32Array; full: Float32Array | null } {
  const { i0, electronicNoise, minCounts, bowtie } = model;
  const low = new Float32Array(lineIntegrals.length);
  const full = withFull && dose < 1 ? new Float32Array(lineIntegrals.length) : null;
  for (let r = 0; r < lineIntegrals.length; r += channels) {
    for (let c = 0; c < channels; c++) {
      const incident = i0 * bowtie[c]!;
      const expected = incident * Math.exp(-lineIntegrals[r + c]!);
      const photonsLow = rng.poisson(dose * expected);
      const countsLow = photonsLow + electronicNoise * rng.normal();
      low[r + c] = Math.log((dose * incident) / (countsLow > minCounts ? countsLow : minCounts));
      if (full) {
        const photonsFull = photonsLow + rng.poisson((1 - dose) * expected);
        const countsFull = photonsFull + electronicNoise * rng.normal();
        full[r + c] = Math.log(incident / (countsFull > minCounts ? countsFull : minCounts));
      }
    }
  }
  return { low, full: withFull ? (full ?? low) : null };
}

/**
 * Variance of the measured line integral at dose d beyond that at dose 1:
 *   (1/d - 1) exp(p) / I + (1/d^2 - 1) sigma_e^2 exp(2p) / I^2, with I = I0 x bowtie.
 */
export function extraLineIntegralVariance(p: number, incident: number, dose: number, electronicNoise: number): number {
  const e = Math.exp(p) / incident;
  return (1 / dose - 1) * e + (1 / (dose * dose) - 1) * electronicNoise * electronicNoise * e * e;
}

/**
 * Zero-mean Gaussian noise with the extra variance of going from dose 1 to `dose` for each ray.
 * The noisy measurement cannot exceed the largest line integral the detector can report at that
 * dose (log(d I / minCounts)), so the noise is limited there as the clamp in `noisyLineIntegrals`
 * limits it.
 */
export function extraNoiseSinogram(
  lineIntegrals: Float32Array,
  channels: number,
  dose: number,
  model: CtNoiseModel,
  rng: Rng,
): Float32Array {
  const { i0, electronicNoise, minCounts, bowtie } = model;
  const noise = new Float32Array(lineIntegrals.length);
  if (dose >= 1) return noise;
  for (let r = 0; r < lineIntegrals.length; r += channels) {
    for (let c = 0; c < channels; c++) {
      const incident = i0 * bowtie[c]!;
      const p = lineIntegrals[r + c]!;
      const delta = Math.sqrt(extraLineIntegralVariance(p, incident, dose, electronicNoise)) * rng.normal();
      const ceiling = Math.log((dose * incident) / minCounts);
      noise[r + c] = p + delta > ceiling ? Math.max(0, ceiling - p) : delta;
    }
  }
  return noise;
}
