/**
 * Latent models (card space "latent"): encode, the toolkit's samplers on the latent, decode.
 * Fixtures (scripts/models/make-test-models.py): a lossless 2x codec (SpaceToDepth x 2 /
 * DepthToSpace x 0.5), the v-prediction oracle on its latents and a per-pixel model on them.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSampler } from '../../src/diffusion/create-sampler.js';
import { LowdoseError } from '../../src/errors.js';
import { checkCodecAgainstGraph, latentOf, parseModelCard } from '../../src/models/card.js';
import { denoiseSlices } from '../../src/models/denoise-slices.js';
import { Denoiser } from '../../src/models/denoiser.js';
import { edgePad } from '../../src/models/latent.js';
import { loadModel, type LoadedModel } from '../../src/models/load.js';
import { OnnxSession } from '../../src/runtime/session.js';
import { reverseProcess } from '../../src/trace/reverse.js';
import { Rng } from '../../src/util/random.js';
import { FIXTURE_MODELS, fixtureModel } from '../diffusion/helpers.js';

const ROWS = 13; // not a multiple of the 4-pixel grid: padding and cropping are exercised
const COLS = 10;
const rng = new Rng(21);
/** A CT slice in HU: soft tissue, a bright insert, seeded noise. */
const slice = Float32Array.from({ length: ROWS * COLS }, (_, i) => (i % COLS > 5 && Math.floor(i / COLS) < 6 ? 700 : 40) + 25 * rng.normal());
const shape = { rows: ROWS, columns: COLS, pixelSpacing: [0.8, 0.8] as [number, number] };

let oracle: LoadedModel;
let perPixel: LoadedModel;

beforeAll(async () => {
  oracle = await loadModel(fixtureModel('oracle-v-cosine-latent'), { device: 'cpu' });
  perPixel = await loadModel(fixtureModel('per-pixel-latent'), { device: 'cpu' });
});

afterAll(async () => {
  await oracle.release();
  await perPixel.release();
});

const maxAbs = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

