/**
 * The noise that a lower dose adds to a scan, measured from a matched pair: the reduced-dose image
 * minus the full-dose image of the same slice. When the low-dose scan is the full-dose one plus
 * independent extra noise (real projection-domain noise insertion, or `insertCtNoise`), the
 * difference IS that extra noise: anatomy and the full-dose noise cancel, and it is measured
 * without the 1/sqrt 2 of two independent realisations.
 *
 * It is measured in flat soft tissue of the full-dose image (square ROIs whose every pixel has a
 * local mean in the soft-tissue window and a small local spread, so no edge, bone or air), as
 * its standard deviation, radial NPS (peak and mean frequency), and split by distance from the
 * image centre (centre vs periphery), where the attenuation of the rays through a pixel differs.
 */
import type { Image2D } from '../image.js';
import { noisePowerSpectrum, smoothedRadialPeak, tileRois, type NpsResult, type RoiCorner } from './nps.js';
import { SOFT_TISSUE_HU } from './noise-estimate.js';
import { checkSameSize } from './pixels.js';

export interface AddedNoiseOptions {
  /** Square ROI edge in pixels (default 64). */
  readonly roiSize?: number;
  /** Step between candidate ROI corners in pixels (default roiSize / 4: ROIs may overlap). */
  readonly stride?: number;
  /** Local-mean window of the full-dose image that counts as flat tissue, HU (default -150..250). */
  readonly valueRange?: readonly [number, number];
  /** Local window edge in pixels for the mean and spread of the full-dose image (default 7). */
  readonly window?: number;
  /**
   * A pixel is flat when the local SD of the full-dose image is at most this (HU). Default: no
   * limit: the difference image carries no anatomy, so a fat / muscle edge inside soft tissue
   * does not bias it; the value window alone keeps out bone, air and lung.
   */
  readonly maxLocalStd?: number;
  /** ROIs whose centre lies within this distance of the image centre are "centre" (mm, default 60). */
  readonly centreRadiusMm?: number;
  /** ROIs whose centre lies beyond this distance are "periphery" (mm, default 110). */
  readonly peripheryRadiusMm?: number;
}

export interface RoiNoise {
  readonly corner: RoiCorner;
  /** Distance of the ROI centre from the image centre, mm. */
  readonly distanceMm: number;
  /** SD of the added noise in the ROI (mean removed), image units. */
  readonly std: number;
}

export interface AddedNoise {
  /** sqrt of the mean ROI variance of the difference (mean-detrended), image units. */
  readonly std: number;
  readonly nps: NpsResult;
  /**
   * Peak of the radial NPS, cycles/mm: QA's `smoothedRadialPeak` (./nps.ts: a local cubic fit
   * around the maximum, zero bin excluded), the toolkit's one NPS peak estimate. A kernel's NPS is
   * a broad plateau whose raw arg-max (nps.peakFrequency) jumps by several bins between two
   * realisations of the same noise. The estimate was chosen on a known-answer suite of FBP-like and
   * denoised spectra (docs/metrics.md, "Which NPS peak estimator"); test/metrics/nps.test.ts pins it.
   */
  readonly peakFrequency: number;
  /** nps.meanFrequency, repeated for symmetry with peakFrequency. */
  readonly meanFrequency: number;
  readonly rois: readonly RoiNoise[];
  /** RMS of the ROI SDs in the centre and the periphery (NaN when no ROI falls there). */
  readonly centreStd: number;
  readonly peripheryStd: number;
}

/**
 * Pixels of `reference` in flat soft tissue: local mean in `valueRange`, local SD below the limit.
 * Returns the mask and the SD limit used.
 */
