/**
 * The reverse process over a batch of slices: start from noise (or the low-dose image), call the
 * model at each timestep, step the sampler. Everything here is in model space; ./denoise-slices.ts
 * wraps it for modality units.
 *
 * Determinism: lane (slice b, ensemble member k) draws all its noise from
 * `new Rng(seed, sliceIndices[b], k)`, so a slice's result depends only on the seed, its global
 * index and its own inputs, never on the batch it shares (bit-identical on the CPU as long as the
 * network's output for one image does not depend on the others in the batch).
 *
 * Overhead: all buffers come from the caller's workspace (or are allocated once per call without
 * one); the per-step work outside the network is one pass of elementwise arithmetic over the
 * batch (plus the noise draw for stochastic samplers).
 */
import { performance } from 'node:perf_hooks';
import { LowdoseError } from '../errors.js';
import { Rng } from '../util/random.js';
import { checkConsistencyConfig, consistencyStep, type ConsistencyConfig } from './consistency.js';
import { GuidedModel } from './guidance.js';
import { OrientedEnsembleModel } from './orientations.js';
import type { DiffusionModel } from './model.js';
import type { Sampler } from './sampler.js';
import { Workspace } from './workspace.js';

export interface StepInfo {
  /** 0-based step number. */
  readonly index: number;
  readonly timestep: number;
  /** x after this step, [lanes, H, W] (lane = slice·samples + member); read only, reused. */
  readonly sample: Float32Array;
  /** x̂_0 at this step, same layout; read only, reused. */
  readonly predOriginalSample: Float32Array;
}

export interface DenoiseBatchOptions {
  model: DiffusionModel;
  sampler: Sampler;
  /** Number of sampler steps (passed to `sampler.setTimesteps`). */
  steps: number;
  height: number;
  width: number;
  /** [B, C, H, W] in model space, C = model.conditionChannels. */
  condition: Float32Array;
  /** Global index of each slice in its series: the noise stream key. Length B. */
  sliceIndices: readonly number[];
  /**
   * [B, H, W] the low-dose image (model space): the start image for warm start / ResShift and the
   * measurement of the consistency step; default: the centre channel of `condition`.
   */
  lowDose?: Float32Array;
  /**
   * Measurement consistency after every step (./consistency.ts): x̂_0 is pulled toward `lowDose`
   * where their low bands disagree beyond the noise, and the step is taken from the corrected x̂_0.
   * Absent or strength 0: off, and the result is bit-identical to a run without it.
   */
  consistency?: ConsistencyConfig;
  /** Dose fraction per slice (or one for all), 0 = unknown (default). */
  doseLevel?: number | ArrayLike<number>;
  /** 0 = CT (default), 1 = PT. */
  modality?: number;
  seed: number;
  /** Classifier-free guidance scale (default 1: conditional only, one pass per step). */
  guidance?: number;
  /**
   * Geometric self-ensemble (./orientations.ts): each prediction averaged over this many of the
   * slice's flips and turns (1, 2, 4 or 8; default 1, bit-identical to a run without it).
   */
  orientations?: number;
  /** Ensemble size K (default 1): K samples per slice, returned as mean and per-pixel std. */
  samples?: number;
  /**
   * Maps a finished sample from model space to the space the mean and std are wanted in (for
   * example modality units), in place. Default: identity.
   */
  toOutput?: (values: Float32Array) => void;
  /** Also return every ensemble member (`samples` in the result), for sample-disagreement maps. */
  keepSamples?: boolean;
  /** Called after every step (for `trace` and progress). */
  onStep?: (info: StepInfo) => void;
  /**
   * Where `condition` comes from when the caller leaves writing it to this call (one channel):
   * slice by slice, before anything reads it, and with one sample per slice in the same pass as the
   * sampler's start where that is affine in the low-dose image (Sampler.initAffine: warm start).
   */
  conditionSource?: ConditionSource;
  /**
   * Buffers to reuse (./workspace.ts), held by this call alone. The arrays of the result are then
   * the workspace's, valid until its next call; without one every buffer is new.
   */
  workspace?: Workspace;
}

export interface DenoiseTiming {
  /** Wall time of the whole call, ms. */
  totalMs: number;
  /** Time inside network forward passes, ms. */
  modelMs: number;
  /** Network forward passes (guidance > 1 runs one doubled batch per step; orientations K run K per step). */
  modelCalls: number;
  steps: number;
}

export interface DenoiseBatchResult {
  /** [B, H, W]: the result (the ensemble mean when samples > 1). */
  mean: Float32Array;
  /** [B, H, W]: per-pixel standard deviation over the ensemble (population, ddof 0); null when samples = 1. */
  std: Float32Array | null;
  /** [B·K, H, W]: every member (lane b·K + k), in output space; only with `keepSamples` and samples > 1. */
  samples: Float32Array | null;
  timing: DenoiseTiming;
}

/** Writes the condition of a batch's slices (model space, one channel) for denoiseBatch. */
export interface ConditionSource {
  /** Writes slice b's condition into `out`. */
  map(b: number, out: Float32Array): void;
  /**
   * The same, and out = a·condition + s·z with z drawn from `rng` as fillNoiseAffine draws it, in
   * one pass: bit for bit `map` followed by fillNoiseAffine.
   */
  mapWithStart(b: number, condition: Float32Array, rng: Rng, a: number, s: number, out: Float32Array): void;
}

