/**
 * How much memory a denoise job needs, and whether it fits the memory budget: the one place that
 * decides, used by `lowdose denoise` (and everything that runs denoisePaths: qa, demo, the
 * server's jobs), by the server's POST /api/jobs before it accepts a job, and by `lowdose bench`.
 *
 * THE RULE: a job runs only if its estimated peak memory fits the budget, and no network forward
 * call ever takes more than MAX_FORWARD_PIXELS input pixels nor more activation memory than the
 * budget leaves, whatever batch x samples asks: the sampler then feeds the network in chunks
 * (src/diffusion/tiling.ts), it does not refuse. What cannot be chunked (the sampler's own
 * buffers, batch x samples images of the slice size, doubled for guidance) must fit, or the job
 * is refused before any work with E_MEMORY_BUDGET (exit 2, HTTP 400) naming the estimate and the
 * budget. `POST /api/jobs {"steps":1000,"samples":64,"batch":256,"sampler":"ddpm"}` on a 3-slice
 * 512 x 512 series once ran 192 images through one forward call (36 GB of activations) and the
 * kernel killed the server at 24 GB.
 *
 * The estimate (bytes), for a series of R x C slices, P = R x C:
 * - runtime: RUNTIME_BYTES (Node.js, onnxruntime and a small model, measured 110-125 MB);
 * - sampler: lanes L = min(batch, slices) x samples; float32 buffers of P per lane: x_t, model
 *   output, x̂_0, noise scratch (4), plus the condition and low-dose copies per ensemble member
 *   (C + 1 when samples > 1), plus the doubled batch of classifier-free guidance (4 + 2C when
 *   guidance != 1), plus the turned copies of the orientation ensemble (2 + C when orientations > 1), plus tiling's condition tiles and float64 accumulator (C x tile coverage + 2
 *   per forward lane when the image is tiled);
 * - pipeline: per slice of the batch, C + 9 images (condition, mean, std, their copies, the slice
 *   window, the written values, the preview);
 * - batches in flight (DENOISE_PIPELINE): `denoise` keeps a second batch in the sampler while the
 *   first is in the network, so the sampler's buffers count twice, and the second batch holds C + 3
 *   more images per slice (its window slices, padding-filled copies and output set);
 * - the network's thread (DENOISE_PIPELINE.networkOnWorker): WORKER_BYTES, plus per forward call
 *   its inputs and outputs twice (C + 2 images per input image: the worker's own copies for
 *   onnxruntime, and the staging copies of tensors not on shared memory);
 * - activations: one forward call's inputs x activationBytesPerPixel(card), where a network with
 *   channel widths c_l at level l (training.channels of the card; DEFAULT_CHANNELS when absent)
 *   holds ACTIVATION_TENSORS float32 tensors of sum_l c_l / 4^l channels at full resolution. For
 *   lowdose-ct ([16, 32, 64]) that is 896 bytes per pixel; measured 711 to 752
 *   (`npx tsx scripts/bench/forward-memory.ts --size 512 --batch 4`, docs/benchmarks.md). A latent
 *   model's network runs on a grid its c latent channels smaller: lowdose-ct-latent ([32, 64, 128],
 *   c 16) 112 bytes per slice pixel, measured 103 (same command with `--model lowdose-ct-latent`).
 * - bookkeeping: SLICE_BOOKKEEPING_BYTES per slice of the series, what `denoise` keeps of every
 *   slice until the series is finished (its slice reference, the hashes of its input for a rerun's
 *   check, the file it was written to), whatever the slices' size; MULTI_FRAME_PET_FRAME_BYTES
 *   instead per frame of a multi-frame PET source (SeriesShape.multiFramePetFrames).
 * Classical filters: runtime + bookkeeping + CLASSICAL_IMAGES_PER_SLICE images per slice of the batch.
 */
