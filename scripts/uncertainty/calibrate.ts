/**
 * Calibrates and measures the calibrated uncertainty of a shipped model (docs/uncertainty.md):
 * runs the denoiser exactly as `lowdose denoise --samples K` does (src/pipeline/slice-denoiser.ts)
 * for K = 2, 4, 8 on real quarter-dose CT pairs (../shared/ldct-mayo) and on the QA phantom
 * fixtures, and for every data set and K measures, per 16 x 16 tissue patch, Spearman's rank
 * correlation between the predicted error variance and the squared error actually made, and per
 * pixel the coverage of the ±2 sigma interval, before calibration (the raw ensemble spread) and
 * after (the card's formula, src/metrics/uncertainty.ts).
 *
 * The reference's own noise: a full-dose image is not the truth. With e = output − reference,
 * E[e²] = (error against the truth)² + sigma_ref², so the predicted variance is compared with e²
 * after adding sigma_ref² (coverage: |e| <= 2 sqrt(sigma² + sigma_ref²)) and the patch ranks use
 * mean(e²) − mean(sigma_ref²). sigma_ref² per pixel is a local mean of the input − reference
 * difference over the ratio var(Q − F) / var(F): the Mayo quarter-dose images are the full-dose
 * projections plus inserted noise, so var(Q − F) = var(Q) − var(F), 3 var(F) for quantum noise
 * alone; measured per series (measureNoiseRatio) it is 3.5 to 4.6. The phantoms are compared with
 * their truth scanned without noise (the fixture's own simulation at 1e8 times the photons):
 * sigma_ref = 0, and the scanner's blur is in the reference, so no denoiser is blamed for it.
 *
 * Fit (on the calibration set only: by default Mayo patient L143; L192 and the phantoms are held
 * out): sigma² = a² std² + c² boxmean((input − output)², W): the window W and the ratio c²/a²
 * maximise the mean over the calibration series of each one's patch rank correlation, then the
 * overall scale makes the ±2 sigma coverage 95 % over all their pixels. The recommended K is the smallest whose calibration-set correlation
 * is within 0.02 of the best K's.
 *
 *   npx tsx scripts/uncertainty/calibrate.ts                       # CT: calibrate on Mayo L143, report L192 and the phantoms
 *   npx tsx scripts/uncertainty/calibrate.ts --calibrate-on water,acr,body   # calibrate on the phantoms instead
 *   npx tsx scripts/uncertainty/calibrate.ts --modality PT         # PET: IEC phantom, 25 % -> 10 %
 *   ... --write-card                                               # writes the card's `uncertainty` block
 *   npx tsx scripts/uncertainty/calibrate.ts --card-from models/eval/uncertainty-ct.json   # the block from a saved run
 *
 * Writes models/eval/uncertainty-<ct|pet>[-<fold>].json and .md.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readSliceImage, scanPaths, type Series } from '../../src/dicom/index.js';
import type { Image2D } from '../../src/image.js';
import { gaussianSmooth } from '../../src/filters/gaussian.js';
import { DEFAULT_PADDING_FILL, fillPadding } from '../../src/padding.js';
import { pairSlices } from '../../src/metrics/slice-pairing.js';
import { simulateCtFromTruth } from '../../src/simulate/ct.js';
import type { FilterWindow } from '../../src/simulate/filters.js';
import { simulatePet } from '../../src/simulate/pet.js';
import {
  boxMean,
  removedNoiseVariance,
  spearman,
  tissuePatchMeans,
  windowRadius,
  type UncertaintyCalibration,
} from '../../src/metrics/uncertainty.js';
import { resolveModelFiles } from '../../src/models/index.js';
import { createSliceDenoiser } from '../../src/pipeline/slice-denoiser.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(here, '../..');
const SHARED = path.resolve(REPO, '..', 'shared');

const { values: args } = parseArgs({
  options: {
    modality: { type: 'string', default: 'CT' },
    model: { type: 'string' },
    samples: { type: 'string', default: '2,4,8' },
    seed: { type: 'string', default: '0' },
    'calibrate-on': { type: 'string' },
    'write-card': { type: 'boolean', default: false },
    /** Write the card's block from a report this script wrote earlier, without measuring again. */
    'card-from': { type: 'string' },
    out: { type: 'string', default: path.join(REPO, 'models', 'eval') },
    threads: { type: 'string', default: '2' },
  },
});

