import { describe, expect, it } from 'vitest';
import { estimateNoise, SOFT_TISSUE_HU } from '../../src/metrics/noise-estimate.js';
import { Rng } from '../../src/util/random.js';
import { readRaw, referencePairs } from './reference-data.js';
import { addNoise, piecewiseBody } from './synthetic.js';

describe('no-reference noise estimate', () => {
  for (const sd of [5, 10, 25, 60]) {
    it(`finds white noise of SD ${sd} HU on a piecewise-constant body slice: both within 5 %`, () => {
      const image = addNoise(piecewiseBody(256, 0.8), sd, sd);
      const local = estimateNoise(image, { valueRange: SOFT_TISSUE_HU });
      expect(local.method).toBe('local-std');
      expect(Math.abs(local.std / sd - 1)).toBeLessThan(0.05);
      const laplacian = estimateNoise(image, { method: 'laplacian' });
      expect(Math.abs(laplacian.std / sd - 1)).toBeLessThan(0.05);
    });
  }

  it('tracks noise added to real CT slices: estimate^2 grows by the added variance (within 8 %)', () => {
    const added = 30;
    for (const pair of referencePairs().filter((p) => p.name.startsWith('ct-') && p.name.endsWith('-noise'))) {
      const data = readRaw(pair.reference, pair.dtype, pair.rows * pair.columns);
      const image = { rows: pair.rows, columns: pair.columns, data };
      const before = estimateNoise(image, { valueRange: SOFT_TISSUE_HU }).std;
      const rng = new Rng(17);
      const noisier = { ...image, data: data.map((v) => v + added * rng.normal()) };
      const after = estimateNoise(noisier, { valueRange: SOFT_TISSUE_HU }).std;
      // The normal-dose slices carry 10 to 40 HU of their own noise (../shared/ct/README.md).
      expect(before).toBeGreaterThan(5);
      expect(before).toBeLessThan(50);
      expect(Math.abs(after / Math.hypot(before, added) - 1)).toBeLessThan(0.08);
    }
  });

  it('ignores constant padding and refuses a value range with too few pixels', () => {
    const image = { rows: 64, columns: 64, data: new Float32Array(64 * 64).fill(-1024) };
    expect(() => estimateNoise(image)).toThrow(/pixels/);
    expect(() => estimateNoise(addNoise(piecewiseBody(64, 1), 10, 1), { valueRange: [3000, 4000] })).toThrow(/pixels/);
  });
});