import os from 'node:os';
import process from 'node:process';
import { resolveConsistency } from '../diffusion/consistency.js';
import { passRequest, type SeriesShape } from './compute-budget.js';
import { planTiles } from '../diffusion/tiling.js';
import { LowdoseError } from '../errors.js';
import { formatBytes, readByteSize } from '../util/bytes.js';
import { conditionChannels, latentOf, resolveModelFiles, type ModelCard } from '../models/index.js';
import { DEFAULT_MODELS } from '../models/denoiser.js';
import type { Series } from '../dicom/index.js';
import type { DenoiseMethod, DenoiseOptions } from './types.js';

/** The environment variable that sets the budget (bytes, or with a unit: "8G", "512M", "1.5GiB"). */
export const MEMORY_BUDGET_ENV = 'LOWDOSE_MEMORY_BUDGET';
/** Input pixels of one forward call at most (16 slices of 512 x 512), whatever the budget. */
export const MAX_FORWARD_PIXELS = 16 * 512 * 512;
/** Node.js, onnxruntime and a small model, before any image. */
export const RUNTIME_BYTES = 256 * 2 ** 20;
/** Live float32 tensors per channel of the network's widest resolution (measured 6.4, with margin). */
export const ACTIVATION_TENSORS = 8;
/** Channel widths assumed for a card that does not state its own (training.channels). */
export const DEFAULT_CHANNELS: readonly number[] = [64, 128, 256];
/**
 * A worker thread running the network (src/runtime/worker-session.ts): its V8 isolate and
 * onnxruntime's second environment; measured 37 to 40 MB more resident memory than the same
 * denoiser on the main thread (512 x 512, batch 1, the copies included).
 */
export const WORKER_BYTES = 48 * 2 ** 20;
/**
 * How `lowdose denoise` runs a diffusion model (src/pipeline/denoise.ts): two batches in flight
 * (one in the network while the next is mapped and noised, the one before mapped back and written),
 * the network on a worker thread. The memory plan counts both.
 */
export const DENOISE_PIPELINE = { batchesInFlight: 2, networkOnWorker: true } as const;
/** Working images per slice of a classical filter (bilateral / NLM keep several float64 planes). */
export const CLASSICAL_IMAGES_PER_SLICE = 24;
/**
 * What `denoise` keeps per slice of a series until it is finished, whatever the slices' size: peak
 * RSS 271,384 kB for 1,000 frames of 1 x 1 and 353,460 kB for 10,000, 9.1 KiB a slice, rounded up:
 * `/usr/bin/python3 test/dicom/data/write-many-frames.py …/eCT_Supplemental.dcm D/f.dcm N` and
 * `/usr/bin/time -v node bin/lowdose.js denoise D -o OUT --method gaussian --json` (docs/benchmarks.md).
 * A frame of a multi-frame PET source costs more: MULTI_FRAME_PET_FRAME_BYTES instead.
 */
export const SLICE_BOOKKEEPING_BYTES = 10 * 1024;
/**
 * What `denoise` costs per frame of a multi-frame (Enhanced, Legacy Converted Enhanced) PET source,
 * instead of SLICE_BOOKKEEPING_BYTES, whatever the frames' size: the parsed file with every frame's
 * functional groups, its image header and classic PET plan stay while the series is read and
 * written, and the heap the writer's per-frame work grows with them. Peak RSS 268,116 kB for 1,000
 * frames of 4 x 4 and 450,892 kB for 3,000, 91.4 KiB a frame, rounded up:
 * `/usr/bin/python3 test/dicom/data/write-many-pet-frames.py OUT/enhanced/enhanced.dcm D/pet.dcm N`
 * (after `make-enhanced-pet.py`) and `/usr/bin/time -v node bin/lowdose.js denoise D -o OUT --method
 * gaussian --json` (docs/benchmarks.md).
 */
export const MULTI_FRAME_PET_FRAME_BYTES = 96 * 1024;

