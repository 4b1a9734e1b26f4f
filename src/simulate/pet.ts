/**
 * Reduced-count PET. The image (activity in Bq/ml, taken as the truth, or truth-ish for a real
 * normal-dose image) is projected along lines of response with attenuation, scaled to the counts a
 * scanner detects in this slice, given detector normalisation and a uniform scatter + randoms
 * background, and Poisson counts are drawn at a fraction `countsFraction` of full counts (and at
 * full counts from the same events plus the rest). Each sinogram is reconstructed with OSEM using
 * the same model, which corrects attenuation, normalisation and background, so the images come out
 * in Bq/ml with unbiased means. A real image is re-reconstructed too (its resolution changes), which
 * is why the full-count reconstruction is the matched reference, not the input.
 */
import { LowdoseError } from '../errors.js';
import type { Image2D } from '../image.js';
import { Rng } from '../util/random.js';
import { fwhmToSigmaPixels, gaussianBlur } from './gaussian.js';
import type { PixelGrid } from './joseph.js';
import { bodyOutlineMuMap } from './mu-map.js';
import { osemReconstruct } from './osem.js';
import { defaultPetSinogram, PetSystem, type PetSinogramShape } from './pet-system.js';

export interface PetSimulationOptions {
  /** Fraction of the full counts (dose x scan time), in (0, 1]. */
  readonly countsFraction: number;
  readonly seed?: number;
  readonly sliceIndex?: number;
  /**
   * The frame (time point or gate, from 1) of a dynamic or gated acquisition: each frame draws its
   * own events. Without it, slice k of every frame would draw from the same stream, and two frames
   * of the same activity would get the same noise. Absent for a static series.
   */
  readonly frame?: number;
  /** Attenuation at 511 keV in 1/cm on the image grid; default: body outline filled with water. */
  readonly muMapPerCm?: Float32Array;
  /** Expected true (attenuated, unscattered) counts of this slice at full counts; default from activity. */
  readonly trueCounts?: number;
  /** Slice thickness, mm, for the activity-based count default (default 3). */
  readonly sliceThicknessMm?: number;
  /**
   * Counts per second per kBq in the slice before attenuation (default 30: a current 3-D scanner,
   * ~10 cps/kBq by NEMA NU 2 over a 70 cm source, for activity inside its ~22 cm axial field).
   */
  readonly sensitivityCpsPerKbq?: number;
  /** Acquisition time per bed position, s (default 120). */
  readonly frameDurationS?: number;
  /** Scatter + randoms as a fraction of prompts, spread uniformly over the sinogram (default 0.3). */
  readonly backgroundFraction?: number;
  /** Simulate and correct detector efficiency variations (default true). */
  readonly normalisation?: boolean;
  /** Sinogram angles over 180 degrees (default 180). */
  readonly angles?: number;
  readonly iterations?: number;
  readonly subsets?: number;
  /** Gaussian post-filter FWHM, mm (default 4; 0 for none). */
  readonly postFilterFwhmMm?: number;
  /** Extra system blur applied to the truth before projection, FWHM mm (default 0: phantoms may want ~4). */
  readonly resolutionFwhmMm?: number;
  /** Also reconstruct full counts from the same events (default true). */
  readonly fullDose?: boolean;
}

export const PET_DEFAULTS = Object.freeze({
  seed: 0,
  sliceThicknessMm: 3,
  sensitivityCpsPerKbq: 30,
  frameDurationS: 120,
  backgroundFraction: 0.3,
  normalisation: true,
  angles: 180,
  iterations: 3,
  subsets: 12,
  postFilterFwhmMm: 4,
  resolutionFwhmMm: 0,
});

const STREAM_PET = 3;
/** The scanner's detector efficiencies are a fixed property of the simulated scanner, not of the seed. */
const NORMALISATION_SEED = 0x6e6f726d;
const CRYSTAL_EFFICIENCY_SD = 0.08;

export interface PetSimulationResult {
  /** Reconstruction at `countsFraction`, Bq/ml. */
  readonly lowDose: Image2D;
  /** Reconstruction at full counts from the same events plus the rest, Bq/ml (null when not asked). */
  readonly fullDose: Image2D | null;
  /** Expected true counts at full counts, and the prompts actually drawn at `countsFraction`. */
  readonly trueCountsFull: number;
  readonly promptsLow: number;
}