const modality = args.modality === 'PT' ? 'PT' : 'CT';
const modelName = args.model ?? (modality === 'CT' ? 'lowdose-ct' : 'lowdose-pet');
const KS = args.samples.split(',').map(Number);
const SEED = Number(args.seed);
const PATCH = 16;
const WINDOWS_MM = [6, 12, 24];
const RATIOS = [0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, Infinity];
/** Reference-noise variance is a local mean over this window (mm): wide, since Q − F is pure noise. */
const REF_NOISE_WINDOW_MM = 15;
const TARGET_COVERAGE = 0.95;

interface DataSet {
  readonly name: string;
  /** Calibration group: 'L143', 'L192' (Mayo patients), 'water', 'acr', 'body'; PET 'iec25', 'iec10'. */
  readonly group: string;
  readonly input: string;
  /** A reference series, or a phantom's noise-free truth series to scan without noise. */
  readonly reference: string;
  /**
   * 'noisy': a full-dose scan; var(ref noise) = boxmean((input − reference)²) / r, with r the measured
   * var(Q − F) / var(F) (measureNoiseRatio).
   * 'noise-free-scan': the truth scanned through the fixture's own simulation without noise (the
   * best any denoiser of this input can reach: the scanner's blur, no noise).
   */
  readonly kind: 'noisy' | 'noise-free-scan';
  readonly simulation?: Record<string, unknown>;
}

function fixtureSimulation(phantom: string): Record<string, unknown> {
  const info = JSON.parse(readFileSync(path.join(REPO, 'fixtures', phantom, 'fixture.json'), 'utf8')) as { simulation: Record<string, Record<string, unknown>> };
  return info.simulation['dose25']!;
}

function dataSets(): DataSet[] {
  const phantoms = modality === 'PT' ? ['iec'] : ['water', 'acr', 'body'];
  const sets: DataSet[] = [];
  if (modality === 'CT') {
    for (const patient of ['L143', 'L192']) {
      for (const kernel of ['B30f', 'D45f']) {
        const base = path.join(SHARED, 'ldct-mayo', patient, kernel);
        // Quarter dose = full-dose projections + inserted noise: var(Q − F) = var(Q) − var(F).
        sets.push({ name: `Mayo ${patient} ${kernel}`, group: patient, input: path.join(base, 'quarter'), reference: path.join(base, 'full'), kind: 'noisy' });
      }
    }
  }
  for (const phantom of phantoms) {
    for (const dose of [0.25, 0.1]) {
      const fx = path.join(REPO, 'fixtures', phantom);
      const folder = `dose${Math.round(dose * 100)}`;
      sets.push({
        name: `${phantom} ${folder}`,
        // PET has one phantom: its two doses are the two groups.
        group: modality === 'PT' ? `${phantom}${Math.round(dose * 100)}` : phantom,
        input: path.join(fx, folder),
        reference: path.join(fx, 'truth'),
        kind: 'noise-free-scan',
        simulation: fixtureSimulation(phantom),
      });
    }
  }
  return sets;
}

/** The noise-free scan of a truth slice, with the fixture's kernel (CT) or reconstruction (PET). */
function noiseFreeScan(truth: Image2D, unitsScale: number, simulation: Record<string, unknown>, sliceIndex: number): Float32Array {
  if (modality === 'CT') {
    const [window, , cutoff] = String(simulation['kernel']).split(' ');
    const result = simulateCtFromTruth(truth, {
      dose: 1,
      // 1e8 times the fixtures' photons: 1e-4 of their noise SD.
      i0: Number(simulation['i0'] ?? 1e5) * 1e8,
      electronicNoise: 0,
      kernel: { window: window as FilterWindow, cutoff: Number(cutoff) },
      seed: 0,
      sliceIndex,
      fullDose: false,
    });
    return result.lowDose.data;
  }
  // PET: the simulator works in Bq/ml; 1e8 times the counts.
  const activity = { ...truth, data: truth.data.map((v) => v / unitsScale) };
  const result = simulatePet(activity, {
    countsFraction: 1,
    frameDurationS: Number(simulation['frameDurationS'] ?? 180) * 1e8,
    sliceThicknessMm: Number(simulation['sliceThicknessMm'] ?? 3),
    postFilterFwhmMm: Number(simulation['postFilterFwhmMm'] ?? 4),
    seed: 0,
    sliceIndex,
  });
  return result.lowDose.data.map((v) => v * unitsScale);
}

