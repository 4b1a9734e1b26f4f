/**
 * Is the low-count PET input itself biased for small lesions, against the full-count
 * reconstruction of the same events, and why? (models/eval/pet-input-bias.md)
 *
 * The measurement-consistency step restores the input's local means, so it assumes they are
 * unbiased. This script measures the input's expected SUVmean / SUVmax / SUVpeak bias per lesion
 * size over many Poisson realisations of the same activity (mean ± standard error), and splits it
 * into the two images' own biases against the noise-free reconstruction: OSEM of the expected
 * (noise-free) sinogram with the same model, which is the same image at every count level (ML-EM
 * and OSEM updates are invariant to scaling data, weights and background by one factor), so any
 * count-level difference in expectation comes from the noise passing through a non-linear
 * reconstruction.
 *
 *   npx tsx scripts/experiments/pet-input-bias.ts sts --placements 11,12 --noise 8          # lesions in sts-001
 *   npx tsx scripts/experiments/pet-input-bias.ts iec --realisations 0-4,20-39            # the IEC phantom
 *   npx tsx scripts/experiments/pet-input-bias.ts iec --realisations 0-4,20-39 --variant nofilter
 *   npx tsx scripts/experiments/pet-input-bias.ts sts --placements 11,12 --noise 4 --model   # + the card and consistency off
 *
 * sts: lesions placed as scripts/evaluate/pet-lesions.ts places them (placement seed p, 1 lesion
 * per diameter by default, `--per-size`), Poisson seed p * 1000 + n for noise realisation n
 * (n = 0 uses p itself; `noiseSeed`, the seeds of pet-lesions.ts --noise-realisations). Only validation placements belong here:
 * pet-lesions.ts's test placements are seeds 1-3. iec: the phantom of fixtures/iec (128 x 128, 4
 * slices, 3 mm, 180 s frame), realisation k scanned with the seeds consistency-count-level.ts's
 * fixtures use (k = 0: 1400 / 1401 at 25 / 10 %; k >= 1: (100 + k) * 100 + dose index); the 10 %
 * scan is scored against the full-count reconstruction of its own events.
 *
 * --variant changes the simulator/reconstruction for low, full and noise-free alike: base (OSEM
 * 3 x 12, 4 mm post-filter), nofilter (no post-filter), iter1 (1 x 12), iter10 (10 x 12), iter30 (30 x 12),
 * mlem36 (36 iterations of 1 subset: the same number of updates as 3 x 12 without subsets), nobg
 * (no scatter + randoms background), counts4 (4 x the counts: the 25 % scan then has the base
 * full-count statistics). Writes the summary to stdout (markdown) and --json <file>.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Image2D } from '../../src/image.js';
import { lesionStats, PEAK_RADIUS_MM, type Lesion, type PlacedImage } from '../../src/metrics/lesions.js';
import { Denoiser } from '../../src/models/denoiser.js';
import { generateIec } from '../../src/phantoms/index.js';
import { simulatePet, type PetSimulationOptions } from '../../src/simulate/pet.js';
import { Rng } from '../../src/util/random.js';
import { readNiftiVolume } from '../train/nifti-volume.js';
import { insertLesions, placeLesions, slicesNeeded, type VolumeGrid } from '../evaluate/pet-lesions/lesions.js';
import { asLesion } from '../evaluate/pet-lesions/score.js';
import { noiseSeed } from '../evaluate/pet-lesions/draws.js';
import { indexRanges, optionReader } from './cli-args.js';
import { makeDirectoriesSync } from '../../src/util/fs.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const target = args[0];
const opt = optionReader(args);
const log = (m: string) => process.stderr.write(`${m}\n`);
if (target !== 'sts' && target !== 'iec') {
  log('usage: pet-input-bias.ts sts|iec [--placements 11,12] [--noise N] [--realisations 0-4,20-39] [--doses 0.25,0.1] [--variant base] [--model] [--json out.json]');
  process.exit(2);
}
const DOSES = opt('doses', '0.25,0.1').split(',').map(Number);
const VARIANT = opt('variant', 'base');
const VARIANTS: Record<string, Partial<PetSimulationOptions> & { countsFactor?: number }> = {
  base: {},
  nofilter: { postFilterFwhmMm: 0 },
  iter1: { iterations: 1 },
  iter10: { iterations: 10 },
  iter30: { iterations: 30 },
  mlem36: { iterations: 36, subsets: 1 },
  nobg: { backgroundFraction: 0 },
  counts4: { countsFactor: 4 },
};
const variant = VARIANTS[VARIANT];
if (!variant) throw new Error(`--variant: one of ${Object.keys(VARIANTS).join(', ')}`);
const { countsFactor = 1, ...simOptions } = variant;
const WITH_MODEL = args.includes('--model');
const JSON_OUT = opt('json', '');

/** One scene: slices of activity (Bq/ml), where they are, the lesions, and how to simulate them. */
interface Scene {
  readonly label: string;
  readonly slices: Float32Array[];
  readonly positions: Array<readonly [number, number, number]>;
  readonly sliceIndices: number[];
  readonly lesions: Lesion[];
  readonly diameters: number[];
  readonly rows: number;
  readonly columns: number;
  readonly spacing: [number, number];
  readonly sliceThicknessMm: number;
  readonly frameDurationS: number;
  /** Image value -> SUV. */
  readonly suvFactor: number;
  /** Poisson seed of noise realisation n at dose index k. */
  readonly seed: (n: number, k: number) => number;
  readonly noise: number;
}

