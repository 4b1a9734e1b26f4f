/**
 * Finding and loading a model package: `models/<name>.json` (the card) beside `models/<name>.onnx`.
 * `loadModel` checks the card, opens an onnxruntime session on the requested device, checks the
 * card against the graph and returns a model the sampling loop can call on images of any size
 * (tiled as the card says).
 */
import { existsSync, statSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { LowdoseError } from '../errors.js';
import type { DiffusionModel, ForwardStats, ModelBatch } from '../diffusion/model.js';
import { TiledModel } from '../diffusion/tiling.js';
import type { DeviceReport } from '../runtime/devices.js';
import { loadStopped, OnnxSession, type ForwardSession, type SessionOptions } from '../runtime/session.js';
import { WorkerSession } from '../runtime/worker-session.js';
import { packagePath } from '../util/package-root.js';
import { checkCardAgainstGraph, conditionChannels, latentOf, parseModelCard, type ModelCard } from './card.js';
import { LatentCodec } from './latent.js';
import { OnnxDiffusionModel } from './onnx-model.js';

/** The shipped models' folder: `<package root>/models`. */
export function defaultModelsDir(): string {
  return packagePath('models');
}

/** Where bare model names are looked up, in order: the given folders, then the shipped models. */
export function modelSearchPath(extraDirs: readonly string[] = []): string[] {
  return [...extraDirs, defaultModelsDir()];
}

export interface ModelFiles {
  readonly cardPath: string;
  readonly onnxPath: string;
}

export interface ResolvedModel extends ModelFiles {
  readonly card: ModelCard;
}

/**
 * Where a model's card and ONNX file are, with the validated card: `nameOrPath` is a path to a
 * `.json` card or an `.onnx` file (its card is the `.json` of the same name), or a bare name looked
 * up as `<name>.json` in `modelDirs`, the first folder that has it winning (default: the shipped
 * models). The card's `onnx` is relative to the card's folder.
 */
export async function resolveModelFiles(nameOrPath: string, modelDirs: string | readonly string[] = modelSearchPath()): Promise<ResolvedModel> {
  const dirs = typeof modelDirs === 'string' ? [modelDirs] : modelDirs;
  const isPath = nameOrPath.includes('/') || nameOrPath.includes(path.sep) || /\.(json|onnx)$/i.test(nameOrPath);
  let cardPath: string;
  let onnxPath: string | null = null;
  if (!isPath) {
    const found = dirs.map((dir) => path.join(dir, `${nameOrPath}.json`)).find((file) => existsSync(file));
    if (!found) {
      const available = [...new Set((await Promise.all(dirs.map((dir) => listModelNames(dir)))).flat())].sort();
      throw new LowdoseError(
        'E_NOT_FOUND',
        `no model named '${nameOrPath}' in ${dirs.join(', ')} (available: ${available.length > 0 ? available.join(', ') : 'none'}); pass a name or a path to a .json card or .onnx file`,
        { path: path.join(dirs[0] ?? '.', `${nameOrPath}.json`) },
      );
    }
    cardPath = found;
  } else {
    const resolved = path.resolve(nameOrPath);
    if (!existsSync(resolved) || !statSync(resolved).isFile()) {
      throw new LowdoseError('E_NOT_FOUND', `model file ${resolved} does not exist`, { path: resolved });
    }
    if (/\.onnx$/i.test(resolved)) {
      onnxPath = resolved;
      cardPath = resolved.replace(/\.onnx$/i, '.json');
      if (!existsSync(cardPath)) {
        throw new LowdoseError('E_MODEL', `${resolved} has no model card: expected ${cardPath} beside it (see docs/diffusion.md)`, { path: resolved });
      }
    } else {
      cardPath = resolved;
    }
  }
  const card = await readModelCard(cardPath);
  const cardOnnx = path.resolve(path.dirname(cardPath), card.onnx);
  if (onnxPath !== null && cardOnnx !== onnxPath) {
    throw new LowdoseError('E_MODEL_MISMATCH', `${cardPath} describes ${cardOnnx}, not ${onnxPath}`, { path: onnxPath });
  }
  return { cardPath, onnxPath: cardOnnx, card };
}

/** Reads and validates a card (E_NOT_FOUND, E_MODEL for bad JSON or an invalid card). */
export async function readModelCard(cardPath: string): Promise<ModelCard> {
  let text: string;
  try {
    text = await readFile(cardPath, 'utf8');
  } catch (error) {
    throw new LowdoseError('E_NOT_FOUND', `cannot read model card ${cardPath}: ${(error as Error).message}`, { path: cardPath, cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new LowdoseError('E_MODEL', `${cardPath}: not valid JSON: ${(error as Error).message}`, { path: cardPath, cause: error });
  }
  return parseModelCard(json, cardPath);
}

/** Names of the models (cards) in a folder, sorted. */
export async function listModelNames(modelsDir = defaultModelsDir()): Promise<string[]> {
  try {
    const entries = await readdir(modelsDir);
    return entries.filter((e) => e.endsWith('.json')).map((e) => e.slice(0, -5)).sort();
  } catch {
    return [];
  }
}

export interface LoadModelOptions extends SessionOptions {
  /** Where bare names are looked up, in order (default: the package's models/ folder). */
  modelsDir?: string | readonly string[];
  /** Most tiles per forward pass when the image is tiled (default: all tiles of a batch). */
  maxTileBatch?: number;
  /** Most input pixels per forward pass, images or tiles (src/pipeline/memory-budget.ts; default: no limit). */
  maxForwardPixels?: number;
  /**
   * Run the network's forward passes on a worker thread (src/runtime/worker-session.ts), leaving
   * this thread free while they run; default false. A latent model (card space "latent") runs on
   * this thread whatever this says.
   */
  worker?: boolean;
  /** Stops the load (E_CANCELLED; SIGINT / SIGTERM): at once on a worker thread, else between its steps. */
  signal?: AbortSignal;
}

/** A loaded model: card, session and device, callable on images of any size. */
export class LoadedModel implements DiffusionModel {
  readonly conditionChannels: number;
  readonly supportsConditionMask: boolean;
  /** The network on exactly the sizes it is given (no tiling). */
  readonly network: OnnxDiffusionModel;
  private readonly tiled: TiledModel;
  /** Settles when the last prediction asked for has. */
  private queue: Promise<void> = Promise.resolve();

  constructor(
    readonly card: ModelCard,
    readonly files: ModelFiles,
    readonly session: ForwardSession,
    options: { maxTileBatch?: number; maxForwardPixels?: number } = {},
    /** A latent model's autoencoder (card space "latent"); null for a pixel-space model. */
    readonly codec: LatentCodec | null = null,
  ) {
    this.network = new OnnxDiffusionModel(session, card);
    // A graph with fixed height and width runs on exactly tile.size; any other takes tiles up to it.
    const fixed = typeof card.inputs.sample.shape[2] === 'number';
    this.tiled = new TiledModel(this.network, { ...card.tile, fixed }, {
      ...(options.maxTileBatch === undefined ? {} : { maxTileBatch: options.maxTileBatch }),
      ...(options.maxForwardPixels === undefined ? {} : { maxForwardPixels: options.maxForwardPixels }),
    });
    this.conditionChannels = conditionChannels(card);
    this.supportsConditionMask = this.network.supportsConditionMask;
  }

  get name(): string {
    return this.card.name;
  }

  get device(): DeviceReport {
    return this.session.device;
  }

  /** Whether the network runs on a worker thread: arrays on SharedArrayBuffers then reach it without a copy. */
  get onWorker(): boolean {
    return this.session instanceof WorkerSession;
  }

  /** Forward passes of the network (and of a latent model's encoder and decoder). */
  get stats(): ForwardStats {
    if (!this.codec) return this.session.stats;
    const c = this.codec.stats;
    return { calls: this.session.stats.calls + c.calls, forwardMs: this.session.stats.forwardMs + c.forwardMs };
  }

  /**
   * Predictions of concurrent sampling runs (`denoise` keeps two batches in flight) wait here for
   * each other, in the order asked, so that the tiler's and the network's own buffers serve one
   * call at a time while the runs' work outside the network goes on. A batch that goes to a worker
   * thread's session as it is (untiled, unchunked; its arrays are the run's own or copied when
   * sent) skips the wait: its pass is queued on the worker at once, and starts there the moment
   * the one before ends, without waiting for this thread.
   */
  predict(batch: ModelBatch, out: Float32Array): Promise<void> {
    if (this.onWorker && !this.codec && this.tiled.passesThrough(batch) && this.network.passesThrough(batch)) {
      return this.network.predict(batch, out);
    }
    // A latent is small (a 512 x 512 slice is 128 x 128 at 4x) and its rows are c channels stacked
    // (./latent.ts): it goes to the network whole, never in tiles.
    const previous = this.queue;
    let done!: () => void;
    this.queue = new Promise<void>((resolve) => (done = resolve));
    return previous.then(async () => {
      try {
        await (this.codec ? this.network.predict(batch, out) : this.tiled.predict(batch, out));
      } finally {
        // Before this caller resumes: the next prediction is sent to the network first, and this
        // caller's sampler step and mapping run while it computes.
        done();
      }
    });
  }

  async release(): Promise<void> {
    await Promise.all([this.session.release(), ...(this.codec ? [this.codec.release()] : [])]);
  }
}

/**
 * Loads `nameOrPath` (see resolveModelFiles) on `options.device` (default auto). Throws E_NOT_FOUND,
 * E_MODEL (bad card or file), E_MODEL_MISMATCH (card and graph disagree) or E_DEVICE_UNAVAILABLE.
 */
export async function loadModel(nameOrPath: string, options: LoadModelOptions = {}): Promise<LoadedModel> {
  const { card, ...files } = await resolveModelFiles(nameOrPath, options.modelsDir);
  if (!existsSync(files.onnxPath)) {
    throw new LowdoseError('E_NOT_FOUND', `${files.cardPath} names ${card.onnx}, but ${files.onnxPath} does not exist`, { path: files.onnxPath });
  }
  const sessionOptions: SessionOptions = {};
  if (options.device !== undefined) sessionOptions.device = options.device;
  if (options.threads !== undefined) sessionOptions.threads = options.threads;
  // A latent model's encoder and decoder run on this thread and take the sampler's arrays as they
  // are, which onnxruntime refuses on shared memory: such a model keeps its network here too.
  const onWorker = Boolean(options.worker) && !latentOf(card);
  const session = onWorker ? await WorkerSession.create(files.onnxPath, sessionOptions, options.signal) : await OnnxSession.create(files.onnxPath, sessionOptions, options.signal);
  let codec: LatentCodec | null = null;
  try {
    if (options.signal?.aborted) throw loadStopped(files.onnxPath, options.signal);
    checkCardAgainstGraph(card, session.signature, files.onnxPath);
    const latent = latentOf(card);
    if (latent) {
      for (const part of [latent.encoder, latent.decoder]) {
        const file = path.resolve(path.dirname(files.cardPath), part.onnx);
        if (!existsSync(file)) throw new LowdoseError('E_NOT_FOUND', `${files.cardPath} names ${part.onnx}, but ${file} does not exist`, { path: file });
      }
      // The autoencoder runs where the network does (the device auto chose, not auto again).
      codec = await LatentCodec.open(card, files.cardPath, latent, { ...sessionOptions, device: session.device.used });
      if (options.signal?.aborted) {
        await codec.release();
        throw loadStopped(files.onnxPath, options.signal);
      }
    }
  } catch (error) {
    await session.release();
    throw error;
  }
  return new LoadedModel(
    card,
    files,
    session,
    {
      ...(options.maxTileBatch === undefined ? {} : { maxTileBatch: options.maxTileBatch }),
      ...(options.maxForwardPixels === undefined ? {} : { maxForwardPixels: options.maxForwardPixels }),
    },
    codec,
  );
}
