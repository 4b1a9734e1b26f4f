/**
 * Schedules experiment, part 2 (needs a model): what the noise level a warm start begins from does
 * to denoising quality, read along the one model's own schedule, and where each schedule's default
 * warm start (strength 0.2, t_start = 199 of T = 1000) would put that level.
 *
 * This is NOT "the quality each schedule's model reaches": that needs one model trained per
 * schedule. A network only knows the noise levels of its own training schedule, so a start at
 * ᾱ_S(199) of schedule S is run as a start at the model's own timestep with the nearest ᾱ
 * (diffusion is defined by ᾱ: x_t = sqrt(ᾱ) x_0 + sqrt(1 - ᾱ) ε); the steps that follow are the
 * model's. What differs between schedules here is only how much noise the default warm start adds.
 *
 * Inputs: body and ACR fixtures at 25 % dose, reference full dose (dose100), seed 0, the card's
 * sampler steps, warm start.
 * Run: npx tsx scripts/experiments/schedules-warmstart.ts [--model lowdose-ct]
 *        [--strengths 0.02,0.05,0.1,0.15,0.2,0.3,0.4,0.5,0.7]
 * Writes docs/experiments/schedules-warmstart.json and schedules-warmstart.png.
 */
import { NoiseSchedule, type BetaScheduleKind } from '../../src/diffusion/schedules.js';
import { warmStartTimestep } from '../../src/diffusion/warm-start.js';
import type { PhantomName } from '../../src/qa/types.js';
import { linePlot, PALETTE, saveFigure, saveJson } from './figures.js';
import { denoiseStack, modelIdentity, modelArgs, openModel, readFixture, round, scoreStack } from './fixture-runs.js';

const args = modelArgs({ strengths: { type: 'string', default: '0.02,0.05,0.1,0.15,0.2,0.3,0.4,0.5,0.7' } });
const model = await openModel(args);
if (model.card.schedule.kind === 'resshift') throw new Error('a β-schedule model is needed (this one uses resshift)');
const own = new NoiseSchedule(model.card.schedule);
const T = own.trainSteps;
const seed = Number(args.seed);
const strengths = args.strengths!.split(',').map(Number);
const KINDS: readonly BetaScheduleKind[] = ['linear', 'cosine', 'aggressive'];
const phantoms: PhantomName[] = ['body', 'acr'];

/** The model's timestep whose ᾱ is nearest `alphaBar`. */
function timestepFor(alphaBar: number): number {
  let best = 0;
  for (let t = 1; t < T; t++) if (Math.abs(own.alphasCumprod[t]! - alphaBar) < Math.abs(own.alphasCumprod[best]! - alphaBar)) best = t;
  return best;
}

const stacks = await Promise.all(phantoms.map(async (p) => ({ phantom: p, low: await readFixture(p, 0.25), full: await readFixture(p, 1) })));
const input = Object.fromEntries(stacks.map((s) => [s.phantom, scoreStack(s.full, s.low.slices.map((x) => x.data))]));
await denoiseStack(model, stacks[0]!.low, { steps: 1, seed, dose: 0.25 }); // warm-up

async function run(startT: number) {
  const steps = Math.min(model.card.sampler.steps, startT + 1);
  const out: Record<string, { psnr: number; ssim: number }> = {};
  for (const s of stacks) {
    const r = await denoiseStack(model, s.low, { name: 'warm-start', startT, steps, seed, dose: 0.25 });
    const score = scoreStack(s.full, r.denoised);
    out[s.phantom] = { psnr: round(score.psnr, 2), ssim: round(score.ssim, 4) };
  }
  return { steps, scores: out };
}

const sweep: Array<{ strength: number; startT: number; alphaBar: number } & Awaited<ReturnType<typeof run>>> = [];
for (const strength of strengths) {
  const startT = warmStartTimestep(T, { strength });
  const r = await run(startT);
  const row = { strength, startT, alphaBar: round(own.alphaCumprod(startT), 4), ...r };
  sweep.push(row);
  console.log(JSON.stringify(row));
}
const defaults = [];
for (const kind of KINDS) {
  const schedule = new NoiseSchedule({ kind, trainSteps: 1000 });
  const tS = warmStartTimestep(1000, { strength: 0.2 });
  const alphaBar = schedule.alphaCumprod(tS);
  const startT = timestepFor(alphaBar);
  const r = await run(startT);
  const row = { schedule: kind, scheduleT: tS, alphaBar: round(alphaBar, 4), modelStartT: startT, ...r };
  defaults.push(row);
  console.log(JSON.stringify(row));
}
await model.release();

saveJson('schedules-warmstart.json', {
  command: `npx tsx scripts/experiments/schedules-warmstart.ts --model ${args.model}`,
  model: modelIdentity(model),
  modelSchedule: model.card.schedule,
  note: 'one model (its own schedule); starts at other schedules\' default warm-start noise levels mapped by equal alpha-bar; not a model trained per schedule',
  input,
  sweep,
  defaults,
});
saveFigure(
  'schedules-warmstart.png',
  linePlot({
    title: `${model.card.name} warm start: PSNR vs the start's ᾱ (dots: each schedule's strength-0.2 start)`,
    xLabel: 'ᾱ at the warm start (1 = no noise added)',
    yLabel: 'PSNR dB vs full dose, 25 % dose input',
    xRange: [0, 1],
    hLines: phantoms.map((p) => ({ y: input[p]!.psnr, label: `${p} input` })),
    series: [
      ...phantoms.map((p, i) => ({ name: p, color: PALETTE[i]!, points: sweep.map((r) => [r.alphaBar, r.scores[p]!.psnr] as const) })),
      ...defaults.map((d, k) => ({
        name: `${d.schedule}, strength 0.2`,
        color: PALETTE[3 + k]!,
        markers: true,
        points: phantoms.map((p) => [d.alphaBar, d.scores[p]!.psnr] as const),
      })),
    ],
  }),
);
