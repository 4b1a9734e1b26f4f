/**
 * denoiseBatch in modality units, driven by the model card: maps slices (HU or SUV) into model
 * space, stacks neighbours when the model wants them, runs the reverse process and maps the result
 * (and the ensemble spread) back. What the `denoise` pipeline calls once per batch of slices.
 */
import { performance } from 'node:perf_hooks';
import { consistencyInPixels, type ConsistencySettings } from '../diffusion/consistency.js';
import type { DiffusionModel } from '../diffusion/model.js';
import { fillGaussianAffineMapped } from '../diffusion/gaussian.js';
import { branchFreeLinear, fromModelSpace, fromModelSpaceOfStep, toModelSpaceChecked, type Normalization } from '../diffusion/normalization.js';
import { denoiseBatch, denoiseBatchInto, ensembleMeanStd, type ConditionSource, type DenoiseBatchResult, type DenoiseTiming, type StepInfo } from '../diffusion/sample.js';
import type { Sampler } from '../diffusion/sampler.js';
import { restoreTexture, type Texture } from '../diffusion/texture.js';
import { Workspace } from '../diffusion/workspace.js';
import { smoothLowBand, type LowBandSettings } from '../filters/low-band.js';
import { LowdoseError } from '../errors.js';
import { conditionChannels, latentOf, normalizationFor, type Modality, type ModelCard } from './card.js';
import type { LatentCodec } from './latent.js';

export interface SliceInput {
  /** Index of the slice in its series: the key of its noise stream (same seed + index = same noise). */
  readonly index: number;
  /** rows·columns values in modality units (HU, or SUVbw for PET). */
  readonly image: Float32Array;
  /** The neighbouring slices (models with neighbours: 1); missing at the ends of a stack = the slice itself. */
  readonly below?: Float32Array | null;
  readonly above?: Float32Array | null;
  /** Dose fraction of this slice's acquisition, (0, 1]; 0 or absent = unknown. */
  readonly doseLevel?: number;
  /**
   * Pixels (value 1) the caller filled before the model and puts back after it (padding,
   * out-of-field): full-dose texture leaves them as denoised and takes no residual from them.
   */
  readonly padding?: Uint8Array | null;
}

export interface DenoiseSlicesOptions {
  readonly rows: number;
  readonly columns: number;
  readonly modality: Modality;
  /** Units of the input values; checked against the card when given. */
  readonly units?: string;
  readonly sampler: Sampler;
  readonly steps: number;
  readonly seed: number;
  /** Default: the card's guidance.default. */
  readonly guidance?: number;
  readonly samples?: number;
  /** Geometric self-ensemble size (1, 2, 4 or 8; default 1): ../diffusion/orientations.ts. */
  readonly orientations?: number;
  /** Measurement consistency (`resolveConsistency`); null or absent: off. Needs `pixelSpacing`. */
  readonly consistency?: ConsistencySettings | null;
  /** DICOM PixelSpacing [row spacing, column spacing], mm: turns the consistency scale into pixels. */
  readonly pixelSpacing?: readonly [number, number];
  /**
   * 'full-dose' puts back the share of the removed noise that gives full-dose noise (./texture.ts),
   * slice by slice after sampling (on the ensemble mean when samples > 1); default 'smooth'. Shaped
   * per frequency when the card carries the model's noise transfer (`texture.transfer`).
   */
  readonly texture?: Texture;
  /** The dose fraction full-dose texture assumes for slices whose doseLevel is unknown (0 or absent). */
  readonly textureDose?: number;
  /**
   * Low-band denoising of each denoised slice (../filters/low-band.ts), before full-dose texture
   * (which then puts back a share of the input's noise on the cleaner low band); null or absent: off.
   */
  readonly lowBand?: LowBandSettings | null;
  /** Also return every ensemble member per slice (`samples` in the result). */
  readonly keepSamples?: boolean;
  /** After every sampler step; for a latent model its arrays are latents (c·h rows of w, ./latent.ts), not images. */
  readonly onStep?: (info: StepInfo) => void;
  /**
   * Buffers kept between calls (the Denoiser's): the call borrows it, or a fresh one when another
   * call holds it. The returned arrays are always the caller's own.
   */
  readonly workspace?: Workspace;
  /**
   * Where to write the denoised slices (one array of rows·columns per slice, not aliasing any
   * input): a caller that reuses them saves allocating and collecting a new array per slice.
   * Default: new arrays.
   */
  readonly outputs?: readonly Float32Array[];
}

