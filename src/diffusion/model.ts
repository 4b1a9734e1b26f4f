/**
 * What the sampling loop needs of a network: one forward pass on a batch of equally sized images.
 * The ONNX-backed implementation is in ../models/onnx-model.ts; tiling and guidance wrap it
 * (./tiling.ts, ./guidance.ts), and tests may pass any object of this shape.
 */
import { LowdoseError } from '../errors.js';
import type { ForwardStats } from '../runtime/session.js';

/** One forward pass's inputs, all in model space. Arrays are read, never kept. */
export interface ModelBatch {
  readonly batch: number;
  readonly height: number;
  readonly width: number;
  /** x_t, [batch, 1, height, width]. */
  readonly sample: Float32Array;
  /** Training timestep index per image (0..T-1, as float), [batch]. */
  readonly timestep: Float32Array;
  /** Low-dose slice (plus neighbours), [batch, conditionChannels, height, width]. */
  readonly condition: Float32Array;
  /** Dose fraction in (0, 1], 0 = unknown, [batch]. */
  readonly doseLevel: Float32Array;
  /** 1 = condition given, 0 = dropped (classifier-free guidance), [batch]. */
  readonly conditionMask: Float32Array;
  /** 0 = CT, 1 = PT, [batch]. */
  readonly modality: Float32Array;
  /**
   * Identity of the condition's content. A caller that passes the same object again promises that
   * `condition` holds the same values as in the last call with it, so wrappers may reuse work
   * derived from it (tiling extracts condition tiles once per batch instead of once per step).
   */
  readonly conditionId?: object;
}

/** The runtime's counters (a session's `stats`); every model wrapper passes them through. */
export type { ForwardStats };

export interface DiffusionModel {
  /** Channels of the condition input: 1, or 3 with the slices below and above. */
  readonly conditionChannels: number;
  /** Whether the network takes a condition mask (needed for guidance other than 1). */
  readonly supportsConditionMask: boolean;
  readonly stats: ForwardStats;
  /** Writes the network output, [batch, 1, height, width], into `out`. */
  predict(batch: ModelBatch, out: Float32Array): Promise<void>;
}

/** Checks that a batch's arrays have the lengths its sizes promise. */
export function checkModelBatch(batch: ModelBatch, conditionChannels: number, out?: Float32Array): void {
  const { batch: b, height: h, width: w } = batch;
  const image = b * h * w;
  const problems: string[] = [];
  if (batch.sample.length !== image) problems.push(`sample has ${batch.sample.length} values, expected ${image}`);
  if (batch.condition.length !== image * conditionChannels) {
    problems.push(`condition has ${batch.condition.length} values, expected ${image * conditionChannels}`);
  }
  for (const key of ['timestep', 'doseLevel', 'conditionMask', 'modality'] as const) {
    if (batch[key].length !== b) problems.push(`${key} has ${batch[key].length} values, expected ${b}`);
  }
  if (out && out.length !== image) problems.push(`output buffer has ${out.length} values, expected ${image}`);
  if (problems.length > 0) throw new LowdoseError('E_INTERNAL', `model batch ${b}x${h}x${w}: ${problems.join('; ')}`);
}
