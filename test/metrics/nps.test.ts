import { describe, expect, it } from 'vitest';
import type { Image2D } from '../../src/image.js';
import { detrendInPlace } from '../../src/metrics/detrend.js';
import { noiseDifference, noisePowerSpectrum, smoothedRadialPeak, tileRois } from '../../src/metrics/nps.js';
import { roiMask } from '../../src/metrics/roi.js';
import { Rng } from '../../src/util/random.js';
import { addNoise, piecewiseBody } from './synthetic.js';

function whiteNoise(size: number, sd: number, spacing: number, seed: number): Image2D {
  return addNoise({ rows: size, columns: size, data: new Float32Array(size * size), pixelSpacing: [spacing, spacing] }, sd, seed);
}

/** White noise through the 3x3 band-pass (Laplacian * [1 2 1]^T [1 2 1] / 16) / 4, wrapped at the borders. */
function bandPassNoise(size: number, spacing: number, seed: number): Image2D {
  const white = new Float64Array(size * size);
  new Rng(seed).fillNormal(white);
  const laplacian = [0, -1, 0, -1, 4, -1, 0, -1, 0].map((v) => v / 4);
  const blur = [1, 2, 1, 2, 4, 2, 1, 2, 1].map((v) => v / 16);
  const apply = (input: Float64Array, kernel: number[]): Float64Array => {
    const out = new Float64Array(size * size);
    for (let r = 0; r < size; r++) {
      for (let c = 0; c < size; c++) {
        let s = 0;
        for (let i = -1; i <= 1; i++) {
          for (let j = -1; j <= 1; j++) s += kernel[(i + 1) * 3 + j + 1]! * input[((r + i + size) % size) * size + ((c + j + size) % size)]!;
        }
        out[r * size + c] = s;
      }
    }
    return out;
  };
  const data = Float32Array.from(apply(apply(white, laplacian), blur), (v) => 100 * v);
  return { rows: size, columns: size, data, pixelSpacing: [spacing, spacing] };
}

