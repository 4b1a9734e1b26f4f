/**
 * Texture experiment on the real AAPM-Mayo quarter / full-dose pairs (../shared/ldct-mayo): noise
 * SD and NPS peak in flat soft tissue, and PSNR / SSIM against the full dose in [-1000, 1000] and
 * [-160, 240] HU, for the full and quarter dose, the shipped model (smooth), the model with
 * full-dose texture as shipped (re-injection shaped per frequency by the noise transfer in the model's
 * card, src/diffusion/texture.ts) and by single weights (the theory's w(d) among them), stochastic
 * diffusion sampling (more steps, eta = 1, stronger warm starts, DDPM from noise), an oracle
 * independent posterior sample, and the Gaussian / bilateral / NLM filters tuned on the same slices.
 *
 * Run: npx tsx scripts/experiments/texture-mayo.ts [--cache /tmp/lowdose-texture-cache] [--diffusion all|none]
 *   [--transfer docs/experiments/texture-transfer.json]  (shapes the per-frequency row by that measured
 *   table instead of the card's `texture.transfer`: ./texture-transfer-gain.ts)
 * Writes docs/experiments/texture-mayo.json, texture-mayo-nps-<case>.png and texture-mayo-transfer-<case>.png.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { restoreTexture, textureWeight } from '../../src/diffusion/texture.js';
import { gaussianSmooth } from '../../src/filters/gaussian.js';
import { CLASSICAL_DEFAULTS, type ClassicalMethod } from '../../src/filters/index.js';
import type { Image2D } from '../../src/image.js';
import { compareSlices, type IntensityRange } from '../../src/metrics/index.js';
import { linePlot, ROOT, saveFigure, saveJson } from './figures.js';
import { readTransferTable, restoreByTransfer } from './texture-transfer-gain.js';
import { modelIdentity, openModel, round } from './fixture-runs.js';
import { cacheDir, cached, DOSE, FILTER_GRIDS, KERNELS, loadCase, PATIENTS, runModel, tunedFilter, type MayoCase, type ModelRun } from './texture-mayo-runs.js';
import { anatomyCorrected, flatRois, noiseOf, type NoiseSummary } from './texture-noise.js';

const { values: args } = parseArgs({
  options: {
    cache: { type: 'string', default: '/tmp/lowdose-texture-cache' },
    diffusion: { type: 'string', default: 'all' },
    cases: { type: 'string' },
    model: { type: 'string', default: 'lowdose-ct' },
    device: { type: 'string', default: 'cpu' },
    threads: { type: 'string' },
    transfer: { type: 'string' },
  },
});

const WINDOWS: Record<string, IntensityRange> = { wide: [-1000, 1000], abdomen: [-160, 240] };
/** The card's default sampler and steps (filled in once the model is open). */
let SMOOTH: ModelRun = { label: 'model smooth', steps: 1 };
/**
 * Route (c): the diffusion model's own stochasticity. The long chains run on the first case only
 * (DDPM, 20 steps: 4 minutes for its 7 slices on the 2-core machine).
 */
const DIFFUSION_RUNS: Array<ModelRun & { firstCaseOnly?: boolean }> = [
  { label: 'warm start 0.05, 4 steps, eta 1', name: 'warm-start', strength: 0.05, steps: 4, eta: 1 },
  { label: 'warm start 0.1, 4 steps, eta 1', name: 'warm-start', strength: 0.1, steps: 4, eta: 1 },
  { label: 'warm start 0.2, 4 steps, eta 1', name: 'warm-start', strength: 0.2, steps: 4, eta: 1 },
  { label: 'warm start 0.3, 1 step', name: 'warm-start', strength: 0.3, steps: 1 },
  { label: 'warm start 0.3, 6 steps, eta 1', name: 'warm-start', strength: 0.3, steps: 6, eta: 1, firstCaseOnly: true },
  { label: 'warm start 0.5, 10 steps, eta 1', name: 'warm-start', strength: 0.5, steps: 10, eta: 1, firstCaseOnly: true },
  { label: 'DDPM from noise, 20 steps', name: 'ddpm', steps: 20, firstCaseOnly: true },
];
const WEIGHTS = [0.15, 0.25, textureWeight(DOSE), 0.4, 0.5];
const TRANSFER_LABEL = 'model + full-dose texture (per frequency, T(f))';

