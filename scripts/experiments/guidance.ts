/**
 * Guidance experiment: classifier-free guidance scale g = 1..8 and its effect on noise, sharpness,
 * bias and the spread between ensemble samples, on the ACR fixture at 25 % dose.
 *
 * For each g: one denoise (samples 1, seed 0; what `lowdose denoise --guidance g` writes) and one
 * ensemble of K = 4 samples (seeds of the same run: lane k = stream k). Measured on the single run:
 * - noise: pooled SD in the five module-3 uniformity ROIs (QA's noise ROIs), HU;
 * - sharpness: MTF50 of the module-4 edge rod (circular-edge method, QA's MTF check), cycles/mm;
 * - bias: mean error of the five module-1 inserts (air, polyethylene, acrylic, bone, water) against
 *   the truth phantom's values in the same ROIs, and the mean of the uniformity ROIs (water, 0 HU);
 * - PSNR / SSIM against the full-dose scan;
 * and on the ensemble: the spread, mean per-pixel SD over the K samples inside the phantom (all
 * four modules, 90 mm radius), HU.
 *
 * Needs a model trained with condition dropout (a conditionMask input).
 * Run: npx tsx scripts/experiments/guidance.ts [--model lowdose-ct] [--scales 1,2,3,4,5,6,7,8] [--samples 4]
 * Writes docs/experiments/guidance.json, guidance-noise.png, guidance-sharpness.png,
 * guidance-bias.png, guidance-images.png.
 */
import os from 'node:os';
import { rodMtf, roiStats } from '../../src/metrics/index.js';
import type { AcrGeometry } from '../../src/phantoms/index.js';
import { circleAt, pixelAt } from '../../src/qa/fixtures.js';
import { moduleSlice } from '../../src/qa/regions.js';
import type { QaSlice, SliceStack } from '../../src/qa/types.js';
import { imageGrid, linePlot, PALETTE, saveFigure, saveJson } from './figures.js';
import { denoiseStack, modelIdentity, fixtureGeometry, modelArgs, openModel, readFixture, round, scoreStack } from './fixture-runs.js';

const args = modelArgs({ scales: { type: 'string', default: '1,2,3,4,5,6,7,8' }, samples: { type: 'string', default: '4' } });
const model = await openModel(args);
if (!model.model.supportsConditionMask || model.card.guidance.conditionDropout <= 0) {
  console.error(`model ${model.card.name} was not trained with condition dropout (conditionDropout ${model.card.guidance.conditionDropout}): guidance other than 1 is meaningless`);
  process.exit(2);
}
const scales = args.scales!.split(',').map(Number);
const K = Number(args.samples);
const seed = Number(args.seed);

const g = fixtureGeometry('acr') as unknown as AcrGeometry;
const low = await readFixture('acr', 0.25);
const full = await readFixture('acr', 1);
const truth = await readFixture('acr', 'truth');
const m1 = moduleSlice(low, g, 1);
const m3 = moduleSlice(low, g, 3);
const m4 = moduleSlice(low, g, 4);
const rod = g.inserts.find((i) => i.kind === 'edge-rod')!;
const huInserts = g.inserts.filter((i) => i.kind === 'hu');
const uniform = g.rois.filter((r) => r.module === 3);
const withData = (slice: QaSlice, data: Float32Array): QaSlice => ({ ...slice, data });

function measure(images: readonly Float32Array[]) {
  const s1 = withData(low.slices[m1]!, images[m1]!);
  const s3 = withData(low.slices[m3]!, images[m3]!);
  const s4 = withData(low.slices[m4]!, images[m4]!);
  // Inserts measured in a ROI 70 % of their radius, against the truth image in the same ROI.
  const insertErrors = huInserts.map((insert) => {
    const roi = circleAt(s1, insert.centre, insert.radius * 0.7);
    return roiStats(s1, roi).mean - roiStats(truth.slices[m1]!, roi).mean;
  });
  const uniformStats = uniform.map((r) => roiStats(s3, circleAt(s3, r.centre, r.radius)));
  let mtf50: number | null = null;
  try {
    mtf50 = rodMtf(s4, pixelAt(s4, rod.centre), rod.radius).mtf50;
  } catch {
    mtf50 = null;
  }
  return {
    noise: Math.sqrt(uniformStats.reduce((a, s) => a + s.std * s.std, 0) / uniformStats.length),
    uniformMean: uniformStats.reduce((a, s) => a + s.mean, 0) / uniformStats.length,
    insertBias: insertErrors.reduce((a, b) => a + b, 0) / insertErrors.length,
    insertAbsError: insertErrors.reduce((a, b) => a + Math.abs(b), 0) / insertErrors.length,
    insertErrors: Object.fromEntries(huInserts.map((insert, i) => [insert.name, round(insertErrors[i]!, 1)])),
    mtf50,
  };
}

/** Mean of a per-pixel map inside the phantom (90 mm of the axis) over all slices. */
function meanInsidePhantom(stack: SliceStack, maps: readonly Float32Array[]): number {
  let sum = 0;
  let count = 0;
  stack.slices.forEach((slice, i) => {
    const stats = roiStats(withData(slice, maps[i]!), circleAt(slice, [0, 0], 90));
    sum += stats.mean * stats.count;
    count += stats.count;
  });
  return sum / count;
}