describe('noise power spectrum', () => {
  it('integrates to the variance of the detrended ROIs (Parseval), with either detrend', () => {
    const image = bandPassNoise(256, 0.7, 3);
    for (const detrend of ['mean', 'poly2'] as const) {
      const result = noisePowerSpectrum(image, { roiSize: 64, detrend });
      let variance = 0;
      const corners = tileRois(256, 256, 64);
      for (const { row, col } of corners) {
        const roi = new Float64Array(64 * 64);
        for (let r = 0; r < 64; r++) for (let c = 0; c < 64; c++) roi[r * 64 + c] = image.data[(row + r) * 256 + col + c]!;
        detrendInPlace(roi, 64, 64, detrend);
        variance += roi.reduce((s, v) => s + v * v, 0) / roi.length;
      }
      variance /= corners.length;
      expect(result.roiCount).toBe(16);
      expect(Math.abs(result.variance - variance) / variance).toBeLessThan(1e-10);
      // The 2-D array summed times the frequency steps is the same integral.
      const df = 1 / (64 * 0.7);
      expect(result.nps2d.reduce((s, v) => s + v, 0) * df * df).toBeCloseTo(result.variance, 8);
    }
  });

  it('is flat at sigma^2 dx dy for white noise, in HU^2 mm^2 over cycles/mm', () => {
    const sd = 12;
    const spacing = 0.5;
    const result = noisePowerSpectrum(whiteNoise(512, sd, spacing, 11), { roiSize: 64, detrend: 'mean' });
    const expected = sd * sd * spacing * spacing;
    expect(result.roiCount).toBe(64);
    expect(result.frequencyColumns[0]).toBeCloseTo(-1, 12); // -Nyquist = -1 / (2 * 0.5 mm)
    expect(result.frequencyColumns[32]).toBe(0);
    expect(result.radial.frequency[1]).toBeCloseTo(1 / 32, 12);
    // Skip bin 0 (the mean was removed) and the first ring: each other ring pools many samples.
    for (let k = 2; k < result.radial.nps.length; k++) {
      expect(Math.abs(result.radial.nps[k]! - expected) / expected).toBeLessThan(0.08);
    }
    expect(Math.abs(result.variance - sd * sd) / (sd * sd)).toBeLessThan(0.02);
  });

  it('follows the analytic spectrum of band-pass filtered noise and finds its peak', () => {
    const spacing = 0.8;
    const result = noisePowerSpectrum(bandPassNoise(1024, spacing, 5), { roiSize: 64, detrend: 'mean' });
    // |H|^2 of the filter on the same grid, averaged over the same rings.
    const transfer = (fy: number, fx: number): number => {
      const ty = 2 * Math.PI * fy * spacing;
      const tx = 2 * Math.PI * fx * spacing;
      const lap = (4 - 2 * Math.cos(tx) - 2 * Math.cos(ty)) / 4;
      const blur = ((1 + Math.cos(tx)) / 2) * ((1 + Math.cos(ty)) / 2);
      return (100 * lap * blur) ** 2 * spacing * spacing;
    };
    const width = result.radial.frequency[1]!;
    const rings = new Float64Array(result.radial.nps.length);
    const counts = new Float64Array(result.radial.nps.length);
    for (const fy of result.frequencyRows) {
      for (const fx of result.frequencyColumns) {
        const k = Math.round(Math.hypot(fy, fx) / width);
        if (k >= rings.length) continue;
        rings[k]! += transfer(fy, fx);
        counts[k]!++;
      }
    }
    let analyticPeak = 0;
    for (let k = 1; k < rings.length; k++) {
      rings[k]! /= counts[k]!;
      if (rings[k]! > rings[analyticPeak]!) analyticPeak = k;
    }
    const peak = rings[analyticPeak]!;
    for (let k = 1; k < rings.length; k++) {
      // The ROI's rectangular window smears the spectrum by about one ring (leakage), a few % of the peak.
      expect(Math.abs(result.radial.nps[k]! - rings[k]!)).toBeLessThan(0.05 * peak);
      if (rings[k]! > 0.2 * peak) expect(Math.abs(result.radial.nps[k]! - rings[k]!) / rings[k]!).toBeLessThan(0.1);
    }
    // Rising from (near) zero, peaked at mid frequency, as FBP noise.
    expect(result.radial.nps[1]!).toBeLessThan(0.03 * result.radial.nps[analyticPeak]!);
    expect(Math.abs(result.peakFrequency - result.radial.frequency[analyticPeak]!)).toBeLessThanOrEqual(2 * width);
    expect(result.meanFrequency).toBeGreaterThan(0.2);
    expect(result.meanFrequency).toBeLessThan(0.5);
  });

  it('removes a smooth background with the 2nd-order detrend', () => {
    const size = 256;
    const image = whiteNoise(size, 5, 1, 21);
    for (let r = 0; r < size; r++) {
      for (let c = 0; c < size; c++) image.data[r * size + c]! += 0.004 * (r - 128) ** 2 + 0.3 * c - 0.002 * (c - 100) ** 2;
    }
    const poly = noisePowerSpectrum(image, { roiSize: 64, detrend: 'poly2' });
    const mean = noisePowerSpectrum(image, { roiSize: 64, detrend: 'mean' });
    expect(Math.abs(poly.variance - 25) / 25).toBeLessThan(0.05);
    expect(mean.variance).toBeGreaterThan(2 * 25);
  });

  it('measures only the noise of a phantom from the difference of two realisations', () => {
    const a = addNoise(piecewiseBody(256, 0.8), 20, 1);
    const b = addNoise(piecewiseBody(256, 0.8), 20, 2);
    const inside = roiMask({ shape: 'ellipse', center: [127.5, 127.5], radii: [0.38 * 256, 0.45 * 256] }, 256, 256);
    const rois = tileRois(256, 256, 32, { mask: inside, stride: 16 });
    expect(rois.length).toBeGreaterThan(20);
    const difference = noisePowerSpectrum(noiseDifference(a, b), { roiSize: 32, rois, detrend: 'mean' });
    expect(Math.abs(Math.sqrt(difference.variance) - 20) / 20).toBeLessThan(0.05);
    // The single image's structure (organ edges) adds far more "noise".
    const single = noisePowerSpectrum(a, { roiSize: 32, rois, detrend: 'mean' });
    expect(single.variance).toBeGreaterThan(4 * difference.variance);
  });

  it('tiles ROIs only where they fit wholly inside the mask', () => {
    const mask = roiMask({ shape: 'rect', center: [49.5, 49.5], size: [64, 40] }, 100, 100);
    const rois = tileRois(100, 100, 16, { mask, stride: 8 });
    for (const { row, col } of rois) {
      expect(row).toBeGreaterThanOrEqual(18);
      expect(row + 16).toBeLessThanOrEqual(82);
      expect(col).toBeGreaterThanOrEqual(30);
      expect(col + 16).toBeLessThanOrEqual(70);
    }
    // Rows 24..64 step 8 fit (6 positions: 24,32,40,48,56,64), columns 32..48 step 8 (3).
    expect(rois.length).toBe(18);
  });
});

/**
 * The one NPS peak estimate (QA's nps-peak-shift, addedNoise, --noise): pinned on an FBP-shaped
 * curve, f times a Hamming window squared that reaches zero at 0.488 cycles/mm, on 33 bins of 0.019
 * cycles/mm (64-pixel ROIs of 0.82 mm pixels, as on the Mayo scans). Its true peak is 0.157.
 */
