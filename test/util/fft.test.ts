import { describe, expect, it } from 'vitest';
import { fft, fft2d, fftFrequencies, ifft, nextPowerOfTwo } from '../../src/util/fft.js';
import { Rng } from '../../src/util/random.js';

function naiveDft(re: Float64Array, im: Float64Array): [Float64Array, Float64Array] {
  const n = re.length;
  const outRe = new Float64Array(n);
  const outIm = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    for (let j = 0; j < n; j++) {
      const a = (-2 * Math.PI * ((k * j) % n)) / n;
      outRe[k]! += re[j]! * Math.cos(a) - im[j]! * Math.sin(a);
      outIm[k]! += re[j]! * Math.sin(a) + im[j]! * Math.cos(a);
    }
  }
  return [outRe, outIm];
}

function randomComplex(n: number, seed: number): [Float64Array, Float64Array] {
  const rng = new Rng(seed);
  const re = new Float64Array(n);
  const im = new Float64Array(n);
  rng.fillNormal(re);
  rng.fillNormal(im);
  return [re, im];
}

function maxDifference(a: Float64Array, b: Float64Array): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

describe('fft', () => {
  for (const n of [1, 2, 3, 4, 5, 8, 12, 17, 64, 100, 127, 512]) {
    it(`matches the naive DFT and inverts exactly for length ${n}`, () => {
      const [re, im] = randomComplex(n, n);
      const [expectRe, expectIm] = naiveDft(re, im);
      const workRe = re.slice();
      const workIm = im.slice();
      fft(workRe, workIm);
      const tolerance = 1e-10 * Math.max(1, n);
      expect(maxDifference(workRe, expectRe)).toBeLessThan(tolerance);
      expect(maxDifference(workIm, expectIm)).toBeLessThan(tolerance);
      ifft(workRe, workIm);
      expect(maxDifference(workRe, re)).toBeLessThan(1e-12 * Math.max(1, n));
      expect(maxDifference(workIm, im)).toBeLessThan(1e-12 * Math.max(1, n));
    });
  }

  it('transforms 2-D arrays of non-power-of-two size as rows then columns', () => {
    const rows = 6;
    const columns = 10;
    const [re, im] = randomComplex(rows * columns, 99);
    const workRe = re.slice();
    const workIm = im.slice();
    fft2d(workRe, workIm, rows, columns);
    // Direct 2-D DFT of one bin.
    for (const [ky, kx] of [[0, 0], [1, 3], [5, 9], [3, 5]] as const) {
      let sr = 0;
      let si = 0;
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < columns; c++) {
          const a = -2 * Math.PI * ((ky * r) / rows + (kx * c) / columns);
          sr += re[r * columns + c]! * Math.cos(a) - im[r * columns + c]! * Math.sin(a);
          si += re[r * columns + c]! * Math.sin(a) + im[r * columns + c]! * Math.cos(a);
        }
      }
      expect(workRe[ky * columns + kx]).toBeCloseTo(sr, 10);
      expect(workIm[ky * columns + kx]).toBeCloseTo(si, 10);
    }
    fft2d(workRe, workIm, rows, columns, true);
    expect(maxDifference(workRe, re)).toBeLessThan(1e-12);
  });

  it('lists bin frequencies as numpy.fft.fftfreq does', () => {
    expect(Array.from(fftFrequencies(4, 0.5))).toEqual([0, 0.5, -1, -0.5]);
    expect(Array.from(fftFrequencies(5))).toEqual([0, 0.2, 0.4, -0.4, -0.2]);
    expect(nextPowerOfTwo(129)).toBe(256);
    expect(nextPowerOfTwo(128)).toBe(128);
  });
});
