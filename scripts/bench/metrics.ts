/**
 * Speed of the image-quality metrics on 512x512 slices (single thread).
 * Run: npx tsx scripts/bench/metrics.ts
 */
import { compareSlices } from '../../src/metrics/compare.js';
import { edgeMtf } from '../../src/metrics/mtf.js';
import { estimateNoise, SOFT_TISSUE_HU } from '../../src/metrics/noise-estimate.js';
import { noisePowerSpectrum } from '../../src/metrics/nps.js';
import { psnr } from '../../src/metrics/psnr.js';
import { CT_RANGE } from '../../src/metrics/range.js';
import { ssim } from '../../src/metrics/ssim.js';
import { Rng } from '../../src/util/random.js';

const size = 512;
const rng = new Rng(1);
const reference = new Float32Array(size * size);
const test = new Float32Array(size * size);
for (let r = 0; r < size; r++) {
  for (let c = 0; c < size; c++) {
    const inside = (r - 256) ** 2 + (c - 256) ** 2 < 200 ** 2;
    const value = inside ? 40 + 30 * Math.sin(r / 17) * Math.cos(c / 23) + (c > 300 + r / 10 ? 600 : 0) : -1000;
    reference[r * size + c] = value + 10 * rng.normal();
    test[r * size + c] = value + 25 * rng.normal();
  }
}
const image = (data: Float32Array) => ({ rows: size, columns: size, data, pixelSpacing: [0.7, 0.7] as const });

function time(name: string, repeats: number, fn: () => unknown): void {
  fn(); // warm-up (JIT)
  const start = process.hrtime.bigint();
  for (let i = 0; i < repeats; i++) fn();
  const ms = Number(process.hrtime.bigint() - start) / 1e6 / repeats;
  console.log(`${name.padEnd(44)} ${ms.toFixed(1).padStart(7)} ms`);
}

console.log(`node ${process.version}, ${size}x${size} float32 slices`);
time('ssim', 20, () => ssim(image(reference), image(test), CT_RANGE));
time('psnr', 20, () => psnr(image(reference), image(test), CT_RANGE));
time('compareSlices (psnr + ssim + rmse)', 20, () => compareSlices(image(reference), image(test), CT_RANGE));
time('noisePowerSpectrum (64 ROIs of 64x64, poly2)', 5, () => noisePowerSpectrum(image(test), { roiSize: 64 }));
time('estimateNoise local-std (7x7)', 5, () => estimateNoise(image(test), { valueRange: SOFT_TISSUE_HU }));
time('estimateNoise laplacian', 5, () => estimateNoise(image(test), { method: 'laplacian' }));
time('edgeMtf (128x128 region)', 5, () => edgeMtf(image(test), { row: 200, col: 260, rows: 128, columns: 128 }));
