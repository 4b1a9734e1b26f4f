/**
 * Warm start (SDEdit, Meng et al. 2022): instead of pure noise, begin from the low-dose image
 * x_low pushed forward to an intermediate timestep t_start by the forward process,
 *   x_{t_start} = sqrt(ᾱ_{t_start}) x_low + sqrt(1 - ᾱ_{t_start}) z,
 * then run DDIM steps from t_start to the clean image. The noise drowns the dose-dependent noise of
 * x_low while most anatomy survives, so 1 to 4 steps suffice.
 *
 * t_start = `startT` if given, else round(strength · T) - 1 (strength in (0, 1]; 1 = from pure noise
 * level T-1). The `steps` timesteps are spaced trailing over 0..t_start: with t_start = 199 and 4
 * steps they are 199, 149, 99, 49.
 */
import { LowdoseError } from '../errors.js';
import { DdimSampler, type DdimOptions } from './ddim.js';
import { fillNoiseAffine, type NoiseSource, type SamplerName } from './sampler.js';
import type { NoiseSchedule } from './schedules.js';
import { truncatedTimesteps } from './timesteps.js';

export interface WarmStartOptions extends Omit<DdimOptions, 'spacing' | 'stepsOffset'> {
  /** Fraction of the training chain to re-run, in (0, 1] (default 0.2). Ignored when startT is set. */
  strength?: number;
  /** The timestep index to start from, 0..T-1. */
  startT?: number;
}

export const DEFAULT_WARM_START_STRENGTH = 0.2;

export function warmStartTimestep(trainSteps: number, options: { strength?: number; startT?: number }): number {
  if (options.startT !== undefined) {
    const t = options.startT;
    if (!Number.isInteger(t) || t < 0 || t >= trainSteps) {
      throw new LowdoseError('E_USAGE', `warm-start startT must be an integer in 0..${trainSteps - 1}, got ${t}`);
    }
    return t;
  }
  const strength = options.strength ?? DEFAULT_WARM_START_STRENGTH;
  if (!(strength > 0 && strength <= 1)) {
    throw new LowdoseError('E_USAGE', `warm-start strength must be in (0, 1], got ${strength}`);
  }
  return Math.min(trainSteps - 1, Math.max(0, Math.round(strength * trainSteps) - 1));
}

export class WarmStartSampler extends DdimSampler {
  override readonly name: SamplerName = 'warm-start';
  override readonly needsLowDose = true;
  readonly startT: number;
  private readonly noiseSchedule: NoiseSchedule;

  constructor(schedule: NoiseSchedule, options: WarmStartOptions = {}) {
    super(schedule, options);
    this.noiseSchedule = schedule;
    this.startT = warmStartTimestep(schedule.trainSteps, options);
  }

  override setTimesteps(steps: number): void {
    if (!Number.isInteger(steps) || steps < 1 || steps > this.startT + 1) {
      throw new LowdoseError('E_USAGE', `warm start from t=${this.startT} takes 1..${this.startT + 1} steps, got ${steps}`);
    }
    this.useTimesteps(truncatedTimesteps(this.startT, steps));
  }

  override initSample(noise: NoiseSource, out: Float32Array, lowDose?: Float32Array): Float32Array {
    if (!lowDose) throw new LowdoseError('E_INTERNAL', 'warm start needs the low-dose image to start from');
    if (lowDose.length !== out.length) {
      throw new LowdoseError('E_INTERNAL', `warm start: low-dose image has ${lowDose.length} values, sample ${out.length}`);
    }
    // x_t0 = sqrt(ᾱ) x_low + sqrt(1 - ᾱ) z as NoiseSchedule.addNoise computes it, drawn and combined in one pass.
    const { a, s } = this.initAffine();
    return fillNoiseAffine(noise, lowDose, a, s, out);
  }

  /** x_t0 = a·x_low + s·z: a = sqrt(ᾱ_t0), s = sqrt(1 - ᾱ_t0). */
  initAffine(): { a: number; s: number } {
    const t0 = this.timesteps.length > 0 ? this.timesteps[0]! : this.startT;
    const alphaProd = this.noiseSchedule.alphaCumprod(t0);
    return { a: Math.sqrt(alphaProd), s: Math.sqrt(1 - alphaProd) };
  }
}