/** Half the machine's memory (or its cgroup limit), and no more than 90 % of what is free now. */
export function defaultMemoryBudget(): number {
  const constrained = typeof process.constrainedMemory === 'function' ? process.constrainedMemory() : 0;
  const total = constrained && constrained > 0 && constrained < os.totalmem() ? constrained : os.totalmem();
  return Math.floor(Math.min(total / 2, 0.9 * os.freemem()));
}

/** The smallest memory budget: 64 MiB. */
export const MIN_MEMORY_BUDGET = 64 * 2 ** 20;
/** The largest: 2^53 - 1 bytes (just below 8192T), the largest whole number a double holds exactly. */
export const MAX_MEMORY_BUDGET = Number.MAX_SAFE_INTEGER;

/**
 * "12G", "512M", "1.5GiB", "2e9" or a whole number of bytes → bytes; E_USAGE for anything else,
 * below 64M, from 8192T (2^53 bytes: there the count of bytes is no longer exact) or a
 * fraction of a byte without a unit ("67108864.5").
 */
export function parseMemorySize(text: string, what = 'memory budget'): number {
  const bytes = readByteSize(text);
  if (bytes === null || bytes < MIN_MEMORY_BUDGET || bytes > MAX_MEMORY_BUDGET) {
    throw new LowdoseError('E_USAGE', `${what} must be a size of at least 64M and below 8192T (2^53 bytes) such as 8G, 512M, 1.5GiB or a whole number of bytes, got "${text}"`);
  }
  return bytes;
}

/** A budget given as bytes (a program's, not a text): a whole number from 64M to 2^53 - 1, else E_USAGE. */
export function checkMemoryBytes(bytes: number, what = 'memory budget'): number {
  if (!Number.isInteger(bytes) || bytes < MIN_MEMORY_BUDGET || bytes > MAX_MEMORY_BUDGET) {
    throw new LowdoseError('E_USAGE', `${what} must be a whole number of bytes, at least 64M and below 8192T (2^53), got ${bytes}`);
  }
  return bytes;
}

export interface MemoryBudget {
  readonly bytes: number;
  /** Where it came from: the option, the environment variable, or the machine. */
  readonly source: 'option' | 'environment' | 'machine';
}

/** The budget: an explicit value, else LOWDOSE_MEMORY_BUDGET, else defaultMemoryBudget(). */
export function resolveMemoryBudget(explicit?: number | string, env: NodeJS.ProcessEnv = process.env): MemoryBudget {
  if (explicit !== undefined) {
    return { bytes: typeof explicit === 'number' ? checkMemoryBytes(explicit, '--memory-budget') : parseMemorySize(explicit, '--memory-budget'), source: 'option' };
  }
  const fromEnv = env[MEMORY_BUDGET_ENV];
  if (fromEnv !== undefined && fromEnv.trim() !== '') return { bytes: parseMemorySize(fromEnv, MEMORY_BUDGET_ENV), source: 'environment' };
  return { bytes: defaultMemoryBudget(), source: 'machine' };
}

/** One series of a job, as the estimate needs it (shared with the compute count). */
export type { SeriesShape } from './compute-budget.js';

/** What a job asks for: the denoiser options that change its memory. */
export interface MemoryRequest {
  readonly method: DenoiseMethod;
  /** The model card (diffusion only). */
  readonly card?: ModelCard;
  readonly batch: number;
  readonly samples: number;
  readonly guidance: number;
  /** Flips and turns each prediction is averaged over (default 1). */
  readonly orientations?: number;
  readonly consistency: boolean;
  /** Batches in the sampler at once (default 1; `denoise`: DENOISE_PIPELINE.batchesInFlight). */
  readonly batchesInFlight?: number;
  /** Whether the network runs on a worker thread (default false; `denoise`: DENOISE_PIPELINE.networkOnWorker). */
  readonly networkOnWorker?: boolean;
}

