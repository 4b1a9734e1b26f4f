/**
 * Settings of the measurement-consistency step per count level, tried offline on IEC phantom
 * realisations (models/README.md, "PET: measurement consistency"). The network runs once per
 * realisation and dose with consistency off (`lowdose-pet` samples 1 DDIM step, so its output is
 * x̂₀; cached in .cache/eval/count-level/) and each setting is applied to x̂₀ with the shipped
 * `consistencyStep`, told the dose as `lowdose qa` tells it, then scored with `lesionStats` and QA's
 * pooled background SD, as scripts/experiments/consistency-variants.ts does (whose `base 4.5 mm`
 * row reproduces `lowdose qa`'s numbers exactly).
 *
 *   npx tsx scripts/experiments/consistency-count-level.ts --realisations 0-4,20-39 [--threads 1] [--json out.json]
 *   npx tsx scripts/experiments/consistency-count-level.ts --realisations 0-4,20-39 --set low-count   # the lowCount grid
 *   npx tsx scripts/experiments/consistency-count-level.ts --realisations 5-19 --main    # only the earlier and current defaults
 *   npx tsx scripts/experiments/consistency-count-level.ts --realisations 0-4 --size 75 --main   # 4.67 mm pixels
 *   npx tsx scripts/experiments/consistency-count-level.ts --realisations 0-4,20-39 --set average   # averaging scale, region fits
 *   npx tsx scripts/experiments/consistency-count-level.ts --realisations 5-19 --set average-chosen   # its choice on test
 *   npx tsx scripts/experiments/consistency-count-level.ts --realisations 0-4,20-39 --set low-count-threshold   # the region mean's own k
 *   npx tsx scripts/experiments/consistency-count-level.ts --realisations 0-4,20-39 --main --card <candidate card>   # another network
 *   npx tsx scripts/experiments/consistency-count-level.ts --realisations 0-4,20-39 --set large-regions   # region mean in large regions
 *
 * Realisation k is the committed fixture (k = 0) or .cache/eval/consistency/fixtures-iec-<100+k>
 * (`npx tsx scripts/make-fixtures.ts iec --seed <100+k> --out <that dir>`). With `--size N` the
 * phantom is rasterised on N x N pixels over the same 350 mm field instead of 128 x 128 (75: 4.67 mm
 * pixels, sts-001's 4.69 mm): .cache/eval/consistency/fixtures-iec-<seed>-<N>px, seed 14 for k = 0
 * (`npx tsx scripts/make-fixtures.ts iec --seed <seed> --size N --out <that dir>`).
 *
 * Besides the settings it prints two reference rows per dose:
 * - `noise-free full count`: the mean of the full-count reconstructions of every realisation
 *   listed (the phantom is the same in each; only the events differ), scored against each
 *   realisation's own full-count image. It is what a perfect denoiser would return, and its SUVmax
 *   bias is how much of the reference's SUVmax is the reference's own noise.
 * - non-local means at several h factors (the toolkit's `classicalDenoise`), the curve the
 *   model's background SD is compared with at equal SUVmean bias.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  consistencyInPixels,
  consistencyStep,
  describeConsistency,
  resolveConsistency,
  type ConsistencyCardField,
  type ConsistencySettings,
} from '../../src/diffusion/consistency.js';
import { classicalDenoise } from '../../src/filters/denoise.js';
import { psnrOfClipped } from '../../src/metrics/psnr.js';
import { pooledNoise } from '../../src/qa/checks/noise.js';
import { readStack } from '../../src/qa/fixtures.js';
import { uniformRois } from '../../src/qa/regions.js';
import type { QaCase, SliceStack } from '../../src/qa/types.js';
import { indexRanges, optionReader } from './cli-args.js';
import { sphereBiases, type Sphere } from './iec-spheres.js';
import { networkOutputCache } from './network-output-cache.js';
import { makeDirectoriesSync } from '../../src/util/fs.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const opt = optionReader(args);
/** `--card <file>`: a candidate PET card (its network's outputs cached apart from the shipped one's). */
const CARD = path.resolve(opt('card', path.join(REPO, 'models/lowdose-pet.json')));
const SHIPPED = CARD === path.join(REPO, 'models/lowdose-pet.json');
const CACHE = path.join(REPO, '.cache/eval/count-level', ...(SHIPPED ? [] : [path.basename(CARD, '.json')]));
const REALISATIONS = indexRanges(opt('realisations', '0-4'));
const THREADS = Number(opt('threads', '1'));
const DOSES = [0.25, 0.1];
const SIZE = opt('size', '');
/** NLM's h factors: the curve of its background SD against its SUVmean bias, dense enough to interpolate at the model's bias. */
const NLM_H = [0.5, 0.75, 1, 1.25, 1.5, 1.75, 2, 2.5, 3];