const normalisationCache = new Map<string, Float32Array>();

/**
 * Per-bin detection efficiency: the product of the two crystals' efficiencies of a ring with
 * 2 x angles crystals (the usual sinogram-to-crystal-pair mapping), crystals ~ 1 +- 8 %.
 */
export function petNormalisation(shape: PetSinogramShape): Float32Array {
  const key = `${shape.angles}x${shape.bins}`;
  const cached = normalisationCache.get(key);
  if (cached) return cached;
  const crystals = 2 * shape.angles;
  const rng = new Rng(NORMALISATION_SEED, crystals);
  const efficiency = new Float64Array(crystals);
  for (let c = 0; c < crystals; c++) efficiency[c] = Math.min(1.4, Math.max(0.6, 1 + CRYSTAL_EFFICIENCY_SD * rng.normal()));
  const out = new Float32Array(shape.angles * shape.bins);
  const centre = (shape.bins - 1) / 2;
  for (let a = 0; a < shape.angles; a++) {
    for (let k = 0; k < shape.bins; k++) {
      const r = k - centre;
      const i = (((a + Math.floor(r / 2)) % crystals) + crystals) % crystals;
      const j = (((a - Math.ceil(r / 2) + shape.angles) % crystals) + crystals) % crystals;
      out[a * shape.bins + k] = efficiency[i]! * efficiency[j]!;
    }
  }
  if (normalisationCache.size > 8) normalisationCache.clear();
  normalisationCache.set(key, out);
  return out;
}

function positive(name: string, value: number, allowZero = false): number {
  if (!(Number.isFinite(value) && (allowZero ? value >= 0 : value > 0))) {
    throw new LowdoseError('E_USAGE', `${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, got ${value}`);
  }
  return value;
}

