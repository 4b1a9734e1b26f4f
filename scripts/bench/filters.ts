/**
 * Speed and default strengths of the classical denoisers (src/filters).
 *
 *   npx tsx scripts/bench/filters.ts              time per 512x512 slice, one thread
 *   npx tsx scripts/bench/filters.ts --tune       mean PSNR / SSIM of a grid of settings on real CT at
 *                                                 25 % and 10 % dose and real PET at 25 % counts (CT: not ct-nlm, ct-search)
 *   npx tsx scripts/bench/filters.ts --tune ct    (or pet) one modality's grid only; for CT the
 *                                                 Gaussian and bilateral
 *   npx tsx scripts/bench/filters.ts --tune ct-nlm        CT NLM with search windows up to 7x7
 *   npx tsx scripts/bench/filters.ts --tune ct-search     CT NLM with 11x11 and 21x21 search windows
 *   npx tsx scripts/bench/filters.ts --tune ct-defaults   the CT defaults' gain over the input per volume
 *
 * Tuning uses only volumes that the model card does not test on (scripts/train/export-dataset.ts:
 * CT training lidc-0001 and crlm-1004, validation lidc-0314; PET qin-hn-0139 training slices), with
 * low dose from the project's physics: insertCtNoise with the scanner-matched kernel at the
 * volume's calibrated full-dose i0 (estimateVolumeCtI0, as the training export), simulatePet.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Image2D } from '../../src/image.js';
import { sliceOf } from '../../src/image.js';
import { classicalDenoise, type ClassicalDenoiseParams, type ClassicalMethod } from '../../src/filters/index.js';
import { tuneParameter, type TunableParameter, type TuningPair } from '../../src/filters/tune.js';
import { compareSlices } from '../../src/metrics/compare.js';
import { defaultRange, maxValue } from '../../src/metrics/range.js';
import { estimateVolumeCtI0 } from '../../src/simulate/calibrate.js';
import { insertCtNoise } from '../../src/simulate/ct.js';
import { simulatePet } from '../../src/simulate/pet.js';
import { Rng } from '../../src/util/random.js';
import { ctKernelOf, readNiftiVolume } from '../train/nifti-volume.js';
import { timeMs } from './timing.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const SHARED = path.resolve(here, '../../../shared');


/** A 512x512 CT-like slice with 25 HU white noise: speed does not depend on content except via NLM/bilateral weights. */
function benchSlice(): Image2D {
  const size = 512;
  const rng = new Rng(1);
  const data = new Float32Array(size * size);
  for (let r = 0; r < size; r++) {
    for (let c = 0; c < size; c++) {
      const inside = (r - 256) ** 2 + (c - 256) ** 2 < 220 ** 2;
      const value = inside ? 40 + 30 * Math.sin(r / 17) * Math.cos(c / 23) + (c > 300 + r / 10 ? 600 : 0) : -1000;
      data[r * size + c] = value + 25 * rng.normal();
    }
  }
  return { rows: size, columns: size, data, pixelSpacing: [0.7, 0.7] };
}

function bench(): void {
  const slice = benchSlice();
  console.log(`node ${process.version}, 512x512 float32 slice, pixel spacing 0.7 mm, one thread; ms per slice, fastest / median`);
  const cases: [string, ClassicalMethod, ClassicalDenoiseParams, number][] = [
    ['gaussian, CT default (sigma 0.35 mm)', 'gaussian', {}, 15],
    ['gaussian, sigma 3 px', 'gaussian', { sigmaPx: 3 }, 15],
    ['bilateral, CT default (sigma 1 mm = 1.4 px)', 'bilateral', {}, 9],
    ['bilateral, sigma 5/3 px (radius 5 px)', 'bilateral', { sigmaSpatialPx: 5 / 3 }, 9],
    ['nlm, CT default (3x3 patch, 7x7 search)', 'nlm', {}, 9],
    ['nlm, 5x5 patch, 7x7 search', 'nlm', { patchRadius: 2, searchRadius: 3 }, 9],
    ['nlm, 7x7 patch, 21x21 search', 'nlm', { patchRadius: 3, searchRadius: 10 }, 5],
    ['nlm, 5x5 patch, 11x11 search', 'nlm', { patchRadius: 2, searchRadius: 5 }, 3],
    ['nlm, 3x3 patch, 11x11 search', 'nlm', { patchRadius: 1, searchRadius: 5 }, 3],
    ['noise estimate + nlm 1x1 patch, 3x3 search', 'nlm', { patchRadius: 0, searchRadius: 1 }, 9],
  ];
  for (const [name, method, params, repeats] of cases) {
    const { min, median } = timeMs(repeats, () => classicalDenoise(method, slice, params));
    console.log(`${name.padEnd(50)} ${min.toFixed(0).padStart(6)} / ${median.toFixed(0).padStart(6)} ms`);
  }
  const known = { noiseStd: 25 };
  const { min, median } = timeMs(3, () => classicalDenoise('nlm', slice, { ...known, patchRadius: 3, searchRadius: 10 }));
  console.log(`${'nlm, 7x7 patch, 21x21 search, noise SD given'.padEnd(50)} ${min.toFixed(0).padStart(6)} / ${median.toFixed(0).padStart(6)} ms`);
}

