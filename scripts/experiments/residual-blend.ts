/**
 * Does adding back a share of the input close the missed SSIM column? The oracle posterior mean of
 * `ssim-ceiling.ts` is truth + w (input − truth): it keeps the share w of the reference's noise that
 * the quarter-dose input carries, which SSIM's structure term rewards. With the model's output D in
 * place of the unknown truth that is D + w (q − D) (every frequency), or D + w HP_σ(q − D) (only
 * above a Gaussian of σ px, where the model removes the most noise). A network trained with MSE and
 * SSIM against a reference that shares the input's noise has already learned whatever share pays,
 * so the expectation is that w = 0 scores best; this measures it on the real pairs, each slice
 * denoised once by the shipped card, scored as `scripts/evaluate/real-pairs.ts` scores (field mask,
 * both windows, over the field and in the patient outline). w would be chosen on L143 (training)
 * and reported on L192 (validation).
 *
 *   npx tsx scripts/experiments/residual-blend.ts [--threads 1] [--out docs/experiments/ssim/residual-blend.json]
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { gaussianFilter } from '../../src/filters/gaussian.js';
import type { Image2D } from '../../src/image.js';
import { createSliceDenoiser } from '../../src/pipeline/slice-denoiser.js';
import { findGroups, groupKey, loadGroup } from '../evaluate/real-pairs/data.js';
import { cardDefaultOptions, denoiseGroup } from '../evaluate/real-pairs/model.js';
import { placeRois, scoreSlice, scoringMasks, WINDOW_NAMES, type WindowName } from '../evaluate/real-pairs/score.js';
import { optionReader } from './cli-args.js';
import { ROOT } from './figures.js';

const args = process.argv.slice(2);
const opt = optionReader(args);
const OUT = path.resolve(ROOT, opt('out', 'docs/experiments/ssim/residual-blend.json'));
const THREADS = opt('threads', '1');
const DATA = path.resolve(ROOT, '../shared/ldct-mayo');
const CARD = path.join(ROOT, 'models/lowdose-ct.json');

type Blend = (input: Image2D, denoised: Float32Array) => Float32Array;
const allFrequencies = (w: number): Blend => (q, d) => d.map((v, i) => v + w * (q.data[i]! - v));
const aboveGaussian = (sigmaPx: number, w: number): Blend => (q, d) => {
  const residual = q.data.map((v, i) => v - d[i]!);
  const low = gaussianFilter({ ...q, data: residual }, { sigmaPx }).data;
  return d.map((v, i) => v + w * (residual[i]! - low[i]!));
};
const BLENDS: Record<string, Blend> = { 'model (w 0)': (_q, d) => d };
for (const w of [0.05, 0.1, 0.15, 0.2, 0.3]) BLENDS[`all frequencies, w ${w}`] = allFrequencies(w);
for (const s of [0.7, 1.5]) for (const w of [0.1, 0.2, 0.3]) BLENDS[`above a ${s} px Gaussian, w ${w}`] = aboveGaussian(s, w);

const denoiser = await createSliceDenoiser('CT', cardDefaultOptions(CARD, Number(THREADS)), () => {});

type Scores = Record<WindowName, number>;
const results: Record<string, Record<string, { psnr: Scores; ssim: Scores }>> = {};
try {
  for (const id of findGroups(DATA)) {
    const group = await loadGroup(DATA, id);
    const key = groupKey(group);
    const outputs = await denoiseGroup(denoiser, group);
    const sums: Record<string, { psnr: Scores; ssim: Scores }> = {};
    for (const [k, pair] of group.pairs.entries()) {
      const denoised = outputs[k]!;
      const masks = scoringMasks(pair.full, pair.valid);
      const rois = placeRois(pair.full, pair.valid);
      for (const [name, blend] of Object.entries(BLENDS)) {
        const s = scoreSlice(blend(pair.quarter, denoised), pair.full, masks, rois);
        const acc = (sums[name] ??= { psnr: zero(), ssim: zero() });
        for (const w of WINDOW_NAMES) {
          acc.psnr[w] += s.psnr[w] / group.pairs.length;
          acc.ssim[w] += s.ssim[w] / group.pairs.length;
        }
      }
    }
    results[key] = sums;
    for (const [name, s] of Object.entries(sums)) {
      process.stderr.write(`${key}\t${name}\t${WINDOW_NAMES.map((w) => `${s.psnr[w].toFixed(2)} / ${s.ssim[w].toFixed(4)}`).join('\t')}\n`);
    }
  }
} finally {
  await denoiser.release();
}

const round = (v: number, digits: number) => Number(v.toFixed(digits));
const rounded = Object.fromEntries(
  Object.entries(results).map(([key, rows]) => [
    key,
    Object.fromEntries(
      Object.entries(rows).map(([name, s]) => [
        name,
        {
          psnr: Object.fromEntries(WINDOW_NAMES.map((w) => [w, round(s.psnr[w], 2)])),
          ssim: Object.fromEntries(WINDOW_NAMES.map((w) => [w, round(s.ssim[w], 4)])),
        },
      ]),
    ),
  ]),
);
writeFileSync(
  OUT,
  JSON.stringify({ command: `npx tsx scripts/experiments/residual-blend.ts ${args.join(' ')}`.trim(), card: path.relative(ROOT, CARD), windows: WINDOW_NAMES, groups: rounded }, null, 1) + '\n',
);
process.stderr.write(`wrote ${path.relative(ROOT, OUT)}\n`);

function zero(): Scores {
  return Object.fromEntries(WINDOW_NAMES.map((w) => [w, 0])) as Scores;
}
