/**
 * Runs a model on images of any size: splits each image into overlapping tiles of a size the
 * model takes, runs all tiles as one batch, and blends the outputs with smooth weights.
 *
 * Tiling happens at every model call (not once per image): the sampler steps the whole image with
 * one noise field, and only the network sees tiles. Seams are then averaged away at every step, and
 * the noise does not depend on the tile layout.
 *
 * Along each axis of length L, with M = multipleOf, O = overlap and S = size:
 * - no size: one tile of L rounded up to a multiple of M (padded by reflection);
 * - graphs with a fixed input size S: L <= S gives one tile padded by reflection up to S, else
 *   n = ceil((L - S)/(S - O)) + 1 tiles of S;
 * - graphs that take any size, S being the largest tile: L rounded up to M if that is <= S, else
 *   the fewest tiles n (then the smallest edge, a multiple of M, <= S) that overlap by >= O. A
 *   512-pixel axis with S = 256, O = 32, M = 8 gets 3 tiles of 192, not 3 of 256.
 * Several tiles have their origins spread evenly from 0 to L - tile, so they need no padding.
 * Blending weights are a Hann window per axis, w(i) = sin²(π (i + ½) / tile), on axes with more
 * than one tile; outputs are accumulated in float64 and divided by the summed weights, so where
 * all tiles agree (a per-pixel model) the result is bit-identical to an untiled run.
 */
import { LowdoseError } from '../errors.js';
import type { DiffusionModel, ForwardStats, ModelBatch } from './model.js';

export interface TileSpec {
  /** Tile edge the model runs on; absent = whole image (padded to `multipleOf`). */
  readonly size?: number;
  /** Tile edges must be multiples of this (the network's total downsampling factor). */
  readonly multipleOf: number;
  /** Minimum overlap between neighbouring tiles, pixels. */
  readonly overlap: number;
  /** The graph takes exactly size x size (fixed input dimensions), not any size up to it. */
  readonly fixed?: boolean;
}

export interface AxisPlan {
  /** Tile length along this axis (what the model sees). */
  readonly tile: number;
  /** Start of each tile in image coordinates. */
  readonly origins: readonly number[];
  /** Source index for each position of each tile (reflection beyond the image). */
  readonly sourceIndex: readonly Int32Array[];
  /** Blending weight per tile position. */
  readonly weights: Float64Array;
}

export interface TilePlan {
  readonly height: number;
  readonly width: number;
  readonly rows: AxisPlan;
  readonly cols: AxisPlan;
  /** One tile, exactly the image: the model runs on the image itself. */
  readonly trivial: boolean;
  readonly tilesPerImage: number;
}

/** Mirror index without repeating the edge (numpy 'reflect'), for any i, periodic beyond 2L. */
export function reflectIndex(i: number, length: number): number {
  if (length === 1) return 0;
  const period = 2 * (length - 1);
  let m = i % period;
  if (m < 0) m += period;
  return m < length ? m : period - m;
}

export function validateTileSpec(spec: TileSpec): void {
  const { size, multipleOf, overlap } = spec;
  if (!Number.isInteger(multipleOf) || multipleOf < 1) throw new LowdoseError('E_USAGE', `tile multipleOf must be an integer >= 1, got ${multipleOf}`);
  if (!Number.isInteger(overlap) || overlap < 0) throw new LowdoseError('E_USAGE', `tile overlap must be an integer >= 0, got ${overlap}`);
  if (size !== undefined) {
    if (!Number.isInteger(size) || size < 1) throw new LowdoseError('E_USAGE', `tile size must be a positive integer, got ${size}`);
    if (size % multipleOf !== 0) throw new LowdoseError('E_USAGE', `tile size ${size} is not a multiple of ${multipleOf}`);
    if (overlap >= size) throw new LowdoseError('E_USAGE', `tile overlap ${overlap} must be smaller than the tile size ${size}`);
  }
}

export function planAxis(length: number, spec: TileSpec): AxisPlan {
  if (!Number.isInteger(length) || length < 1) throw new LowdoseError('E_USAGE', `image size ${length} is not a positive integer`);
  const { tile, count } = chooseTiles(length, spec);
  const origins = count === 1 ? [0] : Array.from({ length: count }, (_, i) => Math.round((i * (length - tile)) / (count - 1)));
  const sourceIndex = origins.map((o) => Int32Array.from({ length: tile }, (_, i) => reflectIndex(o + i, length)));
  const weights = new Float64Array(tile);
  for (let i = 0; i < tile; i++) weights[i] = count === 1 ? 1 : Math.sin((Math.PI * (i + 0.5)) / tile) ** 2;
  return { tile, origins, sourceIndex, weights };
}

