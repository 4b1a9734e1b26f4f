/**
 * The model's noise transfer on the real AAPM-Mayo quarter-dose slices, measured without anatomy
 * bias, against the transfer measured on flat water (./texture-transfer.ts,
 * docs/experiments/texture-transfer.json).
 *
 * With x_q = A + n_f + n_e (quarter dose), x_f = A + n_f (full dose) and D the model's output,
 * the residual r = x_q - D holds (1 - H) A + (1 - T) (n_f + n_e). The extra noise e = x_q - x_f
 * is independent of A and n_f, so the cross-spectrum of r with e over e's power is 1 - T exactly
 * (for a model locally linear in its noise):
 *
 *   T_real(f) = 1 - Re<R E*> / <|E|^2>
 *
 * Spectra are pooled over 64 px tiles of soft tissue (the 4 px-smoothed full dose within
 * [-150, 250] HU over the whole tile), mean-detrended, binned by radial frequency in cycles/pixel.
 *
 *   npx tsx scripts/experiments/texture-transfer-real.ts [--cache /tmp/lowdose-texture-cache]
 * Writes docs/experiments/texture-transfer-real.json and texture-transfer-real.png.
 */
import { parseArgs } from 'node:util';
import type { Image2D } from '../../src/image.js';
import { radialBin, roiSpectrum } from '../../src/metrics/noise-transfer.js';
import { softTissueTiles } from '../../src/metrics/soft-tissue-rois.js';
import { linePlot, ROOT, saveFigure, saveJson } from './figures.js';
import { interpolate, readTransferTable, transferAtDose } from './texture-transfer-gain.js';
import { modelIdentity, openModel, round } from './fixture-runs.js';
import { cacheDir, cached, DOSE, KERNELS, loadCase, PATIENTS, runModel } from './texture-mayo-runs.js';

const { values: args } = parseArgs({ options: { cache: { type: 'string', default: '/tmp/lowdose-texture-cache' }, model: { type: 'string', default: 'lowdose-ct' } } });
const SIZE = 64;
const model = await openModel({ model: args.model!, device: 'cpu' });
const identity = modelIdentity(model);
const steps = model.card.sampler.steps;
const table = readTransferTable(ROOT);
const cardT = table ? transferAtDose(table, DOSE) : null;
const results: Array<Record<string, unknown>> = [];
const bins = SIZE / 2 + 1;
for (const patient of PATIENTS) {
  for (const kernel of KERNELS) {
    const c = await loadCase(patient, kernel);
    // The same cache entry as texture-mayo.ts's smooth row.
    const smooth = (await cached(cacheDir(args.cache!, c), `${identity.sha256} smooth ${steps}`, c.quarter, async () => ({ images: await runModel(model, c, { label: 'smooth', steps }) }))).images;
    const re = new Float64Array(bins);
    const ee = new Float64Array(bins);
    let tiles = 0;
    c.full.forEach((full, s) => {
      const rois = softTissueTiles(full, SIZE);
      tiles += rois.length;
      for (const { row, col } of rois) {
        const r = tile(c.quarter[s]!, row, col, (q, k) => q - smooth[s]!.data[k]!);
        const e = tile(c.quarter[s]!, row, col, (q, k) => q - full.data[k]!);
        for (let q = 0; q < SIZE * SIZE; q++) {
          const b = radialBin(q, SIZE);
          if (b < 0) continue;
          re[b]! += r.re[q]! * e.re[q]! + r.im[q]! * e.im[q]!;
          ee[b]! += e.re[q]! * e.re[q]! + e.im[q]! * e.im[q]!;
        }
      }
    });
    const frequency = Array.from({ length: bins }, (_, b) => round(b / SIZE, 5));
    const T = frequency.map((_, b) => (b === 0 ? null : round(1 - re[b]! / ee[b]!, 3)));
    const card = cardT ? frequency.map((f) => round(interpolate(table!.cyclesPerPixel, cardT, f), 3)) : null;
    results.push({ case: c.name, pixelSpacing: c.full[0]!.pixelSpacing, tiles, frequencyCyclesPerPixel: frequency, T, waterT: card });
    console.log(`${c.name} (${tiles} tiles of ${SIZE} px): f c/px: T real / water`);
    console.log(frequency.map((f, b) => (b % 2 === 1 ? `${f.toFixed(3)}: ${T[b]!.toFixed(2)} / ${card ? card[b]!.toFixed(2) : '-'}` : '')).filter(Boolean).join('  '));
  }
}
await model.release();
const curve = (f: readonly number[], t: ReadonlyArray<number | null>) => f.map((x, b) => [x, t[b]] as const).filter((p): p is readonly [number, number] => p[0] > 0 && p[1] !== null);
saveFigure(
  'texture-transfer-real.png',
  linePlot({
    title: `Noise amplitude kept by the model at 25 % dose: flat water vs real quarter dose`,
    xLabel: 'spatial frequency (cycles/pixel)',
    yLabel: 'T(f)',
    yRange: [0, 1.2],
    hLines: [{ y: Math.sqrt(DOSE), label: 'sqrt(d) = 0.5' }],
    series: [
      ...(table && cardT ? [{ name: 'water (texture-transfer.json)', points: curve(table.cyclesPerPixel, [...cardT]) }] : []),
      ...results.map((r) => ({ name: `${r['case'] as string}, 1 - S_re/S_ee`, points: curve(r['frequencyCyclesPerPixel'] as number[], r['T'] as Array<number | null>) })),
    ],
  }),
);
saveJson('texture-transfer-real.json', { command: 'npx tsx scripts/experiments/texture-transfer-real.ts', model: identity, dose: DOSE, results });

/** The mean-detrended tile at (row, col) of value(v, k), v the pixel of `img`, k its index, and its FFT. */
function tile(img: Image2D, row: number, col: number, value: (v: number, k: number) => number) {
  return roiSpectrum(img.columns, row, col, SIZE, (k) => value(img.data[k]!, k), 'mean');
}
