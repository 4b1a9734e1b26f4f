/**
 * Denoiser.load: the one place a model card becomes a ready denoiser (sampler, steps, guidance,
 * normalisation, consistency, texture, device), and what every caller gets from it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Series } from '../../src/dicom/index.js';
import { LowdoseError } from '../../src/errors.js';
import type { Image2D } from '../../src/image.js';
import { DEFAULT_MODELS, Denoiser } from '../../src/models/denoiser.js';
import { createSliceDenoiser } from '../../src/pipeline/slice-denoiser.js';
import { Rng } from '../../src/util/random.js';
import { FIXTURE_MODELS } from '../diffusion/helpers.js';

const SIZE = 64;
const rng = new Rng(7);
/** Soft tissue with a dense disc and quarter-dose-like noise, its corners out of the scanned field. */
const padding = Uint8Array.from({ length: SIZE * SIZE }, (_, i) => ((i % SIZE) - 31.5) ** 2 + (Math.floor(i / SIZE) - 31.5) ** 2 > 34 ** 2 ? 1 : 0);
const image: Image2D = {
  rows: SIZE,
  columns: SIZE,
  pixelSpacing: [0.7, 0.7],
  padding,
  data: Float32Array.from({ length: SIZE * SIZE }, (_, i) =>
    padding[i] ? -3024 : ((i % SIZE) - 32) ** 2 + (Math.floor(i / SIZE) - 32) ** 2 < 150 ? 300 : 40 + 30 * rng.normal(),
  ),
};

let ct: Denoiser;

beforeAll(async () => {
  ct = await Denoiser.load('lowdose-ct', { device: 'cpu', threads: 1 });
});

afterAll(async () => {
  await ct.release();
});

