/**
 * The forward (noising) process of one slice, for pictures and for the schedules experiment:
 * x_t = sqrt(ᾱ_t) x_0 + sqrt(1 - ᾱ_t) ε in the model's value space, one noise field ε for every
 * frame (so the frames differ only by how far along the chain they are), shown in modality units.
 *
 * How much of x_0 is left in a frame, three ways:
 * - `ssim`: SSIM of x_t (modality units) to x_0, as a viewer sees the frame;
 * - `ssimRescaled`: SSIM of x_t / sqrt(ᾱ_t) = x_0 + sqrt((1 - ᾱ_t)/ᾱ_t) ε, the frame brought back to
 *   x_0's scale, so only the noise counts and not the shrinking signal;
 * - `correlation`: Pearson correlation of x_t and x_0 in model space (scale-free; its square is the
 *   fraction of the frame's variance that is the image);
 * - `ssimCoarse`: SSIM of x_t / sqrt(ᾱ_t) and x_0 after both are averaged over 4 x 4 pixel blocks,
 *   in model space: structure at the scale of organs and vessels (a few mm), which a reader still
 *   recognises long after pixel-level SSIM has dropped near 0. A frame "shows recognisable
 *   structure" when it exceeds STRUCTURE_THRESHOLD (docs/trace.md, schedules experiment).
 */
import { fromModelSpace, toModelSpace, type Normalization } from '../diffusion/normalization.js';
import type { NoiseSchedule } from '../diffusion/schedules.js';
import { ssim } from '../metrics/ssim.js';
import type { IntensityRange } from '../metrics/range.js';
import { downsample } from './canvas.js';

/** Block edge (pixels) and threshold of the "recognisable structure" criterion (`ssimCoarse`). */
export const STRUCTURE_BLOCK = 4;
export const STRUCTURE_THRESHOLD = 0.3;
/** SSIM's Gaussian window (sigma 1.5, 11 taps): the smallest image it measures. */
const SSIM_WINDOW = 11;

/** Where along the chain forward frames are drawn: x_0, T/8, T/4, T/2, 3T/4 and T. */
export const DEFAULT_FORWARD_FRACTIONS: readonly number[] = [0, 1 / 8, 1 / 4, 1 / 2, 3 / 4, 1];

/**
 * The timestep index shown for a fraction f of the chain: null for f = 0 (x_0 itself, ᾱ = 1), else
 * round(f·T) - 1, so f = 1 is the last training step T - 1 and f = 1/2 of T = 1000 is t = 499.
 */
export function forwardTimestep(fraction: number, trainSteps: number): number | null {
  if (!(fraction >= 0 && fraction <= 1)) throw new RangeError(`forward fraction must be in [0, 1], got ${fraction}`);
  if (fraction === 0) return null;
  return Math.min(trainSteps - 1, Math.max(0, Math.round(fraction * trainSteps) - 1));
}

/** "0", "T/8", "T/2", "3T/4", "T", else "0.30T". */
export function fractionLabel(fraction: number): string {
  if (fraction === 0) return '0';
  if (fraction === 1) return 'T';
  for (const d of [2, 4, 8, 16]) {
    const n = fraction * d;
    if (Math.abs(n - Math.round(n)) < 1e-9) return `${Math.round(n) === 1 ? '' : Math.round(n)}T/${d}`;
  }
  return `${fraction.toFixed(2)}T`;
}

export interface ForwardFrame {
  readonly fraction: number;
  /** Training timestep index, null for x_0 itself. */
  readonly timestep: number | null;
  readonly alphaBar: number;
  /** x_t in modality units (x_0 is the input itself). */
  readonly image: Float32Array;
  readonly ssim: number;
  readonly ssimRescaled: number;
  readonly correlation: number;
  /** Null for slices under 44 pixels (the 4x4-block image is then smaller than SSIM's window). */
  readonly ssimCoarse: number | null;
  /** ssimCoarse > STRUCTURE_THRESHOLD (null when ssimCoarse is). */
  readonly recognisable: boolean | null;
}

export interface ForwardOptions {
  readonly rows: number;
  readonly columns: number;
  readonly normalization: Normalization;
  readonly schedule: NoiseSchedule;
  readonly fractions?: readonly number[];
  /** ε, rows·columns standard normal values (model space). */
  readonly noise: Float32Array;
  /** Intensity range for SSIM (CONTRACT: CT [-1000, 1000] HU, PET [0, max of the input]). */
  readonly range: IntensityRange;
}

/** The forward frames of `input` (modality units) at the given fractions of the chain. */
export function forwardProcess(input: Float32Array, options: ForwardOptions): ForwardFrame[] {
  const { rows, columns, normalization: norm, schedule, noise, range } = options;
  const size = rows * columns;
  if (input.length !== size || noise.length !== size) {
    throw new RangeError(`forwardProcess: input ${input.length} and noise ${noise.length} values for ${rows}x${columns}`);
  }
  const x0 = toModelSpace(norm, input);
  const reference = { rows, columns, data: input };
  const xt = new Float32Array(size);
  const coarseRange = modelSpaceRange(norm, range);
  const coarse0 = downsample(x0, rows, columns, STRUCTURE_BLOCK);
  const coarseFits = Math.min(coarse0.rows, coarse0.columns) >= SSIM_WINDOW;
  return (options.fractions ?? DEFAULT_FORWARD_FRACTIONS).map((fraction): ForwardFrame => {
    const timestep = forwardTimestep(fraction, schedule.trainSteps);
    if (timestep === null) {
      return { fraction, timestep, alphaBar: 1, image: input.slice(), ssim: 1, ssimRescaled: 1, correlation: 1, ssimCoarse: 1, recognisable: true };
    }
    const alphaBar = schedule.alphaCumprod(timestep);
    schedule.addNoise(x0, noise, timestep, xt);
    const image = fromModelSpace(norm, xt);
    const inv = 1 / Math.sqrt(alphaBar);
    const rescaled = new Float32Array(size);
    for (let i = 0; i < size; i++) rescaled[i] = xt[i]! * inv;
    const ssimCoarse = coarseFits ? ssim(coarse0, downsample(rescaled, rows, columns, STRUCTURE_BLOCK), coarseRange) : null;
    fromModelSpace(norm, rescaled, rescaled);
    return {
      fraction,
      timestep,
      alphaBar,
      image,
      ssim: ssim(reference, { rows, columns, data: image }, range),
      ssimRescaled: ssim(reference, { rows, columns, data: rescaled }, range),
      correlation: pearson(x0, xt),
      ssimCoarse,
      recognisable: ssimCoarse === null ? null : ssimCoarse > STRUCTURE_THRESHOLD,
    };
  });
}

/** The SSIM range mapped into model space (the mapping is monotone). */
function modelSpaceRange(norm: Normalization, range: IntensityRange): IntensityRange {
  const ends = toModelSpace(norm, Float32Array.of(range[0], range[1]));
  return [ends[0]!, ends[1]!];
}

/** Pearson correlation of two equally long arrays, in float64. */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]!;
    mb += b[i]!;
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i]! - ma;
    const db = b[i]! - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : 0;
}