const shipped = { strength: 1, scaleMm: 4.5, threshold: 1 } as const;
const low = (belowDose: number, averageMm: number, interiorMm: number, passes: number) => ({ belowDose, averageMm, interiorMm, passes });
/** Each row: the card's `sampler.consistency`. */
const shippedNow = { strength: 1, scaleMm: 4.5, threshold: 0.85, bilateral: { spatialMm: 5, rangeFactor: 6 } } as const;
/** The card's own setting, whatever it is now (the row every table of the card's default comes from). */
const cardRaw = JSON.parse(readFileSync(CARD, 'utf8')) as { sampler: { consistency?: ConsistencyCardField } };
const cardNow = resolveConsistency(cardRaw.sampler.consistency);
if (!cardNow) throw new Error(`${CARD}: consistency is off`);
const MAIN: Record<string, ConsistencySettings> = {
  'earlier default (4.5 mm, k 1)': shipped,
  'bilateral 5 mm / 6 SD, then 4.5 mm, k 0.85 (one setting at every dose)': shippedNow,
  [`card now: ${describeConsistency(cardNow)}`]: cardNow,
};
/**
 * `--set low-count`: the region-mean step below a declared dose of 0.16 (`--below-dose`) on top of
 * the bilateral default, over its three knobs. 25 % counts are the same in every row (the step is
 * not used there) unless `--below-dose` is above 0.25.
 */
const BELOW = Number(opt('below-dose', '0.16'));
const LOW_COUNT: Record<string, ConsistencySettings> = { 'bilateral 5 mm / 6 SD, then 4.5 mm, k 0.85': shippedNow };
for (const averageMm of [4, 5, 6]) {
  for (const interiorMm of [3, 4, 5]) {
    for (const passes of [2, 3, 5]) LOW_COUNT[`+ lowCount ${averageMm} / ${interiorMm} mm x${passes}`] = { ...shippedNow, lowCount: low(BELOW, averageMm, interiorMm, passes) };
  }
}
/**
 * `--set voxel`: what the step's scales and iterations do when pixels are coarse (run it with
 * `--size 75`, sts-001's pixel size), each from the bilateral default.
 */
const VOXEL: Record<string, ConsistencySettings> = {
  'bilateral 5 mm / 6 SD, then 4.5 mm, k 0.85': shippedNow,
  'no bilateral, 4.5 mm, k 0.85': { strength: 1, scaleMm: 4.5, threshold: 0.85 },
  'bilateral 3 mm / 6 SD, then 4.5 mm, k 0.85': { ...shippedNow, bilateral: { spatialMm: 3, rangeFactor: 6 } },
  'bilateral, then 3.5 mm, k 0.85': { ...shippedNow, scaleMm: 3.5 },
  'bilateral, then 3 mm, k 0.85': { ...shippedNow, scaleMm: 3 },
  'bilateral, then 4.5 mm, k 0.85, 16 iterations': { ...shippedNow, iterations: 16 },
  'bilateral, then 4.5 mm, k 0.85, 32 iterations': { ...shippedNow, iterations: 32 },
  'bilateral, then 3.5 mm, k 0.85, 16 iterations': { ...shippedNow, scaleMm: 3.5, iterations: 16 },
};
/**
 * `--set average`: the region-mean step's averaging scale, passes and interior smoothing around
 * 6 mm x5 (the card's until models/eval/consistency-pet-average.md chose 7 mm x5 here): whether a
 * smoother restore keeps SUVmean without the SUVmax overshoot on sts-001's coarser pixels. (Two more
 * rows, one G-weighted constant or factor per connected detected region, ran with the `lowCount.fit`
 * of the commit "Experiment: lowCount.fit 'offset' / 'scale'", which lost and was reverted.)
 */
