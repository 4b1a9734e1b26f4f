/**
 * Measures the sFRC hallucination map (src/metrics/sfrc.ts) on the real quarter / full-dose CT
 * pairs (../shared/ldct-mayo): how many patches it flags on faithful images (the full dose plus
 * noise at its own level, the quarter dose itself, the shipped model's output), with the paper's
 * plain FRC and with noise compensation, and how often it catches a disc pasted into the model's
 * output (a fake lesion), by size, contrast and place (quiet soft tissue or anywhere in tissue).
 * A catch is a patch over the disc's centre that is flagged with the disc and was not without it.
 *
 *   npx tsx scripts/uncertainty/sfrc-eval.ts            # writes models/eval/sfrc-ct.{json,md}
 *   npx tsx scripts/uncertainty/sfrc-eval.ts --threads 1   # the model on one CPU thread (default: onnxruntime's)
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readSliceImage, scanPaths } from '../../src/dicom/index.js';
import type { Image2D } from '../../src/image.js';
import { pairSlices } from '../../src/metrics/slice-pairing.js';
import { DEFAULT_PADDING_FILL, fillPadding } from '../../src/padding.js';
import { resolveSfrcOptions, sfrcSlice, type ResolvedSfrcOptions, type SfrcSliceResult } from '../../src/metrics/sfrc.js';
import { createSliceDenoiser } from '../../src/pipeline/slice-denoiser.js';
import { Rng } from '../../src/util/random.js';
import { roundTo } from '../../src/util/round.js';
import { scalarText } from '../../src/util/text.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(here, '../..');
const MAYO = path.resolve(REPO, '..', 'shared', 'ldct-mayo');

const { values: args } = parseArgs({ options: { threads: { type: 'string' } } });
// On a shared machine the model's thread count is the caller's to limit; the flags do not depend on it.
const THREADS = args.threads === undefined ? undefined : Number(args.threads);
if (THREADS !== undefined && !(Number.isInteger(THREADS) && THREADS > 0)) throw new Error(`--threads: a positive integer, got ${args.threads}`);

interface Slice {
  readonly full: Image2D;
  readonly quarter: Image2D;
  readonly denoised: Float32Array;
}

const SETTINGS: Record<string, ResolvedSfrcOptions> = {
  'default (32 px, stride 16, compensated)': resolveSfrcOptions(),
  "paper (64 px, stride 64, plain FRC)": resolveSfrcOptions({ patchSize: 64, stride: 64, noiseCompensation: false }),
  'plain FRC, 32 px, stride 16': resolveSfrcOptions({ noiseCompensation: false }),
  'compensated, 64 px, stride 64': resolveSfrcOptions({ patchSize: 64, stride: 64 }),
};

async function load(patient: string, kernel: string): Promise<Slice[]> {
  const base = path.join(MAYO, patient, kernel);
  const full = (await scanPaths([path.join(base, 'full')])).series[0]!;
  const quarter = (await scanPaths([path.join(base, 'quarter')])).series[0]!;
  const denoiser = await createSliceDenoiser('CT', { outDir: '', device: 'cpu', seed: 0, ...(THREADS !== undefined ? { threads: THREADS } : {}) }, () => {});
  await denoiser.prepare(quarter);
  const out: Slice[] = [];
  try {
    for (const [f, q] of pairSlices(full, quarter).pairs) {
      const fi = await readSliceImage(full, f);
      const qi = await readSliceImage(quarter, q);
      const filled = fillPadding(qi.data, qi.padding, qi.rows, qi.columns, DEFAULT_PADDING_FILL);
      const result = await denoiser.denoise([{ index: q, image: filled }]);
      out.push({ full: fi, quarter: qi, denoised: result.denoised[0]! });
    }
  } finally {
    await denoiser.release();
  }
  return out;
}

function run(test: ArrayLike<number>, ref: Image2D, options: ResolvedSfrcOptions): SfrcSliceResult {
  return sfrcSlice({ rows: ref.rows, columns: ref.columns, test, reference: ref.data, pixelSpacing: ref.pixelSpacing, units: 'HU' }, options);
}

function faithful(s: Slice): Float32Array {
  // (Q − F) / sqrt(3.5..4.6) would be the full dose's own SD; sqrt 3 errs on the noisier side.
  return s.full.data.map((v, i) => v + (s.quarter.data[i]! - v) / Math.sqrt(3));
}

function fraction(results: SfrcSliceResult[]): { flagged: number; patches: number; fraction: number } {
  const flagged = results.reduce((n, r) => n + r.patches.filter((p) => p.flagged).length, 0);
  const patches = results.reduce((n, r) => n + r.patches.length, 0);
  return { flagged, patches, fraction: roundTo(flagged / patches, 4) };
}

function paste(image: Float32Array, ref: Image2D, row: number, column: number, radiusMm: number, hu: number): Float32Array {
  const out = image.slice();
  const r = radiusMm / ref.pixelSpacing[0];
  for (let y = Math.max(0, Math.floor(row - r - 2)); y < Math.min(ref.rows, row + r + 2); y++) {
    for (let x = Math.max(0, Math.floor(column - r - 2)); x < Math.min(ref.columns, column + r + 2); x++) {
      const w = Math.min(1, Math.max(0, r + 0.5 - Math.hypot(y - row, x - column)));
      out[y * ref.columns + x] = out[y * ref.columns + x]! + hu * w;
    }
  }
  return out;
}

/** A random disc centre in tissue: quiet = flat soft tissue (20 x 20 px mean 0..150 HU, SD < 15). */
function place(ref: Image2D, rng: Rng, quiet: boolean): [number, number] | null {
  for (let attempt = 0; attempt < 5000; attempt++) {
    const row = 40 + Math.floor(rng.uniform() * (ref.rows - 80));
    const column = 40 + Math.floor(rng.uniform() * (ref.columns - 80));
    let sum = 0;
    let sum2 = 0;
    for (let y = row - 10; y < row + 10; y++) {
      for (let x = column - 10; x < column + 10; x++) {
        const v = ref.data[y * ref.columns + x]!;
        sum += v;
        sum2 += v * v;
      }
    }
    const mean = sum / 400;
    const sd = Math.sqrt(Math.max(0, sum2 / 400 - mean * mean));
    if (quiet ? mean > 0 && mean < 150 && sd < 15 : mean > -100 && mean < 300) return [row, column];
  }
  return null;
}

