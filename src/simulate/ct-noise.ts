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

/**
 * The expected measurement of every ray at this dose, E[log(d I / max(N, m))] with
 * N = Poisson(d I exp(-p)) + sigma_e Z as `noisyLineIntegrals` draws it (d = 1: the full-dose
 * scan's), without drawing. The log of noisy counts overestimates p by
 * beta(lambda) = log(lambda) - E[log max(N, m)] ~ (lambda + sigma_e^2) / (2 lambda^2) for lambda
 * = d I exp(-p) expected counts: the low-count bias that grows behind dense paths and at low dose.
 * FBP is linear, so reconstructing these gives the simulator's expected image, which is how its
 * dose dependence in expectation is measured without Monte Carlo noise (docs/simulation.md,
 * "Contrast in expectation"). Rays without incident photons keep their line integral.
 */
export function expectedLineIntegrals(lineIntegrals: Float32Array, incident: Float32Array, dose: number, model: DetectorModel): Float32Array {
  const bias = logCountBias(model);
  const out = new Float32Array(lineIntegrals.length);
  for (let k = 0; k < lineIntegrals.length; k++) {
    const i = incident[k]!;
    const p = lineIntegrals[k]!;
    out[k] = i > 0 ? p + bias(dose * i * Math.exp(-p)) : p;
  }
  return out;
}

/** Below this many expected counts beta is summed over the Poisson law; above it a moment series is exact to ~1e-9. */
const EXACT_BELOW_COUNTS = 1000;
/** Tabulated from this many expected counts (fewer: the clamp alone, beta = log(lambda) - E[log max(sigma_e Z, m)]). */
const TABLE_FROM_COUNTS = 1e-4;
const TABLE_STEPS_PER_DECADE = 64;

/**
 * beta(lambda) = log(lambda) - E[log max(Poisson(lambda) + sigma_e Z, m)] for this detector.
 * Large lambda: the moment series log(lambda) - E[log X] = mu2 / (2 lambda^2) - mu3 / (3 lambda^3) +
 * mu4 / (4 lambda^4) with the central moments of X = Poisson + Normal (mu2 = lambda + sigma_e^2,
 * mu3 = lambda, mu4 = lambda + 3 mu2^2). Small lambda: the Poisson sum of g(k) = E_Z[log max(k +
 * sigma_e Z, m)], tabulated on a log grid of lambda and interpolated (64 steps per decade: an
 * interpolation error well under 1e-5 of beta).
 */
function logCountBias(model: DetectorModel): (lambda: number) => number {
  const { electronicNoise: sigma, minCounts: m } = model;
  const kMax = Math.ceil(EXACT_BELOW_COUNTS + 12 * Math.sqrt(EXACT_BELOW_COUNTS) + 20);
  const g = new Float64Array(kMax + 1);
  for (let k = 0; k <= kMax; k++) g[k] = expectedLogClamped(k, sigma, m);
  const logFactorial = new Float64Array(kMax + 2);
  for (let k = 1; k <= kMax + 1; k++) logFactorial[k] = logFactorial[k - 1]! + Math.log(k);
  const exact = (lambda: number): number => {
    const spread = 12 * Math.sqrt(lambda) + 20;
    const k0 = Math.max(0, Math.floor(lambda - spread));
    const k1 = Math.min(kMax, Math.ceil(lambda + spread));
    const logLambda = Math.log(lambda);
    let sum = 0;
    for (let k = k0; k <= k1; k++) sum += Math.exp(k * logLambda - lambda - logFactorial[k]!) * g[k]!;
    return logLambda - sum;
  };
  const lnStep = Math.LN10 / TABLE_STEPS_PER_DECADE;
  const lnFrom = Math.log(TABLE_FROM_COUNTS);
  const size = Math.ceil((Math.log(EXACT_BELOW_COUNTS) - lnFrom) / lnStep) + 2;
  const table = new Float64Array(size);
  for (let j = 0; j < size; j++) table[j] = exact(Math.exp(lnFrom + j * lnStep));
  const starved = g[0]!;
  return (lambda) => {
    if (lambda >= EXACT_BELOW_COUNTS) {
      const mu2 = lambda + sigma * sigma;
      return mu2 / (2 * lambda * lambda) - 1 / (3 * lambda * lambda) + (lambda + 3 * mu2 * mu2) / (4 * lambda ** 4);
    }
    if (lambda < TABLE_FROM_COUNTS) return Math.log(lambda) - starved;
    const x = (Math.log(lambda) - lnFrom) / lnStep;
    const j = Math.min(Math.floor(x), size - 2);
    return table[j]! + (x - j) * (table[j + 1]! - table[j]!);
  };
}

/**
 * E_Z[log max(k + sigma Z, m)], Z standard normal. Far above the clamp, the even-moment series of
 * log(k + sigma Z); near it, Simpson's rule over z in [-8, 8] (the kink at k + sigma z = m costs
 * under 1e-6 with 1601 points).
 */
function expectedLogClamped(k: number, sigma: number, m: number): number {
  if (sigma === 0) return Math.log(Math.max(k, m));
  if (k > m + 10 * sigma) {
    const r = (sigma * sigma) / (k * k);
    return Math.log(k) - r / 2 - (3 * r * r) / 4 - (5 * r * r * r) / 2;
  }
  const n = 1600;
  const h = 16 / n;
  let sum = 0;
  for (let j = 0; j <= n; j++) {
    const z = -8 + j * h;
    const w = j === 0 || j === n ? 1 : j % 2 === 1 ? 4 : 2;
    sum += w * Math.exp(-0.5 * z * z) * Math.log(Math.max(k + sigma * z, m));
  }
  return (sum * h) / 3 / Math.sqrt(2 * Math.PI);
}
