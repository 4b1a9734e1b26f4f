/**
 * The worker thread behind a WorkerSession (./worker-session.ts): opens one OnnxSession and runs
 * its forward passes here, so that the thread that asked is free while onnxruntime computes
 * (onnxruntime-node's `run` blocks the thread that calls it).
 *
 * Tensors on SharedArrayBuffers arrive as views on the caller's memory. onnxruntime-node refuses
 * tensors on shared memory ("Invalid argument"), so each is copied into an ordinary array kept per
 * name, and outputs are copied back into the shared views: the copies run on this thread, not the
 * caller's. Other tensors arrive as copies of their own and are used as they are.
 */
import { parentPort, type MessagePort } from 'node:worker_threads';
import { toLowdoseError } from '../errors.js';
import { threadCpuMs } from '../util/thread-cpu.js';
import { OnnxSession, type SessionOptions, type TensorData } from './session.js';
import type { WorkerReply, WorkerRequest } from './worker-protocol.js';

if (!parentPort) throw new Error('session-worker.ts runs as a worker thread');
const port: MessagePort = parentPort;

let session: OnnxSession | null = null;
/** Ordinary arrays, one per tensor name, that onnxruntime reads and writes. */
const privateArrays = new Map<string, Float32Array | BigInt64Array>();

function isShared(value: TensorData): boolean {
  return value.data.buffer instanceof SharedArrayBuffer;
}

/** The ordinary array kept for `name`, of the tensor's type and size (its dims' product), holding its values when `copy`. */
function privateCopy(name: string, value: TensorData, copy: boolean): TensorData {
  let array = privateArrays.get(name);
  const bigint = value.data instanceof BigInt64Array;
  const length = value.dims.reduce((product, d) => product * d, 1);
  if (!array || array.length !== length || array instanceof BigInt64Array !== bigint) {
    array = bigint ? new BigInt64Array(length) : new Float32Array(length);
    privateArrays.set(name, array);
  }
  if (copy) (array as Float32Array).set(value.data as Float32Array);
  return { data: array, dims: value.dims };
}

async function handle(request: WorkerRequest): Promise<WorkerReply> {
  switch (request.op) {
    case 'create': {
      const options: SessionOptions = request.options;
      session = await OnnxSession.create(request.modelPath, options);
      return { op: 'created', id: request.id, signature: session.signature, device: session.device, threadClock: threadCpuMs() !== null };
    }
    case 'run': {
      if (!session) throw new Error('run before create');
      const cpuStarted = threadCpuMs();
      const feeds: Record<string, TensorData> = {};
      for (const name in request.feeds) {
        const feed = request.feeds[name]!;
        feeds[name] = isShared(feed) ? privateCopy(`in:${name}`, feed, true) : feed;
      }
      const outputs: Record<string, TensorData> = {};
      for (const name in request.outputs) outputs[name] = privateCopy(`out:${name}`, request.outputs[name]!, false);
      const before = { ...session.stats };
      let pass = { startedAt: 0, endedAt: 0 };
      session.onPass = (startedAt, endedAt) => (pass = { startedAt, endedAt });
      await session.run(feeds, outputs);
      const returned: Record<string, Float32Array | BigInt64Array> = {};
      for (const name in request.outputs) {
        const target = request.outputs[name]!;
        if (isShared(target)) (target.data as Float32Array).set(outputs[name]!.data as Float32Array);
        else returned[name] = outputs[name]!.data;
      }
      const cpuEnded = threadCpuMs();
      const forwardCpuMs = (session.stats.forwardCpuMs ?? 0) - (before.forwardCpuMs ?? 0);
      return {
        op: 'ran',
        id: request.id,
        forwardMs: session.stats.forwardMs - before.forwardMs,
        ...pass,
        // Not clamped at 0: single readings are off by up to a scheduler tick either way
        // (src/util/thread-cpu.ts), their sum over many passes is not.
        overheadCpuMs: cpuStarted !== null && cpuEnded !== null ? cpuEnded - cpuStarted - forwardCpuMs : 0,
        returned,
      };
    }
    case 'release': {
      await session?.release();
      session = null;
      privateArrays.clear();
      return { op: 'released', id: request.id };
    }
  }
}

/**
 * Requests are handled one after the other: onnxruntime-node's `run` returns to the event loop
 * before its pass starts, and a second request handled meanwhile would overwrite the arrays the
 * first one's pass is about to read.
 */
let queue: Promise<void> = Promise.resolve();

port.on('message', (request: WorkerRequest) => {
  queue = queue.then(() => answer(request));
});

function answer(request: WorkerRequest): Promise<void> {
  return handle(request).then(
    (reply) => port.postMessage(reply),
    (error: unknown) => {
      // The caller rebuilds the same LowdoseError (code, message, path) on its side.
      const e = toLowdoseError(error);
      port.postMessage({ op: 'error', id: request.id, error: { code: e.code, message: e.message, path: e.path ?? null } } satisfies WorkerReply);
    },
  );
}
