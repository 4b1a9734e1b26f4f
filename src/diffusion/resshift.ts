/**
 * Residual shifting (ResShift, Yue et al. 2023): a Markov chain between the clean image x_0 and the
 * degraded image y that shifts the residual e_0 = y - x_0 instead of destroying the image:
 *   q(x_t | x_0, y) = N(x_0 + η_t e_0, κ² η_t I),  0 < η_0 < … < η_{T-1} ≈ 1,
 * so x_{T-1} ≈ y + κ sqrt(η_{T-1}) z and a handful of steps (T = 4..15) suffice. The network
 * predicts x_0 (card `prediction: "sample"`); any input scaling ResShift applies to x_t belongs
 * inside the ONNX graph. The schedule is ResShift's exponential one:
 *   sqrt(η_t) = sqrt(η_0) · b^(((t/(T-1))^p)(T-1)),  b = (sqrt(η_{T-1}) / sqrt(η_0))^(1/(T-1)),
 *   sqrt(η_0) = min(minNoiseLevel / κ, minNoiseLevel),  sqrt(η_{T-1}) = etasEnd.
 * From visited t to the next visited s (s = -1 with η = 0 after the last step) the posterior is
 *   x_s = (η_s/η_t) x_t + (1 - η_s/η_t) x̂_0 + κ sqrt(η_s (η_t - η_s) / η_t) z.
 */
import { LowdoseError } from '../errors.js';
import type { PredictionType } from './prediction.js';
import {
  checkSameLength,
  fillNoise,
  fillNoiseAffine,
  Scratch,
  stepOutputs,
  TimestepIndex,
  type NoiseSource,
  type Sampler,
  type StepBuffers,
  type StepOutput,
} from './sampler.js';
import type { ResShiftScheduleConfig } from './schedules.js';
import { spacedTimesteps } from './timesteps.js';

export const RESSHIFT_DEFAULTS = { kappa: 2, power: 0.3, minNoiseLevel: 0.04, etasEnd: 0.99 } as const;

/** η_0..η_{T-1} of ResShift's exponential schedule. */
export function resShiftEtas(config: ResShiftScheduleConfig): Float64Array {
  const T = config.trainSteps;
  if (!Number.isInteger(T) || T < 2) throw new LowdoseError('E_USAGE', `resshift trainSteps must be an integer >= 2, got ${T}`);
  const kappa = config.kappa ?? RESSHIFT_DEFAULTS.kappa;
  const power = config.power ?? RESSHIFT_DEFAULTS.power;
  const minNoise = config.minNoiseLevel ?? RESSHIFT_DEFAULTS.minNoiseLevel;
  const end = config.etasEnd ?? RESSHIFT_DEFAULTS.etasEnd;
  const start = Math.min(minNoise / kappa, minNoise);
  if (!(kappa > 0) || !(start > 0) || !(end > start) || !(end < 1)) {
    throw new LowdoseError('E_USAGE', `resshift schedule needs kappa > 0 and 0 < sqrt(eta_0) = ${start} < etasEnd = ${end} < 1`);
  }
  const increaser = Math.exp(Math.log(end / start) / (T - 1));
  const etas = new Float64Array(T);
  for (let t = 0; t < T; t++) {
    const exponent = (t / (T - 1)) ** power * (T - 1);
    const sqrtEta = increaser ** exponent * start;
    etas[t] = sqrtEta * sqrtEta;
  }
  return etas;
}

export interface ResShiftOptions {
  prediction?: PredictionType;
}

export class ResShiftSampler implements Sampler {
  readonly name = 'resshift' as const;
  readonly needsLowDose = true;
  readonly trainSteps: number;
  readonly kappa: number;
  readonly etas: Float64Array;
  timesteps: Int32Array = new Int32Array(0);
  private index = new TimestepIndex(this.timesteps);
  private readonly noise = new Scratch();

  constructor(
    readonly config: ResShiftScheduleConfig,
    options: ResShiftOptions = {},
  ) {
    if ((options.prediction ?? 'sample') !== 'sample') {
      throw new LowdoseError('E_MODEL', `the resshift sampler needs a model that predicts the clean image (prediction "sample"), not "${options.prediction}"`);
    }
    this.trainSteps = config.trainSteps;
    this.kappa = config.kappa ?? RESSHIFT_DEFAULTS.kappa;
    this.etas = resShiftEtas(config);
  }

  setTimesteps(steps: number): void {
    this.timesteps = spacedTimesteps(this.trainSteps, steps, 'trailing');
    this.index = new TimestepIndex(this.timesteps);
  }

  /** The forward process q(x_t | x_0, y) = x_0 + η_t (y - x_0) + κ sqrt(η_t) z, for `trace` and tests. */
  addNoise(x0: Float32Array, y: Float32Array, noise: Float32Array, t: number, out = new Float32Array(x0.length)): Float32Array {
    checkSameLength('resshift addNoise', x0.length, y, noise, out);
    const eta = this.eta(t);
    const s = this.kappa * Math.sqrt(eta);
    for (let i = 0; i < x0.length; i++) out[i] = x0[i]! + eta * (y[i]! - x0[i]!) + s * noise[i]!;
    return out;
  }

  initSample(noise: NoiseSource, out: Float32Array, lowDose?: Float32Array): Float32Array {
    if (!lowDose) throw new LowdoseError('E_INTERNAL', 'resshift needs the low-dose image to start from');
    checkSameLength('resshift initSample', out.length, lowDose);
    const t0 = this.timesteps.length > 0 ? this.timesteps[0]! : this.trainSteps - 1;
    const s = this.kappa * Math.sqrt(this.eta(t0));
    // x_T = y + κ sqrt(η_T) z, in one pass (1·y is y exactly, so this is the two-pass result bit for bit).
    return fillNoiseAffine(noise, lowDose, 1, s, out);
  }

  step(modelOutput: Float32Array, t: number, sample: Float32Array, noise?: NoiseSource, out: StepBuffers = {}): StepOutput {
    const n = sample.length;
    const { prevSample, predOriginalSample: x0 } = stepOutputs('resshift step', sample, modelOutput, out);
    const prevT = this.index.previous(t, 'resshift');
    const etaT = this.eta(t);
    const etaS = prevT < 0 ? 0 : this.eta(prevT);
    const cXt = etaS / etaT;
    const cX0 = 1 - cXt;
    const sigma = this.kappa * Math.sqrt((etaS * (etaT - etaS)) / etaT);
    if (x0 !== modelOutput) x0.set(modelOutput);
    if (sigma > 0) {
      if (!noise) throw new LowdoseError('E_INTERNAL', 'resshift step needs a noise source (an Rng) before the last step');
      const z = fillNoise(noise, this.noise.get(n));
      for (let i = 0; i < n; i++) prevSample[i] = cXt * sample[i]! + cX0 * x0[i]! + sigma * z[i]!;
    } else {
      for (let i = 0; i < n; i++) prevSample[i] = cXt * sample[i]! + cX0 * x0[i]!;
    }
    return { prevSample, predOriginalSample: x0 };
  }

  /** 1 - η_s / η_t. */
  originalSampleWeight(t: number): number {
    const prevT = this.index.previous(t, 'resshift');
    return 1 - (prevT < 0 ? 0 : this.eta(prevT)) / this.eta(t);
  }

  private eta(t: number): number {
    if (!Number.isInteger(t) || t < 0 || t >= this.trainSteps) {
      throw new LowdoseError('E_USAGE', `timestep ${t} is outside 0..${this.trainSteps - 1}`);
    }
    return this.etas[t]!;
  }
}