const lowWith = (averageMm: number, interiorMm: number, passes: number): ConsistencySettings => ({ ...shippedNow, lowCount: low(BELOW, averageMm, interiorMm, passes) });
const AVERAGE: Record<string, ConsistencySettings> = {
  'bilateral 5 mm / 6 SD, then 4.5 mm, k 0.85': shippedNow,
  ...Object.fromEntries(
    (
      [
        [6, 4, 5],
        [7, 4, 5],
        [8, 4, 5],
        [9, 4, 5],
        [10, 4, 5],
        [7, 4, 8],
        [8, 4, 8],
        [8, 4, 3],
        [8, 0, 5],
        [8, 6, 5],
      ] as const
    ).map(([a, i, p]) => [`+ lowCount ${a} / ${i} mm x${p}`, lowWith(a, i, p)]),
  ),
};
/** `--set average-chosen`: the row chosen on validation beside the one it would replace, for the test realisations. */
const AVERAGE_CHOSEN: Record<string, ConsistencySettings> = {
  'bilateral 5 mm / 6 SD, then 4.5 mm, k 0.85': shippedNow,
  '+ lowCount 6 / 4 mm x5': lowWith(6, 4, 5),
  '+ lowCount 7 / 4 mm x5': lowWith(7, 4, 5),
};
/**
 * `--set low-count-threshold`: the card's region mean with its own detection threshold
 * (`lowCount.threshold`; absent, the band step's k 0.85 also decides what the region mean corrects),
 * at the card's 7 mm averaging and at 6 and 8 mm: whether detecting fainter disagreements at low
 * counts takes the lesions' SUVmean back (it does not: the detected region then takes in background,
 * whose residual dilutes the lesion's average), or a stricter k that keeps the region to the lesion.
 */
const LOW_COUNT_THRESHOLD: Record<string, ConsistencySettings> = { [`card now: ${describeConsistency(cardNow)}`]: cardNow };
for (const averageMm of [6, 7, 8]) {
  for (const threshold of averageMm === 6 ? [1, 1.2, 1.5, 2] : [0.7, 0.55, 0.4, 0.25, 0, 1, 1.2, 1.5, 2]) {
    LOW_COUNT_THRESHOLD[`+ lowCount ${averageMm} / 4 mm x5, k ${threshold}`] = { ...shippedNow, lowCount: { ...low(BELOW, averageMm, 4, 5), threshold } };
  }
}
/**
 * `--set band-k`: the card's setting with the band step's k raised (25 % counts and an unknown dose;
 * 10 % keeps the region mean, whose detection uses the same k unless `lowCount.threshold` is set):
 * for a network whose own output is smoother (models/eval/pet-independent-target.md), whether a
 * stricter detection keeps its lower background.
 */
const BAND_K: Record<string, ConsistencySettings> = { [`card now: ${describeConsistency(cardNow)}`]: cardNow };
for (const threshold of [1, 1.2, 1.5, 2]) BAND_K[`card, band k ${threshold} (region mean k 0.85)`] = { ...cardNow, threshold, ...(cardNow.lowCount ? { lowCount: { ...cardNow.lowCount, threshold: cardNow.threshold } } : {}) };
/**
 * `--set pilot`: the card's setting, then the measured-pixel average weighted by the estimate's
 * patches (`pilot`, src/diffusion/consistency.ts) over patch, search window, h and mix;
 * models/eval/consistency-pet-pilot.md.
 */
const PILOT: Record<string, ConsistencySettings> = { [`card now: ${describeConsistency(cardNow)}`]: cardNow };
/** `--pilot "patchMm,searchMm,h,mix[,one|max[,exp|bisquare[,outside|all[,band]]]];..."`: the rows of `--set pilot` (default: the grid below). */
const pilotRows = opt('pilot', '')
  ? opt('pilot', '').split(';').map((row) => row.split(','))
  : [4, 8].flatMap((p) => [25, 40].flatMap((s) => [0.5, 1, 2].flatMap((h) => [1, 0.5].map((m) => [p, s, h, m].map(String)))));
