/**
 * The only module that imports onnxruntime-node. It creates sessions on the requested device (with
 * `auto` fallback), describes the graph's inputs and outputs, and runs forward passes on plain
 * typed arrays, timing each one. Everything else in lowdose sees `OnnxSession`, never ort types.
 */
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import ort from 'onnxruntime-node';
import { LowdoseError } from '../errors.js';
import { abortReason } from '../util/abort-reason.js';
import { threadCpuMs } from '../util/thread-cpu.js';
import {
  deviceUnavailableReason,
  devicesToTry,
  explainDeviceFailure,
  shortReason,
  type Device,
  type DeviceReport,
  type DeviceRequest,
  type DeviceSkip,
} from './devices.js';

export type TensorElementType = 'float32' | 'int64';

/** A plain tensor: data plus dimensions. int64 data is a BigInt64Array. */
export interface TensorData {
  readonly data: Float32Array | BigInt64Array;
  readonly dims: readonly number[];
}

/** A graph input or output as the model file declares it. */
export interface GraphValueInfo {
  readonly name: string;
  /** Element type ('float32', 'int64', ...), or null for non-tensor values. */
  readonly type: string | null;
  /** Dimensions: numbers for fixed sizes, strings for symbolic ones; null when the graph does not say. */
  readonly shape: readonly (number | string)[] | null;
}

export interface GraphSignature {
  readonly inputs: readonly GraphValueInfo[];
  readonly outputs: readonly GraphValueInfo[];
}

export interface SessionOptions {
  /** Default 'auto'. */
  device?: DeviceRequest;
  /** Threads for one operator (onnxruntime's intraOpNumThreads); default: onnxruntime's choice (all cores). */
  threads?: number;
}

/** A model load stopped by its signal (E_CANCELLED, naming the model file). */
export function loadStopped(modelPath: string, signal: AbortSignal): LowdoseError {
  return new LowdoseError('E_CANCELLED', `loading ${modelPath} was stopped (${abortReason(signal)})`, { path: modelPath });
}

/** Cumulative forward-pass counters, so callers can compare raw model time with their total. */
export interface ForwardStats {
  /** Number of network forward passes (`session.run` calls). */
  calls: number;
  /** Milliseconds spent inside them. */
  forwardMs: number;
  /**
   * CPU milliseconds of the calling thread inside them (onnxruntime runs a pass on the thread that
   * calls it): what the engine subtracts from its own thread's CPU time to get the work outside the
   * network. Absent where the system has no per-thread clock (src/util/thread-cpu.ts).
   */
  forwardCpuMs?: number;
  /**
   * A session on a worker thread (./worker-session.ts): CPU milliseconds of that thread outside the
   * forward passes (copying inputs in and outputs out), work the engine adds to its own. Absent for a
   * session on the calling thread.
   */
  workerCpuMs?: number;
}

/**
 * What the model code needs of a session: its graph, its device, forward passes and their counters.
 * `OnnxSession` runs passes on the calling thread; `WorkerSession` (./worker-session.ts) runs them
 * on a worker thread so that the calling thread is free meanwhile.
 */
export interface ForwardSession {
  readonly stats: ForwardStats;
  readonly signature: GraphSignature;
  readonly modelPath: string;
  readonly device: DeviceReport;
  run(feeds: Readonly<Record<string, TensorData>>, outputs: Readonly<Record<string, TensorData>>): Promise<void>;
  release(): Promise<void>;
  /** Called after every forward pass with when it started and ended (ms since the epoch, `passClock`): what `bench` times the gaps between passes with. */
  onPass: ((startedAt: number, endedAt: number) => void) | null;
}

/** Milliseconds since the epoch with sub-millisecond resolution, on the same scale in every thread. */
export function passClock(): number {
  return performance.timeOrigin + performance.now();
}

type OrtSession = ort.InferenceSession;

const RUN_OPTIONS: ort.InferenceSession.RunOptions = { logSeverityLevel: 4 };

export class OnnxSession implements ForwardSession {
  /** Cumulative forward passes and the milliseconds spent in them. */
  readonly stats: ForwardStats = threadCpuMs() === null ? { calls: 0, forwardMs: 0 } : { calls: 0, forwardMs: 0, forwardCpuMs: 0 };
  readonly signature: GraphSignature;
  private readonly tensors = new WeakMap<object, { dims: string; tensor: ort.Tensor }>();
  onPass: ((startedAt: number, endedAt: number) => void) | null = null;

  private constructor(
    private readonly session: OrtSession,
    readonly modelPath: string,
    readonly device: DeviceReport,
  ) {
    this.signature = describeGraph(session);
  }