/**
 * Where the result of a run with one sample per slice goes, mapped out of model space
 * (`denoiseBatchInto`): one array per slice.
 */
export interface LaneOutput {
  /** One array of height·width per slice, not sharing memory with any input. */
  readonly into: readonly Float32Array[];
  /** Maps a finished lane (model space) into `out`. */
  map(lane: Float32Array, out: Float32Array): void;
  /**
   * The same map of the result of a last linear step (Sampler.finalLinearStep), taken in the same
   * pass: maps px·x + po·o, rounded to float32, into `out`; bit for bit `map` after the step.
   */
  mapStep(x: Float32Array, o: Float32Array, px: number, po: number, out: Float32Array): void;
}

export async function denoiseBatch(options: DenoiseBatchOptions): Promise<DenoiseBatchResult> {
  return sampleBatch(options, null);
}

/**
 * denoiseBatch with one sample per slice, its result mapped into `output.into` (one array per
 * slice) instead of returned. When nothing watches the steps (no onStep, no consistency) and the
 * sampler's last step is linear (DDIM and warm start without clipping), that step and the map are
 * one pass over the slice: the same bits as denoiseBatch followed by the map, with two passes fewer.
 */
export async function denoiseBatchInto(options: DenoiseBatchOptions, output: LaneOutput): Promise<{ timing: DenoiseTiming }> {
  const { timing } = await sampleBatch(options, output);
  return { timing };
}

