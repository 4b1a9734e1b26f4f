/**
 * The network on a worker thread (src/runtime/worker-session.ts): the same passes, counters and
 * errors as a session on the calling thread, tensors on shared memory read and written in place,
 * others copied when sent, and a worker that dies failing its callers with E_INTERNAL.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { OnnxSession, type TensorData } from '../../src/runtime/session.js';
import { sharedFloat32, WorkerSession } from '../../src/runtime/worker-session.js';
import { fixtureModel } from '../diffusion/helpers.js';

const onnx = fixtureModel('per-pixel').replace(/\.json$/, '.onnx');

/** The per-pixel fixture's inputs for b images of h x w, sample and condition in `alloc`'s arrays. */
function feeds(b: number, h: number, w: number, alloc: (n: number) => Float32Array = (n) => new Float32Array(n)): Record<string, TensorData> {
  const n = b * h * w;
  const ramp = (scale: number) => {
    const a = alloc(n);
    for (let i = 0; i < n; i++) a[i] = scale * Math.sin(i * 0.37);
    return a;
  };
  return {
    x_t: { data: ramp(2), dims: [b, 1, h, w] },
    t: { data: new Float32Array(b).fill(100), dims: [b] },
    cond: { data: ramp(-3), dims: [b, 1, h, w] },
    dose: { data: new Float32Array(b).fill(0.5), dims: [b] },
    cond_mask: { data: new Float32Array(b).fill(1), dims: [b] },
  };
}

async function onThisThread(f: Record<string, TensorData>, dims: number[]): Promise<Float32Array> {
  const session = await OnnxSession.create(onnx, { device: 'cpu', threads: 1 });
  const out = new Float32Array(dims.reduce((a, b) => a * b, 1));
  await session.run(f, { out: { data: out, dims } });
  await session.release();
  return out;
}

describe('a session on this thread', () => {
  it("has onnxruntime write a pass's output into the caller's array on the CPU, which it does not copy again", async () => {
    const session = await OnnxSession.create(onnx, { device: 'cpu', threads: 1 });
    try {
      const dims = [2, 1, 6, 5];
      const poisoned = new Float32Array(60).fill(NaN);
      const zeros = new Float32Array(60);
      await session.run(feeds(2, 6, 5), { out: { data: poisoned, dims } });
      await session.run(feeds(2, 6, 5), { out: { data: zeros, dims } });
      expect(poisoned.every(Number.isFinite)).toBe(true);
      expect(poisoned).toEqual(zeros);
      expect(zeros.some((v) => v !== 0)).toBe(true);
    } finally {
      await session.release();
    }
  });
});

