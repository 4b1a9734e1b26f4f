import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cudaUnavailableReason, expectedDevice, explainDeviceFailure, formatDeviceReport, onnxruntimeBinaryDir, shortReason } from '../../src/runtime/devices.js';
import { queueDeviceFor } from '../../src/server/jobs/device.js';
import { listBackends, OnnxSession } from '../../src/runtime/session.js';
import { LowdoseError } from '../../src/errors.js';
import { fixtureModel } from '../diffusion/helpers.js';

const onnx = fixtureModel('per-pixel').replace(/\.json$/, '.onnx');

function feeds(b: number, h: number, w: number) {
  const n = b * h * w;
  return {
    x_t: { data: new Float32Array(n).fill(2), dims: [b, 1, h, w] },
    t: { data: new Float32Array(b).fill(100), dims: [b] },
    cond: { data: new Float32Array(n).fill(4), dims: [b, 1, h, w] },
    dose: { data: new Float32Array(b).fill(0.5), dims: [b] },
    cond_mask: { data: new Float32Array(b).fill(1), dims: [b] },
  };
}

describe('device choice', () => {
  it('runs on the CPU when asked, skipping nothing', async () => {
    const session = await OnnxSession.create(onnx, { device: 'cpu', threads: 1 });
    expect(session.device).toEqual({ requested: 'cpu', used: 'cpu', skipped: [] });
    await session.release();
  });

  it('auto tries CUDA, then WebGPU, then the CPU, and says why it passed each over', async () => {
    const session = await OnnxSession.create(onnx, { device: 'auto' });
    const report = session.device;
    expect(report.requested).toBe('auto');
    const order = ['cuda', 'webgpu', 'cpu'];
    // Every device before the one used was tried and has a reason; none after it was tried.
    expect(report.skipped.map((s) => s.device)).toEqual(order.slice(0, order.indexOf(report.used)));
    for (const s of report.skipped) expect(s.reason.length).toBeGreaterThan(10);

    const cudaReason = cudaUnavailableReason();
    if (cudaReason !== null) {
      expect(report.skipped[0]).toEqual({ device: 'cuda', reason: cudaReason });
      expect(cudaReason).toMatch(/ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node/);
    }
    const out = new Float32Array(4);
    await session.run(feeds(1, 2, 2), { out: { data: out, dims: [1, 1, 2, 2] } });
    expect(out[0]).toBeCloseTo(0.5 * 2 + 0.25 * 4 + 0.125 * 0.5 + 1e-4 * 100, 5);
    await session.release();
  });

  it("queues a server job on the device the runtime then picks: one choice, made by the runtime", async () => {
    const session = await OnnxSession.create(onnx, { device: 'auto' });
    try {
      expect(expectedDevice('auto')).toBe(session.device.used);
      expect(queueDeviceFor({})).toBe(session.device.used);
      expect(queueDeviceFor({ device: 'auto', method: 'diffusion' })).toBe(session.device.used);
    } finally {
      await session.release();
    }
    expect(queueDeviceFor({ device: 'cuda' })).toBe('cuda');
    // The classical filters are CPU work whatever device was asked for.
    expect(queueDeviceFor({ method: 'nlm', device: 'cuda' })).toBe('cpu');
  });

  it('asking for WebGPU either runs on it or fails cleanly with the reason', async () => {
    try {
      const session = await OnnxSession.create(onnx, { device: 'webgpu' });
      expect(session.device.used).toBe('webgpu');
      const out = new Float32Array(4);
      await session.run(feeds(1, 2, 2), { out: { data: out, dims: [1, 1, 2, 2] } });
      expect(out[0]).toBeCloseTo(2.0725, 4);
      await session.release();
    } catch (error) {
      expect(error).toBeInstanceOf(LowdoseError);
      expect((error as LowdoseError).code).toBe('E_DEVICE_UNAVAILABLE');
      expect((error as LowdoseError).message).toMatch(/^device webgpu is not available for .*per-pixel\.onnx \(webgpu: .+\)$/s);
    }
  });

  it('asking for CUDA without its provider fails with how to install it', async () => {
    if (cudaUnavailableReason() === null) return; // provider installed: nothing to check here
    await expect(OnnxSession.create(onnx, { device: 'cuda' })).rejects.toMatchObject({
      code: 'E_DEVICE_UNAVAILABLE',
      message: expect.stringMatching(/cuda: onnxruntime-node's CUDA provider is not installed/),
    });
  });

  it('finds the CUDA provider files only when both are present', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'lowdose-ort-'));
    if (process.platform !== 'linux' || process.arch !== 'x64') return;
    expect(cudaUnavailableReason(dir)).toMatch(/libonnxruntime_providers_shared\.so, libonnxruntime_providers_cuda\.so missing/);
    writeFileSync(path.join(dir, 'libonnxruntime_providers_shared.so'), '');
    expect(cudaUnavailableReason(dir)).toMatch(/libonnxruntime_providers_cuda\.so missing/);
    writeFileSync(path.join(dir, 'libonnxruntime_providers_cuda.so'), '');
    expect(cudaUnavailableReason(dir)).toBeNull();
  });

  it('lists the providers this onnxruntime-node build knows', () => {
    const names = listBackends().map((b) => b.name);
    expect(names).toContain('cpu');
    expect(onnxruntimeBinaryDir()).toMatch(/onnxruntime-node[/\\]bin[/\\]napi-v6/);
  });

  it('says in one line where it ran and why not elsewhere', () => {
    const skipped = [{ device: 'cuda' as const, reason: 'not installed' }, { device: 'webgpu' as const, reason: 'no adapter' }];
    expect(formatDeviceReport({ requested: 'auto', used: 'cpu', skipped })).toBe('cpu (cuda: not installed; webgpu: no adapter)');
    expect(formatDeviceReport({ requested: 'cpu', used: 'cpu', skipped: [] })).toBe('cpu');
  });

  it('shortens onnxruntime messages to their reason', () => {
    expect(
      shortReason(new Error('/onnxruntime_src/onnxruntime/core/providers/webgpu/webgpu_context.cc:136 onnxruntime::webgpu::X adapter_result.status == wgpu::RequestAdapterStatus::Success was false. Failed to get a WebGPU adapter: No supported adapters\n')),
    ).toBe('Failed to get a WebGPU adapter: No supported adapters');
    expect(shortReason(new Error('OrtSessionOptionsAppendExecutionProvider_Cuda: Failed to load shared library'))).toBe(
      'OrtSessionOptionsAppendExecutionProvider_Cuda: Failed to load shared library',
    );
  });

  it('explains a WebGPU adapter failure as a missing Vulkan driver, and leaves other reasons alone', () => {
    expect(explainDeviceFailure('webgpu', 'Failed to get a WebGPU adapter: No supported adapters')).toMatch(
      /^Failed to get a WebGPU adapter: No supported adapters \(Vulkan found no usable GPU driver: .*libglvnd0\)$/,
    );
    expect(explainDeviceFailure('webgpu', 'out of memory')).toBe('out of memory');
    expect(explainDeviceFailure('cuda', 'No supported adapters')).toBe('No supported adapters');
  });
});

