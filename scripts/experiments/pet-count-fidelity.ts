/**
 * Count fidelity of the PET consistency step on IEC realisations (cached network x̂₀ of
 * scripts/experiments/consistency-count-level.ts): what the step does to the background's and the
 * whole phantom's mean activity and to the sign of the output, beside the lesion numbers.
 *
 *   npx tsx scripts/experiments/pet-count-fidelity.ts --realisations 0-4,20-39 [--dose-unknown]
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { consistencyInPixels, consistencyStep, describeConsistency, resolveConsistency, restoreLargeScale, type ConsistencyCardField, type ConsistencySettings } from '../../src/diffusion/consistency.js';
import { gaussianSmooth } from '../../src/filters/gaussian.js';
import { roiStats } from '../../src/metrics/index.js';
import { pooledNoise } from '../../src/qa/checks/noise.js';
import { circleAt, readStack } from '../../src/qa/fixtures.js';
import { uniformRois } from '../../src/qa/regions.js';
import type { QaCase, SliceStack } from '../../src/qa/types.js';
import { indexRanges, optionReader } from './cli-args.js';
import { sphereBiases, type Sphere } from './iec-spheres.js';
import { networkOutputCache } from './network-output-cache.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const opt = optionReader(args);
const REALISATIONS = indexRanges(opt('realisations', '0-4'));
const DOSES = [0.25, 0.1];
const CACHE = path.join(REPO, '.cache/eval/count-level');
const card = JSON.parse(readFileSync(path.join(REPO, 'models/lowdose-pet.json'), 'utf8')) as { sampler: { consistency?: ConsistencyCardField } };
const shipped = resolveConsistency(card.sampler.consistency)!;
/** The card's step without the two count stages (as the card has it until they ship): what they are compared with. */
const { largeScale: _wide, nonNegative: _nonNegative, ...before } = shipped;
/** The candidate models/eval/pet-count-fidelity.md chose. */
const candidate: ConsistencySettings = { ...before, largeScale: { scaleMm: 24, passes: 1 }, nonNegative: { spreadMm: 6 } };

type Post = (z: Float32Array, y: Float32Array, rows: number, columns: number, spacing: readonly [number, number]) => Float32Array;
const ROWS: Record<string, { settings: ConsistencySettings | null; post?: Post }> = {
  'network alone': { settings: null },
  'card without the count stages': { settings: before },
};
/** `--chosen`: only the rows the choice compares (models/eval/pet-count-fidelity.md), for the test realisations. */
const CHOSEN = args.includes('--chosen');
/** The restore after the low-count region mean too (the stage itself skips it): why it does. */
const everyDose = (scaleMm: number): Post => (z, y, rows, columns, spacing) => {
  const out = Float32Array.from(z);
  restoreLargeScale(out, y, rows, columns, { sigmaRows: scaleMm / spacing[0], sigmaColumns: scaleMm / spacing[1], passes: 1 });
  return out;
};
if (!CHOSEN) {
  for (const scaleMm of [8, 12, 16, 24]) ROWS[`+ large scale ${scaleMm} mm`] = { settings: { ...before, largeScale: { scaleMm, passes: 1 } } };
  for (const spreadMm of [3, 6, 10]) ROWS[`+ non-negative ${spreadMm} mm`] = { settings: { ...before, nonNegative: { spreadMm } } };
  for (const scaleMm of [16, 24]) ROWS[`then z += L_${scaleMm}mm(y − z) at every dose, the low-count step's too`] = { settings: before, post: everyDose(scaleMm) };
}
ROWS[`candidate: ${describeConsistency(candidate)}`] = { settings: candidate };

const big = [17, 22, 28, 37];

function fixturesFor(k: number): string {
  const dir = k === 0 ? path.join(REPO, 'fixtures') : path.join(REPO, '.cache/eval/consistency', `fixtures-iec-${100 + k}`);
  if (!existsSync(path.join(dir, 'iec', 'fixture.json'))) throw new Error(`${dir}: missing`);
  return path.join(dir, 'iec');
}
const withData = (stack: SliceStack, data: readonly Float32Array[]): SliceStack => ({ ...stack, slices: stack.slices.map((s, i) => ({ ...s, data: data[i]! })) });

