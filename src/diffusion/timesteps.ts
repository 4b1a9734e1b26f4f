/**
 * Which of the T training timesteps an n-step sampler visits, as in diffusers'
 * `timestep_spacing`. All return n distinct integers in descending order.
 *
 * - `leading`:  t_i = (n-1-i)·⌊T/n⌋ + offset. Starts below T-1 (the last step never sees pure noise).
 * - `trailing`: t_i = round(T - i·T/n) - 1. Always starts at T-1; the better choice for few steps
 *               (Lin et al. 2024, "Common diffusion noise schedules and sample steps are flawed").
 * - `linspace`: t_i = round(linspace(0, T-1, n))[n-1-i].
 *
 * Rounding is half-to-even, like numpy, so the steps equal diffusers' for the same settings.
 */
import { LowdoseError } from '../errors.js';

export const TIMESTEP_SPACINGS = ['leading', 'trailing', 'linspace'] as const;
export type TimestepSpacing = (typeof TIMESTEP_SPACINGS)[number];

export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  // Math.round rounds .5 up; numpy rounds .5 to the even neighbour.
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export function spacedTimesteps(
  trainSteps: number,
  steps: number,
  spacing: TimestepSpacing = 'trailing',
  offset = 0,
): Int32Array {
  if (!Number.isInteger(steps) || steps < 1 || steps > trainSteps) {
    throw new LowdoseError('E_USAGE', `steps must be an integer in 1..${trainSteps} (the training steps), got ${steps}`);
  }
  const out = new Int32Array(steps);
  switch (spacing) {
    case 'leading': {
      const ratio = Math.floor(trainSteps / steps);
      for (let i = 0; i < steps; i++) out[i] = (steps - 1 - i) * ratio + offset;
      break;
    }
    case 'trailing': {
      const ratio = trainSteps / steps;
      for (let i = 0; i < steps; i++) out[i] = roundHalfEven(trainSteps - i * ratio) - 1;
      break;
    }
    case 'linspace': {
      const step = steps === 1 ? 0 : (trainSteps - 1) / (steps - 1);
      for (let i = 0; i < steps; i++) out[i] = roundHalfEven((steps - 1 - i) * step);
      break;
    }
    default:
      throw new LowdoseError('E_USAGE', `unknown timestep spacing '${spacing as string}' (use leading, trailing or linspace)`);
  }
  for (let i = 0; i < steps; i++) {
    if (out[i]! < 0 || out[i]! >= trainSteps) {
      throw new LowdoseError('E_USAGE', `timestep ${out[i]} (spacing ${spacing}, offset ${offset}) is outside 0..${trainSteps - 1}`);
    }
  }
  return out;
}

/**
 * Trailing spacing over the first `startT + 1` timesteps: n steps from startT down, used by the
 * warm start, which enters the chain at startT instead of T-1.
 */
export function truncatedTimesteps(startT: number, steps: number): Int32Array {
  return spacedTimesteps(startT + 1, steps, 'trailing');
}
