import { describe, expect, it } from 'vitest';
import { psnr } from '../../src/metrics/psnr.js';
import { rmse } from '../../src/metrics/rmse.js';
import { ssim } from '../../src/metrics/ssim.js';
import { readRaw, referencePairs } from './reference-data.js';

const pairs = referencePairs();

describe('PSNR, SSIM and RMSE match scikit-image 0.19 (CONTRACT settings)', () => {
  it('has reference pairs covering real CT, PET and synthetic images', () => {
    expect(pairs.filter((p) => p.name.startsWith('ct-')).length).toBeGreaterThanOrEqual(6);
    expect(pairs.some((p) => p.name.startsWith('pet-') && p.range[0] === 0 && p.range[1] !== 1000)).toBe(true);
    expect(pairs.some((p) => p.range[0] !== -1000 && !p.name.startsWith('pet-'))).toBe(true);
  });

  for (const pair of pairs) {
    it(`${pair.name}: ${pair.description}`, () => {
      const count = pair.rows * pair.columns;
      const reference = { rows: pair.rows, columns: pair.columns, data: readRaw(pair.reference, pair.dtype, count) };
      const test = { rows: pair.rows, columns: pair.columns, data: readRaw(pair.test, pair.dtype, count) };
      // Aim far inside the tolerances (0.01 dB, 0.001): the arithmetic is the same in float64.
      expect(Math.abs(psnr(reference, test, pair.range) - pair.psnr)).toBeLessThan(1e-9);
      expect(Math.abs(ssim(reference, test, pair.range) - pair.ssim)).toBeLessThan(1e-9);
      expect(Math.abs(rmse(reference, test) - pair.rmse) / pair.rmse).toBeLessThan(1e-9);
    });
  }
});
