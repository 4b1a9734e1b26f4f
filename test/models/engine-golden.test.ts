/**
 * The engine's outputs, pinned to the bytes it gave before its kernels were rewritten for speed
 * (preallocated buffers, the fused noise draw, specialised value mapping): for each sampler and
 * option the denoiser takes, the SHA-256 of the denoised slices (and the ensemble SD) in modality
 * units. The networks are the per-pixel fixture graphs, whose outputs are elementwise and so the
 * same on every CPU; the engine around them (mapping, noise, steps, tiling, consistency, texture)
 * is what these hashes hold still. Every case runs twice on one Denoiser, so buffers reused from a
 * previous call must not leak into the next; and again with the network on a worker thread and its
 * two batches in flight together, as `lowdose denoise` runs it, which must give the same bytes.
 */
import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { Denoiser, type DenoiserOptions } from '../../src/models/denoiser.js';
import type { SliceInput } from '../../src/models/denoise-slices.js';
import { Rng } from '../../src/util/random.js';
import { fixtureModel } from '../diffusion/helpers.js';

const ROWS = 40;
const COLUMNS = 36;

/** HU: air, soft tissue with noise, bone, and values beyond the cards' clip ranges on both sides. */
function ctSlice(seed: number): Float32Array {
  const rng = new Rng(seed, 5);
  return Float32Array.from({ length: ROWS * COLUMNS }, (_, i) => {
    const y = Math.floor(i / COLUMNS);
    const x = i % COLUMNS;
    if (y < 3) return -3024 + 10 * rng.normal();
    if (x < 4) return -1000 + 20 * rng.normal();
    if ((x - 18) ** 2 + (y - 22) ** 2 < 30) return 1200 + 80 * rng.normal();
    if (y > 37) return 3500;
    return 40 + 60 * rng.normal();
  });
}

/** SUVbw: background 1 with noise, a hot sphere, negatives from reconstruction noise. */
function petSlice(seed: number): Float32Array {
  const rng = new Rng(seed, 6);
  return Float32Array.from({ length: ROWS * COLUMNS }, (_, i) => {
    const y = Math.floor(i / COLUMNS);
    const x = i % COLUMNS;
    const hot = (x - 10) ** 2 + (y - 12) ** 2 < 20 ? 8 : 1;
    return hot + 0.4 * rng.normal();
  });
}

interface Case {
  readonly name: string;
  readonly model: string;
  readonly options: DenoiserOptions;
  readonly pet?: boolean;
  readonly neighbours?: boolean;
  readonly hash: string;
}

const CASES: readonly Case[] = [
  { name: 'warm start, 1 step (the shipped default)', model: 'per-pixel', options: { sampler: 'warm-start', steps: 1 }, hash: 'dcc15d1443e788ea' },
  { name: 'warm start, 3 steps', model: 'per-pixel', options: { sampler: 'warm-start', steps: 3, seed: 11 }, hash: 'ac905e299d723671' },
  { name: 'warm start on a v-prediction cosine model', model: 'oracle-v-cosine', options: { sampler: 'warm-start', steps: 2 }, hash: 'e556e1ed8dfcb867' },
  { name: 'DDIM, 5 steps', model: 'per-pixel', options: { sampler: 'ddim', steps: 5 }, hash: 'dd35d8e4c894c928' },
  { name: 'DDIM with eta 1', model: 'per-pixel', options: { sampler: 'ddim', steps: 4, samplerSettings: { eta: 1 } }, hash: '07bc89405aedf0ba' },
  { name: 'DDPM, 6 steps', model: 'per-pixel', options: { sampler: 'ddpm', steps: 6 }, hash: '31e654186172a284' },
  { name: 'ResShift, 4 steps', model: 'oracle-sample-resshift', options: { steps: 4 }, hash: 'f038a8f12ea45c93' },
  { name: 'ensemble of 3 (mean and SD)', model: 'per-pixel', options: { sampler: 'ddim', steps: 3, samples: 3, samplerSettings: { eta: 1 } }, hash: '93be7b2827291c59' },
  { name: 'guidance 2', model: 'per-pixel', options: { sampler: 'warm-start', steps: 2, guidance: 2 }, hash: '7df83c980f189fe8' },
  { name: 'measurement consistency', model: 'per-pixel', options: { sampler: 'warm-start', steps: 2, consistency: 0.5 }, hash: 'c816a7c27a93e40d' },
  { name: 'full-dose texture', model: 'per-pixel', options: { sampler: 'warm-start', steps: 1, texture: 'full-dose', doseLevel: 0.25 }, hash: 'c11e6b7702a84336' },
  { name: 'tiled (fixed 32 x 32 graph)', model: 'per-pixel-fixed32', options: { sampler: 'warm-start', steps: 2 }, hash: 'e647d0b7d0e9ae0b' },
  { name: 'neighbours (2.5D), CT', model: 'per-pixel-neighbours', neighbours: true, options: { sampler: 'warm-start', steps: 2 }, hash: '0e5133fb70390786' },
  { name: 'PET in SUV through log1p', model: 'per-pixel-neighbours', pet: true, neighbours: true, options: { modality: 'PT', sampler: 'ddim', steps: 4 }, hash: 'a4b9307776d03d6c' },
];

