/**
 * The shipped latent model `lowdose-ct-latent` (docs/latent.md): a lossless 4x pixel-unshuffle codec
 * and a UNet on its 16-channel latent, a CT model beside the default `lowdose-ct` that the library,
 * `lowdose bench` and `lowdose qa` take by name. Small inputs (64 x 64, the 2-slice water fixture),
 * one thread, fixed seeds.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BenchReport } from '../../src/bench/index.js';
import type { Image2D } from '../../src/image.js';
import { latentOf } from '../../src/models/card.js';
import { DEFAULT_MODELS, Denoiser } from '../../src/models/denoiser.js';
import { resolveModelFiles } from '../../src/models/load.js';
import type { QaCheck } from '../../src/qa/index.js';
import { Rng } from '../../src/util/random.js';
import { runCli } from '../helpers/cli.js';

const NAME = 'lowdose-ct-latent';
const SIZE = 64;
const NOISE_SD = 30;
const rng = new Rng(11);
/** Soft tissue (40 HU) with quarter-dose-like noise and a dense disc, its corners out of the scanned field. */
const padding = Uint8Array.from({ length: SIZE * SIZE }, (_, i) => ((i % SIZE) - 31.5) ** 2 + (Math.floor(i / SIZE) - 31.5) ** 2 > 34 ** 2 ? 1 : 0);
const disc = (i: number) => ((i % SIZE) - 32) ** 2 + (Math.floor(i / SIZE) - 32) ** 2 < 150;
const image: Image2D = {
  rows: SIZE,
  columns: SIZE,
  pixelSpacing: [0.7, 0.7],
  padding,
  data: Float32Array.from({ length: SIZE * SIZE }, (_, i) => (padding[i] ? -3024 : disc(i) ? 300 : 40 + NOISE_SD * rng.normal())),
};
const shape = { rows: SIZE, columns: SIZE, pixelSpacing: image.pixelSpacing, padding };
/** SD over the soft tissue (inside the field, outside the disc and a 3-pixel margin around it). */
function tissueSd(values: Float32Array): number {
  const tissue = [...values].filter((_, i) => !padding[i] && ((i % SIZE) - 32) ** 2 + (Math.floor(i / SIZE) - 32) ** 2 > 16 ** 2 && ((i % SIZE) - 31.5) ** 2 + (Math.floor(i / SIZE) - 31.5) ** 2 < 30 ** 2);
  const mean = tissue.reduce((s, v) => s + v, 0) / tissue.length;
  return Math.sqrt(tissue.reduce((s, v) => s + (v - mean) ** 2, 0) / tissue.length);
}

const root = mkdtempSync(path.join(tmpdir(), 'lowdose-latent-shipped-'));
let latent: Denoiser;

beforeAll(async () => {
  latent = await Denoiser.load(NAME, { device: 'cpu', threads: 1 });
});

afterAll(async () => {
  await latent.release();
  rmSync(root, { recursive: true, force: true });
});

