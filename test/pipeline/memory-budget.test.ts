/**
 * The memory budget (src/pipeline/memory-budget.ts): a denoise job whose estimate does not fit is
 * refused before any work (exit 2), and whatever batch x samples asks, the network's forward calls
 * are chunked to what the budget leaves, with the same output as one big call.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { readSliceImage, scanPaths } from '../../src/dicom/index.js';
import { OnnxDiffusionModel, resolveModelFiles } from '../../src/models/index.js';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import {
  activationBytesPerPixel,
  checkJobMemory,
  CLASSICAL_IMAGES_PER_SLICE,
  defaultMemoryBudget,
  DENOISE_PIPELINE,
  MAX_FORWARD_PIXELS,
  MEMORY_BUDGET_ENV,
  MULTI_FRAME_PET_FRAME_BYTES,
  parseMemorySize,
  planDenoiseMemory,
  resolveMemoryBudget,
  RUNTIME_BYTES,
  SLICE_BOOKKEEPING_BYTES,
  WORKER_BYTES,
  type MemoryRequest,
} from '../../src/pipeline/memory-budget.js';
import { runCli } from '../helpers/cli.js';

const CORPUS = fileURLToPath(new URL('../../../shared/dicom/', import.meta.url));
const PYTHON = '/usr/bin/python3';
const MAKE_ENHANCED_PET = fileURLToPath(new URL('../dicom/data/make-enhanced-pet.py', import.meta.url));
const MANY_PET_FRAMES = fileURLToPath(new URL('../dicom/data/write-many-pet-frames.py', import.meta.url));
const hasPydicom = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import pydicom, numpy'], { encoding: 'utf8' }).status === 0;
const CT_3SLICE = fileURLToPath(new URL('../../../shared/dicom/QIICR__dcmqi/data/segmentations/ct-3slice', import.meta.url));
const PER_PIXEL = fileURLToPath(new URL('../fixtures-models/per-pixel.json', import.meta.url));
const root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-memory-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

const GiB = 2 ** 30;
const SHAPE = { rows: 512, columns: 512, slices: 3, modality: 'CT' };

describe('the memory estimate', () => {
  it('gives lowdose-ct (channels 16, 32, 64) 896 activation bytes per pixel, above the 711-752 measured', async () => {
    const { card } = await resolveModelFiles('lowdose-ct');
    expect(activationBytesPerPixel(card)).toBe(896);
  });

  it('gives lowdose-ct-latent (channels 32, 64, 128 on a 16x smaller grid) 112 bytes per slice pixel, above the 103 measured, not 16 times that', async () => {
    const { card } = await resolveModelFiles('lowdose-ct-latent');
    expect(activationBytesPerPixel(card)).toBe((4 * 8 * (32 + 64 / 4 + 128 / 16)) / 16);
    const pixel = (await resolveModelFiles('lowdose-ct')).card;
    const at = (c: typeof card) => planDenoiseMemory(SHAPE, { method: 'diffusion', card: c, batch: 4, samples: 1, guidance: 1, consistency: false }, 64 * GiB);
    expect(at(card).parts.activations).toBeLessThan(at(pixel).parts.activations / 4);
  });

  it('grows with batch x samples and guidance, and caps the forward batch by the budget and MAX_FORWARD_PIXELS', async () => {
    const { card } = await resolveModelFiles('lowdose-ct');
    const request: MemoryRequest = { method: 'diffusion', card, batch: 1, samples: 1, guidance: 1, consistency: false };
    const at = (changes: Partial<MemoryRequest>, budget = 64 * GiB) => planDenoiseMemory(SHAPE, { ...request, ...changes }, budget);
    expect(at({}).forwardBatch).toBe(1);
    expect(at({ samples: 8 }).parts.sampler).toBeGreaterThan(at({ samples: 4 }).parts.sampler);
    expect(at({ samples: 4, guidance: 3 }).forwardInputs).toBe(8);
    // 256 x 64 on 3 slices: 192 images per step, never more than 16 of 512 x 512 per forward call.
    const exact = at({ batch: 256, samples: 64 });
    expect(exact.forwardInputs).toBe(192);
    expect(exact.forwardBatch).toBe(MAX_FORWARD_PIXELS / (512 * 512));
    // A smaller budget gives smaller forward calls, not a refusal, while the sampler still fits.
    const small = at({ batch: 256, samples: 64 }, 2 * GiB);
    expect(small.fits).toBe(true);
    expect(small.forwardBatch).toBeLessThan(exact.forwardBatch);
    expect(small.bytes).toBeLessThanOrEqual(2 * GiB);
    // What cannot be chunked must fit: 192 images of sampler buffers do not fit 1 GiB.
    expect(at({ batch: 256, samples: 64 }, GiB).fits).toBe(false);
  });

  it('counts the turned copies of --orientations (2 + C images per lane) and not more forward inputs per call', async () => {
    const { card } = await resolveModelFiles('lowdose-ct');
    const request: MemoryRequest = { method: 'diffusion', card, batch: 2, samples: 1, guidance: 1, consistency: false };
    const plain = planDenoiseMemory(SHAPE, request, 64 * GiB);
    const turned = planDenoiseMemory(SHAPE, { ...request, orientations: 8 }, 64 * GiB);
    // lowdose-ct takes one condition channel: 3 images of 512 x 512 per lane, 2 lanes.
    expect(turned.parts.sampler - plain.parts.sampler).toBe(4 * 512 * 512 * 2 * 3);
    // The orientations run one after another: a forward call sees the batch, not 8 times it.
    expect(turned.forwardInputs).toBe(plain.forwardInputs);
    const [planned] = await checkJobMemory([SHAPE], { batch: 2, orientations: 8 }, { bytes: 64 * GiB, source: 'option' });
    const [base] = await checkJobMemory([SHAPE], { batch: 2 }, { bytes: 64 * GiB, source: 'option' });
    expect(planned!.parts.sampler).toBeGreaterThan(base!.parts.sampler);
  });

  it("counts denoise's second batch in flight and the network's worker thread, and plans a job as denoise runs it", async () => {
    const { card } = await resolveModelFiles('lowdose-ct');
    const request: MemoryRequest = { method: 'diffusion', card, batch: 1, samples: 1, guidance: 1, consistency: false };
    const shape = { ...SHAPE, slices: 140 };
    const serial = planDenoiseMemory(shape, request, 64 * GiB);
    const pipelined = planDenoiseMemory(shape, { ...request, ...DENOISE_PIPELINE }, 64 * GiB);
    const P = 512 * 512;
    expect(pipelined.batchesInFlight).toBe(2);
    // Twice the sampler's buffers; C + 3 more images for the second batch; the worker's isolate,
    // and its copies (C + 2 images, twice) of each forward call's inputs and outputs.
    expect(pipelined.parts.sampler).toBe(2 * serial.parts.sampler);
    expect(pipelined.parts.pipeline - serial.parts.pipeline).toBe(4 * P * 4);
    expect(pipelined.parts.runtime - serial.parts.runtime).toBe(WORKER_BYTES);
    expect(pipelined.parts.activations - serial.parts.activations).toBe(2 * 4 * 3 * P);
    expect(pipelined.description).toMatch(/2 batches in flight/);
    // A one-batch series has nothing to overlap.
    expect(planDenoiseMemory({ ...shape, slices: 1 }, { ...request, ...DENOISE_PIPELINE }, 64 * GiB).batchesInFlight).toBe(1);
    // denoise's admission check plans with what denoise runs.
    const [plan] = await checkJobMemory([shape], { batch: 1 }, { bytes: 64 * GiB, source: 'option' });
    expect(plan).toEqual(pipelined);
  });

  it('plans --uncertainty / --hallucination without --samples for the card\'s calibrated ensemble size, not one sample', async () => {
    const { card } = await resolveModelFiles('lowdose-ct');
    const K = card.uncertainty!.samples;
    const budget = { bytes: 64 * GiB, source: 'option' as const };
    const [plain] = await checkJobMemory([SHAPE], { model: 'lowdose-ct' }, budget);
    const [calibrated] = await checkJobMemory([SHAPE], { model: 'lowdose-ct', uncertainty: true }, budget);
    const [map] = await checkJobMemory([SHAPE], { model: 'lowdose-ct', hallucination: true }, budget);
    const [explicit] = await checkJobMemory([SHAPE], { model: 'lowdose-ct', samples: K }, budget);
    expect(plain!.forwardInputs).toBe(1);
    expect(calibrated!.forwardInputs).toBe(K);
    expect(calibrated).toEqual(explicit);
    expect(map).toEqual(explicit);
  });

  it("counts what denoise keeps of every slice, and refuses a series whose bookkeeping alone does not fit", async () => {
    const budget = { bytes: 512 * 2 ** 20, source: 'option' as const };
    const tiny = (slices: number) => ({ rows: 1, columns: 1, slices, modality: 'CT' });
    const [small] = await checkJobMemory([tiny(1000)], { method: 'gaussian' }, budget);
    expect(small!.parts.bookkeeping).toBe(1000 * SLICE_BOOKKEEPING_BYTES);
    expect(small!.bytes).toBe(RUNTIME_BYTES + 1000 * SLICE_BOOKKEEPING_BYTES + 4 * CLASSICAL_IMAGES_PER_SLICE);
    // A diffusion plan leaves the network what the bookkeeping does not take.
    const request = { model: 'lowdose-ct', batch: 1 };
    const [few] = await checkJobMemory([{ ...SHAPE, slices: 3 }], request, { bytes: 64 * GiB, source: 'option' });
    const [many] = await checkJobMemory([{ ...SHAPE, slices: 20_000 }], request, { bytes: 64 * GiB, source: 'option' });
    expect(many!.bytes - few!.bytes).toBe(19_997 * SLICE_BOOKKEEPING_BYTES);
    const past = Math.floor((budget.bytes - RUNTIME_BYTES) / SLICE_BOOKKEEPING_BYTES) + 1;
    await expect(checkJobMemory([tiny(past)], { method: 'gaussian' }, budget)).rejects.toThrow(
      new RegExp(`what it keeps of each of the ${past} slices alone \\(.*\\) does not fit: raise the budget`),
    );
  });

  it('reads sizes, the environment variable, and defaults to at most half of this machine', () => {
    expect(parseMemorySize('8G')).toBe(8 * GiB);
    expect(parseMemorySize('512M')).toBe(512 * 2 ** 20);
    expect(parseMemorySize('1.5GiB')).toBe(1.5 * GiB);
    expect(parseMemorySize('2147483648')).toBe(2 * GiB);
    for (const bad of ['lots', '-1G', '1K', '']) expect(() => parseMemorySize(bad)).toThrow(/at least 64M/);
    expect(resolveMemoryBudget(undefined, { [MEMORY_BUDGET_ENV]: '3G' })).toEqual({ bytes: 3 * GiB, source: 'environment' });
    expect(resolveMemoryBudget('2G', { [MEMORY_BUDGET_ENV]: '3G' })).toEqual({ bytes: 2 * GiB, source: 'option' });
    expect(resolveMemoryBudget(undefined, {}).source).toBe('machine');
    expect(defaultMemoryBudget()).toBeLessThanOrEqual(os.totalmem() / 2);
  });
});

describe('lowdose denoise under a memory budget', () => {
  it('refuses the body that killed the server (steps 1000, samples 64, batch 256, ddpm) on a 3-slice series: exit 2, nothing written', async () => {
    const out = path.join(root, 'refused');
    const cli = await runCli(
      'denoise', CT_3SLICE, '-o', out, '--steps', '1000', '--samples', '64', '--batch', '256', '--sampler', 'ddpm', '--memory-budget', '1G', '--no-progress',
    );
    expect(cli.code).toBe(2);
    expect(cli.stderr).toMatch(/192 image\(s\) of 512 x 512 .* the memory budget is 1 GiB \(from --memory-budget\); use --batch 1.*\[E_MEMORY_BUDGET\]/);
    expect(existsSync(out)).toBe(false);
  });

  it.runIf(hasPydicom)('counts each frame of a multi-frame PET source as what it costs: 1,000 Enhanced PET frames of 4 x 4 do not fit 300M, exit 2, nothing written', async () => {
    const made = path.join(root, 'enhanced-pet');
    const run = spawnSync(PYTHON, [MAKE_ENHANCED_PET, CORPUS, made], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    const source = path.join(root, 'many-pet-frames');
    mkdirSync(source);
    const many = spawnSync(PYTHON, [MANY_PET_FRAMES, path.join(made, 'enhanced', 'enhanced.dcm'), path.join(source, 'pet.dcm'), '1000'], { encoding: 'utf8' });
    expect(many.status, many.stderr).toBe(0);
    // Counted as 1,000 slices of a classic series (10 KiB each), it would fit: 256 MiB + 9.8 MiB < 300 MiB.
    expect(RUNTIME_BYTES + 1000 * SLICE_BOOKKEEPING_BYTES).toBeLessThan(300 * 2 ** 20);
    expect(RUNTIME_BYTES + 1000 * MULTI_FRAME_PET_FRAME_BYTES).toBeGreaterThan(300 * 2 ** 20);
    const out = path.join(root, 'many-pet-frames-out');
    const cli = await runCli('denoise', source, '-o', out, '--method', 'gaussian', '--memory-budget', '300M', '--no-progress');
    expect(cli.code).toBe(2);
    expect(cli.stderr).toMatch(/what it keeps of each of the 1000 slices alone \(93\.8 MiB\) does not fit: raise the budget.*\[E_MEMORY_BUDGET\]/);
    expect(existsSync(out)).toBe(false);
  }, 120_000);

  it('chunks a large request that fits into forward calls of what the budget leaves, with the same output as one call', async () => {
    const { card } = await resolveModelFiles(PER_PIXEL);
    const request: MemoryRequest = { method: 'diffusion', card, batch: 3, samples: 4, guidance: 1, consistency: false };
    const roomy = planDenoiseMemory(SHAPE, request, 64 * GiB);
    expect(roomy.forwardBatch).toBe(12);
    // A budget that leaves room for the activations of 5 images of 512 x 512.
    const budget = roomy.bytes - roomy.parts.activations + 5.5 * 512 * 512 * activationBytesPerPixel(card);
    expect(planDenoiseMemory(SHAPE, request, budget).forwardBatch).toBe(5);

    const calls: number[] = [];
    // eslint-disable-next-line @typescript-eslint/unbound-method -- kept to be put back on the prototype after the test
    const original = OnnxDiffusionModel.prototype.predict;
    vi.spyOn(OnnxDiffusionModel.prototype, 'predict').mockImplementation(function (this: OnnxDiffusionModel, batch, out) {
      calls.push(batch.batch);
      return original.call(this, batch, out);
    });
    const options = { model: PER_PIXEL, device: 'cpu' as const, steps: 2, batch: 3, samples: 4, seed: 5, threads: 1 };
    const chunked = await denoisePaths([CT_3SLICE], { ...options, outDir: path.join(root, 'chunked'), memoryBudget: budget });
    expect(chunked.errors).toEqual([]);
    expect(chunked.series[0]!.memory).toMatchObject({ forwardBatch: 5, budgetBytes: budget });
    // 2 steps, 12 images per step: 5 + 5 + 2 each.
    expect(calls).toEqual([5, 5, 2, 5, 5, 2]);

    calls.length = 0;
    const whole = await denoisePaths([CT_3SLICE], { ...options, outDir: path.join(root, 'whole'), memoryBudget: 64 * GiB });
    expect(calls).toEqual([12, 12]);
    const values = async (dir: string) => {
      const { series } = await scanPaths([dir]);
      return Promise.all(series[0]!.slices.map(async (_, i) => (await readSliceImage(series[0]!, i)).data));
    };
    expect(await values(chunked.series[0]!.output.dir)).toEqual(await values(whole.series[0]!.output.dir));
  });
});
