/**
 * CT measurement noise in the projection domain.
 *
 * A detector channel behind line integral p, with I incident photons (I = dose x I0 x bowtie x the
 * view's tube-current factor), counts
 *   N = Poisson(I exp(-p)) + Normal(0, sigma_e^2)
 * (quantum noise plus the detector's electronic noise), clamped to a small positive count, and the
 * scanner's measurement is p^ = log(I / N). To first order p^ has variance
 *   var_d(p) = exp(p) / (d I0) + sigma_e^2 exp(2p) / (d I0)^2
 * which is what noise insertion needs (Yu et al. 2012, Med. Phys. 39:5, "Development and validation
 * of a practical lower-dose-simulation tool for optimizing CT scan protocols").
 *
 * The functions below work on any array of rays with each ray's full-dose incident photons beside
 * it: ct.ts draws the noise on the rebinned parallel rays that the reconstruction uses (./fbp.ts),
 * each from the incident photons and line integral of the fan ray it comes from. Drawing it on the
 * fan rays and then rebinning would average neighbouring rays' noise by an amount that changes
 * with the distance from the isocentre (two rays blended where neither falls on a channel), which
 * made a uniform sinogram noise 25 % quieter at 120 mm than at the centre.
 */
import type { Rng } from '../util/random.js';

export interface CtNoiseModel {
  /** Incident photons per detector channel per view on the central ray at full dose. */
  readonly i0: number;
  /** Standard deviation of the electronic noise, in detected photons per channel per view. */
  readonly electronicNoise: number;
  /** Counts are clamped to at least this before the log (photon starvation). */
  readonly minCounts: number;
  /** Bowtie transmission per channel (1 = none). */
  readonly bowtie: Float64Array;
  /** Tube-current factor per view, mean 1 (./tcm.ts); absent for a constant current. */
  readonly tubeCurrent?: Float64Array;
}

/** Full-dose incident photons of every fan ray (views x channels): i0 x bowtie(channel) x tube current(view). */
export function incidentPhotons(model: CtNoiseModel, views: number, channels: number): Float32Array {
  const { i0, bowtie, tubeCurrent } = model;
  const out = new Float32Array(views * channels);
  for (let v = 0; v < views; v++) {
    const viewI0 = i0 * (tubeCurrent ? tubeCurrent[v]! : 1);
    for (let c = 0; c < channels; c++) out[v * channels + c] = viewI0 * bowtie[c]!;
  }
  return out;
}

/** What the per-ray noise needs besides each ray's incident photons. */
export type DetectorModel = Pick<CtNoiseModel, 'electronicNoise' | 'minCounts'>;

/**
 * A pair of noisy measurements of every ray that share their photons: the low-dose scan detects a
 * fraction `dose` of the full-dose scan's photons (Poisson splitting: N_1 = N_d + N_rest with
 * independent Poisson parts), each with its own electronic noise. This is how a lower tube current
 * behaves, and it gives matched low / full pairs whose difference is the extra noise of lowering
 * the dose. `incident` is each ray's full-dose incident photons; a ray without any (outside the
 * detector) keeps its line integral. `full` is null when not asked for; at dose 1 the two are the
 * same array.
 */
export function noisyLineIntegrals(
  lineIntegrals: Float32Array,
  incident: Float32Array,
  dose: number,
  model: DetectorModel,
  rng: Rng,
  withFull: boolean,
): { low: Float32Array; full: Float32Array | null } {
  const { electronicNoise, minCounts } = model;
  const low = new Float32Array(lineIntegrals.length);
  const full = withFull && dose < 1 ? new Float32Array(lineIntegrals.length) : null;
  for (let k = 0; k < lineIntegrals.length; k++) {
    const i = incident[k]!;
    if (!(i > 0)) {
      low[k] = lineIntegrals[k]!;
      if (full) full[k] = lineIntegrals[k]!;
      continue;
    }
    const expected = i * Math.exp(-lineIntegrals[k]!);
    const photonsLow = rng.poisson(dose * expected);
    const countsLow = photonsLow + electronicNoise * rng.normal();
    low[k] = Math.log((dose * i) / (countsLow > minCounts ? countsLow : minCounts));
    if (full) {
      const photonsFull = photonsLow + rng.poisson((1 - dose) * expected);
      const countsFull = photonsFull + electronicNoise * rng.normal();
      full[k] = Math.log(i / (countsFull > minCounts ? countsFull : minCounts));
    }
  }
  return { low, full: withFull ? (full ?? low) : null };
}

/**
 * Variance of the measured line integral at dose d beyond that at dose 1:
 *   (1/d - 1) exp(p) / I + (1/d^2 - 1) sigma_e^2 exp(2p) / I^2, with I the ray's incident photons.
 */
export function extraLineIntegralVariance(p: number, incident: number, dose: number, electronicNoise: number): number {
  const e = Math.exp(p) / incident;
  return (1 / dose - 1) * e + (1 / (dose * dose) - 1) * electronicNoise * electronicNoise * e * e;
}

/**
 * Zero-mean Gaussian noise with the extra variance of going from dose 1 to `dose` for each ray.
 * The noisy measurement cannot exceed the largest line integral the detector can report at that
 * dose (log(d I / minCounts)), so the noise is limited there as the clamp in `noisyLineIntegrals`
 * limits it. Rays without incident photons get none.
 */
export function extraNoiseSinogram(
  lineIntegrals: Float32Array,
  incident: Float32Array,
  dose: number,
  model: DetectorModel,
  rng: Rng,
): Float32Array {
  const { electronicNoise, minCounts } = model;
  const noise = new Float32Array(lineIntegrals.length);
  if (dose >= 1) return noise;
  for (let k = 0; k < lineIntegrals.length; k++) {
    const i = incident[k]!;
    if (!(i > 0)) continue;
    const p = lineIntegrals[k]!;
    const delta = Math.sqrt(extraLineIntegralVariance(p, i, dose, electronicNoise)) * rng.normal();
    const ceiling = Math.log((dose * i) / minCounts);
    noise[k] = p + delta > ceiling ? Math.max(0, ceiling - p) : delta;
  }
  return noise;
}