describe('sessions', () => {
  it('describes the graph and counts forward passes and their time', async () => {
    const session = await OnnxSession.create(onnx, { device: 'cpu', threads: 2 });
    expect(session.signature.inputs.map((i) => i.name)).toEqual(['x_t', 't', 'cond', 'dose', 'cond_mask']);
    expect(session.signature.inputs[0]).toEqual({ name: 'x_t', type: 'float32', shape: ['B', 1, 'H', 'W'] });
    expect(session.signature.outputs).toEqual([{ name: 'out', type: 'float32', shape: ['B', 1, 'H', 'W'] }]);
    const out = new Float32Array(3 * 5 * 7);
    const f = feeds(3, 5, 7);
    await session.run(f, { out: { data: out, dims: [3, 1, 5, 7] } });
    // Inputs are read where they lie: changing the array changes the next result.
    f.x_t.data.fill(0);
    const out2 = new Float32Array(3 * 5 * 7);
    await session.run(f, { out: { data: out2, dims: [3, 1, 5, 7] } });
    expect(out[104]! - out2[104]!).toBeCloseTo(1, 5);
    expect(session.stats.calls).toBe(2);
    expect(session.stats.forwardMs).toBeGreaterThan(0);
    await session.release();
  });

  it('reports a wrongly shaped run as E_MODEL and still counts it', async () => {
    const session = await OnnxSession.create(onnx, { device: 'cpu' });
    const bad = { ...feeds(1, 2, 2), cond: { data: new Float32Array(9), dims: [1, 1, 3, 3] } };
    await expect(session.run(bad, { out: { data: new Float32Array(4), dims: [1, 1, 2, 2] } })).rejects.toMatchObject({ code: 'E_MODEL' });
    expect(session.stats.calls).toBe(1);
    await session.release();
  });

  it('fails clearly on a missing file, a file that is not ONNX, and bad thread counts', async () => {
    await expect(OnnxSession.create('/nonexistent/model.onnx', { device: 'cpu' })).rejects.toMatchObject({ code: 'E_NOT_FOUND' });
    const dir = mkdtempSync(path.join(tmpdir(), 'lowdose-ort-'));
    const junk = path.join(dir, 'junk.onnx');
    writeFileSync(junk, 'not a model');
    await expect(OnnxSession.create(junk, { device: 'cpu' })).rejects.toMatchObject({ code: 'E_MODEL', path: junk });
    await expect(OnnxSession.create(onnx, { device: 'cpu', threads: 0 })).rejects.toMatchObject({ code: 'E_USAGE' });
  });
});
