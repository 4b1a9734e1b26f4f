/**
 * Which device queue a job waits in. Only the diffusion model runs on an accelerator; the classic
 * filters are CPU work. `auto` is resolved the way the runtime would try it (CUDA, WebGPU, CPU),
 * from what is installed, so two `auto` jobs on a GPU machine do not run side by side.
 */
import { cudaUnavailableReason, webgpuUnavailableReason } from '../../runtime/index.js';
import type { JobOptions } from '../api-types.js';

export function queueDeviceFor(options: JobOptions): string {
  if (options.method !== undefined && options.method !== 'diffusion') return 'cpu';
  const requested = options.device ?? 'auto';
  if (requested !== 'auto') return requested;
  if (cudaUnavailableReason() === null) return 'cuda';
  if (webgpuUnavailableReason() === null) return 'webgpu';
  return 'cpu';
}
