import { describe, expect, test } from 'vitest';
import path from 'node:path';
import { readSlicePixels, scanPaths } from '../../src/dicom/index.js';
import { sliceOf, type Image2D } from '../../src/image.js';
import { estimateNoise, SOFT_TISSUE_HU } from '../../src/metrics/noise-estimate.js';
import { noisePowerSpectrum, tileRois } from '../../src/metrics/nps.js';
import { generateWater } from '../../src/phantoms/water.js';
import {
  calibrateCtI0,
  ctInsertionNoise,
  estimateCtI0,
  expectedNoiseStd,
  huToMu,
  insertCtNoise,
  muToHu,
  projectFanBeam,
  reconstructFanBeam,
  resolveFanBeam,
  resolveKernel,
  simulateCtFromTruth,
} from '../../src/simulate/index.js';
import { circleMask, circleStats, sameBytes } from './helpers.js';

// 20 cm water cylinder (0 HU, 3 mm acrylic wall) on a 256 x 256 grid of 0.98 mm pixels.
const water = sliceOf(generateWater({ size: 256, slices: 1, fov: 250 }).volume, 0);
const DOSES = [1, 0.5, 0.25, 0.1];

/** Noise std in a 60 mm-radius central region (well inside the 100 mm water radius). */
const centreNoise = (image: Image2D) => circleStats(image, 0, 0, 60).std;

describe('fan-beam projection and FBP', () => {
  test('line integrals of an off-centre water disc match analytic chords for every ray of several views', () => {
    const n = 256;
    const px = 300 / n;
    const disc = { x: 40, y: -25, r: 60 };
    const hu = new Float32Array(n * n).fill(-1000);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const x = (j - (n - 1) / 2) * px;
        const y = (i - (n - 1) / 2) * px;
        if ((x - disc.x) ** 2 + (y - disc.y) ** 2 < disc.r ** 2) hu[i * n + j] = 0;
      }
    }
    const g = resolveFanBeam();
    const sinogram = projectFanBeam({ rows: n, columns: n, dx: px, dy: px }, huToMu(hu), g);
    let worst = 0;
    let sumError = 0;
    let rays = 0;
    for (const view of [0, 123, 400, 777]) {
      // Source on the circle at angle 2 pi view / views; channel c turned by its fan angle.
      const beta = (2 * Math.PI * view) / g.views;
      const sx = g.sourceToIsocenter * Math.cos(beta);
      const sy = g.sourceToIsocenter * Math.sin(beta);
      for (let c = 0; c < g.channels; c++) {
        const gamma = (c - ((g.channels - 1) / 2 + g.detectorOffset)) * (g.channelPitch / g.sourceToDetector);
        const ux = -Math.cos(beta + gamma);
        const uy = -Math.sin(beta + gamma);
        const distance = Math.abs((disc.x - sx) * uy - (disc.y - sy) * ux);
        // Skip the rim, where a pixelated disc and a true circle differ by a pixel's worth of chord.
        if (Math.abs(distance - disc.r) < 3) continue;
        const chord = distance < disc.r ? 2 * Math.sqrt(disc.r ** 2 - distance ** 2) : 0;
        const error = Math.abs(sinogram[view * g.channels + c]! - 0.01929 * chord);
        worst = Math.max(worst, error);
        sumError += error;
        rays++;
      }
    }
    // One pixel of water is 0.023 of line integral: errors stay below that at the pixelated edge
    // and are a few thousandths on average.
    expect(worst).toBeLessThan(0.03);
    expect(sumError / rays).toBeLessThan(0.003);
  });

  test('reconstruct a noise-free phantom to its HU values within 2 HU (inserts off centre included)', () => {
    const n = 256;
    const px = 300 / n;
    const hu = new Float32Array(n * n).fill(-1000);
    const inserts = [
      { x: 0, y: 0, r: 100, hu: 0 },
      { x: 50, y: -30, r: 15, hu: 1000 },
      { x: -40, y: 20, r: 12, hu: -500 },
      { x: 20, y: 60, r: 12, hu: 120 },
    ];
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const x = (j - (n - 1) / 2) * px;
        const y = (i - (n - 1) / 2) * px;
        for (const s of inserts) if ((x - s.x) ** 2 + (y - s.y) ** 2 < s.r * s.r) hu[i * n + j] = s.hu;
      }
    }
    const grid = { rows: n, columns: n, dx: px, dy: px };
    const geometry = resolveFanBeam();
    const sinogram = projectFanBeam(grid, huToMu(hu), geometry);
    const recon: Image2D = { rows: n, columns: n, pixelSpacing: [px, px], data: muToHu(reconstructFanBeam(sinogram, geometry, grid, resolveKernel('standard'))) };
    for (const s of inserts) {
      const inner = s.x === 0 && s.y === 0 ? circleStats(recon, 0, -75, 8) : circleStats(recon, s.x, s.y, s.r - 5);
      expect(Math.abs(inner.mean - s.hu)).toBeLessThan(2);
    }
    expect(Math.abs(circleStats(recon, 125, 125, 10).mean + 1000)).toBeLessThan(2);
  });
});

