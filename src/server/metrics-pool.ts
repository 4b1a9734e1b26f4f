/**
 * One worker thread that scores slices (SSIM and the noise estimate take ~0.3 s per 512² slice
 * pair), so that metrics never hold up slice requests while someone scrolls. Started on first use,
 * stopped with the app.
 */
import { Worker } from 'node:worker_threads';
import { LowdoseError } from '../errors.js';
import type { SliceScoreInput, SliceScoreOutput } from './slice-scores.js';

type Pending = { resolve: (output: SliceScoreOutput) => void; reject: (error: Error) => void };

function startWorker(): Worker {
  // As TypeScript source (tests, tsx) the worker loads its entry through tsx, as src/simulate/pool.ts does.
  if (import.meta.url.endsWith('.ts')) {
    const url = new URL('./metrics-worker.ts', import.meta.url).href;
    const code = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(url)}); })`;
    return new Worker(code, { eval: true });
  }
  return new Worker(new URL('./metrics-worker.js', import.meta.url));
}

export class MetricsWorker {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;

  score(input: SliceScoreInput): Promise<SliceScoreOutput> {
    const worker = this.ensure();
    const id = this.nextId++;
    return new Promise<SliceScoreOutput>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, input });
    });
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    this.failAll(new LowdoseError('E_CANCELLED', 'the server is shutting down'));
    if (worker) await worker.terminate();
  }

  private ensure(): Worker {
    if (this.worker) return this.worker;
    const worker = startWorker();
    worker.unref();
    worker.on('message', (message: { id: number; output?: SliceScoreOutput; error?: { code: string; message: string } }) => {
      const pending = this.pending.get(message.id);
      if (!pending) return;
      this.pending.delete(message.id);
      if (message.output) pending.resolve(message.output);
      else pending.reject(new LowdoseError((message.error?.code as LowdoseError['code']) ?? 'E_INTERNAL', message.error?.message ?? 'metrics failed'));
    });
    worker.on('error', (error) => {
      this.worker = null;
      this.failAll(new LowdoseError('E_INTERNAL', `metrics worker failed: ${error.message}`));
    });
    worker.on('exit', () => {
      if (this.worker === worker) this.worker = null;
    });
    this.worker = worker;
    return worker;
  }

  private failAll(error: Error): void {
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
  }
}
