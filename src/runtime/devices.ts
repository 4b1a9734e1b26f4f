/**
 * Which execution provider runs the model. `auto` tries CUDA, then WebGPU, then the CPU, and keeps
 * for every device it passed over the reason, so the CLI can say why it ended where it did.
 *
 * onnxruntime-node's Linux x64 package bundles the CPU and WebGPU providers. The CUDA provider
 * (libonnxruntime_providers_cuda.so + libonnxruntime_providers_shared.so) is not bundled: the
 * package's postinstall downloads it from NuGet, and this repository's .npmrc skips that
 * (`onnxruntime-node-install=skip`) so that `npm ci` only talks to the npm registry. See
 * docs/diffusion.md for how to install it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

import { DEVICE_REQUESTS, isOneOf, type Device, type DeviceRequest } from '../choices.js';

export { DEVICE_REQUESTS, DEVICES, type Device, type DeviceRequest } from '../choices.js';

/** The order `auto` tries. */
export const AUTO_ORDER: readonly Device[] = ['cuda', 'webgpu', 'cpu'];

export interface DeviceSkip {
  readonly device: Device;
  readonly reason: string;
}

/** Which device a session runs on and why the others were not used. */
export interface DeviceReport {
  readonly requested: DeviceRequest;
  readonly used: Device;
  readonly skipped: readonly DeviceSkip[];
}

export function isDeviceRequest(value: string): value is DeviceRequest {
  return isOneOf(DEVICE_REQUESTS, value);
}

/** The folder holding onnxruntime-node's native binding and provider libraries for this platform. */
export function onnxruntimeBinaryDir(): string {
  const require = createRequire(import.meta.url);
  const packageDir = path.dirname(require.resolve('onnxruntime-node/package.json'));
  return path.join(packageDir, 'bin', 'napi-v6', process.platform, process.arch);
}

const CUDA_LIBRARIES: Record<string, readonly string[]> = {
  linux: ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so'],
  win32: ['onnxruntime_providers_shared.dll', 'onnxruntime_providers_cuda.dll'],
};

/**
 * Why CUDA cannot even be tried here, or null when its provider files are present (whether the
 * driver and CUDA/cuDNN libraries load is only known when a session is created).
 */
export function cudaUnavailableReason(binaryDir = onnxruntimeBinaryDir()): string | null {
  const libraries = CUDA_LIBRARIES[process.platform];
  if (!libraries || process.arch !== 'x64') {
    return `onnxruntime-node has no CUDA provider for ${process.platform}/${process.arch}`;
  }
  const missing = libraries.filter((name) => !existsSync(path.join(binaryDir, name)));
  if (missing.length === 0) return null;
  return (
    `onnxruntime-node's CUDA provider is not installed (${missing.join(', ')} missing in ${binaryDir}); ` +
    `npm skipped its download (.npmrc onnxruntime-node-install=skip): ` +
    `with internet access, 'ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node' adds it (needs CUDA 12 and cuDNN 9)`
  );
}

const LIBRARY_DIRS = ['/lib', '/lib64', '/usr/lib', '/usr/lib64', '/usr/local/lib', '/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu', '/lib/aarch64-linux-gnu', '/usr/lib/aarch64-linux-gnu'];

/**
 * Why WebGPU cannot work here, or null when it is worth trying. On Linux onnxruntime's WebGPU (Dawn)
 * runs on Vulkan; without the Vulkan loader library the attempt only fails after printing Dawn's
 * warning on stderr, so it is skipped with the reason instead.
 */
export function webgpuUnavailableReason(): string | null {
  if (process.platform !== 'linux') return null;
  const dirs = [...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean), ...LIBRARY_DIRS];
  if (dirs.some((dir) => existsSync(path.join(dir, 'libvulkan.so.1')))) return null;
  let cache: Buffer;
  try {
    cache = readFileSync('/etc/ld.so.cache');
  } catch {
    return null; // cannot tell: let onnxruntime try
  }
  if (cache.includes('libvulkan.so.1')) return null;
  return 'no Vulkan loader (libvulkan.so.1) on this system, which WebGPU needs on Linux (install the GPU driver\'s Vulkan support, e.g. libvulkan1)';
}

/** Why `device` cannot even be tried here, or null when it is worth trying. */
export function deviceUnavailableReason(device: Device): string | null {
  if (device === 'cuda') return cudaUnavailableReason();
  if (device === 'webgpu') return webgpuUnavailableReason();
  return null;
}

/** The devices a request tries, in order: `auto` is AUTO_ORDER, anything else itself. */
export function devicesToTry(requested: DeviceRequest): readonly Device[] {
  return requested === 'auto' ? AUTO_ORDER : [requested];
}

/**
 * The device a request will run on unless creating its session fails there: the requested one, or
 * for `auto` the first in AUTO_ORDER that can be tried. What the server queues a job on.
 */
export function expectedDevice(requested: DeviceRequest): Device {
  if (requested !== 'auto') return requested;
  return AUTO_ORDER.find((device) => deviceUnavailableReason(device) === null) ?? 'cpu';
}

/** The first line of an onnxruntime error, without its source-file prefix. */
export function shortReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const line = message.split('\n').find((l) => l.trim() !== '') ?? message;
  // ORT messages look like "/onnxruntime_src/...cc:136 fn(...) condition was false. Reason".
  const afterFalse = line.match(/was false\.\s*(.+)$/);
  if (afterFalse) return afterFalse[1]!.trim();
  return line.replace(/^\S+\.(cc|h|cpp):\d+\s+/, '').trim();
}

/**
 * A device's failure as users should read it: WebGPU's "No supported adapters" means Vulkan found no
 * usable driver, which on an NVIDIA machine is most often the missing libglvnd (the ICD,
 * libGLX_nvidia.so.0, does not load without libGLdispatch; measured on the H100 machine, docs/history.md).
 */
export function explainDeviceFailure(device: string, reason: string): string {
  if (device === 'webgpu' && /no supported adapters/i.test(reason)) {
    return `${reason} (Vulkan found no usable GPU driver: install the driver's Vulkan ICD; NVIDIA's also needs libglvnd0)`;
  }
  return reason;
}

/** One line for stderr and reports: "cpu (cuda: <why not>; webgpu: <why not>)". */
export function formatDeviceReport(report: DeviceReport): string {
  if (report.skipped.length === 0) return report.used;
  return `${report.used} (${report.skipped.map((s) => `${s.device}: ${s.reason}`).join('; ')})`;
}
