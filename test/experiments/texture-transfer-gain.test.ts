/**
 * Full-dose texture shaped by a measured noise transfer (scripts/experiments/texture-transfer-gain.ts,
 * the candidate measured against the shipped single weight): with an oracle "denoiser" whose noise
 * transfer is known (a scaled Gaussian low-pass of the noise), re-injection by that transfer gives
 * back the full-dose scan's NPS at every frequency, where one weight w(d) does not.
 */
import { describe, expect, it } from 'vitest';
import { applyRadialGain, interpolate, restoreByTransfer, textureGain, transferAtDose, type NoiseTransferTable } from '../../scripts/experiments/texture-transfer-gain.js';
import { restoreTexture } from '../../src/diffusion/texture.js';
import { gaussianSmooth } from '../../src/filters/gaussian.js';
import { noisePowerSpectrum } from '../../src/metrics/nps.js';
import { smoothedPeak } from '../../src/qa/checks/nps.js';
import { Rng } from '../../src/util/random.js';

const N = 256;
const dose = 0.25;
const mu = 40;
/** The oracle keeps A exp(-2 pi^2 s^2 f^2) of the noise amplitude (f in cycles/px): at most sqrt(d). */
const A = 0.5;
const S = 1.5;
const oracleT = (f: number) => A * Math.exp(-2 * Math.PI ** 2 * S ** 2 * f * f);
const frequencies = Array.from({ length: 33 }, (_, k) => k / 64);

/** Seeded noise with an FBP-like NPS (zero at f = 0, peak near 0.14 cycles/px), scaled to 35 HU. */
function fbpNoise(seed: number): Float32Array {
  const rng = new Rng(seed, 5);
  const white = Float64Array.from({ length: N * N }, () => rng.normal());
  const shaped = applyRadialGain(white, N, N, frequencies, frequencies.map((f) => f * Math.exp(-((f / 0.2) ** 2))));
  const sd = Math.sqrt(shaped.reduce((a, v) => a + v * v, 0) / shaped.length);
  return Float32Array.from(shaped, (v) => (35 * v) / sd);
}

function radialNps(noise: Float32Array) {
  return noisePowerSpectrum({ rows: N, columns: N, data: noise, pixelSpacing: [1, 1] }, { roiSize: 64, detrend: 'mean' });
}

describe('transferAtDose and textureGain', () => {
  const table: NoiseTransferTable = { frequenciesCyclesPerPixel: [0, 0.25, 0.5], doses: [0.1, 0.5], T: [[0.8, 0.2, 0.1], [1, 0.6, 0.5]] };

  it('interpolates T linearly between the measured doses and holds the nearest outside them', () => {
    expect([...transferAtDose(table, 0.3)].map((v) => +v.toFixed(6))).toEqual([0.9, 0.4, 0.3]);
    expect([...transferAtDose(table, 0.05)]).toEqual([0.8, 0.2, 0.1]);
    expect([...transferAtDose(table, 0.9)]).toEqual([1, 0.6, 0.5]);
    expect([...transferAtDose(table, 0.5)]).toEqual([1, 0.6, 0.5]);
  });

  it('puts back (sqrt(d) - T) / (1 - T) where the model kept less than sqrt(d), nothing where it kept more', () => {
    const gain = textureGain([1, 0.7, 0.5, 0.2, 0], 0.25);
    expect([...gain]).toEqual([0, 0, 0, expect.closeTo(0.3 / 0.8, 12), 0.5]);
  });

  it('interpolates linearly between points and holds beyond either end', () => {
    expect(interpolate([0, 0.1, 0.3], [1, 0.5, 0], 0.2)).toBeCloseTo(0.25, 12);
    expect(interpolate([0, 0.1, 0.3], [1, 0.5, 0], 0.6)).toBe(0);
    expect(interpolate([0.1, 0.3], [1, 0], 0)).toBe(1);
  });
});

