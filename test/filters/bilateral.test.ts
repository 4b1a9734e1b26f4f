import { describe, expect, it } from 'vitest';
import { bilateralFilter, gaussianFilter } from '../../src/filters/index.js';
import { addNoise, directBilateral, image, piecewisePhantom } from './direct.js';
import { columnProfile, riseWidth } from './edge.js';

describe('bilateralFilter', () => {
  it('matches the direct definition, anisotropic spacing included', () => {
    const n = 40;
    const noisy = addNoise(piecewisePhantom(n), 30, 3);
    const spacing: [number, number] = [0.7, 0.9];
    const fast = bilateralFilter(image(n, n, noisy, spacing), { sigmaSpatialMm: 1.5, sigmaRange: 50 }).data;
    const slow = directBilateral(image(n, n, noisy), 1.5 / 0.7, 1.5 / 0.9, 50);
    // Relative to the image's 1000 HU span: the exp table interpolates within 5e-7.
    for (let i = 0; i < fast.length; i++) expect(Math.abs(fast[i]! - slow[i]!)).toBeLessThan(1e-6 * 1000);
  });

  it('keeps a step edge far sharper than a Gaussian of the same spatial sigma and still smooths flat regions', () => {
    // A vertical 0 -> 400 HU edge between columns 63 and 64, white noise of 20 HU.
    const rows = 96;
    const columns = 128;
    const truth = Float32Array.from({ length: rows * columns }, (_, i) => (i % columns >= 64 ? 400 : 0));
    const noisy = image(rows, columns, addNoise(truth, 20, 7));
    const sigmaSpatialPx = 2;
    const bilateral = bilateralFilter(noisy, { sigmaSpatialPx, sigmaRange: 40 }).data;
    const gaussian = gaussianFilter(noisy, { sigmaPx: sigmaSpatialPx }).data;

    const widthOf = (data: Float32Array) => riseWidth(columnProfile(data, columns, 0, rows), 0, 400);
    const gaussianWidth = widthOf(gaussian);
    // Gaussian: 2 x 1.2816 sigma for a Gaussian edge spread.
    expect(gaussianWidth).toBeGreaterThan(4.5);
    expect(gaussianWidth).toBeLessThan(5.8);
    expect(widthOf(bilateral)).toBeLessThan(0.3 * gaussianWidth);

    // Noise in the flat half away from the edge (columns 8..48): residual SD against the truth.
    const residualStd = (data: Float32Array) => {
      let s2 = 0;
      let n = 0;
      for (let r = 0; r < rows; r++) {
        for (let c = 8; c < 48; c++) {
          s2 += (data[r * columns + c]! - truth[r * columns + c]!) ** 2;
          n++;
        }
      }
      return Math.sqrt(s2 / n);
    };
    const input = residualStd(noisy.data);
    expect(input).toBeGreaterThan(18);
    expect(residualStd(bilateral)).toBeLessThan(0.3 * input);
  });
});
