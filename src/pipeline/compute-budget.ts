/**
 * How much network work a denoise job asks for, counted before it runs, and whether it fits the
 * server's bound (`serve --max-job-passes`): what keeps one request from holding a device's queue
 * for days. The memory budget (./memory-budget.ts) bounds a job's memory, the disk reserve
 * (src/server/disk-room.ts) its output; this bounds its compute. The CLI is not bounded.
 *
 * THE UNIT: 512²-equivalent lowdose-ct passes: one unit is the work of one pass of the shipped
 * lowdose-ct on a 512 x 512 slice. Every evaluation of a network counts the pixels of the largest
 * image it is given or gives back (height x width, tiles and padding as the graph sees them), times
 * the network's weight, divided by 512 x 512. A convolutional network's time per pass grows with
 * its pixels, so a lowdose-ct pass on a 168 x 168 slice counts 168² / 512² = 0.108 and one on
 * 1024 x 1024 counts 4. A pixel is not the same work in every network: the weight is what one pixel
 * given to that network costs in lowdose-ct pixels at 512 x 512, measured (the card's
 * `quality.passCost`, from `npx tsx scripts/bench/pass-cost.ts`: CPU time per pixel at the pass of
 * a 512 x 512 slice over lowdose-ct's). lowdose-ct weighs 1; lowdose-ct-latent's network,
 * 16 channels on a 4x smaller grid with wider layers, weighs several lowdose-ct pixels per latent
 * pixel, and its encoder and decoder (pixel unshuffle and its inverse) a small fraction of one per
 * image pixel. A network whose card has no measured weight counts DEFAULT_PASS_WEIGHT per pixel.
 *
 * THE COUNT, for a series of S slices of R x C:
 *
 *   network passes = S x tiles x timesteps x samples x orientations x (2 when guidance != 1, else 1)
 *   evaluations    = network passes + the fixed-batch padding (below)
 *   units          = (evaluations x pass pixels x network weight
 *                     + encoder pixels x encoder weight + decoder pixels x decoder weight) / 512²
 *
 * - tiles: tiles per slice (src/diffusion/tiling.ts planTiles, as the loaded model tiles it), each
 *   of its tile's size, padding included (an untiled slice is padded to the card's multipleOf);
 * - a latent model's network runs on the whole latent (no tiles): pixels per pass are the latent's
 *   h x w (src/models/latent.ts latentGrid); its encoder runs once per slice and its decoder once per
 *   sample, each on the padded image's pixels;
 * - timesteps: the sampler's own count for the steps asked (createSampler(...).setTimesteps), the
 *   sampler the job runs (its `sampler`, else the card's; warm start with the card's strength);
 * - samples: the ensemble size K (`samples`, else the card's calibrated size with
 *   `uncertainty` / `hallucination`, else 1);
 * - orientations: the geometric self-ensemble runs each prediction once per flip or turn;
 * - guidance: classifier-free guidance runs the conditional and unconditional halves as one
 *   doubled batch (src/diffusion/guidance.ts);
 * - fixed-batch padding: a graph exported with a fixed batch n > 1 always evaluates n images; the
 *   images of a forward call (`batch` slices x samples x 2 with guidance x tiles, split into calls
 *   of at most `maxForwardPixels` pixels by the memory plan, ./memory-budget.ts, except a latent
 *   model's) are run n at a time, the last group filled by repetition (src/models/onnx-model.ts),
 *   and the filling is counted as the evaluations it is.
 * Measurement consistency (with its pilot average), low-band denoising and full-dose texture are
 * image arithmetic after or between network passes: no passes. A classical filter runs no network:
 * 0 passes (its cost is a fixed filter per slice, bounded by the series' size).
 * Exact: test/pipeline/compute-budget.test.ts counts the pixels every ONNX session is given.
 */
import { createSampler } from '../diffusion/create-sampler.js';
import type { SamplerName } from '../diffusion/sampler.js';
import { planTiles } from '../diffusion/tiling.js';
import { LowdoseError } from '../errors.js';
import { latentOf, passCostOf, resolveModelFiles, type ModelCard } from '../models/index.js';
import { latentGrid } from '../models/latent.js';
import { DEFAULT_MODELS } from '../models/denoiser.js';
import type { DenoiseOptions } from './types.js';

/** Pixels of the unit pass: one 512 x 512 image. */
export const UNIT_PASS_PIXELS = 512 * 512;
/** The network of the unit pass: one of its pixels at 512 x 512 weighs 1 (scripts/bench/pass-cost.ts). */
export const PASS_COST_REFERENCE = 'lowdose-ct';
/** The slice edge at whose pass each network's weight is measured (scripts/bench/pass-cost.ts). */
export const PASS_COST_EDGE = 512;