export interface DenoiseSlicesResult {
  /** One denoised image per input slice, modality units. */
  readonly denoised: Float32Array[];
  /** Per-pixel standard deviation over the ensemble, modality units; null when samples = 1. */
  readonly std: Float32Array[] | null;
  /** Per slice its K members, modality units; only with `keepSamples` and samples > 1. */
  readonly samples: Float32Array[][] | null;
  readonly timing: DenoiseTiming;
}

/** A model as denoiseSlices takes it: a latent model (card space "latent") comes with its codec. */
export type CardModel = DiffusionModel & { readonly card: ModelCard; readonly codec?: LatentCodec | null };

export async function denoiseSlices(
  model: CardModel,
  slices: readonly SliceInput[],
  options: DenoiseSlicesOptions,
): Promise<DenoiseSlicesResult> {
  const card = model.card;
  const norm = normalizationFor(card, options.modality);
  if (options.units !== undefined && options.units !== norm.units) {
    throw new LowdoseError('E_MODEL', `model ${card.name} expects ${options.modality} in ${norm.units}, the series is in ${options.units}`);
  }
  const run = (workspace: Workspace) => denoiseWith(model, slices, options, norm, workspace);
  return options.workspace ? options.workspace.run(run) : run(new Workspace());
}

async function denoiseWith(
  model: CardModel,
  slices: readonly SliceInput[],
  options: DenoiseSlicesOptions,
  norm: Normalization,
  workspace: Workspace,
): Promise<DenoiseSlicesResult> {
  const card = model.card;
  const { rows, columns } = options;
  const image = rows * columns;
  const C = conditionChannels(card);
  const B = slices.length;
  const K = options.samples ?? 1;
  const outputs = options.outputs;
  if (outputs && (outputs.length !== B || outputs.some((o) => o.length !== image))) {
    throw new LowdoseError('E_INTERNAL', `denoiseSlices: ${outputs.length} output arrays for ${B} slices of ${rows}x${columns}`);
  }
  const condition = workspace.get('sliceCondition', B * C * image);
  for (const slice of slices) {
    for (const values of C === 1 ? [slice.image] : [slice.image, slice.below, slice.above]) {
      if (values && values.length !== image) throw new LowdoseError('E_INTERNAL', `slice ${slice.index}: ${values.length} values for ${rows}x${columns}`);
    }
  }
  const latent = latentOf(card);
  // One channel, one sample, a branch-free linear mapping: the sampler writes the condition itself,
  // in the same pass as its start where it can (denoiseBatch's conditionSource; the same bits).
  const linear = C === 1 && K === 1 && !latent ? branchFreeLinear(norm) : null;
  const conditionSource: ConditionSource | null = linear && {
    map: (b, out) => {
      if (!toModelSpaceChecked(norm, slices[b]!.image, out)) throw nonFiniteInput(slices[b]!.index, slices[b]!.image, null);
    },
    mapWithStart: (b, cond, rng, a, s, out) => {
      const values = slices[b]!.image;
      if (!fillGaussianAffineMapped(rng, values, linear.lo, linear.hi, linear.offset, linear.inv, cond, a, s, out)) throw nonFiniteInput(slices[b]!.index, values, null);
    },
  };
  if (!conditionSource) {
    slices.forEach((slice, b) => {
      const stack = C === 1 ? [slice.image] : [slice.below ?? slice.image, slice.image, slice.above ?? slice.image];
      stack.forEach((values, c) => {
        if (!toModelSpaceChecked(norm, values, condition.subarray((b * C + c) * image, (b * C + c + 1) * image))) {
          throw nonFiniteInput(slice.index, values, stack.length === 1 ? null : (['below', 'image', 'above'] as const)[c]!);
        }
      });
    });
  }
  const consistency = options.consistency ?? null;
  if (consistency && !options.pixelSpacing) {
    throw new LowdoseError('E_INTERNAL', 'denoiseSlices: measurement consistency needs the pixel spacing (its scale is in mm)');
  }
  let result: Pick<DenoiseBatchResult, 'mean' | 'std' | 'samples' | 'timing'>;
  let denoisedLanes: Float32Array[] | null = null;
  if (latent) {
    if (!model.codec) throw new LowdoseError('E_INTERNAL', `model ${card.name} is a latent model but came without its encoder and decoder`);
    if (consistency) {
      throw new LowdoseError('E_USAGE', `measurement consistency works on the image, and ${card.name} samples a latent: use --consistency 0 with it`);
    }
    if ((options.orientations ?? 1) !== 1) {
      throw new LowdoseError('E_USAGE', `orientations turn the image, and ${card.name} samples a latent (channels stacked as rows): use --orientations 1 with it`);
    }
    result = await denoiseLatent(model, model.codec, condition, slices, options, norm, workspace);
  } else {
    const batchOptions = {
      model,
      sampler: options.sampler,
      steps: options.steps,
      height: rows,
      width: columns,
      condition,
      sliceIndices: slices.map((s) => s.index),
      doseLevel: slices.map((s) => s.doseLevel ?? 0),
      modality: options.modality === 'PT' ? 1 : 0,
      seed: options.seed,
      guidance: options.guidance ?? card.guidance.default,
      samples: K,
      ...(options.orientations !== undefined ? { orientations: options.orientations } : {}),
      workspace,
      ...(conditionSource ? { conditionSource } : {}),
      ...(options.keepSamples ? { keepSamples: true } : {}),
      ...(options.onStep ? { onStep: options.onStep } : {}),
      ...(consistency && options.pixelSpacing ? { consistency: consistencyInPixels(consistency, options.pixelSpacing) } : {}),
    };
    if (K === 1) {
      // One sample per slice: mapped back straight into the arrays handed out, in the same pass as
      // the last sampler step where the sampler allows (denoiseBatchInto).
      const into = outputs ? [...outputs] : Array.from({ length: B }, () => new Float32Array(image));
      const run = await denoiseBatchInto(batchOptions, {
        into,
        map: (lane, out) => void fromModelSpace(norm, lane, out),
        mapStep: (x, o, px, po, out) => void fromModelSpaceOfStep(norm, x, o, px, po, out),
      });
      result = { mean: new Float32Array(0), std: null, samples: null, timing: run.timing };
      denoisedLanes = into;
    } else {
      // An ensemble's mean and SD are taken in modality units, so its members are mapped back first.
      result = await denoiseBatch({ ...batchOptions, toOutput: (values: Float32Array) => void fromModelSpace(norm, values, values) });
    }
  }
  const split = (values: Float32Array) => Array.from({ length: B }, (_, b) => values.slice(b * image, (b + 1) * image));
  const lane = (values: Float32Array, b: number) => values.subarray(b * image, (b + 1) * image);
  // In modality units already: the slices of one sample each, an ensemble's mean, and everything a
  // latent model returns.
  const denoised =
    denoisedLanes ??
    (outputs
      ? outputs.map((out, b) => {
          out.set(lane(result.mean, b));
          return out;
        })
      : split(result.mean));
  if (options.lowBand) {
    const { strength, factor, filter } = options.lowBand;
    for (const out of denoised) out.set(smoothLowBand(out, rows, columns, { strength, factor, filter }).data);
  }
  if (options.texture === 'full-dose') {
    const transfer = card.texture?.transfer ?? null;
    slices.forEach((slice, b) => {
      const dose = slice.doseLevel && slice.doseLevel > 0 ? slice.doseLevel : options.textureDose;
      if (dose === undefined) {
        throw new LowdoseError('E_USAGE', `full-dose texture needs the input's dose (slice ${slice.index}: unknown, and no default given)`);
      }
      restoreTexture(slice.image, denoised[b]!, { dose, clip: norm.clip, keep: slice.padding, transfer, rows, columns }, denoised[b]);
    });
  }
  const members = result.samples
    ? Array.from({ length: B }, (_, b) => Array.from({ length: K }, (_, k) => result.samples!.slice((b * K + k) * image, (b * K + k + 1) * image)))
    : null;
  return { denoised, std: result.std ? split(result.std) : null, samples: members, timing: result.timing };
}