/** Tile edge and count along one axis (see the module comment). */
function chooseTiles(length: number, spec: TileSpec): { tile: number; count: number } {
  const M = spec.multipleOf;
  const O = spec.overlap;
  const roundUp = (x: number) => Math.ceil(x / M) * M;
  // Evenly spread origins are rounded, so neighbours may sit up to ceil(spacing) apart.
  const overlapOk = (tile: number, n: number) => tile - Math.ceil((length - tile) / (n - 1)) >= O;
  if (spec.size === undefined) return { tile: roundUp(length), count: 1 };
  const S = spec.size;
  if (spec.fixed) {
    if (length <= S) return { tile: S, count: 1 };
    let n = Math.ceil((length - S) / (S - O)) + 1;
    while (!overlapOk(S, n)) n++;
    return { tile: S, count: n };
  }
  if (roundUp(length) <= S) return { tile: roundUp(length), count: 1 };
  for (let n = 2; ; n++) {
    for (let tile = roundUp((length + (n - 1) * O) / n); tile <= S; tile += M) {
      if (overlapOk(tile, n)) return { tile, count: n };
    }
  }
}

export function planTiles(height: number, width: number, spec: TileSpec): TilePlan {
  validateTileSpec(spec);
  const rows = planAxis(height, spec);
  const cols = planAxis(width, spec);
  const trivial = rows.origins.length === 1 && cols.origins.length === 1 && rows.tile === height && cols.tile === width;
  return { height, width, rows, cols, trivial, tilesPerImage: rows.origins.length * cols.origins.length };
}

/** Copies tile (r, c) of a [channels, H, W] image into a [channels, tileH, tileW] buffer. */
export function extractTile(
  plan: TilePlan,
  image: Float32Array,
  channels: number,
  r: number,
  c: number,
  out: Float32Array,
): void {
  const { height: H, width: W } = plan;
  const th = plan.rows.tile;
  const tw = plan.cols.tile;
  const rowSrc = plan.rows.sourceIndex[r]!;
  const colSrc = plan.cols.sourceIndex[c]!;
  const co = plan.cols.origins[c]!;
  // Tiles inside the image horizontally copy whole rows; only padded tiles need the index map.
  const inside = co + tw <= W;
  for (let ch = 0; ch < channels; ch++) {
    const src = ch * H * W;
    const dst = ch * th * tw;
    for (let i = 0; i < th; i++) {
      const srcRow = src + rowSrc[i]! * W;
      const dstRow = dst + i * tw;
      if (inside) {
        out.set(image.subarray(srcRow + co, srcRow + co + tw), dstRow);
      } else {
        for (let j = 0; j < tw; j++) out[dstRow + j] = image[srcRow + colSrc[j]!]!;
      }
    }
  }
}

interface ChunkBuffers {
  sample: Float32Array;
  timestep: Float32Array;
  doseLevel: Float32Array;
  conditionMask: Float32Array;
  modality: Float32Array;
  out: Float32Array;
}

/** Everything that depends on the batch's shape, allocated once per shape. */
interface ShapeState {
  key: string;
  plan: TilePlan;
  inverseWeight: Float64Array;
  accumulator: Float64Array;
  chunk: number;
  /** Condition tiles of every tile of the batch, and a view per chunk. */
  conditionTiles: Float32Array;
  conditionViews: Float32Array[];
  /** The conditionId whose tiles `conditionTiles` holds. */
  conditionId: object | undefined;
  chunks: Map<number, ChunkBuffers>;
}

export interface TiledModelOptions {
  /** Most tiles per forward pass (default: all tiles of the batch at once). */
  maxTileBatch?: number;
  /**
   * Most input pixels per forward pass (src/pipeline/memory-budget.ts): a batch of whole images
   * or of tiles above it runs as several passes of consecutive images, never fewer than one image
   * or tile per pass. Default: no limit.
   */
  maxForwardPixels?: number;
}

export class TiledModel implements DiffusionModel {
  readonly conditionChannels: number;
  readonly supportsConditionMask: boolean;
  private state: ShapeState | null = null;

