/**
 * Full-dose texture (src/diffusion/texture.ts): the weight, the blend, and the theory behind it on
 * seeded noise: for the ideal posterior mean of a flat region, re-injecting w(d) of the removed
 * residual gives exactly the full-dose noise level, with less error against the full dose than an
 * independent sample of that noise level.
 */
import { describe, expect, it } from 'vitest';
import { createSampler } from '../../src/diffusion/create-sampler.js';
import { denoiseSlices } from '../../src/models/denoise-slices.js';
import { restoreTexture, textureWeight, isTexture } from '../../src/diffusion/texture.js';
import { loadModel } from '../../src/models/load.js';
import { fixtureModel } from './helpers.js';
import { gaussianSmooth } from '../../src/filters/gaussian.js';
import { Rng } from '../../src/util/random.js';

describe('textureWeight', () => {
  it('is (sqrt(d) - d) / (1 - d): one third at quarter dose', () => {
    expect(textureWeight(0.25)).toBeCloseTo(1 / 3, 12);
    for (const d of [0.05, 0.1, 0.5, 0.9]) expect(textureWeight(d)).toBeCloseTo((Math.sqrt(d) - d) / (1 - d), 12);
    expect(textureWeight(1)).toBe(0.5);
  });

  it('rejects doses outside (0, 1]', () => {
    for (const d of [0, -0.1, 1.5, Number.NaN]) expect(() => textureWeight(d)).toThrow(/dose fraction in \(0, 1\]/);
  });

  it('knows the two texture names', () => {
    expect(isTexture('smooth') && isTexture('full-dose')).toBe(true);
    expect(isTexture('plastic')).toBe(false);
  });
});

describe('restoreTexture', () => {
  it('blends each pixel toward the input by w, in place when out is the denoised array', () => {
    const input = Float32Array.of(100, -50, 0, 30);
    const denoised = Float32Array.of(40, 10, 0, 30);
    const out = restoreTexture(input, denoised, { dose: 0.25 }, denoised);
    expect(out).toBe(denoised);
    expect([...out].map((v) => Math.round(v * 1e4) / 1e4)).toEqual([60, -10, 0, 30]);
  });

  it('takes the residual against the input clipped to the range the model saw, and leaves kept pixels alone', () => {
    // -3024 HU padding clipped to -1100; a kept pixel stays exactly as denoised.
    const input = Float32Array.of(-3024, 4000, 50);
    const denoised = Float32Array.of(-1000, 3000, 20);
    const keep = Uint8Array.of(0, 0, 1);
    const out = restoreTexture(input, denoised, { dose: 0.25, clip: [-1100, 3100], keep });
    expect(out[0]).toBeCloseTo(-1000 + (-1100 + 1000) / 3, 2);
    expect(out[1]).toBeCloseTo(3000 + 100 / 3, 2); // float32
    expect(out[2]).toBe(20);
  });

  it('refuses arrays of different lengths', () => {
    expect(() => restoreTexture(new Float32Array(3), new Float32Array(4), { dose: 0.25 })).toThrow(/input 3, denoised 4/);
    expect(() => restoreTexture(new Float32Array(4), new Float32Array(4), { dose: 0.25, keep: new Uint8Array(2) })).toThrow(/keep mask/);
  });
});

