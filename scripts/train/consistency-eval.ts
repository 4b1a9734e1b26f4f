/**
 * Measures the measurement-consistency step (`--consistency`, src/diffusion/consistency.ts) on the
 * phantoms, through `lowdose qa` and `lowdose metrics --lesions` as library calls, so the numbers
 * are the ones a QA script would see:
 *
 * - PET (`iec`): SUVmean / SUVmax / SUVpeak bias of each sphere (10 to 37 mm) against the
 *   full-count reconstruction of the same realisation, at 25 % and 10 % counts, and the background
 *   noise (QA's pooled SD in the background ROIs), for consistency off, a grid of strength x
 *   low-pass scale x threshold, and the classical filters;
 * - CT (`acr`, plus `water` and `body` for PSNR): each ACR insert's mean HU error against its nominal value
 *   and against the low-dose input (what the denoiser adds, QA's `hu-error`), and PSNR.
 *
 * Each setting runs on several noise realisations of the phantoms (the committed fixtures, seed
 * 14 / 12, plus `scripts/make-fixtures.ts --seed` copies under .cache), and the tables give the mean
 * over realisations with the spread (SD) where it matters, so a default is not tuned to one noise draw.
 *
 * The tables in models/eval/consistency-*.md (each names its command on its first line; 4.5 to 6.5
 * minutes each on the 2-core development machine under load):
 *   npx tsx scripts/train/consistency-eval.ts --pet-only --realisations 5 --strengths 0.5,1 --scales 3,4,6 --thresholds 0.5,1,2
 *   npx tsx scripts/train/consistency-eval.ts --pet-only --realisations 5 --strengths 0.75,1 --scales 4,4.5,5 --thresholds 0.75,1,1.25
 *   npx tsx scripts/train/consistency-eval.ts --ct-only --ct-realisations 5 --ct-strengths 1 --ct-scales 2,4,8 --ct-thresholds 0,0.5,1
 * A retrained model: the same commands (with --pet-model / --ct-model for a card elsewhere).
 *
 * Options: --realisations N (PET, default 6), --ct-realisations N (default 3), --strengths,
 * --scales (mm), --thresholds (lists for PET), --ct-strengths, --ct-scales, --ct-thresholds,
 * --iterations (a list of van Cittert iteration counts; default: the step's own), --pet-only,
 * --ct-only, --from K (PET: start at realisation K, e.g. to score realisations no setting was chosen
 * on), --low-count <json> (a `lowCount` block added to every grid setting), --samples K / --steps N (the model rows' ensemble size and steps), --no-baselines (only the grid: no input, filter or consistency-off rows), --threads N,
 * --out <json> (default .cache/eval/consistency.json).
 * Models: --pet-model / --ct-model (default: models/lowdose-pet.json, models/lowdose-ct.json; the
 * card's own `sampler.consistency` is replaced by each grid setting).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLASSICAL_METHODS, type DenoiseMethod } from '../../src/choices.js';
import type { Lesion } from '../../src/metrics/lesions.js';
import { runMetrics } from '../../src/pipeline/metrics.js';
import { loadQaConfig, runQa } from '../../src/qa/index.js';
import type { QaDenoiseSettings } from '../../src/qa/run.js';
import type { QaCheck } from '../../src/qa/types.js';
import { makeDirectoriesSync } from '../../src/util/fs.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CACHE = path.join(REPO, '.cache/eval/consistency');
const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : fallback;
};
const flag = (name: string) => args.includes(`--${name}`);
const list = (text: string) => text.split(',').map(Number);

const PET_REALISATIONS = Number(opt('realisations', '6'));
/** The first realisation (0 = the committed fixture): realisations the grid was not chosen on can be scored alone. */
const FIRST = Number(opt('from', '0'));
/** `sampler.consistency.lowCount` added to every grid setting (JSON; docs/diffusion.md). */
const LOW_COUNT = flag('low-count') ? (JSON.parse(opt('low-count', '{}')) as Record<string, number>) : undefined;
const CT_REALISATIONS = Number(opt('ct-realisations', '3'));
const STRENGTHS = list(opt('strengths', '0.25,0.5,0.75,1'));
const SCALES = list(opt('scales', '3,4,6'));
const THRESHOLDS = list(opt('thresholds', '0.5,1,2'));
const ITERATIONS = flag('iterations') ? list(opt('iterations', '8')) : [undefined];
const CT_STRENGTHS = list(opt('ct-strengths', '0.5,1'));
const CT_SCALES = list(opt('ct-scales', '2,4,8'));
const CT_THRESHOLDS = list(opt('ct-thresholds', '1,2'));
const THREADS = Number(opt('threads', '2'));
/** Ensemble size and steps for the model rows (default: the card's). */
const SAMPLES = flag('samples') ? Number(opt('samples', '1')) : undefined;
const STEPS = flag('steps') ? Number(opt('steps', '1')) : undefined;
const OUT = path.resolve(REPO, opt('out', '.cache/eval/consistency.json'));
const PET_MODEL = path.resolve(REPO, opt('pet-model', 'models/lowdose-pet.json'));
const CT_MODEL = path.resolve(REPO, opt('ct-model', 'models/lowdose-ct.json'));
const DOSES = [0.25, 0.1];
const SPHERES = [10, 13, 17, 22, 28, 37];