/**
 * The server's default bound, in 512²-equivalent passes: about 4 hours of the shipped lowdose-ct on a 512 x 512 slice per pass
 * with onnxruntime's default threads on an idle 2-core CPU (112 to 117 ms per pass, `npx lowdose
 * bench` at load 1.3, docs/benchmarks.md), about 4.3 hours on one idle thread (123 ms per pass),
 * about 8.5 at the 236 to 242 ms of CPU `npx tsx scripts/bench/pass-cost.ts --threads 1` measured
 * at load 3 to 4; `node bin/lowdose.js
 * bench --model lowdose-ct --size 512 --steps 1 --batch 1 --device cpu --repeats 5 --json` gave
 * modelMsPerSlice 1097 at load average 11, so a shared machine takes up to ten times longer; about
 * half an hour at the 10 to 15 ms per pass of a GPU (docs/robustness.md). A 300-slice CT with the card's calibrated 4
 * samples at 100 steps (120,000 passes) fits; `{"steps":1000,"samples":64,"orientations":8}` does
 * not fit even one slice (512,000).
 */
export const DEFAULT_MAX_JOB_PASSES = 125_000;

/**
 * The weight of a network whose card has no measured `quality.passCost`, in lowdose-ct pixels per
 * pixel it is given. Deliberately high: an unmeasured network is counted as one with four times
 * lowdose-ct's channel widths (the 64-128-256 the memory estimate assumes for a card that states
 * none, ./memory-budget.ts DEFAULT_CHANNELS), whose convolutions do about 4² = 16 times the work per
 * pixel (lowdose-ct-latent, twice lowdose-ct's widths, measures about 4). A card's own measured
 * weight (`npx tsx scripts/bench/pass-cost.ts --model <card>`) replaces it.
 */
export const DEFAULT_PASS_WEIGHT = 16;

/** What one pixel given to each network of a model weighs in the unit (lowdose-ct pixels at 512 x 512). */
export interface PassWeights {
  readonly network: number;
  /** A latent model's encoder and decoder (per padded image pixel); 0 for a pixel model. */
  readonly encoder: number;
  readonly decoder: number;
  /** Whether the weights are the card's measured `quality.passCost` (false: DEFAULT_PASS_WEIGHT). */
  readonly measured: boolean;
}

/** The card's measured weights, else DEFAULT_PASS_WEIGHT for each of its networks. */
export function passWeights(card: ModelCard): PassWeights {
  const cost = passCostOf(card);
  const latent = latentOf(card) !== null;
  const codec = (w: number | undefined) => (latent ? (w ?? DEFAULT_PASS_WEIGHT) : 0);
  return { network: cost?.network ?? DEFAULT_PASS_WEIGHT, encoder: codec(cost?.encoder), decoder: codec(cost?.decoder), measured: cost !== null };
}

/** One series of a job, as the count and the memory estimate (./memory-budget.ts) need it. */
export interface SeriesShape {
  readonly rows: number;
  readonly columns: number;
  readonly slices: number;
  readonly modality: string;
  /** Slices that are frames of a multi-frame PET file (the memory estimate counts them more, ./memory-budget.ts); default 0. */
  readonly multiFramePetFrames?: number;
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
  /** Slices per sampler call (`denoise --batch`); default 1. Changes the count only for a fixed-batch graph. */
  readonly batch?: number;
  /**
   * Input pixels per forward call at most (the memory plan's, ./memory-budget.ts forwardLimits);
   * default none. Changes the count only for a fixed-batch graph: each call's last group is padded.
   */
  readonly maxForwardPixels?: number;
}

/** The count for one series, with its factors (for messages and reports). */
export interface PassCount {
  /** 512²-equivalent lowdose-ct passes (the unit of `serve --max-job-passes`): every network's pixels x its weight / 512². */
  readonly passes: number;
  /** Pixels all networks are given: evaluations x pixels per pass, plus the autoencoder's. */
  readonly pixels: number;
  /** Evaluations of the diffusion network (one per image or tile), whatever their size. */
  readonly networkPasses: number;
  /** Evaluations a fixed-batch graph runs only to fill its batch (0 for a graph with a free batch). */
  readonly paddingPasses: number;
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
  /** The weights the pixels were counted with (the card's measured ones, else DEFAULT_PASS_WEIGHT). */
  readonly weights: PassWeights;
  /** The units of the network's evaluations (padding included), the part that grows with the steps. */
  readonly networkUnits: number;
  /** The units of a latent model's encoder and decoder runs; 0 for a pixel model. */
  readonly codecUnits: number;
}

