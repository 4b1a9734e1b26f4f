/**
 * How much network work a denoise job asks for, counted before it runs, and whether it fits the
 * server's bound (`serve --max-job-passes`): what keeps one request from holding a device's queue
 * for days. The memory budget (./memory-budget.ts) bounds a job's memory, the disk reserve
 * (src/server/disk-room.ts) its output; this bounds its compute. The CLI is not bounded.
 *
 * THE UNIT: 512²-equivalent network passes. Every evaluation of a network counts the pixels of the
 * largest image it is given or gives back (height x width, tiles and padding as the graph sees
 * them), divided by 512 x 512: a pass of lowdose-ct on a 512 x 512 slice counts 1, one on a
 * 168 x 168 PET slice 168² / 512² = 0.108, one on a 1024 x 1024 slice 4. A convolutional
 * network's time per pass grows with its pixels (docs/robustness.md has the measured ms per pass
 * of the shipped models at several sizes, and the command), so the count tracks time where a count
 * of passes did not.
 *
 * THE COUNT, for a series of S slices of R x C:
 *
 *   network passes = S x tiles x timesteps x samples x orientations x (2 when guidance != 1, else 1)
 *   pixels         = network passes x tile height x tile width  (+ the autoencoder's, below)
 *   passes (unit)  = pixels / 512²
 *
 * - tiles: tiles per slice (src/diffusion/tiling.ts planTiles, as the loaded model tiles it), each
 *   of its tile's size, padding included (an untiled slice is padded to the card's multipleOf);
 * - a latent model's network runs on the whole latent (no tiles): pixels per pass are the latent's
 *   h x w (src/models/latent.ts latentGrid); its encoder runs once per slice and its decoder once per
 *   sample, each counting the padded image's pixels;
 * - timesteps: the sampler's own count for the steps asked (createSampler(...).setTimesteps), the
 *   sampler the job runs (its `sampler`, else the card's; warm start with the card's strength);
 * - samples: the ensemble size K (`samples`, else the card's calibrated size with
 *   `uncertainty` / `hallucination`, else 1);
 * - orientations: the geometric self-ensemble runs each prediction once per flip or turn;
 * - guidance: classifier-free guidance runs the conditional and unconditional halves as one
 *   doubled batch (src/diffusion/guidance.ts).
 * Measurement consistency (with its pilot average), low-band denoising and full-dose texture are
 * image arithmetic after or between network passes: no passes. A classical filter runs no network:
 * 0 passes (its cost is a fixed filter per slice, bounded by the series' size). A graph exported
 * with a fixed batch larger than 1 is run on batches padded by repetition; the padding is not
 * counted (it depends on the memory plan's chunks).
 * Exact: test/pipeline/compute-budget.test.ts counts the pixels every ONNX session is given.
 */
import { createSampler } from '../diffusion/create-sampler.js';
import type { SamplerName } from '../diffusion/sampler.js';
import { planTiles } from '../diffusion/tiling.js';
import { LowdoseError } from '../errors.js';
import { latentOf, resolveModelFiles, type ModelCard } from '../models/index.js';
import { latentGrid } from '../models/latent.js';
import { DEFAULT_MODELS } from '../models/denoiser.js';
import type { DenoiseOptions } from './types.js';

/** Pixels of the unit pass: one 512 x 512 image. */
export const UNIT_PASS_PIXELS = 512 * 512;

/**
 * The server's default bound, in 512²-equivalent passes: about 4 hours of the shipped lowdose-ct on a 512 x 512 slice per pass
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
  /** 512²-equivalent network passes: `pixels` / 512² (the unit of `serve --max-job-passes`). */
  readonly passes: number;
  /** Pixels all networks are given: network passes x pixels per pass, plus the autoencoder's. */
  readonly pixels: number;
  /** Evaluations of the diffusion network (one per image or tile), whatever their size. */
  readonly networkPasses: number;
  readonly slices: number;
  readonly tilesPerSlice: number;
  /** Height and width of one network evaluation: the tile, padding included, or a latent model's latent. */
  readonly passRows: number;
  readonly passColumns: number;
  /** Pixels a latent model's encoder (once per slice) and decoder (once per sample) are given; 0 for a pixel model. */
  readonly codecPixels: number;
  /** Network evaluations per sample per slice: the sampler's timesteps. */
  readonly timesteps: number;
  readonly samples: number;
  readonly orientations: number;
  /** 2 with classifier-free guidance (guidance != 1), else 1. */
  readonly guidanceFactor: number;
}

