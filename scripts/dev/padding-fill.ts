/**
 * What a denoiser leaves at the field-of-view edge, by how padded pixels are filled before it
 * (docs/dicom-writing.md, "Padding and out-of-field pixels"). For each real slice, denoise it once
 * with its field of view as scanned (D0) and once with a smaller field (outside a circle of radius
 * R px set to -3024 HU and marked as padding, like GE's PixelPaddingValue), filled by each
 * strategy and restored after (DX). The artefact is |DX - D0| on the valid pixels 1-3 and 4-10
 * steps from the padding. `none` is what lowdose did before: padding handed to the denoiser as is.
 *
 * Run: npx tsx scripts/dev/padding-fill.ts [--methods gaussian,bilateral,nlm,diffusion]
 */
import { readSliceImage, scanPaths, type Series } from '../../src/dicom/index.js';
import { fillPadding, paddingDistance, restorePadding, type PaddingFill } from '../../src/padding.js';
import { createSliceDenoiser } from '../../src/pipeline/slice-denoiser.js';
import type { DenoiseMethod } from '../../src/pipeline/types.js';

const CASES = [
  // GE LightSpeed Ultra, PixelPaddingValue -2000 outside the inscribed circle (r 256 px).
  { name: 'GE ct-3slice', dir: '../shared/dicom/QIICR__dcmqi/data/segmentations/ct-3slice', radius: 225 },
  // Siemens quarter dose, no padding: the image reaches the corners (patient L192 fills the field).
  { name: 'Mayo L192 B30f quarter', dir: '../shared/ldct-mayo/L192/B30f/quarter', radius: 225 },
  { name: 'Mayo L143 D45f quarter', dir: '../shared/ldct-mayo/L143/D45f/quarter', radius: 225 },
];
const FILLS: Array<[string, PaddingFill | null]> = [
  ['none', null],
  ['air -1000', { kind: 'constant', value: -1000 }],
  ['nearest', { kind: 'nearest' }],
];
const PAD_HU = -3024;

const methodsArg = process.argv.indexOf('--methods');
const methods = (methodsArg > 0 ? process.argv[methodsArg + 1]! : 'gaussian,bilateral,nlm,diffusion').split(',') as DenoiseMethod[];

function circlePadding(rows: number, columns: number, radius: number, existing: Uint8Array | null | undefined): Uint8Array {
  const mask = new Uint8Array(rows * columns);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) {
      const i = r * columns + c;
      mask[i] = existing?.[i] || Math.hypot(r - (rows - 1) / 2, c - (columns - 1) / 2) > radius ? 1 : 0;
    }
  }
  return mask;
}

function ringStats(diff: Float32Array, distance: Float64Array, lo: number, hi: number) {
  const values: number[] = [];
  for (let i = 0; i < diff.length; i++) if (distance[i]! >= lo && distance[i]! <= hi) values.push(Math.abs(diff[i]!));
  values.sort((a, b) => a - b);
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return { mean, p99: values[Math.floor(0.99 * (values.length - 1))]!, max: values[values.length - 1]! };
}

const fmt = (s: { mean: number; p99: number; max: number }) => `${s.mean.toFixed(1)} / ${s.p99.toFixed(0)} / ${s.max.toFixed(0)}`;

console.log('|DX - D0| in HU, mean / 99th percentile / max, on valid pixels 1-3 and 4-10 steps from the padding');
for (const method of methods) {
  for (const testCase of CASES) {
    const { series } = await scanPaths([testCase.dir]);
    const only: Series = series[0]!;
    const denoiser = await createSliceDenoiser('CT', { outDir: '/tmp', method, seed: 0 }, () => {});
    await denoiser.prepare(only);
    const rows: Record<string, { near: ReturnType<typeof ringStats>[]; far: ReturnType<typeof ringStats>[] }> = {};
    for (let index = 0; index < only.slices.length; index++) {
      const image = await readSliceImage(only, index);
      const scanned = fillPadding(image.data, image.padding, image.rows, image.columns);
      const reference = restorePadding((await denoiser.denoise([{ index, image: scanned }])).denoised[0]!, image.data, image.padding);
      const padding = circlePadding(image.rows, image.columns, testCase.radius, image.padding);
      const padded = Float32Array.from(image.data, (v, i) => (padding[i] ? PAD_HU : v));
      const distance = paddingDistance(padding, image.rows, image.columns);
      for (const [name, fill] of FILLS) {
        const input = fill ? fillPadding(padded, padding, image.rows, image.columns, fill) : padded;
        const out = restorePadding((await denoiser.denoise([{ index, image: input }])).denoised[0]!, padded, padding);
        const diff = Float32Array.from(out, (v, i) => (padding[i] ? 0 : v - reference[i]!));
        rows[name] ??= { near: [], far: [] };
        rows[name].near.push(ringStats(diff, distance, 1, 3));
        rows[name].far.push(ringStats(diff, distance, 4, 10));
      }
    }
    await denoiser.release();
    for (const [name, r] of Object.entries(rows)) {
      const pool = (list: ReturnType<typeof ringStats>[]) => ({
        mean: list.reduce((a, s) => a + s.mean, 0) / list.length,
        p99: Math.max(...list.map((s) => s.p99)),
        max: Math.max(...list.map((s) => s.max)),
      });
      console.log(`${method.padEnd(9)} ${testCase.name.padEnd(24)} ${name.padEnd(10)} 1-3 px: ${fmt(pool(r.near)).padEnd(18)} 4-10 px: ${fmt(pool(r.far))}`);
    }
  }
}
