import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSampler } from '../../src/diffusion/create-sampler.js';
import type { ModelBatch } from '../../src/diffusion/model.js';
import { denoiseBatch } from '../../src/diffusion/sample.js';
import { planAxis, planTiles, reflectIndex, TiledModel } from '../../src/diffusion/tiling.js';
import { LowdoseError } from '../../src/errors.js';
import { loadModel, type LoadedModel } from '../../src/models/load.js';
import { Rng } from '../../src/util/random.js';
import { fixtureModel } from './helpers.js';

function randomBatch(b: number, h: number, w: number, channels: number, seed: number): ModelBatch {
  const rng = new Rng(seed);
  const normal = (n: number) => rng.fillNormal(new Float32Array(n)) as Float32Array;
  return {
    batch: b,
    height: h,
    width: w,
    sample: normal(b * h * w),
    condition: normal(b * channels * h * w),
    timestep: Float32Array.from({ length: b }, (_, i) => 100 * i + 7),
    doseLevel: Float32Array.from({ length: b }, (_, i) => 0.25 * (i + 1)),
    conditionMask: Float32Array.from({ length: b }, (_, i) => i % 2),
    modality: new Float32Array(b),
  };
}

/** What per-pixel.onnx and per-pixel-fixed32.onnx compute: 0.5 x + 0.25 mask·cond + 0.125 dose + 1e-4 t. */
function perPixel(batch: ModelBatch): Float32Array {
  const image = batch.height * batch.width;
  const out = new Float32Array(batch.batch * image);
  for (let b = 0; b < batch.batch; b++) {
    for (let p = 0; p < image; p++) {
      const i = b * image + p;
      out[i] = 0.5 * batch.sample[i]! + 0.25 * batch.conditionMask[b]! * batch.condition[i]! + 0.125 * batch.doseLevel[b]! + 1e-4 * batch.timestep[b]!;
    }
  }
  return out;
}

describe('tile planning', () => {
  it('reflects indices without repeating the edge, for any distance', () => {
    expect([-3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7, 8].map((i) => reflectIndex(i, 4))).toEqual([3, 2, 1, 0, 1, 2, 3, 2, 1, 0, 1, 2]);
    expect(reflectIndex(5, 1)).toBe(0);
  });

  it('covers every pixel with tiles that overlap by at least the overlap and stay inside the image', () => {
    for (const fixed of [true, false]) {
      for (const [length, size, overlap] of [[100, 32, 8], [512, 256, 32], [33, 32, 4], [257, 64, 16], [1000, 96, 24]] as const) {
        const axis = planAxis(length, { size, multipleOf: 8, overlap, fixed });
        expect(axis.tile).toBeLessThanOrEqual(size);
        expect(axis.tile % 8).toBe(0);
        expect(axis.origins[0]).toBe(0);
        expect(axis.origins.at(-1)! + axis.tile).toBe(length);
        for (let i = 1; i < axis.origins.length; i++) expect(axis.origins[i - 1]! + axis.tile - axis.origins[i]!).toBeGreaterThanOrEqual(overlap);
      }
    }
  });

  it('runs fixed-size graphs on their size, and others on the fewest, smallest tiles up to it', () => {
    expect(planAxis(512, { size: 256, multipleOf: 8, overlap: 32, fixed: true })).toMatchObject({ tile: 256, origins: [0, 128, 256] });
    expect(planAxis(512, { size: 256, multipleOf: 8, overlap: 32 })).toMatchObject({ tile: 192, origins: [0, 160, 320] });
    expect(planAxis(512, { size: 288, multipleOf: 8, overlap: 32 })).toMatchObject({ tile: 272, origins: [0, 240] });
    expect(planAxis(200, { size: 256, multipleOf: 8, overlap: 32 })).toMatchObject({ tile: 200, origins: [0] });
    expect(planAxis(200, { size: 256, multipleOf: 8, overlap: 32, fixed: true })).toMatchObject({ tile: 256, origins: [0] });
  });

  it('pads by reflection when the image is smaller than a fixed tile or not a multiple of multipleOf', () => {
    const small = planAxis(20, { size: 32, multipleOf: 8, overlap: 4, fixed: true });
    expect(small.tile).toBe(32);
    expect(Array.from(small.sourceIndex[0]!.subarray(18, 23))).toEqual([18, 19, 18, 17, 16]);
    expect(planAxis(20, { size: 32, multipleOf: 8, overlap: 4 }).tile).toBe(24);
    const free = planAxis(30, { multipleOf: 8, overlap: 0 });
    expect(free.tile).toBe(32);
    expect(Array.from(free.sourceIndex[0]!.subarray(29))).toEqual([29, 28, 27]);
    expect(planTiles(32, 24, { multipleOf: 8, overlap: 0 }).trivial).toBe(true);
    expect(planTiles(30, 24, { multipleOf: 8, overlap: 0 }).trivial).toBe(false);
  });

  it('rejects impossible tile settings', () => {
    expect(() => planTiles(64, 64, { size: 30, multipleOf: 8, overlap: 0 })).toThrow(LowdoseError);
    expect(() => planTiles(64, 64, { size: 32, multipleOf: 8, overlap: 32 })).toThrow(/overlap/);
  });
});