describe('the shipped latent model lowdose-ct-latent', () => {
  it('is a latent CT model with a lossless 4x codec of 16 channels, shipped beside the default CT model', async () => {
    const { card, cardPath } = await resolveModelFiles(NAME);
    expect(path.basename(path.dirname(cardPath))).toBe('models');
    expect(card.space).toBe('latent');
    expect(latentOf(card)).toMatchObject({ factor: 4, channels: 16, encoder: { onnx: `${NAME}-encoder.onnx` }, decoder: { onnx: `${NAME}-decoder.onnx` } });
    expect(card.modalities).toEqual(['CT']);
    expect(DEFAULT_MODELS.CT).toBe('lowdose-ct');
    // Its codec is exact: decode(encode(x)) = x to float rounding (HU / 1000 in model space).
    const codec = latent.model.codec!;
    const modelSpace = Float32Array.from(image.data, (v) => Math.max(-1.1, v / 1000));
    const { latent: z, grid } = await codec.encode(modelSpace, 1, SIZE, SIZE);
    expect([grid.channels, grid.rows, grid.columns]).toEqual([16, SIZE / 4, SIZE / 4]);
    const back = await codec.decode(z, 1, grid, SIZE, SIZE);
    expect(back.reduce((m, v, i) => Math.max(m, Math.abs(v - modelSpace[i]!)), 0)).toBeLessThan(1e-5);
  });

  it('denoises the same way for the same seed, differently for another, and lowers the soft-tissue noise', async () => {
    const run = (seed: number) => latent.with({ seed, steps: 2 }).denoise([{ index: 0, image: image.data }], shape);
    const a = (await run(5)).denoised[0]!;
    const b = (await run(5)).denoised[0]!;
    const c = (await run(6)).denoised[0]!;
    expect(Array.from(b)).toEqual(Array.from(a));
    expect(a.some((v, i) => v !== c[i])).toBe(true);
    expect(tissueSd(image.data)).toBeGreaterThan(0.9 * NOISE_SD);
    expect(tissueSd(a)).toBeLessThan(0.85 * tissueSd(image.data));
  });

  it('runs a guided ensemble with the calibrated uncertainty from its card: encoder, one call per step and decoder', async () => {
    const d = latent.with({ steps: 2, seed: 1, guidance: 1.5, uncertainty: true });
    expect(d.uncertainty).not.toBeNull();
    expect(d.samples).toBe(latent.card.uncertainty!.samples);
    const out = await d.denoise([{ index: 0, image: image.data }], shape);
    expect(out.std).not.toBeNull();
    expect(Math.max(...out.std![0]!)).toBeGreaterThan(0);
    expect(out.timing.modelCalls).toBe(2 + 2);
  });

  it('denoises a DICOM series from the CLI with steps, seed, an ensemble, guidance and the calibrated uncertainty series', async () => {
    const water = path.resolve(import.meta.dirname, '../../fixtures/water');
    const run = await runCli('denoise', path.join(water, 'dose25'), '-o', path.join(root, 'denoise'), '--model', NAME, '--steps', '2', '--seed', '3', '--samples', '2',
      '--guidance', '1.5', '--uncertainty', '--dose', '0.25', '--reference', path.join(water, 'dose100'), '--threads', '1', '--device', 'cpu', '--json', '--no-progress');
    expect(run.code, run.stderr).toBe(0);
    const series = (JSON.parse(run.stdout) as { series: Record<string, any>[] }).series;
    expect(series).toHaveLength(1);
    expect(series[0]).toMatchObject({ model: NAME, steps: 2, seed: 3, samples: 2, guidance: 1.5, uncertainty: { calibrated: true } });
    expect(series[0]!.output.files).toHaveLength(2);
    expect(series[0]!.uncertainty.files).toHaveLength(2);
    // Closer to the full-dose scan than the 25 % input it was given.
    expect(series[0]!.metrics.psnr).toBeGreaterThan(series[0]!.metrics.input.psnr);
  });

  it('is timed by lowdose bench', async () => {
    const run = await runCli('bench', '--model', NAME, '--size', '64', '--steps', '1', '--batch', '1', '--repeats', '1', '--device', 'cpu', '--threads', '1', '--json');
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as BenchReport;
    expect(report.model).toBe(NAME);
    expect(report.runs.map((r) => [r.steps, r.modelCalls])).toEqual([[1, 1 + 2]]);
    expect(report.msPerSlice).toBeGreaterThan(0);
  });

  it('is checked by lowdose qa on the water phantom, whose noise it lowers', async () => {
    const run = await runCli('qa', '--model', NAME, '--phantoms', 'water', '--doses', '0.25', '--threads', '1', '--device', 'cpu', '-o', path.join(root, 'qa'), '--json', '--no-progress');
    expect([0, 1], run.stderr).toContain(run.code);
    const checks = (JSON.parse(run.stdout) as { checks: QaCheck[] }).checks;
    expect(checks.every((c) => c.name.startsWith('water/dose25/'))).toBe(true);
    expect(checks.find((c) => c.name === 'water/dose25/noise-reduction')!.value!).toBeGreaterThan(0.2);
  });
});
