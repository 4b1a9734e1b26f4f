/**
 * Measures a shipped model through the toolkit itself: loads models/<name>.json with the runtime
 * (card checked against the graph), denoises the exported held-out slices with the card's sampler
 * through `Denoiser` (the code `lowdose denoise` runs; consistency off), and scores them with src/metrics
 * (CONTRACT-exact PSNR / SSIM / RMSE). Also reports wall time per slice on this CPU.
 *
 *   npx esbuild scripts/train/engine-eval.ts --bundle --platform=node --format=esm \
 *     --packages=external --outfile=.cache/engine-eval.mjs
 *   node .cache/engine-eval.mjs <model name | card.json> <CT|PT> [steps=card] [slicesPerVolume=4] [threads=2] [consistency=0] [split=test]
 *
 * `consistency` is the strength of the card's measurement-consistency step (0, the default, as the
 * card's tables: the network and sampler alone); its millimetres use each volume's pixel spacing.
 * `split` is the card's `training.split` to score: `test` (the default) or `validation`, the one to
 * choose a setting on.
 *
 * Prints one JSON object: per dose, input and model mean metrics, ms per slice.
 */
import path from 'node:path';
import { compareSlices } from '../../src/metrics/compare.js';
import { Denoiser } from '../../src/models/denoiser.js';
import { CACHE, doseKey as key, readF32, readVolumeMeta, REPO } from './cache-files.js';


const [name = 'lowdose-ct', modality = 'CT', stepsArg, perVolArg = '4', threadsArg = '2', consistencyArg = '0', splitArg = 'test'] = process.argv.slice(2);
if (modality !== 'CT' && modality !== 'PT') {
  console.error('usage: node engine-eval.mjs <model | card.json> <CT|PT> [steps] [slicesPerVolume] [threads] [consistency] [split]');
  process.exit(2);
}
const model = await Denoiser.load(name.endsWith('.json') ? path.resolve(name) : path.join(REPO, 'models', `${name}.json`), {
  modality,
  device: 'cpu',
  threads: Number(threadsArg),
  // By default the network and its sampler alone, as the model card's tables report them (no measurement consistency).
  consistency: Number(consistencyArg),
  ...(stepsArg ? { steps: Number(stepsArg) } : {}),
});
const card = model.card;
const steps = model.steps;
const split = (card.training as { split: Record<string, string[]> }).split;
const volumes = split[splitArg];
if (!volumes) throw new Error(`the card has no training.split.${splitArg}`);
const result: Record<string, unknown> = { model: name, steps, sampler: card.sampler, consistency: Number(consistencyArg), split: splitArg, volumes, device: model.device, threads: Number(threadsArg) };
const perDose: Record<string, { input: number[][]; model: number[][]; ms: number[] }> = {};

for (const vol of volumes) {
  const dir = path.join(CACHE, 'eval', modality, vol);
  const meta = readVolumeMeta(dir);
  const image = meta.rows * meta.columns;
  const f = modality === 'PT' ? meta.suvFactor : 1;
  const toUnits = (a: Float32Array) => (f === 1 ? a : a.map((v) => v * f));
  const clean = readF32(path.join(dir, 'clean.f32'));
  const S = meta.slices.length;
  const pick = Array.from(new Set(Array.from({ length: Number(perVolArg) }, (_, i) => Math.floor(((i + 0.5) * S) / Number(perVolArg)))));
  for (const d of meta.doses) {
    const low = readF32(path.join(dir, `low${key(d)}.f32`));
    const refArr = meta.arrays[`ref${key(d)}`] ? readF32(path.join(dir, `ref${key(d)}.f32`)) : clean;
    const refAll = toUnits(refArr);
    let refMax = -Infinity;
    for (const v of refAll) if (v > refMax) refMax = v;
    const range: [number, number] = modality === 'CT' ? [-1000, 1000] : [0, refMax];
    const entry = (perDose[String(d)] ??= { input: [], model: [], ms: [] });
    for (const s of pick) {
      const lowSlice = toUnits(low.subarray(s * image, (s + 1) * image));
      const ref = { rows: meta.rows, columns: meta.columns, data: refAll.subarray(s * image, (s + 1) * image) };
      const t0 = performance.now();
      const out = await model.denoise([{ index: meta.slices[s]!, image: lowSlice, doseLevel: d }], { rows: meta.rows, columns: meta.columns, pixelSpacing: meta.spacing ? [meta.spacing[0], meta.spacing[1]] : [1, 1] });
      entry.ms.push(performance.now() - t0);
      const a = compareSlices(ref, { rows: meta.rows, columns: meta.columns, data: lowSlice }, range);
      const b = compareSlices(ref, { rows: meta.rows, columns: meta.columns, data: out.denoised[0]! }, range);
      entry.input.push([a.psnr, a.ssim, a.rmse]);
      entry.model.push([b.psnr, b.ssim, b.rmse]);
    }
  }
}
const mean = (rows: number[][], i: number) => rows.reduce((s, r) => s + r[i]!, 0) / rows.length;
for (const [d, e] of Object.entries(perDose)) {
  const sorted = [...e.ms].sort((x, y) => x - y);
  result[`dose ${d}`] = {
    slices: e.model.length,
    input: { psnr: +mean(e.input, 0).toFixed(3), ssim: +mean(e.input, 1).toFixed(4), rmse: +mean(e.input, 2).toFixed(2) },
    model: { psnr: +mean(e.model, 0).toFixed(3), ssim: +mean(e.model, 1).toFixed(4), rmse: +mean(e.model, 2).toFixed(2) },
    msPerSliceMedian: +sorted[Math.floor(sorted.length / 2)]!.toFixed(1),
  };
}
console.log(JSON.stringify(result, null, 1));
await model.release();