/** `--pilot-from D`: every row's `fromDose` (the card's lowCount dose, 0.16, keeps 10 % as the card has it). */
const PILOT_FROM = opt('pilot-from', '') ? { fromDose: Number(opt('pilot-from', '')) } : {};
for (const [patchMm, searchMm, h, mix, self, kernelText, outside, guideText] of pilotRows) {
  const selfWeight = self === 'one' ? 'one' : 'max';
  const kernel = kernelText === 'bisquare' ? 'bisquare' : 'exp';
  const outsideDetected = outside === 'outside';
  const guide = guideText === 'band' ? 'estimate+band' : 'estimate';
  PILOT[`+ pilot patch ${patchMm} / search ${searchMm} mm, h ${h}, mix ${mix}, self ${selfWeight}, ${kernel}${outsideDetected ? ', outside detected' : ''}${guide === 'estimate' ? '' : ', guide estimate + band'}`] = {
    ...cardNow,
    pilot: { patchMm: Number(patchMm), searchMm: Number(searchMm), h: Number(h), mix: Number(mix), selfWeight, kernel, outsideDetected, guide, ...PILOT_FROM },
  };
}
/**
 * `--set large-regions`: the card's setting plus the region mean inside large detected regions
 * where the band step runs (`largeRegions`: 25 % counts and an unknown dose), over the radius that
 * measures a region's size and the level where the blend starts, the averaging the card's
 * low-count one (models/eval/consistency-pet-large-regions.md; its rule was written first).
 */
const LARGE_REGIONS: Record<string, ConsistencySettings> = { [`card now: ${describeConsistency(cardNow)}`]: cardNow };
for (const radiusMm of [4, 6, 8]) {
  for (const level of [0, 0.15, 0.3, 0.5]) {
    LARGE_REGIONS[`+ largeRegions ${radiusMm} mm from ${level}`] = { ...cardNow, largeRegions: { radiusMm, level, averageMm: 7, interiorMm: 4, passes: 5 } };
  }
}
const SET = args.includes('--main') ? 'main' : opt('set', 'explore');
const SETTINGS: Record<string, ConsistencySettings> =
  SET === 'main'
    ? MAIN
    : SET === 'low-count'
      ? LOW_COUNT
      : SET === 'voxel'
        ? VOXEL
      : SET === 'average'
        ? AVERAGE
      : SET === 'average-chosen'
        ? AVERAGE_CHOSEN
      : SET === 'pilot'
        ? PILOT
      : SET === 'low-count-threshold'
        ? LOW_COUNT_THRESHOLD
      : SET === 'band-k'
        ? BAND_K
      : SET === 'large-regions'
        ? LARGE_REGIONS
      : {
          'default (4.5 mm, k 1)': shipped,
          'lowCount 6 / 6 mm x3 (README candidate)': { ...shipped, lowCount: low(0.16, 6, 6, 3) },
          'lowCount 6 / 5 mm x3': { ...shipped, lowCount: low(0.16, 6, 5, 3) },
          'lowCount 6 / 4 mm x3': { ...shipped, lowCount: low(0.16, 6, 4, 3) },
        };

