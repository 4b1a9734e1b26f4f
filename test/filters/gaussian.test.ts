import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LowdoseError } from '../../src/errors.js';
import { gaussianFilter, gaussianSmooth } from '../../src/filters/index.js';
import { Rng } from '../../src/util/random.js';
import { image } from './direct.js';

/** The sampled Gaussian, normalised, radius int(4 sigma + 0.5): written out here, not imported. */
function sampledKernel(sigma: number): number[] {
  const radius = Math.trunc(4 * sigma + 0.5);
  const k = Array.from({ length: 2 * radius + 1 }, (_, i) => Math.exp(-((i - radius) ** 2) / (2 * sigma * sigma)));
  const sum = k.reduce((a, b) => a + b, 0);
  return k.map((v) => v / sum);
}

function variance(values: ArrayLike<number>): number {
  let s = 0;
  let s2 = 0;
  for (let i = 0; i < values.length; i++) {
    s += values[i]!;
    s2 += values[i]! * values[i]!;
  }
  const mean = s / values.length;
  return s2 / values.length - mean * mean;
}

describe('gaussianFilter', () => {
  it('turns a delta into the sampled normalised kernel, per axis from the pixel spacing in mm', () => {
    // 1 mm on a 0.5 x 1.0 mm grid: sigma 2 px down the rows, 1 px along the columns.
    const rows = 41;
    const columns = 31;
    const data = new Float32Array(rows * columns);
    data[20 * columns + 15] = 1;
    const out = gaussianFilter(image(rows, columns, data, [0.5, 1.0]), { sigmaMm: 1 }).data;
    const kr = sampledKernel(2);
    const kc = sampledKernel(1);
    const rr = (kr.length - 1) / 2;
    const rc = (kc.length - 1) / 2;
    let total = 0;
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < columns; c++) {
        const i = r - 20 + rr;
        const j = c - 15 + rc;
        const expected = i >= 0 && i < kr.length && j >= 0 && j < kc.length ? kr[i]! * kc[j]! : 0;
        expect(out[r * columns + c]).toBeCloseTo(expected, 7);
        total += out[r * columns + c]!;
      }
    }
    expect(total).toBeCloseTo(1, 6);
  });

  it('leaves a constant image unchanged, borders included', () => {
    const data = new Float32Array(23 * 17).fill(-731.5);
    const out = gaussianFilter(image(23, 17, data), { sigmaPx: 3.2 }).data;
    for (const v of out) expect(v).toBeCloseTo(-731.5, 3);
  });

  it('matches scipy.ndimage.gaussian_filter (mode reflect, truncate 4), one-axis and smaller-than-kernel images included', () => {
    const file = path.resolve(import.meta.dirname, 'data/scipy-gaussian.json');
    const reference = JSON.parse(readFileSync(file, 'utf8')) as {
      cases: { rows: number; columns: number; sigma: [number, number]; input: number[]; output: number[] }[];
    };
    expect(reference.cases.length).toBe(4);
    for (const c of reference.cases) {
      const out = gaussianSmooth(Float32Array.from(c.input), c.rows, c.columns, c.sigma[0], c.sigma[1]);
      let worst = 0;
      for (let i = 0; i < out.length; i++) worst = Math.max(worst, Math.abs(out[i]! - c.output[i]!));
      expect(worst).toBeLessThan(1e-4); // float32 output of values up to ~700
    }
  });

  it('reduces the variance of white noise by 1 / (4 pi sigma^2)', () => {
    const size = 512;
    const rng = new Rng(42);
    const noise = new Float32Array(size * size);
    rng.fillNormal(noise);
    for (const sigma of [1.5, 2.5]) {
      const out = gaussianFilter(image(size, size, noise), { sigmaPx: sigma }).data;
      // Interior only: reflection correlates the noise within a kernel radius of the edge.
      const margin = 12;
      const inner: number[] = [];
      for (let r = margin; r < size - margin; r++) for (let c = margin; c < size - margin; c++) inner.push(out[r * size + c]!);
      const ratio = variance(inner) / variance(noise);
      expect(ratio * 4 * Math.PI * sigma * sigma).toBeGreaterThan(0.96);
      expect(ratio * 4 * Math.PI * sigma * sigma).toBeLessThan(1.04);
    }
  });

  it('rejects a width given twice or negative', () => {
    const img = image(8, 8, new Float32Array(64));
    expect(() => gaussianFilter(img, { sigmaMm: 1, sigmaPx: 1 })).toThrow(LowdoseError);
    expect(() => gaussianFilter(img, {})).toThrow(/exactly one/);
    expect(() => gaussianFilter(img, { sigmaPx: -1 })).toThrow(/sigmaPx/);
  });
});
