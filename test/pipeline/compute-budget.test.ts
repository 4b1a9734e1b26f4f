/**
 * The compute count (src/pipeline/compute-budget.ts) against the networks themselves: for each
 * sampler, tiling, ensemble, orientations, guidance, consistency, latent model and fixed-batch
 * graph, countForwardPasses must equal the number of images (or tiles) the diffusion network is
 * given, and the pixels every ONNX session is given (tiles, padding, a fixed batch's filling, a
 * latent model's encoder and decoder), exactly; and its units must weigh each session's pixels by
 * that network's weight (the card's measured quality.passCost, else DEFAULT_PASS_WEIGHT).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { Denoiser, latentOf, OnnxDiffusionModel, passCostOf, resolveModelFiles, type DenoiserSettings, type ModelCard } from '../../src/models/index.js';
import { checkJobCompute, countForwardPasses, DEFAULT_PASS_WEIGHT, passRequest, UNIT_PASS_PIXELS, type PassOptions } from '../../src/pipeline/compute-budget.js';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import { checkJobMemory, forwardLimits } from '../../src/pipeline/memory-budget.js';
import { OnnxSession, type ForwardSession, type TensorData } from '../../src/runtime/session.js';
import { WorkerSession } from '../../src/runtime/worker-session.js';
import { Rng } from '../../src/util/random.js';

const CT_3SLICE = fileURLToPath(new URL('../../../shared/dicom/QIICR__dcmqi/data/segmentations/ct-3slice', import.meta.url));
const scratch = mkdtempSync(path.join(os.tmpdir(), 'lowdose-compute-budget-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const fixture = (name: string) => fileURLToPath(new URL(`../fixtures-models/${name}.json`, import.meta.url));
// Not multiples of 4: lowdose-ct pads to 44 x 52, the latent fixture (factor 2, multipleOf 2) to 44 x 52.
const ROWS = 42;
const COLUMNS = 50;
const SLICES = 3;

afterEach(() => vi.restoreAllMocks());

type Part = 'network' | 'encoder' | 'decoder';

/**
 * What the networks of `card` are given while `run` runs: images (or tiles) at the diffusion
 * network, pixels at every ONNX session (padding of a fixed batch included), and those pixels by
 * network.
 */
async function networkWork(card: ModelCard, run: () => Promise<unknown>): Promise<{ images: number; pixels: number; byPart: Record<Part, number> }> {
  let images = 0;
  let pixels = 0;
  const byPart: Record<Part, number> = { network: 0, encoder: 0, decoder: 0 };
  const latent = latentOf(card);
  // eslint-disable-next-line @typescript-eslint/unbound-method -- kept to be put back on the prototype after the test
  const predict = OnnxDiffusionModel.prototype.predict;
  vi.spyOn(OnnxDiffusionModel.prototype, 'predict').mockImplementation(function (this: OnnxDiffusionModel, batch, out) {
    images += batch.batch;
    return predict.call(this, batch, out);
  });
  // Each session run: batch x height x width of the largest image among its inputs and outputs, as the graph gets them.
  const largest = (tensors: Readonly<Record<string, TensorData>>) =>
    Math.max(0, ...Object.values(tensors).filter((t) => t.dims.length === 4).map((t) => t.dims[0]! * t.dims[2]! * t.dims[3]!));
  const partOf = (feeds: Readonly<Record<string, TensorData>>): Part =>
    card.inputs.sample.name in feeds ? 'network' : latent && latent.encoder.input.name in feeds && !(latent.decoder.input.name in feeds) ? 'encoder' : 'decoder';
  for (const prototype of [OnnxSession.prototype, WorkerSession.prototype] as ForwardSession[]) {
    // eslint-disable-next-line @typescript-eslint/unbound-method -- kept to be put back on the prototype after the test
    const original = prototype.run;
    vi.spyOn(prototype, 'run').mockImplementation(function (this: ForwardSession, feeds, outputs) {
      const given = Math.max(largest(feeds), largest(outputs));
      pixels += given;
      byPart[partOf(feeds)] += given;
      return original.call(this, feeds, outputs);
    });
  }
  await run();
  vi.restoreAllMocks();
  return { images, pixels, byPart };
}