/** The model card's CT training (lidc-0001, crlm-1004) and validation (lidc-0314) volumes, never its test volumes. */
const CT_VOLUMES = ['lidc-0001-chest', 'crlm-1004-abdomen', 'lidc-0314-chest'] as const;

function ctPairs(dose: number): TuningPair[] {
  const pairs: TuningPair[] = [];
  for (const name of CT_VOLUMES) {
    const { volume, sidecar } = readNiftiVolume(path.join(SHARED, 'ct', `${name}.nii.gz`));
    const kernel = ctKernelOf(sidecar);
    // The dose is relative to the scan's own noise, as everywhere else in the toolkit (a fixed i0
    // would give each volume another noise level at the same nominal dose).
    const { i0 } = estimateVolumeCtI0(volume, { kernel });
    console.log(`${name}: kernel ${kernel}, calibrated i0 ${i0.toExponential(3)}`);
    for (const fraction of [0.3, 0.5, 0.7]) {
      const k = Math.floor(fraction * volume.slices.length);
      const reference = sliceOf(volume, k);
      const lowDose = insertCtNoise(reference, { dose, seed: 11, sliceIndex: k, kernel, i0 });
      pairs.push({ lowDose, reference });
    }
  }
  return pairs;
}

function petPairs(countsFraction: number): TuningPair[] {
  const { volume } = readNiftiVolume(path.join(SHARED, 'pet', 'qin-hn-0139-pet.nii.gz'));
  const pairs: TuningPair[] = [];
  for (const k of [120, 200, 260, 320, 380, 420]) {
    const sim = simulatePet(sliceOf(volume, k), { countsFraction, seed: 11, sliceIndex: k, sliceThicknessMm: volume.spacing[2] });
    pairs.push({ lowDose: sim.lowDose, reference: sim.fullDose! });
  }
  return pairs;
}

function report(title: string, method: ClassicalMethod, parameter: TunableParameter, pairs: TuningPair[], candidates: number[], params: ClassicalDenoiseParams): void {
  const start = process.hrtime.bigint();
  const result = tuneParameter(method, parameter, pairs, candidates, { params });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const cells = result.scores.map((s) => `${s.value}: ${s.psnr.toFixed(2)} dB / ${s.ssim.toFixed(3)}`);
  console.log(`${title} ${method} ${parameter} ${JSON.stringify(params)} best ${result.best}  (${seconds.toFixed(0)} s)\n    ${cells.join('\n    ')}`);
}

function inputScores(title: string, pairs: TuningPair[], modality: 'CT' | 'PT'): void {
  const range = defaultRange(modality, maxValue(pairs.map((p) => p.reference.data)));
  let psnr = 0;
  let ssim = 0;
  for (const p of pairs) {
    const s = compareSlices(p.reference, p.lowDose, range);
    psnr += s.psnr;
    ssim += s.ssim;
  }
  console.log(`${title} input: ${(psnr / pairs.length).toFixed(2)} dB / ${(ssim / pairs.length).toFixed(3)}`);
}

type TuneWhich = 'ct' | 'ct-nlm' | 'ct-search' | 'ct-defaults' | 'pet' | 'both';

function tune(which: TuneWhich): void {
  if (which === 'ct-defaults') return defaultsPerVolume(ctDoses());
  if (which === 'ct-search') return tuneCtSearch();
  if (which === 'ct-nlm') return tuneCtNlm();
  if (which !== 'pet') tuneCt();
  if (which !== 'ct') tunePet();
}

/**
 * Scores `candidates` at every dose in `doses` on the same settings and prints, per candidate, each
 * dose's mean PSNR / SSIM, its gain over the input and the mean gain over the doses: the defaults
 * are chosen on that mean gain (a default has to hold at 25 % and at 10 % dose; docs/filters.md).
 */
function reportDoses(
  doses: readonly { title: string; pairs: TuningPair[]; inputPsnr: number }[],
  method: ClassicalMethod,
  parameter: TunableParameter,
  candidates: number[],
  params: ClassicalDenoiseParams,
): void {
  const start = process.hrtime.bigint();
  const results = doses.map((d) => tuneParameter(method, parameter, d.pairs, candidates, { params }));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  let best = { value: candidates[0]!, gain: -Infinity };
  const lines = candidates.map((value, i) => {
    const cells = results.map((r, k) => {
      const s = r.scores[i]!;
      return `${doses[k]!.title} ${s.psnr.toFixed(2)} dB / ${s.ssim.toFixed(3)} (${signed(s.psnr - doses[k]!.inputPsnr)})`;
    });
    const gain = results.reduce((a, r, k) => a + r.scores[i]!.psnr - doses[k]!.inputPsnr, 0) / results.length;
    if (gain > best.gain) best = { value, gain };
    return `${String(value).padEnd(5)} ${cells.join('  ')}  mean gain ${signed(gain)}`;
  });
  const perDose = results.map((r, k) => `${doses[k]!.title} ${r.best}`).join(', ');
  console.log(`CT ${method} ${parameter} ${JSON.stringify(params)} best ${perDose}, on mean gain ${best.value}  (${seconds.toFixed(0)} s)\n    ${lines.join('\n    ')}`);
}