async function sampleBatch(options: DenoiseBatchOptions, output: LaneOutput | null): Promise<DenoiseBatchResult> {
  const started = performance.now();
  const { sampler, height: H, width: W, sliceIndices, seed } = options;
  const B = sliceIndices.length;
  const K = options.samples ?? 1;
  const C = options.model.conditionChannels;
  const image = H * W;
  if (!Number.isInteger(K) || K < 1) throw new LowdoseError('E_USAGE', `samples must be an integer >= 1, got ${K}`);
  if (B < 1) throw new LowdoseError('E_USAGE', 'denoiseBatch needs at least one slice');
  if (output && (K !== 1 || options.toOutput || output.into.length !== B || output.into.some((o) => o.length !== H * W))) {
    throw new LowdoseError('E_INTERNAL', `denoiseBatchInto: ${output.into.length} output arrays for ${B} slices of ${H}x${W}, ${K} samples each${options.toOutput ? ', and toOutput' : ''}`);
  }
  if (options.condition.length !== B * C * image) {
    throw new LowdoseError('E_INTERNAL', `condition has ${options.condition.length} values, expected ${B}x${C}x${H}x${W}`);
  }
  if (options.lowDose && options.lowDose.length !== B * image) {
    throw new LowdoseError('E_INTERNAL', `lowDose has ${options.lowDose.length} values, expected ${B}x${H}x${W}`);
  }
  const source = options.conditionSource ?? null;
  if (source && C !== 1) throw new LowdoseError('E_INTERNAL', `denoiseBatch: a condition source writes one channel, the model takes ${C}`);
  // The condition and the start in one pass (below), else the condition now, before anything reads it.
  const startWithCondition = source !== null && K === 1 && options.lowDose === undefined && sampler.initAffine !== undefined;
  if (source && !startWithCondition) for (let b = 0; b < B; b++) source.map(b, options.condition.subarray(b * image, (b + 1) * image));
  const guidance = options.guidance ?? 1;
  const guided = guidance === 1 ? options.model : new GuidedModel(options.model, guidance);
  const orientations = options.orientations ?? 1;
  const model = orientations === 1 ? guided : new OrientedEnsembleModel(guided, orientations);
  const statsBefore = { ...options.model.stats };

  const L = B * K;
  const ws = options.workspace ?? new Workspace();
  const rngs = Array.from({ length: L }, (_, lane) => new Rng(seed, sliceIndices[Math.floor(lane / K)]!, lane % K));
  const condition = K === 1 ? options.condition : repeatLanes(options.condition, B, K, C * image, ws.get('laneCondition', L * C * image));
  const doseLevel = ws.get('doseLevel', L);
  for (let lane = 0; lane < L; lane++) {
    const d = options.doseLevel;
    doseLevel[lane] = d === undefined ? 0 : typeof d === 'number' ? d : d[Math.floor(lane / K)]!;
  }
  const batch = {
    batch: L,
    height: H,
    width: W,
    sample: ws.get('sample', L * image),
    timestep: ws.get('timestep', L),
    condition,
    doseLevel,
    conditionMask: ws.get('conditionMask', L).fill(1),
    modality: ws.get('modality', L).fill(options.modality ?? 0),
    // The condition stays the same for every step of this call.
    conditionId: {},
  };
  const modelOut = ws.get('modelOutput', L * image);
  const x0 = ws.get('predOriginalSample', L * image);

  sampler.setTimesteps(options.steps);
  const consistency = options.consistency && options.consistency.strength > 0 ? options.consistency : null;
  if (consistency) checkConsistencyConfig(consistency);
  let lowDose: Float32Array | undefined;
  if (sampler.needsLowDose || consistency) {
    const perSlice = options.lowDose ?? (C === 1 ? options.condition : centreChannel(options.condition, B, C, image, ws.get('centreChannel', B * image)));
    lowDose = K === 1 ? perSlice : repeatLanes(perSlice, B, K, image, ws.get('laneLowDose', L * image));
  }
  if (startWithCondition && source && sampler.initAffine) {
    const { a, s } = sampler.initAffine();
    for (let b = 0; b < B; b++) {
      const lane = (values: Float32Array) => values.subarray(b * image, (b + 1) * image);
      source.mapWithStart(b, lane(options.condition), rngs[b]!, a, s, lane(batch.sample));
    }
  } else {
    sampler.initSample(rngs, batch.sample, lowDose);
  }
  const corrected = consistency ? ws.get('consistency', image) : null;

  const timesteps = sampler.timesteps;
  /** Whether the last step already wrote the result into `output`. */
  let mapped = false;
  const stepBuffers = { prevSample: batch.sample, predOriginalSample: x0 };
  for (let i = 0; i < timesteps.length; i++) {
    const t = timesteps[i]!;
    batch.timestep.fill(t);
    await model.predict(batch, modelOut);
    const fused = output && !consistency && !options.onStep ? (sampler.finalLinearStep?.(t) ?? null) : null;
    if (output && fused) {
      for (let lane = 0; lane < L; lane++) {
        const lo = lane * image;
        output.mapStep(batch.sample.subarray(lo, lo + image), modelOut.subarray(lo, lo + image), fused.px, fused.po, output.into[lane]!);
      }
      mapped = true;
      continue;
    }
    sampler.step(modelOut, t, batch.sample, rngs, stepBuffers);
    if (consistency && corrected && lowDose) {
      const weight = sampler.originalSampleWeight(t);
      for (let lane = 0; lane < L; lane++) {
        const lo = lane * image;
        const laneX0 = x0.subarray(lo, lo + image);
        consistencyStep(laneX0, lowDose.subarray(lo, lo + image), H, W, consistency, corrected, doseLevel[lane]);
        const laneSample = batch.sample.subarray(lo, lo + image);
        for (let p = 0; p < image; p++) {
          laneSample[p]! += weight * (corrected[p]! - laneX0[p]!);
          laneX0[p] = corrected[p]!;
        }
      }
    }
    options.onStep?.({ index: i, timestep: t, sample: batch.sample, predOriginalSample: x0 });
  }

  const result = batch.sample;
  if (output && !mapped) for (let lane = 0; lane < L; lane++) output.map(result.subarray(lane * image, (lane + 1) * image), output.into[lane]!);
  if (options.toOutput) options.toOutput(result);
  let mean: Float32Array;
  let std: Float32Array | null = null;
  if (K === 1) {
    mean = result;
  } else {
    mean = ws.get('mean', B * image);
    std = ws.get('std', B * image);
    ensembleMeanStd(result, B, K, image, mean, std);
  }
  const statsAfter = options.model.stats;
  return {
    mean,
    std,
    samples: options.keepSamples && K > 1 ? result : null,
    timing: {
      totalMs: performance.now() - started,
      modelMs: statsAfter.forwardMs - statsBefore.forwardMs,
      modelCalls: statsAfter.calls - statsBefore.calls,
      steps: timesteps.length,
    },
  };
}

/** [B, size] → [B·K, size] into `out`, each slice repeated K times in a row. */
function repeatLanes(values: Float32Array, B: number, K: number, size: number, out: Float32Array): Float32Array {
  for (let b = 0; b < B; b++) {
    const src = values.subarray(b * size, (b + 1) * size);
    for (let k = 0; k < K; k++) out.set(src, (b * K + k) * size);
  }
  return out;
}

/** [B, C, H, W] → [B, H, W]: channel ⌊C/2⌋, the slice itself when neighbours are stacked around it. */
export function centreChannel(condition: Float32Array, B: number, C: number, image: number, out: Float32Array = new Float32Array(B * image)): Float32Array {
  if (C === 1) return condition;
  const centre = Math.floor(C / 2);
  for (let b = 0; b < B; b++) out.set(condition.subarray((b * C + centre) * image, (b * C + centre + 1) * image), b * image);
  return out;
}

/** Mean and population standard deviation over K consecutive lanes per slice, in float64. */
export function ensembleMeanStd(lanes: Float32Array, B: number, K: number, image: number, mean: Float32Array, std: Float32Array): void {
  for (let b = 0; b < B; b++) {
    const base = b * K * image;
    for (let p = 0; p < image; p++) {
      let sum = 0;
      for (let k = 0; k < K; k++) sum += lanes[base + k * image + p]!;
      const m = sum / K;
      let ss = 0;
      for (let k = 0; k < K; k++) {
        const d = lanes[base + k * image + p]! - m;
        ss += d * d;
      }
      mean[b * image + p] = m;
      std[b * image + p] = Math.sqrt(ss / K);
    }
  }
}
