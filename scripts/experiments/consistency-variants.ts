/**
 * Variants of the measurement-consistency step tried offline on the IEC phantom, to see whether any
 * brings SUVmax at 10 % counts within 10 % of the full-count reconstruction without losing the
 * SUVmean limits (models/README.md, "PET: measurement consistency"). The network runs once per
 * realisation and dose with consistency off (for `lowdose-pet`'s 1-step DDIM its output is x̂₀);
 * each variant is then applied to that x̂₀ in TypeScript and scored with `lesionStats` and QA's
 * pooled background SD, exactly as scripts/train/consistency-eval.ts scores through `lowdose qa`.
 * The realisations are consistency-eval's (the committed fixture and .cache/eval/consistency/
 * fixtures-iec-10k: run consistency-eval once first).
 *
 *   npx tsx scripts/experiments/consistency-variants.ts [--realisations 5] [--threads 1]
 *
 * Variants: `base` (the step as shipped, at 4.5 or 6 mm), `pre-smooth s mm` (x̂₀ Gaussian-smoothed
 * by s mm where the step's detection gain is on, before the step: calms the network's lumpy interior
 * of hot regions), `post-smooth s mm everywhere` (the whole x̂₀ smoothed before the step),
 * `region-mean a mm x p, interior s mm` (the low-count step `lowCount` of src/diffusion/consistency.ts:
 * the residual averaged over the detected region instead of its band restored). The table in
 * models/eval/consistency-pet-lowcount.md; `base 4.5 mm` reproduces the shipped default's numbers of
 * models/eval/consistency-pet-fine.md exactly, which checks this offline path against `lowdose qa`.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { consistencyStep, detectionGain, type ConsistencyConfig } from '../../src/diffusion/consistency.js';
import { gaussianSmooth } from '../../src/filters/gaussian.js';
import { lesionStats } from '../../src/metrics/lesions.js';
import { Denoiser } from '../../src/models/denoiser.js';
import { pooledNoise } from '../../src/qa/checks/noise.js';
import { readStack } from '../../src/qa/fixtures.js';
import { uniformRois } from '../../src/qa/regions.js';
import type { QaCase, SliceStack } from '../../src/qa/types.js';
import { optionReader } from './cli-args.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const opt = optionReader(args);
const REALISATIONS = Number(opt('realisations', '5'));
const THREADS = Number(opt('threads', '1'));
const DOSES = [0.25, 0.1];

type Variant = (x0: Float32Array, y: Float32Array, rows: number, columns: number, spacing: readonly [number, number]) => Float32Array;

function config(scaleMm: number, spacing: readonly [number, number], threshold = 1, iterations?: number): ConsistencyConfig {
  return { strength: 1, sigmaRows: scaleMm / spacing[0], sigmaColumns: scaleMm / spacing[1], threshold, ...(iterations ? { iterations } : {}) };
}

const base = (scaleMm: number, threshold = 1): Variant => (x0, y, rows, columns, spacing) => consistencyStep(x0, y, rows, columns, config(scaleMm, spacing, threshold));

/** x̂₀ smoothed by `smoothMm` in proportion to the step's smoothed detection gain, then the step. */
const preSmooth = (smoothMm: number, scaleMm = 4.5, everywhere = false): Variant => (x0, y, rows, columns, spacing) => {
  const c = config(scaleMm, spacing);
  const low = (v: ArrayLike<number>) => gaussianSmooth(v, rows, columns, c.sigmaRows, c.sigmaColumns, 3);
  const smooth = gaussianSmooth(x0, rows, columns, smoothMm / spacing[0], smoothMm / spacing[1], 3);
  let weight: Float32Array;
  if (everywhere) weight = new Float32Array(x0.length).fill(1);
  else {
    const residual = new Float32Array(x0.length);
    for (let i = 0; i < x0.length; i++) residual[i] = y[i]! - x0[i]!;
    weight = low(detectionGain(low(residual), low(x0), c.threshold));
  }
  const x = new Float32Array(x0.length);
  for (let i = 0; i < x.length; i++) x[i] = x0[i]! + weight[i]! * (smooth[i]! - x0[i]!);
  return consistencyStep(x, y, rows, columns, c);
};

