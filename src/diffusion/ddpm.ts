/**
 * DDPM ancestral sampling (Ho et al. 2020), with the step rule of diffusers' DDPMScheduler so that
 * fewer steps than T also work: between visited timesteps t and t' < t,
 *   α_t' = ᾱ_t / ᾱ_t',  β_t' = 1 - α_t'
 *   μ = sqrt(ᾱ_t') β_t' / (1 - ᾱ_t) · x̂_0 + sqrt(α_t') (1 - ᾱ_t') / (1 - ᾱ_t) · x_t
 *   x_t' = μ + σ z,  σ² = (1 - ᾱ_t') / (1 - ᾱ_t) · β_t'   (the posterior variance, "fixed_small")
 * and no noise on the last step.
 */
import { LowdoseError } from '../errors.js';
import { linearStep, predictionCoefficients, splitPrediction, type ClipRange, type PredictionType } from './prediction.js';
import {
  fillNoise,
  Scratch,
  stepOutputs,
  TimestepIndex,
  type NoiseSource,
  type Sampler,
  type StepBuffers,
  type StepOutput,
} from './sampler.js';
import { NoiseSchedule } from './schedules.js';
import { spacedTimesteps, type TimestepSpacing } from './timesteps.js';

export interface DdpmOptions {
  prediction?: PredictionType;
  spacing?: TimestepSpacing;
  /** Added to leading-spaced timesteps (diffusers' `steps_offset`). */
  stepsOffset?: number;
  /** `fixed_small` = posterior variance (default), `fixed_large` = β_t'. */
  varianceType?: 'fixed_small' | 'fixed_large';
  clipSample?: ClipRange;
}

export class DdpmSampler implements Sampler {
  readonly name = 'ddpm' as const;
  readonly needsLowDose = false;
  readonly trainSteps: number;
  readonly prediction: PredictionType;
  readonly spacing: TimestepSpacing;
  timesteps: Int32Array = new Int32Array(0);
  private index = new TimestepIndex(this.timesteps);
  private readonly eps = new Scratch();
  private readonly noise = new Scratch();

  constructor(
    readonly schedule: NoiseSchedule,
    readonly options: DdpmOptions = {},
  ) {
    this.trainSteps = schedule.trainSteps;
    this.prediction = options.prediction ?? 'epsilon';
    this.spacing = options.spacing ?? 'trailing';
  }

  setTimesteps(steps: number): void {
    this.timesteps = spacedTimesteps(this.trainSteps, steps, this.spacing, this.options.stepsOffset ?? 0);
    this.index = new TimestepIndex(this.timesteps);
  }

  initSample(noise: NoiseSource, out: Float32Array): Float32Array {
    return fillNoise(noise, out);
  }

  step(modelOutput: Float32Array, t: number, sample: Float32Array, noise?: NoiseSource, out: StepBuffers = {}): StepOutput {
    const n = sample.length;
    const { prevSample, predOriginalSample: x0 } = stepOutputs('ddpm step', sample, modelOutput, out);
    const prevT = this.index.previous(t, 'ddpm');
    const alphaProd = this.schedule.alphaCumprod(t);
    const alphaProdPrev = this.schedule.alphaCumprod(prevT);
    const betaProd = 1 - alphaProd;
    const betaProdPrev = 1 - alphaProdPrev;
    const currentAlpha = alphaProd / alphaProdPrev;
    const currentBeta = 1 - currentAlpha;

    const cX0 = (Math.sqrt(alphaProdPrev) * currentBeta) / betaProd;
    const cXt = (Math.sqrt(currentAlpha) * betaProdPrev) / betaProd;
    let sigma = 0;
    if (prevT >= 0) {
      const variance = this.options.varianceType === 'fixed_large' ? currentBeta : Math.max((betaProdPrev / betaProd) * currentBeta, 1e-20);
      sigma = Math.sqrt(variance);
    }
    let z: Float32Array | undefined;
    if (sigma > 0) {
      if (!noise) throw new LowdoseError('E_INTERNAL', 'ddpm step needs a noise source (an Rng) before the last step');
      z = fillNoise(noise, this.noise.get(n));
    }
    const clip = this.options.clipSample ?? null;
    if (clip === null) {
      // μ = cX0 x̂_0 + cXt x_t with x̂_0 linear in (x_t, output): one pass.
      const c = predictionCoefficients(this.prediction, alphaProd);
      linearStep(sample, modelOutput, c.x0[0], c.x0[1], cX0 * c.x0[0] + cXt, cX0 * c.x0[1], x0, prevSample, sigma, z);
    } else {
      splitPrediction(this.prediction, modelOutput, sample, alphaProd, x0, this.eps.get(n), clip);
      for (let i = 0; i < n; i++) prevSample[i] = cX0 * x0[i]! + cXt * sample[i]! + (z ? sigma * z[i]! : 0);
    }
    return { prevSample, predOriginalSample: x0 };
  }

  /** sqrt(ᾱ_t') β_t' / (1 - ᾱ_t), the x̂_0 coefficient of the posterior mean. */
  originalSampleWeight(t: number): number {
    const alphaProd = this.schedule.alphaCumprod(t);
    const alphaProdPrev = this.schedule.alphaCumprod(this.index.previous(t, 'ddpm'));
    return (Math.sqrt(alphaProdPrev) * (1 - alphaProd / alphaProdPrev)) / (1 - alphaProd);
  }
}
