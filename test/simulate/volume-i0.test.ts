/**
 * estimateVolumeCtI0: one full-dose photon count per CT volume (the training export, the filter
 * tuning and the uncertainty calibration use it): the median of the per-slice estimates at a
 * quarter, half and three quarters of the volume, each close to the i0 that made the noise.
 */
import { describe, expect, test } from 'vitest';
import type { Volume } from '../../src/image.js';
import { sliceOf } from '../../src/image.js';
import { generateWater } from '../../src/phantoms/water.js';
import { estimateCtI0, estimateVolumeCtI0, insertCtNoise } from '../../src/simulate/index.js';

describe('estimateVolumeCtI0', () => {
  test('takes the median of the estimates on the slices a quarter, half and three quarters in, each near the i0 of its noise', () => {
    const water = generateWater({ size: 256, slices: 1, fov: 250 }).volume;
    const clean = sliceOf(water, 0);
    // Slice k of 8 carries full-dose noise of i0[k] (dose 1/2 adds exactly the full-dose variance);
    // only slices 2, 4 and 6 are read, the others stay noise-free.
    const made = new Map([
      [2, 2e5],
      [4, 2e4],
      [6, 6e4],
    ]);
    const slices = Array.from({ length: 8 }, (_, k) => {
      const i0 = made.get(k);
      return i0 === undefined ? clean.data : insertCtNoise(clean, { dose: 0.5, i0, electronicNoise: 0, seed: 5, sliceIndex: k }).data;
    });
    const volume: Volume = { ...water, slices };
    const result = estimateVolumeCtI0(volume);
    expect(result.slices.map((s) => s.index)).toEqual([2, 4, 6]);
    for (const { index, i0 } of result.slices) {
      expect(i0).toBe(estimateCtI0(sliceOf(volume, index), { seed: 0, sliceIndex: index }).i0);
      expect(i0 / made.get(index)!).toBeGreaterThan(0.8);
      expect(i0 / made.get(index)!).toBeLessThan(1.25);
    }
    expect(result.i0).toBe(result.slices[2]!.i0);
  });
});