const log = (m: string) => process.stderr.write(`${m}\n`);

interface Setting {
  readonly label: string;
  readonly method: DenoiseMethod;
  readonly consistency: { strength: number; scaleMm: number; threshold: number; iterations?: number; lowCount?: Record<string, number> } | null;
}

/** The fixtures folder of realisation `k` (0 = the committed one), made on first use. */
function fixturesFor(phantom: 'iec' | 'acr', k: number): string {
  if (k === 0) return path.join(REPO, 'fixtures');
  const seed = 100 + k;
  const dir = path.join(CACHE, `fixtures-${phantom}-${seed}`);
  if (!existsSync(path.join(dir, phantom, 'fixture.json'))) {
    log(`making ${phantom} realisation seed ${seed}`);
    const r = spawnSync('npx', ['tsx', 'scripts/make-fixtures.ts', phantom, '--out', dir, '--seed', String(seed)], { cwd: REPO, stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`make-fixtures ${phantom} --seed ${seed} failed`);
  }
  return dir;
}

/** A copy of `card` with `sampler.consistency` set (or removed), its ONNX path made absolute. */
function cardWith(card: string, setting: Setting): string {
  const raw = JSON.parse(readFileSync(card, 'utf8'));
  raw.onnx = path.resolve(path.dirname(card), raw.onnx);
  if (setting.consistency) raw.sampler.consistency = setting.consistency;
  else delete raw.sampler.consistency;
  const dir = path.join(CACHE, 'cards', setting.label.replace(/[^A-Za-z0-9.]+/g, '-'));
  makeDirectoriesSync(dir);
  const file = path.join(dir, path.basename(card));
  writeFileSync(file, `${JSON.stringify(raw, null, 1)}\n`);
  return file;
}

function denoiseSettings(setting: Setting): QaDenoiseSettings {
  if (setting.method !== 'diffusion') return { method: setting.method, device: 'cpu', threads: THREADS };
  return {
    model: cardWith(CT_MODEL, setting),
    petModel: cardWith(PET_MODEL, setting),
    device: 'cpu',
    threads: THREADS,
    ...(SAMPLES !== undefined ? { samples: SAMPLES } : {}),
    ...(STEPS !== undefined ? { steps: STEPS } : {}),
  };
}

/** The one series folder (holding .dcm files) under `dir`. */
function seriesDir(dir: string): string {
  const found: string[] = [];
  const walk = (d: string) => {
    const entries = readdirSync(d, { withFileTypes: true });
    if (entries.some((e) => e.isFile() && e.name.endsWith('.dcm'))) found.push(d);
    for (const e of entries) if (e.isDirectory() && e.name !== 'previews' && e.name !== 'uncertainty') walk(path.join(d, e.name));
  };
  walk(dir);
  if (found.length !== 1) throw new Error(`expected one series under ${dir}, found ${found.length}`);
  return found[0]!;
}

const doseDir = (dose: number) => `dose${Math.round(dose * 100)}`;

interface PetRow {
  setting: string;
  realisation: number;
  dose: number;
  /** Per sphere diameter: (series − full) / full for mean, max, peak. */
  meanBias: Record<number, number>;
  maxBias: Record<number, number>;
  peakBias: Record<number, number>;
  /** QA's pooled background SD, SUV, and the input's. */
  noise: number;
  inputNoise: number;
  /** QA's verdict on the PET checks of this dose. */
  qaPass: number;
  qaTotal: number;
}

async function petRun(setting: Setting, k: number): Promise<PetRow[]> {
  const fixtures = fixturesFor('iec', k);
  const geometry = JSON.parse(readFileSync(path.join(fixtures, 'iec', 'fixture.json'), 'utf8')).geometry as { spheres: { diameter: number; centre: [number, number, number] }[] };
  const lesions: Lesion[] = geometry.spheres.map((s) => ({ name: String(s.diameter), centre: s.centre, radius: s.diameter / 2 }));
  // Per model card too: two runs with different --pet-model may share the machine.
  const outDir = path.join(CACHE, 'qa', path.basename(PET_MODEL, '.json'), `${setting.label.replace(/[^A-Za-z0-9.]+/g, '-')}-iec-${k}`);
  // Fresh each time: a rewritten card is a new model to qa, and its outputs must be the only ones here.
  rmSync(outDir, { recursive: true, force: true });
  // One realisation per run: this script draws its own (k), so QA must not average the committed
  // fixture's .realisations into k = 0.
  const qa = await runQa({ config: loadQaConfig(), outDir, fixturesDir: fixtures, phantoms: ['iec'], doses: DOSES, realisations: 1, denoise: denoiseSettings(setting) });
  const rows: PetRow[] = [];
  for (const dose of DOSES) {
    const at = (c: QaCheck) => c.dose === dose && c.phantom === 'iec';
    const noise = qa.checks.find((c) => at(c) && c.check === 'noise-reduction')!;
    const denoised = setting.label === 'low-dose input' ? path.join(fixtures, 'iec', doseDir(dose)) : seriesDir(path.join(qa.outDir, 'denoised', readdirSync(path.join(qa.outDir, 'denoised'))[0]!, `pt-${doseDir(dose)}`));
    const { result } = await runMetrics({ reference: path.join(fixtures, 'iec', 'dose100'), test: denoised, lesions });
    const bias = (pick: (l: NonNullable<typeof result.lesions>[number]) => number | null) =>
      Object.fromEntries(result.lesions!.map((l) => [Number(l.name), pick(l)! - 1]));
    const pet = qa.checks.filter((c) => at(c) && c.check !== 'denoise');
    rows.push({
      setting: setting.label,
      realisation: k,
      dose,
      meanBias: bias((l) => l.recovery.mean),
      maxBias: bias((l) => l.recovery.max),
      peakBias: bias((l) => l.recovery.peak),
      noise: setting.label === 'low-dose input' ? (noise.measured.input as number) : (noise.measured.denoised as number),
      inputNoise: noise.measured.input as number,
      qaPass: pet.filter((c) => c.pass).length,
      qaTotal: pet.length,
    });
  }
  return rows;
}

interface CtRow {
  setting: string;
  realisation: number;
  dose: number;
  /** Insert name → denoised mean − nominal, HU. */
  huError: Record<string, number>;
  /** Insert name → input mean − nominal, HU. */
  inputHuError: Record<string, number>;
  /** Insert name → denoised mean − input mean, HU: what the denoiser adds (QA's default `hu-error`). */
  addedHuError: Record<string, number>;
  /** PSNR of acr (every realisation) and of water and body (committed fixtures only), dB. */
  psnr: Record<string, number>;
  noiseReduction: number;
}

async function ctRun(setting: Setting, k: number): Promise<CtRow[]> {
  const fixtures = fixturesFor('acr', k);
  const phantoms = k === 0 ? (['acr', 'water', 'body'] as const) : (['acr'] as const);
  const outDir = path.join(CACHE, 'qa', `${setting.label.replace(/[^A-Za-z0-9.]+/g, '-')}-ct-${k}`);
  rmSync(outDir, { recursive: true, force: true });
  const qa = await runQa({ config: loadQaConfig(), outDir, fixturesDir: fixtures, phantoms: [...phantoms], doses: DOSES, realisations: 1, denoise: denoiseSettings(setting) });
  return DOSES.map((dose) => {
    const at = (c: QaCheck) => c.dose === dose;
    const hu = qa.checks.filter((c) => at(c) && c.check === 'hu-error');
    return {
      setting: setting.label,
      realisation: k,
      dose,
      huError: Object.fromEntries(hu.map((c) => [c.name.split('/').pop()!, c.measured.denoised! - c.measured.nominal!])),
      inputHuError: Object.fromEntries(hu.map((c) => [c.name.split('/').pop()!, c.measured.input! - c.measured.nominal!])),
      addedHuError: Object.fromEntries(hu.map((c) => [c.name.split('/').pop()!, c.measured.denoised! - c.measured.input!])),
      psnr: Object.fromEntries(qa.checks.filter((c) => at(c) && c.check === 'psnr').map((c) => [c.phantom, c.value as number])),
      noiseReduction: qa.checks.find((c) => at(c) && c.phantom === 'acr' && c.check === 'noise-reduction')!.value as number,
    };
  });
}

function grid(strengths: number[], scales: number[], thresholds: number[], iterations: Array<number | undefined> = [undefined]): Setting[] {
  const out: Setting[] = flag('no-baselines') ? [] : [{ label: 'model, consistency off', method: 'diffusion', consistency: null }];
  for (const scaleMm of scales) {
    for (const threshold of thresholds) {
      for (const strength of strengths) {
        for (const it of iterations) {
          if (strength === 0) continue;
          out.push({
            label:
              `model, consistency ${strength} / ${scaleMm} mm / k ${threshold}${it === undefined ? '' : ` / ${it} it`}` +
              `${SAMPLES === undefined ? '' : ` / ${SAMPLES} samples`}${STEPS === undefined ? '' : ` / ${STEPS} steps`}` +
              `${LOW_COUNT ? ` / low count ${JSON.stringify(LOW_COUNT)}` : ''}`,
            method: 'diffusion',
            consistency: { strength, scaleMm, threshold, ...(it === undefined ? {} : { iterations: it }), ...(LOW_COUNT ? { lowCount: LOW_COUNT } : {}) },
          });
        }
      }
    }
  }
  return out;
}

const classical: Setting[] = CLASSICAL_METHODS.map((method) => ({ label: method, method, consistency: null }));
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: number[]) => Math.sqrt(mean(xs.map((x) => (x - mean(xs)) ** 2)));
const pct = (x: number) => (100 * x).toFixed(1);

