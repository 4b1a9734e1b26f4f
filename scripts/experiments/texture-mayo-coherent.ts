/**
 * Noise-only NPS of the denoised real quarter-dose slices (AAPM-Mayo pairs), with no anatomy in it:
 * the share of each output's noise that follows the input's noise, measured by cross-spectrum
 * against the extra noise the pairs give exactly.
 *
 * Why. texture-mayo.ts measures the outputs' noise in flat soft-tissue ROIs and takes the anatomy's
 * spectrum off (texture-noise.ts, anatomyCorrected: the full dose's anatomy variance). That
 * over-subtracts for every output that also smooths the liver's own fine texture, and on L192 B30f
 * it puts every output's NPS peak (smooth, both textures, NLM, bilateral) in the lowest bin, so it
 * does not tell the methods apart.
 *
 * How. With x_q = A + n_f + n_e (quarter dose), x_f = A + n_f (full dose) and e = x_q - x_f = n_e,
 * independent of A and n_f, an output O(x_q) that is locally linear in its input's noise keeps the
 * share T_O(f) of it; its residual r = x_q - O holds (1 - T_O)(n_f + n_e) plus anatomy it changed,
 * which is independent of e. So, pooled over ROIs,
 *
 *   T_O(f) = 1 - Re<R E*> / <|E|^2>           (texture-transfer-real.ts does this for the model)
 *   NPS_O(f) = T_O(f)^2 (1 + kappa) S_ee(f)    the output's noise that follows the input's noise
 *   NPS_full(f) = kappa S_ee(f)                the full dose's own noise
 *
 * with kappa = var(n_f) / var(n_e) from the flat ROIs' spectra above 0.6 x Nyquist, where anatomy
 * has no power (texture-noise.ts; the quarter dose was made by inserting noise of the same kernel,
 * so n_f and n_e share their NPS shape). An output that is a function of x_q alone responds to n_f
 * as to n_e, so e probes all of its input noise. Left out: output noise that does not follow the
 * input's linearly. Two checks, printed and saved per series: a Gaussian of known transfer must read
 * T = exp(-2 pi^2 sigma^2 f^2), and for the model's smooth output a direct measure that assumes no
 * linearity, a second input x' = x_f + e' (e' the next slice's extra noise) and
 * T_direct^2 = NPS[O(x_q) - O(x')] / (S_ee + S_e'e'), must agree with T_O.
 *
 * ROIs: --rois flat, texture-mayo.ts's 32 px flat soft-tissue ROIs (the same pixels as its table),
 * or --rois soft-tissue (default), 64 px tiles wholly in soft tissue (the 4 px-smoothed full dose
 * in [-150, 250] HU; --tile for another size), with finer frequency bins and the organs' edges in
 * them. --detrend mean (default) or poly2 (QA's and ICRU 87's protocol); --window hann tapers each
 * ROI (Welch). The NPS peak is QA's (src/metrics/nps.ts, smoothedRadialPeak), in cycles/mm. The
 * measure itself is the toolkit's (src/metrics/noise-transfer.ts, `lowdose metrics --noise`); this
 * script adds the two checks.
 *
 *   npx tsx scripts/experiments/texture-mayo-coherent.ts --rois flat --detrend poly2 [--cache /tmp/lowdose-texture-cache] [--threads 1]
 *   npx tsx scripts/experiments/texture-mayo-coherent.ts --detrend poly2
 * Reads or fills texture-mayo.ts's cache (the model's smooth output, the tuned filters) and adds
 * the model's output on x'; writes docs/experiments/texture-mayo-coherent<variant>.json and
 * texture-mayo-coherent<variant>-<case>.png (variant: -flat, -<tile>px, -poly2, -hann as chosen).
 */
import { parseArgs } from 'node:util';
import { restoreTexture, textureWeight } from '../../src/diffusion/texture.js';
import { gaussianSmooth } from '../../src/filters/gaussian.js';
import { CLASSICAL_DEFAULTS, type ClassicalMethod } from '../../src/filters/index.js';
import type { Image2D } from '../../src/image.js';
import { hann2d, NoiseTransfer, radialBin, roiSpectrum } from '../../src/metrics/noise-transfer.js';
import { flatRois, FLAT_ROI_SIZE, softTissueTiles } from '../../src/metrics/soft-tissue-rois.js';
import { linePlot, saveFigure, saveJson } from './figures.js';
import { modelIdentity, openModel, round } from './fixture-runs.js';
import { cacheDir, cached, DOSE, FILTER_GRIDS, KERNELS, loadCase, PATIENTS, runModel, tunedFilter, type ModelRun } from './texture-mayo-runs.js';

