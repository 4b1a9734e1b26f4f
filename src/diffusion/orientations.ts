/**
 * Geometric self-ensemble: the network's prediction averaged over K of the image's 8 dihedral
 * orientations (flips and transposes), each turned back before averaging. The networks were
 * trained with random flips and transposes (docs/training.md), so each orientation is an equally
 * valid view of the slice and their estimation errors partly cancel; a chosen subgroup keeps the
 * averaged model exactly equivariant to it (K = 2: the 180 degree turn; 4: the quarter turns; 8: all).
 *
 * It wraps any DiffusionModel, so every sampler, guidance and the consistency step work unchanged;
 * each reverse step then costs K forward passes.
 */
import { LowdoseError } from '../errors.js';
import type { DiffusionModel, ForwardStats, ModelBatch } from './model.js';

/** Orientation codes: bit 0 flips the columns, bit 1 the rows, bit 2 then transposes. */
export type Orientation = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7;

/** The first K of these form a subgroup for K = 1, 2, 4 and 8: identity, half turn, quarter turns, then mirrors. */
export const ORIENTATION_ORDER: readonly Orientation[] = [0, 3, 5, 6, 1, 2, 4, 7];
export const ORIENTATION_COUNTS = [1, 2, 4, 8] as const;

export function isTransposed(o: Orientation): boolean {
  return (o & 4) !== 0;
}

/**
 * Writes `planes` images of rows x cols from `src` into `out` in orientation o (out's images are
 * cols x rows when o transposes). `inverse` maps an oriented image back: then rows x cols are the
 * ORIGINAL sizes and `src` holds oriented images.
 */
export function orientPlanes(src: Float32Array, planes: number, rows: number, cols: number, o: Orientation, out: Float32Array, inverse = false): void {
  const plane = rows * cols;
  if (src.length < planes * plane || out.length < planes * plane) throw new LowdoseError('E_INTERNAL', `orientPlanes: ${planes} planes of ${rows}x${cols} do not fit`);
  const t = isTransposed(o);
  const flipRows = (o & 2) !== 0;
  const flipCols = (o & 1) !== 0;
  const orientedCols = t ? rows : cols;
  for (let p = 0; p < planes; p++) {
    const base = p * plane;
    for (let r = 0; r < rows; r++) {
      const rr = flipRows ? rows - 1 - r : r;
      for (let c = 0; c < cols; c++) {
        const cc = flipCols ? cols - 1 - c : c;
        const oriented = base + (t ? cc * orientedCols + rr : rr * orientedCols + cc);
        const original = base + r * cols + c;
        if (inverse) out[original] = src[oriented]!;
        else out[oriented] = src[original]!;
      }
    }
  }
}

/** Checks a requested orientation count (1, 2, 4 or 8). */
export function checkOrientationCount(k: number): void {
  if (!(ORIENTATION_COUNTS as readonly number[]).includes(k)) {
    throw new LowdoseError('E_USAGE', `orientations must be 1, 2, 4 or 8 (a subgroup of the 8 flips and turns), got ${k}`);
  }
}

/** The network averaged over the first K orientations of ORIENTATION_ORDER. */
export class OrientedEnsembleModel implements DiffusionModel {
  readonly conditionChannels: number;
  readonly supportsConditionMask: boolean;
  private readonly orientations: readonly Orientation[];
  /** Per caller conditionId, one stable id per orientation, so wrappers below may still reuse work. */
  private readonly ids = new WeakMap<object, object[]>();
  private buffers: { key: string; sample: Float32Array; condition: Float32Array; out: Float32Array } | null = null;

  constructor(
    readonly inner: DiffusionModel,
    readonly count: number,
  ) {
    checkOrientationCount(count);
    this.orientations = ORIENTATION_ORDER.slice(0, count);
    this.conditionChannels = inner.conditionChannels;
    this.supportsConditionMask = inner.supportsConditionMask;
  }

  get stats(): ForwardStats {
    return this.inner.stats;
  }

  async predict(batch: ModelBatch, out: Float32Array): Promise<void> {
    if (this.count === 1) {
      await this.inner.predict(batch, out);
      return;
    }
    const { batch: b, height: h, width: w } = batch;
    const image = b * h * w;
    const channels = this.conditionChannels;
    const key = `${b}x${h}x${w}`;
    if (this.buffers?.key !== key) {
      this.buffers = { key, sample: new Float32Array(image), condition: new Float32Array(image * channels), out: new Float32Array(image) };
    }
    const buf = this.buffers;
    let ids: object[] | undefined;
    if (batch.conditionId) {
      ids = this.ids.get(batch.conditionId);
      if (!ids) {
        ids = this.orientations.map(() => ({}));
        this.ids.set(batch.conditionId, ids);
      }
    }
    out.fill(0);
    const weight = 1 / this.count;
    for (const [k, o] of this.orientations.entries()) {
      // The condition is re-oriented every step: a few passes over memory against a network pass.
      orientPlanes(batch.sample, b, h, w, o, buf.sample);
      orientPlanes(batch.condition, b * channels, h, w, o, buf.condition);
      const t = isTransposed(o);
      await this.inner.predict(
        {
          ...batch,
          height: t ? w : h,
          width: t ? h : w,
          sample: buf.sample,
          condition: buf.condition,
          ...(ids ? { conditionId: ids[k]! } : {}),
        },
        buf.out,
      );
      // Back to the caller's orientation, accumulated into out (buf.sample is free again).
      orientPlanes(buf.out, b, h, w, o, buf.sample, true);
      for (let i = 0; i < image; i++) out[i]! += weight * buf.sample[i]!;
    }
  }
}
