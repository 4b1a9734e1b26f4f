/** Loads the scikit-image reference pairs written by scripts/dev/metrics-reference.py. */
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const METRICS_DATA = path.resolve(import.meta.dirname, '../data/metrics');

export interface ReferencePair {
  readonly name: string;
  readonly description: string;
  readonly rows: number;
  readonly columns: number;
  readonly dtype: 'int16' | 'float32';
  readonly reference: string;
  readonly test: string;
  readonly range: [number, number];
  readonly psnr: number;
  readonly ssim: number;
  readonly ssimFloat32: number;
  readonly rmse: number;
}

export function referencePairs(): ReferencePair[] {
  const index = JSON.parse(readFileSync(path.join(METRICS_DATA, 'index.json'), 'utf8')) as { pairs: ReferencePair[] };
  return index.pairs;
}

/** Little-endian raw file as Float32Array (int16 data converted exactly). */
export function readRaw(file: string, dtype: 'int16' | 'float32', count: number): Float32Array {
  const bytes = readFileSync(path.join(METRICS_DATA, file));
  const width = dtype === 'int16' ? 2 : 4;
  if (bytes.length !== count * width) throw new Error(`${file}: ${bytes.length} bytes, expected ${count * width}`);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = dtype === 'int16' ? bytes.readInt16LE(2 * i) : bytes.readFloatLE(4 * i);
  return out;
}
