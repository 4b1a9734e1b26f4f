/**
 * Shared by the AAPM-Mayo noise experiments (mayo-noise.ts, ct-physics-fit.ts): loading the real
 * quarter / full-dose pairs, pooling added-noise measurements over slices, the attenuation behind
 * each ROI, and the real pairs' quarter-to-full noise variance ratio.
 */
import path from 'node:path';
import { readSliceImage, scanPaths, type Series } from '../../src/dicom/index.js';
import type { Image2D } from '../../src/image.js';
import type { AddedNoise } from '../../src/metrics/added-noise.js';
import { noisePowerSpectrum, smoothedRadialPeak } from '../../src/metrics/nps.js';
import { centralChannel, fanAngleStep, viewAngle } from '../../src/simulate/ct-geometry.js';
import { huToMu, projectFanBeam, resolveFanBeam } from '../../src/simulate/index.js';
import { ROOT } from './figures.js';

export const MAYO = path.resolve(ROOT, '../shared/ldct-mayo');
export const GROUPS = [
  ['L143', 'B30f'],
  ['L143', 'D45f'],
  ['L192', 'B30f'],
  ['L192', 'D45f'],
] as const;
export type Patient = (typeof GROUPS)[number][0];
export type Kernel = (typeof GROUPS)[number][1];

export async function seriesImages(series: Series): Promise<Image2D[]> {
  const out: Image2D[] = [];
  for (let k = 0; k < series.slices.length; k++) out.push(await readSliceImage(series, k));
  return out;
}

export async function loadPairs(patient: string, kernel: string) {
  const dir = (dose: string) => path.join(MAYO, patient, kernel, dose);
  const fullSeries = (await scanPaths([dir('full')])).series[0]!;
  const quarterSeries = (await scanPaths([dir('quarter')])).series[0]!;
  return { dir, fullSeries, full: await seriesImages(fullSeries), quarter: await seriesImages(quarterSeries) };
}

export interface Measured {
  std: number;
  centreStd: number;
  peripheryStd: number;
  peakFrequency: number;
  meanFrequency: number;
  rois: number;
  /**
   * Slope of log(ROI SD) against log(W), W the mean over views of exp(line integral) of the rays
   * through the ROI centre: how the noise follows local attenuation. Quantum noise at a constant
   * tube current without bowtie gives about 0.5; modulation and electronic noise move it.
   */
  attenuationSlope: number;
}

export const round = (v: number, digits: number) => (Number.isFinite(v) ? Math.round(v * 10 ** digits) / 10 ** digits : null);

export function rounded(m: Measured) {
  return {
    std: round(m.std, 1),
    centreStd: round(m.centreStd, 1),
    peripheryStd: round(m.peripheryStd, 1),
    peakFrequency: round(m.peakFrequency, 3),
    meanFrequency: round(m.meanFrequency, 3),
    attenuationSlope: round(m.attenuationSlope, 3),
    rois: m.rois,
  };
}

/** Least-squares slope of y on x. */
function slope(x: readonly number[], y: readonly number[]): number {
  const n = x.length;
  if (n < 3) return NaN;
  const mx = x.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let k = 0; k < n; k++) {
    sxy += (x[k]! - mx) * (y[k]! - my);
    sxx += (x[k]! - mx) ** 2;
  }
  return sxx > 0 ? sxy / sxx : NaN;
}

/**
 * ROI-count-weighted pool of several slices' added noise (all on one pixel grid). `weights[s][r]`
 * is the attenuation weight W of ROI r of slice s (attenuationWeights), for the slope.
 */
export function pool(list: readonly AddedNoise[], weights: ReadonlyArray<readonly number[]>) {
  const first = list[0]!.nps.radial;
  const frequency = first.frequency;
  const nps = new Float64Array(frequency.length);
  let rois = 0;
  let variance = 0;
  const centre: number[] = [];
  const periphery: number[] = [];
  const logW: number[] = [];
  const logSd: number[] = [];
  list.forEach((a, s) => {
    const n = a.rois.length;
    rois += n;
    variance += n * a.std * a.std;
    a.nps.radial.nps.forEach((v, k) => (nps[k]! += n * v));
    a.rois.forEach((r, k) => {
      (r.distanceMm <= 60 ? centre : r.distanceMm >= 110 ? periphery : []).push(r.std * r.std);
      const w = weights[s]?.[k];
      if (w !== undefined && w > 0 && r.std > 0) {
        logW.push(Math.log(w));
        logSd.push(Math.log(r.std));
      }
    });
  });
  for (let k = 0; k < nps.length; k++) nps[k]! /= rois;
  let sum = 0;
  let weighted = 0;
  nps.forEach((v, k) => {
    if (Number.isNaN(v)) return;
    sum += v;
    weighted += v * frequency[k]!;
  });
  const rms = (v: number[]) => (v.length ? Math.sqrt(v.reduce((a, b) => a + b, 0) / v.length) : NaN);
  const measured: Measured = {
    std: Math.sqrt(variance / rois),
    centreStd: rms(centre),
    peripheryStd: rms(periphery),
    peakFrequency: smoothedRadialPeak(frequency, nps),
    meanFrequency: weighted / sum,
    rois,
    attenuationSlope: slope(logW, logSd),
  };
  return { measured, frequency: Array.from(frequency), nps: Array.from(nps) };
}

