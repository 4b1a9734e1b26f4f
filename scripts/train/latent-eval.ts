/**
 * Pixel against latent, through the toolkit (docs/latent.md): each card runs through `Denoiser`
 * (the code `lowdose denoise` runs, CPU, seed 0, slice index = its noise key) at several step
 * counts, on the held-out simulated test volumes (.cache/eval/CT, scripts/train/export-dataset.ts
 * ct-eval) and on the real quarter-dose slices of the validation patient L192 (../shared/ldct-mayo),
 * scored as scripts/evaluate/real-pairs.ts scores them: PSNR / SSIM in [-1000, 1000] HU and the
 * abdomen window, the no-reference soft-tissue noise estimate, SD and bias in soft-tissue ROIs placed
 * on the reference. Wall time per slice is the median of the single-slice calls.
 *
 *   npx tsx scripts/train/latent-eval.ts --card models/lowdose-ct-latent.json \
 *     --card .cache/candidates/lowdose-ct-pixel-budget.json --steps 1,2,4,8 --per-volume 2 --threads 1 \
 *     --out docs/experiments/latent-eval.json
 *   ... --strength 0.02      # another warm-start strength than the card's
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Image2D } from '../../src/image.js';
import { Denoiser } from '../../src/models/denoiser.js';
import { findGroups, loadGroup } from '../evaluate/real-pairs/data.js';
import { placeRois, scoreSlice, scoringMasks, summarize, type PlacedRoi, type ScoringMasks, type SliceScore } from '../evaluate/real-pairs/score.js';
import { CACHE, doseKey, readF32, readVolumeMeta, REPO } from './cache-files.js';

const TEST = ['lungdx-a0001-chest-kernelB', 'lungdx-a0001-chest-kernelL', 'crlm-1006-abdomen'];
const DOSES = [0.25, 0.1];

function args(): { cards: string[]; steps: number[]; perVolume: number; threads: number; out: string | null; realGroups: string[]; strength: number | null } {
  const argv = process.argv.slice(2);
  const all = (name: string) => argv.flatMap((a, i) => (a === name && argv[i + 1] ? [argv[i + 1]!] : []));
  const one = (name: string, fallback: string) => all(name).at(-1) ?? fallback;
  const cards = all('--card');
  if (cards.length === 0) throw new Error('usage: latent-eval.ts --card <card.json> [--card ...] [--steps 1,2,4,8] [--per-volume 2] [--threads 1] [--real L192/B30f,L192/D45f] [--out file.json]');
  return {
    cards,
    steps: one('--steps', '1,2,4,8').split(',').map(Number),
    perVolume: Number(one('--per-volume', '2')),
    threads: Number(one('--threads', '1')),
    out: all('--out').at(-1) ?? null,
    realGroups: one('--real', 'L192/B30f,L192/D45f').split(','),
    strength: all('--strength').length > 0 ? Number(one('--strength', '')) : null,
  };
}

interface Case {
  readonly group: string;
  readonly index: number;
  readonly input: Float32Array;
  readonly reference: Image2D;
  /** The field and the patient outline in it, computed once per slice (scoreSlice's masks). */
  readonly masks: ScoringMasks;
  readonly rois: readonly PlacedRoi[];
  readonly dose: number;
}