  constructor(
    readonly inner: DiffusionModel,
    readonly spec: TileSpec,
    readonly options: TiledModelOptions = {},
  ) {
    validateTileSpec(spec);
    this.conditionChannels = inner.conditionChannels;
    this.supportsConditionMask = inner.supportsConditionMask;
  }

  get stats(): ForwardStats {
    return this.inner.stats;
  }

  /** Whether a batch of this shape goes to the inner model as it is: one call, no tiles, none of this model's buffers. */
  passesThrough(batch: Pick<ModelBatch, 'batch' | 'height' | 'width'>): boolean {
    const state = this.stateFor(batch.batch, batch.height, batch.width);
    return state.plan.trivial && state.chunk >= batch.batch;
  }

  async predict(batch: ModelBatch, out: Float32Array): Promise<void> {
    const state = this.stateFor(batch.batch, batch.height, batch.width);
    const plan = state.plan;
    if (plan.trivial) {
      if (state.chunk >= batch.batch) await this.inner.predict(batch, out);
      else await this.predictInChunks(batch, out, state.chunk);
      return;
    }
    const { height: H, width: W } = plan;
    const C = this.conditionChannels;
    const th = plan.rows.tile;
    const tw = plan.cols.tile;
    const tileSize = th * tw;
    const image = H * W;
    const total = batch.batch * plan.tilesPerImage;
    const nCols = plan.cols.origins.length;

    if (batch.conditionId === undefined || batch.conditionId !== state.conditionId) {
      for (let index = 0; index < total; index++) {
        const { b, r, c } = tileAt(index, plan.tilesPerImage, nCols);
        const condImage = batch.condition.subarray(b * C * image, (b + 1) * C * image);
        extractTile(plan, condImage, C, r, c, state.conditionTiles.subarray(index * C * tileSize, (index + 1) * C * tileSize));
      }
      state.conditionId = batch.conditionId;
    }

    const acc = state.accumulator;
    acc.fill(0);
    for (let start = 0, chunkIndex = 0; start < total; start += state.chunk, chunkIndex++) {
      const count = Math.min(state.chunk, total - start);
      const buf = chunkBuffers(state, count, tileSize);
      for (let k = 0; k < count; k++) {
        const { b, r, c } = tileAt(start + k, plan.tilesPerImage, nCols);
        extractTile(plan, batch.sample.subarray(b * image, (b + 1) * image), 1, r, c, buf.sample.subarray(k * tileSize, (k + 1) * tileSize));
        buf.timestep[k] = batch.timestep[b]!;
        buf.doseLevel[k] = batch.doseLevel[b]!;
        buf.conditionMask[k] = batch.conditionMask[b]!;
        buf.modality[k] = batch.modality[b]!;
      }
      await this.inner.predict(
        {
          batch: count,
          height: th,
          width: tw,
          sample: buf.sample,
          timestep: buf.timestep,
          condition: state.conditionViews[chunkIndex]!,
          doseLevel: buf.doseLevel,
          conditionMask: buf.conditionMask,
          modality: buf.modality,
          ...(batch.conditionId === undefined ? {} : { conditionId: state }),
        },
        buf.out,
      );
      for (let k = 0; k < count; k++) {
        const { b, r, c } = tileAt(start + k, plan.tilesPerImage, nCols);
        accumulateTile(plan, buf.out, k * tileSize, r, c, acc, b * image);
      }
    }
    divideByWeights(acc, state.inverseWeight, batch.batch, out);
  }

  /**
   * Runs a batch of whole images `lanes` at a time. The images of a batch are consecutive in every
   * array, so each chunk is a view: no copy. (Condition identity is not passed on: each chunk's
   * condition is another part of the batch's.)
   */
  private async predictInChunks(batch: ModelBatch, out: Float32Array, lanes: number): Promise<void> {
    const image = batch.height * batch.width;
    const C = this.conditionChannels;
    for (let start = 0; start < batch.batch; start += lanes) {
      const end = Math.min(batch.batch, start + lanes);
      await this.inner.predict(
        {
          batch: end - start,
          height: batch.height,
          width: batch.width,
          sample: batch.sample.subarray(start * image, end * image),
          timestep: batch.timestep.subarray(start, end),
          condition: batch.condition.subarray(start * C * image, end * C * image),
          doseLevel: batch.doseLevel.subarray(start, end),
          conditionMask: batch.conditionMask.subarray(start, end),
          modality: batch.modality.subarray(start, end),
        },
        out.subarray(start * image, end * image),
      );
    }
  }

