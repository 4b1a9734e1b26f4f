/**
 * The reverse (denoising) process of one slice, step by step: at every sampler step the x_t the
 * network was given and the clean image x̂_0 it predicted, in modality units, with their SSIM to
 * the input. Runs the same `denoiseSlices` call as `lowdose denoise`, so the last frame is what
 * denoise would write for this slice with the same seed and slice index.
 */
import { LowdoseError } from '../errors.js';
import type { ConsistencySettings, DenoiseTiming } from '../diffusion/index.js';
import type { DiffusionModel, ModelBatch } from '../diffusion/model.js';
import { fromModelSpace } from '../diffusion/normalization.js';
import { resShiftEtas } from '../diffusion/resshift.js';
import type { Sampler } from '../diffusion/sampler.js';
import { NoiseSchedule, isResShiftSchedule } from '../diffusion/schedules.js';
import { ssim } from '../metrics/ssim.js';
import type { IntensityRange } from '../metrics/range.js';
import { normalizationFor, type Modality, type ModelCard } from '../models/card.js';
import { denoiseSlices } from '../models/denoise-slices.js';

export interface ReverseFrame {
  /** 0-based sampler step. */
  readonly step: number;
  readonly timestep: number;
  /** ᾱ_t of the model's training schedule (null for ResShift, which has η_t instead). */
  readonly alphaBar: number | null;
  /** ResShift's η_t (null for β schedules). */
  readonly eta: number | null;
  /** x_t as the network saw it at this step, modality units. */
  readonly sample: Float32Array;
  /** x̂_0 predicted at this step, modality units. */
  readonly prediction: Float32Array;
  readonly ssimSample: number;
  readonly ssimPrediction: number;
}

export interface ReverseTrace {
  readonly frames: ReverseFrame[];
  /** The result after the last step, modality units. */
  readonly output: Float32Array;
  readonly ssimOutput: number;
  readonly timing: DenoiseTiming;
}

export interface ReverseOptions {
  readonly rows: number;
  readonly columns: number;
  readonly modality: Modality;
  readonly sampler: Sampler;
  readonly steps: number;
  readonly seed: number;
  /** The slice's index in its series (its noise stream, as in denoise). */
  readonly sliceIndex: number;
  readonly guidance?: number;
  readonly doseLevel?: number;
  /** Neighbouring slices for 2.5D models. */
  readonly below?: Float32Array | null;
  readonly above?: Float32Array | null;
  /** Intensity range for SSIM. */
  readonly range: IntensityRange;
  /** Measurement consistency (`resolveConsistency`), with the slice's PixelSpacing; x̂_0 frames show the corrected estimate. */
  readonly consistency?: ConsistencySettings | null;
  readonly pixelSpacing?: readonly [number, number];
}

/** ᾱ_t (or η_t) of a card's training schedule, for labels. */
export function scheduleLevel(card: ModelCard): (t: number) => { alphaBar: number | null; eta: number | null } {
  if (isResShiftSchedule(card.schedule)) {
    const etas = resShiftEtas(card.schedule);
    return (t) => ({ alphaBar: null, eta: etas[t] ?? null });
  }
  const schedule = new NoiseSchedule(card.schedule);
  return (t) => ({ alphaBar: schedule.alphaCumprod(t), eta: null });
}

export async function reverseProcess(
  model: DiffusionModel & { readonly card: ModelCard },
  input: Float32Array,
  options: ReverseOptions,
): Promise<ReverseTrace> {
  if (model.card.space === 'latent') {
    // Its x_t and x̂_0 are latents: a trace would have to decode every frame (not done yet).
    throw new LowdoseError('E_USAGE', `trace shows the reverse process on the image; ${model.card.name} runs it on a latent (space "latent"), which trace does not decode yet`);
  }
  const { rows, columns, range } = options;
  const size = rows * columns;
  const norm = normalizationFor(model.card, options.modality);
  const reference = { rows, columns, data: input };
  const score = (data: Float32Array) => ssim(reference, { rows, columns, data }, range);
  // The sampler's x_t is only visible to the network: record it on the way in (the first lane;
  // with guidance the doubled batch's first half is the conditional copy of the same x_t).
  const seen: Float32Array[] = [];
  const recorder: DiffusionModel & { readonly card: ModelCard } = {
    card: model.card,
    conditionChannels: model.conditionChannels,
    supportsConditionMask: model.supportsConditionMask,
    get stats() {
      return model.stats;
    },
    predict: (batch: ModelBatch, out: Float32Array) => {
      seen.push(batch.sample.slice(0, size));
      return model.predict(batch, out);
    },
  };
  const predictions: Float32Array[] = [];
  const timesteps: number[] = [];
  const result = await denoiseSlices(
    recorder,
    [{ index: options.sliceIndex, image: input, below: options.below ?? null, above: options.above ?? null, doseLevel: options.doseLevel ?? 0 }],
    {
      rows,
      columns,
      modality: options.modality,
      sampler: options.sampler,
      steps: options.steps,
      seed: options.seed,
      ...(options.guidance !== undefined ? { guidance: options.guidance } : {}),
      ...(options.consistency ? { consistency: options.consistency } : {}),
      ...(options.pixelSpacing ? { pixelSpacing: options.pixelSpacing } : {}),
      onStep: (info) => {
        timesteps.push(info.timestep);
        predictions.push(info.predOriginalSample.slice(0, size));
      },
    },
  );
  const level = scheduleLevel(model.card);
  const frames = timesteps.map((timestep, step): ReverseFrame => {
    const sample = fromModelSpace(norm, seen[step]!);
    const prediction = fromModelSpace(norm, predictions[step]!);
    return { step, timestep, ...level(timestep), sample, prediction, ssimSample: score(sample), ssimPrediction: score(prediction) };
  });
  const output = result.denoised[0]!;
  return { frames, output, ssimOutput: score(output), timing: result.timing };
}
