/**
 * Noise schedules of the forward process q(x_t | x_0) = N(sqrt(ᾱ_t) x_0, (1 - ᾱ_t) I), with the
 * names of the DDPM paper: β_t (`betas`), α_t = 1 - β_t (`alphas`), ᾱ_t = ∏ α_s (`alphasCumprod`).
 * Timesteps are indices 0..T-1 (T = `trainSteps`), as in diffusers.
 *
 * `resshift` is not a β schedule: it is the residual-shift schedule η_t of ResShift (Yue et al.
 * 2023), see ./resshift.ts.
 */
import { LowdoseError } from '../errors.js';

export const BETA_SCHEDULE_KINDS = ['linear', 'cosine', 'aggressive'] as const;
export type BetaScheduleKind = (typeof BETA_SCHEDULE_KINDS)[number];

export interface BetaScheduleConfig {
  readonly kind: BetaScheduleKind;
  /** T, the number of training timesteps. */
  readonly trainSteps: number;
  /** linear: β_0 (default 1e-4). */
  readonly betaStart?: number;
  /** linear: β_{T-1} (default 0.02). */
  readonly betaEnd?: number;
  /** cosine: offset s of Nichol & Dhariwal 2021 (default 0.008). */
  readonly s?: number;
  /** aggressive: fraction of T at which ᾱ has fallen to about one half (default 0.2). */
  readonly midpoint?: number;
  /** aggressive: steepness k of the sigmoid (default 12). */
  readonly steepness?: number;
}

export interface ResShiftScheduleConfig {
  readonly kind: 'resshift';
  /** T, the number of training timesteps (ResShift uses 4..15). */
  readonly trainSteps: number;
  /** κ, the noise scale (default 2). */
  readonly kappa?: number;
  /** p, the power that shapes the η schedule (default 0.3). */
  readonly power?: number;
  /** sqrt(η_0) = min(minNoiseLevel / κ, minNoiseLevel) (default 0.04). */
  readonly minNoiseLevel?: number;
  /** sqrt(η_{T-1}) (default 0.99). */
  readonly etasEnd?: number;
}

export type ScheduleConfig = BetaScheduleConfig | ResShiftScheduleConfig;

/** Upper bound on β for schedules defined through ᾱ(u), as in diffusers' `betas_for_alpha_bar`. */
export const MAX_BETA = 0.999;

export const SCHEDULE_DEFAULTS = {
  betaStart: 1e-4,
  betaEnd: 0.02,
  s: 0.008,
  midpoint: 0.2,
  steepness: 12,
} as const;

/** β_i = min(1 - ᾱ((i+1)/T) / ᾱ(i/T), MAX_BETA) for a continuous ᾱ(u), u in [0, 1]. */
export function betasFromAlphaBar(alphaBar: (u: number) => number, steps: number): Float64Array {
  const betas = new Float64Array(steps);
  for (let i = 0; i < steps; i++) {
    betas[i] = Math.min(1 - alphaBar((i + 1) / steps) / alphaBar(i / steps), MAX_BETA);
  }
  return betas;
}

/** ᾱ(u) of the cosine schedule: cos²(π/2 · (u + s)/(1 + s)), Nichol & Dhariwal 2021 eq. 17. */
export function cosineAlphaBar(s: number = SCHEDULE_DEFAULTS.s): (u: number) => number {
  return (u) => Math.cos((((u + s) / (1 + s)) * Math.PI) / 2) ** 2;
}

/**
 * ᾱ(u) of the "aggressive" schedule: a falling sigmoid centred early, rescaled so that ᾱ(0) = 1 and
 * ᾱ(1) = 0: ᾱ(u) = (σ(k(1 - m)) - σ(k(u - m))) / (σ(k(1 - m)) - σ(-k m)). With m = 0.2 the signal is
 * half gone at 20 % of T and under 1 % by about 55 %, where the linear schedule still keeps most
 * structure: the model learns to rebuild images from heavily destroyed ones.
 */
export function aggressiveAlphaBar(
  midpoint: number = SCHEDULE_DEFAULTS.midpoint,
  steepness: number = SCHEDULE_DEFAULTS.steepness,
): (u: number) => number {
  const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
  const hi = sigmoid(steepness * (1 - midpoint));
  const lo = sigmoid(-steepness * midpoint);
  return (u) => (hi - sigmoid(steepness * (u - midpoint))) / (hi - lo);
}