type Custom = (x0: Float32Array, y: Float32Array, rows: number, columns: number, spacing: readonly [number, number], dose: number) => Float32Array;
/** The network's output bilateral-filtered (edge-preserving: flattens its lumpy hot interiors), then a card's step. */
function bilateralFirst(spatialMm: number, rangeFactor: number, settings: ConsistencySettings): Custom {
  return (x0, y, rows, columns, spacing, dose) => {
    const xb = classicalDenoise('bilateral', { rows, columns, pixelSpacing: spacing as [number, number], data: x0 }, { modality: 'PT', sigmaSpatialMm: spatialMm, rangeFactor }).data;
    return consistencyStep(xb, y, rows, columns, consistencyInPixels(settings, spacing), undefined, dose);
  };
}
const CUSTOM: Record<string, Custom> = {
  'bilateral 4 mm rf 4, then default': bilateralFirst(4, 4, shipped),
  'bilateral 4 mm rf 4, then k 0.75': bilateralFirst(4, 4, { ...shipped, threshold: 0.75 }),
  'bilateral 4 mm rf 4, then k 0.85': bilateralFirst(4, 4, { ...shipped, threshold: 0.85 }),
  'bilateral 5 mm rf 4, then k 0.75': bilateralFirst(5, 4, { ...shipped, threshold: 0.75 }),
  'bilateral 5 mm rf 6, then k 0.75': bilateralFirst(5, 6, { ...shipped, threshold: 0.75 }),
  'bilateral 4 mm rf 6, then k 0.75': bilateralFirst(4, 6, { ...shipped, threshold: 0.75 }),
  'bilateral 5 mm rf 6, then k 0.85': bilateralFirst(5, 6, { ...shipped, threshold: 0.85 }),
  'bilateral 4 mm rf 4, then k 0.75, lowCount 6 / 4 mm x3': bilateralFirst(4, 4, { ...shipped, threshold: 0.75, lowCount: low(0.16, 6, 4, 3) }),
  'bilateral 4 mm rf 4, then k 0.75, lowCount 6 / 3 mm x3': bilateralFirst(4, 4, { ...shipped, threshold: 0.75, lowCount: low(0.16, 6, 3, 3) }),
  'bilateral 4 mm rf 4, then k 0.75, lowCount 5 / 4 mm x3': bilateralFirst(4, 4, { ...shipped, threshold: 0.75, lowCount: low(0.16, 5, 4, 3) }),
  'bilateral 5 mm rf 6, then k 0.75, lowCount 6 / 4 mm x3': bilateralFirst(5, 6, { ...shipped, threshold: 0.75, lowCount: low(0.16, 6, 4, 3) }),
  'bilateral 5 mm rf 6, then k 0.8': bilateralFirst(5, 6, { ...shipped, threshold: 0.8 }),
  'bilateral 3 mm rf 4, then k 0.9': bilateralFirst(3, 4, { ...shipped, threshold: 0.9 }),
  'default, then bilateral 4 mm rf 4 (smoothing after the step)': (x0, y, rows, columns, spacing, dose) => {
    const z = consistencyStep(x0, y, rows, columns, consistencyInPixels(shipped, spacing), undefined, dose);
    return classicalDenoise('bilateral', { rows, columns, pixelSpacing: spacing as [number, number], data: z }, { modality: 'PT', sigmaSpatialMm: 4, rangeFactor: 4 }).data;
  },
};


interface Scored { mean: Record<number, number>; max: Record<number, number>; peak: Record<number, number>; noise: number; inputNoise: number; psnr: number }

function fixturesFor(k: number): string {
  const seed = k === 0 ? 14 : 100 + k;
  const dir = SIZE
    ? path.join(REPO, '.cache/eval/consistency', `fixtures-iec-${seed}-${SIZE}px`)
    : k === 0
      ? path.join(REPO, 'fixtures')
      : path.join(REPO, '.cache/eval/consistency', `fixtures-iec-${seed}`);
  if (!existsSync(path.join(dir, 'iec', 'fixture.json'))) throw new Error(`${dir}: make it with scripts/make-fixtures.ts iec --seed ${seed}${SIZE ? ` --size ${SIZE}` : ''} --out ${dir}`);
  return path.join(dir, 'iec');
}

const withData = (stack: SliceStack, data: readonly Float32Array[]): SliceStack => ({ ...stack, slices: stack.slices.map((s, i) => ({ ...s, data: data[i]! })) });

function score(out: SliceStack, full: SliceStack, spheres: readonly Sphere[], rois: ReturnType<typeof uniformRois>, inputNoise: number): Scored {
  const { mean, max, peak } = sphereBiases(out, full, spheres);
  // PSNR over every pixel of the stack against the full-count image, its range from 0 to the full-count maximum.
  const ref = full.slices.flatMap((s) => Array.from(s.data));
  const test = out.slices.flatMap((s) => Array.from(s.data));
  const range = ref.reduce((m, v) => Math.max(m, v), 0);
  return { mean, max, peak, noise: pooledNoise(out, rois), inputNoise, psnr: psnrOfClipped(ref, test, range) };
}

