import { describe, expect, it } from 'vitest';
import { edgeMtf, rodMtf } from '../../src/metrics/mtf.js';
import { addNoise, analyticCrossing, blurredDisk, blurredEdge, gaussianMtfAt } from './synthetic.js';

/** Relative error against the analytic Gaussian-PSF MTF, exp(-2 pi^2 s^2 f^2). */
function relativeError(measured: number | null, level: number, sigma: number): number {
  expect(measured).not.toBeNull();
  return Math.abs(measured! / gaussianMtfAt(level, sigma) - 1);
}

describe('MTF from a slanted edge', () => {
  for (const [sigma, angle] of [
    [0.35, 3],
    [0.5, 5],
    [0.8, 7],
  ] as const) {
    it(`gives MTF50 and MTF10 of a Gaussian PSF (sigma ${sigma} mm, edge tilted ${angle} deg) within 1.5 %`, () => {
      const image = blurredEdge(128, 0.5, sigma, angle, -900, 100);
      const result = edgeMtf(image, { row: 20, col: 20, rows: 88, columns: 88 });
      expect(result.edgeAngle).toBeCloseTo(angle, 1);
      expect(relativeError(result.mtf50, 0.5, sigma)).toBeLessThan(0.015);
      expect(relativeError(result.mtf10, 0.1, sigma)).toBeLessThan(0.015);
      // The whole curve, not just two points, up to where the MTF is 5 %.
      for (let k = 0; k < result.frequency.length; k++) {
        const f = result.frequency[k]!;
        const analytic = Math.exp(-2 * Math.PI ** 2 * sigma ** 2 * f ** 2);
        if (analytic < 0.05) break;
        expect(Math.abs(result.mtf[k]! - analytic)).toBeLessThan(0.01);
      }
    });
  }

  it('handles a near-horizontal edge and a falling edge the same way', () => {
    const sigma = 0.5;
    const vertical = edgeMtf(blurredEdge(128, 0.5, sigma, 5, 0, 1000), { row: 20, col: 20, rows: 88, columns: 88 });
    const horizontal = edgeMtf(blurredEdge(128, 0.5, sigma, 85, 1000, 0), { row: 20, col: 20, rows: 88, columns: 88 });
    expect(horizontal.edgeAngle).toBeCloseTo(5, 1);
    expect(horizontal.mtf50!).toBeCloseTo(vertical.mtf50!, 6);
  });

  it('stays within 3 % with noise (contrast 1000, noise SD 10)', () => {
    const sigma = 0.5;
    const image = addNoise(blurredEdge(128, 0.5, sigma, 5, 0, 1000), 10, 1);
    const result = edgeMtf(image, { row: 20, col: 20, rows: 88, columns: 88 });
    expect(relativeError(result.mtf50, 0.5, sigma)).toBeLessThan(0.03);
    expect(relativeError(result.mtf10, 0.1, sigma)).toBeLessThan(0.03);
  });

  it('refuses an edge aligned with the pixel grid', () => {
    expect(() => edgeMtf(blurredEdge(64, 0.5, 0.5, 0, 0, 1000), { row: 8, col: 8, rows: 48, columns: 48 })).toThrow(/tilted/);
  });
});

describe('MTF from a circular rod', () => {
  for (const sigma of [0.35, 0.5, 0.8]) {
    it(`gives MTF50 and MTF10 of a Gaussian PSF (sigma ${sigma} mm) within 2 % and finds the rod`, () => {
      const image = blurredDisk(96, 0.5, 12, sigma, [47.3, 48.6], 1000, 0);
      const result = rodMtf(image, [46, 50], 11);
      expect(result.center[0]).toBeCloseTo(47.3, 1);
      expect(result.center[1]).toBeCloseTo(48.6, 1);
      expect(Math.abs(result.radius - 12)).toBeLessThan(0.05);
      expect(relativeError(result.mtf50, 0.5, sigma)).toBeLessThan(0.02);
      expect(relativeError(result.mtf10, 0.1, sigma)).toBeLessThan(0.02);
    });
  }

  it('stays within 5 % with noise, for a rod darker than its background', () => {
    const sigma = 0.5;
    const image = addNoise(blurredDisk(96, 0.5, 12, sigma, [47.3, 48.6], -900, 100), 10, 2);
    const result = rodMtf(image, [47, 48], 12);
    expect(relativeError(result.mtf50, 0.5, sigma)).toBeLessThan(0.05);
    expect(relativeError(result.mtf10, 0.1, sigma)).toBeLessThan(0.05);
  });
});

/** Sub-pixel offsets (row, column) of the rod centre from [20, 19.5] for the phase tests. */
const CENTRE_OFFSETS = [
  [0, 0],
  [0.3, 0.1],
  [0.5, 0.5],
  [0.17, 0.41],
] as const;