/**
 * Region-mean correction: where the step's smoothed gain G is on, add the G-weighted local average
 * of the residual, c = L₂(G ⊙ (y − z)) / L₂(G) (a normalised convolution at `averageMm`), so the
 * detected region's mean moves to the measurement's without taking in the measurement's texture;
 * `passes` times, the residual recomputed from z each time.
 */
const regionMean = (averageMm: number, passes: number, scaleMm = 4.5, smoothMm = 0): Variant => (x0, y, rows, columns, spacing) => {
  const c = config(scaleMm, spacing);
  const low = (v: ArrayLike<number>) => gaussianSmooth(v, rows, columns, c.sigmaRows, c.sigmaColumns, 3);
  const wide = (v: ArrayLike<number>) => gaussianSmooth(v, rows, columns, averageMm / spacing[0], averageMm / spacing[1], 3);
  const n = x0.length;
  const residual = new Float32Array(n);
  for (let i = 0; i < n; i++) residual[i] = y[i]! - x0[i]!;
  const g = low(detectionGain(low(residual), low(x0), c.threshold));
  const z = Float32Array.from(x0);
  if (smoothMm > 0) {
    const s = gaussianSmooth(x0, rows, columns, smoothMm / spacing[0], smoothMm / spacing[1], 3);
    for (let i = 0; i < n; i++) z[i] = x0[i]! + g[i]! * (s[i]! - x0[i]!);
  }
  const norm = wide(g);
  for (let p = 0; p < passes; p++) {
    const weighted = new Float32Array(n);
    for (let i = 0; i < n; i++) weighted[i] = g[i]! * (y[i]! - z[i]!);
    const avgResidual = wide(weighted);
    for (let i = 0; i < n; i++) if (norm[i]! > 1e-6) z[i]! += g[i]! * (avgResidual[i]! / norm[i]!);
  }
  return z;
};

const variants: Record<string, Variant> = {
  'base 4.5 mm (the shipped step)': base(4.5),
  'base 6 mm': base(6),
  'pre-smooth 2 mm': preSmooth(2),
  'pre-smooth 3 mm': preSmooth(3),
  'pre-smooth 4 mm': preSmooth(4),
  'pre-smooth 3 mm, step 6 mm': preSmooth(3, 6),
  'post-smooth 2 mm everywhere': preSmooth(2, 4.5, true),
  'post-smooth 3 mm everywhere': preSmooth(3, 4.5, true),
  'region-mean 6 mm x1': regionMean(6, 1),
  'region-mean 6 mm x3': regionMean(6, 3),
  'region-mean 10 mm x3': regionMean(10, 3),
  'region-mean 6 mm x3, interior 4 mm': regionMean(6, 3, 4.5, 4),
  'region-mean 6 mm x3, interior 5 mm': regionMean(6, 3, 4.5, 5),
  'region-mean 6 mm x3, interior 6 mm (lowCount candidate)': regionMean(6, 3, 4.5, 6),
  'region-mean 10 mm x3, interior 4 mm': regionMean(10, 3, 4.5, 4),
  'region-mean 6 mm x5, interior 5 mm': regionMean(6, 5, 4.5, 5),
  'region-mean 5 mm x5, interior 5 mm': regionMean(5, 5, 4.5, 5),
  'region-mean 4 mm x5, interior 5 mm': regionMean(4, 5, 4.5, 5),
  'region-mean 5 mm x8, interior 6 mm': regionMean(5, 8, 4.5, 6),
  'region-mean 5 mm x5, interior 5 mm, step 4 mm': regionMean(5, 5, 4, 5),
  'region-mean 5 mm x5, interior 5 mm, step 3.5 mm': regionMean(5, 5, 3.5, 5),
}

