/**
 * How much network work a denoise job asks for, counted before it runs, and whether it fits the
 * server's bound (`serve --max-job-passes`): what keeps one request from holding a device's queue
 * for days. The memory budget (./memory-budget.ts) bounds a job's memory, the disk reserve
 * (src/server/disk-room.ts) its output; this bounds its compute. The CLI is not bounded.
 *
 * THE COUNT: network passes, one per image (or tile) the diffusion network evaluates, however the
 * memory plan chunks them into forward calls. For a series of S slices of R x C:
 *
 *   passes = S x tiles x timesteps x samples x orientations x (2 when guidance != 1, else 1)
 *
 * - tiles: tiles per slice (src/diffusion/tiling.ts planTiles, as the loaded model tiles it); 1 for
 *   a latent model, whose latent goes to the network whole;
 * - timesteps: the sampler's own count for the steps asked (createSampler(...).setTimesteps), the
 *   sampler the job runs (its `sampler`, else the card's; warm start with the card's strength);
 * - samples: the ensemble size K (`samples`, else the card's calibrated size with
 *   `uncertainty` / `hallucination`, else 1);
 * - orientations: the geometric self-ensemble runs each prediction once per flip or turn;
 * - guidance: classifier-free guidance runs the conditional and unconditional halves as one
 *   doubled batch (src/diffusion/guidance.ts).
 * Measurement consistency (with its pilot average), low-band denoising and full-dose texture are
 * image arithmetic after or between network passes: no passes. A latent model's encoder (once per
 * slice) and decoder (once per member) are smaller networks, not counted. A classical filter runs
 * no network: 0 passes (its cost is a fixed filter per slice, bounded by the series' size).
 * Exact: test/pipeline/compute-budget.test.ts counts the images the network is given.
 */
import { createSampler } from '../diffusion/create-sampler.js';
import type { SamplerName } from '../diffusion/sampler.js';
import { planTiles } from '../diffusion/tiling.js';
import { LowdoseError } from '../errors.js';
import { latentOf, resolveModelFiles, type ModelCard } from '../models/index.js';
import { DEFAULT_MODELS } from '../models/denoiser.js';
import type { DenoiseOptions } from './types.js';

/**
 * The server's default bound: about 4 hours of the shipped lowdose-ct on a 512 x 512 slice per pass
 * on this 2-core CPU (110 to 120 ms per pass unloaded, docs/benchmarks.md; `node bin/lowdose.js
 * bench --model lowdose-ct --size 512 --steps 1 --batch 1 --device cpu --repeats 5 --json` gave
 * modelMsPerSlice 1097 at load average 11, so a shared machine takes up to ten times longer), about
 * half an hour at the 10 to 15 ms per pass of a GPU. A 300-slice CT with the card's calibrated 4
 * samples at 100 steps (120,000 passes) fits; `{"steps":1000,"samples":64,"orientations":8}` does
 * not fit even one slice (512,000).
 */
export const DEFAULT_MAX_JOB_PASSES = 125_000;

/** One series of a job, as the count and the memory estimate (./memory-budget.ts) need it. */
export interface SeriesShape {
  readonly rows: number;
  readonly columns: number;
  readonly slices: number;
  readonly modality: string;
}

/** What a job asks of the network, resolved as the denoiser resolves it (src/models/denoiser.ts). */
export interface PassRequest {
  readonly card: ModelCard;
  /** Sampler name; default the card's. */
  readonly sampler?: SamplerName;
  /** Warm start strength; default the card's. */
  readonly strength?: number;
  /** Sampler steps; default the card's. */
  readonly steps?: number;
  readonly samples: number;
  readonly guidance: number;
  readonly orientations: number;
}

/** The count for one series, with its factors (for messages and reports). */
export interface PassCount {
  readonly passes: number;
  readonly slices: number;
  readonly tilesPerSlice: number;
  /** Network evaluations per sample per slice: the sampler's timesteps. */
  readonly timesteps: number;
  readonly samples: number;
  readonly orientations: number;
  /** 2 with classifier-free guidance (guidance != 1), else 1. */
  readonly guidanceFactor: number;
}

/** Network passes of one series under `request` (pure; see the module comment). */
export function countForwardPasses(shape: Pick<SeriesShape, 'rows' | 'columns' | 'slices'>, request: PassRequest): PassCount {
  const { card } = request;
  const sampler = createSampler(card, {
    ...(request.sampler !== undefined ? { name: request.sampler } : {}),
    ...(request.strength !== undefined ? { strength: request.strength } : {}),
  });
  sampler.setTimesteps(request.steps ?? card.sampler.steps);
  const fixed = typeof card.inputs.sample.shape[2] === 'number';
  const tilesPerSlice = latentOf(card) ? 1 : planTiles(shape.rows, shape.columns, { ...card.tile, fixed }).tilesPerImage;
  const count = {
    slices: shape.slices,
    tilesPerSlice,
    timesteps: sampler.timesteps.length,
    samples: Math.max(1, request.samples),
    orientations: Math.max(1, request.orientations),
    guidanceFactor: request.guidance !== 1 ? 2 : 1,
  };
  return { passes: count.slices * count.tilesPerSlice * count.timesteps * count.samples * count.orientations * count.guidanceFactor, ...count };
}