const { values: args } = parseArgs({
  options: {
    cache: { type: 'string', default: '/tmp/lowdose-texture-cache' },
    model: { type: 'string', default: 'lowdose-ct' },
    threads: { type: 'string' },
    detrend: { type: 'string', default: 'mean' },
    window: { type: 'string', default: 'none' },
    tile: { type: 'string', default: '64' },
    rois: { type: 'string', default: 'soft-tissue' },
  },
});
if (args.detrend !== 'mean' && args.detrend !== 'poly2') throw new Error(`--detrend mean|poly2, got ${args.detrend}`);
/** mean: all of each tile's noise; poly2: QA's NPS protocol (ICRU 87), which also takes out the slowest noise within a tile. */
const DETREND = args.detrend;
/**
 * --rois flat: texture-mayo.ts's flat soft-tissue ROIs (32 px, texture-noise.ts flatRois) instead of
 * the soft-tissue tiles, to tell the region's share of a difference from the method's.
 */
const FLAT = args.rois === 'flat';
if (!FLAT && args.rois !== 'soft-tissue') throw new Error(`--rois soft-tissue|flat, got ${args.rois}`);
const SIZE = FLAT ? FLAT_ROI_SIZE : Number(args.tile);
if (!(SIZE >= 16 && (SIZE & (SIZE - 1)) === 0)) throw new Error(`--tile: a power of two >= 16, got ${args.tile}`);
const BINS = SIZE / 2 + 1;
const SUFFIX = `${FLAT ? '-flat' : args.tile === '64' ? '' : `-${args.tile}px`}${DETREND === 'mean' ? '' : `-${DETREND}`}${args.window === 'hann' ? '-hann' : ''}`;
/**
 * --window hann tapers each tile (Welch's method): an output pixel near a tile's edge also follows
 * noise outside the tile, which the tile's e does not hold, and that lost coherence reads as kept
 * noise; the taper weights the tile's centre, where a 57 px receptive field stays inside it.
 */
const HANN = args.window === 'hann' ? hann2d(SIZE) : null;
const CLIP: [number, number] = [-1100, 3100];
const CHECK_SIGMA_PX = 1.5;
const CHECK_LABEL = `check: Gaussian ${CHECK_SIGMA_PX} px (known T)`;

const model = await openModel({ model: args.model!, device: 'cpu', threads: args.threads });
const identity = modelIdentity(model);
const transfer = model.card.texture?.transfer ?? null;
const s = model.card.sampler;
const SMOOTH: ModelRun = { label: 'model smooth', steps: s.steps };
const results: Array<Record<string, unknown>> = [];

