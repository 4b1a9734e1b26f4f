/**
 * An onnxruntime session on its own worker thread. onnxruntime-node's `InferenceSession.run` is a
 * `setImmediate` around a blocking native call: the thread that calls it can do nothing else until
 * the pass is over. Run from here, the pass blocks the worker instead, and the calling thread keeps
 * working meanwhile: `lowdose denoise` maps, draws noise for and steps the neighbouring batch,
 * encodes and writes DICOM files and decodes the next ones while the network runs.
 *
 * Tensors travel without copies on the calling thread when their arrays are views on
 * SharedArrayBuffers (`sharedFloat32`; the sampling workspace allocates its arrays so when its
 * model runs here); others are copied when the request is sent, so the caller may reuse them as
 * soon as `run` has been called. Forward passes run one at a time in the order they were asked
 * for, and a pass asked for while another runs is already waiting on the worker when that one
 * ends. Errors come back as the LowdoseError the same call would have thrown on the calling
 * thread (same code, message and path).
 */
import type { Worker } from 'node:worker_threads';
import { LowdoseError } from '../errors.js';
import { startModuleWorker } from '../util/worker.js';
import type { DeviceReport } from './devices.js';
import { loadStopped, type ForwardSession, type ForwardStats, type GraphSignature, type SessionOptions, type TensorData } from './session.js';
import type { WorkerReply, WorkerRequest } from './worker-protocol.js';

/** A Float32Array of `length` values on a SharedArrayBuffer: what a WorkerSession reads and writes in place. */
export function sharedFloat32(length: number): Float32Array {
  return new Float32Array(new SharedArrayBuffer(length * Float32Array.BYTES_PER_ELEMENT));
}

function isShared(data: Float32Array | BigInt64Array): boolean {
  return data.buffer instanceof SharedArrayBuffer;
}

/** A zero-length array of the same type: an output slot the worker fills and sends back. */
function emptyLike(data: Float32Array | BigInt64Array): Float32Array | BigInt64Array {
  return data instanceof BigInt64Array ? new BigInt64Array(0) : new Float32Array(0);
}

type Pending = { resolve: (reply: WorkerReply) => void; reject: (error: Error) => void };

export class WorkerSession implements ForwardSession {
  readonly stats: ForwardStats;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  onPass: ((startedAt: number, endedAt: number) => void) | null = null;
  /** Why the worker can no longer answer (it exited or threw), once it cannot. */
  private dead: LowdoseError | null = null;

  private constructor(
    private readonly worker: Worker,
    readonly modelPath: string,
    readonly signature: GraphSignature,
    readonly device: DeviceReport,
    threadClock: boolean,
  ) {
    // The calling thread spends no CPU inside a pass; the worker's copies are counted apart.
    this.stats = threadClock ? { calls: 0, forwardMs: 0, forwardCpuMs: 0, workerCpuMs: 0 } : { calls: 0, forwardMs: 0 };
  }

