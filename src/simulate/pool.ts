/**
 * A small pool of worker threads for slice simulations, and `simulateVolume` on top of it. Slices
 * are independent (each has its own noise stream), so the pool only changes how long a volume
 * takes, never its values: with 1 worker everything runs in the calling thread.
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { LowdoseError, type ErrorCode } from '../errors.js';
import type { Volume } from '../image.js';
import { sliceOf } from '../image.js';
import { startModuleWorker } from '../util/worker.js';
import { runSliceJob, type SliceInput, type SliceJob, type SliceOutput } from './slice-job.js';

/** Default worker count: one per core. */
export function defaultWorkerCount(): number {
  return Math.max(1, availableParallelism());
}

/** The worker script (./worker.ts) beside this file. */
function startWorker(): Worker {
  return startModuleWorker(import.meta.url, 'worker');
}

interface Pending {
  readonly resolve: (output: SliceOutput) => void;
  readonly reject: (error: Error) => void;
}

interface Task {
  readonly id: number;
  readonly job: SliceJob;
  readonly input: SliceInput;
  readonly pending: Pending;
}

export class SimulationPool {
  readonly size: number;
  private readonly idle: Worker[] = [];
  private readonly all: Worker[] = [];
  private readonly queue: Task[] = [];
  private readonly running = new Map<Worker, Task>();
  private nextId = 0;
  private closed = false;

  /** `size` <= 1 runs jobs in the calling thread. */
  constructor(size = defaultWorkerCount()) {
    if (!(Number.isInteger(size) && size >= 1)) throw new LowdoseError('E_USAGE', `workers must be a positive integer, got ${size}`);
    this.size = size;
  }

  run(job: SliceJob, input: SliceInput): Promise<SliceOutput> {
    if (this.closed) return Promise.reject(new LowdoseError('E_INTERNAL', 'simulation pool is closed'));
    if (this.size <= 1) {
      try {
        return Promise.resolve(runSliceJob(job, input));
      } catch (error) {
        return Promise.reject(error instanceof Error ? error : new Error(String(error)));
      }
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, job, input, pending: { resolve, reject } });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let worker = this.idle.pop();
      if (!worker && this.all.length < this.size) worker = this.spawn();
      if (!worker) return;
      const task = this.queue.shift()!;
      this.running.set(worker, task);
      // A busy worker keeps the process alive; an idle one must not.
      worker.ref();
      worker.postMessage({ id: task.id, job: task.job, input: task.input });
    }
  }

  private spawn(): Worker {
    const worker = startWorker();
    this.all.push(worker);
    worker.on('message', (message: { id: number; output?: SliceOutput; error?: { code: ErrorCode; message: string } }) => {
      const task = this.running.get(worker);
      this.running.delete(worker);
      worker.unref();
      this.idle.push(worker);
      if (task) {
        if (message.error) task.pending.reject(new LowdoseError(message.error.code, message.error.message));
        else task.pending.resolve(message.output!);
      }
      this.dispatch();
    });
    worker.on('error', (error) => {
      const task = this.running.get(worker);
      this.running.delete(worker);
      const i = this.all.indexOf(worker);
      if (i >= 0) this.all.splice(i, 1);
      task?.pending.reject(new LowdoseError('E_INTERNAL', `simulation worker failed: ${error.message}`, { cause: error }));
      this.dispatch();
    });
    return worker;
  }

  /** Stops the workers; pending jobs are rejected. */
  async close(): Promise<void> {
    this.closed = true;
    for (const task of this.queue.splice(0)) task.pending.reject(new LowdoseError('E_CANCELLED', 'simulation pool closed'));
    await Promise.all(this.all.map((w) => w.terminate()));
    this.all.length = 0;
    this.idle.length = 0;
  }
}

export interface VolumeSimulationOptions {
  /** Worker threads (default: one per core; 1 = in this thread). */
  readonly workers?: number;
  /** PET: attenuation maps (1/cm) per slice, e.g. from `iecAttenuation`; default body outline. */
  readonly muMapsPerCm?: readonly Float32Array[];
  /** Called as each slice finishes (in completion order). */
  readonly onSlice?: (index: number, done: number, total: number) => void;
}

export interface VolumeSimulationResult {
  readonly lowDose: Volume;
  /** The matched full-dose reconstruction; null for noise insertion (the input is the full dose). */
  readonly fullDose: Volume | null;
}

/** Simulates every slice of a volume (slice k uses noise stream (seed, k)). */
export async function simulateVolume(volume: Volume, job: SliceJob, options: VolumeSimulationOptions = {}): Promise<VolumeSimulationResult> {
  if (job.kind === 'pet' ? volume.modality !== 'PT' : volume.modality !== 'CT') {
    throw new LowdoseError('E_USAGE', `a ${job.kind} simulation needs a ${job.kind === 'pet' ? 'PT' : 'CT'} volume, got ${volume.modality}`);
  }
  const total = volume.slices.length;
  const pool = new SimulationPool(Math.min(options.workers ?? defaultWorkerCount(), Math.max(1, total)));
  const low = new Array<Float32Array>(total);
  const full = new Array<Float32Array | null>(total);
  let done = 0;
  try {
    await Promise.all(
      volume.slices.map(async (_, k) => {
        const mu = options.muMapsPerCm?.[k];
        const output = await pool.run(job, { image: sliceOf(volume, k), sliceIndex: k, ...(mu ? { muMapPerCm: mu } : {}) });
        low[k] = output.lowDose;
        full[k] = output.fullDose;
        options.onSlice?.(k, ++done, total);
      }),
    );
  } finally {
    await pool.close();
  }
  const dose = job.kind === 'pet' ? job.options.countsFraction : job.options.dose;
  const lowDose: Volume = { ...volume, slices: low, description: `${volume.description} simulated ${formatPercent(dose)} dose` };
  const fullDose: Volume | null = full.every((f) => f !== null)
    ? { ...volume, slices: full, description: `${volume.description} simulated full dose` }
    : null;
  return { lowDose, fullDose };
}

function formatPercent(fraction: number): string {
  return `${Math.round(fraction * 1000) / 10}%`;
}
