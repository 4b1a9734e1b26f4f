/**
 * The compute count (src/pipeline/compute-budget.ts) against the network itself: for each sampler,
 * tiling, ensemble, orientations, guidance, consistency and latent model, countForwardPasses must
 * equal the number of images (or tiles) the ONNX network is actually given, exactly.
 */
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Denoiser, OnnxDiffusionModel, resolveModelFiles, type DenoiserSettings } from '../../src/models/index.js';
import { checkJobCompute, countForwardPasses, passRequest, type PassOptions } from '../../src/pipeline/compute-budget.js';
import { Rng } from '../../src/util/random.js';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures-models/${name}.json`, import.meta.url));
const ROWS = 40;
const COLUMNS = 48;
const SLICES = 3;

afterEach(() => vi.restoreAllMocks());

/** Images (or tiles) the network is given while `run` runs. */
async function networkImages(run: () => Promise<unknown>): Promise<number> {
  let images = 0;
  // eslint-disable-next-line @typescript-eslint/unbound-method -- kept to be put back on the prototype after the test
  const original = OnnxDiffusionModel.prototype.predict;
  vi.spyOn(OnnxDiffusionModel.prototype, 'predict').mockImplementation(function (this: OnnxDiffusionModel, batch, out) {
    images += batch.batch;
    return original.call(this, batch, out);
  });
  await run();
  vi.restoreAllMocks();
  return images;
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
  readonly expected: number;
}

const CASES: Case[] = [
  { name: 'DDIM, 5 steps', model: fixture('per-pixel'), options: { steps: 5 }, expected: SLICES * 5 },
  {
    name: 'DDIM with 3 samples, 4 orientations and guidance 2',
    model: fixture('per-pixel'),
    options: { steps: 5, samples: 3, orientations: 4, guidance: 2 },
    expected: SLICES * 5 * 3 * 4 * 2,
  },
  { name: 'DDPM, 7 steps, 2 samples', model: fixture('per-pixel'), options: { sampler: 'ddpm', steps: 7, samples: 2 }, expected: SLICES * 7 * 2 },
  {
    name: 'measurement consistency with its pilot average (no passes of its own)',
    model: fixture('per-pixel'),
    options: { steps: 4, consistency: 0.5, consistencyPilot: 2 },
    expected: SLICES * 4,
  },
  // 40 x 48 in 32 x 32 tiles overlapping by 8: 2 x 2 tiles per slice.
  { name: 'a fixed 32 x 32 graph, tiled', model: fixture('per-pixel-fixed32'), options: { steps: 3, samples: 2, orientations: 2 }, expected: SLICES * 4 * 3 * 2 * 2 },
  { name: 'ResShift, its 15 steps', model: fixture('oracle-sample-resshift'), options: { samples: 2 }, expected: SLICES * 15 * 2 },
  { name: 'a latent model (whole latents, no tiles) with guidance', model: fixture('per-pixel-latent'), options: { steps: 6, samples: 2, guidance: 1.5 }, expected: SLICES * 6 * 2 * 2 },
  { name: 'lowdose-ct: warm start, its 1 step', model: 'lowdose-ct', options: {}, expected: SLICES },
  { name: 'lowdose-ct: warm start with strength 0.1, 4 steps', model: 'lowdose-ct', options: { steps: 4, strength: 0.1 }, expected: SLICES * 4 },
  { name: "lowdose-ct with --uncertainty: the card's calibrated 4 samples", model: 'lowdose-ct', options: { uncertainty: true }, expected: SLICES * 4 },
];

describe('countForwardPasses', () => {
  for (const c of CASES) {
    it(`equals the images the network is given: ${c.name} (${c.expected})`, async () => {
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
        const images = await networkImages(() => denoiser.denoise(slices(), { rows: ROWS, columns: COLUMNS, pixelSpacing: [0.8, 0.8] }));
        expect(images).toBe(c.expected);
        expect(counted.passes).toBe(images);
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

  it('refuses {"steps":1000,"samples":64,"orientations":8} with E_COMPUTE_BUDGET, naming the count, the bound and the steps that fit', async () => {
    await expect(checkJobCompute([shape], { sampler: 'ddim', steps: 1000, samples: 64, orientations: 8 }, 125_000)).rejects.toMatchObject({
      code: 'E_COMPUTE_BUDGET',
      message: expect.stringMatching(
        /^this job needs 1,536,000 network passes \(3 slice\(s\) x 1 tile\(s\) x 1000 step\(s\) x 64 sample\(s\) x 8 orientation\(s\)\) but this server allows 125,000 per job \(serve --max-job-passes\); use steps 81 or fewer, or lower samples \(64\), orientations \(8\)/,
      ),
    });
  });

  it('counts no passes for a classical filter', async () => {
    const job = await checkJobCompute([shape], { method: 'nlm', steps: 1000, samples: 64 }, 1);
    expect(job).toEqual({ series: [null], passes: 0 });
  });
});
