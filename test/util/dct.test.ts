/**
 * The 2-D DCT-II behind the edge-mirrored filter of texture-transfer.ts: equal to the direct sum at
 * even, odd and power-of-two sizes, inverted exactly, and a gain applied to it equal to the FFT
 * filter of the image mirrored about each edge to twice its size.
 */
import { describe, expect, it } from 'vitest';
import { dct2d, idct2d } from '../../src/util/dct.js';
import { fft2d } from '../../src/util/fft.js';
import { Rng } from '../../src/util/random.js';

function randomImage(rows: number, columns: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  const out = new Float64Array(rows * columns);
  rng.fillNormal(out);
  return out;
}

function maxDifference(a: Float64Array, b: Float64Array): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

describe('dct2d and idct2d', () => {
  const sizes: [number, number][] = [[1, 1], [1, 6], [5, 1], [3, 4], [7, 5], [8, 8], [6, 9]];

  it('equal X[p, q] = 4 sum x[i, j] cos(pi p (2i + 1) / 2R) cos(pi q (2j + 1) / 2C) at any size', () => {
    sizes.forEach(([rows, columns], s) => {
      const x = randomImage(rows, columns, s + 1);
      const direct = new Float64Array(rows * columns);
      for (let p = 0; p < rows; p++) {
        for (let q = 0; q < columns; q++) {
          let sum = 0;
          for (let i = 0; i < rows; i++) {
            for (let j = 0; j < columns; j++) {
              sum += 4 * x[i * columns + j]! * Math.cos((Math.PI * p * (2 * i + 1)) / (2 * rows)) * Math.cos((Math.PI * q * (2 * j + 1)) / (2 * columns));
            }
          }
          direct[p * columns + q] = sum;
        }
      }
      const fast = x.slice();
      dct2d(fast, rows, columns);
      expect(maxDifference(fast, direct)).toBeLessThan(1e-12);
      idct2d(fast, rows, columns);
      expect(maxDifference(fast, x)).toBeLessThan(1e-13);
    });
  });

  it('with an even gain is the FFT filter of the image mirrored about each edge to 2R x 2C', () => {
    const rows = 12;
    const columns = 9;
    const x = randomImage(rows, columns, 40);
    const gain = (fx: number, fy: number) => Math.exp(-3 * (fx * fx + fy * fy)) + 0.5 * Math.hypot(fx, fy);
    const viaDct = x.slice();
    dct2d(viaDct, rows, columns);
    for (let i = 0; i < rows; i++) for (let j = 0; j < columns; j++) viaDct[i * columns + j]! *= gain(j / (2 * columns), i / (2 * rows));
    idct2d(viaDct, rows, columns);

    const R = 2 * rows;
    const C = 2 * columns;
    const mirror = (i: number, n: number) => (i < n ? i : 2 * n - 1 - i);
    const re = new Float64Array(R * C);
    const im = new Float64Array(R * C);
    for (let i = 0; i < R; i++) for (let j = 0; j < C; j++) re[i * C + j] = x[mirror(i, rows) * columns + mirror(j, columns)]!;
    fft2d(re, im, R, C);
    for (let i = 0; i < R; i++) {
      for (let j = 0; j < C; j++) {
        const g = gain(Math.min(j, C - j) / C, Math.min(i, R - i) / R);
        re[i * C + j]! *= g;
        im[i * C + j]! *= g;
      }
    }
    fft2d(re, im, R, C, true);
    const viaFft = new Float64Array(rows * columns);
    for (let i = 0; i < rows; i++) for (let j = 0; j < columns; j++) viaFft[i * columns + j] = re[i * C + j]!;
    expect(maxDifference(viaDct, viaFft)).toBeLessThan(1e-12);
  });

  it('refuses an array of the wrong length', () => {
    expect(() => dct2d(new Float64Array(5), 2, 3)).toThrow(/5 values for 2x3/);
  });
});
