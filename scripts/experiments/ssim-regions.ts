/**
 * Where the SSIM margin of the CT model over the best tuned filter comes from on the real
 * quarter-dose pairs: the group mean SSIM (model, filters, input, each against the full dose) split
 * by region of the full-dose slice (air around the patient, table and clothing, a band either side
 * of the skin outline, flat soft tissue, soft-tissue edges, lung and gas, bone inside), with each region's contribution
 * to the margin (share x difference of means), which sums to the margin exactly
 * (ssim-regions-common.ts).
 *
 * Scored as scripts/evaluate/real-pairs.ts scores: its pairs, field mask and patient outline
 * (real-pairs/data.ts, score.ts), the toolkit's SSIM map (`ssimMap`, the map `compareSlices`
 * averages) in one of its windows. The filters run at the evaluation's own tuned settings, read
 * from its JSON (`--eval`, the SSIM-best setting in that window; nothing is tuned here); the model
 * runs as its model row does (card defaults, CPU, slice index = position in the series). The
 * totals are checked against that JSON.
 *
 *   npx tsx scripts/experiments/ssim-regions.ts [--groups L192/B30f,L192/D45f] [--window hu] [--threads 1]
 *     [--card models/lowdose-ct.json] [--eval models/eval/ct-real.json] [--data ../shared/ldct-mayo]
 *     [--band-mm 5] [--out models/eval/ssim-regions] [--figures ssim-regions]
 *
 * --figures NAME writes docs/experiments/NAME/<patient>-<kernel>.png: per slice the full dose,
 * the regions, and where the model's SSIM map is below and above the filter's.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { addDenoiserOptions, denoiserSettings, type DenoiserCliOptions } from '../../src/cli/denoiser-options.js';
import { classicalDenoise, type ClassicalMethod } from '../../src/filters/denoise.js';
import { estimateSeriesNoise } from '../../src/filters/noise.js';
import type { Image2D } from '../../src/image.js';
import { ssimMap } from '../../src/metrics/ssim.js';
import { resolveModelFiles } from '../../src/models/load.js';
import { createSliceDenoiser } from '../../src/pipeline/slice-denoiser.js';
import { findGroups, loadGroup, type PairGroup } from '../evaluate/real-pairs/data.js';
import { scoringMasks, WINDOW_LABELS, WINDOW_NAMES, WINDOW_REGIONS, WINDOWS, type WindowName } from '../evaluate/real-pairs/score.js';
import { optionReader } from './cli-args.js';
import { imageGrid, ROOT, saveFigure } from './figures.js';
import { contributions, DEFAULT_REGION_OPTIONS, REGION_LABELS, regionLabels, REGIONS, signedContributions, splitByRegion, type Region } from './ssim-regions-common.js';
import { makeDirectoriesSync } from '../../src/util/fs.js';

const args = process.argv.slice(2);
const opt = optionReader(args);
const GROUPS = opt('groups', 'L192/B30f,L192/D45f').split(',').map((s) => s.trim()).filter(Boolean);
const WINDOW = opt('window', 'hu') as WindowName;
if (!WINDOW_NAMES.includes(WINDOW)) throw new Error(`--window: one of ${WINDOW_NAMES.join(', ')}`);
const THREADS = Number(opt('threads', '1'));
const CARD = opt('card', 'models/lowdose-ct.json');
const EVAL = path.resolve(ROOT, opt('eval', 'models/eval/ct-real.json'));
const DATA = path.resolve(ROOT, opt('data', '../shared/ldct-mayo'));
const OUT = path.resolve(ROOT, opt('out', 'models/eval/ssim-regions'));
const FIGURES = opt('figures', '');
const REGION_OPTIONS = { ...DEFAULT_REGION_OPTIONS, bandMm: Number(opt('band-mm', String(DEFAULT_REGION_OPTIONS.bandMm))) };
const log = (m: string) => process.stderr.write(`${m}\n`);

/** What this script reads of the evaluation's JSON (scripts/evaluate/real-pairs/report.ts). */
interface EvalJson {
  command: string;
  card: { path: string; onnxSha256: string };
  methods: Array<{
    id: string;
    kind: string;
    groups: Record<string, { ssim: Record<WindowName, number> }>;
    slices: Record<string, Array<{ ssim: Record<WindowName, number> }>>;
    tuning?: Record<string, { parameter: string; noiseStd: number; bestSsim: Record<WindowName, number>; scores: Record<WindowName, Array<{ value: number; ssim: number }>> }>;
  }>;
  margins: { model: Record<string, Record<WindowName, { bestFilterSsim: string; ssimOverBestFilter: number }>> };
}
const evaluation = JSON.parse(readFileSync(EVAL, 'utf8')) as EvalJson;
const evalMethod = (id: string) => {
  const m = evaluation.methods.find((x) => x.id === id);
  if (!m) throw new Error(`${path.relative(ROOT, EVAL)} has no method ${id}`);
  return m;
};
const FILTERS = evaluation.methods.filter((m) => m.kind === 'filter').map((m) => m.id as ClassicalMethod);