/**
 * Evaluations a graph with a fixed batch of `n` runs for one forward call of `images` images (or
 * tiles), split into calls of at most `chunk`: each call's images n at a time, the last group filled
 * (src/models/onnx-model.ts predictInChunks, after src/diffusion/tiling.ts's chunks).
 */
function fixedBatchEvaluations(images: number, chunk: number, n: number): number {
  const c = Math.max(1, Math.min(images, chunk));
  const full = Math.floor(images / c);
  const rest = images - full * c;
  return n * (full * Math.ceil(c / n) + Math.ceil(rest / n));
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
  let pass: { tiles: number; rows: number; columns: number; encoderPixels: number; decoderPixels: number };
  if (latent) {
    const grid = latentGrid(shape.rows, shape.columns, latent, card.tile.multipleOf);
    // The encoder takes each padded slice once; the decoder gives back each sample's padded image.
    const image = grid.paddedRows * grid.paddedColumns;
    pass = { tiles: 1, rows: grid.rows, columns: grid.columns, encoderPixels: shape.slices * image, decoderPixels: shape.slices * samples * image };
  } else {
    const plan = planTiles(shape.rows, shape.columns, { ...card.tile, fixed });
    pass = { tiles: plan.tilesPerImage, rows: plan.rows.tile, columns: plan.cols.tile, encoderPixels: 0, decoderPixels: 0 };
  }
  const count = {
    slices: shape.slices,
    tilesPerSlice: pass.tiles,
    passRows: pass.rows,
    passColumns: pass.columns,
    codecPixels: pass.encoderPixels + pass.decoderPixels,
    timesteps: sampler.timesteps.length,
    samples,
    orientations: Math.max(1, request.orientations),
    guidanceFactor: request.guidance !== 1 ? 2 : 1,
  };
  const networkPasses = count.slices * count.tilesPerSlice * count.timesteps * count.samples * count.orientations * count.guidanceFactor;
  const paddingPasses = fixedBatchPadding(card, shape.slices, count, request, latent !== null);
  const passPixels = count.passRows * count.passColumns;
  const pixels = (networkPasses + paddingPasses) * passPixels + count.codecPixels;
  const weights = passWeights(card);
  const networkUnits = ((networkPasses + paddingPasses) * passPixels * weights.network) / UNIT_PASS_PIXELS;
  const codecUnits = (pass.encoderPixels * weights.encoder + pass.decoderPixels * weights.decoder) / UNIT_PASS_PIXELS;
  return { passes: networkUnits + codecUnits, pixels, networkPasses, paddingPasses, ...count, weights, networkUnits, codecUnits };
}

/**
 * Evaluations a graph with a fixed batch n > 1 runs beyond the job's own: per sampler call (one per
 * step and orientation of each batch of slices) the images batch x samples x guidance x tiles are
 * run n at a time in calls of at most maxForwardPixels (a latent model's network: in one call).
 */
function fixedBatchPadding(
  card: ModelCard,
  slices: number,
  count: { tilesPerSlice: number; passRows: number; passColumns: number; timesteps: number; samples: number; orientations: number; guidanceFactor: number },
  request: PassRequest,
  latent: boolean,
): number {
  const n = card.inputs.sample.shape[0];
  if (typeof n !== 'number' || n <= 1) return 0;
  const perSlice = count.samples * count.guidanceFactor * count.tilesPerSlice;
  const chunk =
    latent || request.maxForwardPixels === undefined ? Infinity : Math.max(1, Math.floor(request.maxForwardPixels / (count.passRows * count.passColumns)));
  const batch = Math.max(1, Math.min(request.batch ?? 1, slices));
  const full = Math.floor(slices / batch);
  const rest = slices - full * batch;
  const evaluations = full * fixedBatchEvaluations(batch * perSlice, chunk, n) + (rest > 0 ? fixedBatchEvaluations(rest * perSlice, chunk, n) : 0);
  return (evaluations - slices * perSlice) * count.timesteps * count.orientations;
}

const formatWeight = (w: number) => w.toLocaleString('en-US', { maximumFractionDigits: 3 });

/**
 * "3 slice(s) x 1 tile(s) of 512 x 512 x 1000 step(s) x 64 sample(s) x 8 orientation(s) x 2 (guidance)", then
 * what differs from lowdose-ct passes: the fixed-batch padding, the network's weight, the autoencoder's units.
 */