  /**
   * Loads a model file on the requested device; `auto` falls back CUDA → WebGPU → CPU. `signal`
   * stops it between its steps (the file read, each device's native load), E_CANCELLED.
   */
  static async create(modelPath: string, options: SessionOptions = {}, signal?: AbortSignal): Promise<OnnxSession> {
    const requested = options.device ?? 'auto';
    if (options.threads !== undefined && !(Number.isInteger(options.threads) && options.threads >= 1)) {
      throw new LowdoseError('E_USAGE', `threads must be a positive integer, got ${options.threads}`);
    }
    let bytes: Uint8Array;
    try {
      bytes = await readFile(modelPath);
    } catch (error) {
      throw new LowdoseError('E_NOT_FOUND', `cannot read model file ${modelPath}: ${shortReason(error)}`, { path: modelPath, cause: error });
    }
    const skipped: DeviceSkip[] = [];
    for (const device of devicesToTry(requested)) {
      if (signal?.aborted) throw loadStopped(modelPath, signal);
      const unavailable = deviceUnavailableReason(device);
      if (unavailable) {
        skipped.push({ device, reason: unavailable });
        continue;
      }
      try {
        const session = await ort.InferenceSession.create(bytes, sessionOptions(device, options.threads));
        if (signal?.aborted) {
          await session.release();
          throw loadStopped(modelPath, signal);
        }
        return new OnnxSession(session, modelPath, { requested, used: device, skipped });
      } catch (error) {
        if (error instanceof LowdoseError && error.code === 'E_CANCELLED') throw error;
        const reason = explainDeviceFailure(device, shortReason(error));
        if (device === 'cpu') {
          // The CPU always exists: failing here means the file is not a usable model.
          throw new LowdoseError('E_MODEL', `cannot load ONNX model ${modelPath}: ${reason}`, { path: modelPath, cause: error });
        }
        skipped.push({ device, reason });
      }
    }
    const why = skipped.map((s) => `${s.device}: ${s.reason}`).join('; ');
    throw new LowdoseError('E_DEVICE_UNAVAILABLE', `device ${requested} is not available for ${modelPath} (${why})`, { path: modelPath });
  }

  /**
   * One forward pass. Inputs and preallocated outputs are plain arrays; onnxruntime reads and
   * writes them in place (the ort.Tensor wrappers are cached per array, so steady-state calls
   * allocate nothing here).
   */
  async run(feeds: Readonly<Record<string, TensorData>>, outputs: Readonly<Record<string, TensorData>>): Promise<void> {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const name in feeds) ortFeeds[name] = this.tensorFor(feeds[name]!);
    const fetches: Record<string, ort.Tensor> = {};
    for (const name in outputs) fetches[name] = this.tensorFor(outputs[name]!);
    const started = performance.now();
    const startedAt = passClock();
    const cpuStarted = this.stats.forwardCpuMs === undefined ? null : threadCpuMs();
    let results: ort.InferenceSession.ReturnType;
    try {
      results = await this.session.run(ortFeeds, fetches, RUN_OPTIONS);
    } catch (error) {
      throw new LowdoseError('E_MODEL', `${this.modelPath}: forward pass failed: ${shortReason(error)}`, { path: this.modelPath, cause: error });
    } finally {
      this.stats.forwardMs += performance.now() - started;
      const cpuEnded = cpuStarted === null ? null : threadCpuMs();
      if (cpuStarted !== null && cpuEnded !== null) this.stats.forwardCpuMs = (this.stats.forwardCpuMs ?? 0) + cpuEnded - cpuStarted;
      this.stats.calls++;
      this.onPass?.(startedAt, passClock());
    }
    // onnxruntime-node (1.30) writes a preallocated output in place and also returns a copy of it
    // in an array of its own (checked: the same values in another buffer). On the CPU that copy is
    // not copied again (1 MB per 512 x 512 image and pass); other providers' are, in case one of
    // them returns its result only there.
    if (this.device.used === 'cpu') return;
    for (const name in outputs) {
      const target = outputs[name]!.data;
      const got = results[name]?.data;
      if (got !== undefined && got !== target && (got as ArrayBufferView).buffer !== target.buffer) {
        if ((got as Float32Array | BigInt64Array).length !== target.length) {
          throw new LowdoseError('E_MODEL', `${this.modelPath}: output ${name} has ${(got as Float32Array).length} values, expected ${target.length}`, { path: this.modelPath });
        }
        (target as Float32Array).set(got as Float32Array);
      }
    }
  }

  async release(): Promise<void> {
    await this.session.release();
  }

  private tensorFor(value: TensorData): ort.Tensor {
    const dimsKey = value.dims.join('x');
    const cached = this.tensors.get(value.data);
    if (cached && cached.dims === dimsKey) return cached.tensor;
    const type: TensorElementType = value.data instanceof BigInt64Array ? 'int64' : 'float32';
    const tensor = new ort.Tensor(type, value.data, value.dims);
    this.tensors.set(value.data, { dims: dimsKey, tensor });
    return tensor;
  }
}

function sessionOptions(device: Device, threads: number | undefined): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [device],
    graphOptimizationLevel: 'all',
    // Errors come back as exceptions with their message; onnxruntime's own log would repeat them on stderr.
    logSeverityLevel: 4,
    ...(threads !== undefined ? { intraOpNumThreads: threads } : {}),
  };
}

function describeGraph(session: OrtSession): GraphSignature {
  const describe = (names: readonly string[], metadata: readonly ort.InferenceSession.ValueMetadata[] | undefined) =>
    names.map((name, i): GraphValueInfo => {
      const m = metadata?.[i];
      if (!m || m.name !== name) return { name, type: null, shape: null };
      if (!m.isTensor) return { name, type: null, shape: null };
      return { name, type: m.type, shape: m.shape.length > 0 ? [...m.shape] : null };
    });
  return {
    inputs: describe(session.inputNames, session.inputMetadata),
    outputs: describe(session.outputNames, session.outputMetadata),
  };
}

/** The execution providers this onnxruntime-node build knows, and whether each ships in the package. */
export function listBackends(): { name: string; bundled: boolean }[] {
  const list = (ort as unknown as { listSupportedBackends?: () => { name: string; bundled: boolean }[] }).listSupportedBackends;
  return list ? list() : [];
}