export function flatTissueMask(reference: Image2D, options: AddedNoiseOptions = {}): { mask: Uint8Array; maxLocalStd: number } {
  const { rows, columns, data } = reference;
  const window = options.window ?? 7;
  const [lo, hi] = options.valueRange ?? SOFT_TISSUE_HU;
  const r = (window - 1) / 2;
  const w = columns + 1;
  const s1 = new Float64Array((rows + 1) * w);
  const s2 = new Float64Array((rows + 1) * w);
  for (let i = 0; i < rows; i++) {
    let a = 0;
    let b = 0;
    for (let j = 0; j < columns; j++) {
      const v = data[i * columns + j]!;
      a += v;
      b += v * v;
      s1[(i + 1) * w + j + 1] = s1[i * w + j + 1]! + a;
      s2[(i + 1) * w + j + 1] = s2[i * w + j + 1]! + b;
    }
  }
  const n = window * window;
  const localStd = new Float32Array(rows * columns).fill(NaN);
  for (let i = r; i < rows - r; i++) {
    for (let j = r; j < columns - r; j++) {
      const i0 = i - r;
      const j0 = j - r;
      const i1 = i + r + 1;
      const j1 = j + r + 1;
      const sum = s1[i1 * w + j1]! - s1[i0 * w + j1]! - s1[i1 * w + j0]! + s1[i0 * w + j0]!;
      const sq = s2[i1 * w + j1]! - s2[i0 * w + j1]! - s2[i1 * w + j0]! + s2[i0 * w + j0]!;
      const mean = sum / n;
      if (mean < lo || mean > hi) continue;
      const sd = Math.sqrt(Math.max(0, (sq - (sum * sum) / n) / (n - 1)));
      localStd[i * columns + j] = sd;
    }
  }
  const limit = options.maxLocalStd ?? Infinity;
  const mask = new Uint8Array(rows * columns);
  for (let k = 0; k < mask.length; k++) if (localStd[k]! <= limit) mask[k] = 1;
  return { mask, maxLocalStd: limit };
}

/**
 * The noise added to `reference` in `reduced` (reduced - reference), over flat soft-tissue ROIs of
 * the reference. Throws a RangeError when no ROI fits.
 */
export function addedNoise(reduced: Image2D, reference: Image2D, options: AddedNoiseOptions = {}): AddedNoise {
  checkSameSize(reduced, reference);
  const size = options.roiSize ?? 64;
  const { rows, columns, pixelSpacing } = reference;
  const diff = new Float32Array(rows * columns);
  for (let k = 0; k < diff.length; k++) diff[k] = reduced.data[k]! - reference.data[k]!;
  const image: Image2D = { rows, columns, data: diff, pixelSpacing };
  const { mask } = flatTissueMask(reference, options);
  const corners = tileRois(rows, columns, size, { mask, stride: options.stride ?? Math.max(1, Math.floor(size / 4)) });
  if (corners.length === 0) throw new RangeError(`no ${size}x${size} ROI of flat soft tissue fits the image`);
  const nps = noisePowerSpectrum(image, { roiSize: size, rois: corners, detrend: 'mean' });
  const [dy, dx] = pixelSpacing;
  const rois = corners.map((corner): RoiNoise => {
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < size; i++) {
      for (let j = 0; j < size; j++) {
        const v = diff[(corner.row + i) * columns + corner.col + j]!;
        s += v;
        s2 += v * v;
      }
    }
    const m = size * size;
    const y = (corner.row + (size - 1) / 2 - (rows - 1) / 2) * dy;
    const x = (corner.col + (size - 1) / 2 - (columns - 1) / 2) * dx;
    return { corner, distanceMm: Math.hypot(x, y), std: Math.sqrt(Math.max(0, (s2 - (s * s) / m) / (m - 1))) };
  });
  const rms = (list: readonly RoiNoise[]) => (list.length ? Math.sqrt(list.reduce((a, q) => a + q.std * q.std, 0) / list.length) : NaN);
  const centre = options.centreRadiusMm ?? 60;
  const periphery = options.peripheryRadiusMm ?? 110;
  return {
    std: Math.sqrt(nps.variance),
    nps,
    peakFrequency: smoothedRadialPeak(nps.radial.frequency, nps.radial.nps),
    meanFrequency: nps.meanFrequency,
    rois,
    centreStd: rms(rois.filter((q) => q.distanceMm <= centre)),
    peripheryStd: rms(rois.filter((q) => q.distanceMm >= periphery)),
  };
}