function covering(result: SfrcSliceResult, row: number, column: number, size: number) {
  return result.patches.filter((p) => p.row <= row && row < p.row + size && p.column <= column && column < p.column + size);
}

async function main(): Promise<void> {
  const sets: Array<[string, Slice[]]> = [];
  for (const patient of ['L143', 'L192']) for (const kernel of ['B30f', 'D45f']) sets.push([`${patient} ${kernel}`, await load(patient, kernel)]);

  const falsePositives: Array<Record<string, unknown>> = [];
  for (const [name, slices] of sets) {
    for (const [setting, options] of Object.entries(SETTINGS)) {
      const row: Record<string, unknown> = { set: name, setting };
      for (const [what, pick] of [
        ['full dose + own noise', faithful],
        ['quarter dose', (s: Slice) => s.quarter.data],
        ['lowdose-ct output', (s: Slice) => s.denoised],
      ] as const) {
        row[what] = fraction(slices.map((s) => run(pick(s), s.full, options)));
      }
      falsePositives.push(row);
      console.error(`${name} / ${setting}: done`);
    }
  }

  const detection: Array<Record<string, unknown>> = [];
  const trials = 20;
  const all = sets.filter(([name]) => name.endsWith('B30f')).flatMap(([, s]) => s);
  for (const [setting, options] of Object.entries(SETTINGS).slice(0, 2)) {
    for (const quiet of [true, false]) {
      for (const [radiusMm, hu] of [[3, 50], [3, 100], [5, 50], [5, 100], [10, 50]] as const) {
        const rng = new Rng(7, radiusMm * 1000 + hu, quiet ? 1 : 0);
        let caught = 0;
        let placed = 0;
        for (let t = 0; t < trials; t++) {
          const s = all[Math.floor(rng.uniform() * all.length)]!;
          const at = place(s.full, rng, quiet);
          if (!at) continue;
          placed++;
          const before = covering(run(s.denoised, s.full, options), at[0], at[1], options.patchSize);
          const after = covering(run(paste(s.denoised, s.full, at[0], at[1], radiusMm, hu), s.full, options), at[0], at[1], options.patchSize);
          if (after.some((p, i) => p.flagged && !before[i]!.flagged)) caught++;
        }
        detection.push({ setting, where: quiet ? 'quiet soft tissue' : 'anywhere in tissue', radiusMm, hu, caught, trials: placed, rate: roundTo(caught / placed, 3) });
        console.error(`${setting} ${quiet ? 'quiet' : 'any'} r${radiusMm} +${hu}: ${caught}/${placed}`);
      }
    }
  }

  const report = { command: 'npx tsx scripts/uncertainty/sfrc-eval.ts', falsePositives, detection };
  writeFileSync(path.join(REPO, 'models', 'eval', 'sfrc-ct.json'), `${JSON.stringify(report, null, 2)}\n`);
  const pct = (v: { fraction: number }) => `${(100 * v.fraction).toFixed(1)} %`;
  const md = [
    '# sFRC hallucination map on real quarter / full-dose CT (Mayo)',
    '',
    `Made by \`${report.command}\`. Fraction of judged patches flagged against the full-dose image.`,
    '',
    '| pair | setting | full dose + own noise | quarter dose | lowdose-ct output |',
    '| --- | --- | --- | --- | --- |',
    ...falsePositives.map((r) => `| ${scalarText(r.set)} | ${scalarText(r.setting)} | ${pct(r['full dose + own noise'] as never)} | ${pct(r['quarter dose'] as never)} | ${pct(r['lowdose-ct output'] as never)} |`),
    '',
    `A disc (one-pixel soft rim) pasted into the model's output of a B30f slice, ${trials} random places each; caught = a patch over its centre newly flagged.`,
    '',
    '| setting | where | radius mm | contrast HU | caught |',
    '| --- | --- | --- | --- | --- |',
    ...detection.map((d) => `| ${scalarText(d.setting)} | ${scalarText(d.where)} | ${scalarText(d.radiusMm)} | +${scalarText(d.hu)} | ${scalarText(d.caught)} / ${scalarText(d.trials)} |`),
    '',
  ].join('\n');
  writeFileSync(path.join(REPO, 'models', 'eval', 'sfrc-ct.md'), md);
  console.log(md);
}

await main();