/** The units of what the sessions were given, each network's pixels at its card's weight (the default where it has none). */
function weightedUnits(card: ModelCard, byPart: Record<Part, number>): number {
  const cost = passCostOf(card);
  const weight = (part: Part) => cost?.[part] ?? DEFAULT_PASS_WEIGHT;
  return (byPart.network * weight('network') + byPart.encoder * weight('encoder') + byPart.decoder * weight('decoder')) / UNIT_PASS_PIXELS;
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
  /** The job's options (what the server passes to checkJobCompute); `batch` slices per denoise call, as the pipeline runs them. */
  readonly options: PassOptions & { consistency?: number; consistencyPilot?: number };
  /** The memory plan's forward-call cap, given to the denoiser and the count alike. */
  readonly maxForwardPixels?: number;
  /** Diffusion-network images (or tiles), the job's own (not a fixed batch's filling). */
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
  // A graph with a fixed batch of 3 runs every call 3 images at a time, the last group filled.
  {
    name: 'a fixed batch of 3, 2 samples per call: each call filled to 3',
    model: fixture('per-pixel-batch3'),
    options: { steps: 2, samples: 2 },
    expected: SLICES * 2 * 2,
    pixels: SLICES * 2 * 3 * PIXELS,
  },
  // Batches of 2 slices and 1: 2 x 2 (guidance) = 4 images run as 3 + 3, then 2 as 3.
  {
    name: 'a fixed batch of 3, batch 2 with guidance: 4 images run as 6, the last slice 2 as 3',
    model: fixture('per-pixel-batch3'),
    options: { steps: 1, batch: 2, guidance: 2 },
    expected: SLICES * 2,
    pixels: (6 + 3) * PIXELS,
  },
  // 4 samples under a cap of 2 images per call: two calls of 2, each filled to 3.
  {
    name: 'a fixed batch of 3 under a forward cap of 2 images: 4 samples run as 2 calls of 3',
    model: fixture('per-pixel-batch3'),
    options: { steps: 1, samples: 4 },
    maxForwardPixels: 2 * PIXELS,
    expected: SLICES * 4,
    pixels: SLICES * 6 * PIXELS,
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
      const cap = c.maxForwardPixels !== undefined ? { maxForwardPixels: c.maxForwardPixels } : {};
      const counted = countForwardPasses({ rows: ROWS, columns: COLUMNS, slices: SLICES }, { ...passRequest(card, c.options), ...cap });
      const { strength, consistency, consistencyPilot, batch, ...rest } = c.options;
      const settings: DenoiserSettings = {
        ...rest,
        ...(strength !== undefined ? { samplerSettings: { strength } } : {}),
        ...(consistency !== undefined ? { consistency } : {}),
        ...(consistencyPilot !== undefined ? { consistencyPilot } : {}),
      } as DenoiserSettings;
      const denoiser = await Denoiser.load(c.model, { modality: 'CT', device: 'cpu', threads: 1, ...cap, ...settings });
      try {
        // As the pipeline calls it: `batch` slices at a time (default 1).
        const all = slices();
        const perCall = batch ?? 1;
        const given = await networkWork(card, async () => {
          for (let first = 0; first < all.length; first += perCall) {
            await denoiser.denoise(all.slice(first, first + perCall), { rows: ROWS, columns: COLUMNS, pixelSpacing: [0.8, 0.8] });
          }
        });
        expect({ images: given.images, pixels: given.pixels }).toEqual({ images: c.expected, pixels: c.pixels });
        expect(counted.networkPasses).toBe(given.images);
        // The pixels the sessions were given include the images that only fill a fixed batch.
        expect(counted.pixels).toBe(given.pixels);
        expect(counted.pixels).toBe((counted.networkPasses + counted.paddingPasses) * counted.passRows * counted.passColumns + counted.codecPixels);
        expect(counted.passes).toBeCloseTo(weightedUnits(card, given.byPart), 9);
      } finally {
        await denoiser.release();
      }
    });
  }

  it('counts a fixed-batch graph\'s filling as passes of their own: 2 samples on a batch of 3 count 3 passes per step', async () => {
    const { card } = await resolveModelFiles(fixture('per-pixel-batch3'));
    const counted = countForwardPasses({ rows: 512, columns: 512, slices: 1 }, passRequest(card, { steps: 10, samples: 2 }));
    expect(counted).toMatchObject({ networkPasses: 20, paddingPasses: 10, pixels: 30 * 512 * 512 });
    expect(counted.passes).toBe(30 * DEFAULT_PASS_WEIGHT);
  });
});