describe('CT dose simulation on a 20 cm water cylinder', () => {
  test('truth mode: noise std follows 1/sqrt(dose) within 10 % from 100 % to 10 %, centre bias under 2 HU', () => {
    const fullNoise: number[] = [];
    for (const dose of DOSES.slice(1)) {
      // Each low-dose image comes with its matched full-dose image (same photons plus the rest).
      const { lowDose, fullDose } = simulateCtFromTruth(water, { dose, seed: 12 });
      const sigma1 = centreNoise(fullDose!);
      fullNoise.push(sigma1);
      const ratio = centreNoise(lowDose) / expectedNoiseStd(sigma1, dose);
      expect(ratio).toBeGreaterThan(0.9);
      expect(ratio).toBeLessThan(1.1);
      expect(Math.abs(circleStats(lowDose, 0, 0, 30).mean)).toBeLessThan(2);
      expect(Math.abs(circleStats(fullDose!, 0, 0, 30).mean)).toBeLessThan(2);
    }
    // Full dose is full dose whichever pair it came from.
    expect(Math.max(...fullNoise) / Math.min(...fullNoise)).toBeLessThan(1.07);
    expect(fullNoise[0]).toBeGreaterThan(5);
  });

  test('noise insertion into a full-dose image: std follows 1/sqrt(dose) within 10 %, centre bias under 2 HU', () => {
    const full = simulateCtFromTruth(water, { dose: 1, seed: 21 }).lowDose;
    const sigma1 = centreNoise(full);
    for (const dose of DOSES.slice(1)) {
      const low = insertCtNoise(full, { dose, seed: 22 });
      const ratio = centreNoise(low) / expectedNoiseStd(sigma1, dose);
      expect(ratio).toBeGreaterThan(0.9);
      expect(ratio).toBeLessThan(1.1);
      expect(Math.abs(circleStats(low, 0, 0, 30).mean)).toBeLessThan(2);
    }
  });

  test('insertion at full dose changes nothing, and padding outside the field of view is left alone', () => {
    expect(sameBytes(insertCtNoise(water, { dose: 1, seed: 4 }).data, water.data)).toBe(true);
    const padded = { ...water, data: Float32Array.from(water.data) };
    padded.data[0] = -3024;
    const low = insertCtNoise(padded, { dose: 0.25, seed: 4, geometry: { views: 492, channels: 444, channelPitch: 2 * 1.0239 } });
    expect(low.data[0]).toBe(-3024);
    expect(low.data[1]).not.toBe(padded.data[1]);
  });

  test('noise has the FBP power spectrum: ~0 at low frequency, peaked at mid frequency, apodised at high', () => {
    const mask = circleMask(water, 85);
    const spectrum = (kernel: 'sharp' | 'standard' | 'smooth') => {
      const noise = ctInsertionNoise(water, { dose: 0.5, seed: 5, kernel });
      const rois = tileRois(water.rows, water.columns, 32, { mask });
      return noisePowerSpectrum({ ...water, data: noise }, { roiSize: 32, rois, detrend: 'mean' });
    };
    const standard = spectrum('standard');
    const { frequency, nps } = standard.radial;
    const peak = Math.max(...Array.from(nps).filter(Number.isFinite));
    const firstNonZero = nps[1]!;
    const last = nps[nps.length - 1]!;
    expect(firstNonZero / peak).toBeLessThan(0.35);
    expect(standard.peakFrequency).toBeGreaterThan(0.15);
    expect(standard.peakFrequency).toBeLessThan(0.45);
    expect(last / peak).toBeLessThan(0.8);
    expect(frequency[frequency.length - 1]).toBeGreaterThan(0.45);
    // Kernels order the texture: smoother kernels move noise power to lower frequencies. The sharp
    // kernel's noise reaches 1.2 cycles/mm, far past these 0.98 mm pixels' Nyquist frequency
    // (0.51), and aliases into a nearly flat spectrum: it keeps the most power at Nyquist relative
    // to its peak, though its mean frequency is no longer above standard's.
    const sharp = spectrum('sharp');
    const smooth = spectrum('smooth');
    const edge = (r: typeof standard) => r.radial.nps[r.radial.nps.length - 1]! / Math.max(...Array.from(r.radial.nps).filter(Number.isFinite));
    expect(edge(sharp)).toBeGreaterThan(edge(standard));
    expect(standard.meanFrequency).toBeGreaterThan(smooth.meanFrequency);
    expect(sharp.variance).toBeGreaterThan(standard.variance);
    expect(standard.variance).toBeGreaterThan(smooth.variance);
  });

  test('same seed gives the same bytes; another seed or slice index gives other noise', () => {
    // A coarser scanner: determinism does not depend on its size.
    const geometry = { views: 492, channels: 444, channelPitch: 2 * 1.0239 };
    const a = insertCtNoise(water, { dose: 0.25, seed: 9, geometry });
    const b = insertCtNoise(water, { dose: 0.25, seed: 9, geometry });
    const c = insertCtNoise(water, { dose: 0.25, seed: 10, geometry });
    const d = insertCtNoise(water, { dose: 0.25, seed: 9, sliceIndex: 1, geometry });
    expect(sameBytes(a.data, b.data)).toBe(true);
    expect(sameBytes(a.data, c.data)).toBe(false);
    expect(sameBytes(a.data, d.data)).toBe(false);
    const t1 = simulateCtFromTruth(water, { dose: 0.25, seed: 9, fullDose: false, geometry }).lowDose;
    const t2 = simulateCtFromTruth(water, { dose: 0.25, seed: 9, fullDose: false, geometry }).lowDose;
    expect(sameBytes(t1.data, t2.data)).toBe(true);
  });

  test('calibrateCtI0 recovers the photon count that made an image from its measured noise', () => {
    const i0 = 4e5;
    const full = simulateCtFromTruth(water, { dose: 1, seed: 31, i0, fullDose: false }).lowDose;
    const roi = { x: 0, y: 0, radius: 60 };
    const measured = circleStats(full, roi.x, roi.y, roi.radius).std;
    const estimate = calibrateCtI0(full, measured, roi, { seed: 32 });
    expect(estimate / i0).toBeGreaterThan(0.85);
    expect(estimate / i0).toBeLessThan(1.15);
  });

  test('rejects doses outside (0, 1] and unknown kernels with usage errors', () => {
    expect(() => insertCtNoise(water, { dose: 0 })).toThrow(/dose/);
    expect(() => insertCtNoise(water, { dose: 1.5 })).toThrow(/dose/);
    expect(() => insertCtNoise(water, { dose: 0.5, kernel: 'bogus' as never })).toThrow(/kernel/);
  });
});