/** The count of one series under `request` (pure; see the module comment). */
export function countForwardPasses(shape: Pick<SeriesShape, 'rows' | 'columns' | 'slices'>, request: PassRequest): PassCount {
  const { card } = request;
  const sampler = createSampler(card, {
    ...(request.sampler !== undefined ? { name: request.sampler } : {}),
    ...(request.strength !== undefined ? { strength: request.strength } : {}),
  });
  sampler.setTimesteps(request.steps ?? card.sampler.steps);
  const fixed = typeof card.inputs.sample.shape[2] === 'number';
  const latent = latentOf(card);
  const samples = Math.max(1, request.samples);
  let pass: { tiles: number; rows: number; columns: number; codecPixels: number };
  if (latent) {
    const grid = latentGrid(shape.rows, shape.columns, latent, card.tile.multipleOf);
    // The encoder takes each padded slice once; the decoder gives back each sample's padded image.
    const codecPixels = shape.slices * (1 + samples) * grid.paddedRows * grid.paddedColumns;
    pass = { tiles: 1, rows: grid.rows, columns: grid.columns, codecPixels };
  } else {
    const plan = planTiles(shape.rows, shape.columns, { ...card.tile, fixed });
    pass = { tiles: plan.tilesPerImage, rows: plan.rows.tile, columns: plan.cols.tile, codecPixels: 0 };
  }
  const count = {
    slices: shape.slices,
    tilesPerSlice: pass.tiles,
    passRows: pass.rows,
    passColumns: pass.columns,
    codecPixels: pass.codecPixels,
    timesteps: sampler.timesteps.length,
    samples,
    orientations: Math.max(1, request.orientations),
    guidanceFactor: request.guidance !== 1 ? 2 : 1,
  };
  const networkPasses = count.slices * count.tilesPerSlice * count.timesteps * count.samples * count.orientations * count.guidanceFactor;
  const pixels = networkPasses * count.passRows * count.passColumns + count.codecPixels;
  return { passes: pixels / UNIT_PASS_PIXELS, pixels, networkPasses, ...count };
}

/** "3 slice(s) x 1 tile(s) of 512 x 512 x 1000 step(s) x 64 sample(s) x 8 orientation(s) x 2 (guidance)". */
export function describePassCount(count: PassCount): string {
  return (
    `${count.slices} slice(s) x ${count.tilesPerSlice} tile(s) of ${count.passRows} x ${count.passColumns} x ${count.timesteps} step(s) x ${count.samples} sample(s)` +
    ` x ${count.orientations} orientation(s)${count.guidanceFactor === 2 ? ' x 2 (guidance)' : ''}` +
    (count.codecPixels > 0 ? `, plus the latent encoder and decoder (${formatPasses(count.codecPixels / UNIT_PASS_PIXELS)})` : '')
  );
}

/** A count in the unit, rounded up to 2 decimals so that a count over the bound never reads as equal to it: "1,536,000", "6.46". */
export function formatPasses(passes: number): string {
  return (Math.ceil(passes * 100 - 1e-9) / 100).toLocaleString('en-US', { maximumFractionDigits: 2 });
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
  /** 512²-equivalent network passes of the whole job. */
  readonly passes: number;
  /** Pixels all networks are given over the whole job. */
  readonly pixels: number;
}

/**
 * Counts every series of a job (null for a filter, for a model card that cannot be read or for
 * settings the sampler refuses: the denoiser reports those itself) and throws E_COMPUTE_BUDGET when
 * the total exceeds `maxPasses` 512²-equivalent passes, naming the count, the bound and what to lower. The model cards are
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
  // Compared in whole pixels, so that the bound is exact (a unit pass is 2^18 pixels).
  const pixels = series.reduce((sum, c) => sum + (c?.pixels ?? 0), 0);
  const passes = pixels / UNIT_PASS_PIXELS;
  if (pixels > maxPasses * UNIT_PASS_PIXELS) throw computeBudgetError(series, passes, maxPasses);
  return { series, passes, pixels };
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
  // The autoencoder's pixels do not grow with the steps; the network's do, linearly.
  const fixedPixels = counted.reduce((sum, c) => sum + c.codecPixels, 0);
  const pixelsPerStep = counted.reduce((sum, c) => sum + (c.pixels - c.codecPixels) / c.timesteps, 0);
  const stepsThatFit = Math.floor((maxPasses * UNIT_PASS_PIXELS - fixedPixels) / pixelsPerStep);
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
    `this job needs ${formatPasses(passes)} network passes in 512 x 512 units (${what}) but this server allows ${maxPasses.toLocaleString('en-US')} per job (serve --max-job-passes, one unit = one pass on 512 x 512 pixels); ${advice}`,
  );
}
