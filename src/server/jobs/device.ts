/**
 * Which device queue a job waits in. Only the diffusion model runs on an accelerator; the classic
 * filters are CPU work. The device is the runtime's own choice for the request (`expectedDevice`:
 * `auto` resolved in the runtime's order from what is installed), so two `auto` jobs on a GPU
 * machine do not run side by side.
 */
import { expectedDevice } from '../../runtime/index.js';
import type { JobOptions } from '../api-types.js';

export function queueDeviceFor(options: JobOptions): string {
  if (options.method !== undefined && options.method !== 'diffusion') return 'cpu';
  return expectedDevice(options.device ?? 'auto');
}