function stsScenes(): Scene[] {
  const nv = readNiftiVolume(path.resolve(REPO, opt('volume', '../shared/pet/sts-001-pet.nii.gz')));
  const volume = nv.volume;
  const grid: VolumeGrid = { rows: volume.rows, columns: volume.columns, slices: volume.slices.length, dy: volume.spacing[0], dx: volume.spacing[1], dz: volume.spacing[2] };
  const suv = volume.slices.map((s) => s.map((v) => v * nv.suvFactor));
  const placements = opt('placements', '11,12').split(',').map(Number);
  if (placements.some((p) => p >= 1 && p <= 3)) throw new Error('placements 1-3 are the test placements of scripts/evaluate/pet-lesions.ts');
  const diameters = opt('diameters', '10,13,17,22,28,37').split(',').map(Number);
  return placements.map((p) => {
    const lesions = placeLesions(suv, grid, new Rng(p, 0x1e51), { diametersMm: diameters, perSize: Number(opt('per-size', '1')) });
    const indices = slicesNeeded(grid, lesions, PEAK_RADIUS_MM + grid.dz);
    const bq = lesions.map((l) => ({ ...l, activity: l.activity / nv.suvFactor, background: l.background / nv.suvFactor }));
    const withLesions = insertLesions(volume.slices, grid, bq);
    return {
      label: `placement ${p}`,
      slices: indices.map((k) => withLesions[k]!),
      positions: indices.map((k) => [0, 0, k * grid.dz] as const),
      sliceIndices: indices,
      lesions: lesions.map(asLesion),
      diameters: lesions.map((l) => l.diameterMm),
      rows: grid.rows,
      columns: grid.columns,
      spacing: [grid.dy, grid.dx],
      sliceThicknessMm: grid.dz,
      frameDurationS: 120,
      suvFactor: nv.suvFactor,
      seed: (n) => noiseSeed(p, n),
      noise: Number(opt('noise', '4')),
    };
  });
}

