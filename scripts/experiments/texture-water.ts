/**
 * Texture experiment on the water phantom fixture (the QA gate's NPS phantom): the radial NPS of the
 * full dose, the low-dose input, the shipped model's smooth output, its full-dose-texture output as
 * `--texture full-dose` makes it (src/diffusion/texture.ts: shaped per frequency by the card's
 * texture.transfer when it has one) and the single weight w(d) for comparison, with QA's own measurement (npsOf: 64 px ROIs in the water disc,
 * 2nd-order detrend; smoothedPeak; pooled ROI noise SD), and the noise transfer per frequency,
 * T(f) = sqrt(NPS_out(f) / NPS_input(f)): what share of the input's noise amplitude an output keeps
 * at each frequency. Full dose is sqrt(d) everywhere (same kernel); re-injection reaches it only
 * where the model's own T is below it.
 *
 * Then the same for other sampler settings (route (c): more steps, eta = 1, stronger warm starts,
 * DDPM, ensembles), smooth and re-injected.
 *
 * Run: npx tsx scripts/experiments/texture-water.ts   (about 3 minutes on the 2-core machine)
 * Writes docs/experiments/texture-water.json, texture-water-nps-dose<pct>.png, texture-water-transfer-dose<pct>.png.
 * A candidate: --model <card.json> --prefix <name> (files <name>.json, <name>-*.png) --sweep no (the
 * first table and T(f) only). --transfer <json> adds the re-injection shaped by another measured
 * noise transfer (texture-transfer.ts's JSON, ./texture-transfer-gain.ts) to the first table.
 * --low-band <strength>: the first table with low-band denoising after the model (src/filters/low-band.ts).
 */
import { restoreTexture, textureWeight } from '../../src/diffusion/texture.js';
import type { NpsResult } from '../../src/metrics/index.js';
import { npsOf, pooledNoise, smoothedPeak } from '../../src/qa/checks/index.js';
import { uniformDisc, uniformRois } from '../../src/qa/regions.js';
import type { QaCase, SliceStack } from '../../src/qa/types.js';
import { linePlot, ROOT, saveFigure, saveJson } from './figures.js';
import { readTransferTable, restoreByTransfer } from './texture-transfer-gain.js';
import { denoiseStack, fixtureGeometry, modelArgs, modelIdentity, openModel, readFixture, round, scoreStack } from './fixture-runs.js';

const args = modelArgs({ prefix: { type: 'string', default: 'texture-water' }, sweep: { type: 'string', default: 'yes' }, transfer: { type: 'string' }, 'low-band': { type: 'string' } });
/** Low-band denoising after the model for the first table (src/filters/low-band.ts); default the card's. */
const lowBand = args['low-band'] !== undefined ? { lowBand: Number(args['low-band']) } : {};
const prefix = args.prefix!;
const model = await openModel(args);
/** A candidate: re-injection shaped by another transfer measured on water (--transfer <json>). */
const measuredTransfer = (args.transfer ? readTransferTable(ROOT, args.transfer) : null) ?? undefined;
const byTransfer = (slice: { data: Float32Array; rows: number; columns: number }, denoised: Float32Array, dose: number) =>
  restoreByTransfer(slice.data, denoised, { dose, clip: [-1100, 3100], rows: slice.rows, columns: slice.columns, transfer: measuredTransfer });
/** `--texture full-dose` as shipped: the card's transfer when it has one, else the single weight. */
const shipped = (slice: { data: Float32Array; rows: number; columns: number }, denoised: Float32Array, dose: number) =>
  restoreTexture(slice.data, denoised, { dose, clip: [-1100, 3100], rows: slice.rows, columns: slice.columns, transfer: model.card.texture?.transfer });
