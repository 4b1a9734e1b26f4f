/**
 * Accuracy of MTF and no-reference noise estimates on synthetic images with known answers, and the
 * noise estimates on the real CT crops of test/data/metrics (the numbers in docs/metrics.md).
 * Run: npx tsx scripts/dev/metrics-accuracy.ts
 */
import { edgeMtf, rodMtf } from '../../src/metrics/mtf.js';
import { estimateNoise, SOFT_TISSUE_HU } from '../../src/metrics/noise-estimate.js';
import { readRaw, referencePairs } from '../../test/metrics/reference-data.js';
import { addNoise, analyticCrossing, blurredDisk, blurredEdge, gaussianMtfAt, piecewiseBody } from '../../test/metrics/synthetic.js';

const pct = (measured: number | null, truth: number) => (measured === null ? 'n/a' : `${((measured / truth - 1) * 100).toFixed(2)} %`);

console.log('MTF, Gaussian PSF sigma (mm), 0.5 mm pixels: error of MTF50 / MTF10 against exp(-2 pi^2 s^2 f^2)');
for (const [sigma, noise] of [[0.35, 0], [0.5, 0], [0.8, 0], [0.5, 10]] as const) {
  const edge = edgeMtf(addNoise(blurredEdge(128, 0.5, sigma, 5, 0, 1000), noise, 1), { row: 20, col: 20, rows: 88, columns: 88 });
  const rod = rodMtf(addNoise(blurredDisk(96, 0.5, 12, sigma, [47.3, 48.6], 1000, 0), noise, 2), [46, 50], 11);
  console.log(
    `  sigma ${sigma} noise ${noise}: edge ${pct(edge.mtf50, gaussianMtfAt(0.5, sigma))} / ${pct(edge.mtf10, gaussianMtfAt(0.1, sigma))}, ` +
      `rod ${pct(rod.mtf50, gaussianMtfAt(0.5, sigma))} / ${pct(rod.mtf10, gaussianMtfAt(0.1, sigma))}`,
  );
}

console.log('MTF over 32 phases of an ACR-like rod (0.98 mm pixels, radius 12.5 mm, contrast 1000; 4 sub-pixel centres x 8 radii across 1/4 pixel): error range of MTF50 / MTF10');
{
  const spacing = 0.98;
  const gauss = (s: number) => (f: number) => Math.exp(-2 * Math.PI ** 2 * s * s * f * f);
  const disk = (sigma: number, radius: number, centre: [number, number]) => blurredDisk(40, spacing, radius, sigma, centre, 1000, 0);
  const cases: Array<[string, (radius: number, centre: [number, number]) => { data: Float32Array }, (f: number) => number]> = [
    ['Gaussian 0.5 mm', (r, c) => disk(0.5, r, c), gauss(0.5)],
    ['Gaussian 0.35 mm', (r, c) => disk(0.35, r, c), gauss(0.35)],
    ['Gaussian 0.25 mm', (r, c) => disk(0.25, r, c), gauss(0.25)],
    [
      '1.25 G(0.45) - 0.25 G(0.9)',
      (r, c) => {
        const skirt = disk(0.9, r, c);
        return { data: disk(0.45, r, c).data.map((v, i) => 1.25 * v - 0.25 * skirt.data[i]!) };
      },
      (f) => 1.25 * gauss(0.45)(f) - 0.25 * gauss(0.9)(f),
    ],
  ];
  for (const [name, make, mtf] of cases) {
    const errors = { 0.5: [] as number[], 0.1: [] as number[] };
    for (const [dr, dc] of [[0, 0], [0.3, 0.1], [0.5, 0.5], [0.17, 0.41]] as const) {
      for (let j = 0; j < 8; j++) {
        const centre: [number, number] = [20 + dr, 19.5 + dc];
        const image = { rows: 40, columns: 40, pixelSpacing: [spacing, spacing] as [number, number], data: make(12.5 + (j / 8) * (spacing / 4), centre).data };
        const rod = rodMtf(image, [20, 20], 12.5);
        for (const level of [0.5, 0.1] as const) {
          const got = level === 0.5 ? rod.levels.mtf50.crossing : rod.levels.mtf10.crossing;
          if (got !== null) errors[level].push(got / analyticCrossing(mtf, level) - 1);
        }
      }
    }
    const range = (v: number[]) => (v.length === 0 ? 'beyond the curve' : `${(Math.min(...v) * 100).toFixed(2)} to ${(Math.max(...v) * 100).toFixed(2)} %`);
    console.log(`  ${name} (MTF50 ${analyticCrossing(mtf, 0.5).toFixed(3)} cycles/mm): ${range(errors[0.5])} / ${range(errors[0.1])}`);
  }
}

console.log('MTF10 and the noise floor, ACR-like rod (0.98 mm pixels, radius 12.5 mm, contrast 1000, sigma 0.5), seeds 1-100:');
for (const noise of [10, 15, 22]) {
  const truth = gaussianMtfAt(0.1, 0.5);
  const reported: number[] = [];
  const crossings: number[] = [];
  for (let seed = 1; seed <= 100; seed++) {
    const rod = rodMtf(addNoise(blurredDisk(64, 0.98, 12.5, 0.5, [31.3, 32.6], 1000, 0), noise, seed), [31, 32], 12.5);
    if (rod.mtf10 !== null) reported.push(rod.mtf10 / truth - 1);
    if (rod.levels.mtf10.crossing !== null) crossings.push(rod.levels.mtf10.crossing / truth - 1);
  }
  const range = (v: number[]) => (v.length === 0 ? 'none' : `${(Math.min(...v) * 100).toFixed(1)} to ${(Math.max(...v) * 100).toFixed(1)} %`);
  console.log(`  noise ${noise}: MTF10 reported ${reported.length} of 100, error ${range(reported)}; first crossing of 0.1 ${range(crossings)}`);
}

console.log('No-reference noise, piecewise-constant 256x256 body + white noise: error of local-std / laplacian');
for (const sd of [5, 10, 25, 60]) {
  const image = addNoise(piecewiseBody(256, 0.8), sd, sd);
  console.log(
    `  SD ${sd}: ${pct(estimateNoise(image, { valueRange: SOFT_TISSUE_HU }).std, sd)} / ${pct(estimateNoise(image, { method: 'laplacian' }).std, sd)}`,
  );
}

console.log('No-reference noise on real normal-dose CT crops (HU): local-std / laplacian');
for (const pair of referencePairs().filter((p) => p.name.startsWith('ct-') && p.name.endsWith('-noise'))) {
  const image = { rows: pair.rows, columns: pair.columns, data: readRaw(pair.reference, pair.dtype, pair.rows * pair.columns) };
  const local = estimateNoise(image, { valueRange: SOFT_TISSUE_HU }).std;
  const laplacian = estimateNoise(image, { method: 'laplacian', valueRange: SOFT_TISSUE_HU }).std;
  console.log(`  ${pair.name.replace(/^ct-|-noise$/g, '')}: ${local.toFixed(1)} / ${laplacian.toFixed(1)}`);
}
