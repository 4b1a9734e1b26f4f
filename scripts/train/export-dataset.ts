/**
 * Exports training and evaluation data for scripts/train/*.py into .cache/ (see data.py for the
 * layout). All low-dose data comes from the project's physics in src/simulate: projection-domain
 * noise insertion for CT, count reduction + reconstruction for PET. Never image-domain white noise.
 *
 * Build and run (Node 20 cannot run TypeScript directly):
 *   npx esbuild scripts/train/export-dataset.ts --bundle --platform=node --format=esm \
 *     --packages=external --outfile=.cache/export-dataset.mjs
 *   node .cache/export-dataset.mjs ct-train | ct-eval | ct-check | pet-train | pet-eval | ct-phantoms | pet-lesions | pet-train-independent
 *   node .cache/export-dataset.mjs ct-neighbours train | eval     # 2.5-D: adds the slices below / above
 *
 * CT training data, two noise components per slice. Insertion noise at dose d has per-ray variance
 *   A(d) Vq + B(d) Ve,  A = 1/d - 1,  B = 1/d^2 - 1,  Vq = e^p / I,  Ve = sigma_e^2 e^{2p} / I^2
 * (src/simulate/ct-noise.ts) and FBP is linear, so with M = insertion noise at the anchor dose
 * d_m = 0.05 (electronic noise on) and Q = an independent quantum-only realisation with A = 1
 * (dose 0.5, electronic noise 0),
 *   sqrt(a) M + sqrt(b) Q,  a = B(d) / B(d_m),  b = A(d) - a A(d_m)  (b >= 0 for d >= d_m)
 * has exactly the distribution of the simulator's noise at any d in [0.05, 1) (up to the photon
 * starvation clamp). `ct-check` verifies that against direct simulator calls.
 *
 * For a GPU machine that cannot take the shared volumes whole (docs/device.md):
 *   node .cache/export-dataset.mjs pack-sources <dir>   # only the training slices, as smaller NIfTIs
 *   LOWDOSE_SHARED=<dir> node export-dataset.mjs ct-train --shard 3/16   # one block of the slices
 *   node export-dataset.mjs merge-shards                # joins the blocks into the usual layout
 * A packed volume gives exactly the data of the full one: the same slices, seeds and calibrated i0.
 */
import { closeSync, existsSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sliceOf, type Image2D, type Volume } from '../../src/image.js';
import { CT_DEFAULTS, ctInsertionNoise, insertCtNoise, simulateCtFromTruth, type CtSimulationOptions } from '../../src/simulate/ct.js';
import { generatePhantom } from '../../src/phantoms/index.js';
import { Rng } from '../../src/util/random.js';
import { estimateVolumeCtI0 } from '../../src/simulate/calibrate.js';
import type { KernelPreset } from '../../src/simulate/filters.js';
import { simulatePet } from '../../src/simulate/pet.js';
import { doseKey as key, readF32 } from './cache-files.js';
import { ctKernelOf, readNiftiVolume, writeNiftiSubset, type NiftiVolume } from './nifti-volume.js';
import { insertPetLesions } from './pet-lesions.js';
import { makeDirectoriesSync } from '../../src/util/fs.js';

const here = path.dirname(fileURLToPath(import.meta.url));
// Works both from scripts/train (source) and from .cache (bundled).
const REPO = path.basename(here) === 'train' ? path.resolve(here, '../..') : path.resolve(here, '..');
const SHARED = process.env['LOWDOSE_SHARED'] ?? path.resolve(REPO, '../shared');
const CACHE = process.env['LOWDOSE_CACHE'] ?? path.join(REPO, '.cache');

export const CT_ANCHOR_DOSE = 0.05;
export const CT_EVAL_DOSES = [0.25, 0.1];
const ELECTRONIC_NOISE: number = CT_DEFAULTS.electronicNoise;
const PADDING_BELOW_HU = -1500;

