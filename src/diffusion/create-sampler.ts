/**
 * Builds the sampler a model card asks for (or the one the user picks instead), with the card's
 * training schedule and prediction type.
 */
import { SAMPLER_NAMES } from '../choices.js';
import { LowdoseError } from '../errors.js';
import type { ConsistencyCardField } from './consistency.js';
import { DdimSampler } from './ddim.js';
import { DdpmSampler } from './ddpm.js';
import type { ClipRange, PredictionType } from './prediction.js';
import { ResShiftSampler } from './resshift.js';
import type { Sampler, SamplerName } from './sampler.js';
import { isResShiftSchedule, NoiseSchedule, type ScheduleConfig } from './schedules.js';
import type { TimestepSpacing } from './timesteps.js';
import { WarmStartSampler } from './warm-start.js';

export { SAMPLER_NAMES } from '../choices.js';

/** Sampler settings as a model card's `sampler` section carries them (all optional here). */
export interface SamplerSettings {
  /** DDIM / warm start η. */
  eta?: number;
  /** Warm start: fraction of T to re-run, (0, 1]. */
  strength?: number;
  /** Warm start: explicit start timestep. */
  startT?: number;
  /** DDPM / DDIM timestep spacing. */
  spacing?: TimestepSpacing;
  /** Clamp x̂_0 in model space. */
  clipSample?: readonly [number, number];
  /**
   * Measurement consistency (./consistency.ts): a strength in [0, 1], or `{ strength, scaleMm?,
   * threshold?, iterations? }`. Not a property of the sampler object: callers resolve it with
   * `resolveConsistency` and pass it to denoiseSlices, so it works with every sampler.
   */
  consistency?: ConsistencyCardField;
}

export interface SamplerSource {
  readonly schedule: ScheduleConfig;
  readonly prediction: PredictionType;
  readonly sampler: SamplerSettings & { readonly default: SamplerName };
}

export interface SamplerChoice extends SamplerSettings {
  /** Overrides the card's default sampler. */
  name?: SamplerName;
}

/**
 * The card's default sampler with its settings, each overridable. When `choice.name` differs from
 * the card's default, the card's eta / strength / startT still apply where they make sense.
 */
export function createSampler(source: SamplerSource, choice: SamplerChoice = {}): Sampler {
  const name = choice.name ?? source.sampler.default;
  const pick = <K extends keyof SamplerSettings>(key: K): SamplerSettings[K] => (choice[key] !== undefined ? choice[key] : source.sampler[key]);
  const schedule = source.schedule;
  if (isResShiftSchedule(schedule)) {
    if (name !== 'resshift') throw new LowdoseError('E_USAGE', `this model was trained with a resshift schedule: use the resshift sampler, not ${name}`);
    return new ResShiftSampler(schedule, { prediction: source.prediction });
  }
  const noise = new NoiseSchedule(schedule);
  const clipSample: ClipRange = pick('clipSample') ?? null;
  const prediction = source.prediction;
  switch (name) {
    case 'ddpm':
      return new DdpmSampler(noise, { prediction, clipSample, ...defined({ spacing: pick('spacing') }) });
    case 'ddim':
      return new DdimSampler(noise, { prediction, clipSample, ...defined({ eta: pick('eta'), spacing: pick('spacing') }) });
    case 'warm-start':
      return new WarmStartSampler(noise, { prediction, clipSample, ...defined({ eta: pick('eta'), strength: pick('strength'), startT: pick('startT') }) });
    case 'resshift':
      throw new LowdoseError('E_USAGE', `the resshift sampler needs a model trained with a resshift schedule (this one: ${schedule.kind})`);
    default:
      throw new LowdoseError('E_USAGE', `unknown sampler '${name as string}' (use ${SAMPLER_NAMES.join(', ')})`);
  }
}

/** Drops undefined fields (exactOptionalPropertyTypes-friendly spreading). */
function defined<T extends Record<string, unknown>>(obj: T): Partial<T> {
  const out: Partial<T> = {};
  for (const key in obj) if (obj[key] !== undefined) out[key] = obj[key];
  return out;
}