export interface MemoryPlan {
  /** Estimated peak bytes. */
  readonly bytes: number;
  readonly budgetBytes: number;
  readonly fits: boolean;
  readonly parts: { readonly runtime: number; readonly bookkeeping: number; readonly sampler: number; readonly pipeline: number; readonly activations: number };
  /** Batches in the sampler at once, as planned. */
  readonly batchesInFlight: number;
  /** Images (or tiles) the sampler hands the network per step: batch x samples (x 2 with guidance) x tiles. */
  readonly forwardInputs: number;
  /** Images (or tiles) per forward call after chunking (diffusion; 0 for filters). */
  readonly forwardBatch: number;
  /** The cap to give the model: input pixels per forward call. */
  readonly maxForwardPixels: number;
  /** Human description of the job's size, for messages. */
  readonly description: string;
}

/**
 * Activation bytes per input pixel of a forward call (see the module comment). A latent model's
 * forward input is its c latent channels of h x w laid out as one c·h x w image, as many values as
 * the slice has pixels, while the network's own tensors are h x w: so per counted pixel it holds
 * 1/c of a pixel model's with the same channel widths.
 */
export function activationBytesPerPixel(card: ModelCard): number {
  const stated = (card.training as { channels?: unknown }).channels;
  const channels =
    Array.isArray(stated) && stated.length > 0 && stated.every((c) => typeof c === 'number' && c > 0) ? (stated as number[]) : DEFAULT_CHANNELS;
  const fullResolutionChannels = channels.reduce((sum, c, level) => sum + c / 4 ** level, 0);
  const latent = latentOf(card);
  return (4 * ACTIVATION_TENSORS * fullResolutionChannels) / (latent ? latent.channels : 1);
}

/** What `denoise` keeps of every slice of a series until it is finished (see the module comment). */
export function bookkeepingBytes(shape: Pick<SeriesShape, 'slices' | 'multiFramePetFrames'>): number {
  const petFrames = Math.min(shape.slices, shape.multiFramePetFrames ?? 0);
  return SLICE_BOOKKEEPING_BYTES * (shape.slices - petFrames) + MULTI_FRAME_PET_FRAME_BYTES * petFrames;
}

/** A series' shape as the estimate needs it: its slice size, slice count, modality and frames of multi-frame PET files. */
export function seriesShapeOf(series: Pick<Series, 'rows' | 'columns' | 'slices' | 'modality'>): SeriesShape {
  const perFile = new Map<string, number>();
  for (const s of series.slices) perFile.set(s.file, (perFile.get(s.file) ?? 0) + 1);
  const multiFramePetFrames = series.modality === 'PT' ? series.slices.filter((s) => s.frame > 0 || perFile.get(s.file)! > 1).length : 0;
  return { rows: series.rows, columns: series.columns, slices: series.slices.length, modality: series.modality, ...(multiFramePetFrames > 0 ? { multiFramePetFrames } : {}) };
}