describe('latent models', () => {
  it('recover the clean image through encoder, latent reverse process and decoder (oracle, DDIM from noise)', async () => {
    // The oracle's condition is the clean latent: every sampler must land on it, and the decoder on the slice.
    for (const steps of [1, 4, 8]) {
      for (const seed of [0, 5]) {
        const sampler = createSampler(oracle.card, { name: 'ddim' });
        const result = await denoiseSlices(oracle, [{ index: 3, image: slice }], { ...shape, modality: 'CT', sampler, steps, seed });
        expect(result.denoised[0]!.length).toBe(ROWS * COLS);
        // HU / 1000 in model space: float32 round trip of ~1e-6 there is ~1e-3 HU.
        expect(maxAbs(result.denoised[0]!, slice)).toBeLessThan(0.02);
      }
    }
  });

  it('run the warm start from the encoded low-dose slice, seeded per slice', async () => {
    const sampler = createSampler(perPixel.card, { name: 'warm-start', strength: 0.3 });
    const run = (seed: number, index = 0) => denoiseSlices(perPixel, [{ index, image: slice }], { ...shape, modality: 'CT', sampler, steps: 2, seed });
    const a = await run(1);
    const b = await run(1);
    const c = await run(2);
    const d = await run(1, 4);
    expect(Array.from(a.denoised[0]!)).toEqual(Array.from(b.denoised[0]!));
    expect(maxAbs(a.denoised[0]!, c.denoised[0]!)).toBeGreaterThan(1);
    expect(maxAbs(a.denoised[0]!, d.denoised[0]!)).toBeGreaterThan(1);
    // A slice's result does not depend on the batch it shares.
    const batch = await denoiseSlices(perPixel, [{ index: 4, image: slice }, { index: 0, image: slice }], { ...shape, modality: 'CT', sampler, steps: 2, seed: 1 });
    expect(Array.from(batch.denoised[1]!)).toEqual(Array.from(a.denoised[0]!));
    expect(Array.from(batch.denoised[0]!)).toEqual(Array.from(d.denoised[0]!));
  });

  it('take the ensemble mean and SD on the decoded images', async () => {
    const sampler = createSampler(perPixel.card, { name: 'ddim' });
    const result = await denoiseSlices(perPixel, [{ index: 0, image: slice }], { ...shape, modality: 'CT', sampler, steps: 2, seed: 3, samples: 3, keepSamples: true });
    const members = result.samples![0]!;
    expect(members).toHaveLength(3);
    for (let p = 0; p < ROWS * COLS; p += 17) {
      const values = members.map((m) => m[p]!);
      const mean = values.reduce((s, v) => s + v, 0) / 3;
      const sd = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / 3);
      expect(result.denoised[0]![p]).toBeCloseTo(mean, 2);
      expect(result.std![0]![p]).toBeCloseTo(sd, 2);
    }
    expect(Math.max(...result.std![0]!)).toBeGreaterThan(1);
  });

  it('take classifier-free guidance on the latent (condition mask 0 and 1 in one doubled batch)', async () => {
    const sampler = createSampler(perPixel.card, { name: 'ddim' });
    const run = (guidance: number) => denoiseSlices(perPixel, [{ index: 0, image: slice }], { ...shape, modality: 'CT', sampler, steps: 1, seed: 0, guidance });
    const g1 = (await run(1)).denoised[0]!;
    const g2 = (await run(2)).denoised[0]!;
    // per-pixel adds 0.25 x mask x condition: guidance 2 adds it twice, i.e. 0.25 x (model-space slice) more
    // before the DDIM step, so the outputs differ by a multiple of the slice itself.
    expect(maxAbs(g1, g2)).toBeGreaterThan(1);
  });

  it('run through Denoiser.load with steps, seed, samples, guidance and the uncertainty calibration', async () => {
    const d = await Denoiser.load(fixtureModel('per-pixel-latent'), { device: 'cpu', steps: 3, seed: 4, guidance: 1.5, uncertainty: true });
    try {
      expect(d.samples).toBe(3);
      expect(d.uncertainty?.spreadScale).toBe(1.5);
      const out = await d.denoise([{ index: 0, image: slice }], shape);
      expect(out.std).not.toBeNull();
      expect(out.timing.steps).toBe(3);
      // Encoder + 3 guided network calls + decoder, all counted as model time.
      expect(out.timing.modelCalls).toBe(5);
      expect(out.modelMs).toBeGreaterThan(0);
      expect(d.description).toContain('steps 3');
    } finally {
      await d.release();
    }
  });

  it('keep the network on this thread when a worker thread is asked for (the codec takes the sampler arrays as they are), with the same output', async () => {
    const here = await Denoiser.load(fixtureModel('per-pixel-latent'), { device: 'cpu', steps: 2, seed: 4 });
    const asked = await Denoiser.load(fixtureModel('per-pixel-latent'), { device: 'cpu', steps: 2, seed: 4, worker: true });
    try {
      expect(asked.model.onWorker).toBe(false);
      const a = await here.denoise([{ index: 0, image: slice }], shape);
      const b = await asked.denoise([{ index: 0, image: slice }], shape);
      expect(b.denoised[0]).toEqual(a.denoised[0]);
    } finally {
      await here.release();
      await asked.release();
    }
  });

  it('refuse measurement consistency, orientations and trace, which work on the image, with E_USAGE', async () => {
    await expect(Denoiser.load(fixtureModel('per-pixel-latent'), { device: 'cpu', consistency: 0.5 })).rejects.toMatchObject({ code: 'E_USAGE' });
    await expect(Denoiser.load(fixtureModel('per-pixel-latent'), { device: 'cpu', orientations: 2 })).rejects.toMatchObject({ code: 'E_USAGE' });
    const sampler = createSampler(perPixel.card, { name: 'ddim' });
    await expect(reverseProcess(perPixel, slice, { rows: ROWS, columns: COLS, modality: 'CT', sampler, steps: 1, seed: 0, sliceIndex: 0, range: [-1000, 1000] })).rejects.toMatchObject({ code: 'E_USAGE' });
  });
});