const resolved = await resolveModelFiles(CARD.includes('/') ? path.resolve(ROOT, CARD) : CARD);
const onnxSha256 = createHash('sha256').update(readFileSync(resolved.onnxPath)).digest('hex');
if (onnxSha256 !== evaluation.card.onnxSha256) throw new Error(`${CARD}'s ONNX (${onnxSha256.slice(0, 12)}) is not the one ${path.relative(ROOT, EVAL)} scored (${evaluation.card.onnxSha256.slice(0, 12)})`);

/** The model row's settings: the shared denoiser options at their defaults, as real-pairs.ts builds them. */
function modelOptions() {
  const command = addDenoiserOptions(new Command('model')).exitOverride();
  command.parse(['--device', 'cpu', '--threads', String(THREADS)], { from: 'user' });
  return { ...denoiserSettings({ ...command.opts<DenoiserCliOptions>(), model: resolved.cardPath }), outDir: '' };
}

async function modelOutputs(group: PairGroup): Promise<Float32Array[]> {
  const denoiser = await createSliceDenoiser('CT', modelOptions(), log);
  try {
    await denoiser.prepare(group.quarterSeries);
    const outputs: Float32Array[] = [];
    // One slice per call with its position as index, as the evaluation's model row runs it.
    for (const p of group.pairs) outputs.push((await denoiser.denoise([{ index: p.index, image: p.quarter.data }])).denoised[0]!);
    return outputs;
  } finally {
    await denoiser.release();
  }
}

const rounded = (v: number, digits = 6) => Number(v.toPrecision(digits));

/** A slice's SSIM: the mean of its map's counted (finite) entries. */
function sliceMean(map: Float64Array): number {
  let sum = 0;
  let n = 0;
  for (const v of map) {
    if (Number.isNaN(v)) continue;
    sum += v;
    n++;
  }
  return sum / n;
}