function measure(out: SliceStack, full: SliceStack, bodyMask: Uint8Array[], spheres: readonly Sphere[], rois: ReturnType<typeof uniformRois>) {
  let bgOut = 0, bgFull = 0, bodyOut = 0, bodyFull = 0, air = 0, airN = 0, neg = 0, n = 0;
  for (const roi of rois) {
    const s = out.slices[roi.slice]!;
    const f = full.slices[roi.slice]!;
    bgOut += roiStats(s, circleAt(s, roi.centre, roi.radius)).mean;
    bgFull += roiStats(f, circleAt(f, roi.centre, roi.radius)).mean;
  }
  out.slices.forEach((s, i) => {
    const m = bodyMask[i]!;
    for (let j = 0; j < s.data.length; j++) {
      if (m[j]) { bodyOut += s.data[j]!; bodyFull += full.slices[i]!.data[j]!; } else { air += s.data[j]!; airN++; }
      if (s.data[j]! < 0) neg++;
      n++;
    }
  });
  const { mean, max } = sphereBiases(out, full, spheres);
  return { bg: bgOut / bgFull - 1, body: bodyOut / bodyFull - 1, air: air / airN, neg: neg / n, mean, max, sd: pooledNoise(out, rois) };
}

/** The network's x̂₀ (consistency off), cached as consistency-count-level.ts caches it; `--dose-unknown`: told no dose. */
const UNKNOWN = args.includes('--dose-unknown');
const network = networkOutputCache(path.join(REPO, 'models/lowdose-pet.json'), CACHE, 1);
const networkOutput = (k: number, dose: number, lowStack: SliceStack) => network.outputs(`x0${UNKNOWN ? 'u' : ''}-${k}-${dose}`, lowStack, UNKNOWN ? 0 : dose);

type M = ReturnType<typeof measure>;
const results = new Map<string, M[]>();
const push = (key: string, m: M) => results.set(key, [...(results.get(key) ?? []), m]);
for (const k of REALISATIONS) {
  const dir = fixturesFor(k);
  const fixture = JSON.parse(readFileSync(path.join(dir, 'fixture.json'), 'utf8')) as { geometry: { spheres: Sphere[] } };
  const spheres = fixture.geometry.spheres;
  const full = await readStack(path.join(dir, 'dose100'));
  // The phantom body: the full-count image smoothed by 3 pixels above a quarter of its background.
  const body = full.slices.map((s) => {
    const sm = gaussianSmooth(s.data, s.rows, s.columns, 3, 3, 3);
    return Uint8Array.from(sm, (v) => (v > 0.25 ? 1 : 0));
  });
  for (const dose of DOSES) {
    const low = await readStack(path.join(dir, `dose${Math.round(dose * 100)}`));
    const rois = uniformRois({ phantom: 'iec', geometry: fixture.geometry, low } as unknown as QaCase);
    const x0 = await networkOutput(k, dose, low);
    push(`${dose}|low-count input`, measure(low, full, body, spheres, rois));
    for (const [name, row] of Object.entries(ROWS)) {
      const out = low.slices.map((s, i) => {
        const z = row.settings ? consistencyStep(x0[i]!, s.data, s.rows, s.columns, consistencyInPixels(row.settings, s.pixelSpacing), undefined, UNKNOWN ? 0 : dose) : x0[i]!;
        return row.post ? row.post(z, s.data, s.rows, s.columns, s.pixelSpacing) : z;
      });
      push(`${dose}|${name}`, measure(withData(low, out), full, body, spheres, rois));
    }
  }
  process.stderr.write(`realisation ${k}\n`);
}
await network.release();
const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const pct = (x: number) => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(2)}`;
for (const dose of DOSES) {
  console.log(`\nIEC ${dose * 100} %${UNKNOWN ? ' (dose not declared)' : ''}, realisations ${opt('realisations', '0-4')}: bias against the full count, %`);
  console.log('| row | background mean | phantom mean | air mean SUV | negative % | bg SD | SUVmean 17/22/28/37 | worst | SUVmax 17/22/28/37 | worst |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const [key, ms] of results) {
    if (!key.startsWith(`${dose}|`)) continue;
    const mean = big.map((d) => avg(ms.map((m) => m.mean[d]!)));
    const max = big.map((d) => avg(ms.map((m) => m.max[d]!)));
    const worst = (xs: number[]) => xs.reduce((a, b) => (Math.abs(b) > Math.abs(a) ? b : a));
    console.log(`| ${key.split('|')[1]} | ${pct(avg(ms.map((m) => m.bg)))} | ${pct(avg(ms.map((m) => m.body)))} | ${avg(ms.map((m) => m.air)).toFixed(4)} | ${(100 * avg(ms.map((m) => m.neg))).toFixed(1)} | ${avg(ms.map((m) => m.sd)).toFixed(3)} | ${mean.map(pct).join(' / ')} | ${pct(worst(mean))} | ${max.map(pct).join(' / ')} | ${pct(worst(max))} |`);
  }
}
