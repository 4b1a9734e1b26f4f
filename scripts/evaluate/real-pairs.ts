/**
 * Scores a CT model card on the real quarter-dose / full-dose pairs of ../shared/ldct-mayo
 * (AAPM-Mayo, patients L143 and L192, kernels B30f and D45f) beside the untouched input and the
 * Gaussian, bilateral and non-local-means filters tuned on those same slices; writes
 * <out>.json and <out>.md (default models/eval/ct-real for the shipped card).
 *
 *   npx tsx scripts/evaluate/real-pairs.ts                                  # shipped lowdose-ct, card defaults
 *   npx tsx scripts/evaluate/real-pairs.ts --variant "" --variant "--steps 2" --variant "--dose 0.25"
 *   npx tsx scripts/evaluate/real-pairs.ts --card .cache/device-models/<name>.json   # a candidate -> .cache/real-pairs/<name>.*
 *
 * Every denoise option of `lowdose denoise` (the shared `addDenoiserOptions`: --steps, --sampler,
 * --seed, --samples, --guidance, --consistency, and any option added there later) applies to the model rows,
 * plus --strength (warm start) and --dose. Each --variant adds a model row with its options on top
 * of those. The model runs through the same library path as `lowdose denoise` (createSliceDenoiser,
 * slice index = position in the series, so the noise is the CLI's); filter results are cached in
 * .cache/real-pairs/ (docs/training.md, "Real quarter-dose evaluation").
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { addDenoiserOptions, denoiserSettings, type DenoiserCliOptions } from '../../src/cli/denoiser-options.js';
import { parseDoseOption, parseNumberOption } from '../../src/cli/output.js';
import { resolveModelFiles } from '../../src/models/load.js';
import { createSliceDenoiser } from '../../src/pipeline/slice-denoiser.js';
import type { DenoiseOptions } from '../../src/pipeline/types.js';
import { findGroups, groupKey, loadGroup, PATIENT_ROLES, type PairGroup } from './real-pairs/data.js';
import { FILTERS, tunedFilter } from './real-pairs/filters.js';
import { FORMAT, keyOf, margins, renderMarkdown, roleOf, type GroupInfo, type MethodRow, type RealPairsResult } from './real-pairs/report.js';
import { placeRois, scoreSlice, scoringMasks, summarize, WINDOW_NAMES, WINDOW_REGIONS, WINDOWS, type PlacedRoi, type ScoringMasks, type WindowName } from './real-pairs/score.js';
import { makeDirectoriesSync } from '../../src/util/fs.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SHIPPED_CARD = path.join(REPO, 'models', 'lowdose-ct.json');
const log = (m: string) => process.stderr.write(`${m}\n`);

/** The options that shape a model row: the CLI's shared denoiser options plus --strength and --dose. */
function addModelOptions(command: Command): Command {
  return addDenoiserOptions(command)
    .option('--strength <s>', "warm-start strength, fraction of T re-run (default: the card's)", parseNumberOption('--strength', 0, 1))
    .option('--dose <fraction>', 'tell the model the dose (0.25 for these pairs); default unknown, as `lowdose denoise`', parseDoseOption('--dose'));
}

type ModelCli = DenoiserCliOptions & { strength?: number; dose?: number };

/** The option values a command got on its command line (not defaults). */
function given(command: Command): Record<string, unknown> {
  const opts = command.opts();
  return Object.fromEntries(Object.keys(opts).filter((k) => command.getOptionValueSource(k) === 'cli').map((k) => [k, opts[k]]));
}

function toDenoiseOptions(opts: ModelCli, card: string): DenoiseOptions {
  if (opts.method !== 'diffusion') throw new Error('--method: only the diffusion model is scored as a model row (the filters are always in the table)');
  return {
    ...denoiserSettings({ ...opts, model: card }),
    outDir: '',
    ...(opts.strength !== undefined ? { strength: opts.strength } : {}),
    ...(opts.dose !== undefined ? { doseLevel: opts.dose } : {}),
  };
}

