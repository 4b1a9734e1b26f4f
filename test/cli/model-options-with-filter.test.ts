/**
 * The diffusion model's options with a classical filter (`--method gaussian|bilateral|nlm`) are bad
 * usage: `denoise --method gaussian --samples 4` wrote one filtered series, no uncertainty series
 * and `samples: 1` in report.json, and `--model`, `--steps`, `--sampler`, `--guidance` went as
 * silently. Values that change nothing pass, and so does every option with the model.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelOnlyOptionsGiven } from '../../src/cli/denoiser-options.js';
import { runCli } from '../helpers/cli.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const WATER_25 = path.join(ROOT, 'fixtures/water/dose25');

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'lowdose-model-options-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('modelOnlyOptionsGiven', () => {
  it('names each model option that would change a diffusion run, for a classical method only', () => {
    const all = { model: 'lowdose-ct', steps: 8, sampler: 'ddim', samples: 4, guidance: 2, orientations: 4, consistency: 0.5, consistencyPilot: 1 } as const;
    expect(modelOnlyOptionsGiven({ method: 'nlm', ...all })).toEqual([
      '--model lowdose-ct',
      '--steps 8',
      '--sampler ddim',
      '--samples 4',
      '--guidance 2',
      '--orientations 4',
      '--consistency 0.5',
      '--consistency-pilot 1',
    ]);
    expect(modelOnlyOptionsGiven({ method: 'diffusion', ...all })).toEqual([]);
    expect(modelOnlyOptionsGiven({ method: 'gaussian', samples: 1, orientations: 1, consistency: 0, consistencyPilot: 0 })).toEqual([]);
  });
});

describe('denoise, qa and batch with a classical method', () => {
  it('denoise --method gaussian --samples 4 exits 2 with E_USAGE naming the option, and writes nothing', async () => {
    const out = path.join(tmp, 'samples');
    const run = await runCli('denoise', WATER_25, '-o', out, '--method', 'gaussian', '--samples', '4', '--no-progress', '--json');
    expect(run.code).toBe(2);
    const errors = (JSON.parse(run.stdout) as { errors: Array<{ code: string; message: string }> }).errors;
    expect(errors).toEqual([{ path: null, code: 'E_USAGE', message: expect.stringContaining('--samples 4 is an option of the diffusion model, which --method gaussian does not run') as unknown }]);
    expect(existsSync(out)).toBe(false);
  });

  it.each([
    [['--model', 'lowdose-ct'], /--model lowdose-ct is an option/],
    [['--steps', '50', '--sampler', 'ddim'], /--steps 50, --sampler ddim are options/],
    [['--guidance', '2'], /--guidance 2 is an option/],
  ])('denoise --method nlm %j exits 2', async (args, message) => {
    const run = await runCli('denoise', WATER_25, '-o', path.join(tmp, 'nlm'), '--method', 'nlm', ...args, '--no-progress');
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stdout).toBe('');
  });

  it('denoise --method bilateral with values that change nothing runs and records one sample', async () => {
    const out = path.join(tmp, 'neutral');
    const run = await runCli('denoise', WATER_25, '-o', out, '--method', 'bilateral', '--samples', '1', '--orientations', '1', '--consistency', '0', '--no-progress');
    expect(run.code).toBe(0);
    const report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8')) as { series: Array<{ method: string; samples: number }> };
    expect(report.series[0]).toMatchObject({ method: 'bilateral', samples: 1 });
  });

  it('qa --method nlm refuses --pet-model and --steps', async () => {
    const pet = await runCli('qa', '--method', 'nlm', '--pet-model', 'lowdose-pet', '-o', path.join(tmp, 'qa'), '--json');
    expect(pet.code).toBe(2);
    expect(pet.stdout).toMatch(/--pet-model lowdose-pet is the diffusion model for the PET fixture/);
    const steps = await runCli('qa', '--method', 'nlm', '--steps', '4', '-o', path.join(tmp, 'qa'));
    expect(steps.code).toBe(2);
    expect(steps.stderr).toMatch(/--steps 4 is an option of the diffusion model/);
    expect(existsSync(path.join(tmp, 'qa'))).toBe(false);
  });

  it('batch --method gaussian --sampler ddim exits 2 before it reaches the queue', async () => {
    const run = await runCli('batch', WATER_25, '-o', path.join(tmp, 'batch'), '--redis', 'redis://127.0.0.1:1', '--method', 'gaussian', '--sampler', 'ddim');
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--sampler ddim is an option of the diffusion model/);
  });
});