export function describePassCount(count: PassCount): string {
  const { weights } = count;
  const source = weights.measured ? 'measured' : 'not measured for this model: the default';
  return (
    `${count.slices} slice(s) x ${count.tilesPerSlice} tile(s) of ${count.passRows} x ${count.passColumns} x ${count.timesteps} step(s) x ${count.samples} sample(s)` +
    ` x ${count.orientations} orientation(s)${count.guidanceFactor === 2 ? ' x 2 (guidance)' : ''}` +
    (count.paddingPasses > 0 ? `, plus ${count.paddingPasses.toLocaleString('en-US')} pass(es) filling the graph's fixed batch` : '') +
    (weights.network !== 1 ? `, each pixel weighing ${formatWeight(weights.network)} lowdose-ct pixels (${source})` : '') +
    (count.codecPixels > 0 ? `, plus the latent encoder and decoder (${formatPasses(count.codecUnits)})` : '')
  );
}
/** A count in the unit, rounded up to 2 decimals so that a count over the bound never reads as equal to it: "1,536,000", "6.46". */
export function formatPasses(passes: number): string {
  return (Math.ceil(passes * 100 - 1e-9) / 100).toLocaleString('en-US', { maximumFractionDigits: 2 });
}

/** The options of a job that change its count. */
export type PassOptions = Pick<
  DenoiseOptions,
  'method' | 'model' | 'sampler' | 'strength' | 'steps' | 'samples' | 'guidance' | 'orientations' | 'uncertainty' | 'hallucination' | 'batch'
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
    ...(options.batch !== undefined ? { batch: options.batch } : {}),
  };
}

/** A job's count: every series' (null where there is nothing to count) and the total. */
export interface JobPasses {
  readonly series: ReadonlyArray<PassCount | null>;
  /** 512²-equivalent lowdose-ct passes of the whole job (each network's pixels weighted). */
  readonly passes: number;
  /** Pixels all networks are given over the whole job. */
  readonly pixels: number;
}

/**
 * Counts every series of a job (null for a filter, for a model card that cannot be read or for
 * settings the sampler refuses: the denoiser reports those itself) and throws E_COMPUTE_BUDGET when
 * the total exceeds `maxPasses` 512²-equivalent lowdose-ct passes, naming the count, the bound and
 * what to lower. The model cards are read, not loaded, the way the denoiser will find them.
 * `maxForwardPixels`: per modality, the forward-call cap the job will run with (./memory-budget.ts
 * forwardLimits of its memory plans); it changes the count of a fixed-batch graph only.
 */
export async function checkJobCompute(
  shapes: readonly SeriesShape[],
  options: PassOptions,
  maxPasses: number,
  maxForwardPixels: ReadonlyMap<string, number> = new Map(),
): Promise<JobPasses> {
  const method = options.method ?? 'diffusion';
  const cards = new Map<string, ModelCard | null>();
  const series: Array<PassCount | null> = [];
  for (const shape of shapes) {
    const name = method === 'diffusion' ? (options.model ?? DEFAULT_MODELS[shape.modality as 'CT' | 'PT']) : undefined;
    if (name !== undefined && !cards.has(name)) cards.set(name, await resolveModelFiles(name).then((r) => r.card, () => null));
    const card = name !== undefined ? cards.get(name) : null;
    const cap = maxForwardPixels.get(shape.modality);
    series.push(card ? countOrNull(shape, { ...passRequest(card, options), ...(cap !== undefined ? { maxForwardPixels: cap } : {}) }) : null);
  }
  const pixels = series.reduce((sum, c) => sum + (c?.pixels ?? 0), 0);
  const passes = series.reduce((sum, c) => sum + (c?.passes ?? 0), 0);
  if (passes > maxPasses) throw computeBudgetError(series, passes, maxPasses);
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
  // The autoencoder's units do not grow with the steps; the network's do, linearly.
  const fixedUnits = counted.reduce((sum, c) => sum + c.codecUnits, 0);
  const unitsPerStep = counted.reduce((sum, c) => sum + c.networkUnits / c.timesteps, 0);
  const stepsThatFit = Math.floor((maxPasses - fixedUnits) / unitsPerStep);
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
    `this job needs ${formatPasses(passes)} network passes in 512 x 512 units (${what}) but this server allows ${maxPasses.toLocaleString('en-US')} per job (serve --max-job-passes, one unit = one lowdose-ct pass on 512 x 512 pixels); ${advice}`,
  );
}
