/**
 * The server's worker threads: one for slice metrics (SSIM and the noise estimate take ~0.3 s per
 * 512² slice pair, so metrics never hold up slice requests while someone scrolls), one for files
 * (checking uploads, scanning the data folders), one for slices, one for the exports' figures and
 * measurement tables (src/server/plugins/data.ts starts them). Each is started on first use and stopped with
 * the app; tasks run one at a time per thread, in order (./worker-tasks.ts says what they do).
 *
 * A task can be given a time limit: past it, the thread is terminated (whatever it was doing is
 * lost, later tasks get a fresh thread) and the task fails with the error it was given. The JS heap
 * of a thread can be capped: a task that exhausts it kills that thread, not the server.
 */
import type { ResourceLimits, Worker } from 'node:worker_threads';
import { LowdoseError } from '../errors.js';
import { startModuleWorker } from '../util/worker.js';
import type { TaskName, WorkerTasks } from './worker-tasks.js';

type Pending = { resolve: (output: unknown) => void; reject: (error: Error) => void; timer: NodeJS.Timeout | null };

export interface ServerWorkerOptions {
  /** Run at the lowest OS priority (metrics: the slices someone is scrolling through come first). */
  readonly lowPriority?: boolean;
  readonly resourceLimits?: ResourceLimits;
}

function startWorker(options: ServerWorkerOptions): Worker {
  const workerData = { lowPriority: Boolean(options.lowPriority) };
  const resourceLimits = options.resourceLimits ?? {};
  return startModuleWorker(import.meta.url, 'worker-entry', { workerData, resourceLimits });
}

export class ServerWorker {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private sentCount = 0;

  constructor(private readonly options: ServerWorkerOptions = {}) {}

  /** Tasks sent and not yet answered (tests watch it to know a task is in the thread). */
  get busy(): number {
    return this.pending.size;
  }

  /** Tasks sent to the thread since the app started (tests count them to see what work was done). */
  get sent(): number {
    return this.sentCount;
  }

  /**
   * Runs `task` in the thread. With `limit`, a task still running after `limit.ms` terminates the
   * thread and fails with `limit.error`.
   */
  run<T extends TaskName>(
    task: T,
    input: WorkerTasks[T]['input'],
    limit?: { readonly ms: number; readonly error: () => LowdoseError },
  ): Promise<WorkerTasks[T]['output']> {
    const worker = this.ensure();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = limit
        ? setTimeout(() => {
            const pending = this.pending.get(id);
            if (!pending) return;
            this.pending.delete(id);
            pending.reject(limit.error());
            // Whatever the thread is stuck on is abandoned with it; the others fail and may retry.
            this.restart(new LowdoseError('E_INTERNAL', 'a worker task was stopped after its time limit; try again'));
          }, limit.ms)
        : null;
      timer?.unref();
      this.pending.set(id, { resolve: resolve as (output: unknown) => void, reject, timer });
      this.sentCount++;
      worker.postMessage({ id, task, input });
    });
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    this.failAll(new LowdoseError('E_CANCELLED', 'the server is shutting down'));
    if (worker) await worker.terminate();
  }

  private restart(error: LowdoseError): void {
    const worker = this.worker;
    this.worker = null;
    this.failAll(error);
    void worker?.terminate();
  }

  private ensure(): Worker {
    if (this.worker) return this.worker;
    const worker = startWorker(this.options);
    worker.unref();
    worker.on('message', (message: { id: number; output?: unknown; error?: { code: string; message: string } }) => {
      const pending = this.pending.get(message.id);
      if (!pending) return;
      this.pending.delete(message.id);
      if (pending.timer) clearTimeout(pending.timer);
      if (message.error) {
        pending.reject(new LowdoseError((message.error.code as LowdoseError['code']) ?? 'E_INTERNAL', message.error.message));
      } else {
        pending.resolve(message.output);
      }
    });
    worker.on('error', (error) => {
      if (this.worker !== worker) return;
      this.worker = null;
      const outOfMemory = (error as { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY';
      this.failAll(new LowdoseError('E_INTERNAL', outOfMemory ? 'a worker task ran out of memory' : `worker failed: ${error.message}`));
    });
    worker.on('exit', () => {
      if (this.worker === worker) {
        this.worker = null;
        this.failAll(new LowdoseError('E_INTERNAL', 'the worker thread stopped'));
      }
    });
    this.worker = worker;
    return worker;
  }

  private failAll(error: Error): void {
    for (const pending of this.pending.values()) {
      if (pending.timer) clearTimeout(pending.timer);
      pending.reject(error);
    }
    this.pending.clear();
  }
}