describe('a fixed-batch graph in the pipeline', () => {
  it('counts what denoise runs under the memory plan the server checks: 5 samples in calls of 2, 2 and 1 images, each filled to 3', async () => {
    const model = fixture('per-pixel-batch3');
    const { card } = await resolveModelFiles(model);
    const shapes = [{ rows: 512, columns: 512, slices: 3, modality: 'CT' }];
    const options = { model, sampler: 'ddim', steps: 2, samples: 5 } as const;
    // A budget that leaves room for the activations of 2 images per forward call, no more.
    const [roomy] = await checkJobMemory(shapes, options, { bytes: 2 ** 50, source: 'option' });
    const perImage = roomy!.parts.activations / roomy!.forwardBatch;
    const budget = roomy!.bytes - roomy!.parts.activations + 2 * perImage;
    const plans = await checkJobMemory(shapes, options, { bytes: budget, source: 'option' });
    expect(plans[0]!.forwardBatch).toBe(2);
    const job = await checkJobCompute(shapes, options, Infinity, forwardLimits(shapes, plans));
    // 3 slices x 2 steps x 5 samples = 30 images, run per slice and step as calls of 2, 2 and 1, each
    // filled to 3: 9 evaluations for 5 (in one call they would be 6).
    expect(job.series[0]).toMatchObject({ networkPasses: 30, paddingPasses: 24 });
    const given = await networkWork(card, () => denoisePaths([CT_3SLICE], { outDir: path.join(scratch, 'batch3'), device: 'cpu', threads: 1, memoryBudget: budget, ...options }));
    expect(given.images).toBe(30);
    expect(job.pixels).toBe(given.pixels);
    expect(job.passes).toBeCloseTo(weightedUnits(card, given.byPart), 9);
  });
});

describe('the weight of a pixel in each network', () => {
  const shape = { rows: 512, columns: 512, slices: 1 };

  it('counts a network\'s pixels at its card\'s measured quality.passCost: the same job counts 2.5 times on a card that weighs 2.5', async () => {
    const { card } = await resolveModelFiles(fixture('per-pixel'));
    const weighed = (network: number): ModelCard => ({ ...card, quality: { ...card.quality, passCost: { network, measuredOn: 'test', command: 'test' } } });
    const one = countForwardPasses(shape, passRequest(weighed(1), { steps: 10 }));
    const heavy = countForwardPasses(shape, passRequest(weighed(2.5), { steps: 10 }));
    expect(one.passes).toBe(10);
    expect(heavy.passes).toBe(25);
    expect(heavy.pixels).toBe(one.pixels);
  });

  it(`counts a network whose card has no measured weight at DEFAULT_PASS_WEIGHT (${DEFAULT_PASS_WEIGHT}) per pixel, its encoder and decoder too`, async () => {
    const { card } = await resolveModelFiles(fixture('per-pixel'));
    expect(passCostOf(card)).toBeNull();
    expect(countForwardPasses(shape, passRequest(card, { steps: 10 })).passes).toBe(10 * DEFAULT_PASS_WEIGHT);
    const latent = (await resolveModelFiles(fixture('per-pixel-latent'))).card;
    // Factor 2: the network on 256 x 256 latents, the encoder on the slice, the decoder on the 1 sample.
    expect(countForwardPasses(shape, passRequest(latent, { steps: 10 })).passes).toBe(((10 * 256 * 256 + 2 * 512 * 512) * DEFAULT_PASS_WEIGHT) / UNIT_PASS_PIXELS);
  });

  it('every shipped card carries its measured weights, lowdose-ct 1 (the unit), the latent model\'s encoder and decoder with them', async () => {
    for (const name of ['lowdose-ct', 'lowdose-pet', 'lowdose-ct-latent']) {
      const { card } = await resolveModelFiles(name);
      const cost = passCostOf(card);
      expect(cost, name).not.toBeNull();
      expect(cost!.command).toMatch(/^npx tsx scripts\/bench\/pass-cost\.ts/);
      if (latentOf(card)) expect(cost).toMatchObject({ encoder: expect.any(Number), decoder: expect.any(Number) });
    }
    expect(passCostOf((await resolveModelFiles('lowdose-ct')).card)!.network).toBe(1);
  });
});