/**
 * var(Q − F) / var(F) of a quarter / full-dose pair, measured: quantum noise alone would make it 3
 * (a quarter of the photons); electronic noise and the vendor's insertion make it more. Both
 * images are high-passed alike (x − gaussian(x, 2 px): anatomy out, the same part of each noise
 * spectrum in) and compared over flat soft tissue (smoothed full dose 0..100 HU, low local
 * variance). What anatomy remains in the high-passed full dose reads as noise, so the ratio is if
 * anything low and the reference noise, divided by it, if anything high.
 */
async function measureNoiseRatio(input: Series, reference: Series): Promise<number> {
  let diff = 0;
  let full = 0;
  for (const [r, i] of pairSlices(reference, input).pairs) {
    if (i < 0) continue;
    const q = await readSliceImage(input, i);
    const f = await readSliceImage(reference, r);
    const { rows, columns } = f;
    const d = q.data.map((v, k) => v - f.data[k]!);
    const highPass = (x: Float32Array) => {
      const low = gaussianSmooth(x, rows, columns, 2, 2);
      return x.map((v, k) => v - low[k]!);
    };
    const hpF = highPass(f.data);
    const hpD = highPass(d);
    const smooth = gaussianSmooth(f.data, rows, columns, 3, 3);
    const radius = 7;
    const mean = boxMean(smooth, rows, columns, radius);
    const spread = boxMean(smooth.map((v, k) => (v - mean[k]!) ** 2), rows, columns, radius);
    for (let k = 0; k < rows * columns; k++) {
      if (smooth[k]! > 0 && smooth[k]! < 100 && spread[k]! < 30) {
        diff += hpD[k]! ** 2;
        full += hpF[k]! ** 2;
      }
    }
  }
  if (!(full > 0)) throw new Error(`no flat soft tissue to measure the noise ratio of ${input.key}`);
  return diff / full;
}

const noiseRatios = new Map<string, number>();

/** What one data set gives for one K: per-pixel and per-patch quantities, tissue only. */
interface Collected {
  /** Per window: pixel arrays of std², removed-noise variance, e², ref variance. */
  readonly pixels: { std2: number[]; noise: number[][]; e2: number[]; ref: number[] };
  readonly patches: { std2: number[]; noise: number[][]; e2: number[]; ref: number[] };
}

async function oneSeries(dir: string): Promise<Series> {
  const scan = await scanPaths([dir]);
  if (scan.series.length !== 1) throw new Error(`${dir}: expected one series, found ${scan.series.length}`);
  return scan.series[0]!;
}