describe('latent model cards', () => {
  const card = JSON.parse(readFileSync(fixtureModel('per-pixel-latent'), 'utf8')) as Record<string, any>;
  const problems = (change: (c: Record<string, any>) => void): string => {
    const c = structuredClone(card);
    change(c);
    try {
      parseModelCard(c, '/x/card.json');
    } catch (error) {
      expect((error as LowdoseError).code).toBe('E_MODEL');
      return (error as Error).message;
    }
    return '';
  };

  it('parse with space "latent" and its latent block; a card without space is a pixel model', () => {
    const parsed = parseModelCard(card, '/x/card.json');
    expect(latentOf(parsed)?.factor).toBe(2);
    expect(latentOf(parsed)?.encoder.output.name).toBe('latent');
    const pixel = parseModelCard(JSON.parse(readFileSync(fixtureModel('per-pixel'), 'utf8')), '/x/p.json');
    expect(pixel.space).toBeUndefined();
    expect(latentOf(pixel)).toBeNull();
  });

  it('name each problem of a latent card with its field', () => {
    expect(problems((c) => (c.space = 'frequency'))).toMatch(/space: expected one of "pixel", "latent"/);
    expect(problems((c) => delete c.latent)).toMatch(/latent: expected \{ "factor", "channels", "encoder", "decoder" \}/);
    expect(problems((c) => (c.latent.factor = 3))).toMatch(/latent.factor: expected a power of two/);
    expect(problems((c) => (c.latent.decoder.onnx = 'decoder.bin'))).toMatch(/latent.decoder.onnx/);
    expect(problems((c) => (c.inputs.sample.shape[1] = 1))).toMatch(/inputs.sample.shape: dimension 1 must be latent.channels 4/);
    expect(problems((c) => (c.latent.encoder.output.shape[1] = 8))).toMatch(/latent.encoder.output.shape: dimension 1 must be 4/);
    expect(problems((c) => (c.tile.size = 16))).toMatch(/tile.size: a latent model runs on the whole latent/);
    expect(problems((c) => (c.neighbours = 1))).toMatch(/neighbours: a latent model takes the slice alone/);
    expect(problems((c) => delete c.space)).toMatch(/latent: only a model with space "latent" has a latent block/);
  });

  it('are checked against the encoder and decoder graphs (E_MODEL_MISMATCH)', async () => {
    const session = await OnnxSession.create(path.join(FIXTURE_MODELS, 'latent-codec-encoder.onnx'), { device: 'cpu' });
    try {
      const spec = latentOf(parseModelCard(card, '/x/card.json'))!;
      expect(() => checkCodecAgainstGraph('latent.encoder', spec.encoder, session.signature, 'enc.onnx')).not.toThrow();
      expect(() => checkCodecAgainstGraph('latent.encoder', { ...spec.encoder, output: { name: 'z', shape: ['B', 4, 'h', 'w'] } }, session.signature, 'enc.onnx')).toThrow(
        expect.objectContaining({ code: 'E_MODEL_MISMATCH', message: expect.stringMatching(/latent.encoder.output names 'z'/) }),
      );
    } finally {
      await session.release();
    }
  });
});

describe('edgePad', () => {
  it('repeats the last row and column into the padding', () => {
    const out = edgePad(Float32Array.from([1, 2, 3, 4, 5, 6]), 2, 3, 3, 4, new Float32Array(12));
    expect(Array.from(out)).toEqual([1, 2, 3, 3, 4, 5, 6, 6, 4, 5, 6, 6]);
  });
});