/** Training and evaluation volumes and the slices used (every `stride`-th). */
const CT_TRAIN = [
  { name: 'lidc-0001-chest', stride: 2 },
  { name: 'crlm-1004-abdomen', stride: 1 },
];
const CT_EVAL = [
  { name: 'lidc-0314-chest', stride: 10 }, // validation
  { name: 'lungdx-a0001-chest-kernelB', stride: 4 },
  { name: 'lungdx-a0001-chest-kernelL', stride: 4 },
  { name: 'crlm-1006-abdomen', stride: 4 },
];

/**
 * Written by `pack-sources` into a packed volume's sidecar: the original slice numbers the file
 * holds (in order), the original slice count and the calibrated i0 of the whole volume.
 */
interface PackedSubset {
  readonly slices: number[];
  readonly sliceCount: number;
  readonly i0?: number;
}

function packedSubset(nv: NiftiVolume): PackedSubset | undefined {
  return nv.sidecar['lowdoseSubset'] as PackedSubset | undefined;
}

/** Slice count of the original volume (a packed file holds fewer). */
function sourceSliceCount(nv: NiftiVolume): number {
  return packedSubset(nv)?.sliceCount ?? nv.volume.slices.length;
}

/** Original slice numbers → [index in this file, original number], for full and packed files alike. */
function locate(nv: NiftiVolume, slices: number[]): Array<[number, number]> {
  const subset = packedSubset(nv);
  return slices.map((k) => {
    const at = subset ? subset.slices.indexOf(k) : k;
    if (at < 0 || at >= nv.volume.slices.length) throw new Error(`slice ${k} is not in ${nv.volume.description}'s file`);
    return [at, k];
  });
}

/** `--shard i/n`: this process exports the i-th of n contiguous blocks of each volume's slices. */
const SHARD = (() => {
  const at = process.argv.indexOf('--shard');
  if (at < 0) return undefined;
  const m = /^(\d+)\/(\d+)$/.exec(process.argv[at + 1] ?? '');
  if (!m || Number(m[1]) >= Number(m[2])) throw new Error('--shard wants i/n with 0 <= i < n');
  return { index: Number(m[1]), count: Number(m[2]) };
})();

function shardOf<T>(items: T[]): T[] {
  if (!SHARD) return items;
  const cut = (i: number) => Math.floor((i * items.length) / SHARD.count);
  return items.slice(cut(SHARD.index), cut(SHARD.index + 1));
}

function outputDir(dir: string): string {
  return SHARD ? `${dir}.shard-${SHARD.index}-of-${SHARD.count}` : dir;
}

function pickSlices(count: number, stride: number): number[] {
  const out: number[] = [];
  for (let k = Math.floor((count % stride) / 2); k < count; k += stride) out.push(k);
  return out;
}