describe('MTF from a circular rod, wherever its edge falls within an ESF knot interval', () => {
  // ACR-like: 0.98 mm pixels, 12.5 mm rod, Gaussian PSF of 0.5 mm (MTF50 0.375 cycles/mm). The
  // rod's radius steps across one 1/4-pixel interval in eighths, at four sub-pixel centre offsets.
  // Bin means interpolated onto the grid read MTF50 -1.5 % to -0.4 % of the analytic value over
  // these 32 phases (the interpolation between unevenly placed means smooths); the spline ESF
  // reads -0.04 %.
  const spacing = 0.98;
  const sigma = 0.5;
  const analytic = gaussianMtfAt(0.5, sigma);
  for (const [dr, dc] of CENTRE_OFFSETS) {
    it(`gives MTF50 within 0.5 % at every radius across one interval (centre offset ${dr}, ${dc} pixel)`, () => {
      for (let j = 0; j < 8; j++) {
        const radius = 12.5 + (j / 8) * (spacing / 4);
        const center: [number, number] = [20 + dr, 19.5 + dc];
        const result = rodMtf(blurredDisk(40, spacing, radius, sigma, center, 1000, 0), [20, 20], 12.5);
        expect(result.mtf50).not.toBeNull();
        expect(Math.abs(result.mtf50! / analytic - 1), `radius ${radius.toFixed(4)} mm`).toBeLessThan(0.005);
      }
    });
  }
});

/** 16 phases of an ACR-like rod (0.98 mm pixels, radius 12.5 mm): four centre offsets, four radii across one 1/4-pixel interval. */
function rodPhases(): Array<{ radius: number; center: [number, number] }> {
  const phases: Array<{ radius: number; center: [number, number] }> = [];
  for (const [dr, dc] of CENTRE_OFFSETS) {
    for (let j = 0; j < 8; j += 2) phases.push({ radius: 12.5 + (j / 8) * (0.98 / 4), center: [20 + dr, 19.5 + dc] });
  }
  return phases;
}

describe('MTF from a circular rod sharper than its pixels', () => {
  // Gaussian PSF of 0.25 mm at 0.98 mm pixels: MTF50 0.750 cycles/mm, beyond the 0.51 Nyquist
  // frequency, so only the oversampled ESF sees it. With the rod centre from the thresholded
  // centroid and bin means interpolated onto the grid MTF50 read -7.9 % to -2.2 % over these phases.
  const sigma = 0.25;
  it('gives MTF50 within 1.5 % and the rod centre within 0.02 pixel at every phase', () => {
    const analytic = gaussianMtfAt(0.5, sigma);
    for (const { radius, center } of rodPhases()) {
      const result = rodMtf(blurredDisk(40, 0.98, radius, sigma, center, 1000, 0), [20, 20], 12.5);
      const at = `centre ${center.join(', ')}, radius ${radius.toFixed(4)} mm`;
      expect(Math.hypot(result.center[0] - center[0], result.center[1] - center[1]), at).toBeLessThan(0.02);
      expect(result.mtf50, at).not.toBeNull();
      expect(Math.abs(result.mtf50! / analytic - 1), at).toBeLessThan(0.015);
    }
  });
});

describe('MTF from a circular rod under a CT-kernel-like PSF', () => {
  // PSF 1.25 G(0.45 mm) - 0.25 G(0.9 mm): a sharp core with a negative skirt, so the edge overshoots
  // as with an edge-enhancing reconstruction kernel, and the MTF is flatter than a Gaussian's at low
  // frequency: 1.25 exp(-2 pi^2 0.45^2 f^2) - 0.25 exp(-2 pi^2 0.9^2 f^2) (MTF50 0.475, MTF10 0.795
  // cycles/mm). Bin means read MTF50 -2.0 % to -0.7 % and MTF10 -4.4 % to -0.1 % over these phases.
  const gauss = (s: number) => (f: number) => Math.exp(-2 * Math.PI ** 2 * s * s * f * f);
  const mtf = (f: number) => 1.25 * gauss(0.45)(f) - 0.25 * gauss(0.9)(f);
  it('gives MTF50 and MTF10 within 0.5 % at every phase', () => {
    const mtf50 = analyticCrossing(mtf, 0.5);
    const mtf10 = analyticCrossing(mtf, 0.1);
    for (const { radius, center } of rodPhases()) {
      const core = blurredDisk(40, 0.98, radius, 0.45, center, 1000, 0);
      const skirt = blurredDisk(40, 0.98, radius, 0.9, center, 1000, 0);
      const image = { ...core, data: core.data.map((v, i) => 1.25 * v - 0.25 * skirt.data[i]!) };
      const result = rodMtf(image, [20, 20], 12.5);
      const at = `centre ${center.join(', ')}, radius ${radius.toFixed(4)} mm`;
      expect(result.mtf50, at).not.toBeNull();
      expect(result.mtf10, at).not.toBeNull();
      expect(Math.abs(result.mtf50! / mtf50 - 1), at).toBeLessThan(0.005);
      expect(Math.abs(result.mtf10! / mtf10 - 1), at).toBeLessThan(0.005);
    }
  });
});
