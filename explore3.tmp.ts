import path from 'node:path';
import { sliceOf } from './src/image.js';
import { tuneParameter, type TuningPair } from './src/filters/tune.js';
import { insertCtNoise } from './src/simulate/ct.js';
import { readNiftiVolume } from './scripts/train/nifti-volume.js';
const pairs: TuningPair[] = [];
for (const name of ['lidc-0001-chest', 'crlm-1004-abdomen', 'lidc-0314-chest']) {
  const { volume, sidecar } = readNiftiVolume(path.resolve(`../shared/ct/${name}.nii.gz`));
  const k0 = String(sidecar['ConvolutionKernel'] ?? 'STANDARD').toUpperCase();
  for (const fraction of [0.3, 0.5, 0.7]) {
    const k = Math.floor(fraction * volume.slices.length);
    const reference = sliceOf(volume, k);
    pairs.push({ reference, lowDose: insertCtNoise(reference, { dose: 0.25, seed: 11, sliceIndex: k, kernel: k0 === 'D' || k0 === 'L' ? 'sharp' : 'standard' }) });
  }
}
const show = (t: string, r: ReturnType<typeof tuneParameter>) => console.log(t, r.scores.map((s) => `${s.value}:${s.psnr.toFixed(2)}/${s.ssim.toFixed(3)}`).join(' '));
show('nlm p2 s4', tuneParameter('nlm', 'hFactor', pairs, [1.0, 1.2, 1.4], { params: { modality: 'CT', patchRadius: 2, searchRadius: 4 } }));
show('nlm p2 s3', tuneParameter('nlm', 'hFactor', pairs, [1.2, 1.5], { params: { modality: 'CT', patchRadius: 2, searchRadius: 3 } }));
show('nlm p3 s5', tuneParameter('nlm', 'hFactor', pairs, [1.0], { params: { modality: 'CT', patchRadius: 3, searchRadius: 5 } }));