makeDirectoriesSync(CACHE);
const network = networkOutputCache(CARD, CACHE, THREADS);
const networkOutput = (k: number, dose: number, lowStack: SliceStack) => network.outputs(`x0-${k}-${dose}${SIZE ? `-${SIZE}px` : ''}`, lowStack, dose);

const rows: Array<{ row: string; dose: number; k: number } & Scored> = [];
const fulls: SliceStack[] = [];
let spheres: Sphere[] = [];
let geometry: unknown = null;
for (const k of REALISATIONS) {
  const dir = fixturesFor(k);
  const fixture = JSON.parse(readFileSync(path.join(dir, 'fixture.json'), 'utf8')) as { geometry: { spheres: Sphere[] } };
  spheres = fixture.geometry.spheres;
  geometry = fixture.geometry;
  const full = await readStack(path.join(dir, 'dose100'));
  fulls.push(full);
  for (const dose of DOSES) {
    const lowStack = await readStack(path.join(dir, `dose${Math.round(dose * 100)}`));
    const rois = uniformRois({ phantom: 'iec', geometry: fixture.geometry, low: lowStack } as unknown as QaCase);
    const inputNoise = pooledNoise(lowStack, rois);
    rows.push({ row: 'low-count input', dose, k, ...score(lowStack, full, spheres, rois, inputNoise) });
    for (const h of NLM_H) {
      const out = lowStack.slices.map((s) => classicalDenoise('nlm', { rows: s.rows, columns: s.columns, pixelSpacing: s.pixelSpacing, data: s.data }, { modality: 'PT', hFactor: h }).data);
      rows.push({ row: `nlm h ${h} x noise SD`, dose, k, ...score(withData(lowStack, out), full, spheres, rois, inputNoise) });
    }
    const x0 = await networkOutput(k, dose, lowStack);
    rows.push({ row: 'model, consistency off', dose, k, ...score(withData(lowStack, x0), full, spheres, rois, inputNoise) });
    for (const [name, settings] of Object.entries(SETTINGS)) {
      const out = lowStack.slices.map((s, i) => consistencyStep(x0[i]!, s.data, s.rows, s.columns, consistencyInPixels(settings, s.pixelSpacing), undefined, dose));
      rows.push({ row: name, dose, k, ...score(withData(lowStack, out), full, spheres, rois, inputNoise) });
    }
    for (const [name, f] of Object.entries(SET === 'explore' ? CUSTOM : {})) {
      const out = lowStack.slices.map((s, i) => f(x0[i]!, s.data, s.rows, s.columns, s.pixelSpacing, dose));
      rows.push({ row: name, dose, k, ...score(withData(lowStack, out), full, spheres, rois, inputNoise) });
    }
  }
  process.stderr.write(`realisation ${k} done\n`);
}
await network.release();

// The noise-free full-count image: the mean of the realisations' full-count reconstructions.
const mean = fulls[0]!.slices.map((s, i) => {
  const m = new Float32Array(s.data.length);
  for (const f of fulls) for (let j = 0; j < m.length; j++) m[j]! += f.slices[i]!.data[j]! / fulls.length;
  return m;
});
REALISATIONS.forEach((k, idx) => {
  const full = fulls[idx]!;
  const rois = uniformRois({ phantom: 'iec', geometry, low: full } as unknown as QaCase);
  for (const dose of DOSES) {
    const inputNoise = rows.find((r) => r.row === 'low-count input' && r.k === k && r.dose === dose)!.inputNoise;
    rows.push({ row: `noise-free full count (mean of ${fulls.length})`, dose, k, ...score(withData(full, mean), full, spheres, rois, inputNoise) });
    rows.push({ row: 'full count itself', dose, k, ...score(full, full, spheres, rois, inputNoise) });
  }
});

