/** ROI statistics on phantom slices, in phantom (mm) coordinates. */
import type { Volume } from '../../src/image.js';

export interface RoiStats {
  mean: number;
  std: number;
  count: number;
}

/** Mean and std of the pixels whose centres lie within `radius` mm of (x, y) in slice `k`. */
export function roi(volume: Volume, k: number, x: number, y: number, radius: number, origin?: readonly number[]): RoiStats {
  const [dy, dx] = volume.spacing;
  const x0 = origin?.[0] ?? (-(volume.columns - 1) / 2) * dx;
  const y0 = origin?.[1] ?? (-(volume.rows - 1) / 2) * dy;
  const slice = volume.slices[k]!;
  let sum = 0;
  let sum2 = 0;
  let count = 0;
  for (let r = 0; r < volume.rows; r++) {
    const py = y0 + r * dy;
    if (Math.abs(py - y) > radius) continue;
    for (let c = 0; c < volume.columns; c++) {
      const px = x0 + c * dx;
      if ((px - x) ** 2 + (py - y) ** 2 > radius * radius) continue;
      const v = slice[r * volume.columns + c]!;
      sum += v;
      sum2 += v * v;
      count++;
    }
  }
  const mean = sum / count;
  return { mean, std: Math.sqrt(Math.max(0, sum2 / count - mean * mean)), count };
}

/** The value at the pixel nearest to (x, y). */
export function valueAt(volume: Volume, k: number, x: number, y: number, origin?: readonly number[]): number {
  const [dy, dx] = volume.spacing;
  const x0 = origin?.[0] ?? (-(volume.columns - 1) / 2) * dx;
  const y0 = origin?.[1] ?? (-(volume.rows - 1) / 2) * dy;
  const c = Math.round((x - x0) / dx);
  const r = Math.round((y - y0) / dy);
  return volume.slices[k]![r * volume.columns + c]!;
}

export function sameBytes(a: Volume, b: Volume): boolean {
  if (a.slices.length !== b.slices.length) return false;
  return a.slices.every((s, k) => Buffer.from(s.buffer).equals(Buffer.from(b.slices[k]!.buffer)));
}

/** Sorted values of the pixels within `radius` mm of (x, y) in slice 0. */
export function roiValues(volume: Volume, x: number, y: number, radius: number, origin?: readonly number[]): number[] {
  const [dy, dx] = volume.spacing;
  const x0 = origin?.[0] ?? (-(volume.columns - 1) / 2) * dx;
  const y0 = origin?.[1] ?? (-(volume.rows - 1) / 2) * dy;
  const out: number[] = [];
  for (let r = 0; r < volume.rows; r++) {
    for (let c = 0; c < volume.columns; c++) {
      if ((x0 + c * dx - x) ** 2 + (y0 + r * dy - y) ** 2 <= radius * radius) out.push(volume.slices[0]![r * volume.columns + c]!);
    }
  }
  return out.sort((a, b) => a - b);
}