async function measureGroup(key: string) {
  const [patient, kernel] = key.split('/') as [string, string];
  const id = findGroups(DATA).find((g) => g.patient === patient && g.kernel === kernel);
  if (!id) throw new Error(`no ${key} under ${DATA}`);
  const group = await loadGroup(DATA, id);
  const masks = group.pairs.map((p) => scoringMasks(p.full, p.valid));
  const scored = masks.map((m) => m[WINDOW_REGIONS[WINDOW]]);
  const labels = group.pairs.map((p, k) => regionLabels(p.full, masks[k]!.patient, REGION_OPTIONS));
  const mapOf = (full: Image2D, data: Float32Array, k: number) =>
    ssimMap(full, { rows: full.rows, columns: full.columns, data }, WINDOWS[WINDOW], { valid: scored[k]! });

  const outputs: Record<string, Float32Array[]> = { input: group.pairs.map((p) => p.quarter.data) };
  const settings: Record<string, string> = { input: 'untouched' };
  const noiseStd = estimateSeriesNoise(group.pairs.map((p) => p.quarter), 'CT');
  for (const method of FILTERS) {
    const tuning = evalMethod(method).tuning?.[key];
    if (!tuning) throw new Error(`${path.relative(ROOT, EVAL)} has no ${method} tuning for ${key}`);
    if (Math.abs(tuning.noiseStd - noiseStd) > 1e-4 * noiseStd) throw new Error(`${key}: series noise ${noiseStd} HU, the evaluation's ${tuning.noiseStd}`);
    const value = tuning.bestSsim[WINDOW];
    log(`${key}: ${method} ${tuning.parameter} ${value}`);
    outputs[method] = group.pairs.map((p) => classicalDenoise(method, p.quarter, { modality: 'CT', noiseStd, [tuning.parameter]: value }).data);
    settings[method] = `${tuning.parameter} ${value} (the evaluation's SSIM-best in ${WINDOW}; noise SD ${noiseStd.toFixed(1)} HU)`;
  }
  log(`${key}: model`);
  outputs['model'] = await modelOutputs(group);
  settings['model'] = `${resolved.card.name} card defaults, ${THREADS} thread(s), CPU`;

  const maps = Object.fromEntries(Object.entries(outputs).map(([m, list]) => [m, list.map((data, k) => mapOf(group.pairs[k]!.full, data, k))]));
  const split = splitByRegion(maps, labels);

  // The totals against the evaluation's: the model per slice, the filters at their SSIM-best setting.
  const check: Record<string, { here: number; evaluation: number }> = {
    input: { here: split.total['input']!, evaluation: evalMethod('input').groups[key]!.ssim[WINDOW] },
    model: { here: split.total['model']!, evaluation: evalMethod('model').groups[key]!.ssim[WINDOW] },
  };
  for (const method of FILTERS) {
    const tuning = evalMethod(method).tuning![key]!;
    check[method] = { here: split.total[method]!, evaluation: tuning.scores[WINDOW].find((s) => s.value === tuning.bestSsim[WINDOW])!.ssim };
  }
  const modelSlices = evalMethod('model').slices[key]!.map((s) => s.ssim[WINDOW]);
  const sliceMeans = maps['model']!.map(sliceMean);
  const maxSliceDiff = Math.max(...sliceMeans.map((v, k) => Math.abs(v - modelSlices[k]!)));
  for (const [m, c] of Object.entries(check)) {
    // The evaluation's JSON keeps six significant digits.
    if (Math.abs(c.here - c.evaluation) > 2e-6) throw new Error(`${key} ${m}: mean SSIM ${c.here} here, ${c.evaluation} in the evaluation`);
  }

  const best = evaluation.margins.model[key]![WINDOW].bestFilterSsim.split(',')[0]!.trim();
  const against = [...new Set([best, 'nlm', 'input'])].filter((m) => m in outputs);
  const contribution = Object.fromEntries(against.map((b) => [b, contributions(split, 'model', b)]));
  const signed = Object.fromEntries(against.map((b) => [b, signedContributions(maps['model']!, maps[b]!, labels)]));

  if (FIGURES) figure(key, group, labels, maps, best);
  return {
    group: key,
    slices: group.pairs.length,
    files: group.pairs.map((p) => p.name),
    settings,
    bestFilter: best,
    check: Object.fromEntries(Object.entries(check).map(([m, c]) => [m, { here: rounded(c.here), evaluation: c.evaluation }])),
    modelSliceMaxDifference: Number(maxSliceDiff.toExponential(2)),
    share: mapValues(split.share, (v) => rounded(v)),
    mean: Object.fromEntries(Object.entries(split.mean).map(([m, r]) => [m, mapValues(r, (v) => (Number.isNaN(v) ? null : rounded(v)))])),
    total: mapValues(split.total, (v) => rounded(v)),
    /** What a perfect output (SSIM 1) would add in each region over the model: share x (1 - model mean). */
    headroom: mapValues(split.share, (v, r) => rounded(v * (1 - split.mean['model']![r]))),
    modelOver: Object.fromEntries(
      Object.entries(contribution).map(([b, c]) => [
        b,
        {
          total: rounded(split.total['model']! - split.total[b]!),
          sumOfContributions: rounded(REGIONS.reduce((s, r) => s + c[r], 0)),
          byRegion: mapValues(c, (v) => rounded(v)),
          signed: mapValues(signed[b]!, (v) => ({ belowShare: rounded(v.belowShare, 3), below: rounded(v.below), above: rounded(v.above) })),
          perSlice: maps['model']!.map((m, k) => rounded(sliceMean(m) - sliceMean(maps[b]![k]!))),
        },
      ]),
    ),
  };
}