const petRows: PetRow[] = [];
const ctRows: CtRow[] = [];
const started = Date.now();
if (!flag('ct-only')) {
  const baselines = flag('no-baselines') ? [] : [{ label: 'low-dose input', method: 'gaussian', consistency: null } as Setting, ...classical];
  const settings = [...baselines, ...grid(STRENGTHS, SCALES, THRESHOLDS, ITERATIONS)];
  for (let k = FIRST; k < FIRST + PET_REALISATIONS; k++) {
    for (const s of settings) {
      log(`PET realisation ${k}: ${s.label}`);
      petRows.push(...(await petRun(s, k)));
    }
  }
}
if (!flag('pet-only')) {
  const settings = [...classical, ...grid(CT_STRENGTHS, CT_SCALES, CT_THRESHOLDS)];
  for (let k = 0; k < CT_REALISATIONS; k++) {
    for (const s of settings) {
      log(`CT realisation ${k}: ${s.label}`);
      ctRows.push(...(await ctRun(s, k)));
    }
  }
}
const command = `npx tsx scripts/train/consistency-eval.ts ${args.join(' ')}`.trim();
makeDirectoriesSync(path.dirname(OUT));
writeFileSync(OUT, `${JSON.stringify({ command, petModel: path.relative(REPO, PET_MODEL), ctModel: path.relative(REPO, CT_MODEL), petRows, ctRows }, null, 1)}\n`);