describe('tiled model', () => {
  let perPixelModel: LoadedModel;
  let fixed: LoadedModel;
  let minimal: LoadedModel;

  beforeAll(async () => {
    perPixelModel = await loadModel(fixtureModel('per-pixel'), { device: 'cpu' });
    fixed = await loadModel(fixtureModel('per-pixel-fixed32'), { device: 'cpu', maxTileBatch: 5 });
    minimal = await loadModel(fixtureModel('minimal'), { device: 'cpu' });
  });
  afterAll(async () => {
    for (const m of [perPixelModel, fixed, minimal]) await m?.release();
  });

  it('gives a per-pixel model bit-identical results tiled and untiled', async () => {
    const batch = randomBatch(3, 37, 29, 1, 1);
    const untiled = new Float32Array(3 * 37 * 29);
    await perPixelModel.network.predict(batch, untiled);
    const formula = perPixel(batch);
    for (let i = 0; i < untiled.length; i += 101) expect(untiled[i]).toBeCloseTo(formula[i]!, 6);
    for (const spec of [{ size: 16, multipleOf: 8, overlap: 4 }, { size: 8, multipleOf: 1, overlap: 3 }, { size: 64, multipleOf: 16, overlap: 8 }]) {
      const tiled = new TiledModel(perPixelModel.network, spec, { maxTileBatch: 7 });
      const out = new Float32Array(untiled.length);
      await tiled.predict(batch, out);
      expect(Buffer.from(out.buffer).equals(Buffer.from(untiled.buffer))).toBe(true);
    }
  });

  it('gives identical denoising runs tiled and untiled', async () => {
    const H = 40;
    const W = 24;
    const condition = new Rng(8).fillNormal(new Float32Array(2 * H * W)) as Float32Array;
    const run = async (model: typeof perPixelModel.network | TiledModel) =>
      (await denoiseBatch({ model, sampler: createSampler(perPixelModel.card, { name: 'ddpm' }), steps: 10, height: H, width: W, condition, sliceIndices: [5, 6], seed: 9 })).mean;
    const untiled = await run(perPixelModel.network);
    const tiled = await run(new TiledModel(perPixelModel.network, { size: 16, multipleOf: 8, overlap: 6 }));
    expect(Buffer.from(tiled.buffer).equals(Buffer.from(untiled.buffer))).toBe(true);
  });

  it('cuts condition tiles again for a new batch, also under guidance', async () => {
    const H = 30;
    const W = 44;
    const tiled = new TiledModel(perPixelModel.network, { size: 16, multipleOf: 8, overlap: 4 });
    for (const guidance of [1, 3]) {
      for (const seed of [1, 2]) {
        const condition = new Rng(seed).fillNormal(new Float32Array(H * W)) as Float32Array;
        const run = async (model: typeof tiled | typeof perPixelModel.network) =>
          (await denoiseBatch({ model, sampler: createSampler(perPixelModel.card, { name: 'ddim' }), steps: 3, height: H, width: W, condition, sliceIndices: [0], seed: 4, guidance })).mean;
        const a = await run(tiled);
        const b = await run(perPixelModel.network);
        expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
      }
    }
  });

  it('runs a fixed-size 32x32 model on larger and smaller images', async () => {
    for (const [h, w] of [[50, 70], [20, 20], [32, 33]] as const) {
      const batch = randomBatch(2, h, w, 1, h + w);
      const out = new Float32Array(2 * h * w);
      await fixed.predict(batch, out);
      const untiled = new Float32Array(2 * h * w);
      await perPixelModel.network.predict(batch, untiled);
      expect(Buffer.from(out.buffer).equals(Buffer.from(untiled.buffer))).toBe(true);
      const formula = perPixel(batch);
      for (let i = 0; i < out.length; i += 97) expect(out[i]).toBeCloseTo(formula[i]!, 6);
    }
  });

  it('runs a graph exported with a fixed batch of 1 and an int64 timestep on any batch', async () => {
    const batch1 = await loadModel(fixtureModel('per-pixel-batch1-int64t'), { device: 'cpu' });
    try {
      expect(batch1.network.fixedBatch).toBe(1);
      const batch = randomBatch(3, 9, 11, 1, 4);
      const out = new Float32Array(3 * 9 * 11);
      const expected = new Float32Array(3 * 9 * 11);
      const before = batch1.stats.calls;
      await batch1.predict(batch, out);
      expect(batch1.stats.calls - before).toBe(3);
      await perPixelModel.predict(batch, expected);
      expect(Buffer.from(out.buffer).equals(Buffer.from(expected.buffer))).toBe(true);
    } finally {
      await batch1.release();
    }
  });

  it('pads images for a model that needs sizes divisible by 8', async () => {
    const batch = randomBatch(1, 30, 27, 1, 3);
    const out = new Float32Array(30 * 27);
    await minimal.predict(batch, out);
    for (const p of [0, 26, 27 * 29, 30 * 27 - 1]) {
      expect(out[p]).toBeCloseTo(batch.sample[p]! - batch.condition[p]! + 7e-4, 5);
    }
  });

  it('blends the seams of a model whose output depends on the tile', async () => {
    // A fake model that returns its tile's mean everywhere: tiles disagree, and blending must
    // give a smooth transition instead of a step at the tile border.
    const meanModel = {
      conditionChannels: 1,
      supportsConditionMask: true,
      stats: { calls: 0, forwardMs: 0 },
      async predict(batch: ModelBatch, out: Float32Array) {
        const image = batch.height * batch.width;
        for (let b = 0; b < batch.batch; b++) {
          let sum = 0;
          for (let p = 0; p < image; p++) sum += batch.sample[b * image + p]!;
          out.fill(sum / image, b * image, (b + 1) * image);
        }
      },
    };
    const W = 96;
    const batch = randomBatch(1, 16, W, 1, 0);
    for (let x = 0; x < W; x++) for (let y = 0; y < 16; y++) batch.sample[y * W + x] = x;
    const out = new Float32Array(16 * W);
    await new TiledModel(meanModel, { size: 16, multipleOf: 1, overlap: 8 }).predict(batch, out);
    const row = Array.from(out.subarray(0, W));
    for (let x = 1; x < W; x++) {
      expect(row[x]! - row[x - 1]!).toBeGreaterThanOrEqual(-1e-9);
      expect(row[x]! - row[x - 1]!).toBeLessThan(3);
    }
  });
});
