import path from 'node:path';
import { sliceOf } from './src/image.js';
import { tuneParameter, type TuningPair } from './src/filters/tune.js';
import { estimateFilterNoise } from './src/filters/noise.js';
import { simulatePet } from './src/simulate/pet.js';
import { readNiftiVolume } from './scripts/train/nifti-volume.js';
const { volume } = readNiftiVolume(path.resolve('../shared/pet/qin-hn-0139-pet.nii.gz'));
const pairs: TuningPair[] = [];
for (const k of [120, 200, 260, 320, 380, 420]) {
  const sim = simulatePet(sliceOf(volume, k), { countsFraction: 0.25, seed: 11, sliceIndex: k, sliceThicknessMm: volume.spacing[2] });
  pairs.push({ lowDose: sim.lowDose, reference: sim.fullDose! });
  const n = estimateFilterNoise(sim.lowDose, 'PT');
  let s = 0, s2 = 0, c = 0, m = 0; const low = sim.lowDose.data, full = sim.fullDose!.data;
  for (const v of full) m = Math.max(m, v);
  for (let i = 0; i < low.length; i++) if (full[i]! > 0.05 * m) { const d = low[i]! - full[i]!; s += d; s2 += d * d; c++; }
  console.log(k, 'est', n.std.toFixed(0), n.from, 'diff std body', Math.sqrt(s2 / c - (s / c) ** 2).toFixed(0));
}
const show = (t: string, r: ReturnType<typeof tuneParameter>) => console.log(t, r.scores.map((s) => `${s.value}:${s.psnr.toFixed(2)}`).join(' '));
show('nlm p1 s5', tuneParameter('nlm', 'hFactor', pairs, [1.6, 2.4, 3.2, 4.5], { params: { modality: 'PT', patchRadius: 1, searchRadius: 5 } }));
show('nlm p1 s10', tuneParameter('nlm', 'hFactor', pairs, [1.6, 2.4, 3.2], { params: { modality: 'PT', patchRadius: 1, searchRadius: 10 } }));
show('nlm p2 s5', tuneParameter('nlm', 'hFactor', pairs, [0.8, 1.2, 1.6, 2.4], { params: { modality: 'PT', patchRadius: 2, searchRadius: 5 } }));
show('bil 5mm', tuneParameter('bilateral', 'rangeFactor', pairs, [4, 6, 8, 12], { params: { modality: 'PT', sigmaSpatialMm: 5 } }));
