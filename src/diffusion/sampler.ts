/**
 * The interface every sampler shares, in the style of diffusers' schedulers: `setTimesteps(n)`
 * chooses the steps, `initSample` gives the starting x at `timesteps[0]`, and `step` goes from x_t
 * to x_{t-1} given the model's output at t. One class per sampler (ddpm.ts, ddim.ts,
 * warm-start.ts, resshift.ts).
 *
 * Samples are batches of equally sized images laid end to end in one Float32Array. Randomness comes
 * from a NoiseSource: one Rng for the whole array, or one Rng per image so that each image's noise
 * is its own stream and does not depend on which other images share the batch (or, in tests, a
 * function that fills the array).
 */
import type { SamplerName } from '../choices.js';
import { LowdoseError } from '../errors.js';
import type { Rng } from '../util/random.js';
import { fillGaussian, fillGaussianAffine } from './gaussian.js';

/** One Rng for the whole array, one Rng per image (equal chunks), or a function that fills the array. */
export type NoiseSource = Rng | readonly Rng[] | ((out: Float32Array) => void);

export interface StepOutput {
  /** x_{t-1}: the sample to feed the model at the next timestep (the result after the last). */
  readonly prevSample: Float32Array;
  /** x̂_0, the current estimate of the clean image. */
  readonly predOriginalSample: Float32Array;
}

/** Where `step` writes; `prevSample` may be the input sample itself (updated in place). */
export interface StepBuffers {
  prevSample?: Float32Array;
  predOriginalSample?: Float32Array;
}

export type { SamplerName };

export interface Sampler {
  readonly name: SamplerName;
  /** T of the schedule the model was trained with. */
  readonly trainSteps: number;
  /** The timesteps `step` expects, in order; set by `setTimesteps`. */
  readonly timesteps: Int32Array;
  /** Whether `initSample` needs the low-dose image (warm start, ResShift) or only noise. */
  readonly needsLowDose: boolean;
  /** Chooses `steps` timesteps out of the T training ones. */
  setTimesteps(steps: number): void;
  /** Writes the starting sample x_{timesteps[0]} into `out` (drawing its noise from `noise`). */
  initSample(noise: NoiseSource, out: Float32Array, lowDose?: Float32Array): Float32Array;
  /**
   * One reverse step from `timestep` (one of `timesteps`) to the next one. Draws noise only where
   * the sampler is stochastic, so deterministic samplers leave `noise` untouched.
   */
  step(modelOutput: Float32Array, timestep: number, sample: Float32Array, noise?: NoiseSource, out?: StepBuffers): StepOutput;
  /**
   * The weight of x̂_0 in the `prevSample` of the step from `timestep`, the step's other terms held
   * (ε̂ for DDIM and warm start, x_t for DDPM and ResShift): correcting x̂_0 by δ after a step moves
   * x_{t-1} by this times δ, which is how a measurement-consistency step (./consistency.ts, as in
   * DDNM) takes the step from the corrected x̂_0 without running the sampler twice. 1 on the last step.
   */
  originalSampleWeight(timestep: number): number;
  /**
   * Optional: when the step from `timestep` is the last and is prevSample = px·x_t + po·output
   * (rounded to float32) with nothing else, its px and po, so that a caller can take that step and
   * map the result to its own space in one pass; null otherwise (and for samplers without it).
   */
  finalLinearStep?(timestep: number): LinearStep | null;
  /**
   * Optional: when initSample(noise, out, lowDose) is out = a·lowDose + s·z with z drawn per image
   * as fillNoiseAffine draws it (warm start), a and s, so that a caller can make lowDose and the
   * start in one pass.
   */
  initAffine?(): { a: number; s: number };
}

/** prevSample = px·sample + po·modelOutput, per element, rounded to float32. */
export interface LinearStep {
  readonly px: number;
  readonly po: number;
}

/**
 * Fills `out` with N(0, 1) draws (ziggurat, ./gaussian.ts): the whole array from one Rng, or equal
 * chunks from one Rng each.
 */
