import { readNiftiVolume } from './scripts/train/nifti-volume.js';
import { sliceOf } from './src/image.js';
import { simulatePet } from './src/simulate/pet.js';
import { estimateNoise } from './src/metrics/noise-estimate.js';
for (const f of ['sts-001-pet', 'qin-hn-0139-pet']) {
  const { volume, suvFactor } = readNiftiVolume(`../shared/pet/${f}.nii.gz`);
  console.log(f, volume.rows, volume.columns, volume.spacing, volume.slices.length, suvFactor);
  for (const k of [Math.floor(volume.slices.length * 0.3), Math.floor(volume.slices.length * 0.6)]) {
    const img = sliceOf(volume, k);
    const t0 = performance.now();
    const sim = simulatePet(img, { countsFraction: 0.25, seed: 1, sliceIndex: k });
    const ms = performance.now() - t0;
    const low = sim.lowDose.data, full = sim.fullDose!.data;
    let max = 0; for (const v of full) max = Math.max(max, v);
    // true noise: std of (low - full) over pixels with full > 0.1 max... (low and full share events, so this underestimates)
    const sel = (thr: number) => { let s = 0, s2 = 0, n = 0; for (let i = 0; i < low.length; i++) if (full[i]! > thr) { const d = low[i]! - full[i]!; s += d; s2 += d * d; n++; } return Math.sqrt(s2 / n - (s / n) ** 2); };
    let mean = 0, n = 0; for (const v of full) if (v > 0.05 * max) { mean += v; n++; } mean /= n;
    const e0 = estimateNoise(sim.lowDose).std;
    const e1 = estimateNoise(sim.lowDose, { valueRange: [0.2 * mean, Infinity] }).std;
    const e2 = estimateNoise(sim.lowDose, { valueRange: [0.5 * mean, 2 * mean] }).std;
    const e3 = estimateNoise(sim.lowDose, { method: 'laplacian' }).std;
    console.log(k, `${ms.toFixed(0)}ms`, 'max', max.toFixed(0), 'bodymean', mean.toFixed(0), 'diffstd>0.05max', sel(0.05 * max).toFixed(1), 'diffstd>mean', sel(mean).toFixed(1), 'est all', e0.toFixed(1), 'est>0.2mean', e1.toFixed(1), 'est[.5,2]mean', e2.toFixed(1), 'lap', e3.toFixed(1));
  }
}