async function cases(perVolume: number, realGroups: readonly string[]): Promise<Case[]> {
  const out: Case[] = [];
  for (const vol of TEST) {
    const dir = path.join(CACHE, 'eval', 'CT', vol);
    const meta = readVolumeMeta(dir);
    const image = meta.rows * meta.columns;
    const clean = readF32(path.join(dir, 'clean.f32'));
    const S = meta.slices.length;
    const pick = Array.from(new Set(Array.from({ length: perVolume }, (_, i) => Math.floor(((i + 0.5) * S) / perVolume))));
    for (const d of DOSES) {
      const low = readF32(path.join(dir, `low${doseKey(d)}.f32`));
      for (const s of pick) {
        const reference: Image2D = { rows: meta.rows, columns: meta.columns, data: clean.subarray(s * image, (s + 1) * image), pixelSpacing: [meta.spacing[0]!, meta.spacing[1]!] };
        // The exported volumes have no out-of-field fill inside the slice: every pixel counts.
        const valid = new Uint8Array(image).fill(1);
        out.push({ group: `${vol} ${Math.round(d * 100)} %`, index: meta.slices[s]!, input: low.subarray(s * image, (s + 1) * image), reference, masks: scoringMasks(reference, valid), rois: placeRois(reference, valid), dose: d });
      }
    }
  }
  const root = path.join(REPO, '..', 'shared', 'ldct-mayo');
  for (const id of findGroups(root).filter((g) => realGroups.includes(`${g.patient}/${g.kernel}`))) {
    const group = await loadGroup(root, id);
    for (const pair of group.pairs) {
      out.push({ group: `${id.patient}/${id.kernel} real 25 %`, index: pair.index, input: pair.quarter.data, reference: pair.full, masks: scoringMasks(pair.full, pair.valid), rois: placeRois(pair.full, pair.valid), dose: 0.25 });
    }
  }
  return out;
}

const a = args();
const all = await cases(a.perVolume, a.realGroups);
const groups = [...new Set(all.map((c) => c.group))];
const result: Record<string, unknown> = {
  command: `npx tsx scripts/train/latent-eval.ts ${process.argv.slice(2).join(' ')}`,
  device: 'cpu',
  threads: a.threads,
  note: 'seed 0; dose given to the model (simulated: its dose; real: 0.25); consistency off; PSNR / SSIM mean over slices',
  models: {},
};
const inputScores = new Map<string, SliceScore[]>();
for (const c of all) inputScores.set(c.group, [...(inputScores.get(c.group) ?? []), scoreSlice(c.input, c.reference, c.masks, c.rois)]);
result['input'] = Object.fromEntries(groups.map((g) => [g, summarize(inputScores.get(g)!, all.filter((c) => c.group === g).map((c) => c.rois))]));

for (const card of a.cards) {
  const base = await Denoiser.load(card, { device: 'cpu', threads: a.threads, consistency: 0, ...(a.strength !== null ? { samplerSettings: { strength: a.strength } } : {}) });
  const perSteps: Record<string, unknown> = {};
  for (const steps of a.steps) {
    const denoiser = base.with({ steps });
    const scores = new Map<string, SliceScore[]>();
    const ms: number[] = [];
    for (const c of all) {
      const t0 = performance.now();
      const out = await denoiser.denoise([{ index: c.index, image: c.input, doseLevel: c.dose }], { rows: c.reference.rows, columns: c.reference.columns, pixelSpacing: c.reference.pixelSpacing });
      ms.push(performance.now() - t0);
      scores.set(c.group, [...(scores.get(c.group) ?? []), scoreSlice(out.denoised[0]!, c.reference, c.masks, c.rois)]);
    }
    ms.sort((x, y) => x - y);
    perSteps[String(steps)] = {
      msPerSliceMedian: Math.round(ms[Math.floor(ms.length / 2)]!),
      groups: Object.fromEntries(groups.map((g) => [g, summarize(scores.get(g)!, all.filter((c) => c.group === g).map((c) => c.rois))])),
    };
    process.stderr.write(`${base.card.name} steps ${steps}: ${JSON.stringify(perSteps[String(steps)])}\n`);
  }
  const label = a.strength !== null ? `${base.card.name} (strength ${a.strength})` : base.card.name;
  (result['models'] as Record<string, unknown>)[label] = {
    card: path.relative(REPO, path.resolve(card)),
    space: base.card.space ?? 'pixel',
    sampler: { ...base.card.sampler, ...(a.strength !== null ? { strength: a.strength } : {}) },
    steps: perSteps,
  };
  await base.release();
}
const text = JSON.stringify(result, null, 1);
if (a.out) writeFileSync(a.out, `${text}\n`);
console.log(text);
