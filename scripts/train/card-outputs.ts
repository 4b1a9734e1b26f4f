/**
 * A shipped model at its card's default, through the toolkit (the `Denoiser` that `lowdose denoise`
 * runs: the card's sampler, steps and measurement consistency, the dose declared), on every exported
 * slice of the card's validation and test volumes, so that scripts/train/evaluate.py scores it beside
 * the network alone with the same masks: its PyTorch sampler has no consistency step, and the
 * consistency step is part of what the card ships (for lowdose-pet it changes SUV in hot regions).
 *
 * Writes, per volume and dose, `.cache/eval/<MOD>/<volume>/card<dose>.f32` (stored units: HU or
 * Bq/ml, like the low-dose arrays); evaluate.py reads them as the row `card default`.
 *
 *   npx tsx scripts/train/card-outputs.ts <CT|PT> [model name | card.json] [threads=1]
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Denoiser } from '../../src/models/denoiser.js';
import { CACHE, doseKey as key, readF32, readVolumeMeta, REPO } from './cache-files.js';


const [modality, nameArg, threadsArg = '1'] = process.argv.slice(2);
if (modality !== 'CT' && modality !== 'PT') {
  console.error('usage: npx tsx scripts/train/card-outputs.ts <CT|PT> [model name | card.json] [threads]');
  process.exit(2);
}
const name = nameArg ?? (modality === 'CT' ? 'lowdose-ct' : 'lowdose-pet');
const model = await Denoiser.load(name.endsWith('.json') ? path.resolve(name) : path.join(REPO, 'models', `${name}.json`), {
  modality,
  device: 'cpu',
  threads: Number(threadsArg),
});
const split = (model.card.training as { split: { validation: string[]; test: string[] } }).split;
for (const vol of [...split.validation, ...split.test]) {
  const dir = path.join(CACHE, 'eval', modality, vol);
  const meta = readVolumeMeta(dir);
  const n = meta.rows * meta.columns;
  // PET is stored in Bq/ml; the model works in SUVbw.
  const f = modality === 'PT' ? meta.suvFactor : 1;
  for (const d of meta.doses) {
    const low = readF32(path.join(dir, `low${key(d)}.f32`));
    const slices = meta.slices.map((index, s) => ({ index, image: low.subarray(s * n, (s + 1) * n).map((v) => v * f), doseLevel: d }));
    const { denoised } = await model.denoise(slices, { rows: meta.rows, columns: meta.columns, pixelSpacing: [meta.spacing[0], meta.spacing[1]] });
    const out = new Float32Array(n * slices.length);
    denoised.forEach((img, s) => {
      for (let i = 0; i < n; i++) out[s * n + i] = img[i]! / f;
    });
    writeFileSync(path.join(dir, `card${key(d)}.f32`), Buffer.from(out.buffer));
    console.error(`${vol} dose ${d}: ${slices.length} slices`);
  }
}
await model.release();
console.error(`wrote .cache/eval/${modality}/<volume>/card<dose>.f32 (${name} at its card's default, dose declared)`);
