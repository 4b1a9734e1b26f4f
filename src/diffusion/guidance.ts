/**
 * Classifier-free guidance (Ho & Salimans 2022) for models trained with a droppable condition:
 *   out = uncond + g · (cond - uncond)
 * where cond / uncond are the outputs with the condition mask 1 / 0. g = 1 is the plain conditional
 * model and costs one pass; otherwise both halves go through the network as one doubled batch.
 */
import { GUIDANCE_MAX } from '../choices.js';
import { LowdoseError } from '../errors.js';
import type { DiffusionModel, ForwardStats, ModelBatch } from './model.js';

/** out = uncond + g (cond - uncond), elementwise; `out` may alias either input. */
export function combineGuidance(cond: Float32Array, uncond: Float32Array, scale: number, out: Float32Array): Float32Array {
  for (let i = 0; i < out.length; i++) {
    const u = uncond[i]!;
    out[i] = u + scale * (cond[i]! - u);
  }
  return out;
}

export class GuidedModel implements DiffusionModel {
  readonly conditionChannels: number;
  readonly supportsConditionMask = true;
  private buffers: {
    key: string;
    sample: Float32Array;
    timestep: Float32Array;
    condition: Float32Array;
    doseLevel: Float32Array;
    conditionMask: Float32Array;
    modality: Float32Array;
    out: Float32Array;
    /** The caller's conditionId whose condition the doubled buffer holds, and the id passed on for it. */
    conditionId: object | undefined;
    innerConditionId: object;
  } | null = null;

  constructor(
    readonly inner: DiffusionModel,
    readonly scale: number,
  ) {
    if (!Number.isFinite(scale)) throw new LowdoseError('E_USAGE', `guidance scale must be a number, got ${scale}`);
    if (scale < 0 || scale > GUIDANCE_MAX) throw new LowdoseError('E_USAGE', `guidance scale must be in [0, ${GUIDANCE_MAX}], got ${scale}`);
    if (scale !== 1 && !inner.supportsConditionMask) {
      throw new LowdoseError('E_USAGE', `guidance ${scale} needs a model trained with condition dropout (a conditionMask input); this model has none, use guidance 1`);
    }
    this.conditionChannels = inner.conditionChannels;
  }

  get stats(): ForwardStats {
    return this.inner.stats;
  }

  async predict(batch: ModelBatch, out: Float32Array): Promise<void> {
    if (this.scale === 1) {
      await this.inner.predict(batch, out);
      return;
    }
    const b = batch.batch;
    const image = b * batch.height * batch.width;
    const cond = image * this.conditionChannels;
    const key = `${b}x${batch.height}x${batch.width}`;
    if (this.buffers?.key !== key) {
      this.buffers = {
        key,
        sample: new Float32Array(2 * image),
        timestep: new Float32Array(2 * b),
        condition: new Float32Array(2 * cond),
        doseLevel: new Float32Array(2 * b),
        conditionMask: new Float32Array(2 * b),
        modality: new Float32Array(2 * b),
        out: new Float32Array(2 * image),
        conditionId: undefined,
        innerConditionId: {},
      };
    }
    const buf = this.buffers;
    // First half conditional, second half with the condition dropped.
    for (const [name, size] of [['sample', image], ['timestep', b], ['doseLevel', b], ['modality', b]] as const) {
      buf[name].set(batch[name], 0);
      buf[name].set(batch[name], size);
    }
    if (batch.conditionId === undefined || batch.conditionId !== buf.conditionId) {
      buf.condition.set(batch.condition, 0);
      buf.condition.set(batch.condition, cond);
      buf.conditionId = batch.conditionId;
      buf.innerConditionId = {};
    }
    buf.conditionMask.fill(1, 0, b);
    buf.conditionMask.fill(0, b);
    await this.inner.predict(
      {
        batch: 2 * b,
        height: batch.height,
        width: batch.width,
        sample: buf.sample,
        timestep: buf.timestep,
        condition: buf.condition,
        doseLevel: buf.doseLevel,
        conditionMask: buf.conditionMask,
        modality: buf.modality,
        ...(batch.conditionId === undefined ? {} : { conditionId: buf.innerConditionId }),
      },
      buf.out,
    );
    combineGuidance(buf.out.subarray(0, image), buf.out.subarray(image), this.scale, out);
  }
}
