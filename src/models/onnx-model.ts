/**
 * A network described by a model card, run through an OnnxSession: maps the sampler's ModelBatch
 * onto the graph's input names, in the element types and batch size the graph wants. Untiled; see
 * ./load.ts for the model the pipeline uses.
 */
import { checkModelBatch, type DiffusionModel, type ForwardStats, type ModelBatch } from '../diffusion/model.js';
import { LowdoseError } from '../errors.js';
import type { ForwardSession, TensorData } from '../runtime/session.js';
import { conditionChannels, latentOf, type ModelCard } from './card.js';

const VECTOR_ROLES = ['timestep', 'doseLevel', 'conditionMask', 'modality'] as const;

export class OnnxDiffusionModel implements DiffusionModel {
  readonly conditionChannels: number;
  readonly supportsConditionMask: boolean;
  /** Fixed batch size of the graph, or null when the batch dimension is free. */
  readonly fixedBatch: number | null;
  /**
   * Channels of the network's sample (1; a latent model's latent channels c). The sampler sees a
   * c-channel latent of h x w as one image of height c·h (the same values in the same order), so
   * every sampler, guidance and ensemble runs on latents unchanged; only the graph gets [B, c, h, w].
   */
  readonly sampleChannels: number;
  private int64Timestep: BigInt64Array | null = null;
  private chunk: { sample: Float32Array; condition: Float32Array; vectors: Record<string, Float32Array>; out: Float32Array; key: string } | null = null;

  constructor(
    readonly session: ForwardSession,
    readonly card: ModelCard,
  ) {
    this.conditionChannels = conditionChannels(card);
    this.supportsConditionMask = card.inputs.conditionMask !== undefined;
    const b = card.inputs.sample.shape[0];
    this.fixedBatch = typeof b === 'number' ? b : null;
    this.sampleChannels = latentOf(card)?.channels ?? 1;
  }

  get stats(): ForwardStats {
    return this.session.stats;
  }

  /** Whether a batch goes to the session in one call (no fixed graph batch to fill in chunks). */
  passesThrough(batch: Pick<ModelBatch, 'batch'>): boolean {
    return this.fixedBatch === null || this.fixedBatch === batch.batch;
  }

  async predict(batch: ModelBatch, out: Float32Array): Promise<void> {
    checkModelBatch(batch, this.conditionChannels, out);
    const n = this.fixedBatch;
    if (n === null || batch.batch === n) {
      await this.run(batch, out);
      return;
    }
    await this.predictInChunks(batch, out, n);
  }

  private async run(batch: ModelBatch, out: Float32Array): Promise<void> {
    const { batch: b, width: w } = batch;
    const c = this.sampleChannels;
    if (batch.height % c !== 0) throw new LowdoseError('E_INTERNAL', `latent batch of height ${batch.height} is not ${c} channels high`);
    const h = batch.height / c;
    const inputs = this.card.inputs;
    const feeds: Record<string, TensorData> = {
      [inputs.sample.name]: { data: batch.sample, dims: [b, c, h, w] },
      [inputs.condition.name]: { data: batch.condition, dims: [b, this.conditionChannels * c, h, w] },
    };
    for (const role of VECTOR_ROLES) {
      const spec = inputs[role];
      if (!spec) continue;
      let data: Float32Array | BigInt64Array = batch[role];
      if (role === 'timestep' && spec.dtype === 'int64') data = this.timestepAsInt64(batch.timestep);
      feeds[spec.name] = { data, dims: [b] };
    }
    await this.session.run(feeds, { [this.card.output.name]: { data: out, dims: [b, c, h, w] } });
  }

  private timestepAsInt64(t: Float32Array): BigInt64Array {
    if (this.int64Timestep?.length !== t.length) this.int64Timestep = new BigInt64Array(t.length);
    for (let i = 0; i < t.length; i++) this.int64Timestep[i] = BigInt(Math.round(t[i]!));
    return this.int64Timestep;
  }

  /** Graphs exported with a fixed batch: run n images at a time, padding the last group by repetition. */
  private async predictInChunks(batch: ModelBatch, out: Float32Array, n: number): Promise<void> {
    const { height: h, width: w } = batch;
    const image = h * w;
    const C = this.conditionChannels;
    const key = `${n}x${h}x${w}`;
    if (this.chunk?.key !== key) {
      const vectors: Record<string, Float32Array> = {};
      for (const role of VECTOR_ROLES) vectors[role] = new Float32Array(n);
      this.chunk = { key, sample: new Float32Array(n * image), condition: new Float32Array(n * C * image), vectors, out: new Float32Array(n * image) };
    }
    const buf = this.chunk;
    for (let start = 0; start < batch.batch; start += n) {
      for (let k = 0; k < n; k++) {
        const src = Math.min(start + k, batch.batch - 1);
        buf.sample.set(batch.sample.subarray(src * image, (src + 1) * image), k * image);
        buf.condition.set(batch.condition.subarray(src * C * image, (src + 1) * C * image), k * C * image);
        for (const role of VECTOR_ROLES) buf.vectors[role]![k] = batch[role][src]!;
      }
      await this.run(
        {
          batch: n,
          height: h,
          width: w,
          sample: buf.sample,
          condition: buf.condition,
          timestep: buf.vectors.timestep!,
          doseLevel: buf.vectors.doseLevel!,
          conditionMask: buf.vectors.conditionMask!,
          modality: buf.vectors.modality!,
        },
        buf.out,
      );
      const count = Math.min(n, batch.batch - start);
      out.set(buf.out.subarray(0, count * image), start * image);
    }
  }
}