function iecScenes(): Scene[] {
  const phantom = generateIec({ size: 128, slices: 4, spacing: 3, seed: 14 });
  const v = phantom.volume;
  const lesions = phantom.geometry.spheres.map((s) => ({ name: `${s.diameter} mm`, centre: s.centre, radius: s.diameter / 2 }));
  const background = phantom.geometry.backgroundBqml;
  // One scene whose "noise realisations" are the fixture realisations listed.
  const realisations = indexRanges(opt('realisations', '0-4,20-39'));
  if (realisations.some((k) => k >= 5 && k <= 19)) throw new Error('IEC realisations 5-19 are the test realisations');
  return [
    {
      label: 'IEC',
      slices: v.slices,
      positions: v.slices.map((_, k) => [phantom.origin[0], phantom.origin[1], phantom.origin[2] + k * v.spacing[2]] as const),
      sliceIndices: v.slices.map((_, k) => k),
      lesions,
      diameters: phantom.geometry.spheres.map((s) => s.diameter),
      rows: v.rows,
      columns: v.columns,
      spacing: [v.spacing[0], v.spacing[1]],
      sliceThicknessMm: v.spacing[2],
      frameDurationS: 180,
      suvFactor: 1 / background,
      seed: (n, k) => {
        const r = realisations[n]!;
        return r === 0 ? 1400 + k : (100 + r) * 100 + k;
      },
      noise: realisations.length,
    },
  ];
}

const scenes = target === 'sts' ? stsScenes() : iecScenes();

function simulate(scene: Scene, options: PetSimulationOptions): { low: Float32Array[]; full: Float32Array[] } {
  const low: Float32Array[] = [];
  const full: Float32Array[] = [];
  for (const [j, data] of scene.slices.entries()) {
    const image: Image2D = { rows: scene.rows, columns: scene.columns, pixelSpacing: scene.spacing, data };
    const r = simulatePet(
      image,
      { ...simOptions, sliceIndex: scene.sliceIndices[j]!, sliceThicknessMm: scene.sliceThicknessMm, frameDurationS: scene.frameDurationS * countsFactor, ...options },
    );
    low.push(r.lowDose.data.map((x) => x * scene.suvFactor));
    full.push((r.fullDose ?? r.lowDose).data.map((x) => x * scene.suvFactor));
  }
  return { low, full };
}

const place = (scene: Scene, data: Float32Array[]): PlacedImage[] =>
  data.map((d, j) => ({ rows: scene.rows, columns: scene.columns, pixelSpacing: scene.spacing, data: d, position: scene.positions[j]! }));

type Stat = 'mean' | 'max' | 'peak';
const STATS: Stat[] = ['mean', 'max', 'peak'];
/** Per (row, dose, diameter, stat): the per-lesion-realisation relative differences. */
const samples = new Map<string, number[]>();
const push = (key: string, v: number) => {
  const list = samples.get(key) ?? [];
  list.push(v);
  samples.set(key, list);
};
const rowNames = ['low vs full', 'low vs noise-free', 'full vs noise-free', ...(WITH_MODEL ? ['card vs full', 'consistency off vs full', 'card vs input', 'consistency off vs input'] : [])];

const CARD = path.join(REPO, 'models/lowdose-pet.json');
const models = WITH_MODEL
  ? await (async () => {
      const raw = JSON.parse(readFileSync(CARD, 'utf8')) as { onnx: string; sampler: { consistency?: unknown } };
      raw.onnx = path.resolve(path.dirname(CARD), raw.onnx);
      delete raw.sampler.consistency;
      const dir = path.join(REPO, '.cache/eval/pet-input-bias');
      makeDirectoriesSync(dir);
      const off = path.join(dir, 'lowdose-pet-consistency-off.json');
      writeFileSync(off, JSON.stringify(raw));
      return {
        card: await Denoiser.load(CARD, { modality: 'PT', device: 'cpu', threads: 1 }),
        off: await Denoiser.load(off, { modality: 'PT', device: 'cpu', threads: 1 }),
      };
    })()
  : null;

