/**
 * The oracle models know the clean image (it is their condition input) and return the exact noise,
 * v or clean image for whatever x_t they get. Every sampler must then land on the clean image to
 * float precision, whatever the schedule and prediction type.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSampler, type SamplerChoice } from '../../src/diffusion/create-sampler.js';
import { denoiseBatch } from '../../src/diffusion/sample.js';
import { denoiseSlices } from '../../src/models/denoise-slices.js';
import { loadModel, type LoadedModel } from '../../src/models/load.js';
import { concat, fixtureModel, phantom, relativeError } from './helpers.js';
import { Rng } from '../../src/util/random.js';

const H = 16;
const W = 12;
const clean = concat(phantom(H, W, 1), phantom(H, W, 2));
/** A different image to warm-start from: the clean one plus strong noise. */
const lowDose = clean.map((v, i) => v + 0.3 * Math.sin(i * 1.7));

const models: Record<string, LoadedModel> = {};
const names = ['oracle-epsilon-linear', 'oracle-epsilon-cosine', 'oracle-epsilon-aggressive', 'oracle-v-cosine', 'oracle-sample-linear', 'oracle-sample-resshift'];

beforeAll(async () => {
  for (const name of names) models[name] = await loadModel(fixtureModel(name), { device: 'cpu', threads: 1 });
});
afterAll(async () => {
  for (const m of Object.values(models)) await m.release();
});

async function recover(name: string, choice: SamplerChoice, steps: number, seed = 3): Promise<Float32Array> {
  const model = models[name]!;
  const result = await denoiseBatch({
    model,
    sampler: createSampler(model.card, choice),
    steps,
    height: H,
    width: W,
    condition: clean,
    lowDose,
    sliceIndices: [0, 1],
    seed,
  });
  expect(result.timing.modelCalls).toBe(steps);
  return result.mean;
}

describe('oracle recovery', () => {
  const cases: [string, SamplerChoice, number][] = [
    ['oracle-epsilon-linear', { name: 'ddpm' }, 1000],
    ['oracle-epsilon-linear', { name: 'ddpm', spacing: 'leading' }, 50],
    ['oracle-epsilon-linear', { name: 'ddim', eta: 0 }, 50],
    ['oracle-epsilon-linear', { name: 'ddim', eta: 1 }, 25],
    ['oracle-epsilon-linear', { name: 'warm-start', strength: 0.3 }, 4],
    ['oracle-epsilon-linear', { name: 'warm-start', startT: 99 }, 1],
    ['oracle-epsilon-cosine', { name: 'ddpm' }, 100],
    ['oracle-epsilon-cosine', { name: 'ddim', spacing: 'linspace' }, 20],
    ['oracle-epsilon-cosine', { name: 'warm-start', strength: 0.5 }, 2],
    ['oracle-epsilon-aggressive', { name: 'ddpm' }, 100],
    ['oracle-epsilon-aggressive', { name: 'ddim', eta: 0.5 }, 10],
    ['oracle-epsilon-aggressive', { name: 'warm-start', strength: 0.2 }, 3],
    ['oracle-v-cosine', { name: 'ddpm' }, 100],
    ['oracle-v-cosine', { name: 'ddim' }, 10],
    ['oracle-v-cosine', { name: 'warm-start', strength: 0.4 }, 4],
    ['oracle-sample-linear', { name: 'ddpm' }, 30],
    ['oracle-sample-linear', { name: 'ddim' }, 5],
    ['oracle-sample-linear', { name: 'warm-start' }, 1],
    ['oracle-sample-resshift', { name: 'resshift' }, 15],
    ['oracle-sample-resshift', { name: 'resshift' }, 4],
  ];
  for (const [name, choice, steps] of cases) {
    it(`${choice.name} (${JSON.stringify(choice).slice(1, -1)}) recovers the clean image from ${name} in ${steps} steps`, async () => {
      const out = await recover(name, choice, steps);
      expect(relativeError(out, clean)).toBeLessThan(1e-4);
    });
  }

  it('recovers through normalization: CT slices in HU come back in HU', async () => {
    const model = models['oracle-epsilon-linear']!;
    const hu = clean.subarray(0, H * W).map((v) => v * 1000);
    const result = await denoiseSlices(model, [{ index: 4, image: hu }], {
      rows: H,
      columns: W,
      modality: 'CT',
      units: 'HU',
      sampler: createSampler(model.card, { name: 'warm-start', strength: 0.25 }),
      steps: 2,
      seed: 1,
    });
    expect(relativeError(result.denoised[0]!, hu)).toBeLessThan(1e-4);
    expect(result.std).toBeNull();
  });

  it('a stochastic run ends on the image, but its path depends on the seed', async () => {
    const model = models['oracle-epsilon-linear']!;
    const paths: number[] = [];
    for (const seed of [1, 2]) {
      await denoiseBatch({
        model,
        sampler: createSampler(model.card, { name: 'ddpm' }),
        steps: 10,
        height: H,
        width: W,
        condition: clean,
        sliceIndices: [0, 1],
        seed,
        onStep: (info) => {
          if (info.index === 4) paths.push(info.sample[7]!);
        },
      });
    }
    expect(paths[0]).not.toBe(paths[1]);
  });

  it('an oracle for the wrong image is not recovered (the test can fail)', async () => {
    const model = models['oracle-epsilon-linear']!;
    const wrong = new Rng(4).fillNormal(new Float32Array(clean.length)) as Float32Array;
    const result = await denoiseBatch({
      model,
      sampler: createSampler(model.card, { name: 'ddim' }),
      steps: 10,
      height: H,
      width: W,
      condition: wrong,
      sliceIndices: [0, 1],
      seed: 3,
    });
    expect(relativeError(result.mean, clean)).toBeGreaterThan(0.5);
  });
});