// Tables: mean over realisations; "worst" = the largest |mean bias| over the spheres of 17 mm and up.
for (const dose of DOSES) {
  const rows = petRows.filter((r) => r.dose === dose);
  if (rows.length === 0) continue;
  const labels = [...new Set(rows.map((r) => r.setting))];
  const n = new Set(rows.map((r) => r.realisation)).size;
  console.log(`\nPET, IEC, ${dose * 100} % counts, mean over ${n} realisation(s): bias against the full-count reconstruction, %\n`);
  console.log('| method | background SD (reduction) | SUVmean 10 / 13 / 17 / 22 / 28 / 37 mm | worst >= 17 mm (SD) | SUVmax 17 / 22 / 28 / 37 mm | SUVpeak 17 / 22 / 28 / 37 mm | QA PET checks |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const label of labels) {
    const r = rows.filter((x) => x.setting === label);
    const m = (f: (x: PetRow) => number) => mean(r.map(f));
    const perRealisationWorst = r.map((x) => Math.max(...[17, 22, 28, 37].map((d) => Math.abs(x.meanBias[d]!))));
    const worst = Math.max(...[17, 22, 28, 37].map((d) => Math.abs(m((x) => x.meanBias[d]!))));
    const noise = m((x) => x.noise);
    const input = m((x) => x.inputNoise);
    console.log(
      `| ${label} | ${noise.toFixed(3)} (${pct(1 - noise / input)} %) | ${SPHERES.map((d) => pct(m((x) => x.meanBias[d]!))).join(' / ')} | ${pct(worst)} (${pct(sd(perRealisationWorst))}) | ` +
        `${[17, 22, 28, 37].map((d) => pct(m((x) => x.maxBias[d]!))).join(' / ')} | ${[17, 22, 28, 37].map((d) => pct(m((x) => x.peakBias[d]!))).join(' / ')} | ` +
        `${mean(r.map((x) => x.qaPass)).toFixed(1)} / ${r[0]!.qaTotal} |`,
    );
  }
}
for (const dose of DOSES) {
  const rows = ctRows.filter((r) => r.dose === dose);
  if (rows.length === 0) continue;
  const labels = [...new Set(rows.map((r) => r.setting))];
  const inserts = Object.keys(rows[0]!.huError);
  const n = new Set(rows.map((r) => r.realisation)).size;
  console.log(`\nCT, ACR inserts, ${dose * 100} % dose, mean over ${n} realisation(s): mean HU minus nominal; PSNR dB (acr mean; water, body: committed fixture)\n`);
  console.log(`| method | ${inserts.join(' / ')} | worst | noise reduction | PSNR acr / water / body |`);
  console.log('| --- | --- | --- | --- | --- |');
  const first = rows.filter((x) => x.setting === labels[0]);
  console.log(`| low-dose input | ${inserts.map((i) => mean(first.map((x) => x.inputHuError[i]!)).toFixed(1)).join(' / ')} | ${Math.max(...inserts.map((i) => Math.abs(mean(first.map((x) => x.inputHuError[i]!))))).toFixed(1)} | | |`);
  for (const label of labels) {
    const r = rows.filter((x) => x.setting === label);
    const committed = r.find((x) => x.realisation === 0);
    const errors = inserts.map((i) => mean(r.map((x) => x.huError[i]!)));
    console.log(
      `| ${label} | ${errors.map((e) => e.toFixed(1)).join(' / ')} | ${Math.max(...errors.map(Math.abs)).toFixed(1)} | ${pct(mean(r.map((x) => x.noiseReduction)))} % | ` +
        `${mean(r.map((x) => x.psnr.acr!)).toFixed(2)} / ${committed?.psnr.water?.toFixed(2) ?? ''} / ${committed?.psnr.body?.toFixed(2) ?? ''} |`,
    );
  }
  // What each denoiser adds (QA's `hu-error` with its default reference, the input): mean and SD over realisations.
  console.log(`\nCT, ACR inserts, ${dose * 100} % dose: denoised minus low-dose input (what the denoiser adds), HU, mean (SD) over ${n} realisation(s)\n`);
  console.log(`| method | ${inserts.join(' / ')} | worst mean | worst single realisation |`);
  console.log('| --- | --- | --- | --- |');
  for (const label of labels) {
    const r = rows.filter((x) => x.setting === label);
    const added = inserts.map((i) => r.map((x) => x.addedHuError[i]!));
    const worstSingle = Math.max(...added.flat().map(Math.abs));
    console.log(
      `| ${label} | ${added.map((a) => `${mean(a).toFixed(1)} (${sd(a).toFixed(1)})`).join(' / ')} | ${Math.max(...added.map((a) => Math.abs(mean(a)))).toFixed(1)} | ${worstSingle.toFixed(1)} |`,
    );
  }
}
log(`wrote ${path.relative(REPO, OUT)} (${((Date.now() - started) / 60000).toFixed(1)} min)`);