/** The estimate for one series and request against `budgetBytes` (pure; see the module comment). */
export function planDenoiseMemory(shape: SeriesShape, request: MemoryRequest, budgetBytes: number): MemoryPlan {
  const P = shape.rows * shape.columns;
  const B = Math.max(1, Math.min(request.batch, shape.slices));
  const size = `${shape.columns} x ${shape.rows}`;
  const bookkeeping = bookkeepingBytes(shape);
  if (request.method !== 'diffusion' || !request.card) {
    const pipeline = 4 * P * B * CLASSICAL_IMAGES_PER_SLICE;
    const bytes = RUNTIME_BYTES + bookkeeping + pipeline;
    return {
      bytes,
      budgetBytes,
      fits: bytes <= budgetBytes,
      parts: { runtime: RUNTIME_BYTES, bookkeeping, sampler: 0, pipeline, activations: 0 },
      batchesInFlight: 1,
      forwardInputs: 0,
      forwardBatch: 0,
      maxForwardPixels: MAX_FORWARD_PIXELS,
      description: `${request.method} on ${B} slice(s) of ${size}`,
    };
  }
  const card = request.card;
  const C = conditionChannels(card);
  const K = Math.max(1, request.samples);
  const G = request.guidance !== 1 ? 2 : 1;
  const L = B * K;
  const fixed = typeof card.inputs.sample.shape[2] === 'number';
  const plan = planTiles(shape.rows, shape.columns, { ...card.tile, fixed });
  const unitPixels = plan.rows.tile * plan.cols.tile;
  const coverage = (plan.tilesPerImage * unitPixels) / P;
  const oriented = (request.orientations ?? 1) > 1;
  const perLane = 4 + (K > 1 ? C + 1 : 0) + (G === 2 ? 4 + 2 * C : 0) + (oriented ? 2 + C : 0) + (plan.trivial ? 0 : G * (C * coverage + 2));
  const inFlight = Math.max(1, Math.min(request.batchesInFlight ?? 1, Math.ceil(shape.slices / B)));
  const worker = request.networkOnWorker ?? false;
  const runtime = RUNTIME_BYTES + (worker ? WORKER_BYTES : 0);
  const sampler = 4 * P * L * perLane * inFlight;
  const pipeline = 4 * P * (B * (C + 9) + (inFlight - 1) * B * (C + 3) + (request.consistency ? 3 : 0));
  const units = L * G * plan.tilesPerImage;
  const perUnit = unitPixels * (activationBytesPerPixel(card) + (worker ? 2 * 4 * (C + 2) : 0));
  const left = budgetBytes - runtime - bookkeeping - sampler - pipeline;
  const byBudget = Math.floor(left / perUnit);
  const byCap = Math.max(1, Math.floor(MAX_FORWARD_PIXELS / unitPixels));
  const forwardBatch = Math.max(1, Math.min(units, byCap, byBudget));
  const activations = forwardBatch * perUnit;
  const bytes = runtime + bookkeeping + sampler + pipeline + activations;
  const guidance = G === 2 ? ' x 2 (guidance)' : '';
  const pipelined = inFlight > 1 ? `, ${inFlight} batches in flight` : '';
  const tiles = plan.trivial ? '' : ` in ${plan.tilesPerImage} tiles of ${plan.cols.tile} x ${plan.rows.tile}`;
  return {
    bytes,
    budgetBytes,
    fits: bytes <= budgetBytes,
    parts: { runtime, bookkeeping, sampler, pipeline, activations },
    batchesInFlight: inFlight,
    forwardInputs: units,
    forwardBatch,
    maxForwardPixels: forwardBatch * unitPixels,
    description: `${B} slice(s) x ${K} sample(s)${guidance} = ${L * G} image(s) of ${size}${tiles} per sampler step${pipelined}`,
  };
}

/**
 * Per modality, the smallest forward-call cap (maxForwardPixels) among the plans of its series: one
 * denoiser serves every series of a modality (src/pipeline/denoise.ts), and the compute count of a
 * fixed-batch graph (./compute-budget.ts) pads each call it makes.
 */
export function forwardLimits(series: ReadonlyArray<Pick<SeriesShape, 'modality'>>, plans: ReadonlyArray<MemoryPlan | null>): Map<string, number> {
  const limits = new Map<string, number>();
  series.forEach((s, i) => {
    const plan = plans[i];
    if (!plan || plan.forwardBatch === 0) return;
    limits.set(s.modality, Math.min(limits.get(s.modality) ?? Infinity, plan.maxForwardPixels));
  });
  return limits;
}

