/**
 * The IEC spheres' SUVmean / SUVmax / SUVpeak of a denoised stack against the full-count stack's,
 * as fractions (the experiments that score consistency settings on IEC realisations share it).
 */
import { lesionStats } from '../../src/metrics/lesions.js';
import type { SliceStack } from '../../src/qa/types.js';

export interface Sphere {
  readonly diameter: number;
  readonly centre: [number, number, number];
}

export interface SphereBiases {
  readonly mean: Record<number, number>;
  readonly max: Record<number, number>;
  readonly peak: Record<number, number>;
}

/** Per sphere diameter (mm): statistic of `out` over that of `full`, minus 1. */
export function sphereBiases(out: SliceStack, full: SliceStack, spheres: readonly Sphere[]): SphereBiases {
  const mean: Record<number, number> = {};
  const max: Record<number, number> = {};
  const peak: Record<number, number> = {};
  for (const sp of spheres) {
    const lesion = { centre: sp.centre, radius: sp.diameter / 2 };
    const ref = lesionStats(full.slices, lesion);
    const test = lesionStats(out.slices, lesion);
    mean[sp.diameter] = test.mean / ref.mean - 1;
    max[sp.diameter] = test.max / ref.max - 1;
    peak[sp.diameter] = test.peak / ref.peak - 1;
  }
  return { mean, max, peak };
}