describe('smoothedRadialPeak', () => {
  const step = 0.019;
  const frequency = Float64Array.from({ length: 33 }, (_, k) => k * step);
  const cutoff = 0.488;
  const fbp = Float64Array.from(frequency, (f) => (f < cutoff ? f * (0.54 + 0.46 * Math.cos((Math.PI * f) / cutoff)) ** 2 : 0));

  it('reads the FBP-shaped curve within 0.03 bin of its true peak (the 3-bin Gaussian it replaced read a quarter bin high)', () => {
    const peak = smoothedRadialPeak(frequency, fbp);
    expect(peak).toBeCloseTo(0.1574, 4);
    expect(Math.abs(peak - 0.157)).toBeLessThan(0.03 * step);
  });

  it('scatters under 0.4 bin with 5 % noise in every bin, and under 0.2 bin with the noise of 48 ROIs (seeded draws)', () => {
    const spread = (relativeSd: (k: number) => number) => {
      const rng = new Rng(7);
      const peaks = Array.from({ length: 400 }, () => smoothedRadialPeak(frequency, fbp.map((v, k) => v * (1 + relativeSd(k) * rng.normal()))));
      const mean = peaks.reduce((a, p) => a + p, 0) / peaks.length;
      return { mean, sd: Math.sqrt(peaks.reduce((a, p) => a + (p - mean) ** 2, 0) / (peaks.length - 1)) };
    };
    // Flat 5 % per bin is harsher than a measured NPS, whose annulus k holds about 2 pi k samples per
    // ROI: the cubic fit over 2h + 1 bins scatters more than the 3-bin Gaussian did (under 0.2 bin) here.
    const flat = spread(() => 0.05);
    expect(flat.sd).toBeLessThan(0.4 * step);
    expect(Math.abs(flat.mean - 0.1574)).toBeLessThan(step / 10);
    const counted = spread((k) => 1 / Math.sqrt(Math.max(1, 2 * Math.PI * k) * 48));
    expect(counted.sd).toBeLessThan(0.2 * step);
    expect(Math.abs(counted.mean - 0.1574)).toBeLessThan(step / 10);
  });

  it('reads every peak of the known-answer suite (FBP-like and denoised shapes, 64 and 32 px ROIs, exact spectra) within 10 %', () => {
    // The suite of scripts/experiments/nps-peak-estimators.ts (docs/metrics.md, "Which NPS peak
    // estimator"): S(f) = g(f / s), the peak f0 in cycles/pixel, scored where 2 <= f0 N <= N/2 - 1.
    const argmax = (g: (x: number) => number) => {
      let best = 1e-4;
      for (let x = 1e-4; x <= 10; x += 1e-4) if (g(x) > g(best)) best = x;
      return best;
    };
    const families: [(x: number) => number, number[]][] = [
      [(x) => (x < 1 ? x * (0.54 + 0.46 * Math.cos(Math.PI * x)) ** 2 : 0), [0.15, 0.2, 0.25, 0.3]],
      [(x) => x / (1 + x ** 8), [0.3, 0.375, 0.45]],
      [(x) => (1 - Math.exp(-(x ** 2))) ** 2 * Math.exp(-2 * (x / 6) ** 2), [0.03, 0.045, 0.06, 0.08, 0.1, 0.12]],
      [(x) => x * Math.exp(-(x ** 2)), [0.03, 0.045, 0.06, 0.08, 0.1, 0.12]],
    ];
    let scored = 0;
    for (const [g, peaks] of families) {
      const unit = argmax(g);
      for (const f0 of peaks) {
        for (const size of [64, 32]) {
          if (f0 * size < 2 || f0 * size > size / 2 - 1) continue;
          // The annular mean of S over the ROI's 2-D frequency grid, binned as noisePowerSpectrum bins.
          const bins = size / 2 + 1;
          const sum = new Float64Array(bins);
          const count = new Float64Array(bins);
          for (let i = 0; i < size; i++) {
            for (let j = 0; j < size; j++) {
              const f = Math.hypot((i <= size / 2 ? i : i - size) / size, (j <= size / 2 ? j : j - size) / size);
              const b = Math.round(f * size);
              if (b >= bins) continue;
              sum[b]! += g((f * unit) / f0);
              count[b]!++;
            }
          }
          const peak = smoothedRadialPeak(Float64Array.from({ length: bins }, (_, b) => b / size), sum.map((v, b) => v / count[b]!));
          expect(Math.abs(peak / f0 - 1)).toBeLessThan(0.1);
          scored++;
        }
      }
    }
    expect(scored).toBe(30);
  });

  it('ignores the zero bin, skips NaN bins, ends at the last bin of a rising curve, and is NaN with nothing to read', () => {
    const withDc = fbp.slice();
    withDc[0] = 100;
    expect(smoothedRadialPeak(frequency, withDc)).toBe(smoothedRadialPeak(frequency, fbp));
    const gap = fbp.slice();
    gap[12] = NaN;
    expect(Math.abs(smoothedRadialPeak(frequency, gap) - 0.1574)).toBeLessThan(step / 5);
    expect(smoothedRadialPeak(frequency, frequency.map((f) => f))).toBe(frequency[32]);
    expect(smoothedRadialPeak(frequency, new Float64Array(33).fill(NaN))).toBeNaN();
  });
});