const model = await openModel({ model: args.model, device: args.device, threads: args.threads });
/** The card's measured noise transfer (what `--texture full-dose` applies), or --transfer's table. */
const transfer = (args.transfer ? readTransferTable(ROOT, args.transfer) : null) ?? model.card.texture?.transfer;
const identity = modelIdentity(model);
{
  const s = model.card.sampler;
  const detail = s.default === 'warm-start' ? `warm start ${s.strength ?? 0.2}, ${s.steps} step${s.steps > 1 ? 's' : ''}` : `${s.default}, ${s.steps} steps`;
  SMOOTH = { label: `model smooth (default: ${detail})`, steps: s.steps };
}
const selected = args.cases?.split(',');
const results: Array<Record<string, unknown>> = [];

for (const patient of PATIENTS) {
  for (const kernel of KERNELS) {
    if (selected && !selected.includes(`${patient}-${kernel}`)) continue;
    const c = await loadCase(patient, kernel);
    console.error(`${c.name}: ${c.full.length} slices`);
    const dir = cacheDir(args.cache, c);
    const rois = c.full.map(flatRois);
    const rows: Array<Record<string, unknown>> = [];
    const sets = new Map<string, Image2D[]>();
    const add = (label: string, images: Image2D[], extra: Record<string, unknown> = {}) => sets.set(label, images) && rows.push({ label, ...extra });

    add('full dose (reference)', c.full);
    add('quarter dose (input)', c.quarter);
    const diff = c.quarter.map((q, i) => ({ ...q, data: q.data.map((v, j) => v - c.full[i]!.data[j]!) }));

    const smooth = (await cached(dir, `${identity.sha256} smooth ${SMOOTH.steps}`, c.quarter, async () => ({ images: await runModel(model, c, SMOOTH) }))).images;
    add(SMOOTH.label, smooth);
    for (const w of WEIGHTS) {
      const blended = smooth.map((d, i) => ({ ...d, data: blend(c.quarter[i]!.data, d.data, w) }));
      const theory = Math.abs(w - textureWeight(DOSE)) < 1e-9;
      add(`model + re-injection w = ${round(w, 3)}${theory ? ' (single weight w(d))' : ''}`, blended, { weight: round(w, 4), theory });
    }
    // Full-dose texture as shipped: re-injection shaped per frequency by the model's noise transfer
    // measured on water (the card's texture.transfer, or --transfer's table).
    if (transfer) {
      const shaped = smooth.map((d, i) => ({ ...d, data: restoreByTransfer(c.quarter[i]!.data, d.data, { dose: DOSE, clip: [-1100, 3100], rows: d.rows, columns: d.columns, transfer }) }));
      add(TRANSFER_LABEL, shaped);
    }
    // (a) an oracle independent posterior sample: D + sqrt(d) n_e' with n_e' the real extra noise
    // of another slice (same kernel and patient: the right NPS, variance d (1 - d) var(n_q)).
    const oracle = smooth.map((d, i) => {
      const other = diff[(i + 1) % diff.length]!;
      return { ...d, data: d.data.map((v, j) => v + Math.sqrt(DOSE) * other.data[j]!) };
    });
    add('oracle posterior sample D + sqrt(d) n_e(other slice)', oracle);
    if (args.diffusion === 'all') {
      for (const { firstCaseOnly, ...run } of DIFFUSION_RUNS) {
        if (firstCaseOnly && results.length > 0) continue;
        add(`model ${run.label}`, (await cached(dir, `${identity.sha256} ${JSON.stringify(run)}`, c.quarter, async () => ({ images: await runModel(model, c, run) }))).images);
      }
    }
    for (const method of ['gaussian', 'bilateral', 'nlm'] as ClassicalMethod[]) {
      // The key holds the defaults and the grid: a filter's cached output is stale once either changes.
      const key = `filter ${method} tuned ${JSON.stringify(CLASSICAL_DEFAULTS.CT)} ${JSON.stringify(FILTER_GRIDS[method])}`;
      const { images, meta } = await cached(dir, key, c.quarter, async () => {
        const t = tunedFilter(c, method);
        return { images: t.images, meta: { parameter: t.parameter, value: t.value } };
      });
      add(`${method} (tuned on these slices)`, images, { tuned: meta });
    }

    // Noise: raw in flat ROIs, and with the anatomy's spectrum (full dose minus its noise) taken off.
    const fullNoise = noiseOf(c.full, rois);
    const diffNoise = noiseOf(diff, rois);
    const correction = anatomyCorrected(fullNoise, diffNoise);
    const curves: Record<string, NoiseSummary> = {};
    for (const row of rows) {
      const images = sets.get(row['label'] as string)!;
      const raw = noiseOf(images, rois);
      const corrected = correction.apply(raw);
      curves[row['label'] as string] = corrected;
      row['noise'] = { rawSd: round(raw.sd, 2), rawPeak: round(raw.peak, 3), sd: round(corrected.sd, 2), peak: round(corrected.peak, 3), meanFrequency: round(corrected.meanFrequency, 3) };
      if (row['label'] !== 'full dose (reference)') {
        for (const [name, range] of Object.entries(WINDOWS)) row[name] = score(c.full, images, range);
      }
    }
    const fullCorrected = curves['full dose (reference)']!;
    for (const row of rows) {
      const n = row['noise'] as { sd: number; peak: number };
      row['noiseVsFull'] = round(n.sd / fullCorrected.sd - 1, 3);
      row['peakVsFull'] = round(n.peak / fullCorrected.peak - 1, 3);
    }
    const structure = residualStructure(c, smooth, diff);
    results.push({
      case: c.name,
      slices: c.full.length,
      pixelSpacing: c.full[0]!.pixelSpacing,
      flatRois: rois.map((r) => r.length),
      extraNoise: { sd: round(diffNoise.sd, 2), peak: round(diffNoise.peak, 3) },
      fullNoiseShare: round(correction.ratio, 4),
      residualStructure: structure,
      rows,
    });
    printTable(c, rows);
    console.log(`  residual structure: ${JSON.stringify(structure)}; full-dose noise variance / extra noise variance ${correction.ratio.toFixed(3)}`);
    const plotted = ['full dose (reference)', SMOOTH.label, ...rows.filter((r) => r['theory']).map((r) => r['label'] as string), ...(sets.has(TRANSFER_LABEL) ? [TRANSFER_LABEL] : []), 'nlm (tuned on these slices)'];
    const short = (label: string) => label.replace(' (tuned on these slices)', '').replace(' (reference)', '').replace(/ \(default.*\)$/, '').replace(/ w = .*\(single weight w\(d\)\)/, ' w(d)').replace(' full-dose texture (per frequency, T(f))', ' T(f)');
    const quarterNps = curves['quarter dose (input)']!.nps;
    saveFigure(
      `texture-mayo-nps-${c.name}.png`,
      linePlot({
        title: `${c.name}: NPS in flat soft tissue (anatomy removed), quarter-dose input`,
        xLabel: 'spatial frequency (cycles/mm)',
        yLabel: 'NPS (HU^2 mm^2)',
        series: plotted.map((label) => ({ name: short(label), points: curves[label]!.frequency.map((f, k) => [f, curves[label]!.nps[k]!] as const) })),
      }),
    );
    saveFigure(
      `texture-mayo-transfer-${c.name}.png`,
      linePlot({
        title: `${c.name}: noise amplitude kept, sqrt(NPS_out / NPS_quarter)`,
        xLabel: 'spatial frequency (cycles/mm)',
        yLabel: 'T(f)',
        yRange: [0, 1.2],
        hLines: [{ y: Math.sqrt(correction.ratio / (1 + correction.ratio)), label: 'full dose, from the pairs' }],
        series: plotted.map((label) => ({
          name: short(label),
          points: curves[label]!.frequency.map((f, k) => [f, Math.sqrt(Math.max(0, curves[label]!.nps[k]!) / quarterNps[k]!)] as const).filter(([f]) => f > 0),
        })),
      }),
    );
  }
}
await model.release();