function fixturesFor(k: number): string {
  const dir = k === 0 ? path.join(REPO, 'fixtures') : path.join(REPO, '.cache/eval/consistency', `fixtures-iec-${100 + k}`);
  if (!existsSync(path.join(dir, 'iec', 'fixture.json'))) throw new Error(`${dir}: run scripts/train/consistency-eval.ts --pet-only first (it makes the realisations)`);
  return dir;
}

interface Sphere { diameter: number; centre: [number, number, number] }
const denoiser = await Denoiser.load(path.join(REPO, 'models/lowdose-pet.json'), { modality: 'PT', device: 'cpu', threads: THREADS, consistency: 0 });
const results: Array<{ variant: string; dose: number; k: number; mean: Record<number, number>; max: Record<number, number>; noise: number; inputNoise: number }> = [];
for (let k = 0; k < REALISATIONS; k++) {
  const dir = path.join(fixturesFor(k), 'iec');
  const fixture = JSON.parse(readFileSync(path.join(dir, 'fixture.json'), 'utf8')) as { geometry: { spheres: Sphere[] } & Record<string, unknown> };
  const full = await readStack(path.join(dir, 'dose100'));
  for (const dose of DOSES) {
    const low = await readStack(path.join(dir, `dose${Math.round(dose * 100)}`));
    const first = low.slices[0]!;
    const x0 = (await denoiser.with({ doseLevel: dose }).denoise(low.slices.map((s, i) => ({ index: i, image: s.data })), first)).denoised;
    const rois = uniformRois({ phantom: 'iec', geometry: fixture.geometry, low } as unknown as QaCase);
    const inputNoise = pooledNoise(low, rois);
    for (const [name, variant] of Object.entries(variants)) {
      const out: SliceStack = { ...low, slices: low.slices.map((s, i) => ({ ...s, data: variant(x0[i]!, s.data, s.rows, s.columns, s.pixelSpacing) })) };
      const mean: Record<number, number> = {};
      const max: Record<number, number> = {};
      for (const sp of fixture.geometry.spheres) {
        const lesion = { centre: sp.centre, radius: sp.diameter / 2 };
        const ref = lesionStats(full.slices, lesion);
        const test = lesionStats(out.slices, lesion);
        mean[sp.diameter] = test.mean / ref.mean - 1;
        max[sp.diameter] = test.max / ref.max - 1;
      }
      results.push({ variant: name, dose, k, mean, max, noise: pooledNoise(out, rois), inputNoise });
    }
  }
  process.stderr.write(`realisation ${k} done\n`);
}
await denoiser.release();

const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const pct = (x: number) => (100 * x).toFixed(1);
const big = [17, 22, 28, 37];
console.log(`<!-- generated by \`npx tsx scripts/experiments/consistency-variants.ts ${args.join(' ')}\` -->`);
for (const dose of DOSES) {
  console.log(`\nIEC, ${dose * 100} % counts, mean over ${REALISATIONS} realisations, bias against the full-count reconstruction, %\n`);
  console.log('| variant | background SD (reduction) | SUVmean 10 / 13 / 17 / 22 / 28 / 37 mm | worst >= 17 mm | SUVmax 17 / 22 / 28 / 37 mm | worst SUVmax |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const name of Object.keys(variants)) {
    const r = results.filter((x) => x.variant === name && x.dose === dose);
    const m = (d: number) => avg(r.map((x) => x.mean[d]!));
    const mx = (d: number) => avg(r.map((x) => x.max[d]!));
    const noise = avg(r.map((x) => x.noise));
    const input = avg(r.map((x) => x.inputNoise));
    console.log(
      `| ${name} | ${noise.toFixed(3)} (${pct(1 - noise / input)} %) | ${[10, 13, ...big].map((d) => pct(m(d))).join(' / ')} | ${pct(Math.max(...big.map((d) => Math.abs(m(d)))))} | ` +
        `${big.map((d) => pct(mx(d))).join(' / ')} | ${pct(Math.max(...big.map((d) => Math.abs(mx(d)))))} |`,
    );
  }
}
