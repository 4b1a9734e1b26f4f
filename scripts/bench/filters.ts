/**
 * Speed and default strengths of the classical denoisers (src/filters).
 *
 *   npx tsx scripts/bench/filters.ts              time per 512x512 slice, one thread
 *   npx tsx scripts/bench/filters.ts --tune       mean PSNR / SSIM of a small grid of settings on real
 *                                                 CT at 25 % and 10 % dose and real PET at 25 % counts
 *   npx tsx scripts/bench/filters.ts --tune ct    (or pet) one modality's grid only
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

const here = path.dirname(fileURLToPath(import.meta.url));
const SHARED = path.resolve(here, '../../../shared');

/**
 * Fastest and median of `repeats` timed runs after a warm-up (JIT). On a shared machine the
 * fastest run is the best estimate of the filter's own cost; the median shows the contention.
 */
function timeMs(repeats: number, fn: () => unknown): { min: number; median: number } {
  fn();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const start = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  return { min: times[0]!, median: times[Math.floor(times.length / 2)]! };
}

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
    ['gaussian, CT default (sigma 0.5 mm)', 'gaussian', {}, 15],
    ['gaussian, sigma 3 px', 'gaussian', { sigmaPx: 3 }, 15],
    ['bilateral, CT default (sigma 1 mm = 1.4 px)', 'bilateral', {}, 9],
    ['bilateral, sigma 5/3 px (radius 5 px)', 'bilateral', { sigmaSpatialPx: 5 / 3 }, 9],
    ['nlm, CT default (5x5 patch, 7x7 search)', 'nlm', {}, 9],
    ['nlm, 7x7 patch, 21x21 search', 'nlm', { patchRadius: 3, searchRadius: 10 }, 5],
    ['nlm, 5x5 patch, 11x11 search', 'nlm', { patchRadius: 2, searchRadius: 5 }, 3],
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

function ctPairs(dose: number): TuningPair[] {
  const pairs: TuningPair[] = [];
  for (const name of ['lidc-0001-chest', 'crlm-1004-abdomen', 'lidc-0314-chest']) {
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

function tune(which: 'ct' | 'pet' | 'both'): void {
  if (which !== 'pet') tuneCt();
  if (which !== 'ct') tunePet();
}

function tuneCt(): void {
  const ct = ctPairs(0.25);
  inputScores('CT 25 %', ct, 'CT');
  report('CT 25 %', 'gaussian', 'sigmaMm', ct, [0.3, 0.4, 0.5, 0.6, 0.8, 1.0, 1.5], { modality: 'CT' });
  for (const sigmaSpatialMm of [0.8, 1.0, 1.2, 1.6]) {
    report('CT 25 %', 'bilateral', 'rangeFactor', ct, [1.5, 2, 2.5, 3, 4], { modality: 'CT', sigmaSpatialMm });
  }
  for (const [patchRadius, searchRadius] of [[3, 10], [2, 10], [2, 5], [2, 3], [2, 2]] as const) {
    report('CT 25 %', 'nlm', 'hFactor', ct, [0.6, 0.9, 1.2, 1.5], { modality: 'CT', patchRadius, searchRadius });
  }
  const ct10 = ctPairs(0.1);
  inputScores('CT 10 %', ct10, 'CT');
  report('CT 10 %', 'gaussian', 'sigmaMm', ct10, [0.5, 0.7, 1.0], { modality: 'CT' });
  report('CT 10 %', 'bilateral', 'rangeFactor', ct10, [2, 2.5, 3], { modality: 'CT' });
  for (const [patchRadius, searchRadius] of [[2, 10], [2, 5], [2, 3]] as const) {
    report('CT 10 %', 'nlm', 'hFactor', ct10, [0.9, 1.2, 1.5], { modality: 'CT', patchRadius, searchRadius });
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
  if (which !== 'ct' && which !== 'pet' && which !== 'both') throw new Error(`--tune takes ct, pet or nothing, not ${which}`);
  tune(which);
}