/**
 * The attenuation slope within slices: the least-squares slope of log(ROI SD) on log(W) with an
 * intercept per slice (slice fixed effects), so a slice-to-slice difference in noise level (the
 * longitudinal tube-current modulation, or a per-slice i0 that misses it) does not enter, only how
 * the noise follows attenuation inside a slice (angular modulation, bowtie, electronic noise).
 */
export function withinSliceSlope(list: readonly AddedNoise[], weights: ReadonlyArray<readonly number[]>): number {
  let sxy = 0;
  let sxx = 0;
  let n = 0;
  list.forEach((a, s) => {
    const x: number[] = [];
    const y: number[] = [];
    a.rois.forEach((r, k) => {
      const w = weights[s]?.[k];
      if (w !== undefined && w > 0 && r.std > 0) {
        x.push(Math.log(w));
        y.push(Math.log(r.std));
      }
    });
    if (x.length < 3) return;
    const mx = x.reduce((p, q) => p + q, 0) / x.length;
    const my = y.reduce((p, q) => p + q, 0) / y.length;
    x.forEach((xi, k) => {
      sxy += (xi - mx) * (y[k]! - my);
      sxx += (xi - mx) ** 2;
    });
    n += x.length;
  });
  return n >= 3 && sxx > 0 ? sxy / sxx : NaN;
}

/**
 * W for each ROI of `noise`: the mean over the simulator's fan-beam views of exp(p), p the line
 * integral of the full-dose image along the ray through the ROI centre. Quantum noise variance at
 * a pixel is proportional to it (constant current, no bowtie), so it is the pixel's "local
 * attenuation" as the noise sees it.
 */
export function attenuationWeights(full: Image2D, noise: AddedNoise): number[] {
  const g = resolveFanBeam();
  const { rows, columns, pixelSpacing } = full;
  const [dy, dx] = pixelSpacing;
  const mu = huToMu(full.data);
  for (let k = 0; k < mu.length; k++) if (full.data[k]! < -950) mu[k] = 0;
  const sinogram = projectFanBeam({ rows, columns, dx, dy }, mu, g);
  const cc = centralChannel(g);
  const step = fanAngleStep(g);
  const size = noise.nps.roiSize;
  return noise.rois.map((r) => {
    const x = (r.corner.col + (size - 1) / 2 - (columns - 1) / 2) * dx;
    const y = (r.corner.row + (size - 1) / 2 - (rows - 1) / 2) * dy;
    let sum = 0;
    for (let v = 0; v < g.views; v += 4) {
      const beta = viewAngle(g, v);
      const sx = g.sourceToIsocenter * Math.cos(beta);
      const sy = g.sourceToIsocenter * Math.sin(beta);
      const ax = -sx;
      const ay = -sy;
      const bx = x - sx;
      const by = y - sy;
      const gamma = Math.atan2(ax * by - ay * bx, ax * bx + ay * by);
      const c = gamma / step + cc;
      const c0 = Math.max(0, Math.min(g.channels - 2, Math.floor(c)));
      const f = Math.max(0, Math.min(1, c - c0));
      const p = sinogram[v * g.channels + c0]! * (1 - f) + sinogram[v * g.channels + c0 + 1]! * f;
      sum += Math.exp(p);
    }
    return sum / Math.ceil(g.views / 4);
  });
}

/**
 * The real pair's quarter-to-full noise variance ratio R = var(quarter noise) / var(full noise),
 * from the ROIs of `added` (quarter - full): above 0.6 x Nyquist the full-dose image's power is
 * its noise alone (anatomy has none left there), so kappa = NPS_full / NPS_added over those
 * frequencies and R = 1 + 1 / kappa. Pure quantum noise at dose d gives 1 / d (4 at 25 %).
 */
export function varianceRatio(full: Image2D, added: AddedNoise): { kappa: number; ratio: number } {
  const corners = added.rois.map((r) => r.corner);
  const size = added.nps.roiSize;
  const fullNps = noisePowerSpectrum(full, { roiSize: size, rois: corners, detrend: 'poly2' });
  const { nps2d, frequencyRows: fy, frequencyColumns: fx } = added.nps;
  const nyquist = Math.min(fx[fx.length - 1]!, fy[fy.length - 1]!);
  let a = 0;
  let b = 0;
  for (let i = 0; i < size; i++) {
    for (let j = 0; j < size; j++) {
      if (Math.hypot(fx[j]!, fy[i]!) < 0.6 * nyquist) continue;
      a += fullNps.nps2d[i * size + j]!;
      b += nps2d[i * size + j]!;
    }
  }
  const kappa = a / b;
  return { kappa, ratio: 1 + 1 / kappa };
}