const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: number[]) => Math.sqrt(avg(xs.map((x) => (x - avg(xs)) ** 2)));
const pct = (x: number) => (100 * x).toFixed(1);
const big = [17, 22, 28, 37];
const names = [...new Set(rows.map((r) => r.row))];
const rowTables: Array<() => void> = [];
console.log(`<!-- generated by \`npx tsx scripts/experiments/consistency-count-level.ts ${args.join(' ')}\` -->`);
for (const dose of DOSES) {
  console.log(`\nIEC, ${dose * 100} % counts, realisations ${opt('realisations', '0-4')} (${REALISATIONS.length}), bias against the full-count reconstruction of the same events, % (mean; worst: of the means, SD of the worst sphere per realisation in brackets)\n`);
  console.log('| row | background SD (reduction) | NLM\'s SD at the same worst SUVmean bias | SUVmean 10 / 13 / 17 / 22 / 28 / 37 mm | worst SUVmean >= 17 mm | SUVmax 10 / 13 / 17 / 22 / 28 / 37 mm | worst SUVmax >= 17 mm | SUVpeak 17 / 22 / 28 / 37 mm | PSNR vs full count (dB) |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  // NLM's (worst |SUVmean bias|, background SD) over its h factors: the curve a row is compared with.
  const curve = NLM_H.map((h) => {
    const r = rows.filter((x) => x.row === `nlm h ${h} x noise SD` && x.dose === dose);
    return { bias: Math.max(...big.map((d) => Math.abs(avg(r.map((x) => x.mean[d]!))))), sd: avg(r.map((x) => x.noise)) };
  }).sort((a, b) => a.bias - b.bias);
  /** NLM's background SD at worst bias `b`, linear between the h factors around it (null outside them). */
  const nlmAt = (b: number): number | null => {
    for (let i = 1; i < curve.length; i++) {
      const lo = curve[i - 1]!;
      const hi = curve[i]!;
      if (b >= lo.bias && b <= hi.bias) return lo.sd + ((b - lo.bias) / (hi.bias - lo.bias || 1)) * (hi.sd - lo.sd);
    }
    return null;
  };
  rowTables.push(() => {
    console.log(`\nNon-local means at ${dose * 100} % counts, the curve the NLM column interpolates on: h factor, worst |SUVmean bias| over 17 to 37 mm (%), background SD (SUV)\n`);
    console.log(`| h x noise SD | ${NLM_H.join(' | ')} |`);
    console.log(`| --- | ${NLM_H.map(() => '---').join(' | ')} |`);
    const at = NLM_H.map((h) => {
      const r = rows.filter((x) => x.row === `nlm h ${h} x noise SD` && x.dose === dose);
      return { bias: Math.max(...big.map((d) => Math.abs(avg(r.map((x) => x.mean[d]!))))), sd: avg(r.map((x) => x.noise)) };
    });
    console.log(`| worst SUVmean bias | ${at.map((c) => pct(c.bias)).join(' | ')} |`);
    console.log(`| background SD | ${at.map((c) => c.sd.toFixed(3)).join(' | ')} |`);
  });
  for (const name of names) {
    const r = rows.filter((x) => x.row === name && x.dose === dose);
    const m = (d: number) => avg(r.map((x) => x.mean[d]!));
    const mx = (d: number) => avg(r.map((x) => x.max[d]!));
    const pk = (d: number) => avg(r.map((x) => x.peak[d]!));
    const worst = (f: (d: number) => number) => big.map(f).reduce((a, b) => (Math.abs(b) > Math.abs(a) ? b : a));
    const perWorst = (key: 'mean' | 'max') => sd(r.map((x) => Math.max(...big.map((d) => Math.abs(x[key][d]!)))));
    const noise = avg(r.map((x) => x.noise));
    const input = avg(r.map((x) => x.inputNoise));
    console.log(
      `| ${name} | ${noise.toFixed(3)} (${pct(1 - noise / input)} %) | ${nlmAt(Math.abs(worst(m)))?.toFixed(3) ?? '-'} | ${[10, 13, ...big].map((d) => pct(m(d))).join(' / ')} | ${pct(worst(m))} (${pct(perWorst('mean'))}) | ` +
        `${[10, 13, ...big].map((d) => pct(mx(d))).join(' / ')} | ${pct(worst(mx))} (${pct(perWorst('max'))}) | ${big.map((d) => pct(pk(d))).join(' / ')} | ${avg(r.map((x) => x.psnr)).toFixed(2)} |`,
    );
  }
}
for (const table of rowTables) table();
const json = opt('json', '');
if (json) writeFileSync(json, JSON.stringify(rows));
