/**
 * How much of the slow noise can a denoiser remove from real soft tissue? The stationary Wiener
 * filter's answer, on the AAPM-Mayo pairs, beside what the model keeps (texture-mayo-coherent.ts).
 *
 * In 64 px soft-tissue tiles of the full dose x_f = A + n_f, the anatomy's power is
 * S_AA = S_ff - kappa S_ee (e = quarter - full, the extra noise; kappa as texture-noise.ts), and
 * the quarter dose's noise power is (1 + kappa) S_ee. The linear, shift-invariant estimator of A
 * with the least squared error keeps, at each frequency, H = S_AA / (S_AA + (1 + kappa) S_ee) of
 * its input, noise included. Where the anatomy's power dwarfs the noise's (low frequencies), H is
 * near 1: no such filter can take the slow noise down to the full dose's share sqrt(kappa /
 * (1 + kappa)) without taking the anatomy with it. Only an estimator that adapts to where the
 * anatomy is flat (an organ's interior) can; the model is such an estimator, so H is a reference
 * for what it has to beat, not a bound on it.
 *
 *   npx tsx scripts/experiments/texture-wiener-bound.ts
 * Writes docs/experiments/texture-wiener-bound.json (per case: frequency, H, the model's T from
 * docs/experiments/texture-mayo-coherent.json, the full dose's share).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { radialBin, roiSpectrum } from '../../src/metrics/noise-transfer.js';
import { softTissueTiles } from '../../src/metrics/soft-tissue-rois.js';
import { ROOT, saveJson } from './figures.js';
import { round } from './fixture-runs.js';
import { KERNELS, loadCase, PATIENTS } from './texture-mayo-runs.js';
import { anatomyCorrected, flatRois, noiseOf } from './texture-noise.js';

const SIZE = 64;
const BINS = SIZE / 2 + 1;
const coherent = JSON.parse(readFileSync(path.join(ROOT, 'docs/experiments/texture-mayo-coherent.json'), 'utf8')) as {
  tileSize: number;
  detrend: string;
  results: Array<{ case: string; rows: Array<{ label: string; T: Array<number | null> }> }>;
};
if (coherent.tileSize !== SIZE || coherent.detrend !== 'mean') throw new Error('texture-mayo-coherent.json is not the 64 px, mean-detrended run');
const results: Array<Record<string, unknown>> = [];
for (const patient of PATIENTS) {
  for (const kernel of KERNELS) {
    const c = await loadCase(patient, kernel);
    const ff = new Float64Array(BINS);
    const ee = new Float64Array(BINS);
    c.full.forEach((full, slice) => {
      const quarter = c.quarter[slice]!;
      for (const { row, col } of softTissueTiles(full, SIZE)) {
        const f = roiSpectrum(full.columns, row, col, SIZE, (k) => full.data[k]!, 'mean');
        const e = roiSpectrum(full.columns, row, col, SIZE, (k) => quarter.data[k]! - full.data[k]!, 'mean');
        for (let q = 0; q < SIZE * SIZE; q++) {
          const b = radialBin(q, SIZE);
          if (b < 0) continue;
          ff[b]! += f.re[q]! ** 2 + f.im[q]! ** 2;
          ee[b]! += e.re[q]! ** 2 + e.im[q]! ** 2;
        }
      }
    });
    const rois = c.full.map(flatRois);
    const diff = c.quarter.map((q, i) => ({ ...q, data: q.data.map((v, j) => v - c.full[i]!.data[j]!) }));
    const kappa = anatomyCorrected(noiseOf(c.full, rois), noiseOf(diff, rois)).ratio;
    const spacing = c.full[0]!.pixelSpacing[1];
    const H = Array.from({ length: BINS }, (_, b) => {
      if (b === 0) return null;
      const anatomy = Math.max(0, ff[b]! - kappa * ee[b]!);
      return round(anatomy / (anatomy + (1 + kappa) * ee[b]!), 3);
    });
    const modelT = coherent.results.find((r) => r.case === c.name)!.rows.find((r) => r.label === 'model smooth')!.T;
    const fullShare = round(Math.sqrt(kappa / (1 + kappa)), 3);
    results.push({
      case: c.name,
      kappa: round(kappa, 4),
      fullDoseShare: fullShare,
      frequencyCyclesPerMm: Array.from({ length: BINS }, (_, b) => round(b / SIZE / spacing, 4)),
      wienerH: H,
      modelT,
    });
    console.log(`${c.name}: full dose keeps ${fullShare} of the quarter dose's noise amplitude; f cycles/mm: Wiener H / model T`);
    console.log(H.map((h, b) => (b >= 1 && b <= 12 ? `${(b / SIZE / spacing).toFixed(3)}: ${h!.toFixed(2)} / ${modelT[b]!.toFixed(2)}` : '')).filter(Boolean).join('  '));
  }
}
saveJson('texture-wiener-bound.json', { command: 'npx tsx scripts/experiments/texture-wiener-bound.ts', tileSize: SIZE, results });
