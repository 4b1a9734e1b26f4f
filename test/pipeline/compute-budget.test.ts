/**
 * The compute count (src/pipeline/compute-budget.ts) against the networks themselves: for each
 * sampler, tiling, ensemble, orientations, guidance, consistency and latent model, countForwardPasses
 * must equal the number of images (or tiles) the diffusion network is given, and the pixels every
 * ONNX session is given (tiles, padding, a latent model's encoder and decoder), exactly.
 */
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Denoiser, OnnxDiffusionModel, resolveModelFiles, type DenoiserSettings } from '../../src/models/index.js';
import { checkJobCompute, countForwardPasses, passRequest, UNIT_PASS_PIXELS, type PassOptions } from '../../src/pipeline/compute-budget.js';
import { OnnxSession, type ForwardSession, type TensorData } from '../../src/runtime/session.js';
import { WorkerSession } from '../../src/runtime/worker-session.js';
import { Rng } from '../../src/util/random.js';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures-models/${name}.json`, import.meta.url));
// Not multiples of 4: lowdose-ct pads to 44 x 52, the latent fixture (factor 2, multipleOf 2) to 44 x 52.
const ROWS = 42;
const COLUMNS = 50;
const SLICES = 3;

afterEach(() => vi.restoreAllMocks());

/** What the networks are given while `run` runs: images (or tiles) at the diffusion network, pixels at every ONNX session. */
async function networkWork(run: () => Promise<unknown>): Promise<{ images: number; pixels: number }> {
  let images = 0;
  let pixels = 0;
  // eslint-disable-next-line @typescript-eslint/unbound-method -- kept to be put back on the prototype after the test
  const predict = OnnxDiffusionModel.prototype.predict;
  vi.spyOn(OnnxDiffusionModel.prototype, 'predict').mockImplementation(function (this: OnnxDiffusionModel, batch, out) {
    images += batch.batch;
    return predict.call(this, batch, out);
  });
  // Each session run: batch x height x width of the largest image among its inputs and outputs, as the graph gets them.
  const largest = (tensors: Readonly<Record<string, TensorData>>) =>
    Math.max(0, ...Object.values(tensors).filter((t) => t.dims.length === 4).map((t) => t.dims[0]! * t.dims[2]! * t.dims[3]!));
  for (const prototype of [OnnxSession.prototype, WorkerSession.prototype] as ForwardSession[]) {
    // eslint-disable-next-line @typescript-eslint/unbound-method -- kept to be put back on the prototype after the test
    const original = prototype.run;
    vi.spyOn(prototype, 'run').mockImplementation(function (this: ForwardSession, feeds, outputs) {
      pixels += Math.max(largest(feeds), largest(outputs));
      return original.call(this, feeds, outputs);
    });
  }
  await run();
  vi.restoreAllMocks();
  return { images, pixels };
}

function slices() {
  const rng = new Rng(7, 0, 0);
  return Array.from({ length: SLICES }, (_, index) => ({
    index,
    image: Float32Array.from({ length: ROWS * COLUMNS }, () => 40 + 30 * (rng.uniform() - 0.5)),
  }));
}

interface Case {
  readonly name: string;
  readonly model: string;
  /** The job's options (what the server passes to checkJobCompute). */
  readonly options: PassOptions & { consistency?: number; consistencyPilot?: number };
  /** Diffusion-network images (or tiles). */
  readonly expected: number;
  /** Pixels every session is given. */
  readonly pixels: number;
}

const PIXELS = ROWS * COLUMNS;
const CT_PADDED = 44 * 52;
const LATENT = 22 * 26;

const CASES: Case[] = [
  { name: 'DDIM, 5 steps', model: fixture('per-pixel'), options: { steps: 5 }, expected: SLICES * 5, pixels: SLICES * 5 * PIXELS },
  {
    name: 'DDIM with 3 samples, 4 orientations and guidance 2',
    model: fixture('per-pixel'),
    options: { steps: 5, samples: 3, orientations: 4, guidance: 2 },
    expected: SLICES * 5 * 3 * 4 * 2,
    pixels: SLICES * 5 * 3 * 4 * 2 * PIXELS,
  },
  { name: 'DDPM, 7 steps, 2 samples', model: fixture('per-pixel'), options: { sampler: 'ddpm', steps: 7, samples: 2 }, expected: SLICES * 7 * 2, pixels: SLICES * 7 * 2 * PIXELS },
  {
    name: 'measurement consistency with its pilot average (no passes of its own)',
    model: fixture('per-pixel'),
    options: { steps: 4, consistency: 0.5, consistencyPilot: 2 },
    expected: SLICES * 4,
    pixels: SLICES * 4 * PIXELS,
  },
  // 42 x 50 in 32 x 32 tiles overlapping by 8: 2 x 2 tiles per slice, each of 32 x 32 pixels.
  {
    name: 'a fixed 32 x 32 graph, tiled',
    model: fixture('per-pixel-fixed32'),
    options: { steps: 3, samples: 2, orientations: 2 },
    expected: SLICES * 4 * 3 * 2 * 2,
    pixels: SLICES * 4 * 3 * 2 * 2 * 32 * 32,
  },
  { name: 'ResShift, its 15 steps', model: fixture('oracle-sample-resshift'), options: { samples: 2 }, expected: SLICES * 15 * 2, pixels: SLICES * 15 * 2 * PIXELS },
  // The network on 22 x 26 latents; the encoder on each slice padded to 44 x 52, the decoder on each sample's.
  {
    name: 'a latent model (whole latents, no tiles) with guidance, its encoder and decoder',
    model: fixture('per-pixel-latent'),
    options: { steps: 6, samples: 2, guidance: 1.5 },
    expected: SLICES * 6 * 2 * 2,
    pixels: SLICES * 6 * 2 * 2 * LATENT + SLICES * (1 + 2) * CT_PADDED,
  },
  { name: 'lowdose-ct: warm start, its 1 step, padded to 44 x 52', model: 'lowdose-ct', options: {}, expected: SLICES, pixels: SLICES * CT_PADDED },
  {
    name: 'lowdose-ct: warm start with strength 0.1, 4 steps',
    model: 'lowdose-ct',
    options: { steps: 4, strength: 0.1 },
    expected: SLICES * 4,
    pixels: SLICES * 4 * CT_PADDED,
  },
  {
    name: "lowdose-ct with --uncertainty: the card's calibrated 4 samples",
    model: 'lowdose-ct',
    options: { uncertainty: true },
    expected: SLICES * 4,
    pixels: SLICES * 4 * CT_PADDED,
  },
];

describe('countForwardPasses', () => {
  for (const c of CASES) {
    it(`equals the images and pixels the networks are given: ${c.name} (${c.expected} images, ${c.pixels} pixels)`, async () => {
      const { card } = await resolveModelFiles(c.model);
      const counted = countForwardPasses({ rows: ROWS, columns: COLUMNS, slices: SLICES }, passRequest(card, c.options));
      const { strength, consistency, consistencyPilot, ...rest } = c.options;
      const settings: DenoiserSettings = {
        ...rest,
        ...(strength !== undefined ? { samplerSettings: { strength } } : {}),
        ...(consistency !== undefined ? { consistency } : {}),
        ...(consistencyPilot !== undefined ? { consistencyPilot } : {}),
      } as DenoiserSettings;
      const denoiser = await Denoiser.load(c.model, { modality: 'CT', device: 'cpu', threads: 1, ...settings });
      try {
        const given = await networkWork(() => denoiser.denoise(slices(), { rows: ROWS, columns: COLUMNS, pixelSpacing: [0.8, 0.8] }));
        expect(given).toEqual({ images: c.expected, pixels: c.pixels });
        expect(counted.networkPasses).toBe(given.images);
        expect(counted.pixels).toBe(given.pixels);
        expect(counted.passes).toBe(given.pixels / UNIT_PASS_PIXELS);
      } finally {
        await denoiser.release();
      }
    });
  }
});

describe('checkJobCompute', () => {
  const shape = { rows: 512, columns: 512, slices: 3, modality: 'CT' };

  it('sums the series of a job and passes a job at the bound', async () => {
    const job = await checkJobCompute([shape, { ...shape, slices: 5 }], { steps: 10, samples: 2 }, 160);
    expect(job.passes).toBe(160);
    expect(job.series.map((s) => s?.passes)).toEqual([60, 100]);
  });

  it('counts in 512 x 512 units: a 1024 x 1024 pass as 4, a 168 x 168 PET pass as 168² / 512², a latent pass by its latent plus its encoder and decoder', async () => {
    const options = { steps: 10, samples: 2 };
    const [ct1024] = (await checkJobCompute([{ ...shape, rows: 1024, columns: 1024 }], options, 1e9)).series;
    expect(ct1024).toMatchObject({ networkPasses: 60, passRows: 1024, passColumns: 1024, passes: 240 });
    const [pet] = (await checkJobCompute([{ rows: 168, columns: 168, slices: 3, modality: 'PT' }], options, 1e9)).series;
    expect(pet).toMatchObject({ networkPasses: 60, passRows: 168, passColumns: 168, pixels: 60 * 168 * 168 });
    expect(pet!.passes).toBeCloseTo(6.46, 2);
    // lowdose-ct-latent (factor 4, multipleOf 4): a 500 x 500 slice is padded to 512 x 512, its latent 128 x 128.
    const [latent] = (await checkJobCompute([{ ...shape, rows: 500, columns: 500 }], { ...options, model: 'lowdose-ct-latent' }, 1e9)).series;
    expect(latent).toMatchObject({ networkPasses: 60, passRows: 128, passColumns: 128, codecPixels: 3 * (1 + 2) * 512 * 512 });
    expect(latent!.passes).toBe(60 / 16 + 9);
  });

  it('refuses one pixel over the bound, the count rounded up so it never reads as the bound', async () => {
    // 3 slices of 516 x 512 (already a multiple of 4): 3 x 516 / 512 = 3.0234375 units per step.
    const wide = { ...shape, columns: 516 };
    expect((await checkJobCompute([wide], { steps: 1 }, 4)).passes).toBe(3.0234375);
    await expect(checkJobCompute([wide], { steps: 1 }, 3)).rejects.toMatchObject({
      code: 'E_COMPUTE_BUDGET',
      message: expect.stringMatching(/^this job needs 3\.03 network passes in 512 x 512 units \(3 slice\(s\) x 1 tile\(s\) of 512 x 516 x 1 step\(s\)/),
    });
  });

  it('refuses {"steps":1000,"samples":64,"orientations":8} with E_COMPUTE_BUDGET, naming the count, the bound and the steps that fit', async () => {
    await expect(checkJobCompute([shape], { sampler: 'ddim', steps: 1000, samples: 64, orientations: 8 }, 125_000)).rejects.toMatchObject({
      code: 'E_COMPUTE_BUDGET',
      message: expect.stringMatching(
        /^this job needs 1,536,000 network passes in 512 x 512 units \(3 slice\(s\) x 1 tile\(s\) of 512 x 512 x 1000 step\(s\) x 64 sample\(s\) x 8 orientation\(s\)\) but this server allows 125,000 per job \(serve --max-job-passes, one unit = one pass on 512 x 512 pixels\); use steps 81 or fewer, or lower samples \(64\), orientations \(8\)/,
      ),
    });
  });

  it('counts no passes for a classical filter', async () => {
    const job = await checkJobCompute([shape], { method: 'nlm', steps: 1000, samples: 64 }, 1);
    expect(job).toEqual({ series: [null], passes: 0, pixels: 0 });
  });
});