async function collect(set: DataSet, K: number): Promise<Collected> {
  const input = await oneSeries(set.input);
  const reference = await oneSeries(set.reference);
  const denoiser = await createSliceDenoiser(modality, { outDir: '', model: modelName, samples: K, seed: SEED, device: 'cpu', threads: Number(args.threads) }, () => {});
  const out: Collected = {
    pixels: { std2: [], noise: WINDOWS_MM.map(() => []), e2: [], ref: [] },
    patches: { std2: [], noise: WINDOWS_MM.map(() => []), e2: [], ref: [] },
  };
  let ratio = noiseRatios.get(set.name);
  if (set.kind === 'noisy' && ratio === undefined) {
    ratio = await measureNoiseRatio(input, reference);
    noiseRatios.set(set.name, ratio);
    console.error(`${set.name}: var(Q - F) / var(F) = ${ratio.toFixed(2)}`);
  }
  try {
    await denoiser.prepare(input);
    for (const [r, i] of pairSlices(reference, input).pairs) {
      if (i < 0) continue;
      const read0 = await readSliceImage(input, i);
      // As the denoise pipeline does: the denoiser sees padding filled with tissue-neutral values.
      const low = { ...read0, data: fillPadding(read0.data, read0.padding, read0.rows, read0.columns, DEFAULT_PADDING_FILL) };
      const read = await readSliceImage(reference, r);
      const ref = set.kind === 'noise-free-scan' ? { ...read, data: noiseFreeScan(read, reference.slices[r]!.unitsScale, set.simulation!, r) } : read;
      const { rows, columns } = low;
      const result = await denoiser.denoise([{ index: i, image: low.data, doseLevel: 0 }]);
      const output = result.denoised[0]!;
      const std = result.std![0]!;
      const n = rows * columns;
      const std2 = new Float32Array(n);
      const e2 = new Float32Array(n);
      const diff2 = new Float32Array(n);
      for (let p = 0; p < n; p++) {
        std2[p] = std[p]! ** 2;
        e2[p] = (output[p]! - ref.data[p]!) ** 2;
        diff2[p] = (low.data[p]! - ref.data[p]!) ** 2;
      }
      const refVar =
        set.kind === 'noisy'
          ? boxMean(diff2, rows, columns, windowRadius(REF_NOISE_WINDOW_MM, low.pixelSpacing)).map((v) => v / ratio!)
          : new Float32Array(n);
      const noise = WINDOWS_MM.map((w) => removedNoiseVariance(low.data, output, rows, columns, windowRadius(w, low.pixelSpacing)));
      const maps = [std2, e2, refVar, ...noise];
      for (const patch of tissuePatchMeans(maps, ref.data, rows, columns, PATCH, reference.units)) {
        out.patches.std2.push(patch.means[0]!);
        out.patches.e2.push(patch.means[1]!);
        out.patches.ref.push(patch.means[2]!);
        noise.forEach((_, w) => out.patches.noise[w]!.push(patch.means[3 + w]!));
        // Every 4th pixel (a diagonal lattice) is plenty for a coverage fraction and a quarter of the memory.
        for (let y = patch.row; y < patch.row + PATCH; y++) {
          for (let x = patch.column + ((y - patch.row) % 4); x < patch.column + PATCH; x += 4) {
            const p = y * columns + x;
            out.pixels.std2.push(std2[p]!);
            out.pixels.e2.push(e2[p]!);
            out.pixels.ref.push(refVar[p]!);
            noise.forEach((map, w) => out.pixels.noise[w]!.push(map[p]!));
          }
        }
      }
    }
  } finally {
    await denoiser.release();
  }
  return out;
}

/** Predicted variance of (a², c²) at one index. */
function predicted(std2: number, noise: number, a2: number, c2: number): number {
  return a2 * std2 + c2 * noise;
}

function coverage(c: Collected['pixels'], w: number, a2: number, c2: number): number {
  let inside = 0;
  for (let i = 0; i < c.e2.length; i++) if (c.e2[i]! <= 4 * (predicted(c.std2[i]!, c.noise[w]![i]!, a2, c2) + c.ref[i]!)) inside++;
  return inside / c.e2.length;
}

/**
 * Patch rank correlation of the predicted variance with the error against the truth: mean(e²)
 * − mean(sigma_ref²) (the reference's noise taken out of the error). 'total' instead ranks
 * predicted + reference variance against mean(e²); 'reference' the reference variance alone (the
 * baseline 'total' must beat for the model's term to mean anything).
 */
function rankCorrelation(c: Collected['patches'], w: number, a2: number, c2: number, kind: 'model' | 'total' | 'reference' = 'model'): number {
  const pred = c.e2.map((_, i) =>
    kind === 'reference' ? c.ref[i]! : predicted(c.std2[i]!, c.noise[w]![i]!, a2, c2) + (kind === 'total' ? c.ref[i]! : 0),
  );
  const actual = c.e2.map((e, i) => (kind === 'model' ? e - c.ref[i]! : e));
  return spearman(pred, actual);
}

/** Weights (a², c²) for a ratio c²/a² (Infinity: noise term only), before scaling. */
function weights(ratio: number): [number, number] {
  return ratio === Infinity ? [0, 1] : [1, ratio];
}