const loaded: Denoiser[] = [];
afterAll(async () => {
  for (const d of loaded) await d.release();
});

function digest(arrays: readonly Float32Array[]): string {
  const hash = createHash('sha256');
  for (const a of arrays) hash.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return hash.digest('hex').slice(0, 16);
}

/**
 * `pipelined`: the network on a worker thread and both batches in the sampler at once (each
 * prepares, steps and maps back while the other is in the network).
 */
async function outputs(c: Case, pipelined = false): Promise<string> {
  const denoiser = await Denoiser.load(fixtureModel(c.model), { device: 'cpu', threads: 1, ...c.options, ...(pipelined ? { worker: true } : {}) });
  loaded.push(denoiser);
  const make = c.pet ? petSlice : ctSlice;
  const images = [make(1), make(2), make(3)];
  const slices: SliceInput[] = images.map((image, k) => ({
    index: 10 + k,
    image,
    ...(c.neighbours ? { below: images[Math.max(0, k - 1)]!, above: images[Math.min(2, k + 1)]! } : {}),
  }));
  const shape = { rows: ROWS, columns: COLUMNS, pixelSpacing: [0.8, 0.8] as const };
  // A batch of two and a batch of one, then the same again: the second round reuses the first's buffers.
  const rounds: string[] = [];
  for (let round = 0; round < 2; round++) {
    const [a, b] = pipelined
      ? await Promise.all([denoiser.denoise(slices.slice(0, 2), shape), denoiser.denoise(slices.slice(2), shape)])
      : [await denoiser.denoise(slices.slice(0, 2), shape), await denoiser.denoise(slices.slice(2), shape)];
    rounds.push(digest([...a.denoised, ...(a.std ?? []), ...b.denoised, ...(b.std ?? [])]));
  }
  expect(rounds[1]).toBe(rounds[0]);
  return rounds[0]!;
}

describe('engine outputs stay bit-identical for the same seed', () => {
  it('writes into the arrays the caller passes, with the same values as into new ones', async () => {
    const denoiser = await Denoiser.load(fixtureModel('per-pixel'), { device: 'cpu', threads: 1, sampler: 'warm-start', steps: 2 });
    loaded.push(denoiser);
    const slices: SliceInput[] = [{ index: 3, image: ctSlice(4) }, { index: 4, image: ctSlice(5) }];
    const shape = { rows: ROWS, columns: COLUMNS, pixelSpacing: [0.8, 0.8] as const };
    const fresh = await denoiser.denoise(slices, shape);
    const outputs = [new Float32Array(ROWS * COLUMNS).fill(NaN), new Float32Array(ROWS * COLUMNS).fill(NaN)];
    const into = await denoiser.denoise(slices, shape, { outputs });
    expect(into.denoised[0]).toBe(outputs[0]);
    expect(into.denoised[1]).toBe(outputs[1]);
    expect(digest(into.denoised)).toBe(digest(fresh.denoised));
    await expect(denoiser.denoise(slices, shape, { outputs: [outputs[0]!] })).rejects.toMatchObject({ code: 'E_INTERNAL' });
  });

  it('gives calls that overlap on one denoiser their own buffers', async () => {
    const denoiser = await Denoiser.load(fixtureModel('per-pixel'), { device: 'cpu', threads: 1, sampler: 'warm-start', steps: 2 });
    loaded.push(denoiser);
    const shape = { rows: ROWS, columns: COLUMNS, pixelSpacing: [0.8, 0.8] as const };
    const one = (k: number) => denoiser.denoise([{ index: k, image: ctSlice(k) }], shape);
    const alone = [digest((await one(1)).denoised), digest((await one(2)).denoised)];
    const together = await Promise.all([one(1), one(2)]);
    expect(together.map((r) => digest(r.denoised))).toEqual(alone);
  });

  for (const c of CASES) {
    it(c.name, async () => {
      const got = await outputs(c);
      if (process.env['LOWDOSE_PRINT_GOLDEN']) console.log(`GOLDEN ${c.name}: ${got}`);
      expect(got).toBe(c.hash);
    });
    it(`${c.name}: the same with the network on a worker thread and two batches in flight`, async () => {
      expect(await outputs(c, true)).toBe(c.hash);
    });
  }

  it('a graph of fixed batch 1 with an int64 timestep: the same on a worker thread with batches in flight as on this one', async () => {
    const c: Case = { name: 'int64', model: 'per-pixel-batch1-int64t', options: { sampler: 'ddim', steps: 3 }, hash: '' };
    expect(await outputs(c, true)).toBe(await outputs(c));
  });
});