saveJson('texture-mayo.json', {
  command: `npx tsx scripts/experiments/texture-mayo.ts ${process.argv.slice(2).join(' ')}`.trim(),
  model: identity,
  dose: DOSE,
  theoryWeight: textureWeight(DOSE),
  machine: { cpu: os.cpus()[0]?.model, cpus: os.availableParallelism(), node: process.version, date: new Date().toISOString() },
  results,
});

function blend(input: Float32Array, denoised: Float32Array, w: number): Float32Array {
  // restoreTexture with w(d) for d = w^2 / (1 - w)^2 (its inverse), so every weight goes through the shipped function.
  const d = (w / (1 - w)) ** 2;
  return restoreTexture(input, denoised, { dose: d, clip: [-1100, 3100] });
}

function score(reference: readonly Image2D[], test: readonly Image2D[], range: IntensityRange): { psnr: number; ssim: number } {
  let p = 0;
  let s = 0;
  reference.forEach((ref, i) => {
    const r = compareSlices(ref, test[i]!, range);
    p += r.psnr;
    s += r.ssim;
  });
  return { psnr: round(p / reference.length, 2), ssim: round(s / reference.length, 4) };
}

/**
 * Does the removed residual x - D carry anatomy? Its SD near edges (gradient of the 2 px-smoothed
 * full dose above 60 HU/mm, in soft tissue and bone) against the SD of the true extra noise
 * n_e = x_q - x_f there, and the same ratio in flat soft tissue. Anatomy in the residual raises
 * the edge ratio above the flat one.
 */
