/**
 * Measurement consistency through the reverse process, with the oracle models like the other
 * samplers: an oracle predicts its condition exactly at every step, so with the consistency step
 * on, every sampler must end exactly on the consistency step applied to that image, whatever the
 * schedule, prediction type, batch and ensemble; and with it off (or at strength 0) on the plain
 * result, bit for bit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consistencyStep, type ConsistencyConfig } from '../../src/diffusion/consistency.js';
import { createSampler, type SamplerChoice } from '../../src/diffusion/create-sampler.js';
import { DdimSampler } from '../../src/diffusion/ddim.js';
import { DdpmSampler } from '../../src/diffusion/ddpm.js';
import { denoiseSlices } from '../../src/models/denoise-slices.js';
import { ResShiftSampler } from '../../src/diffusion/resshift.js';
import { denoiseBatch } from '../../src/diffusion/sample.js';
import { NoiseSchedule } from '../../src/diffusion/schedules.js';
import { WarmStartSampler } from '../../src/diffusion/warm-start.js';
import { loadModel, type LoadedModel } from '../../src/models/load.js';
import { Rng } from '../../src/util/random.js';
import { concat, fixtureModel, relativeError } from './helpers.js';

const H = 40;
const W = 36;

/** Background 0.2, a disc at `disc` (model units), seeded texture. */
function lesion(disc: number, seed: number): Float32Array {
  const rng = new Rng(seed, 5);
  const out = new Float32Array(H * W);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) out[y * W + x] = ((x - 18) ** 2 + (y - 20) ** 2 <= 64 ? disc : 0.2) + 0.01 * rng.normal();
  return out;
}

function withNoise(image: Float32Array, sigma: number, seed: number): Float32Array {
  const rng = new Rng(seed, 6);
  return image.map((v) => v + sigma * rng.normal());
}

// What the network "believes" (its condition, which the oracle reproduces): the lesion at 80 %.
const believed = concat(lesion(0.8, 1), lesion(0.6, 2));
// The measurement: the true lesion plus noise.
const measured = concat(withNoise(lesion(1, 1), 0.1, 3), withNoise(lesion(0.75, 2), 0.1, 4));
const config: ConsistencyConfig = { strength: 1, sigmaRows: 1.5, sigmaColumns: 1.5, threshold: 1 };

const names = ['oracle-epsilon-linear', 'oracle-epsilon-cosine', 'oracle-v-cosine', 'oracle-sample-linear', 'oracle-sample-resshift'];
const models: Record<string, LoadedModel> = {};
beforeAll(async () => {
  for (const name of names) models[name] = await loadModel(fixtureModel(name), { device: 'cpu', threads: 1 });
});
afterAll(async () => {
  for (const m of Object.values(models)) await m.release();
});

function expectedPerSlice(images: Float32Array, measurements: Float32Array, c: ConsistencyConfig): Float32Array {
  const n = H * W;
  const out = new Float32Array(images.length);
  for (let b = 0; b < images.length / n; b++) {
    out.set(consistencyStep(images.subarray(b * n, (b + 1) * n), measurements.subarray(b * n, (b + 1) * n), H, W, c), b * n);
  }
  return out;
}

async function run(name: string, choice: SamplerChoice, steps: number, consistency?: ConsistencyConfig, samples = 1) {
  const model = models[name]!;
  return denoiseBatch({
    model,
    sampler: createSampler(model.card, choice),
    steps,
    height: H,
    width: W,
    condition: believed,
    lowDose: measured,
    sliceIndices: [0, 1],
    seed: 5,
    samples,
    ...(consistency ? { consistency } : {}),
  });
}