const reference = { input: measure(low.slices.map((s) => s.data)), full: measure(full.slices.map((s) => s.data)) };
console.error(`input: ${JSON.stringify(reference.input)}\nfull dose: ${JSON.stringify(reference.full)}`);
await denoiseStack(model, low, { steps: 1, seed, dose: 0.25 }); // warm-up
const rows: Array<Record<string, unknown>> = [];
const shown: Record<number, { single: Float32Array[]; std: Float32Array[] }> = {};
for (const guidance of scales) {
  const single = await denoiseStack(model, low, { seed, guidance, dose: 0.25 });
  const ensemble = await denoiseStack(model, low, { seed, guidance, dose: 0.25, samples: K });
  const m = measure(single.denoised);
  const score = scoreStack(full, single.denoised);
  const row = {
    guidance,
    noise: round(m.noise, 2),
    mtf50: m.mtf50 === null ? null : round(m.mtf50, 4),
    insertBias: round(m.insertBias, 2),
    insertAbsError: round(m.insertAbsError, 2),
    uniformMean: round(m.uniformMean, 2),
    insertErrors: m.insertErrors,
    spread: round(meanInsidePhantom(low, ensemble.std!), 2),
    psnr: round(score.psnr, 2),
    ssim: round(score.ssim, 4),
    msPerSlice: round(single.msPerSlice, 1),
  };
  rows.push(row);
  console.log(JSON.stringify(row));
  if ([1, 2, 4, 8].includes(guidance)) shown[guidance] = { single: single.denoised, std: ensemble.std! };
}
await model.release();

saveJson('guidance.json', {
  command: `npx tsx scripts/experiments/guidance.ts --model ${args.model} --scales ${args.scales} --samples ${K}`,
  model: modelIdentity(model),
  card: { schedule: model.card.schedule, sampler: model.card.sampler, guidance: model.card.guidance, prediction: model.card.prediction },
  samples: K,
  machine: { cpu: os.cpus()[0]?.model, cpus: os.availableParallelism(), node: process.version, date: new Date().toISOString() },
  reference: {
    input: { ...reference.input, noise: round(reference.input.noise, 2) },
    full: { ...reference.full, noise: round(reference.full.noise, 2) },
  },
  rows,
});

const line = (metric: string, name: string, color = PALETTE[0]!) => ({
  name,
  color,
  points: rows.filter((r) => r[metric] !== null).map((r) => [r.guidance as number, r[metric] as number] as const),
});
saveFigure(
  'guidance-noise.png',
  linePlot({
    title: `${model.card.name}, ACR 25 % dose: noise and ensemble spread vs guidance scale`,
    xLabel: 'guidance scale g',
    yLabel: 'HU',
    xRange: [Math.min(...scales), Math.max(...scales)],
    hLines: [
      { y: reference.input.noise, label: 'input noise' },
      { y: reference.full.noise, label: 'full-dose noise' },
    ],
    series: [line('noise', 'noise SD, uniform ROIs'), line('spread', `spread: SD over ${K} samples`, PALETTE[1])],
  }),
);
saveFigure(
  'guidance-sharpness.png',
  linePlot({
    title: `${model.card.name}, ACR 25 % dose: MTF50 of the edge rod vs guidance scale`,
    xLabel: 'guidance scale g',
    yLabel: 'MTF50, cycles/mm',
    xRange: [Math.min(...scales), Math.max(...scales)],
    hLines: [
      ...(reference.input.mtf50 !== null ? [{ y: reference.input.mtf50, label: 'input' }] : []),
      ...(reference.full.mtf50 !== null ? [{ y: reference.full.mtf50, label: 'full dose' }] : []),
    ],
    series: [line('mtf50', 'MTF50 denoised')],
  }),
);
saveFigure(
  'guidance-bias.png',
  linePlot({
    title: `${model.card.name}, ACR 25 % dose: bias vs guidance scale`,
    xLabel: 'guidance scale g',
    yLabel: 'HU',
    xRange: [Math.min(...scales), Math.max(...scales)],
    hLines: [{ y: 0, label: '' }],
    series: [
      line('insertBias', 'insert mean error vs truth'),
      line('insertAbsError', 'insert mean |error|', PALETTE[1]),
      line('uniformMean', 'uniformity ROI mean (0 HU)', PALETTE[2]),
    ],
  }),
);
const gs = Object.keys(shown).map(Number);
const cellOf = (data: Float32Array, label: string[]) => ({ image: data, rows: low.slices[0]!.rows, columns: low.slices[0]!.columns, label });
saveFigure(
  'guidance-images.png',
  imageGrid(
    [
      { title: 'module 4 (rod, bars): input, full dose, then denoised at g', cells: [cellOf(low.slices[m4]!.data, ['input 25 %']), cellOf(full.slices[m4]!.data, ['full dose']), ...gs.map((gg) => cellOf(shown[gg]!.single[m4]!, [`g=${gg}`]))] },
      { title: 'module 1 (inserts)', cells: [cellOf(low.slices[m1]!.data, ['input 25 %']), cellOf(full.slices[m1]!.data, ['full dose']), ...gs.map((gg) => cellOf(shown[gg]!.single[m1]!, [`g=${gg}`]))] },
    ],
    { lo: -160, hi: 240 },
    128,
    `${model.card.name}: ACR 25 % dose, window W400 L40`,
  ),
);
saveFigure(
  'guidance-spread.png',
  imageGrid(
    [{ title: `per-pixel SD over ${K} samples, module 4, window 0..40 HU`, cells: gs.map((gg) => cellOf(shown[gg]!.std[m4]!, [`g=${gg}`])) }],
    { lo: 0, hi: 40 },
    128,
  ),
);