class F32Writer {
  private readonly fd: number;
  constructor(file: string) {
    this.fd = openSync(file, 'w');
  }
  write(a: Float32Array): void {
    writeSync(this.fd, new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  }
  close(): void {
    closeSync(this.fd);
  }
}

function progress(msg: string): void {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${msg}\n`);
}

/**
 * Full-dose photon count matched to the volume's own noise (estimateVolumeCtI0: the median of
 * estimateCtI0 on the slices a quarter, half and three quarters in); a packed subset keeps the i0
 * it was packed with. Without it a fixed i0 would give 2 to 10 times the intended noise variance
 * at a nominal dose.
 */
const i0Cache = new Map<string, number>();
function calibratedI0(nv: NiftiVolume): number {
  const packed = packedSubset(nv)?.i0;
  if (packed !== undefined) return packed;
  const key = nv.volume.description + nv.volume.slices.length;
  const cached = i0Cache.get(key);
  if (cached !== undefined) return cached;
  const { i0, slices } = estimateVolumeCtI0(nv.volume, { kernel: ctKernelOf(nv.sidecar) });
  const est = slices.map((s) => s.i0).sort((a, b) => a - b);
  progress(`${nv.volume.description}: kernel ${ctKernelOf(nv.sidecar)}, calibrated i0 ${i0.toExponential(3)} from ${est.map((e) => e.toExponential(2)).join(', ')}`);
  i0Cache.set(key, i0);
  return i0;
}

/** What the noise insertion needs to know about the scan a volume comes from. */
interface CtScan {
  readonly kernel: KernelPreset;
  readonly i0: number;
}

function ctScan(nv: NiftiVolume): CtScan {
  return { kernel: ctKernelOf(nv.sidecar), i0: calibratedI0(nv) };
}

function ctOptions(scan: CtScan, dose: number, seed: number, sliceIndex: number, electronicNoise = ELECTRONIC_NOISE): CtSimulationOptions {
  return { dose, seed, sliceIndex, kernel: scan.kernel, electronicNoise, i0: scan.i0 };
}

/** Noise images of one slice: [M at the anchor dose, Q quantum-only unit noise], independent seeds. */
function ctComponents(scan: CtScan, img: Image2D, k: number, seed: number): [Float32Array, Float32Array] {
  const m = ctInsertionNoise(img, ctOptions(scan, CT_ANCHOR_DOSE, seed, k));
  const q = ctInsertionNoise(img, ctOptions(scan, 0.5, seed + 1, k, 0));
  for (let i = 0; i < img.data.length; i++) {
    if (img.data[i]! < PADDING_BELOW_HU) m[i] = q[i] = 0;
  }
  return [m, q];
}

/** Mixing weights (a, b) of the two components for dose d (see the file comment). */
export function ctMix(d: number): [number, number] {
  const A = (x: number) => 1 / x - 1;
  const B = (x: number) => 1 / (x * x) - 1;
  const a = B(d) / B(CT_ANCHOR_DOSE);
  return [a, A(d) - a * A(CT_ANCHOR_DOSE)];
}

function ctTrain(): void {
  for (const { name, stride } of CT_TRAIN) {
    const nv = readNiftiVolume(path.join(SHARED, 'ct', `${name}.nii.gz`));
    const v = nv.volume;
    const slices = shardOf(locate(nv, pickSlices(sourceSliceCount(nv), stride)));
    const dir = outputDir(path.join(CACHE, 'train', 'CT', name));
    makeDirectoriesSync(dir);
    const clean = new F32Writer(path.join(dir, 'clean.f32'));
    const unit = new F32Writer(path.join(dir, 'unit.f32'));
    for (const [j, [at, k]] of slices.entries()) {
      const img = sliceOf(v, at);
      const [m, q] = ctComponents(ctScan(nv), img, k, 1000);
      clean.write(img.data);
      unit.write(m);
      unit.write(q);
      progress(`ct-train ${name} slice ${k} (${j + 1}/${slices.length})`);
    }
    clean.close();
    unit.close();
    writeMeta(dir, nv, name, slices.map(([, k]) => k), {
      kind: 'ct-two-component',
      i0: calibratedI0(nv),
      anchorDose: CT_ANCHOR_DOSE,
      electronicNoise: ELECTRONIC_NOISE,
      kernel: ctKernelOf(nv.sidecar),
      arrays: { unit: { file: 'unit.f32', shape: [2, v.rows, v.columns], components: ['anchor', 'quantumUnit'] } },
    });
  }
}

/**
 * Body-phantom slices as an extra CT training volume (issue 5: "add phantom slices for variety if
 * they help; measure whether they do"). Only `body`: acr and iec stay unseen because `lowdose qa`
 * gates on them. Seeds and positions differ from the fixtures' (seed 13, 256 px). The "normal
 * dose" image is a simulated full-dose scan of the phantom (default i0, standard kernel), so its
 * noise texture is that of a scan, as in the real volumes; the two noise components are then made
 * from it exactly as for them.
 */
const CT_PHANTOM_TRAIN = { name: 'body-phantoms', slicesEach: 6, spacing: 5, volumes: [
  { seed: 201, centreZ: 150 }, { seed: 202, centreZ: 15 }, { seed: 203, centreZ: -100 },
] };

function ctPhantoms(): void {
  const scan: CtScan = { kernel: 'standard', i0: CT_DEFAULTS.i0 };
  const dir = outputDir(path.join(CACHE, 'train', 'CT', CT_PHANTOM_TRAIN.name));
  makeDirectoriesSync(dir);
  const clean = new F32Writer(path.join(dir, 'clean.f32'));
  const unit = new F32Writer(path.join(dir, 'unit.f32'));
  const jobs = CT_PHANTOM_TRAIN.volumes.flatMap((spec, v) => Array.from({ length: CT_PHANTOM_TRAIN.slicesEach }, (_, j) => ({ spec, v, j })));
  const mine = shardOf(jobs);
  if (mine.length === 0) throw new Error(`--shard: more shards than the ${jobs.length} phantom slices`);
  let volume: Volume | undefined;
  let cached = -1;
  for (const [n, { spec, v, j }] of mine.entries()) {
    if (cached !== v) {
      volume = generatePhantom('body', { size: 512, slices: CT_PHANTOM_TRAIN.slicesEach, spacing: CT_PHANTOM_TRAIN.spacing, seed: spec.seed, centreZ: spec.centreZ }).volume;
      cached = v;
    }
    const k = v * CT_PHANTOM_TRAIN.slicesEach + j;
    const truth = sliceOf(volume!, j);
    const { lowDose: full } = simulateCtFromTruth(truth, { ...ctOptions(scan, 1, 3000, k), fullDose: false });
    const [m, q] = ctComponents(scan, full, k, 1000);
    clean.write(full.data);
    unit.write(m);
    unit.write(q);
    progress(`ct-phantoms seed ${spec.seed} slice ${j} (${n + 1}/${mine.length})`);
  }
  clean.close();
  unit.close();
  writeMeta(dir, { volume: volume!, suvFactor: 1 }, CT_PHANTOM_TRAIN.name, mine.map(({ v, j }) => v * CT_PHANTOM_TRAIN.slicesEach + j), {
    kind: 'ct-two-component', source: { phantom: 'body', ...CT_PHANTOM_TRAIN }, i0: scan.i0, anchorDose: CT_ANCHOR_DOSE,
    electronicNoise: ELECTRONIC_NOISE, kernel: scan.kernel,
    arrays: { unit: { file: 'unit.f32', shape: [2, volume!.rows, volume!.columns], components: ['anchor', 'quantumUnit'] } },
  });
}

function ctEval(): void {
  for (const { name, stride } of CT_EVAL) {
    const nv = readNiftiVolume(path.join(SHARED, 'ct', `${name}.nii.gz`));
    const v = nv.volume;
    const slices = pickSlices(v.slices.length, stride);
    const dir = path.join(CACHE, 'eval', 'CT', name);
    makeDirectoriesSync(dir);
    const clean = new F32Writer(path.join(dir, 'clean.f32'));
    const lows = CT_EVAL_DOSES.map((d) => new F32Writer(path.join(dir, `low${key(d)}.f32`)));
    for (const [j, k] of slices.entries()) {
      const img = sliceOf(v, k);
      clean.write(img.data);
      CT_EVAL_DOSES.forEach((d, i) => lows[i]!.write(insertCtNoise(img, ctOptions(ctScan(nv), d, 7, k)).data));
      progress(`ct-eval ${name} slice ${k} (${j + 1}/${slices.length})`);
    }
    clean.close();
    lows.forEach((w) => w.close());
    const arrays: Record<string, { file: string; shape: number[] }> = {};
    for (const d of CT_EVAL_DOSES) {
      arrays[`low${key(d)}`] = { file: `low${key(d)}.f32`, shape: [v.rows, v.columns] };
    }
    writeMeta(dir, nv, name, slices, { kind: 'ct-eval', doses: CT_EVAL_DOSES, seed: 7, kernel: ctKernelOf(nv.sidecar), i0: calibratedI0(nv), arrays });
  }
}

// ---- 2.5-D: the slices below and above -----------------------------------------------------------

/** Below and above slice k, clamped at the ends: the pipeline gives an end slice itself as its missing neighbour. */
function neighboursOf(k: number, count: number): [number, number] {
  return [Math.max(k - 1, 0), Math.min(k + 1, count - 1)];
}

function addArrays(dir: string, arrays: Record<string, { file: string; shape: number[] }>): void {
  const meta = JSON.parse(readFileSync(path.join(dir, 'meta.json'), 'utf8')) as { arrays?: Record<string, unknown> };
  meta.arrays = { ...meta.arrays, ...arrays };
  writeFileSync(path.join(dir, 'meta.json'), JSON.stringify(meta, null, 1) + '\n');
}

/**
 * 2.5-D data (issue 5: the condition may include the slice's two neighbours), added to the folders
 * `ct-train` / `ct-eval` wrote: training gets nbclean [S, 2, rows, cols] and nbunit
 * [S, 2, 2, rows, cols] (below, above; each with the two noise components), evaluation
 * nblow<dose> [S, 2, rows, cols]. A neighbour's noise uses the seed and slice number a centre
 * export of it would, so a neighbour that is also an exported slice is read back, not recomputed.
 *   node export-dataset.mjs ct-neighbours train|eval
 */
function ctNeighbours(): void {
  const part = process.argv[3];
  if (part !== 'train' && part !== 'eval') throw new Error('usage: node export-dataset.mjs ct-neighbours train|eval');
  for (const { name } of part === 'train' ? CT_TRAIN : CT_EVAL) {
    const dir = path.join(CACHE, part, 'CT', name);
    const meta = JSON.parse(readFileSync(path.join(dir, 'meta.json'), 'utf8')) as { slices: number[]; rows: number; columns: number };
    const nv = readNiftiVolume(path.join(SHARED, 'ct', `${name}.nii.gz`));
    const scan = ctScan(nv);
    const count = nv.volume.slices.length;
    const plane = meta.rows * meta.columns;
    if (part === 'train') {
      const clean = readF32(path.join(dir, 'clean.f32'));
      const unit = readF32(path.join(dir, 'unit.f32'));
      const exported = new Map(meta.slices.map((k, j) => [k, j]));
      const nbClean = new F32Writer(path.join(dir, 'nbclean.f32'));
      const nbUnit = new F32Writer(path.join(dir, 'nbunit.f32'));
      for (const [i, k] of meta.slices.entries()) {
        for (const n of neighboursOf(k, count)) {
          const j = exported.get(n);
          if (j !== undefined) {
            nbClean.write(clean.subarray(j * plane, (j + 1) * plane));
            nbUnit.write(unit.subarray(2 * j * plane, 2 * (j + 1) * plane));
          } else {
            const img = sliceOf(nv.volume, n);
            const [m, q] = ctComponents(scan, img, n, 1000);
            nbClean.write(img.data);
            nbUnit.write(m);
            nbUnit.write(q);
          }
        }
        progress(`ct-neighbours train ${name} slice ${k} (${i + 1}/${meta.slices.length})`);
      }
      nbClean.close();
      nbUnit.close();
      addArrays(dir, {
        nbclean: { file: 'nbclean.f32', shape: [2, meta.rows, meta.columns] },
        nbunit: { file: 'nbunit.f32', shape: [2, 2, meta.rows, meta.columns] },
      });
    } else {
      const keys = CT_EVAL_DOSES.map((d) => `nblow${key(d)}`);
      const writers = keys.map((key) => new F32Writer(path.join(dir, `${key}.f32`)));
      for (const [i, k] of meta.slices.entries()) {
        for (const n of neighboursOf(k, count)) {
          const img = sliceOf(nv.volume, n);
          CT_EVAL_DOSES.forEach((d, w) => writers[w]!.write(insertCtNoise(img, ctOptions(scan, d, 7, n)).data));
        }
        progress(`ct-neighbours eval ${name} slice ${k} (${i + 1}/${meta.slices.length})`);
      }
      writers.forEach((w) => w.close());
      addArrays(dir, Object.fromEntries(keys.map((key) => [key, { file: `${key}.f32`, shape: [2, meta.rows, meta.columns] }])));
    }
  }
}

/** Std of the noise over pixels inside the reconstruction (noise != 0). */
function noiseStd(a: Float32Array): number {
  let s = 0;
  let s2 = 0;
  let n = 0;
  for (const x of a) {
    if (x !== 0) {
      s += x;
      s2 += x * x;
      n++;
    }
  }
  const m = s / n;
  return Math.sqrt(s2 / n - m * m);
}

/** Two-component mixture vs direct simulator noise, same slices, independent seeds. */
function ctCheck(): void {
  const rows: Record<string, unknown>[] = [];
  for (const name of ['lidc-0314-chest', 'crlm-1006-abdomen']) {
    const nv = readNiftiVolume(path.join(SHARED, 'ct', `${name}.nii.gz`));
    for (const k of pickSlices(nv.volume.slices.length, Math.ceil(nv.volume.slices.length / 3))) {
      const img = sliceOf(nv.volume, k);
      const [m, q] = ctComponents(ctScan(nv), img, k, 50);
      for (const d of CT_EVAL_DOSES) {
        const direct = ctInsertionNoise(img, ctOptions(ctScan(nv), d, 77, k));
        const [a, b] = ctMix(d);
        const mix = new Float32Array(m.length);
        for (let i = 0; i < m.length; i++) mix[i] = Math.sqrt(a) * m[i]! + Math.sqrt(b) * q[i]!;
        const [A] = [1 / d - 1];
        const quantumOnly = Math.sqrt(A) * noiseStd(q);
        const row = {
          volume: name, slice: k, dose: d,
          directStd: +noiseStd(direct).toFixed(3), mixStd: +noiseStd(mix).toFixed(3),
          ratio: +(noiseStd(mix) / noiseStd(direct)).toFixed(4),
          quantumOnlyScaledStd: +quantumOnly.toFixed(3),
          quantumOnlyRatio: +(quantumOnly / noiseStd(direct)).toFixed(4),
        };
        rows.push(row);
        progress(JSON.stringify(row));
      }
    }
  }
  const out = path.join(CACHE, 'ct-noise-check.json');
  makeDirectoriesSync(CACHE);
  writeFileSync(out, JSON.stringify(rows, null, 2) + '\n');
  console.log(JSON.stringify(rows));
}

function writeMeta(dir: string, nv: Pick<NiftiVolume, 'volume' | 'suvFactor'>, name: string, slices: number[], extra: Record<string, unknown>): void {
  const v = nv.volume;
  const meta = {
    volume: name, modality: v.modality, units: v.units, rows: v.rows, columns: v.columns,
    spacing: v.spacing, slices, suvFactor: nv.suvFactor, orientation: 'DICOM rows x columns (NIfTI slab as stored, see nifti-volume.ts)',
    ...extra,
  };
  writeFileSync(path.join(dir, 'meta.json'), JSON.stringify(meta, null, 1) + '\n');
}

// ---- PET -------------------------------------------------------------------------------------
// Pairs from one simulator call: the reduced-count reconstruction and the full-count one from the
// same events plus the rest (the matched reference: a real image re-reconstructed changes its
// resolution, see src/simulate/pet.ts). Both in Bq/ml; meta.suvFactor converts to SUVbw.

export const PET_TRAIN_FRACTIONS = [0.05, 0.1, 0.2, 0.35, 0.5];
export const PET_EVAL_FRACTIONS = [0.25, 0.1];
/** qin-hn-0139 is one patient: its last slices (after a gap) are validation, the rest training. */
const PET_VAL_FROM = 460;
const PET_TRAIN_TO = 440;

function petExport(
  kind: 'train' | 'eval', name: string, slices: number[], fractions: number[], seed: number, label = name,
  edit?: (img: Image2D, sliceIndex: number, thicknessMm: number) => { image: Image2D; lesion: Float32Array },
  /** Train target from independent events: a full-count scan of its own seed, not the input's events plus the rest. */
  independentTarget = false,
): void {
  const nv = readNiftiVolume(path.join(SHARED, 'pet', `${name}.nii.gz`));
  const v = nv.volume;
  const dir = outputDir(path.join(CACHE, kind, 'PT', label));
  makeDirectoriesSync(dir);
  const located = shardOf(locate(nv, slices));
  const clean = new F32Writer(path.join(dir, 'clean.f32'));
  const arrays: Record<string, { file: string; shape: number[] }> = {};
  const writers = new Map<string, F32Writer>();
  const open = (k: string, shape: number[]) => {
    arrays[k] = { file: `${k}.f32`, shape };
    writers.set(k, new F32Writer(path.join(dir, `${k}.f32`)));
  };
  if (kind === 'train') {
    open('low', [fractions.length, v.rows, v.columns]);
    open('full', [fractions.length, v.rows, v.columns]);
    // The inserted lesions' partial-volume coverage (0..1): train.py --lesion-weight weights the loss there.
    if (edit) open('lesion', [v.rows, v.columns]);
  } else {
    for (const d of fractions) {
      open(`low${key(d)}`, [v.rows, v.columns]);
      open(`ref${key(d)}`, [v.rows, v.columns]);
    }
  }
  for (const [j, [at, k]] of located.entries()) {
    const edited = edit?.(sliceOf(v, at), k, v.spacing[2]);
    const img = edited ? edited.image : sliceOf(v, at);
    if (edited) writers.get('lesion')!.write(edited.lesion);
    clean.write(img.data);
    const pairs = fractions.map((d) => simulatePet(img, { countsFraction: d, seed, sliceIndex: k, sliceThicknessMm: v.spacing[2], fullDose: !independentTarget }));
    if (kind === 'train') {
      for (const p of pairs) writers.get('low')!.write(p.lowDose.data);
      // The same independent full-count scan is every fraction's target (its own Poisson draw).
      const independent = independentTarget ? simulatePet(img, { countsFraction: 1, seed: seed + 7919, sliceIndex: k, sliceThicknessMm: v.spacing[2], fullDose: false }).lowDose.data : null;
      for (const p of pairs) writers.get('full')!.write(independent ?? p.fullDose!.data);
    } else {
      fractions.forEach((d, i) => {
        writers.get(`low${key(d)}`)!.write(pairs[i]!.lowDose.data);
        writers.get(`ref${key(d)}`)!.write(pairs[i]!.fullDose!.data);
      });
    }
    progress(`pet-${kind} ${label} slice ${k} (${j + 1}/${located.length})`);
  }
  clean.close();
  writers.forEach((w) => w.close());
  writeMeta(dir, nv, label, located.map(([, k]) => k), { kind: `pet-${kind}`, doses: fractions, seed, source: name, arrays });
}

function range(from: number, to: number, stride: number): number[] {
  const out: number[] = [];
  for (let k = from; k < to; k += stride) out.push(k);
  return out;
}

const PET_TRAIN = { name: 'qin-hn-0139-pet', slices: range(0, PET_TRAIN_TO, 3) };

function petTrain(): void {
  petExport('train', PET_TRAIN.name, PET_TRAIN.slices, PET_TRAIN_FRACTIONS, 2000);
}

/**
 * `pet-train-independent`: the PET training slices with each target a full-count scan of
 * independent events (the input's are not in it), so that a least-squares network is not taught to
 * keep the share of the input's noise the same-events target carries (models/README.md). Same
 * folder name as pet-train: export it under another LOWDOSE_CACHE.
 */
function petTrainIndependent(): void {
  petExport('train', PET_TRAIN.name, PET_TRAIN.slices, PET_TRAIN_FRACTIONS, 2000, PET_TRAIN.name, undefined, true);
}

function petLesions(): void {
  petExport('train', PET_TRAIN.name, PET_TRAIN.slices, PET_TRAIN_FRACTIONS, 2001, 'pet-lesions',
    (img, k, thickness) => {
      const lesion = new Float32Array(img.rows * img.columns);
      return { image: insertPetLesions(img, new Rng(3000, k), thickness, lesion), lesion };
    });
}

function petEval(): void {
  petExport('eval', 'qin-hn-0139-pet', range(PET_VAL_FROM, 545, 5), PET_EVAL_FRACTIONS, 7, 'qin-hn-0139-pet:val');
  petExport('eval', 'sts-001-pet', range(0, 267, 5), PET_EVAL_FRACTIONS, 7);
}

// ---- Packed sources and shards (docs/device.md) ------------------------------------------------

function packVolume(folder: 'ct' | 'pet', name: string, slices: number[], targetDir: string, i0?: number): void {
  const source = path.join(SHARED, folder, `${name}.nii.gz`);
  const nv = readNiftiVolume(source);
  const dir = path.join(targetDir, folder);
  makeDirectoriesSync(dir);
  writeNiftiSubset(source, path.join(dir, `${name}.nii.gz`), slices);
  const subset: PackedSubset = { slices, sliceCount: nv.volume.slices.length, ...(i0 !== undefined ? { i0 } : {}) };
  writeFileSync(path.join(dir, `${name}.json`), JSON.stringify({ ...nv.sidecar, lowdoseSubset: subset }, null, 1) + '\n');
  progress(`packed ${folder}/${name}: ${slices.length} of ${nv.volume.slices.length} slices`);
}

/** The training slices only, as NIfTIs small enough to carry to a GPU machine with the export. */
function packSources(): void {
  const target = process.argv[3];
  if (!target) throw new Error('usage: node export-dataset.mjs pack-sources <dir>');
  for (const { name, stride } of CT_TRAIN) {
    const nv = readNiftiVolume(path.join(SHARED, 'ct', `${name}.nii.gz`));
    packVolume('ct', name, pickSlices(nv.volume.slices.length, stride), target, calibratedI0(nv));
  }
  packVolume('pet', PET_TRAIN.name, PET_TRAIN.slices, target);
}

/** Joins `<volume>.shard-i-of-n` folders (in i order) into `<volume>`, then removes them. */
function mergeShards(): void {
  for (const root of ['train', 'eval'].flatMap((k) => ['CT', 'PT'].map((m) => path.join(CACHE, k, m)))) {
    if (!existsSync(root)) continue;
    const groups = new Map<string, string[]>();
    for (const entry of readdirSync(root)) {
      const m = /^(.*)\.shard-(\d+)-of-(\d+)$/.exec(entry);
      if (!m) continue;
      const list = groups.get(m[1]!) ?? new Array<string>(Number(m[3])).fill('');
      list[Number(m[2])] = entry;
      groups.set(m[1]!, list);
    }
    for (const [volume, shards] of groups) {
      if (shards.some((s) => s === '')) throw new Error(`${root}/${volume}: missing shards (${shards.join(', ')})`);
      const metas = shards.map((s) => JSON.parse(readFileSync(path.join(root, s, 'meta.json'), 'utf8')) as Record<string, unknown>);
      const files = ['clean.f32', ...Object.values(metas[0]!['arrays'] as Record<string, { file: string }>).map((a) => a.file)];
      const dir = path.join(root, volume);
      makeDirectoriesSync(dir);
      for (const file of files) {
        const fd = openSync(path.join(dir, file), 'w');
        for (const s of shards) writeSync(fd, readFileSync(path.join(root, s, file)));
        closeSync(fd);
      }
      const slices = metas.flatMap((m) => m['slices'] as number[]);
      writeFileSync(path.join(dir, 'meta.json'), JSON.stringify({ ...metas[0], slices }, null, 1) + '\n');
      for (const s of shards) rmSync(path.join(root, s), { recursive: true });
      progress(`merged ${shards.length} shards of ${path.relative(CACHE, dir)}: ${slices.length} slices`);
    }
  }
}

const commands: Record<string, () => void> = {
  'ct-train': ctTrain, 'ct-eval': ctEval, 'ct-check': ctCheck, 'pet-train': petTrain, 'pet-eval': petEval,
  'ct-phantoms': ctPhantoms, 'pet-lesions': petLesions, 'pet-train-independent': petTrainIndependent, 'ct-neighbours': ctNeighbours, 'pack-sources': packSources, 'merge-shards': mergeShards,
};
const cmd = process.argv[2] ?? '';
const run = commands[cmd];
if (!run) {
  console.error(`usage: node export-dataset.mjs ${Object.keys(commands).join(' | ')}`);
  process.exit(2);
}
run();
