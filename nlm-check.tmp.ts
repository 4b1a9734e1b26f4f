import { nlmFilter } from './src/filters/nlm.js';
import { bilateralFilter } from './src/filters/bilateral.js';
import { directNlm, directBilateral, image, addNoise, piecewisePhantom } from './test/filters/direct.js';
const n = 40;
const truth = piecewisePhantom(n);
const noisy = image(n, n, addNoise(truth, 30, 1));
for (const [pr, sr] of [[1, 3], [2, 5], [3, 4], [0, 2]] as const) {
  const fast = nlmFilter(noisy, { h: 15, noiseStd: 30, patchRadius: pr, searchRadius: sr }).data;
  const slow = directNlm(noisy, 15, 30, pr, sr);
  let m = 0; for (let i = 0; i < fast.length; i++) m = Math.max(m, Math.abs(fast[i]! - slow[i]!));
  console.log('nlm', pr, sr, 'max abs diff', m);
}
const fb = bilateralFilter(image(n, n, noisy.data, [0.7, 0.9]), { sigmaSpatialMm: 1.5, sigmaRange: 50 }).data;
const sb = directBilateral(noisy, 1.5 / 0.7, 1.5 / 0.9, 50);
let m = 0; for (let i = 0; i < fb.length; i++) m = Math.max(m, Math.abs(fb[i]! - sb[i]!));
console.log('bilateral max abs diff', m);