function signed(db: number): string {
  return `${db >= 0 ? '+' : ''}${db.toFixed(2)} dB`;
}

function meanInputPsnr(pairs: TuningPair[]): number {
  const range = defaultRange('CT', maxValue(pairs.map((p) => p.reference.data)));
  return pairs.reduce((a, p) => a + compareSlices(p.reference, p.lowDose, range).psnr, 0) / pairs.length;
}

/** Per-volume PSNR gain of the CT defaults over the input (three slices per volume). */
function defaultsPerVolume(doses: readonly { title: string; pairs: TuningPair[] }[]): void {
  const range = defaultRange('CT', 0);
  for (const method of ['gaussian', 'bilateral', 'nlm'] as const) {
    const cells = doses.map(({ title, pairs }) => {
      const gains = CT_VOLUMES.map((_, v) => {
        const own = pairs.slice(3 * v, 3 * v + 3);
        return own.reduce((a, p) => a + compareSlices(p.reference, { ...p.lowDose, data: classicalDenoise(method, p.lowDose).data }, range).psnr - compareSlices(p.reference, p.lowDose, range).psnr, 0) / own.length;
      });
      return `${title}: ${gains.map((g, v) => `${CT_VOLUMES[v]} ${signed(g)}`).join(', ')}`;
    });
    console.log(`CT default ${method}, gain over the input per volume: ${cells.join('; ')}`);
  }
}

function ctDoses(): { title: string; pairs: TuningPair[]; inputPsnr: number }[] {
  return [0.25, 0.1].map((dose) => {
    const pairs = ctPairs(dose);
    const title = `${Math.round(dose * 100)} %`;
    inputScores(`CT ${title}`, pairs, 'CT');
    return { title, pairs, inputPsnr: meanInputPsnr(pairs) };
  });
}

/** NLM's wider search windows on CT (0.4 to 1 s a slice): a run of its own, to stay under 10 minutes. */
function tuneCtSearch(): void {
  const doses = ctDoses();
  for (const [patchRadius, searchRadius] of [[1, 5], [2, 5]] as const) {
    reportDoses(doses, 'nlm', 'hFactor', [0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.2, 1.5], { modality: 'CT', patchRadius, searchRadius });
  }
  for (const [patchRadius, searchRadius] of [[2, 10], [3, 10]] as const) {
    reportDoses(doses, 'nlm', 'hFactor', [0.4, 0.6, 0.8, 1.0], { modality: 'CT', patchRadius, searchRadius });
  }
}

function tuneCt(): void {
  const doses = ctDoses();
  reportDoses(doses, 'gaussian', 'sigmaMm', [0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.8, 1.0], { modality: 'CT' });
  for (const sigmaSpatialMm of [0.5, 0.6, 0.7, 0.8, 1.0, 1.2]) {
    reportDoses(doses, 'bilateral', 'rangeFactor', [0.75, 1, 1.25, 1.5, 2, 2.5, 3], { modality: 'CT', sigmaSpatialMm });
  }
}

/** NLM on CT with search windows up to 7x7: patch sizes 1x1 to 7x7. */
function tuneCtNlm(): void {
  const doses = ctDoses();
  for (const [patchRadius, searchRadius] of [[2, 3], [1, 3], [3, 3], [0, 3], [2, 2], [1, 2]] as const) {
    reportDoses(doses, 'nlm', 'hFactor', [0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.2, 1.5], { modality: 'CT', patchRadius, searchRadius });
  }
}

function tunePet(): void {
  const pet = petPairs(0.25);
  inputScores('PET 25 %', pet, 'PT');
  report('PET 25 %', 'gaussian', 'sigmaMm', pet, [2, 3, 4, 4.5, 5, 6], { modality: 'PT' });
  for (const sigmaSpatialMm of [3, 5, 7]) {
    report('PET 25 %', 'bilateral', 'rangeFactor', pet, [2, 3, 4, 6, 8], { modality: 'PT', sigmaSpatialMm });
  }
  for (const [patchRadius, searchRadius] of [[3, 10], [2, 5], [2, 3]] as const) {
    report('PET 25 %', 'nlm', 'hFactor', pet, [0.8, 1.2, 1.6, 2.4], { modality: 'PT', patchRadius, searchRadius });
  }
}

const tuneAt = process.argv.indexOf('--tune');
if (tuneAt < 0) bench();
else {
  const which = process.argv[tuneAt + 1] ?? 'both';
  const known: readonly string[] = ['ct', 'ct-nlm', 'ct-search', 'ct-defaults', 'pet', 'both'];
  if (!known.includes(which)) throw new Error(`--tune takes ${known.join(', ')} or nothing, not ${which}`);
  tune(which as TuneWhich);
}
