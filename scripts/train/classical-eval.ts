/**
 * The toolkit's own bilateral and non-local-means filters (src/filters, the code behind
 * `lowdose denoise --method bilateral|nlm`) on the held-out slices of the model card, so that
 * scripts/train/evaluate.py can score them beside the Gaussian and the model with the same masks.
 *
 * Strength is tuned per dose on the validation volume (best mean PSNR, CONTRACT range) with the
 * toolkit's tuners; widths stay at the toolkit's defaults (CLASSICAL_DEFAULTS). Writes, per
 * volume and dose, `.cache/eval/<MOD>/<volume>/<method><dose>.f32` (all exported slices, modality
 * units: HU or SUVbw) and `.cache/eval/<MOD>/classical.json` with the tuning scores.
 *
 *   npx tsx scripts/train/classical-eval.ts CT
 *   npx tsx scripts/train/classical-eval.ts PT
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { classicalDenoise } from '../../src/filters/denoise.js';
import { tuneBilateralRange, tuneNlmH, type TuningPair } from '../../src/filters/tune.js';
import type { Image2D } from '../../src/image.js';
import { CACHE, doseKey as key, readF32, readVolumeMeta, REPO, type VolumeMeta } from './cache-files.js';


const modality = process.argv[2];
if (modality !== 'CT' && modality !== 'PT') {
  console.error('usage: npx tsx scripts/train/classical-eval.ts <CT|PT>');
  process.exit(2);
}
const cardName = modality === 'CT' ? 'lowdose-ct' : 'lowdose-pet';
const split = (JSON.parse(readFileSync(path.join(REPO, 'models', `${cardName}.json`), 'utf8')) as { training: { split: { validation: string[]; test: string[] } } })
  .training.split;

const CANDIDATES: Record<'bilateral' | 'nlm', number[]> = {
  bilateral: [1, 1.5, 2, 3, 4, 6, 8, 12, 16],
  nlm: [0.6, 0.8, 1, 1.2, 1.5, 2, 2.5, 3.5],
};


interface Volume {
  name: string;
  dir: string;
  meta: VolumeMeta;
  low: Record<string, Image2D[]>;
  ref: Record<string, Image2D[]>;
}

function loadVolume(name: string): Volume {
  const dir = path.join(CACHE, 'eval', modality as string, name);
  const meta = readVolumeMeta(dir);
  const n = meta.rows * meta.columns;
  // PET is stored in Bq/ml; the filters and metrics work in SUVbw, as the card's evaluation does.
  const f = modality === 'PT' ? meta.suvFactor : 1;
  const spacing: [number, number] = [meta.spacing[1], meta.spacing[0]];
  const slices = (arr: Float32Array): Image2D[] =>
    meta.slices.map((_, s) => ({ rows: meta.rows, columns: meta.columns, pixelSpacing: spacing, data: arr.subarray(s * n, (s + 1) * n).map((v) => v * f) }));
  const low: Volume['low'] = {};
  const ref: Volume['ref'] = {};
  const clean = readF32(path.join(dir, 'clean.f32'));
  for (const d of meta.doses) {
    low[key(d)] = slices(readF32(path.join(dir, `low${key(d)}.f32`)));
    ref[key(d)] = slices(meta.arrays[`ref${key(d)}`] ? readF32(path.join(dir, `ref${key(d)}.f32`)) : clean);
  }
  return { name, dir, meta, low, ref };
}

const validation = split.validation.map(loadVolume);
const test = split.test.map(loadVolume);
const doses = validation[0]!.meta.doses;
const report: Record<string, unknown> = { modality, validation: split.validation, test: split.test, candidates: CANDIDATES, tuned: {} };
const tuned = report['tuned'] as Record<string, unknown>;

for (const d of doses) {
  const pairs: TuningPair[] = validation.flatMap((v) => v.low[key(d)]!.map((lowDose, i) => ({ lowDose, reference: v.ref[key(d)]![i]! })));
  const params = { modality } as const;
  const bilateral = tuneBilateralRange(pairs, CANDIDATES.bilateral, { params });
  const nlm = tuneNlmH(pairs, CANDIDATES.nlm, { params });
  tuned[String(d)] = { bilateral, nlm };
  console.error(`dose ${d}: bilateral rangeFactor ${bilateral.best}, nlm hFactor ${nlm.best} (validation)`);
  const settings = { bilateral: { rangeFactor: bilateral.best }, nlm: { hFactor: nlm.best } };
  for (const v of [...validation, ...test]) {
    for (const method of ['bilateral', 'nlm'] as const) {
      const n = v.meta.rows * v.meta.columns;
      const out = new Float32Array(n * v.meta.slices.length);
      const f = modality === 'PT' ? v.meta.suvFactor : 1;
      v.low[key(d)]!.forEach((image, s) => {
        const { data } = classicalDenoise(method, image, { modality, ...settings[method] });
        // Back to the stored units (Bq/ml for PET) so evaluate.py reads it like the low-dose arrays.
        for (let i = 0; i < n; i++) out[s * n + i] = data[i]! / f;
      });
      writeFileSync(path.join(v.dir, `${method}${key(d)}.f32`), Buffer.from(out.buffer));
    }
  }
}
writeFileSync(path.join(CACHE, 'eval', modality, 'classical.json'), JSON.stringify(report, null, 1) + '\n');
console.error(`wrote ${path.join('.cache/eval', modality, 'classical.json')} and <volume>/{bilateral,nlm}<dose>.f32`);