export function simulatePet(image: Image2D, options: PetSimulationOptions): PetSimulationResult {
  const fraction = options.countsFraction;
  if (!(Number.isFinite(fraction) && fraction > 0 && fraction <= 1)) {
    throw new LowdoseError('E_USAGE', `countsFraction must be a fraction in (0, 1], got ${fraction}`);
  }
  const o = { ...PET_DEFAULTS, ...stripUndefined(options) };
  const backgroundFraction = positive('backgroundFraction', o.backgroundFraction, true);
  if (backgroundFraction >= 0.95) throw new LowdoseError('E_USAGE', `backgroundFraction must be below 0.95, got ${backgroundFraction}`);
  positive('frameDurationS', o.frameDurationS);
  positive('sensitivityCpsPerKbq', o.sensitivityCpsPerKbq);
  positive('sliceThicknessMm', o.sliceThicknessMm);
  positive('postFilterFwhmMm', o.postFilterFwhmMm, true);
  positive('resolutionFwhmMm', o.resolutionFwhmMm, true);
  if (!(Number.isInteger(o.angles) && o.angles >= 8)) throw new LowdoseError('E_USAGE', `angles must be an integer >= 8, got ${o.angles}`);

  const { rows, columns, pixelSpacing } = image;
  if (image.data.length !== rows * columns) throw new LowdoseError('E_USAGE', `image has ${image.data.length} values for ${rows}x${columns}`);
  const grid: PixelGrid = { rows, columns, dy: pixelSpacing[0], dx: pixelSpacing[1] };

  // Truth: activity is never negative; optional extra system blur.
  let truth: Float32Array = new Float32Array(image.data.length);
  for (let i = 0; i < truth.length; i++) truth[i] = image.data[i]! > 0 ? image.data[i]! : 0;
  if (o.resolutionFwhmMm > 0) {
    truth = gaussianBlur(truth, rows, columns, fwhmToSigmaPixels(o.resolutionFwhmMm, grid.dy), fwhmToSigmaPixels(o.resolutionFwhmMm, grid.dx));
  }

  let muPerMm: Float32Array;
  if (options.muMapPerCm) {
    if (options.muMapPerCm.length !== truth.length) {
      throw new LowdoseError('E_USAGE', `muMapPerCm has ${options.muMapPerCm.length} values for a ${rows}x${columns} image`);
    }
    muPerMm = Float32Array.from(options.muMapPerCm, (v) => (v > 0 ? v / 10 : 0));
  } else {
    muPerMm = bodyOutlineMuMap(truth, rows, columns);
  }

  const system = new PetSystem(grid, defaultPetSinogram(grid, o.angles));
  const nBins = system.binCount;
  const lineIntegrals = system.forward(truth, new Float32Array(nBins));
  const attenuation = system.forward(muPerMm, new Float32Array(nBins));
  const norm = o.normalisation ? petNormalisation(system.shape) : new Float32Array(nBins).fill(1);

  // Scale (counts per unit line integral) so that the slice yields its expected counts.
  let unattenuated = 0;
  let attenuated = 0;
  for (let b = 0; b < nBins; b++) {
    attenuation[b] = norm[b]! * Math.exp(-attenuation[b]!);
    unattenuated += norm[b]! * lineIntegrals[b]!;
    attenuated += attenuation[b]! * lineIntegrals[b]!;
  }
  let scale: number;
  if (options.trueCounts !== undefined) {
    positive('trueCounts', options.trueCounts);
    scale = attenuated > 0 ? options.trueCounts / attenuated : 0;
  } else {
    let activitySum = 0;
    for (let i = 0; i < truth.length; i++) activitySum += truth[i]!;
    // Bq/ml x mm^3 / 1000 = Bq in the slice; cps/kBq / 1000 = counts per s per Bq.
    const activityBq = (activitySum * grid.dx * grid.dy * o.sliceThicknessMm) / 1000;
    const unattenuatedCounts = activityBq * (o.sensitivityCpsPerKbq / 1000) * o.frameDurationS;
    scale = unattenuated > 0 ? unattenuatedCounts / unattenuated : 0;
  }
  const trueCountsFull = scale * attenuated;
  const backgroundPerBin = (backgroundFraction / (1 - backgroundFraction)) * (trueCountsFull / nBins);

  // Expected prompts at full counts; the low-count scan detects a fraction of the same events.
  const weightsFull = new Float32Array(nBins);
  const expectedFull = new Float32Array(nBins);
  for (let b = 0; b < nBins; b++) {
    weightsFull[b] = scale * attenuation[b]!;
    expectedFull[b] = weightsFull[b]! * lineIntegrals[b]! + backgroundPerBin;
  }
  const withFull = options.fullDose !== false;
  const rng = options.frame === undefined ? new Rng(o.seed, options.sliceIndex ?? 0, STREAM_PET) : new Rng(o.seed, options.sliceIndex ?? 0, STREAM_PET, options.frame);
  const countsLow = new Float32Array(nBins);
  const countsFull = withFull && fraction < 1 ? new Float32Array(nBins) : null;
  let promptsLow = 0;
  for (let b = 0; b < nBins; b++) {
    const low = rng.poisson(fraction * expectedFull[b]!);
    countsLow[b] = low;
    promptsLow += low;
    if (countsFull) countsFull[b] = low + rng.poisson((1 - fraction) * expectedFull[b]!);
  }

  const reconstruct = (counts: Float32Array, f: number): Image2D => {
    const weights = new Float32Array(nBins);
    const background = new Float32Array(nBins).fill(f * backgroundPerBin);
    for (let b = 0; b < nBins; b++) weights[b] = f * weightsFull[b]!;
    let x = osemReconstruct(system, counts, weights, background, { iterations: o.iterations, subsets: o.subsets });
    if (o.postFilterFwhmMm > 0) {
      x = gaussianBlur(x, rows, columns, fwhmToSigmaPixels(o.postFilterFwhmMm, grid.dy), fwhmToSigmaPixels(o.postFilterFwhmMm, grid.dx));
    }
    return { rows, columns, pixelSpacing: image.pixelSpacing, data: x };
  };
  const lowDose = reconstruct(countsLow, fraction);
  const fullDose = !withFull ? null : countsFull ? reconstruct(countsFull, 1) : lowDose;
  return { lowDose, fullDose, trueCountsFull, promptsLow };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