function mapValues<K extends string, V, W>(record: Record<K, V>, f: (v: V, k: K) => W): Record<K, W> {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, f(v as V, k as K)])) as Record<K, W>;
}

/** Per slice: full dose (lung window), regions, where the model's map is below / above `filter`'s. */
function figure(key: string, group: PairGroup, labels: readonly Uint8Array[], maps: Record<string, Float64Array[]>, filter: string) {
  const rows = group.pairs.map((p, k) => {
    const { rows: r, columns: c } = p.full;
    const regions = Float32Array.from(labels[k]!, (l) => -1000 + (2000 * l) / (REGIONS.length - 1));
    const diff = (sign: number) => Float32Array.from(maps['model']![k]!, (v, i) => (Number.isNaN(v) ? -1000 : -1000 + 2000 * Math.min(1, (sign * (v - maps[filter]![k]![i]!)) / 0.1)));
    return {
      title: `${key} ${p.name}`,
      cells: [
        { image: p.full.data.map((v) => Math.max(-1000, Math.min(1000, 2 * (v + 500)))), rows: r, columns: c, label: ['full dose, -1000..0 HU'] },
        { image: regions, rows: r, columns: c, label: ['regions: ' + REGIONS.join(' < ')] },
        { image: diff(-1), rows: r, columns: c, label: [`model below ${filter} (white: 0.1)`] },
        { image: diff(1), rows: r, columns: c, label: [`model above ${filter} (white: 0.1)`] },
      ],
    };
  });
  saveFigure(path.join(FIGURES, `${key.replace('/', '-')}.png`), imageGrid(rows, { lo: -1000, hi: 1000 }, 256, `${key}: SSIM map, ${WINDOW_LABELS[WINDOW]}`));
}

const results = [];
for (const key of GROUPS) {
  const result = await measureGroup(key);
  log(JSON.stringify({ group: result.group, share: result.share, modelOver: result.modelOver }));
  results.push(result);
}

const command = ['npx tsx scripts/experiments/ssim-regions.ts', ...args].join(' ');
const output = {
  command,
  evaluation: { file: path.relative(ROOT, EVAL), command: evaluation.command },
  card: { path: path.relative(ROOT, resolved.cardPath), onnxSha256: onnxSha256.slice(0, 12) },
  window: { name: WINDOW, label: WINDOW_LABELS[WINDOW], range: WINDOWS[WINDOW], pixels: WINDOW_REGIONS[WINDOW] },
  regions: Object.fromEntries(REGIONS.map((r) => [r, REGION_LABELS[r]])),
  regionOptions: REGION_OPTIONS,
  results,
};
makeDirectoriesSync(path.dirname(OUT));
writeFileSync(`${OUT}.json`, `${JSON.stringify(output, null, 1)}\n`);
writeFileSync(`${OUT}.md`, renderMarkdown(output));
log(`wrote ${path.relative(ROOT, OUT)}.json and .md`);

