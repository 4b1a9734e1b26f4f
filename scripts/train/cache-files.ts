/**
 * The little file conventions the training scripts share for `.cache/` (layout: data.py): raw
 * little-endian float32 arrays, and doses written into file names.
 */
import { readFileSync } from 'node:fs';

/** A whole `.f32` file as its own Float32Array (copied, so it never aliases a pooled Buffer). */
export function readF32(file: string): Float32Array {
  const b = readFileSync(file);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

/** A dose in file names: 0.25 -> "025" (data.py and evaluate.py read these names). */
export function doseKey(d: number): string {
  return String(Math.round(d * 100)).padStart(3, '0');
}
