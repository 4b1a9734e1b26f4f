/** Messages between a WorkerSession (./worker-session.ts) and its thread (./session-worker.ts). */
import type { ErrorCode } from '../errors.js';
import type { DeviceReport } from './devices.js';
import type { GraphSignature, SessionOptions, TensorData } from './session.js';

export type WorkerRequest =
  | { readonly op: 'create'; readonly id: number; readonly modelPath: string; readonly options: SessionOptions }
  /**
   * Tensors on SharedArrayBuffers arrive as views on the caller's memory (outputs are written into
   * theirs); others arrive as copies taken when the request was sent, and outputs not on shared
   * memory come back in the reply (`returned`).
   */
  | { readonly op: 'run'; readonly id: number; readonly feeds: Record<string, TensorData>; readonly outputs: Record<string, TensorData> }
  | { readonly op: 'release'; readonly id: number };

export type WorkerReply =
  | { readonly op: 'created'; readonly id: number; readonly signature: GraphSignature; readonly device: DeviceReport; readonly threadClock: boolean }
  | {
      readonly op: 'ran';
      readonly id: number;
      readonly forwardMs: number;
      /** When the pass started and ended (passClock). */
      readonly startedAt: number;
      readonly endedAt: number;
      readonly overheadCpuMs: number;
      readonly returned: Record<string, Float32Array | BigInt64Array>;
    }
  | { readonly op: 'released'; readonly id: number }
  | { readonly op: 'error'; readonly id: number; readonly error: { readonly code: ErrorCode; readonly message: string; readonly path: string | null } };