for (const patient of PATIENTS) {
  for (const kernel of KERNELS) {
    const c = await loadCase(patient, kernel);
    const dir = cacheDir(args.cache!, c);
    // The same cache entries as texture-mayo.ts (its smooth row and its tuned filters).
    const smooth = (await cached(dir, `${identity.sha256} smooth ${SMOOTH.steps}`, c.quarter, async () => ({ images: await runModel(model, c, SMOOTH) }))).images;
    const outputs = new Map<string, Image2D[]>();
    outputs.set('quarter dose (input)', c.quarter);
    outputs.set('model smooth', smooth);
    if (transfer) {
      outputs.set(
        'model + full-dose texture (per frequency)',
        smooth.map((d, i) => ({ ...d, data: restoreTexture(c.quarter[i]!.data, d.data, { dose: DOSE, clip: CLIP, rows: d.rows, columns: d.columns, transfer }) })),
      );
    }
    outputs.set(
      'model + single weight w(d)',
      smooth.map((d, i) => ({ ...d, data: restoreTexture(c.quarter[i]!.data, d.data, { dose: DOSE, clip: CLIP }) })),
    );
    // The method's check: a linear filter of known transfer, a Gaussian of CHECK_SIGMA_PX, must read
    // T(f) = exp(-2 pi^2 sigma^2 f^2) (f in cycles/pixel); the deviation is printed and saved.
    outputs.set(CHECK_LABEL, c.quarter.map((q) => ({ ...q, data: gaussianSmooth(q.data, q.rows, q.columns, CHECK_SIGMA_PX, CHECK_SIGMA_PX) })));
    for (const method of ['bilateral', 'nlm'] as ClassicalMethod[]) {
      const key = `filter ${method} tuned ${JSON.stringify(CLASSICAL_DEFAULTS.CT)} ${JSON.stringify(FILTER_GRIDS[method])}`;
      const { images } = await cached(dir, key, c.quarter, async () => {
        const t = tunedFilter(c, method);
        return { images: t.images, meta: { parameter: t.parameter, value: t.value } };
      });
      outputs.set(`${method} (tuned on these slices)`, images);
    }

    // The direct check, with no linearity assumed: a second quarter-dose-like input x' = x_f + e',
    // e' the extra noise of the next slice, and the model's smooth output on it. The difference
    // O(x_q) - O(x') holds all of the output's response to e - e' (anatomy and n_f cancel), so
    // T_direct(f)^2 = NPS[O(x_q) - O(x')] / (S_ee + S_e'e'): the coherent T plus what the output
    // does not follow linearly.
    const extra = c.quarter.map((q, i) => Float32Array.from(q.data, (v, j) => v - c.full[i]!.data[j]!));
    const second = c.full.map((f, i) => ({ ...f, data: Float32Array.from(f.data, (v, j) => v + extra[(i + 1) % extra.length]![j]!) }));
    const smoothSecond = (await cached(dir, `${identity.sha256} smooth ${SMOOTH.steps} on full + next slice's extra noise`, c.quarter, async () => ({ images: await runModel(model, { ...c, quarter: second }, SMOOTH) }))).images;
    // T, kappa and the noise-only spectra: src/metrics/noise-transfer.ts, every output at once.
    const labels = [...outputs.keys()];
    const measure = new NoiseTransfer(c.full[0]!.rows, c.full[0]!.columns, labels.length, {
      pixelSpacing: c.full[0]!.pixelSpacing,
      rois: FLAT ? 'flat' : 'soft-tissue',
      tileSize: SIZE,
      detrend: DETREND,
      window: HANN ? 'hann' : 'none',
    });
    let tiles = 0;
    c.full.forEach((full, slice) => {
      tiles += measure.add({ input: c.quarter[slice]!.data, reference: full.data, outputs: labels.map((label) => outputs.get(label)![slice]!.data) });
    });
    const noise = measure.result();
    const { kappa, frequency } = noise;
    const fullNps = noise.reference.nps;
    const fullPeak = noise.reference.peakCyclesPerMm;
    const fullMax = Math.max(...[...fullNps].filter(Number.isFinite));
    // The checks are judged where the noise has power (full-dose NPS at least a tenth of its
    // maximum; above that band B30f has almost none and T is a ratio of small numbers), the lowest
    // bin apart: the detrend takes most of its power, so it is the least certain.
    const powered = (b: number) => b >= 2 && fullNps[b]! >= 0.1 * fullMax;
    const rows = labels.map((label, i) => {
      const { transfer: T, nps, peakCyclesPerMm: peak, sdRatio } = noise.outputs[i]!;
      return {
        label,
        sdVsFull: round(sdRatio - 1, 3),
        peakCyclesPerMm: round(peak, 3),
        peakVsFull: round(peak / fullPeak - 1, 3),
        T: [...T].map((t) => (Number.isNaN(t) ? null : round(t, 3))),
        nps: [...nps].map((v) => (Number.isNaN(v) ? null : round(v, 2))),
      };
    });

    // The direct check over the same ROIs.
    const directDiff = new Float64Array(BINS);
    const directEe = new Float64Array(BINS);
    c.full.forEach((full, slice) => {
      const quarter = c.quarter[slice]!;
      const next = extra[(slice + 1) % extra.length]!;
      for (const { row, col } of FLAT ? flatRois(full) : softTissueTiles(full, SIZE)) {
        const spectrum = (value: (k: number) => number) => roiSpectrum(full.columns, row, col, SIZE, value, DETREND, HANN);
        const e = spectrum((k) => quarter.data[k]! - full.data[k]!);
        const e2 = spectrum((k) => next[k]!);
        const d = spectrum((k) => smooth[slice]!.data[k]! - smoothSecond[slice]!.data[k]!);
        for (let q = 0; q < SIZE * SIZE; q++) {
          const b = radialBin(q, SIZE);
          if (b < 0) continue;
          directDiff[b]! += d.re[q]! ** 2 + d.im[q]! ** 2;
          directEe[b]! += e.re[q]! ** 2 + e.im[q]! ** 2 + e2.re[q]! ** 2 + e2.im[q]! ** 2;
        }
      }
    });
    const checkT = rows.find((r) => r.label === CHECK_LABEL)!.T;
    const smoothT = rows.find((r) => r.label === 'model smooth')!.T;
    const directT = Array.from({ length: BINS }, (_, b) => (b === 0 ? null : round(Math.sqrt(directDiff[b]! / directEe[b]!), 3)));
    const directVsCoherent = Math.max(...directT.map((t, b) => (t !== null && powered(b) ? Math.abs(t - smoothT[b]!) : 0)));
    const checkDeviation = checkT.map((t, b) => (t === null ? 0 : t - Math.exp(-2 * Math.PI ** 2 * CHECK_SIGMA_PX ** 2 * (b / SIZE) ** 2)));
    const checkError = Math.max(...checkDeviation.map((d, b) => (powered(b) ? Math.abs(d) : 0)));
    const checkLowest = checkDeviation[1]!;
    results.push({
      case: c.name,
      smoothDirect: { T: directT, maxAbsDifferenceFromCoherent: round(directVsCoherent, 3) },
      check: { sigmaPx: CHECK_SIGMA_PX, maxAbsErrorWhereNoisePowered: round(checkError, 3), lowestBinError: round(checkLowest, 3) },
      slices: c.full.length,
      pixelSpacing: c.full[0]!.pixelSpacing,
      tiles,
      kappa: round(kappa, 4),
      fullDose: { peakCyclesPerMm: round(fullPeak, 3), nps: [...fullNps].map((v) => (Number.isNaN(v) ? null : round(v, 2))) },
      frequencyCyclesPerMm: [...frequency].map((f) => round(f, 4)),
      rows,
    });
    console.log(`${c.name}: ${tiles} tiles of ${SIZE} px, kappa ${kappa.toFixed(3)}, full-dose noise peak ${fullPeak.toFixed(3)} cycles/mm; check filter's T off by at most ${checkError.toFixed(3)} (lowest bin ${checkLowest.toFixed(3)}); smooth's T direct - coherent at most ${directVsCoherent.toFixed(3)}`);
    for (const r of rows) console.log(`  ${r.label.padEnd(44)} noise SD ${fmt(r.sdVsFull)}  NPS peak ${r.peakCyclesPerMm.toFixed(3)} (${fmt(r.peakVsFull)})`);
    saveFigure(
      `texture-mayo-coherent${SUFFIX}-${c.name}.png`,
      linePlot({
        title: `${c.name}: noise-only NPS, ${FLAT ? `${SIZE} px flat ROIs` : `${SIZE} px tiles`}, ${DETREND} detrend`,
        xLabel: 'spatial frequency (cycles/mm)',
        yLabel: 'NPS (HU^2 mm^2)',
        series: [
          { name: 'full dose', points: curve(frequency, fullNps) },
          ...rows.filter((r) => r.label !== 'quarter dose (input)' && r.label !== CHECK_LABEL).map((r) => ({ name: short(r.label), points: curve(frequency, Float64Array.from(r.nps, (v) => v ?? NaN)) })),
        ],
      }),
    );
  }
}
await model.release();
saveJson(`texture-mayo-coherent${SUFFIX}.json`, {
  command: `npx tsx scripts/experiments/texture-mayo-coherent.ts ${process.argv.slice(2).join(' ')}`.trim(),
  model: identity,
  dose: DOSE,
  theoryWeight: textureWeight(DOSE),
  rois: FLAT ? 'flat' : 'soft-tissue',
  tileSize: SIZE,
  detrend: DETREND,
  window: HANN ? 'hann' : 'none',
  results,
});

function fmt(x: number): string {
  return `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)} %`;
}

function short(label: string): string {
  return label.replace(' (tuned on these slices)', '').replace('model + ', '').replace(' (per frequency)', '');
}

function curve(frequency: Float64Array, nps: Float64Array) {
  return [...frequency].map((f, b) => [f, nps[b]!] as const).filter(([f, v]) => f > 0 && Number.isFinite(v));
}
