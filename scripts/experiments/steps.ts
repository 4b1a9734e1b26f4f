/**
 * Steps experiment: denoising quality and time for 1, 2, 4, 8, 16 and 50 reverse steps.
 *
 * Inputs: the body and ACR fixtures at 25 % dose (4 slices each, 256 px); reference: the same
 * phantoms' simulated full-dose scans (dose100). For each sampler (default: the card's) and step
 * count, all slices of a fixture go through the model as one batch (seed 0, slice i = noise stream
 * i); PSNR / SSIM are CONTRACT metrics (CT range [-1000, 1000] HU), averaged over slices; time is
 * wall time per slice of that batch call (CPU, this machine's load included).
 *
 * Run: npx tsx scripts/experiments/steps.ts [--model lowdose-ct] [--samplers warm-start,ddim]
 *        [--steps 1,2,4,8,16,50] [--device cpu] [--threads N]
 * Writes docs/experiments/steps.json and steps-quality.png, steps-time.png.
 */
import os from 'node:os';
import type { SamplerName } from '../../src/diffusion/index.js';
import type { PhantomName } from '../../src/qa/types.js';
import { linePlot, PALETTE, saveFigure, saveJson } from './figures.js';
import { denoiseStack, modelIdentity, modelArgs, openModel, readFixture, round, scoreStack } from './fixture-runs.js';

const args = modelArgs({ samplers: { type: 'string' }, steps: { type: 'string', default: '1,2,4,8,16,50' } });
const model = await openModel(args);
const samplers = (args.samplers ?? model.card.sampler.default).split(',') as SamplerName[];
const stepsList = args.steps!.split(',').map(Number);
const phantoms: PhantomName[] = ['body', 'acr'];
const seed = Number(args.seed);

const rows: Array<Record<string, unknown>> = [];
const inputScores: Record<string, { psnr: number; ssim: number }> = {};
for (const phantom of phantoms) {
  const low = await readFixture(phantom, 0.25);
  const full = await readFixture(phantom, 1);
  inputScores[phantom] = scoreStack(full, low.slices.map((s) => s.data));
  console.error(`${phantom} 25 % input: PSNR ${inputScores[phantom].psnr.toFixed(2)} SSIM ${inputScores[phantom].ssim.toFixed(3)}`);
  await denoiseStack(model, low, { steps: 1, seed, dose: 0.25 }); // warm-up
  for (const sampler of samplers) {
    for (const steps of stepsList) {
      const run = await denoiseStack(model, low, { name: sampler, steps, seed, dose: 0.25 });
      const score = scoreStack(full, run.denoised);
      const row = {
        phantom,
        sampler,
        steps,
        psnr: round(score.psnr, 2),
        ssim: round(score.ssim, 4),
        msPerSlice: round(run.msPerSlice, 1),
        modelMsPerSlice: round(run.modelMsPerSlice, 1),
      };
      rows.push(row);
      console.log(JSON.stringify(row));
    }
  }
}
await model.release();

saveJson('steps.json', {
  command: `npx tsx scripts/experiments/steps.ts --model ${args.model}${args.samplers ? ` --samplers ${args.samplers}` : ''}`,
  model: modelIdentity(model),
  card: { schedule: model.card.schedule, sampler: model.card.sampler, prediction: model.card.prediction },
  machine: { cpu: os.cpus()[0]?.model, cpus: os.availableParallelism(), node: process.version, date: new Date().toISOString() },
  input: inputScores,
  rows,
});

const series = (metric: 'psnr' | 'ssim' | 'msPerSlice') =>
  phantoms.flatMap((phantom, p) =>
    samplers.map((sampler, s) => ({
      name: `${phantom} ${sampler}`,
      color: PALETTE[(p * samplers.length + s) % PALETTE.length]!,
      points: rows.filter((r) => r.phantom === phantom && r.sampler === sampler).map((r) => [r.steps as number, r[metric] as number] as const),
    })),
  );
saveFigure(
  'steps-quality.png',
  linePlot({
    title: `${model.card.name}: PSNR vs full dose at 25 % dose, by reverse steps (dashed: the noisy input)`,
    xLabel: 'steps (log scale)',
    yLabel: 'PSNR dB, CT range -1000..1000 HU',
    xLog: true,
    xRange: [1, Math.max(...stepsList)],
    hLines: phantoms.map((p) => ({ y: inputScores[p]!.psnr, label: `${p} input` })),
    series: series('psnr'),
  }),
);
saveFigure(
  'steps-ssim.png',
  linePlot({
    title: `${model.card.name}: SSIM vs full dose at 25 % dose, by reverse steps (dashed: the noisy input)`,
    xLabel: 'steps (log scale)',
    yLabel: 'SSIM',
    xLog: true,
    xRange: [1, Math.max(...stepsList)],
    hLines: phantoms.map((p) => ({ y: inputScores[p]!.ssim, label: `${p} input` })),
    series: series('ssim'),
  }),
);
saveFigure(
  'steps-time.png',
  linePlot({
    title: `${model.card.name}: wall time per 256 px slice (batch of 4), CPU, ${os.availableParallelism()} cores`,
    xLabel: 'steps (log scale)',
    yLabel: 'ms per slice',
    xLog: true,
    xRange: [1, Math.max(...stepsList)],
    series: series('msPerSlice'),
  }),
);
