/**
 * The autoencoder of a latent model (card `space: "latent"`, docs/latent.md): encodes slices in
 * model space to latents and decodes latents back. The reverse process in between is the toolkit's
 * own (src/diffusion): a c-channel latent of h x w travels through the samplers as one image of
 * height c·h, which is the same values in the same order as [c, h, w] (OnnxDiffusionModel reshapes
 * it for the graph), so every sampler, guidance scale and ensemble works on latents unchanged.
 *
 * Sizes: a slice is edge-padded to a multiple of factor x (the denoiser's multipleOf) before
 * encoding, and the decoded image is cropped back, so any slice size works.
 */
import path from 'node:path';
import type { ForwardStats } from '../diffusion/model.js';
import { LowdoseError } from '../errors.js';
import { OnnxSession, type SessionOptions } from '../runtime/session.js';
import { checkCodecAgainstGraph, type LatentSettings, type ModelCard } from './card.js';

/** At most this many images per encoder / decoder call (full-resolution activations are the memory peak). */
const CODEC_BATCH = 4;

export interface LatentGrid {
  /** Padded image size, a multiple of `factor · multipleOf`. */
  readonly paddedRows: number;
  readonly paddedColumns: number;
  /** Latent size: padded size / factor. */
  readonly rows: number;
  readonly columns: number;
  readonly channels: number;
}

/**
 * The grid a slice of rows x columns is encoded on: edge-padded to a multiple of factor x
 * `gridMultiple` (the denoiser's tile.multipleOf), the latent being the padded size / factor.
 */
export function latentGrid(rows: number, columns: number, spec: Pick<LatentSettings, 'factor' | 'channels'>, gridMultiple: number): LatentGrid {
  const m = spec.factor * gridMultiple;
  const paddedRows = Math.ceil(rows / m) * m;
  const paddedColumns = Math.ceil(columns / m) * m;
  return { paddedRows, paddedColumns, rows: paddedRows / spec.factor, columns: paddedColumns / spec.factor, channels: spec.channels };
}

export class LatentCodec {
  private constructor(
    readonly spec: LatentSettings,
    /** Latent grid multiple the denoiser needs (the card's tile.multipleOf). */
    readonly gridMultiple: number,
    readonly encoder: OnnxSession,
    readonly decoder: OnnxSession,
  ) {}

  /** Opens the card's encoder and decoder (beside the card) with the denoiser's session options and checks them. */
  static async open(card: ModelCard, cardPath: string, spec: LatentSettings, options: SessionOptions): Promise<LatentCodec> {
    const dir = path.dirname(cardPath);
    const opened: OnnxSession[] = [];
    try {
      for (const part of ['encoder', 'decoder'] as const) {
        const file = path.resolve(dir, spec[part].onnx);
        const session = await OnnxSession.create(file, options);
        opened.push(session);
        checkCodecAgainstGraph(`latent.${part}`, spec[part], session.signature, file);
      }
    } catch (error) {
      await Promise.all(opened.map((s) => s.release()));
      throw error;
    }
    return new LatentCodec(spec, card.tile.multipleOf, opened[0]!, opened[1]!);
  }

  /** Both halves' forward passes together. */
  get stats(): ForwardStats {
    const e = this.encoder.stats;
    const d = this.decoder.stats;
    return { calls: e.calls + d.calls, forwardMs: e.forwardMs + d.forwardMs };
  }

  grid(rows: number, columns: number): LatentGrid {
    return latentGrid(rows, columns, this.spec, this.gridMultiple);
  }

  /** [B, rows, columns] in model space → [B, c, h, w] latents (edge-padded first). */
  async encode(images: Float32Array, count: number, rows: number, columns: number): Promise<{ latent: Float32Array; grid: LatentGrid }> {
    const grid = this.grid(rows, columns);
    const image = grid.paddedRows * grid.paddedColumns;
    const latentSize = grid.channels * grid.rows * grid.columns;
    if (images.length !== count * rows * columns) throw new LowdoseError('E_INTERNAL', `encode: ${images.length} values for ${count}x${rows}x${columns}`);
    const latent = new Float32Array(count * latentSize);
    for (let start = 0; start < count; start += CODEC_BATCH) {
      const n = Math.min(CODEC_BATCH, count - start);
      const padded = new Float32Array(n * image);
      for (let b = 0; b < n; b++) {
        edgePad(images.subarray((start + b) * rows * columns, (start + b + 1) * rows * columns), rows, columns, grid.paddedRows, grid.paddedColumns, padded.subarray(b * image, (b + 1) * image));
      }
      await this.encoder.run(
        { [this.spec.encoder.input.name]: { data: padded, dims: [n, 1, grid.paddedRows, grid.paddedColumns] } },
        { [this.spec.encoder.output.name]: { data: latent.subarray(start * latentSize, (start + n) * latentSize), dims: [n, grid.channels, grid.rows, grid.columns] } },
      );
    }
    return { latent, grid };
  }

  /** [L, c, h, w] latents → [L, rows, columns] images in model space (decoded, then cropped). */
  async decode(latent: Float32Array, count: number, grid: LatentGrid, rows: number, columns: number): Promise<Float32Array> {
    const latentSize = grid.channels * grid.rows * grid.columns;
    const image = grid.paddedRows * grid.paddedColumns;
    if (latent.length !== count * latentSize) throw new LowdoseError('E_INTERNAL', `decode: ${latent.length} values for ${count} latents of ${latentSize}`);
    const out = new Float32Array(count * rows * columns);
    const decoded = new Float32Array(Math.min(CODEC_BATCH, count) * image);
    for (let start = 0; start < count; start += CODEC_BATCH) {
      const n = Math.min(CODEC_BATCH, count - start);
      const buf = decoded.subarray(0, n * image);
      await this.decoder.run(
        { [this.spec.decoder.input.name]: { data: latent.subarray(start * latentSize, (start + n) * latentSize), dims: [n, grid.channels, grid.rows, grid.columns] } },
        { [this.spec.decoder.output.name]: { data: buf, dims: [n, 1, grid.paddedRows, grid.paddedColumns] } },
      );
      for (let b = 0; b < n; b++) {
        for (let r = 0; r < rows; r++) {
          const from = b * image + r * grid.paddedColumns;
          out.set(buf.subarray(from, from + columns), ((start + b) * rows + r) * columns);
        }
      }
    }
    return out;
  }

  release(): Promise<void> {
    return Promise.all([this.encoder.release(), this.decoder.release()]).then(() => undefined);
  }
}

/** Copies a rows x columns image into the top-left of a larger one, repeating the last row and column. */
export function edgePad(src: Float32Array, rows: number, columns: number, outRows: number, outColumns: number, out: Float32Array): Float32Array {
  for (let r = 0; r < outRows; r++) {
    const from = Math.min(r, rows - 1) * columns;
    const to = r * outColumns;
    out.set(src.subarray(from, from + columns), to);
    const last = src[from + columns - 1]!;
    for (let c = columns; c < outColumns; c++) out[to + c] = last;
  }
  return out;
}