describe('noise insertion into a real CT slice', () => {
  // A 512 x 512 clinical chest CT slice (0.81 mm pixels, padding -3024 HU outside the field of view).
  const dir = path.resolve(import.meta.dirname, '../../../shared/dicom/QIICR__dcmqi/data/segmentations/ct-3slice');

  test('with i0 calibrated to the slice, inserted 25 % dose noise doubles the measured noise (within 10 %)', async () => {
    const series = (await scanPaths([dir])).series[0]!;
    const pixels = await readSlicePixels(series.slices[1]!);
    const image: Image2D = { rows: pixels.rows, columns: pixels.columns, data: pixels.data, pixelSpacing: [series.spacing[0], series.spacing[1]] };
    const calibration = estimateCtI0(image, { seed: 1 });
    expect(calibration.imageNoise).toBeGreaterThan(10);
    // Quantum noise only: with electronic noise, photon-starved rays add more than 1/sqrt(d).
    const low = insertCtNoise(image, { dose: 0.25, seed: 2, i0: calibration.i0, electronicNoise: 0 });
    const measured = estimateNoise(low, { valueRange: SOFT_TISSUE_HU }).std;
    const ratio = measured / expectedNoiseStd(calibration.imageNoise, 0.25);
    expect(ratio).toBeGreaterThan(0.9);
    expect(ratio).toBeLessThan(1.1);
    // Padding outside the field of view is untouched.
    const padded = pixels.padding ? pixels.padding.indexOf(1) : image.data.indexOf(-3024);
    expect(padded).toBeGreaterThanOrEqual(0);
    expect(low.data[padded]).toBe(image.data[padded]);
  });
});

describe('expectedNoiseStd', () => {
  test('scales quantum noise by 1/sqrt(dose) and electronic noise by 1/dose', () => {
    expect(expectedNoiseStd(10, 0.25)).toBeCloseTo(20, 10);
    expect(expectedNoiseStd(10, 1)).toBeCloseTo(10, 10);
    expect(expectedNoiseStd(10, 0.25, { electronicFraction: 1 })).toBeCloseTo(40, 10);
    expect(() => expectedNoiseStd(10, 0)).toThrow();
  });
});