describe('measurement consistency with the oracle models', () => {
  const cases: [string, SamplerChoice, number][] = [
    ['oracle-epsilon-linear', { name: 'ddpm' }, 20],
    ['oracle-epsilon-linear', { name: 'ddim', eta: 1 }, 10],
    ['oracle-epsilon-cosine', { name: 'ddim' }, 4],
    ['oracle-epsilon-cosine', { name: 'warm-start', strength: 0.3 }, 3],
    ['oracle-v-cosine', { name: 'warm-start', strength: 0.1 }, 1],
    ['oracle-sample-linear', { name: 'ddim' }, 1],
    ['oracle-sample-linear', { name: 'ddpm' }, 5],
    ['oracle-sample-resshift', { name: 'resshift' }, 4],
  ];
  for (const [name, choice, steps] of cases) {
    it(`${choice.name} (${name}, ${steps} steps) ends on the consistency step applied to the predicted image`, async () => {
      const result = await run(name, choice, steps, config);
      const expected = expectedPerSlice(believed, measured, config);
      expect(relativeError(result.mean, expected)).toBeLessThan(1e-4);
      // And that moved the lesion toward the measurement: the test can fail.
      expect(relativeError(result.mean, believed)).toBeGreaterThan(0.05);
    });

    it(`${choice.name} (${name}) at strength 0 is bit-identical to a run without it`, async () => {
      const plain = await run(name, choice, steps);
      const off = await run(name, choice, steps, { ...config, strength: 0 });
      expect(off.mean).toEqual(plain.mean);
    });
  }

  it('corrects each ensemble member against its own slice', async () => {
    const result = await run('oracle-epsilon-cosine', { name: 'ddim', eta: 1 }, 3, config, 2);
    const expected = expectedPerSlice(believed, measured, config);
    expect(relativeError(result.mean, expected)).toBeLessThan(1e-4);
    // Every member lands on the same corrected image: no spread.
    expect(Math.max(...result.std!)).toBeLessThan(1e-4);
  });

  it('denoiseSlices converts the card-level scale in mm with the pixel spacing, in modality units', async () => {
    const model = models['oracle-sample-linear']!;
    const hu = (a: Float32Array) => a.map((v) => v * 1000);
    const slice = (k: number) => ({ index: k, image: hu(measured.subarray(k * H * W, (k + 1) * H * W)) });
    // The oracle reproduces its condition, the measurement itself: consistency has nothing to correct.
    const same = await denoiseSlices(model, [slice(0)], {
      rows: H,
      columns: W,
      modality: 'CT',
      sampler: createSampler(model.card, { name: 'ddim' }),
      steps: 1,
      seed: 1,
      consistency: { strength: 1, scaleMm: 3, threshold: 1 },
      pixelSpacing: [2, 2],
    });
    expect(relativeError(same.denoised[0]!, slice(0).image)).toBeLessThan(1e-5);
    await expect(
      denoiseSlices(model, [slice(0)], {
        rows: H,
        columns: W,
        modality: 'CT',
        sampler: createSampler(model.card, { name: 'ddim' }),
        steps: 1,
        seed: 1,
        consistency: { strength: 1, scaleMm: 3, threshold: 1 },
      }),
    ).rejects.toThrow(/pixel spacing/);
  });
});

describe('originalSampleWeight: how a correction of x̂_0 moves x_{t-1}', () => {
  const schedule = new NoiseSchedule({ kind: 'cosine', trainSteps: 1000 });
  const rng = new Rng(11);
  const xt = rng.fillNormal(new Float32Array(64)) as Float32Array;
  const output = rng.fillNormal(new Float32Array(64)) as Float32Array;
  const delta = rng.fillNormal(new Float32Array(64)) as Float32Array;

  it('DDPM and ResShift (x_t held): feeding x̂_0 + δ moves x_{t-1} by weight · δ, down to 1 on the last step', () => {
    const ddpm = new DdpmSampler(schedule, { prediction: 'sample' });
    ddpm.setTimesteps(4);
    const resshift = new ResShiftSampler({ kind: 'resshift', trainSteps: 15 }, { prediction: 'sample' });
    resshift.setTimesteps(4);
    for (const sampler of [ddpm, resshift]) {
      for (const t of sampler.timesteps) {
        const zero = (out: Float32Array) => out.fill(0);
        const a = sampler.step(output, t, xt, zero).prevSample;
        const b = sampler.step(output.map((v, i) => v + delta[i]!), t, xt, zero).prevSample;
        const w = sampler.originalSampleWeight(t);
        for (let i = 0; i < 64; i++) expect(b[i]! - a[i]!).toBeCloseTo(w * delta[i]!, 5);
      }
      expect(sampler.originalSampleWeight(sampler.timesteps[sampler.timesteps.length - 1]!)).toBeCloseTo(1, 12);
    }
  });

  it('DDIM and warm start (ε̂ held): x_t moved so that x̂_0 moves by δ and ε̂ does not gives x_{t-1} + weight · δ', () => {
    const ddim = new DdimSampler(schedule, { prediction: 'epsilon' });
    ddim.setTimesteps(5);
    const warm = new WarmStartSampler(schedule, { prediction: 'epsilon', strength: 0.3 });
    warm.setTimesteps(3);
    for (const sampler of [ddim, warm]) {
      // Where ᾱ_t is near 0, x̂_0 = (x_t − sqrt(1 − ᾱ_t) ε̂) / sqrt(ᾱ_t) magnifies float32 rounding
      // beyond any tolerance; the last step (weight 1) is covered by the oracle runs above.
      for (const t of sampler.timesteps.filter((t) => schedule.alphaCumprod(t) > 0.05)) {
        const shift = Math.sqrt(schedule.alphaCumprod(t));
        const a = sampler.step(output, t, xt);
        const b = sampler.step(output, t, xt.map((v, i) => v + shift * delta[i]!));
        const w = sampler.originalSampleWeight(t);
        for (let i = 0; i < 64; i++) {
          expect(b.predOriginalSample[i]! - a.predOriginalSample[i]!).toBeCloseTo(delta[i]!, 4);
          expect(b.prevSample[i]! - a.prevSample[i]!).toBeCloseTo(w * delta[i]!, 4);
        }
      }
      expect(sampler.originalSampleWeight(sampler.timesteps[sampler.timesteps.length - 1]!)).toBe(1);
    }
  });
});