/** The error for a plan that does not fit, with what would: a smaller batch, else fewer samples. */
export function memoryBudgetError(plan: MemoryPlan, budget: MemoryBudget, shape: SeriesShape, request: MemoryRequest): LowdoseError {
  const fits = (batch: number, samples: number) => planDenoiseMemory(shape, { ...request, batch, samples }, budget.bytes).fits;
  const batch = Math.max(1, Math.min(request.batch, shape.slices));
  let advice = 'nothing fits, even one slice and one sample: raise the budget';
  if (RUNTIME_BYTES + plan.parts.bookkeeping > budget.bytes) {
    advice = `what it keeps of each of the ${shape.slices} slices alone (${formatBytes(plan.parts.bookkeeping)}) does not fit: raise the budget`;
  }
  const fittingBatch = largest(batch - 1, (b) => fits(b, request.samples));
  if (fittingBatch > 0) advice = `use --batch ${fittingBatch} or less`;
  else {
    const fittingSamples = largest(request.samples - 1, (k) => fits(1, k));
    if (fittingSamples > 0) advice = `use --batch 1 and --samples ${fittingSamples} or less`;
  }
  const where =
    budget.source === 'option'
      ? 'from --memory-budget'
      : budget.source === 'environment'
        ? `from ${MEMORY_BUDGET_ENV}`
        : `half of this machine's memory; --memory-budget or ${MEMORY_BUDGET_ENV} set another`;
  return new LowdoseError(
    'E_MEMORY_BUDGET',
    `this job needs about ${formatBytes(plan.bytes)} of memory (${plan.description}: sampler ${formatBytes(plan.parts.sampler)}, ` +
      `network ${formatBytes(plan.parts.activations)} per forward call) but the memory budget is ${formatBytes(budget.bytes)} (${where}); ${advice}`,
  );
}

/** The largest n in [1, max] with ok(n) (ok is monotone: true up to some n), or 0. */
function largest(max: number, ok: (n: number) => boolean): number {
  let lo = 0;
  let hi = max;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (ok(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * Plans every series of a job (null where there is nothing to plan: a model that cannot be read,
 * which the denoiser reports itself) and throws E_MEMORY_BUDGET for the first that does not fit.
 * The model cards are read, not loaded, the way the denoiser will find them.
 */
export async function checkJobMemory(
  shapes: readonly SeriesShape[],
  options: Pick<DenoiseOptions, 'method' | 'model' | 'batch' | 'samples' | 'guidance' | 'orientations' | 'consistency' | 'uncertainty' | 'hallucination'>,
  budget: MemoryBudget,
): Promise<Array<MemoryPlan | null>> {
  const method = options.method ?? 'diffusion';
  const cards = new Map<string, ModelCard | null>();
  const plans: Array<MemoryPlan | null> = [];
  for (const shape of shapes) {
    let card: ModelCard | undefined;
    if (method === 'diffusion') {
      const name = options.model ?? DEFAULT_MODELS[shape.modality as 'CT' | 'PT'];
      if (name !== undefined && !cards.has(name)) cards.set(name, await resolveModelFiles(name).then((r) => r.card, () => null));
      card = (name !== undefined ? cards.get(name) : null) ?? undefined;
      if (!card) {
        plans.push(null);
        continue;
      }
    }
    // The card's defaults as the denoiser takes them (a filter: what was asked, else 1).
    const resolved = card ? passRequest(card, options) : { samples: options.samples ?? 1, guidance: options.guidance ?? 1, orientations: options.orientations ?? 1 };
    const request: MemoryRequest = {
      method,
      ...(card ? { card } : {}),
      batch: options.batch ?? 1,
      samples: resolved.samples,
      guidance: resolved.guidance,
      orientations: resolved.orientations,
      consistency: card ? resolveConsistency(card.sampler.consistency, options.consistency) !== null : false,
      // How denoise runs a diffusion model (src/pipeline/denoise.ts).
      ...(method === 'diffusion' ? DENOISE_PIPELINE : {}),
    };
    const plan = planDenoiseMemory(shape, request, budget.bytes);
    if (!plan.fits) throw memoryBudgetError(plan, budget, shape, request);
    plans.push(plan);
  }
  return plans;
}