/** The scale s with coverage(s·a², s·c²) = target (coverage rises with s), by bisection in log s. */
function scaleForCoverage(c: Collected['pixels'], w: number, a2: number, c2: number): number {
  let lo = 1e-4;
  let hi = 1e6;
  for (let it = 0; it < 60; it++) {
    const mid = Math.sqrt(lo * hi);
    if (coverage(c, w, mid * a2, mid * c2) < TARGET_COVERAGE) lo = mid;
    else hi = mid;
  }
  return Math.sqrt(lo * hi);
}

function merge(parts: Collected[]): Collected {
  const cat = (get: (c: Collected) => number[]) => parts.flatMap(get);
  return {
    pixels: {
      std2: cat((c) => c.pixels.std2),
      noise: WINDOWS_MM.map((_, w) => cat((c) => c.pixels.noise[w]!)),
      e2: cat((c) => c.pixels.e2),
      ref: cat((c) => c.pixels.ref),
    },
    patches: {
      std2: cat((c) => c.patches.std2),
      noise: WINDOWS_MM.map((_, w) => cat((c) => c.patches.noise[w]!)),
      e2: cat((c) => c.patches.e2),
      ref: cat((c) => c.patches.ref),
    },
  };
}

interface Fit extends UncertaintyCalibration {
  readonly windowMm: number;
  readonly ratio: number;
  readonly calibrationSpearman: number;
  readonly calibrationCoverage: number;
}

/**
 * The window and c²/a² with the best mean rank correlation over the calibration series, each
 * ranked within itself (pooled ranks would also reward telling a 10 % dose series from a 25 % one),
 * then the scale for 95 % coverage over all their pixels.
 */
