import { describe, expect, it } from 'vitest';
import { fillGaussian, fillGaussianAffine, fillGaussianAffineMapped, gaussian } from '../../src/diffusion/gaussian.js';
import { branchFreeLinear, toModelSpace, type Normalization } from '../../src/diffusion/normalization.js';
import { Rng } from '../../src/util/random.js';

/** Standard normal CDF (Abramowitz & Stegun 7.1.26 erf, |error| < 1.5e-7). */
function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * z);
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-z * z);
  return x >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

describe('ziggurat normals', () => {
  const n = 200_000;
  const draws = fillGaussian(new Rng(12, 3), new Float32Array(n));

  it('have mean 0, variance 1 and kurtosis 3', () => {
    let mean = 0;
    for (const x of draws) mean += x;
    mean /= n;
    let variance = 0;
    let fourth = 0;
    for (const x of draws) {
      variance += (x - mean) ** 2;
      fourth += (x - mean) ** 4;
    }
    variance /= n;
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(Math.abs(variance - 1)).toBeLessThan(0.015);
    expect(Math.abs(fourth / n / variance ** 2 - 3)).toBeLessThan(0.06);
  });

  it('follow the normal distribution in the body and the tails (Kolmogorov-Smirnov, tail counts)', () => {
    const sorted = Float64Array.from(draws).sort();
    let d = 0;
    for (let i = 0; i < n; i += 7) d = Math.max(d, Math.abs((i + 0.5) / n - normalCdf(sorted[i]!)));
    // 1.63 / sqrt(n) is the 1 % critical value.
    expect(d).toBeLessThan(1.63 / Math.sqrt(n));
    const beyond = (t: number) => draws.reduce((c, x) => c + (Math.abs(x) > t ? 1 : 0), 0) / n;
    // P(|Z| > 3.44) = 5.76e-4 (the ziggurat's tail region), P(|Z| > 2) = 0.0455.
    expect(beyond(3.442619855899) / 5.76e-4).toBeGreaterThan(0.8);
    expect(beyond(3.442619855899) / 5.76e-4).toBeLessThan(1.2);
    expect(Math.abs(beyond(2) - 0.0455)).toBeLessThan(0.002);
  });

  it('are the same stream one at a time and in bulk, and reproducible from the seed', () => {
    const rng = new Rng(12, 3);
    for (let i = 0; i < 1000; i++) expect(Math.fround(gaussian(rng))).toBe(draws[i]);
    expect(Array.from(fillGaussian(new Rng(12, 3), new Float32Array(10)))).toEqual(Array.from(draws.subarray(0, 10)));
    expect(fillGaussian(new Rng(13, 3), new Float32Array(1))[0]).not.toBe(draws[0]);
  });

  it('match one-at-a-time draws through every slow path, and leave the generator where those would', () => {
    // 200,000 draws pass the wedge and tail paths thousands of times.
    const one = new Rng(12, 3);
    let mismatches = 0;
    for (let i = 0; i < n; i++) if (Math.fround(gaussian(one)) !== draws[i]) mismatches++;
    expect(mismatches).toBe(0);
    const bulk = new Rng(12, 3);
    fillGaussian(bulk, new Float32Array(n));
    expect(bulk.nextUint32()).toBe(one.nextUint32());
  });
});

describe('the warm start made while mapping into model space', () => {
  const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  const cards: Normalization[] = [
    { units: 'HU', transform: 'linear', offset: 0, scale: 1000, clip: [-1100, 3100] },
    { units: 'HU', transform: 'linear', offset: -1000, scale: 1000 },
    { units: 'SUVbw', transform: 'linear', offset: 0.5, scale: 4, clip: [-2, 100] },
  ];
  for (const n of cards) {
    it(`gives the bits of toModelSpace then fillGaussianAffine, and leaves the generator where they do (clip ${String(n.clip)})`, () => {
      // 150,000 draws take the wedge and tail paths hundreds of times; values go beyond both bounds.
      const values = Float32Array.from({ length: 150_000 }, (_, i) => -1500 + ((i * 7919) % 5200) + Math.sin(i) * 0.37);
      values[1] = -0;
      const map = branchFreeLinear(n)!;
      const [a, s] = [Math.sqrt(0.81), Math.sqrt(0.19)];
      const two = new Rng(21, 4, 0);
      const base = toModelSpace(n, values, new Float32Array(values.length));
      const expected = fillGaussianAffine(two, base, a, s, new Float32Array(values.length));
      const one = new Rng(21, 4, 0);
      const mappedBase = new Float32Array(values.length);
      const out = new Float32Array(values.length);
      expect(fillGaussianAffineMapped(one, values, map.lo, map.hi, map.offset, map.inv, mappedBase, a, s, out)).toBe(true);
      expect(bytes(mappedBase)).toEqual(bytes(base));
      expect(bytes(out)).toEqual(bytes(expected));
      expect(one.nextUint32()).toBe(two.nextUint32());
    });
  }

  it('says when a value was not finite', () => {
    const map = branchFreeLinear(cards[0]!)!;
    for (const bad of [NaN, Infinity, -Infinity]) {
      const values = new Float32Array(1000).fill(40);
      values[500] = bad;
      const ok = fillGaussianAffineMapped(new Rng(1), values, map.lo, map.hi, map.offset, map.inv, new Float32Array(1000), 0.9, 0.4, new Float32Array(1000));
      expect(ok).toBe(false);
    }
  });

  it('is not offered for mappings that keep the comparisons: log1p, and a clip bound of 0', () => {
    expect(branchFreeLinear({ units: 'SUVbw', transform: 'log1p', offset: 0, scale: 1, clip: [-1, 60] })).toBeNull();
    expect(branchFreeLinear({ units: 'SUVbw', transform: 'linear', offset: 0, scale: 4, clip: [0, 100] })).toBeNull();
  });
});
