/**
 * `worker --device cuda|webgpu` on a machine where that device cannot even be tried (its provider
 * or loader is missing) exits 2 with E_DEVICE_UNAVAILABLE before it connects to Redis, instead of
 * taking every job of the queue and failing each (series another worker could have denoised).
 */
import { describe, expect, it } from 'vitest';
import { cudaUnavailableReason, webgpuUnavailableReason } from '../../src/runtime/index.js';
import { runCli } from '../helpers/cli.js';

// Nothing listens there: a worker that got as far as connecting would fail with E_QUEUE_UNAVAILABLE.
const NO_REDIS = 'redis://127.0.0.1:1';

describe('worker --device that cannot run here', () => {
  it.skipIf(cudaUnavailableReason() === null)('--device cuda without the CUDA provider: exit 2, E_DEVICE_UNAVAILABLE naming the reason, no Redis asked', async () => {
    const run = await runCli('worker', '--redis', NO_REDIS, '--device', 'cuda', '--json');
    expect(run.code).toBe(2);
    const { errors } = JSON.parse(run.stdout) as { errors: Array<{ code: string; message: string }> };
    expect(errors).toEqual([{ path: null, code: 'E_DEVICE_UNAVAILABLE', message: expect.stringContaining("--device cuda cannot run on this machine: onnxruntime-node's CUDA provider is not installed") }]);
  });

  it.skipIf(webgpuUnavailableReason() === null)('--device webgpu without the Vulkan loader: exit 2, E_DEVICE_UNAVAILABLE', async () => {
    const run = await runCli('worker', '--redis', NO_REDIS, '--device', 'webgpu', '--json');
    expect(run.code).toBe(2);
    expect((JSON.parse(run.stdout) as { errors: Array<{ code: string }> }).errors.map((e) => e.code)).toEqual(['E_DEVICE_UNAVAILABLE']);
  });
});