/** "3 slice(s) x 1 tile(s) x 1000 step(s) x 64 sample(s) x 8 orientation(s) x 2 (guidance)". */
export function describePassCount(count: PassCount): string {
  return (
    `${count.slices} slice(s) x ${count.tilesPerSlice} tile(s) x ${count.timesteps} step(s) x ${count.samples} sample(s)` +
    ` x ${count.orientations} orientation(s)${count.guidanceFactor === 2 ? ' x 2 (guidance)' : ''}`
  );
}

/** The options of a job that change its count. */
export type PassOptions = Pick<
  DenoiseOptions,
  'method' | 'model' | 'sampler' | 'strength' | 'steps' | 'samples' | 'guidance' | 'orientations' | 'uncertainty' | 'hallucination'
>;

/** The request of `options` on `card`, with the denoiser's defaults. */
export function passRequest(card: ModelCard, options: PassOptions): PassRequest {
  return {
    card,
    ...(options.sampler !== undefined ? { sampler: options.sampler } : {}),
    ...(options.strength !== undefined ? { strength: options.strength } : {}),
    ...(options.steps !== undefined ? { steps: options.steps } : {}),
    // --uncertainty / --hallucination without --samples run the card's calibrated ensemble size.
    samples: options.samples ?? ((options.uncertainty || options.hallucination) && card.uncertainty ? card.uncertainty.samples : 1),
    guidance: options.guidance ?? card.guidance.default,
    orientations: options.orientations ?? card.sampler.orientations ?? 1,
  };
}

/** A job's count: every series' (null where there is nothing to count) and the total. */
export interface JobPasses {
  readonly series: ReadonlyArray<PassCount | null>;
  readonly passes: number;
}

/**
 * Counts every series of a job (null for a filter, for a model card that cannot be read or for
 * settings the sampler refuses: the denoiser reports those itself) and throws E_COMPUTE_BUDGET when
 * the total exceeds `maxPasses`, naming the count, the bound and what to lower. The model cards are
 * read, not loaded, the way the denoiser will find them.
 */
export async function checkJobCompute(shapes: readonly SeriesShape[], options: PassOptions, maxPasses: number): Promise<JobPasses> {
  const method = options.method ?? 'diffusion';
  const cards = new Map<string, ModelCard | null>();
  const series: Array<PassCount | null> = [];
  for (const shape of shapes) {
    const name = method === 'diffusion' ? (options.model ?? DEFAULT_MODELS[shape.modality as 'CT' | 'PT']) : undefined;
    if (name !== undefined && !cards.has(name)) cards.set(name, await resolveModelFiles(name).then((r) => r.card, () => null));
    const card = name !== undefined ? cards.get(name) : null;
    series.push(card ? countOrNull(shape, passRequest(card, options)) : null);
  }
  const passes = series.reduce((sum, c) => sum + (c?.passes ?? 0), 0);
  if (passes > maxPasses) throw computeBudgetError(series, passes, maxPasses);
  return { series, passes };
}

function countOrNull(shape: SeriesShape, request: PassRequest): PassCount | null {
  try {
    return countForwardPasses(shape, request);
  } catch (error) {
    if (error instanceof LowdoseError) return null;
    throw error;
  }
}

/** The refusal: the count with its factors, the bound, and the options to lower (steps first: the count is linear in them). */
function computeBudgetError(series: ReadonlyArray<PassCount | null>, passes: number, maxPasses: number): LowdoseError {
  const counted = series.filter((c): c is PassCount => c !== null);
  const largest = counted.reduce((a, b) => (b.passes > a.passes ? b : a));
  const stepsThatFit = Math.floor(maxPasses / counted.reduce((sum, c) => sum + c.passes / c.timesteps, 0));
  const others = [
    largest.samples > 1 ? `samples (${largest.samples})` : null,
    largest.orientations > 1 ? `orientations (${largest.orientations})` : null,
    largest.guidanceFactor === 2 ? 'guidance (1 runs one pass per step)' : null,
    'the number of series or slices',
  ].filter((s): s is string => s !== null);
  const advice =
    stepsThatFit >= 1 ? `use steps ${stepsThatFit} or fewer, or lower ${others.join(', ')}` : `even 1 step is over it: lower ${others.join(', ')}`;
  const what = counted.length === 1 ? describePassCount(largest) : `${counted.length} series, the largest ${describePassCount(largest)}`;
  return new LowdoseError(
    'E_COMPUTE_BUDGET',
    `this job needs ${passes.toLocaleString('en-US')} network passes (${what}) but this server allows ${maxPasses.toLocaleString('en-US')} per job (serve --max-job-passes); ${advice}`,
  );
}