/** β_0..β_{T-1} of a β schedule. */
export function makeBetas(config: BetaScheduleConfig): Float64Array {
  const T = config.trainSteps;
  if (!Number.isInteger(T) || T < 2) {
    throw new LowdoseError('E_USAGE', `schedule trainSteps must be an integer >= 2, got ${T}`);
  }
  switch (config.kind) {
    case 'linear': {
      // numpy.linspace(betaStart, betaEnd, T): start + i * step, last value exactly betaEnd.
      const start = config.betaStart ?? SCHEDULE_DEFAULTS.betaStart;
      const end = config.betaEnd ?? SCHEDULE_DEFAULTS.betaEnd;
      const step = (end - start) / (T - 1);
      const betas = new Float64Array(T);
      for (let i = 0; i < T; i++) betas[i] = start + i * step;
      betas[T - 1] = end;
      return betas;
    }
    case 'cosine':
      return betasFromAlphaBar(cosineAlphaBar(config.s), T);
    case 'aggressive':
      return betasFromAlphaBar(aggressiveAlphaBar(config.midpoint, config.steepness), T);
    default:
      throw new LowdoseError('E_USAGE', `unknown schedule kind '${(config as { kind: string }).kind}'`);
  }
}

/** A β schedule with its derived sequences, computed once. */
export class NoiseSchedule {
  readonly config: BetaScheduleConfig;
  readonly trainSteps: number;
  readonly betas: Float64Array;
  readonly alphas: Float64Array;
  readonly alphasCumprod: Float64Array;

  constructor(config: BetaScheduleConfig) {
    this.config = config;
    this.trainSteps = config.trainSteps;
    this.betas = makeBetas(config);
    this.alphas = new Float64Array(this.trainSteps);
    this.alphasCumprod = new Float64Array(this.trainSteps);
    let product = 1;
    for (let i = 0; i < this.trainSteps; i++) {
      const beta = this.betas[i]!;
      if (!(beta > 0 && beta < 1)) {
        throw new LowdoseError('E_USAGE', `schedule ${config.kind}: beta_${i} = ${beta} is outside (0, 1)`);
      }
      this.alphas[i] = 1 - beta;
      product *= 1 - beta;
      this.alphasCumprod[i] = product;
    }
  }

  /** ᾱ_t, with ᾱ_{-1} = 1 (the clean image) so that samplers can step past t = 0. */
  alphaCumprod(t: number): number {
    if (t < 0) return 1;
    this.checkTimestep(t);
    return this.alphasCumprod[t]!;
  }

  /**
   * The forward process: x_t = sqrt(ᾱ_t) x_0 + sqrt(1 - ᾱ_t) ε, for one timestep (all of x0) or one
   * timestep per image (x0 holds timesteps.length equal-sized images). Writes into `out` if given.
   */
  addNoise(
    x0: Float32Array,
    noise: Float32Array,
    timesteps: number | readonly number[],
    out: Float32Array = new Float32Array(x0.length),
  ): Float32Array {
    if (noise.length !== x0.length || out.length !== x0.length) {
      throw new LowdoseError('E_USAGE', `addNoise: x0, noise and out lengths differ (${x0.length}, ${noise.length}, ${out.length})`);
    }
    const ts = typeof timesteps === 'number' ? [timesteps] : timesteps;
    if (ts.length === 0 || x0.length % ts.length !== 0) {
      throw new LowdoseError('E_USAGE', `addNoise: ${x0.length} values do not split into ${ts.length} images`);
    }
    const size = x0.length / ts.length;
    for (let b = 0; b < ts.length; b++) {
      const t = ts[b]!;
      this.checkTimestep(t);
      const a = Math.sqrt(this.alphasCumprod[t]!);
      const s = Math.sqrt(1 - this.alphasCumprod[t]!);
      for (let i = b * size, end = i + size; i < end; i++) out[i] = a * x0[i]! + s * noise[i]!;
    }
    return out;
  }

  /** Signal-to-noise ratio ᾱ_t / (1 - ᾱ_t). */
  snr(t: number): number {
    const ab = this.alphaCumprod(t);
    return ab / (1 - ab);
  }

  private checkTimestep(t: number): void {
    if (!Number.isInteger(t) || t < 0 || t >= this.trainSteps) {
      throw new LowdoseError('E_USAGE', `timestep ${t} is outside 0..${this.trainSteps - 1}`);
    }
  }
}

export function isResShiftSchedule(config: ScheduleConfig): config is ResShiftScheduleConfig {
  return config.kind === 'resshift';
}