  /**
   * Opens `modelPath` on a new worker thread (same options and errors as OnnxSession.create).
   * `signal` stops the opening at once (E_CANCELLED): the worker is told to end and not waited
   * for, as onnxruntime's native load in progress on it runs to its end first.
   */
  static async create(modelPath: string, options: SessionOptions = {}, signal?: AbortSignal): Promise<WorkerSession> {
    if (signal?.aborted) throw loadStopped(modelPath, signal);
    const worker = startModuleWorker(import.meta.url, 'session-worker');
    const opening = new Opening(worker);
    const onAbort = () => opening.abandon(loadStopped(modelPath, signal!));
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const reply = await opening.request({ op: 'create', id: 0, modelPath, options: { ...options } });
      if (reply.op !== 'created') throw new LowdoseError('E_INTERNAL', `session worker answered ${reply.op} to create`);
      const session = new WorkerSession(worker, modelPath, reply.signature, reply.device, reply.threadClock);
      opening.handOver(session);
      return session;
    } catch (error) {
      opening.close();
      if (signal?.aborted) {
        worker.unref();
        void worker.terminate();
      } else await worker.terminate();
      throw error;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  async run(feeds: Readonly<Record<string, TensorData>>, outputs: Readonly<Record<string, TensorData>>): Promise<void> {
    // Shared arrays travel as views, the others as copies taken by postMessage right here.
    const sentOutputs: Record<string, TensorData> = {};
    for (const name in outputs) {
      const output = outputs[name]!;
      sentOutputs[name] = isShared(output.data) ? output : { data: emptyLike(output.data), dims: output.dims };
    }
    let reply: WorkerReply;
    try {
      reply = await this.request({ op: 'run', id: this.nextId++, feeds: { ...feeds }, outputs: sentOutputs });
    } finally {
      this.stats.calls++;
    }
    if (reply.op !== 'ran') throw new LowdoseError('E_INTERNAL', `session worker answered ${reply.op} to run`);
    this.stats.forwardMs += reply.forwardMs;
    this.onPass?.(reply.startedAt, reply.endedAt);
    if (this.stats.workerCpuMs !== undefined) this.stats.workerCpuMs += reply.overheadCpuMs;
    for (const name in reply.returned) (outputs[name]!.data as Float32Array).set(reply.returned[name] as Float32Array);
  }

  async release(): Promise<void> {
    if (!this.dead) {
      try {
        await this.request({ op: 'release', id: this.nextId++ });
      } catch {
        // Gone already: nothing left to release.
      }
    }
    this.dead ??= new LowdoseError('E_INTERNAL', `the session of ${this.modelPath} was released`);
    await this.worker.terminate();
  }

  private request(message: WorkerRequest): Promise<WorkerReply> {
    if (this.dead) return Promise.reject(this.dead);
    return new Promise<WorkerReply>((resolve, reject) => {
      this.pending.set(message.id, { resolve, reject });
      // Kept alive while it has work; an idle session does not hold the process open.
      if (this.pending.size === 1) this.worker.ref();
      this.worker.postMessage(message);
    });
  }

  /** Called by the listeners set up in Opening. */
  settle(reply: WorkerReply): void {
    const waiting = this.pending.get(reply.id);
    if (!waiting) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker.unref();
    if (reply.op === 'error') waiting.reject(errorFromReply(reply));
    else waiting.resolve(reply);
  }

  /** The worker exited or threw: every waiting call fails, and so does every later one. */
  fail(error: LowdoseError): void {
    this.dead ??= error;
    for (const waiting of this.pending.values()) waiting.reject(error);
    this.pending.clear();
    this.worker.unref();
  }
}

function errorFromReply(reply: Extract<WorkerReply, { op: 'error' }>): LowdoseError {
  return new LowdoseError(reply.error.code, reply.error.message, reply.error.path === null ? {} : { path: reply.error.path });
}

/**
 * The worker's listeners, installed before the session exists: the create request is answered
 * here, later replies are passed to the session.
 */
class Opening {
  private session: WorkerSession | null = null;
  private waiting: Pending | null = null;

  constructor(private readonly worker: Worker) {
    worker.on('message', (reply: WorkerReply) => {
      if (this.session) return this.session.settle(reply);
      const waiting = this.waiting;
      this.waiting = null;
      if (reply.op === 'error') waiting?.reject(errorFromReply(reply));
      else waiting?.resolve(reply);
    });
    worker.on('error', (error: Error) => this.fail(new LowdoseError('E_INTERNAL', `onnxruntime worker thread failed: ${error.message}`, { cause: error })));
    worker.on('exit', (code) => this.fail(new LowdoseError('E_INTERNAL', `onnxruntime worker thread exited (code ${code})`)));
  }

  request(message: WorkerRequest): Promise<WorkerReply> {
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.worker.postMessage(message);
    });
  }

  handOver(session: WorkerSession): void {
    this.session = session;
    this.worker.unref();
  }

  close(): void {
    this.waiting = null;
  }

  /** Gives up waiting for the create request (its caller was stopped): it rejects with `error`. */
  abandon(error: LowdoseError): void {
    this.fail(error);
  }

  private fail(error: LowdoseError): void {
    if (this.session) return this.session.fail(error);
    this.waiting?.reject(error);
    this.waiting = null;
  }
}