/**
 * The latent path (card space "latent"): encode the low-dose slices (the condition, and the warm
 * start's starting point), run the same reverse process on the latents, decode every ensemble
 * member and take mean and SD on the decoded images (modality units), so `samples` and uncertainty
 * mean what they mean for a pixel model.
 */
async function denoiseLatent(
  model: DiffusionModel & { readonly card: ModelCard },
  codec: LatentCodec,
  condition: Float32Array,
  slices: readonly SliceInput[],
  options: DenoiseSlicesOptions,
  norm: Normalization,
  workspace: Workspace,
): Promise<Pick<DenoiseBatchResult, 'mean' | 'std' | 'samples' | 'timing'>> {
  const started = performance.now();
  const before = { ...codec.stats };
  const { rows, columns } = options;
  const image = rows * columns;
  const B = slices.length;
  const K = options.samples ?? 1;
  const { latent, grid } = await codec.encode(condition, B, rows, columns);
  const run = await denoiseBatch({
    model,
    sampler: options.sampler,
    steps: options.steps,
    // c latent channels of h x w as one image of c·h rows (OnnxDiffusionModel reshapes it back).
    height: grid.channels * grid.rows,
    width: grid.columns,
    condition: latent,
    sliceIndices: slices.map((s) => s.index),
    doseLevel: slices.map((s) => s.doseLevel ?? 0),
    modality: options.modality === 'PT' ? 1 : 0,
    seed: options.seed,
    guidance: options.guidance ?? model.card.guidance.default,
    samples: K,
    workspace,
    // Every member back (K > 1): the ensemble statistics are taken on decoded images.
    keepSamples: true,
    ...(options.onStep ? { onStep: options.onStep } : {}),
  });
  const lanes = K === 1 ? run.mean : run.samples!;
  const decoded = await codec.decode(lanes, B * K, grid, rows, columns);
  fromModelSpace(norm, decoded, decoded);
  let mean = decoded;
  let std: Float32Array | null = null;
  if (K > 1) {
    mean = new Float32Array(B * image);
    std = new Float32Array(B * image);
    ensembleMeanStd(decoded, B, K, image, mean, std);
  }
  const after = codec.stats;
  return {
    mean,
    std,
    samples: options.keepSamples && K > 1 ? decoded : null,
    timing: {
      totalMs: performance.now() - started,
      modelMs: run.timing.modelMs + after.forwardMs - before.forwardMs,
      modelCalls: run.timing.modelCalls + after.calls - before.calls,
      steps: run.timing.steps,
    },
  };
}

/**
 * NaN or infinite pixels (a NIfTI volume can hold them) would reach the network and spread over
 * its receptive field: refused here, before any work. Callers mark them as not image instead
 * (Denoiser.denoiseImage does: filled for the network, given back unchanged).
 */
function nonFiniteInput(index: number, values: Float32Array, which: 'below' | 'image' | 'above' | null): LowdoseError {
  let count = 0;
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i]!)) count++;
  const what = which === null || which === 'image' ? `slice ${index}` : `the neighbour ${which} slice ${index}`;
  return new LowdoseError(
    'E_USAGE',
    `${what} has ${count} NaN or infinite pixel${count === 1 ? '' : 's'}: mark them as padding first (nonFinitePadding and fillPadding; Denoiser.denoiseImage does both)`,
  );
}