describe('full-dose texture theory on seeded correlated noise', () => {
  // A flat 40 HU region; quarter dose = full dose + extra noise, both with one (Gaussian) kernel.
  const rows = 192;
  const columns = 192;
  const d = 0.25;
  const rng = new Rng(14, 3);
  const kernelNoise = (sd: number): Float32Array => {
    const white = Float32Array.from({ length: rows * columns }, () => rng.normal());
    const smooth = gaussianSmooth(white, rows, columns, 1.2, 1.2);
    const s = Math.sqrt(smooth.reduce((a, v) => a + v * v, 0) / smooth.length);
    return smooth.map((v) => (v * sd) / s);
  };
  const sigmaQ = 40;
  const nf = kernelNoise(Math.sqrt(d) * sigmaQ);
  const ne = kernelNoise(Math.sqrt(1 - d) * sigmaQ);
  const truth = 40;
  const full = nf.map((v) => truth + v);
  const quarter = full.map((v, i) => v + ne[i]!);
  // The posterior mean toward the full dose in a region known to be flat: truth + d n_q.
  const posteriorMean = quarter.map((v) => truth + d * (v - truth));
  const sd = (a: Float32Array) => Math.sqrt(a.reduce((s, v) => s + (v - truth) ** 2, 0) / a.length);
  const mse = (a: Float32Array) => a.reduce((s, v, i) => s + (v - full[i]!) ** 2, 0) / a.length;
  const sigmaF = sd(full);

  it('the posterior mean has half the full-dose noise at quarter dose', () => {
    expect(sd(posteriorMean) / sigmaF).toBeGreaterThan(0.45);
    expect(sd(posteriorMean) / sigmaF).toBeLessThan(0.55);
  });

  it('re-injection gives the full-dose noise level, as the scan noise scaled by sqrt(d)', () => {
    const out = restoreTexture(quarter, posteriorMean, { dose: d });
    expect(Math.abs(sd(out) / sigmaF - 1)).toBeLessThan(0.05);
    // Its noise is the quarter-dose noise itself, scaled: the same kernel and texture.
    for (let i = 0; i < out.length; i += 997) expect(out[i]! - truth).toBeCloseTo(Math.sqrt(d) * (quarter[i]! - truth), 2);
  });

  it('costs 2 d (1 - sqrt d) var(n_q) against the full dose, less than an independent sample of the same noise level', () => {
    const out = restoreTexture(quarter, posteriorMean, { dose: d });
    const varQ = sd(quarter) ** 2;
    expect(mse(out) / (2 * d * (1 - Math.sqrt(d)) * varQ)).toBeCloseTo(1, 1);
    expect(mse(posteriorMean) / (d * (1 - d) * varQ)).toBeCloseTo(1, 1);
    // Independent sample: posterior mean + noise of the same kernel with variance d (1 - d) var(n_q).
    const z = kernelNoise(Math.sqrt(d * (1 - d)) * sigmaQ);
    const sample = posteriorMean.map((v, i) => v + z[i]!);
    expect(Math.abs(sd(sample) / sigmaF - 1)).toBeLessThan(0.05);
    expect(mse(sample)).toBeGreaterThan(1.4 * mse(out));
  });
});

describe('denoiseSlices with full-dose texture', () => {
  const H = 16;
  const W = 12;
  const hu = Float32Array.from({ length: H * W }, (_, i) => 40 + 300 * Math.sin(i * 0.7));

  async function run(texture: 'smooth' | 'full-dose', doseLevel: number, textureDose?: number) {
    const model = await loadModel(fixtureModel('per-pixel'), { device: 'cpu', threads: 1 });
    try {
      const result = await denoiseSlices(model, [{ index: 0, image: hu, doseLevel }], {
        rows: H,
        columns: W,
        modality: 'CT',
        sampler: createSampler(model.card, { name: 'ddim' }),
        steps: 2,
        seed: 5,
        texture,
        ...(textureDose !== undefined ? { textureDose } : {}),
      });
      return result.denoised[0]!;
    } finally {
      await model.release();
    }
  }

  it("is the smooth output moved toward the input by w of the slice's own dose", async () => {
    const smooth = await run('smooth', 0.1);
    const textured = await run('full-dose', 0.1, 0.5);
    const w = textureWeight(0.1);
    for (let i = 0; i < hu.length; i++) expect(textured[i]).toBeCloseTo(smooth[i]! + w * (hu[i]! - smooth[i]!), 1); // float32 at 1e4..1e5
  });

  it('uses the given default for slices of unknown dose, and refuses when there is none', async () => {
    const smooth = await run('smooth', 0);
    const textured = await run('full-dose', 0, 0.25);
    for (let i = 0; i < hu.length; i += 7) expect(textured[i]).toBeCloseTo(smooth[i]! + (hu[i]! - smooth[i]!) / 3, 1);
    await expect(run('full-dose', 0)).rejects.toThrow(/needs the input's dose/);
  });
});