function residualStructure(c: MayoCase, smooth: readonly Image2D[], diff: readonly Image2D[]) {
  let edgeR = 0;
  let edgeE = 0;
  let flatR = 0;
  let flatE = 0;
  let edges = 0;
  let flats = 0;
  c.full.forEach((full, s) => {
    const { rows, columns } = full;
    const g = gradientMagnitude(full);
    for (let r = 1; r < rows - 1; r++) {
      for (let col = 1; col < columns - 1; col++) {
        const i = r * columns + col;
        const v = full.data[i]!;
        if (v < -200) continue;
        const residual = c.quarter[s]!.data[i]! - smooth[s]!.data[i]!;
        const extra = diff[s]!.data[i]!;
        if (g[i]! > 60) {
          edgeR += residual * residual;
          edgeE += extra * extra;
          edges++;
        } else if (g[i]! < 10 && v > 0 && v < 150) {
          flatR += residual * residual;
          flatE += extra * extra;
          flats++;
        }
      }
    }
  });
  const edgeRatio = Math.sqrt(edgeR / edgeE);
  const flatRatio = Math.sqrt(flatR / flatE);
  return { edgePixels: edges, flatPixels: flats, edgeRatio: round(edgeRatio, 3), flatRatio: round(flatRatio, 3) };
}

function gradientMagnitude(image: Image2D): Float32Array {
  const { rows, columns, pixelSpacing } = image;
  const s = smoothPx(image.data, rows, columns);
  const g = new Float32Array(rows * columns);
  for (let r = 1; r < rows - 1; r++) {
    for (let c = 1; c < columns - 1; c++) {
      const i = r * columns + c;
      const gx = (s[i + 1]! - s[i - 1]!) / (2 * pixelSpacing[1]);
      const gy = (s[i + columns]! - s[i - columns]!) / (2 * pixelSpacing[0]);
      g[i] = Math.hypot(gx, gy);
    }
  }
  return g;
}

function smoothPx(data: Float32Array, rows: number, columns: number): Float32Array {
  return gaussianSmooth(data, rows, columns, 2, 2);
}

function printTable(c: MayoCase, rows: Array<Record<string, unknown>>): void {
  console.log(`\n${c.name}`);
  console.log('method'.padEnd(58) + 'SD HU  vsFull  peak c/mm vsFull | raw SD raw peak | PSNR wide SSIM | PSNR abd SSIM');
  for (const row of rows) {
    const n = row['noise'] as Record<string, number>;
    const w = row['wide'] as { psnr: number; ssim: number } | undefined;
    const a = row['abdomen'] as { psnr: number; ssim: number } | undefined;
    console.log(
      String(row['label']).slice(0, 57).padEnd(58) +
        `${n['sd']!.toFixed(1).padStart(5)} ${fmtPct(row['noiseVsFull'] as number)} ${n['peak']!.toFixed(3).padStart(9)} ${fmtPct(row['peakVsFull'] as number)} | ` +
        `${n['rawSd']!.toFixed(1).padStart(6)} ${n['rawPeak']!.toFixed(3).padStart(8)} | ` +
        (w ? `${w.psnr.toFixed(2).padStart(9)} ${w.ssim.toFixed(4)} | ${a!.psnr.toFixed(2).padStart(8)} ${a!.ssim.toFixed(4)}` : '-'),
    );
  }
}

function fmtPct(x: number): string {
  return `${x >= 0 ? '+' : ''}${(100 * x).toFixed(0)}%`.padStart(6);
}
