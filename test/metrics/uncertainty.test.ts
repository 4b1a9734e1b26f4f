/** The calibrated-uncertainty math (src/metrics/uncertainty.ts). */
import { describe, expect, it } from 'vitest';
import { boxMean, calibratedSigma, removedNoiseVariance, spearman, tissueMask, tissuePatchMeans, windowRadius } from '../../src/metrics/uncertainty.js';
import { Rng } from '../../src/util/random.js';

describe('uncertainty statistics', () => {
  it("Spearman's rank correlation: 1 for any increasing relation, -1 for a decreasing one, ties at their mean rank", () => {
    const x = [1, 2, 3, 4, 5, 6];
    expect(spearman(x, x.map((v) => v ** 3))).toBeCloseTo(1, 12);
    expect(spearman(x, x.map((v) => -Math.exp(v)))).toBeCloseTo(-1, 12);
    // scipy.stats.spearmanr([1, 2, 2, 3], [1, 3, 2, 4]) = 0.9486832980505138
    expect(spearman([1, 2, 2, 3], [1, 3, 2, 4])).toBeCloseTo(0.9486832980505138, 12);
    expect(spearman([1, 2], [2, 1])).toBeNaN();
  });

  it('box mean equals the brute-force mean over the window clipped at the border', () => {
    const rng = new Rng(1);
    const rows = 9;
    const columns = 13;
    const data = Float32Array.from({ length: rows * columns }, () => rng.normal());
    const radius = 2;
    const fast = boxMean(data, rows, columns, radius);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < columns; c++) {
        let sum = 0;
        let n = 0;
        for (let y = Math.max(0, r - radius); y <= Math.min(rows - 1, r + radius); y++) {
          for (let x = Math.max(0, c - radius); x <= Math.min(columns - 1, c + radius); x++) {
            sum += data[y * columns + x]!;
            n++;
          }
        }
        expect(fast[r * columns + c]).toBeCloseTo(sum / n, 5);
      }
    }
  });

  it('calibrated sigma is sqrt(a² std² + c² boxmean((input − output)²)), the window in mm', () => {
    const input = Float32Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? 10 : -10));
    const output = new Float32Array(100);
    const std = new Float32Array(100).fill(2);
    expect(windowRadius(12, [0.7, 0.7])).toBe(9);
    const noise = removedNoiseVariance(input, output, 10, 10, 1);
    expect(noise[55]).toBeCloseTo(100, 5);
    const sigma = calibratedSigma(std, noise, { spreadScale: 3, noiseScale: 0.5 });
    expect(sigma[55]).toBeCloseTo(Math.sqrt(9 * 4 + 0.25 * 100), 5);
  });

  it("the series noise term adds noiseLevelScale² · inputNoise² to every pixel's variance; cards without it are unchanged", () => {
    const std = new Float32Array(64).fill(2);
    const noise = new Float32Array(64).fill(100);
    const withLevel = calibratedSigma(std, noise, { spreadScale: 3, noiseScale: 0.5, noiseLevelScale: 0.2 }, 20);
    expect(withLevel[7]).toBeCloseTo(Math.sqrt(9 * 4 + 0.25 * 100 + 0.04 * 400), 5);
    // One value for the whole series: the ranking of pixels by sigma is the ranking without it.
    const varied = Float32Array.from({ length: 64 }, (_, i) => (i * 37) % 11);
    const order = (x: Float32Array) => Array.from(x.keys()).sort((a, b) => x[a]! - x[b]! || a - b);
    expect(order(calibratedSigma(varied, noise, { spreadScale: 3, noiseScale: 0, noiseLevelScale: 0.2 }, 20))).toEqual(order(varied));
    expect(calibratedSigma(std, noise, { spreadScale: 3, noiseScale: 0.5 }, 20)[7]).toBeCloseTo(Math.sqrt(9 * 4 + 0.25 * 100), 5);
  });

  it('counts only blocks that hold tissue (sFRC air rule) in patch means and masks', () => {
    const rows = 32;
    const columns = 32;
    // Left half air, right half soft tissue.
    const ct = Float32Array.from({ length: rows * columns }, (_, i) => (i % columns < 16 ? -1000 : 40));
    const patches = tissuePatchMeans([ct], ct, rows, columns, 16, 'HU');
    expect(patches.map((p) => [p.row, p.column])).toEqual([
      [0, 16],
      [16, 16],
    ]);
    expect(patches[0]!.means[0]).toBe(40);
    const mask = tissueMask(ct, rows, columns, 16, 'HU');
    expect(mask.reduce((n, v) => n + v, 0)).toBe(512);
  });

  it('leaves padding pixels out of every patch mean and mask, and a block mostly padding out altogether', () => {
    const rows = 32;
    const columns = 32;
    // Soft tissue at 40 HU; padding (outside the field of view) holds -3024 in the image and 1e6 in a map.
    const padding = Uint8Array.from({ length: rows * columns }, (_, i) => {
      const [r, c] = [Math.floor(i / columns), i % columns];
      return (r < 16 && c < 4) || (r >= 16 && c < 12) ? 1 : 0;
    });
    const ct = Float32Array.from(padding, (p) => (p ? -3024 : 40));
    const map = Float32Array.from(padding, (p) => (p ? 1e6 : 5));
    const patches = tissuePatchMeans([map, ct], ct, rows, columns, 16, 'HU', padding);
    // Block (0, 0) is a quarter padding: kept, its means over its 192 image pixels; (16, 0) is 3/4 padding: no tissue.
    expect(patches.map((p) => [p.row, p.column, p.pixels])).toEqual([
      [0, 0, 192],
      [0, 16, 256],
      [16, 16, 256],
    ]);
    expect(patches.map((p) => p.means)).toEqual([
      [5, 40],
      [5, 40],
      [5, 40],
    ]);
    const mask = tissueMask(ct, rows, columns, 16, 'HU', padding);
    expect(mask.reduce((n, v) => n + v, 0)).toBe(192 + 512);
    expect(mask.every((m, i) => !(m && padding[i]))).toBe(true);
    // Without the mask the padding is read as image: the first block's mean is not the tissue's.
    expect(tissuePatchMeans([map], ct, rows, columns, 16, 'HU')[0]!.means[0]).toBeGreaterThan(1000);
  });
});