const program = addModelOptions(
  new Command('real-pairs')
    .description('score a CT model on the real quarter-dose pairs beside the input and tuned filters')
    .option('--card <path>', 'model card (.json) to score', 'models/lowdose-ct.json')
    .option('--data <dir>', 'the real pairs', '../shared/ldct-mayo')
    .option('--out <prefix>', 'writes <prefix>.json and <prefix>.md (default: models/eval/ct-real for the shipped card, else .cache/real-pairs/<card file name>)')
    .option('--variant <options>', 'one more model row: denoise options on top of the others, e.g. "--steps 2" ("" = as given); repeatable', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--groups <list>', 'only these patient/kernel folders, e.g. L192/B30f,L192/D45f')
    .option('--no-cache', 'tune the filters again instead of reading .cache/real-pairs/')
    .option('--json', 'print the result JSON on stdout'),
);
program.parse();
const cli = program.opts<ModelCli & { card: string; data: string; out?: string; variant: string[]; groups?: string; cache: boolean; json?: boolean }>();
const givenBase = given(program);
if (givenBase['model'] !== undefined && givenBase['card'] !== undefined) throw new Error('give --card or --model, not both');
const cardArg = (givenBase['model'] as string | undefined) ?? cli.card;
// Reproducible by default: the CPU and 2 threads unless asked otherwise.
const base: ModelCli = { ...cli, device: givenBase['device'] === undefined ? 'cpu' : cli.device, threads: cli.threads ?? 2 };
const resolved = await resolveModelFiles(path.isAbsolute(cardArg) || cardArg.includes('/') ? path.resolve(cardArg) : cardArg);
const isShipped = path.resolve(resolved.cardPath) === SHIPPED_CARD;
// Candidates are named by their card file (promoted candidates may all carry the name lowdose-ct).
const cardFile = path.basename(resolved.cardPath, '.json');
const outPrefix = path.resolve(cli.out ?? (isShipped ? path.join(REPO, 'models/eval/ct-real') : path.join(REPO, '.cache/real-pairs', cardFile)));
const dataDir = path.resolve(cli.data);

// Model rows: the options as given, then each --variant on top of them.
const variantTexts = cli.variant.length > 0 ? cli.variant : [''];
const modelRows = variantTexts.map((text) => {
  const parser = addModelOptions(new Command('variant')).exitOverride().allowExcessArguments(false);
  const tokens = text.split(/\s+/).filter(Boolean);
  try {
    parser.parse(tokens, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) throw new Error(`--variant "${text}": ${error.message}`);
    throw error;
  }
  const baseGiven = Object.keys(givenBase).filter((k) => !['card', 'data', 'out', 'variant', 'groups', 'cache', 'json', 'model', 'device', 'threads', 'progress'].includes(k));
  const words = [...baseGiven.map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} ${String(givenBase[k])}`), ...tokens];
  return { text, label: `${resolved.card.name}${words.length > 0 ? ` ${words.join(' ')}` : ' (card defaults)'}`, options: toDenoiseOptions({ ...base, ...given(parser) }, resolved.cardPath) };
});

const wanted = cli.groups?.split(',').map((s) => s.trim());
const ids = findGroups(dataDir).filter((g) => !wanted || wanted.includes(groupKey(g)));
if (ids.length === 0) throw new Error(`no patient/kernel folders${wanted ? ` matching ${wanted.join(', ')}` : ''} under ${dataDir}`);

log(`reading ${ids.length} patient/kernel groups from ${dataDir}`);
const groups: PairGroup[] = [];
for (const id of ids) groups.push(await loadGroup(dataDir, id));
const rois: Record<string, PlacedRoi[][]> = Object.fromEntries(groups.map((g) => [groupKey(g), g.pairs.map((p) => placeRois(p.full, p.valid))]));
const masks: Record<string, ScoringMasks[]> = Object.fromEntries(groups.map((g) => [groupKey(g), g.pairs.map((p) => scoringMasks(p.full, p.valid))]));

const rows: MethodRow[] = [];
const row = (id: string, kind: MethodRow['kind'], label: string): MethodRow & { tuning?: NonNullable<MethodRow['tuning']> } => {
  const r: MethodRow = { id, kind, label, settings: {}, groups: {}, slices: {} };
  rows.push(r);
  return r;
};
const input = row('input', 'input', 'quarter-dose input');
const reference = row('reference', 'reference', 'full dose (reference)');
for (const g of groups) {
  const key = groupKey(g);
  input.slices[key] = g.pairs.map((p, k) => scoreSlice(p.quarter.data, p.full, masks[key]![k]!, rois[key]![k]!));
  input.groups[key] = summarize(input.slices[key], rois[key]!);
  input.settings[key] = 'untouched';
  reference.slices[key] = g.pairs.map((p, k) => scoreSlice(p.full.data, p.full, masks[key]![k]!, rois[key]![k]!));
  reference.groups[key] = summarize(reference.slices[key], rois[key]!);
  reference.settings[key] = 'the full-dose slice itself';
}

const cacheDir = cli.cache ? path.join(REPO, '.cache/real-pairs') : null;
for (const spec of FILTERS) {
  const r = row(spec.method, 'filter', `${spec.method === 'nlm' ? 'non-local means' : spec.method} (tuned)`);
  r.tuning = {};
  for (const g of groups) {
    const key = groupKey(g);
    log(`${key}: ${spec.method}`);
    const t = tunedFilter(g, rois[key]!, masks[key]!, spec, cacheDir, log);
    if (t.cached) log(`  ${spec.method}: from the cache`);
    const summary = summarize(t.slices, rois[key]!);
    const at = (w: WindowName, value: number) => t.scores[w].find((s) => s.value === value)!;
    const psnr = Object.fromEntries(WINDOW_NAMES.map((w) => [w, at(w, t.bestPsnr[w]).psnr])) as Record<WindowName, number>;
    const ssim = Object.fromEntries(WINDOW_NAMES.map((w) => [w, at(w, t.bestSsim[w]).ssim])) as Record<WindowName, number>;
    r.groups[key] = { ...summary, psnr, ssim };
    r.slices[key] = t.slices;
    r.settings[key] = `${WINDOW_NAMES.map((w) => `${w} ${t.bestPsnr[w]} / ${t.bestSsim[w]}`).join(', ')} (noise SD ${t.noiseStd.toFixed(1)} HU)`;
    r.tuning[key] = { parameter: spec.parameter, unit: spec.unit, noiseStd: t.noiseStd, bestPsnr: t.bestPsnr, bestSsim: t.bestSsim, scores: t.scores };
  }
}

for (const [k, m] of modelRows.entries()) {
  const r = row(k === 0 ? 'model' : `model:${m.text}`, 'model', m.label);
  const denoiser = await createSliceDenoiser('CT', m.options, log);
  let ms = 0;
  let count = 0;
  try {
    for (const g of groups) {
      const key = groupKey(g);
      await denoiser.prepare(g.quarterSeries);
      const outputs: Float32Array[] = [];
      // One slice per call, as `lowdose denoise` does by default; neighbours (2.5-D cards) are
      // the slice itself: these slices are tens of mm apart.
      for (const p of g.pairs) {
        const t0 = performance.now();
        const result = await denoiser.denoise([{ index: p.index, image: p.quarter.data }]);
        ms += performance.now() - t0;
        count++;
        outputs.push(result.denoised[0]!);
      }
      r.slices[key] = g.pairs.map((p, i) => scoreSlice(outputs[i]!, p.full, masks[key]![i]!, rois[key]![i]!));
      r.groups[key] = summarize(r.slices[key], rois[key]!);
      r.settings[key] = denoiser.derivationDescription;
      log(`${key}: ${m.label}: ${WINDOW_NAMES.map((w) => `${r.groups[key]!.psnr[w].toFixed(2)} dB`).join(' / ')}`);
    }
  } finally {
    await denoiser.release();
  }
  (r as { msPerSlice?: number }).msPerSlice = Math.round((ms / count) * 10) / 10;
}

const groupInfos: GroupInfo[] = groups.map((g) => ({
  patient: g.patient,
  kernel: g.kernel,
  role: roleOf(g.patient),
  files: g.pairs.map((p) => p.name),
  excludedPixels: g.pairs.map((p) => p.excluded),
  pixelSpacingMm: g.quarterSeries.spacing[0],
  rois: rois[groupKey(g)]!,
}));
const rel = (p: string) => path.relative(REPO, p) || '.';
const quote = (a: string) => (/^[\w./=:,-]+$/.test(a) ? a : `"${a}"`);
const result: RealPairsResult = {
  format: FORMAT,
  command: ['npx tsx scripts/evaluate/real-pairs.ts', ...process.argv.slice(2).map(quote)].join(' '),
  data: rel(dataDir),
  card: {
    path: rel(resolved.cardPath),
    name: resolved.card.name,
    onnxSha256: createHash('sha256').update(readFileSync(resolved.onnxPath)).digest('hex'),
  },
  split: Object.fromEntries(Object.entries(PATIENT_ROLES)),
  windows: Object.fromEntries(WINDOW_NAMES.map((w) => [w, WINDOWS[w]])) as RealPairsResult['windows'],
  windowRegions: WINDOW_REGIONS,
  groups: groupInfos,
  methods: rows,
  margins: margins(rows, groupInfos),
  notes: [
    `model time ${rows.filter((r) => r.kind === 'model').map((r) => `${r.msPerSlice} ms`).join(' / ')} per 512x512 slice (${base.threads} threads, ${base.device}; shared machine, indicative only)`,
    `pixels left out per slice (outside the scanned field): ${groupInfos.map((g) => `${keyOf(g)} ${Math.min(...g.excludedPixels)}..${Math.max(...g.excludedPixels)}`).join(', ')}`,
  ],
};
// The table is rendered from the JSON as written, so the two always agree.
const json = JSON.stringify(result, roundNumbers, 1) + '\n';
makeDirectoriesSync(path.dirname(outPrefix));
writeFileSync(`${outPrefix}.json`, json);
writeFileSync(`${outPrefix}.md`, renderMarkdown(JSON.parse(json) as RealPairsResult));
log(`wrote ${rel(outPrefix)}.json and .md`);
if (cli.json) process.stdout.write(json);

/** Six significant digits in the JSON: far below what the metrics resolve, and diffs stay readable. */
function roundNumbers(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isInteger(value) ? Number(value.toPrecision(6)) : value;
}