function renderMarkdown(o: typeof output): string {
  const f4 = (v: number | null) => (v === null ? '-' : v.toFixed(4));
  const signed = (v: number) => `${v >= 0 ? '+' : ''}${v.toFixed(4)}`;
  const pct = (v: number) => `${(100 * v).toFixed(1)} %`;
  const name = (m: string) => (m === 'nlm' ? 'NLM' : m);
  const o_ = o.regionOptions;
  const lines = [
    `# Where the CT model's SSIM margin comes from (real quarter-dose pairs, ${o.window.label})`,
    '',
    `\`${o.command}\` (card \`${o.card.path}\`, ONNX ${o.card.onnxSha256}; filter settings and the totals they are checked against: \`${o.evaluation.file}\`, \`${o.evaluation.command}\`).`,
    '',
    `Each method's SSIM map against the full dose (\`ssimMap\`: the map the evaluation's SSIM averages, same window, constants, data range, field mask${o.window.pixels === 'patient' ? ', patient outline' : ''}), split by region of the full-dose slice. The group SSIM is the mean over slices of each slice's mean map, so a pixel of slice s weighs 1 / (S N_s); a region's share is its pixels' weight, its mean the weighted mean there, and the model's margin over a method splits exactly as the sum over regions of share x (model mean - method mean).`,
    '',
    `Regions, in this order: skin band = within ${o_.bandMm} mm of the patient outline's edge (\`patientOutline\` of the full dose, as the evaluation's patient windows), either side; outside the outline: table and clothing where the full dose smoothed at ${o_.objectSmoothMm} mm is above ${o_.objectHu} HU, else air; inside: lung and gas below ${o_.lungHu} HU, bone above ${o_.boneHu} HU (full dose smoothed at ${o_.tissueSmoothMm} mm), else soft tissue: edges where that smoothed full dose changes by more than ${o_.edgeHuPerMm} HU per mm, else flat.`,
    '',
  ];
  for (const r of o.results) {
    const methods = ['input', ...FILTERS, 'model'];
    const over = Object.keys(r.modelOver);
    const best = r.bestFilter;
    lines.push(`## ${r.group} (${r.slices} slices; best tuned filter for SSIM here: ${name(best)})`, '');
    lines.push(
      `| region | share | ${methods.map((m) => `${name(m)} SSIM`).join(' | ')} | ${over.map((b) => `model over ${name(b)}: share x diff`).join(' | ')} | model below ${name(best)}: share of region, sum | headroom: share x (1 - model) |`,
      `| --- | --- | ${methods.map(() => '---').join(' | ')} | ${over.map(() => '---').join(' | ')} | --- | --- |`,
    );
    for (const reg of REGIONS as readonly Region[]) {
      const sb = r.modelOver[best]!.signed[reg];
      lines.push(
        `| ${REGION_LABELS[reg]} | ${pct(r.share[reg])} | ${methods.map((m) => f4(r.mean[m]![reg])).join(' | ')} | ${over.map((b) => signed(r.modelOver[b]!.byRegion[reg])).join(' | ')} | ${pct(sb.belowShare)}, ${signed(sb.below)} | ${r.headroom[reg].toFixed(4)} |`,
      );
    }
    const allBelow = REGIONS.reduce((acc, reg) => acc + r.modelOver[best]!.signed[reg].below, 0);
    const allBelowShare = REGIONS.reduce((acc, reg) => acc + r.share[reg] * r.modelOver[best]!.signed[reg].belowShare, 0);
    lines.push(
      `| **all** | 100 % | ${methods.map((m) => f4(r.total[m]!)).join(' | ')} | ${over.map((b) => `**${signed(r.modelOver[b]!.total)}** (sum ${signed(r.modelOver[b]!.sumOfContributions)})`).join(' | ')} | ${pct(allBelowShare)}, ${signed(allBelow)} | ${REGIONS.reduce((acc, reg) => acc + r.headroom[reg], 0).toFixed(4)} |`,
      '',
    );
    lines.push(
      `Per slice, model - ${name(best)} (${r.files.join(', ')}): ${r.modelOver[best]!.perSlice.map(signed).join(', ')}.`,
      '',
      `Settings: ${Object.entries(r.settings).map(([m, s]) => `${name(m)}: ${s}`).join('; ')}. Totals against the evaluation's: ${Object.entries(r.check).map(([m, c]) => `${name(m)} ${c.here.toFixed(4)} (${c.evaluation.toFixed(4)})`).join(', ')}; the model's per-slice SSIM within ${r.modelSliceMaxDifference} of its per-slice values.`,
      '',
    );
  }
  return `${lines.join('\n')}\n`;
}