const started = Date.now();
for (const scene of scenes) {
  // The noise-free reconstruction: the expected sinogram at an enormous count (Poisson noise ~1e-4 %).
  const noiseFree = place(scene, simulate(scene, { countsFraction: 1, trueCounts: 1e12, fullDose: false, seed: 0 }).full);
  const nf = scene.lesions.map((l) => lesionStats(noiseFree, l));
  for (const [k, dose] of DOSES.entries()) {
    for (let n = 0; n < scene.noise; n++) {
      const sim = simulate(scene, { countsFraction: dose, seed: scene.seed(n, k) });
      const low = place(scene, sim.low);
      const full = place(scene, sim.full);
      const outputs: Array<[string, PlacedImage[]]> = [];
      if (models) {
        const shape = { rows: low[0]!.rows, columns: low[0]!.columns, pixelSpacing: scene.spacing };
        for (const [name, m] of [['card vs full', models.card], ['consistency off vs full', models.off]] as const) {
          const r = await m.with({ doseLevel: dose }).denoise(sim.low.map((image, j) => ({ index: scene.sliceIndices[j]!, image })), shape);
          outputs.push([name, place(scene, r.denoised)]);
        }
      }
      for (const [i, lesion] of scene.lesions.entries()) {
        const a = lesionStats(low, lesion);
        const b = lesionStats(full, lesion);
        const d = scene.diameters[i]!;
        for (const s of STATS) {
          push(`low vs full|${dose}|${d}|${s}`, a[s] / b[s] - 1);
          push(`low vs noise-free|${dose}|${d}|${s}`, a[s] / nf[i]![s] - 1);
          push(`full vs noise-free|${dose}|${d}|${s}`, b[s] / nf[i]![s] - 1);
        }
        for (const [name, out] of outputs) {
          const o = lesionStats(out, lesion);
          for (const s of STATS) {
            push(`${name}|${dose}|${d}|${s}`, o[s] / b[s] - 1);
            // Paired with the input of the same events: what the model adds to the input's bias.
            push(`${name.replace(' vs full', ' vs input')}|${dose}|${d}|${s}`, o[s] / a[s] - 1);
          }
        }
      }
      log(`${scene.label}, ${dose * 100} %, noise ${n + 1}/${scene.noise} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
    }
  }
}
await Promise.all([models?.card.release(), models?.off.release()]);

// Mean ± standard error. The lesions of a size in one scene share nothing but the volume, and
// every realisation is independent, so every (lesion, realisation) value counts as one sample; with
// several placements the SE also holds the spread between lesions (placement-to-placement bias).
const summary = (values: number[]) => {
  const m = values.reduce((a, b) => a + b, 0) / values.length;
  const sd = Math.sqrt(values.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, values.length - 1));
  return { mean: m, se: sd / Math.sqrt(values.length), n: values.length };
};
const diameters = [...new Set(scenes.flatMap((s) => s.diameters))].sort((a, b) => a - b);
const f = (x: { mean: number; se: number }) => `${x.mean >= 0 ? '+' : ''}${(100 * x.mean).toFixed(1)} ± ${(100 * x.se).toFixed(1)}`;
const lines = [`Command: \`npx tsx scripts/experiments/pet-input-bias.ts ${args.join(' ')}\``, ''];
const json: Record<string, unknown> = { command: args, variant: VARIANT, scenes: scenes.map((s) => ({ label: s.label, lesions: s.lesions, noise: s.noise })), results: {} };
for (const dose of DOSES) {
  lines.push(`${dose * 100} % counts, variant ${VARIANT}: bias %, mean ± SE (n = lesion x realisation samples per size)`, '');
  lines.push(`| row | stat | ${diameters.map((d) => `${d} mm`).join(' | ')} |`, `| --- | --- |${diameters.map(() => ' --- |').join('')}`);
  for (const row of rowNames) {
    for (const s of STATS) {
      const cells = diameters.map((d) => {
        const v = samples.get(`${row}|${dose}|${d}|${s}`);
        if (!v) return '-';
        const r = summary(v);
        (json.results as Record<string, unknown>)[`${row}|${dose}|${d}|${s}`] = r;
        return `${f(r)} (${r.n})`;
      });
      lines.push(`| ${row} | SUV${s} | ${cells.join(' | ')} |`);
    }
  }
  lines.push('');
}
process.stdout.write(`${lines.join('\n')}\n`);
if (JSON_OUT) writeFileSync(JSON_OUT, `${JSON.stringify(json, null, 1)}\n`);