describe('applyRadialGain', () => {
  it('returns the image for a gain of one and zeros for a gain of zero, at sizes that are not powers of two', () => {
    const rng = new Rng(9, 1);
    const rows = 70;
    const columns = 45;
    const image = Float64Array.from({ length: rows * columns }, () => rng.normal());
    const same = applyRadialGain(image, rows, columns, [0, 0.5], [1, 1]);
    const none = applyRadialGain(image, rows, columns, [0, 0.5], [0, 0]);
    for (let i = 0; i < image.length; i++) {
      expect(same[i]).toBeCloseTo(image[i]!, 9);
      expect(none[i]).toBeCloseTo(0, 12);
    }
  });

  it('a gain of exp(-2 pi^2 s^2 f^2) is a Gaussian blur of s pixels', () => {
    const rng = new Rng(10, 1);
    const image = Float32Array.from({ length: N * N }, () => rng.normal());
    const f = Array.from({ length: 200 }, (_, k) => (k / 199) * 0.75);
    const filtered = applyRadialGain(image, N, N, f, f.map((x) => Math.exp(-2 * Math.PI ** 2 * S ** 2 * x * x)));
    const blurred = gaussianSmooth(image, N, N, S, S);
    // Away from the edges (zero padding there, mirrored edges in gaussianSmooth).
    let err = 0;
    let ref = 0;
    for (let r = 16; r < N - 16; r++) {
      for (let c = 16; c < N - 16; c++) {
        err += (filtered[r * N + c]! - blurred[r * N + c]!) ** 2;
        ref += blurred[r * N + c]! ** 2;
      }
    }
    expect(Math.sqrt(err / ref)).toBeLessThan(0.02);
  });
});

describe('restoreByTransfer with an oracle denoiser of known noise transfer', () => {
  const noise = fbpNoise(3);
  const input = noise.map((v) => mu + v);
  const kept = gaussianSmooth(noise, N, N, S, S);
  const denoised = Float32Array.from(kept, (v) => mu + A * v);
  const transfer: NoiseTransferTable = { frequenciesCyclesPerPixel: frequencies, doses: [dose], T: [frequencies.map(oracleT)] };
  const fullDose = radialNps(noise.map((v) => Math.sqrt(dose) * v));
  const centred = (a: Float32Array) => a.map((v) => v - mu);

  it("gives back the full-dose scan's NPS at every frequency; the single weight w(d) does not", () => {
    const out = radialNps(centred(restoreByTransfer(input, denoised, { dose, rows: N, columns: N, transfer })));
    const single = radialNps(centred(restoreTexture(input, denoised, { dose })));
    const ratio = (r: typeof out, k: number) => r.radial.nps[k]! / fullDose.radial.nps[k]!;
    let singleWorst = 0;
    fullDose.radial.frequency.forEach((f, k) => {
      if (f < 0.03 || f > 0.45) return;
      expect(ratio(out, k)).toBeGreaterThan(0.9);
      expect(ratio(out, k)).toBeLessThan(1.1);
      singleWorst = Math.max(singleWorst, Math.abs(ratio(single, k) - 1));
    });
    // One weight puts back 1/3 where the oracle kept nothing: (1/3)^2 / (1/2)^2 of the power.
    expect(singleWorst).toBeGreaterThan(0.4);
    expect(Math.abs(smoothedPeak(out) / smoothedPeak(fullDose) - 1)).toBeLessThan(0.05);
    expect(Math.sqrt(out.variance / fullDose.variance)).toBeCloseTo(1, 1);
  });

  it('leaves kept pixels exactly as denoised, and is the single weight without a transfer', () => {
    const keep = new Uint8Array(N * N);
    for (let i = 0; i < N * 20; i++) keep[i] = 1;
    const out = restoreByTransfer(input, denoised, { dose, rows: N, columns: N, transfer, keep });
    for (let i = 0; i < N * 20; i++) expect(out[i]).toBe(denoised[i]);
    expect(out[N * 100]).not.toBe(denoised[N * 100]);
    expect([...restoreByTransfer(input, denoised, { dose, rows: N, columns: N })]).toEqual([...restoreTexture(input, denoised, { dose })]);
  });
});