  private stateFor(batch: number, height: number, width: number): ShapeState {
    const key = `${batch}x${height}x${width}`;
    if (this.state?.key === key) return this.state;
    const plan = planTiles(height, width, this.spec);
    const inverseWeight = new Float64Array(height * width);
    forEachTilePixel(plan, (i, j, p) => {
      inverseWeight[p] = inverseWeight[p]! + plan.rows.weights[i]! * plan.cols.weights[j]!;
    });
    for (let p = 0; p < inverseWeight.length; p++) inverseWeight[p] = 1 / inverseWeight[p]!;
    const total = batch * plan.tilesPerImage;
    const byPixels = this.options.maxForwardPixels === undefined ? total : Math.floor(this.options.maxForwardPixels / (plan.rows.tile * plan.cols.tile));
    const chunk = Math.max(1, Math.min(total, this.options.maxTileBatch ?? total, byPixels));
    const conditionSize = this.conditionChannels * plan.rows.tile * plan.cols.tile;
    const conditionTiles = new Float32Array(plan.trivial ? 0 : total * conditionSize);
    const conditionViews: Float32Array[] = [];
    for (let start = 0; start < total && !plan.trivial; start += chunk) {
      conditionViews.push(conditionTiles.subarray(start * conditionSize, Math.min(total, start + chunk) * conditionSize));
    }
    this.state = {
      key,
      plan,
      inverseWeight,
      accumulator: new Float64Array(plan.trivial ? 0 : batch * height * width),
      chunk,
      conditionTiles,
      conditionViews,
      conditionId: undefined,
      chunks: new Map(),
    };
    return this.state;
  }
}

function chunkBuffers(state: ShapeState, count: number, tileSize: number): ChunkBuffers {
  let buf = state.chunks.get(count);
  if (!buf) {
    buf = {
      sample: new Float32Array(count * tileSize),
      timestep: new Float32Array(count),
      doseLevel: new Float32Array(count),
      conditionMask: new Float32Array(count),
      modality: new Float32Array(count),
      out: new Float32Array(count * tileSize),
    };
    state.chunks.set(count, buf);
  }
  return buf;
}

/** out = accumulated / summed weights, per image of the batch. */
function divideByWeights(acc: Float64Array, inverseWeight: Float64Array, images: number, out: Float32Array): void {
  const image = inverseWeight.length;
  for (let b = 0; b < images; b++) {
    const base = b * image;
    for (let p = 0; p < image; p++) out[base + p] = acc[base + p]! * inverseWeight[p]!;
  }
}

/** Adds a tile's weighted output into the float64 accumulator of its image. */
function accumulateTile(plan: TilePlan, tiles: Float32Array, offset: number, r: number, c: number, acc: Float64Array, base: number): void {
  const { height: H, width: W } = plan;
  const tw = plan.cols.tile;
  const ro = plan.rows.origins[r]!;
  const co = plan.cols.origins[c]!;
  const rowsIn = Math.min(plan.rows.tile, H - ro);
  const colsIn = Math.min(tw, W - co);
  const wr = plan.rows.weights;
  const wc = plan.cols.weights;
  for (let i = 0; i < rowsIn; i++) {
    const dst = base + (ro + i) * W + co;
    const src = offset + i * tw;
    const w = wr[i]!;
    for (let j = 0; j < colsIn; j++) acc[dst + j] = acc[dst + j]! + w * wc[j]! * tiles[src + j]!;
  }
}

function tileAt(index: number, tilesPerImage: number, nCols: number): { b: number; r: number; c: number } {
  const b = Math.floor(index / tilesPerImage);
  const k = index - b * tilesPerImage;
  return { b, r: Math.floor(k / nCols), c: k % nCols };
}

/** Calls fn for every in-image pixel of every tile: position (i, j) in the tile, pixel index p. */
function forEachTilePixel(plan: TilePlan, fn: (i: number, j: number, p: number) => void): void {
  const { height: H, width: W } = plan;
  for (const ro of plan.rows.origins) {
    for (const co of plan.cols.origins) {
      for (let i = 0; i < plan.rows.tile && ro + i < H; i++) {
        for (let j = 0; j < plan.cols.tile && co + j < W; j++) fn(i, j, (ro + i) * W + co + j);
      }
    }
  }
}