function fit(parts: readonly Collected[], K: number): Fit {
  const c = merge([...parts]);
  let best = { w: 0, ratio: 0, rho: -Infinity };
  for (const [w] of WINDOWS_MM.entries()) {
    for (const ratio of RATIOS) {
      const [a2, c2] = weights(ratio);
      const rho = parts.reduce((sum, part) => sum + rankCorrelation(part.patches, w, a2, c2), 0) / parts.length;
      if (rho > best.rho + 1e-9) best = { w, ratio, rho };
    }
  }
  const [a2, c2] = weights(best.ratio);
  const s = scaleForCoverage(c.pixels, best.w, a2, c2);
  return {
    samples: K,
    spreadScale: round(Math.sqrt(s * a2), 4),
    noiseScale: round(Math.sqrt(s * c2), 4),
    windowMm: WINDOWS_MM[best.w]!,
    ratio: best.ratio,
    calibrationSpearman: round(best.rho, 4),
    calibrationCoverage: round(coverage(c.pixels, best.w, s * a2, s * c2), 4),
  };
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

interface Row {
  readonly set: string;
  readonly group: string;
  readonly samples: number;
  readonly heldOut: boolean;
  readonly patches: number;
  readonly pixels: number;
  readonly before: { readonly spearman: number; readonly coverage: number };
  readonly after: { readonly spearman: number; readonly coverage: number; readonly spearmanTotal: number };
  /** Spearman of the reference noise variance alone against e² (null for a noise-free reference). */
  readonly referenceOnlySpearman: number | null;
  /** The measured var(Q − F) / var(F) of a noisy reference. */
  readonly noiseRatio: number | null;
  /** Median predicted sigma (after calibration) and median |error| over tissue pixels, image units. */
  readonly medianSigma: number;
  readonly rmsError: number;
  readonly rmsReferenceNoise: number;
}

function median(values: number[]): number {
  const s = Float64Array.from(values).sort();
  return s.length ? s[s.length >> 1]! : Number.NaN;
}

async function main(): Promise<void> {
  if (args['card-from']) {
    const saved = JSON.parse(readFileSync(args['card-from'], 'utf8')) as { fits: Fit[]; recommendedSamples: number; rows: Row[]; calibratedOn: string; command: string };
    const recommended = saved.fits.find((f) => f.samples === saved.recommendedSamples)!;
    await writeCard(saved.fits, recommended, saved.rows, saved.calibratedOn, saved.command);
    return;
  }
  const sets = dataSets();
  const calibrationGroup = args['calibrate-on'] ?? (modality === 'CT' ? 'L143' : 'iec25');
  const calibrationGroups = new Set(calibrationGroup.split(','));
  for (const g of calibrationGroups) {
    if (!sets.some((s) => s.group === g)) throw new Error(`--calibrate-on ${g}: no such group (${[...new Set(sets.map((s) => s.group))].join(', ')})`);
  }
  const fits: Fit[] = [];
  const rows: Row[] = [];
  for (const K of KS) {
    const collected = new Map<string, Collected>();
    for (const set of sets) {
      const t0 = performance.now();
      collected.set(set.name, await collect(set, K));
      console.error(`K=${K} ${set.name}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
    const f = fit(sets.filter((s) => calibrationGroups.has(s.group)).map((s) => collected.get(s.name)!), K);
    fits.push(f);
    const w = WINDOWS_MM.indexOf(f.windowMm);
    for (const set of sets) {
      const c = collected.get(set.name)!;
      const a2 = f.spreadScale ** 2;
      const c2 = f.noiseScale ** 2;
      const sigmas = c.pixels.std2.map((s2, i) => Math.sqrt(predicted(s2, c.pixels.noise[w]![i]!, a2, c2)));
      rows.push({
        set: set.name,
        group: set.group,
        samples: K,
        heldOut: !calibrationGroups.has(set.group),
        patches: c.patches.e2.length,
        pixels: c.pixels.e2.length,
        before: { spearman: round(rankCorrelation(c.patches, w, 1, 0), 3), coverage: round(coverage(c.pixels, w, 1, 0), 4) },
        after: {
          spearman: round(rankCorrelation(c.patches, w, a2, c2), 3),
          coverage: round(coverage(c.pixels, w, a2, c2), 4),
          spearmanTotal: round(rankCorrelation(c.patches, w, a2, c2, 'total'), 3),
        },
        referenceOnlySpearman: set.kind === 'noisy' ? round(rankCorrelation(c.patches, w, 0, 0, 'reference'), 3) : null,
        noiseRatio: noiseRatios.has(set.name) ? round(noiseRatios.get(set.name)!, 3) : null,
        medianSigma: round(median(sigmas), 2),
        rmsError: round(Math.sqrt(c.pixels.e2.reduce((s, v) => s + v, 0) / c.pixels.e2.length), 2),
        rmsReferenceNoise: round(Math.sqrt(c.pixels.ref.reduce((s, v) => s + v, 0) / c.pixels.ref.length), 2),
      });
    }
  }
  const bestRho = Math.max(...fits.map((f) => f.calibrationSpearman));
  const recommended = fits.filter((f) => f.calibrationSpearman >= bestRho - 0.02).sort((a, b) => a.samples - b.samples)[0]!;
  const command = `npx tsx scripts/uncertainty/calibrate.ts --modality ${modality}${args['calibrate-on'] ? ` --calibrate-on ${calibrationGroup}` : ''}${args['write-card'] ? ' --write-card' : ''}`;
  const report = { model: modelName, modality, seed: SEED, calibratedOn: calibrationGroup, targetCoverage: TARGET_COVERAGE, patch: PATCH, fits, recommendedSamples: recommended.samples, rows, command };
  const suffix = `${modality === 'CT' ? 'ct' : 'pet'}${args['calibrate-on'] ? `-${calibrationGroup.toLowerCase().replace(/,/g, '-')}` : ''}`;
  // (the default fold writes uncertainty-ct.json / uncertainty-pet.json)
  writeFileSync(path.join(args.out, `uncertainty-${suffix}.json`), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(path.join(args.out, `uncertainty-${suffix}.md`), markdown(report));
  console.log(markdown(report));
  if (args['write-card']) await writeCard(fits, recommended, rows, calibrationGroup, command);
}

function markdown(r: { model: string; calibratedOn: string; fits: Fit[]; recommendedSamples: number; rows: Row[]; command: string }): string {
  const lines = [
    `# Calibrated uncertainty of ${r.model}`,
    '',
    `Made by \`${r.command}\`. Calibrated on ${r.calibratedOn}; every other row is held out.`,
    '',
    '| K | window mm | c²/a² | spreadScale a | noiseScale c | calibration Spearman (mean per series) | calibration coverage |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...r.fits.map((f) => `| ${f.samples} | ${f.windowMm} | ${f.ratio} | ${f.spreadScale} | ${f.noiseScale} | ${f.calibrationSpearman} | ${f.calibrationCoverage} |`),
    '',
    `Recommended K (fewest samples within 0.02 of the best calibration-set correlation): ${r.recommendedSamples}.`,
    '',
    'Spearman: per 16 x 16 tissue patch, predicted variance against mean(e²) − mean(σ_ref²); "total": predicted + σ_ref² against mean(e²); "ref only": σ_ref² alone against mean(e²).',
    '',
    '| data set | K | held out | patches | Spearman before | Spearman after | total after | ref only | ±2σ coverage before | ±2σ coverage after | median σ | RMS error | RMS ref noise | var(Q−F)/var(F) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...r.rows.map(
      (x) =>
        `| ${x.set} | ${x.samples} | ${x.heldOut ? 'yes' : 'no'} | ${x.patches} | ${x.before.spearman} | ${x.after.spearman} | ${x.after.spearmanTotal} | ${x.referenceOnlySpearman ?? '-'} | ${(100 * x.before.coverage).toFixed(1)} % | ${(100 * x.after.coverage).toFixed(1)} % | ${x.medianSigma} | ${x.rmsError} | ${x.rmsReferenceNoise} | ${x.noiseRatio ?? '-'} |`,
    ),
    '',
  ];
  return lines.join('\n');
}

/**
 * The card's text with one top-level block replaced (or appended), the rest byte for byte: the
 * cards are written by Python (scripts/train/evaluate.py), whose floats (1.0) JSON.stringify would
 * rewrite (1) all over the file.
 */
function withTopLevelBlock(text: string, key: string, value: unknown): string {
  let body = text.trimEnd();
  if (!body.endsWith('}')) throw new Error('the card does not end with "}"');
  const start = body.indexOf(`\n  "${key}": `);
  if (start >= 0) {
    const open = start + `\n  "${key}": `.length;
    let depth = 0;
    let end = open;
    let inString = false;
    for (; end < body.length; end++) {
      const ch = body[end]!;
      if (inString) {
        if (ch === '\\') end++;
        else if (ch === '"') inString = false;
      } else if (ch === '"') inString = true;
      else if (ch === '{' || ch === '[') depth++;
      else if (ch === '}' || ch === ']') {
        depth--;
        if (depth === 0) break;
      }
    }
    // Drop the block with the comma before it.
    const comma = body.lastIndexOf(',', start);
    body = body.slice(0, comma) + body.slice(end + 1);
  }
  const block = JSON.stringify(value, null, 2).replace(/\n/g, '\n  ');
  return `${body.slice(0, -1).trimEnd()},\n  "${key}": ${block}\n}\n`;
}

async function writeCard(fits: Fit[], recommended: Fit, rows: Row[], group: string, command: string): Promise<void> {
  const { cardPath } = await resolveModelFiles(modelName);
  const card = JSON.parse(readFileSync(cardPath, 'utf8')) as Record<string, unknown>;
  const heldOut = rows.filter((r) => r.heldOut && r.samples === recommended.samples);
  card['uncertainty'] = {
    method: 'sigma^2 = spreadScale^2 * std^2 + noiseScale^2 * boxmean((input - output)^2, noiseWindowMm); std = the spread of a K-member ensemble',
    samples: recommended.samples,
    calibration: fits.map((f) => ({ samples: f.samples, spreadScale: f.spreadScale, noiseScale: f.noiseScale, noiseWindowMm: f.windowMm })),
    threshold: modality === 'CT' ? 10 : 0.2,
    units: modality === 'CT' ? 'HU' : 'SUVbw',
    calibratedOn: group,
    heldOut: heldOut.map((r) => ({ set: r.set, spearman: r.after.spearman, coverage: r.after.coverage })),
    command: `${command.replace(' --write-card', '')} --write-card`,
  };
  writeFileSync(cardPath, withTopLevelBlock(readFileSync(cardPath, 'utf8'), 'uncertainty', card['uncertainty']));
  console.error(`wrote the uncertainty block into ${cardPath}`);
}

await main();
