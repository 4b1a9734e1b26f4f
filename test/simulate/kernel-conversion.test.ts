/**
 * Kernel conversion (src/simulate/kernel-conversion.ts): a slice reconstructed with one FBP kernel,
 * re-rendered as another kernel would have given it, checked against the simulator's own scans of
 * the same object with both kernels (noise-free, and the insertion noise of one seeded draw).
 */
import { describe, expect, test } from 'vitest';
import type { Image2D } from '../../src/image.js';
import { ctInsertionNoise, simulateCtFromTruth } from '../../src/simulate/index.js';
import { convertCtKernel, kernelConversionGain } from '../../src/simulate/kernel-conversion.js';
import { KERNEL_PRESETS } from '../../src/simulate/filters.js';

const N = 160;
const PIXEL = 0.7;

const centred = (i: number, j: number) => [(j - (N - 1) / 2) * PIXEL, (i - (N - 1) / 2) * PIXEL] as const;

/** A 50 mm water disc (40 HU) with a lung-like hole and small bone dots, in air. */
function chestLike(): Image2D {
  const data = new Float32Array(N * N).fill(-1000);
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < N; j++) {
      const [x, y] = centred(i, j);
      const p = i * N + j;
      if (x * x + y * y <= 50 * 50) data[p] = 40;
      if ((x - 20) ** 2 + y ** 2 <= 15 * 15) data[p] = -850;
      for (const [cx, cy, r] of [[-20, 10, 1], [-15, -15, 2], [18, 2, 1], [24, -4, 0.7]] as const) {
        if ((x - cx) ** 2 + (y - cy) ** 2 <= r * r) data[p] = 1000;
      }
    }
  }
  return { rows: N, columns: N, data, pixelSpacing: [PIXEL, PIXEL] };
}

/** Pixels within 45 mm of the centre (inside the disc, away from its edge). */
function inside(p: number): boolean {
  const [x, y] = centred(Math.floor(p / N), p % N);
  return x * x + y * y <= 45 * 45;
}

function rms(a: Float32Array, b: Float32Array | null = null): number {
  let s = 0;
  let n = 0;
  for (let p = 0; p < a.length; p++) {
    if (!inside(p)) continue;
    s += (a[p]! - (b ? b[p]! : 0)) ** 2;
    n++;
  }
  return Math.sqrt(s / n);
}

describe('convertCtKernel', () => {
  test('converting to the same kernel returns the image, and padding keeps its stored values', () => {
    const image = chestLike();
    const padding = new Uint8Array(N * N);
    padding[0] = 1;
    image.data[0] = -2000;
    const same = convertCtKernel({ ...image, padding }, 'standard', 'standard');
    expect(same.data[0]).toBe(-2000);
    expect(rms(same.data, image.data)).toBeLessThan(1e-3);
    expect(same.padding).toBe(padding);
  });

  test('the gain is 1 at zero frequency, rises where the target kernel keeps more, is capped where only the target passes anything, and is 1 where neither does', () => {
    const [std, sharp] = [KERNEL_PRESETS.standard, KERNEL_PRESETS.sharp];
    expect(kernelConversionGain(std, sharp, 0, 1.71, 10)).toBe(1);
    expect(kernelConversionGain(std, sharp, 0.5, 1.71, 10)).toBeGreaterThan(1.5);
    // standard (Hann, cutoff 0.55) ends at 0.94 cycles/mm; sharp (Shepp-Logan, 0.7) at 1.2.
    expect(kernelConversionGain(std, sharp, 1.0, 1.71, 10)).toBe(10);
    expect(kernelConversionGain(sharp, std, 1.0, 1.71, 10)).toBe(0);
    expect(kernelConversionGain(std, sharp, 1.3, 1.71, 10)).toBe(1);
  });

  test('a noise-free standard-kernel scan converted to sharp is much closer to the sharp scan than the standard scan is', () => {
    const truth = chestLike();
    const scan = (kernel: 'standard' | 'sharp') =>
      simulateCtFromTruth(truth, { dose: 1, i0: 1e12, electronicNoise: 0, kernel, fullDose: false }).lowDose;
    const standard = scan('standard');
    const sharp = scan('sharp');
    const converted = convertCtKernel(standard, 'standard', 'sharp');
    // Measured 25.2 HU apart before, 10.6 after: what stays is detail beyond the standard kernel's band.
    expect(rms(converted.data, sharp.data)).toBeLessThan(0.5 * rms(standard.data, sharp.data));
    expect(rms(converted.data, sharp.data)).toBeGreaterThan(0.1 * rms(standard.data, sharp.data));
  });

  test('converted noise follows the sharp kernel\'s draw of the same rays but recovers only part of its power', () => {
    const water: Image2D = { ...chestLike(), data: chestLike().data.map((v) => (v > -1000 ? 0 : -1000)) };
    const options = { dose: 0.25, seed: 3, i0: 1e5 } as const;
    const standardNoise = ctInsertionNoise(water, { ...options, kernel: 'standard' });
    const sharpNoise = ctInsertionNoise(water, { ...options, kernel: 'sharp' });
    // Linearity: convert (water + noise) and subtract the converted water.
    const base = convertCtKernel(water, 'standard', 'sharp').data;
    const noisy = convertCtKernel({ ...water, data: water.data.map((v, p) => v + standardNoise[p]!) }, 'standard', 'sharp').data;
    const converted = noisy.map((v, p) => v - base[p]!);
    let cross = 0;
    let n = 0;
    for (let p = 0; p < converted.length; p++) {
      if (!inside(p)) continue;
      cross += converted[p]! * sharpNoise[p]!;
      n++;
    }
    const correlation = cross / n / (rms(converted) * rms(sharpNoise));
    expect(correlation).toBeGreaterThan(0.6);
    // Power the standard kernel suppressed (beyond its band, and aliased from the sharp kernel's) is not recovered.
    expect(rms(converted)).toBeGreaterThan(1.5 * rms(standardNoise));
    expect(rms(converted)).toBeLessThan(0.9 * rms(sharpNoise));
  });
});
