/**
 * DDIM (Song et al. 2021), the step rule of diffusers' DDIMScheduler: from t to the next visited t',
 *   σ = η · sqrt((1 - ᾱ_t') / (1 - ᾱ_t) · (1 - ᾱ_t / ᾱ_t'))
 *   x_t' = sqrt(ᾱ_t') x̂_0 + sqrt(1 - ᾱ_t' - σ²) ε̂ + σ z
 * η = 0 is deterministic (given the start noise); η = 1 matches DDPM's variance. After the last
 * timestep ᾱ_t' = 1 (diffusers' `set_alpha_to_one`), so the result is x̂_0.
 */
import { LowdoseError } from '../errors.js';
import { linearStep, predictionCoefficients, splitPrediction, type ClipRange, type PredictionType } from './prediction.js';
import {
  fillNoise,
  Scratch,
  stepOutputs,
  TimestepIndex,
  type LinearStep,
  type NoiseSource,
  type Sampler,
  type SamplerName,
  type StepBuffers,
  type StepOutput,
} from './sampler.js';
import { NoiseSchedule } from './schedules.js';
import { spacedTimesteps, type TimestepSpacing } from './timesteps.js';

export interface DdimOptions {
  prediction?: PredictionType;
  /** η in [0, 1] (default 0). */
  eta?: number;
  spacing?: TimestepSpacing;
  stepsOffset?: number;
  clipSample?: ClipRange;
}

export class DdimSampler implements Sampler {
  readonly name: SamplerName = 'ddim';
  readonly needsLowDose: boolean = false;
  readonly trainSteps: number;
  readonly prediction: PredictionType;
  readonly eta: number;
  readonly spacing: TimestepSpacing;
  timesteps: Int32Array = new Int32Array(0);
  protected index = new TimestepIndex(this.timesteps);
  private readonly eps = new Scratch();
  private readonly noise = new Scratch();

  constructor(
    readonly schedule: NoiseSchedule,
    readonly options: DdimOptions = {},
  ) {
    this.trainSteps = schedule.trainSteps;
    this.prediction = options.prediction ?? 'epsilon';
    this.eta = options.eta ?? 0;
    this.spacing = options.spacing ?? 'trailing';
    if (!(this.eta >= 0 && this.eta <= 1)) throw new LowdoseError('E_USAGE', `DDIM eta must be in [0, 1], got ${this.eta}`);
  }

  setTimesteps(steps: number): void {
    this.useTimesteps(spacedTimesteps(this.trainSteps, steps, this.spacing, this.options.stepsOffset ?? 0));
  }

  protected useTimesteps(timesteps: Int32Array): void {
    this.timesteps = timesteps;
    this.index = new TimestepIndex(timesteps);
  }

  initSample(noise: NoiseSource, out: Float32Array, _lowDose?: Float32Array): Float32Array {
    return fillNoise(noise, out);
  }

  step(modelOutput: Float32Array, t: number, sample: Float32Array, noise?: NoiseSource, out: StepBuffers = {}): StepOutput {
    const n = sample.length;
    const { prevSample, predOriginalSample: x0 } = stepOutputs(`${this.name} step`, sample, modelOutput, out);
    const { alphaProd, sigma, cX0, cEps } = this.coefficients(t);
    let z: Float32Array | undefined;
    if (sigma > 0) {
      if (!noise) throw new LowdoseError('E_INTERNAL', `${this.name} step with eta > 0 needs a noise source (an Rng)`);
      z = fillNoise(noise, this.noise.get(n));
    }
    const clip = this.options.clipSample ?? null;
    if (clip === null) {
      // x_prev = cX0 x̂_0 + cEps ε̂ with both linear in (x_t, output): one pass.
      const c = predictionCoefficients(this.prediction, alphaProd);
      const px = cX0 * c.x0[0] + cEps * c.eps[0];
      const po = cX0 * c.x0[1] + cEps * c.eps[1];
      linearStep(sample, modelOutput, c.x0[0], c.x0[1], px, po, x0, prevSample, sigma, z);
    } else {
      const eps = this.eps.get(n);
      splitPrediction(this.prediction, modelOutput, sample, alphaProd, x0, eps, clip);
      for (let i = 0; i < n; i++) prevSample[i] = cX0 * x0[i]! + cEps * eps[i]! + (z ? sigma * z[i]! : 0);
    }
    return { prevSample, predOriginalSample: x0 };
  }

  /**
   * The step from the last timestep, when it is px·x_t + po·output with nothing else (no noise, no
   * clip): the same px and po `step` uses, so px·x + po·o rounded to float32 is its prevSample bit for bit.
   */
  finalLinearStep(t: number): LinearStep | null {
    if (this.index.previous(t, this.name) !== -1 || (this.options.clipSample ?? null) !== null) return null;
    const { alphaProd, sigma, cX0, cEps } = this.coefficients(t);
    if (sigma > 0) return null;
    const c = predictionCoefficients(this.prediction, alphaProd);
    return { px: cX0 * c.x0[0] + cEps * c.eps[0], po: cX0 * c.x0[1] + cEps * c.eps[1] };
  }

  private coefficients(t: number): { alphaProd: number; sigma: number; cX0: number; cEps: number } {
    const prevT = this.index.previous(t, this.name);
    const alphaProd = this.schedule.alphaCumprod(t);
    const alphaProdPrev = this.schedule.alphaCumprod(prevT);
    const variance = ((1 - alphaProdPrev) / (1 - alphaProd)) * (1 - alphaProd / alphaProdPrev);
    const sigma = this.eta * Math.sqrt(Math.max(variance, 0));
    const cX0 = Math.sqrt(alphaProdPrev);
    const cEps = Math.sqrt(Math.max(1 - alphaProdPrev - sigma * sigma, 0));
    return { alphaProd, sigma, cX0, cEps };
  }

  /** sqrt(ᾱ_t'): x_t' = sqrt(ᾱ_t') x̂_0 + sqrt(1 - ᾱ_t' - σ²) ε̂ + σ z. */
  originalSampleWeight(t: number): number {
    return Math.sqrt(this.schedule.alphaCumprod(this.index.previous(t, this.name)));
  }
}
