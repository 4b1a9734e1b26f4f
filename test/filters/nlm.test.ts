import { describe, expect, it } from 'vitest';
import { classicalDenoise, nlmFilter } from '../../src/filters/index.js';
import { compareSlices } from '../../src/metrics/compare.js';
import { CT_RANGE } from '../../src/metrics/range.js';
import { Rng } from '../../src/util/random.js';
import { addNoise, directNlm, image, piecewisePhantom } from './direct.js';
import { flatMask, maskedStd } from './edge.js';

describe('nlmFilter', () => {
  it('matches a direct non-local means to 1e-5 (integral-image form, symmetric weights, reflected edges)', () => {
    const rng = new Rng(11);
    // Values in [0, 1]: a disc and a ramp with noise, so weights span the whole exp range.
    const cases: [rows: number, columns: number, h: number, noiseStd: number, patch: number, search: number][] = [
      [24, 19, 0.08, 0.05, 2, 4],
      [17, 22, 0.05, 0.05, 3, 5],
      [20, 20, 0.2, 0, 1, 3],
      // Search + patch wider than the image: the border is reflected more than once.
      [7, 9, 0.1, 0.05, 3, 6],
    ];
    for (const [rows, columns, h, noiseStd, patch, search] of cases) {
      const data = new Float32Array(rows * columns);
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < columns; c++) {
          const disc = (r - rows / 2) ** 2 + (c - columns / 3) ** 2 < (rows / 4) ** 2 ? 0.5 : 0;
          data[r * columns + c] = disc + (0.3 * c) / columns + 0.05 * rng.normal();
        }
      }
      const input = image(rows, columns, data);
      const fast = nlmFilter(input, { h, noiseStd, patchRadius: patch, searchRadius: search }).data;
      const slow = directNlm(input, h, noiseStd, patch, search);
      let worst = 0;
      for (let i = 0; i < fast.length; i++) worst = Math.max(worst, Math.abs(fast[i]! - slow[i]!));
      expect(worst).toBeLessThan(1e-5);
      // And the filter did something: not the identity.
      let change = 0;
      for (let i = 0; i < fast.length; i++) change = Math.max(change, Math.abs(fast[i]! - data[i]!));
      expect(change).toBeGreaterThan(0.01);
    }
  });

  it('more than halves the noise of a piecewise-constant phantom and raises its PSNR, with default settings', () => {
    const size = 160;
    const truth = piecewisePhantom(size);
    const noisy = image(size, size, addNoise(truth, 30, 5), [0.8, 0.8]);
    const { data, settings } = classicalDenoise('nlm', noisy, { modality: 'CT' });
    // The noise SD was estimated from the slice.
    expect(settings['noiseStd']).toBeGreaterThan(25);
    expect(settings['noiseStd']).toBeLessThan(35);

    const flat = flatMask(truth, size, size, 3);
    const residual = (values: Float32Array) => Float32Array.from(values, (v, i) => v - truth[i]!);
    const before = maskedStd(residual(noisy.data), flat);
    const after = maskedStd(residual(data), flat);
    expect(before).toBeGreaterThan(28);
    expect(after).toBeLessThan(before / 2);

    const reference = { rows: size, columns: size, data: truth };
    const psnrIn = compareSlices(reference, noisy, CT_RANGE).psnr;
    const psnrOut = compareSlices(reference, { rows: size, columns: size, data }, CT_RANGE).psnr;
    expect(psnrOut).toBeGreaterThan(psnrIn + 6);
  });

  it('rejects a zero strength and out-of-range windows', () => {
    const img = image(16, 16, new Float32Array(256));
    expect(() => nlmFilter(img, { h: 0, noiseStd: 1 })).toThrow(/h must be/);
    expect(() => nlmFilter(img, { h: 1, noiseStd: -1 })).toThrow(/noise std/);
    expect(() => nlmFilter(img, { h: 1, noiseStd: 1, patchRadius: 1.5 })).toThrow(/patch radius/);
    expect(() => nlmFilter(img, { h: 1, noiseStd: 1, searchRadius: 0 })).toThrow(/search radius/);
  });
});