describe('a session on a worker thread', () => {
  it('runs the same passes as one on this thread, describes the same graph and counts passes, time and its own CPU', async () => {
    const session = await WorkerSession.create(onnx, { device: 'cpu', threads: 1 });
    try {
      const local = await OnnxSession.create(onnx, { device: 'cpu', threads: 1 });
      expect(session.signature).toEqual(local.signature);
      expect(session.device).toEqual(local.device);
      await local.release();
      const dims = [3, 1, 5, 7];
      const expected = await onThisThread(feeds(3, 5, 7), dims);
      // Ordinary arrays (copied when sent, the result copied back) and shared ones (in place).
      const plain = new Float32Array(105);
      await session.run(feeds(3, 5, 7), { out: { data: plain, dims } });
      const shared = sharedFloat32(105);
      await session.run(feeds(3, 5, 7, sharedFloat32), { out: { data: shared, dims } });
      expect(plain).toEqual(expected);
      expect(shared).toEqual(expected);
      expect(session.stats.calls).toBe(2);
      expect(session.stats.forwardMs).toBeGreaterThan(0);
      if (session.stats.workerCpuMs !== undefined) {
        // This thread does nothing inside a pass; the worker's copies are counted apart.
        expect(session.stats.forwardCpuMs).toBe(0);
        // Counted, not clamped: each pass's reading may be off by up to one scheduler tick either
        // way (4 ms at 250 Hz, src/util/thread-cpu.ts), so two passes may sum a little below 0
        // (a run here read -7e-15 ms); only an error of more than those ticks is wrong.
        expect(session.stats.workerCpuMs).toBeGreaterThanOrEqual(-2 * 4);
      }
    } finally {
      await session.release();
    }
  });

  it('runs passes asked for together one after the other, each on the values its caller sent', async () => {
    const session = await WorkerSession.create(onnx, { device: 'cpu', threads: 1 });
    try {
      const dims = [1, 1, 6, 6];
      const f = feeds(1, 6, 6);
      const first = await onThisThread(f, dims);
      const changed = { ...f, x_t: { data: (f.x_t!.data as Float32Array).map((v) => v + 1), dims } };
      const second = await onThisThread(changed, dims);
      // The caller reuses its (ordinary) input array as soon as run has been called.
      const x = f.x_t!.data as Float32Array;
      const outs = [new Float32Array(36), new Float32Array(36)];
      const a = session.run(f, { out: { data: outs[0]!, dims } });
      const saved = x.slice();
      for (let i = 0; i < x.length; i++) x[i] = saved[i]! + 1;
      const b = session.run(f, { out: { data: outs[1]!, dims } });
      const passes: Array<[number, number]> = [];
      session.onPass = (started, ended) => passes.push([started, ended]);
      await Promise.all([a, b]);
      expect(outs[0]).toEqual(first);
      expect(outs[1]).toEqual(second);
      expect(passes).toHaveLength(2);
      expect(passes[1]![0]).toBeGreaterThanOrEqual(passes[0]![1]);
    } finally {
      await session.release();
    }
  });

  it('reports a missing file, a file that is no model and bad thread counts with the codes and messages of this thread', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'lowdose-worker-session-'));
    const junk = path.join(dir, 'junk.onnx');
    writeFileSync(junk, 'not a model');
    for (const [file, options] of [
      ['/nonexistent/model.onnx', { device: 'cpu' }],
      [junk, { device: 'cpu' }],
      [onnx, { device: 'cpu', threads: 0 }],
    ] as const) {
      const here = await OnnxSession.create(file, options).then(
        () => null,
        (error: unknown) => error,
      );
      const there = await WorkerSession.create(file, options).then(
        () => null,
        (error: unknown) => error,
      );
      expect(here).toBeTruthy();
      expect(there).toMatchObject({ name: 'LowdoseError', code: (here as { code: string }).code, message: (here as Error).message });
      expect((there as { path?: string }).path).toBe((here as { path?: string }).path);
    }
  });

  it('rejects a wrongly shaped pass with E_MODEL and the message of this thread, and runs the next one', async () => {
    const session = await WorkerSession.create(onnx, { device: 'cpu' });
    const local = await OnnxSession.create(onnx, { device: 'cpu' });
    try {
      const bad = { ...feeds(1, 2, 2), cond: { data: new Float32Array(9), dims: [1, 1, 3, 3] } };
      const out = () => ({ out: { data: new Float32Array(4), dims: [1, 1, 2, 2] } });
      const here = await local.run(bad, out()).catch((error: unknown) => error);
      await expect(session.run(bad, out())).rejects.toMatchObject({ code: 'E_MODEL', message: (here as Error).message, path: onnx });
      expect(session.stats.calls).toBe(1);
      const good = out();
      await session.run(feeds(1, 2, 2), good);
      expect(good.out.data).toEqual(await onThisThread(feeds(1, 2, 2), [1, 1, 2, 2]));
    } finally {
      await session.release();
      await local.release();
    }
  });

  it('fails the waiting pass and every later one with E_INTERNAL when its thread dies', async () => {
    const session = await WorkerSession.create(onnx, { device: 'cpu' });
    const worker = (session as unknown as { worker: Worker }).worker;
    // A pass large enough to be still running when the thread is terminated (a 64 x 64 one could finish first).
    const pass = session.run(feeds(1, 2048, 2048), { out: { data: new Float32Array(2048 * 2048), dims: [1, 1, 2048, 2048] } });
    await worker.terminate();
    await expect(pass).rejects.toMatchObject({ code: 'E_INTERNAL', message: expect.stringMatching(/worker thread exited/) });
    await expect(session.run(feeds(1, 2, 2), { out: { data: new Float32Array(4), dims: [1, 1, 2, 2] } })).rejects.toMatchObject({ code: 'E_INTERNAL' });
    await session.release();
  });
});