const singleWeight = (slice: { data: Float32Array }, denoised: Float32Array, dose: number) => restoreTexture(slice.data, denoised, { dose, clip: [-1100, 3100] });
const results: Array<Record<string, unknown>> = [];
const truth = await readFixture('water', 'truth');
const full = await readFixture('water', 1);
for (const dose of [0.25, 0.1]) {
  const low = await readFixture('water', dose);
  const run = await denoiseStack(model, low, { seed: Number(args.seed), dose, ...lowBand });
  const stack = (data: readonly Float32Array[]): SliceStack => ({ ...low, slices: low.slices.map((s, i) => ({ ...s, data: data[i]! })) });
  const sets: Record<string, SliceStack> = {
    'full dose': full,
    [`input (${dose * 100} %)`]: low,
    'model smooth': stack(run.denoised),
    'model full-dose texture': stack(run.denoised.map((d, i) => shipped(low.slices[i]!, d, dose))),
    ...(model.card.texture?.transfer ? { 'model, single weight w(d)': stack(run.denoised.map((d, i) => singleWeight(low.slices[i]!, d, dose))) } : {}),
    ...(measuredTransfer ? { 'model, shaped by water T(f)': stack(run.denoised.map((d, i) => byTransfer(low.slices[i]!, d, dose))) } : {}),
  };
  const c: QaCase = { phantom: 'water', dose, geometry: fixtureGeometry('water'), truth, full, low, denoised: low };
  const disc = uniformDisc(c)!;
  const rois = uniformRois(c);
  const nps: Record<string, NpsResult> = Object.fromEntries(Object.entries(sets).map(([k, s]) => [k, npsOf(s, disc)]));
  const input = nps[`input (${dose * 100} %)`]!;
  const fullPeak = smoothedPeak(nps['full dose']!);
  const fullSd = pooledNoise(full, rois);
  const rows = Object.entries(sets).map(([label, s]) => {
    const sd = pooledNoise(s, rois);
    const peak = smoothedPeak(nps[label]!);
    return {
      label,
      noiseSd: round(sd, 2),
      noiseVsFull: round(sd / fullSd - 1, 3),
      npsPeak: round(peak, 3),
      peakVsFull: round(peak / fullPeak - 1, 3),
      ...(s === full ? {} : { psnr: round(scoreStack(full, s.slices.map((x) => x.data)).psnr, 2) }),
    };
  });
  console.table(rows);
  // T(f) per output, on the NPS bins (for the write-up's numbers; the figure plots the same).
  const transfer = Object.fromEntries(
    Object.entries(nps)
      .filter(([name]) => !name.startsWith('input'))
      .map(([name, r]) => [name, [...r.radial.nps].map((v, k) => round(Math.sqrt(v / input.radial.nps[k]!), 3))]),
  );
  results.push({ dose, weight: round(textureWeight(dose), 4), rows, frequency: [...input.radial.frequency].map((f) => round(f, 4)), transfer });
  const curve = (r: NpsResult, f: (v: number, k: number) => number) =>
    [...r.radial.frequency].map((x, k) => [x, f(r.radial.nps[k]!, k)] as const).filter(([x, y]) => x > 0 && Number.isFinite(y));
  const pct = Math.round(dose * 100);
  saveFigure(
    `${prefix}-nps-dose${pct}.png`,
    linePlot({
      title: `Water phantom, ${pct} % dose: radial NPS (QA's ROIs)`,
      xLabel: 'spatial frequency (cycles/mm)',
      yLabel: 'NPS (HU^2 mm^2)',
      series: Object.entries(nps).map(([name, r]) => ({ name, points: curve(r, (v) => v) })),
    }),
  );
  saveFigure(
    `${prefix}-transfer-dose${pct}.png`,
    linePlot({
      title: `Water phantom, ${pct} % dose: noise amplitude kept, sqrt(NPS_out / NPS_input)`,
      xLabel: 'spatial frequency (cycles/mm)',
      yLabel: 'T(f)',
      yRange: [0, 1.2],
      hLines: [{ y: Math.sqrt(dose), label: `sqrt(d) = ${round(Math.sqrt(dose), 3)}` }],
      series: Object.entries(nps)
        .filter(([name]) => !name.startsWith('input'))
        .map(([name, r]) => ({ name, points: curve(r, (v, k) => Math.sqrt(v / input.radial.nps[k]!)) })),
    }),
  );
}

/** Route (c): does the model's own sampling carry texture? Each setting smooth and re-injected, QA's measures. */
const SWEEP: Array<Record<string, unknown>> = [
  { steps: 2 },
  { steps: 4 },
  { samples: 4 },
  { samples: 8 },
  { name: 'warm-start', strength: 0.02, steps: 1 },
  { name: 'warm-start', strength: 0.05, steps: 1 },
  { name: 'warm-start', strength: 0.2, steps: 4, eta: 1 },
  { name: 'warm-start', strength: 0.3, steps: 1 },
  { name: 'warm-start', strength: 0.3, steps: 6, eta: 1 },
  { name: 'warm-start', strength: 0.5, steps: 10, eta: 1 },
  { name: 'ddim', steps: 1 },
  { name: 'ddpm', steps: 20 },
];
const sweep: Array<Record<string, unknown>> = [];
for (const dose of args.sweep === 'no' ? [] : [0.25, 0.1]) {
  const low = await readFixture('water', dose);
  const c: QaCase = { phantom: 'water', dose, geometry: fixtureGeometry('water'), truth, full, low, denoised: low };
  const disc = uniformDisc(c)!;
  const rois = uniformRois(c);
  const fullPeak = smoothedPeak(npsOf(full, disc));
  const fullSd = pooledNoise(full, rois);
  for (const setting of SWEEP) {
    const run = await denoiseStack(model, low, { seed: Number(args.seed), dose, ...setting });
    const row: Record<string, unknown> = { dose, setting };
    for (const texture of ['smooth', 'full-dose'] as const) {
      const data = texture === 'smooth' ? run.denoised : run.denoised.map((d, i) => shipped(low.slices[i]!, d, dose));
      const s: SliceStack = { ...low, slices: low.slices.map((x, i) => ({ ...x, data: data[i]! })) };
      row[texture] = {
        noiseVsFull: round(pooledNoise(s, rois) / fullSd - 1, 3),
        peakVsFull: round(smoothedPeak(npsOf(s, disc)) / fullPeak - 1, 3),
        psnr: round(scoreStack(full, data).psnr, 2),
      };
    }
    console.log(JSON.stringify(row));
    sweep.push(row);
  }
}
await model.release();
saveJson(`${prefix}.json`, { command: `npx tsx scripts/experiments/texture-water.ts ${process.argv.slice(2).join(' ')}`.trim(), model: modelIdentity(model), results, sweep });