export function fillNoise(source: NoiseSource, out: Float32Array): Float32Array {
  if (typeof source === 'function') {
    source(out);
    return out;
  }
  if (!Array.isArray(source)) return fillGaussian(source as Rng, out);
  const rngs = source as readonly Rng[];
  if (rngs.length === 0 || out.length % rngs.length !== 0) {
    throw new LowdoseError('E_INTERNAL', `cannot split ${out.length} noise values among ${rngs.length} generators`);
  }
  const size = out.length / rngs.length;
  for (let i = 0; i < rngs.length; i++) fillGaussian(rngs[i]!, out.subarray(i * size, (i + 1) * size));
  return out;
}

/**
 * out = a·base + s·z with z ~ N(0, 1) drawn as `fillNoise` would (rounded to float32 first): the
 * forward process x_t = sqrt(ᾱ) x_0 + sqrt(1 - ᾱ) ε in one pass, bit for bit what `fillNoise` into
 * `out` followed by NoiseSchedule.addNoise gives. `out` may be `base`.
 */
export function fillNoiseAffine(source: NoiseSource, base: Float32Array, a: number, s: number, out: Float32Array): Float32Array {
  checkSameLength('fillNoiseAffine', out.length, base);
  if (typeof source === 'function') {
    const noise = new Float32Array(out.length);
    source(noise);
    for (let i = 0; i < out.length; i++) out[i] = a * base[i]! + s * noise[i]!;
    return out;
  }
  if (!Array.isArray(source)) return fillGaussianAffine(source as Rng, base, a, s, out);
  const rngs = source as readonly Rng[];
  if (rngs.length === 0 || out.length % rngs.length !== 0) {
    throw new LowdoseError('E_INTERNAL', `cannot split ${out.length} noise values among ${rngs.length} generators`);
  }
  const size = out.length / rngs.length;
  for (let i = 0; i < rngs.length; i++) {
    fillGaussianAffine(rngs[i]!, base.subarray(i * size, (i + 1) * size), a, s, out.subarray(i * size, (i + 1) * size));
  }
  return out;
}

/** A reusable scratch array that grows as needed, so steps do not allocate. */
export class Scratch {
  private buffer = new Float32Array(0);

  get(length: number): Float32Array {
    if (this.buffer.length < length) this.buffer = new Float32Array(length);
    return this.buffer.length === length ? this.buffer : this.buffer.subarray(0, length);
  }
}

/** Where step `t` goes next: the following entry of `timesteps`, or -1 (the clean image) after the last. */
export class TimestepIndex {
  private readonly next = new Map<number, number>();

  constructor(readonly timesteps: Int32Array) {
    for (let i = 0; i < timesteps.length; i++) this.next.set(timesteps[i]!, i + 1 < timesteps.length ? timesteps[i + 1]! : -1);
  }

  previous(t: number, sampler: string): number {
    const prev = this.next.get(t);
    if (prev === undefined) {
      throw new LowdoseError(
        'E_INTERNAL',
        this.timesteps.length === 0
          ? `${sampler}: run setTimesteps before step`
          : `${sampler}: timestep ${t} is not one of the ${this.timesteps.length} set by setTimesteps`,
      );
    }
    return prev;
  }
}

/**
 * The arrays a step writes: the caller's `out` buffers, or new ones of the sample's length, checked
 * against it together with the model output (`name` heads the error).
 */
export function stepOutputs(name: string, sample: Float32Array, modelOutput: Float32Array, out: StepBuffers): StepOutput {
  const n = sample.length;
  const prevSample = out.prevSample ?? new Float32Array(n);
  const predOriginalSample = out.predOriginalSample ?? new Float32Array(n);
  checkSameLength(name, n, modelOutput, prevSample, predOriginalSample);
  return { prevSample, predOriginalSample };
}

export function checkSameLength(name: string, expected: number, ...arrays: (Float32Array | undefined)[]): void {
  for (const a of arrays) {
    if (a !== undefined && a.length !== expected) {
      throw new LowdoseError('E_INTERNAL', `${name}: array of ${a.length} values where ${expected} were expected`);
    }
  }
}
