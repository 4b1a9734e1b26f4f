/** What machine a benchmark ran on: recorded with every result so numbers can be compared. */
import { createRequire } from 'node:module';
import os from 'node:os';

export interface MachineInfo {
  readonly cpuModel: string;
  /** Logical CPUs the process may use (os.availableParallelism, = `nproc`). */
  readonly cpus: number;
  /** Total memory, MiB (2^20 bytes). */
  readonly memoryMb: number;
  readonly platform: string;
  readonly node: string;
  readonly onnxruntime: string | null;
  /** ISO 8601 time the bench started. */
  readonly date: string;
  /** 1-minute load average when the bench started: other jobs on the machine slow it down. */
  readonly loadAverage: number;
}

export function machineInfo(now = new Date()): MachineInfo {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cpus: typeof os.availableParallelism === 'function' ? os.availableParallelism() : cpus.length,
    memoryMb: Math.round(os.totalmem() / 2 ** 20),
    platform: `${process.platform}-${process.arch}`,
    node: process.version,
    onnxruntime: onnxruntimeVersion(),
    date: now.toISOString(),
    loadAverage: Math.round(os.loadavg()[0]! * 100) / 100,
  };
}

function onnxruntimeVersion(): string | null {
  try {
    const require = createRequire(import.meta.url);
    return (require('onnxruntime-node/package.json') as { version: string }).version;
  } catch {
    return null;
  }
}