describe('checkJobCompute', () => {
  const shape = { rows: 512, columns: 512, slices: 3, modality: 'CT' };

  it('sums the series of a job and passes a job at the bound', async () => {
    const job = await checkJobCompute([shape, { ...shape, slices: 5 }], { steps: 10, samples: 2 }, 160);
    expect(job.passes).toBe(160);
    expect(job.series.map((s) => s?.passes)).toEqual([60, 100]);
  });

  it('counts in 512 x 512 lowdose-ct units: a 1024 x 1024 pass as 4, a 168 x 168 PET pass as 168² / 512² at its weight, a latent pass by its latent at its weight plus its encoder and decoder at theirs', async () => {
    const options = { steps: 10, samples: 2 };
    const [ct1024] = (await checkJobCompute([{ ...shape, rows: 1024, columns: 1024 }], options, 1e9)).series;
    expect(ct1024).toMatchObject({ networkPasses: 60, passRows: 1024, passColumns: 1024, passes: 240 });
    const [pet] = (await checkJobCompute([{ rows: 168, columns: 168, slices: 3, modality: 'PT' }], options, 1e9)).series;
    expect(pet).toMatchObject({ networkPasses: 60, passRows: 168, passColumns: 168, pixels: 60 * 168 * 168 });
    const petWeight = passCostOf((await resolveModelFiles('lowdose-pet')).card)!.network;
    expect(pet!.passes).toBeCloseTo((60 * 168 * 168 * petWeight) / UNIT_PASS_PIXELS, 9);
    // lowdose-ct-latent (factor 4, multipleOf 4): a 500 x 500 slice is padded to 512 x 512, its latent 128 x 128.
    const [latent] = (await checkJobCompute([{ ...shape, rows: 500, columns: 500 }], { ...options, model: 'lowdose-ct-latent' }, 1e9)).series;
    expect(latent).toMatchObject({ networkPasses: 60, passRows: 128, passColumns: 128, codecPixels: 3 * (1 + 2) * 512 * 512 });
    const cost = passCostOf((await resolveModelFiles('lowdose-ct-latent')).card)!;
    // The network's 60 passes of 128 x 128 at its weight, the encoder's 3 slices and the decoder's 3 x 2 samples of 512 x 512 at theirs.
    expect(latent!.passes).toBeCloseTo((60 / 16) * cost.network + 3 * cost.encoder! + 6 * cost.decoder!, 9);
    // The latent network does several times lowdose-ct's work per pixel it is given (scripts/bench/pass-cost.ts).
    expect(cost.network).toBeGreaterThan(3);
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
        /^this job needs 1,536,000 network passes in 512 x 512 units \(3 slice\(s\) x 1 tile\(s\) of 512 x 512 x 1000 step\(s\) x 64 sample\(s\) x 8 orientation\(s\)\) but this server allows 125,000 per job \(serve --max-job-passes, one unit = one lowdose-ct pass on 512 x 512 pixels\); use steps 81 or fewer, or lower samples \(64\), orientations \(8\)/,
      ),
    });
  });

  it('refuses a latent job that its pixels alone would let through: its network counts at its weight, and the message says so', async () => {
    const options = { model: 'lowdose-ct-latent', sampler: 'ddim', steps: 100 } as const;
    const cost = passCostOf((await resolveModelFiles('lowdose-ct-latent')).card)!;
    // 3 slices x 100 passes of 128 x 128 (300 / 16 = 18.75 lowdose-ct passes by pixels), at the network's weight.
    const network = (300 / 16) * cost.network;
    const codec = 3 * cost.encoder! + 3 * cost.decoder!;
    expect(300 / 16 + codec).toBeLessThan(50);
    expect(network + codec).toBeGreaterThan(50);
    const stepsThatFit = Math.floor((50 - codec) / (network / 100));
    await expect(checkJobCompute([shape], options, 50)).rejects.toMatchObject({
      code: 'E_COMPUTE_BUDGET',
      message: expect.stringContaining(
        `(3 slice(s) x 1 tile(s) of 128 x 128 x 100 step(s) x 1 sample(s) x 1 orientation(s), each pixel weighing ${cost.network} lowdose-ct pixels (measured), plus the latent encoder and decoder (`,
      ),
    });
    await expect(checkJobCompute([shape], options, 50)).rejects.toMatchObject({ message: expect.stringContaining(`use steps ${stepsThatFit} or fewer`) });
  });

  it('counts no passes for a classical filter', async () => {
    const job = await checkJobCompute([shape], { method: 'nlm', steps: 1000, samples: 64 }, 1);
    expect(job).toEqual({ series: [null], passes: 0, pixels: 0 });
  });
});