describe('Denoiser.load', () => {
  it("takes every setting it is not given from the model card, and the card's first modality", () => {
    const card = ct.card;
    expect(ct.modality).toBe('CT');
    expect([ct.samplerName, ct.sampler.name, ct.steps, ct.guidance, ct.seed, ct.samples]).toEqual([
      card.sampler.default,
      card.sampler.default,
      card.sampler.steps,
      card.guidance.default,
      0,
      1,
    ]);
    expect(ct.texture).toEqual({ mode: 'smooth' });
    expect(ct.device).toBe('cpu');
    expect(ct.description).toBe(`lowdose diffusion model ${card.name}${card.version ? ` v${card.version}` : ''}, sampler ${card.sampler.default}, steps ${card.sampler.steps}, seed 0, samples 1, guidance ${card.guidance.default}, dose unknown`);
  });

  it('applies what it is given, and `with` changes settings on the same loaded network', () => {
    const other = ct.with({ sampler: 'ddpm', steps: 3, seed: 9, samples: 2, texture: 'full-dose', doseLevel: 0.25 });
    expect(other.model).toBe(ct.model);
    expect([other.sampler.name, other.steps, other.seed, other.samples]).toEqual(['ddpm', 3, 9, 2]);
    // The shipped CT card carries its measured noise transfer: the share put back is shaped per frequency.
    expect(other.texture).toMatchObject({ mode: 'full-dose', dose: 0.25, doseFrom: 'input', method: 'per-frequency' });
    expect(other.description).toContain('texture full-dose (share of the removed noise put back per frequency');
    expect(ct.steps).toBe(ct.card.sampler.steps);
  });

  it("keeps the shipped CT card's measurement consistency off, and --consistency 1 takes its measured 8 mm, k 0 setting", () => {
    // models/README.md, "CT: measurement consistency": the setting that keeps every ACR insert within 2 HU of its input.
    expect(ct.consistency).toBeNull();
    expect(ct.with({ consistency: 1 }).consistency).toEqual({ strength: 1, scaleMm: 8, threshold: 0 });
    expect(ct.with({ consistency: 1 }).description).toContain('consistency 1 (8 mm, 0 sd)');
  });

  it("resolves the card's uncertainty calibration when asked: the ensemble size defaults to the calibrated one", () => {
    const block = ct.card.uncertainty!;
    const calibrated = ct.with({ uncertainty: true });
    expect(calibrated.samples).toBe(block.samples);
    expect(calibrated.uncertainty).toMatchObject({ samples: block.samples, threshold: block.threshold, units: block.units });
    expect(ct.uncertainty).toBeNull();
    const uncalibrated = Math.max(...block.calibration.map((c) => c.samples)) + 1;
    expect(() => ct.with({ hallucination: true, samples: uncalibrated })).toThrow(/calibrated for --samples/);
  });

  it('takes --orientations from the settings (default 1), names it in the description, and refuses it where it would mislead', () => {
    expect(ct.orientations).toBe(1);
    expect(ct.description).not.toContain('orientations');
    const turned = ct.with({ orientations: 4 });
    expect(turned.orientations).toBe(4);
    expect(turned.description).toContain('orientations 4');
    expect(() => ct.with({ orientations: 3 })).toThrow(/1, 2, 4 or 8/);
    // The card's sigma was calibrated on single-view predictions: their average has a narrower spread.
    expect(() => ct.with({ orientations: 2, uncertainty: true })).toThrow(/narrows the ensemble's spread/);
  });

  it("loads the modality's shipped model when no name is given, and refuses a modality the card lacks", async () => {
    expect(DEFAULT_MODELS).toEqual({ CT: 'lowdose-ct', PT: 'lowdose-pet' });
    await expect(Denoiser.load(undefined)).rejects.toMatchObject({ code: 'E_USAGE' });
    await expect(Denoiser.load('per-pixel', { modelsDir: FIXTURE_MODELS, modality: 'PT', device: 'cpu' })).rejects.toMatchObject({ code: 'E_MODEL' });
  });

  it('refuses a series in other units than the model works in', () => {
    const pet = { units: 'BQML', seriesInstanceUid: '1.2.3', warnings: [], slices: [] } as unknown as Series;
    expect(() => ct.checkSeries(pet)).toThrow(LowdoseError);
    expect(() => ct.checkSeries({ ...pet, units: 'HU' })).not.toThrow();
  });

  it("keeps the shipped CT card's low-band denoising off; --low-band runs it after the model on CT only, padding still given back", async () => {
    // docs/diffusion.md, "Low band": not the default, it flattens large 10 HU lesions.
    expect(ct.lowBand).toBeNull();
    const on = ct.with({ lowBand: 1 });
    expect(on.lowBand).toEqual({ strength: 1, factor: 4, filter: 'nlm' });
    expect(on.description).toContain('low band nlm x4, strength 1');
    // A 64 px slice is a 16-cell grid: large enough for the step to change the image.
    const [plain, banded] = [await ct.denoiseImage(image), await on.denoiseImage(image)];
    expect(banded.data.some((v, i) => !padding[i] && v !== plain.data[i])).toBe(true);
    for (let i = 0; i < padding.length; i++) if (padding[i]) expect(banded.data[i]).toBe(image.data[i]);
    await expect(Denoiser.load('lowdose-pet', { device: 'cpu', threads: 1, lowBand: 1 })).rejects.toMatchObject({ code: 'E_USAGE', message: expect.stringContaining('--low-band 0') });
  });

  it('denoises an image as `lowdose denoise` does a slice: padding filled for the model, given back after', async () => {
    const out = await ct.denoiseImage(image);
    // Padded pixels come back bit for bit.
    for (let i = 0; i < padding.length; i++) if (padding[i]) expect(out.data[i]).toBe(image.data[i]);
    // The rest is what the series pipeline's slice denoiser writes for slice 0 of a series.
    const sliceDenoiser = await createSliceDenoiser('CT', { outDir: '', model: 'lowdose-ct', device: 'cpu', threads: 1 }, () => {});
    try {
      await sliceDenoiser.prepare({ units: 'HU', rows: SIZE, columns: SIZE, spacing: [0.7, 0.7, 3], warnings: [], slices: [] } as unknown as Series);
      const { fillPadding } = await import('../../src/padding.js');
      const pipeline = await sliceDenoiser.denoise([{ index: 0, image: fillPadding(image.data, padding, SIZE, SIZE) }]);
      for (let i = 0; i < padding.length; i++) if (!padding[i]) expect(out.data[i]).toBe(pipeline.denoised[0]![i]);
      expect(sliceDenoiser.derivationDescription).toBe(ct.description);
    } finally {
      await sliceDenoiser.release();
    }
    // And it did something: most of the image changed.
    const changed = out.data.filter((v, i) => !padding[i] && v !== image.data[i]).length;
    expect(changed).toBeGreaterThan(SIZE * SIZE * 0.5);
  });

  it('treats NaN and infinite pixels as padding: filled for the network, given back unchanged, marked in the result', async () => {
    const holes = [SIZE * 20 + 20, SIZE * 20 + 21, SIZE * 40 + 33, SIZE * 32 + 10];
    const data = image.data.slice();
    data[holes[0]!] = NaN;
    data[holes[1]!] = NaN;
    data[holes[2]!] = Infinity;
    data[holes[3]!] = -Infinity;
    const out = await ct.denoiseImage({ ...image, data });
    // The same image with those pixels declared padding (any finite value there) gives the same bits elsewhere.
    const marked = Uint8Array.from(padding);
    for (const i of holes) marked[i] = 1;
    const finite = image.data.slice();
    for (const i of holes) finite[i] = 40;
    const reference = await ct.denoiseImage({ ...image, data: finite, padding: marked });
    expect(out.padding).toEqual(marked);
    for (const i of holes) expect(Object.is(out.data[i], data[i])).toBe(true);
    let same = 0;
    for (let i = 0; i < data.length; i++) {
      if (marked[i]) continue;
      expect(Number.isFinite(out.data[i])).toBe(true);
      if (out.data[i] === reference.data[i]) same++;
    }
    expect(same).toBe(data.length - marked.reduce((a, b) => a + b, 0));
    // The caller's mask is not changed.
    expect(image.padding).toEqual(padding);
  });

  it('gives an image without a finite pixel outside its padding back as it is', async () => {
    const data = image.data.map((v, i) => (padding[i] ? v : NaN));
    const calls = ct.model.stats.calls;
    const out = await ct.denoiseImage({ ...image, data });
    expect(Buffer.from(out.data.buffer)).toEqual(Buffer.from(data.buffer));
    expect(out.padding?.every((p) => p === 1)).toBe(true);
    expect(ct.model.stats.calls).toBe(calls);
  });

  it('refuses slices with NaN or infinite pixels before the network runs, naming the slice and the count', async () => {
    const data = image.data.slice();
    data[100] = NaN;
    data[200] = NaN;
    data[300] = -Infinity;
    const calls = ct.model.stats.calls;
    const error = await ct.denoise([{ index: 7, image: data }], image).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LowdoseError);
    expect(error).toMatchObject({ code: 'E_USAGE', message: expect.stringMatching(/^slice 7 has 3 NaN or infinite pixels/) });
    expect(ct.model.stats.calls).toBe(calls);
  });
});
