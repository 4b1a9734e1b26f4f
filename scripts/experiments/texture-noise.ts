/**
 * Noise magnitude and texture of patient images, measured where the anatomy is flat: square ROIs in
 * homogeneous soft tissue (liver, spleen, muscle) picked on the full-dose slice, the same ROIs for
 * every image of that slice (full dose, quarter dose, each denoiser's output).
 *
 * The ROIs are src/metrics/soft-tissue-rois.ts's flatRois: the full-dose slice smoothed by a
 * Gaussian of 4 px stays within soft tissue ([-30, 200] HU, mean in [0, 150]) and, after
 * the 2nd-order detrend of the NPS, varies by less than FLAT_SD_HU over the ROI. What anatomy is
 * left in them is taken off the spectra by anatomyCorrected below. The noise SD of an
 * image is then the square root of the mean detrended ROI variance (= the integral of its NPS), and
 * the NPS is ICRU 87's over those ROIs; its peak is QA's (Gaussian-smoothed, parabola-refined).
 */
import type { Image2D } from '../../src/image.js';
import { noisePowerSpectrum, smoothedRadialPeak, type NpsResult, type RoiCorner } from '../../src/metrics/index.js';
import { noiseOnlyRatio } from '../../src/metrics/noise-transfer.js';
import { FLAT_ROI_SIZE } from '../../src/metrics/soft-tissue-rois.js';

export { flatRois, FLAT_ROI_STRIDE as STRIDE, FLAT_SD_HU } from '../../src/metrics/soft-tissue-rois.js';
export { NOISE_ONLY_FROM } from '../../src/metrics/noise-transfer.js';
/** The flat ROIs' edge (src/metrics/soft-tissue-rois.ts). */
export const ROI = FLAT_ROI_SIZE;

export interface NoiseSummary {
  /** sqrt of the ROI-count-weighted mean detrended variance, HU. */
  readonly sd: number;
  readonly variance: number;
  /** QA's NPS peak, cycles/mm. */
  readonly peak: number;
  readonly meanFrequency: number;
  readonly rois: number;
  /** The radial NPS pooled over slices (HU^2 mm^2). */
  readonly frequency: number[];
  readonly nps: number[];
}

/** NPS and noise SD of a stack, slice i over rois[i]. */
export function noiseOf(images: readonly Image2D[], rois: readonly (readonly RoiCorner[])[]): NoiseSummary {
  let count = 0;
  let variance = 0;
  let radial: Float64Array | null = null;
  let frequency: Float64Array | null = null;
  let meanFreq = 0;
  let template: NpsResult | null = null;
  images.forEach((img, i) => {
    const corners = rois[i]!;
    if (corners.length === 0) return;
    const nps = noisePowerSpectrum(img, { roiSize: ROI, rois: corners, detrend: 'poly2' });
    template ??= nps;
    frequency ??= nps.radial.frequency;
    radial ??= new Float64Array(nps.radial.nps.length);
    for (let k = 0; k < radial.length; k++) radial[k]! += nps.roiCount * (Number.isNaN(nps.radial.nps[k]!) ? 0 : nps.radial.nps[k]!);
    variance += nps.roiCount * nps.variance;
    meanFreq += nps.roiCount * nps.meanFrequency;
    count += nps.roiCount;
  });
  if (!template || !radial || !frequency) throw new Error('no flat ROI in any slice');
  // (radial is assigned in the forEach above, which TypeScript does not follow.)
  const pooled = Float64Array.from(radial as Float64Array, (v) => v / count);
  return {
    sd: Math.sqrt(variance / count),
    variance: variance / count,
    peak: peakOf(frequency, pooled),
    meanFrequency: meanFreq / count,
    rois: count,
    frequency: [...frequency],
    nps: [...pooled],
  };
}

function peakOf(frequency: Float64Array, nps: Float64Array): number {
  return smoothedRadialPeak(frequency, nps);
}

/**
 * Flat patient ROIs still hold some anatomy (liver parenchyma, small vessels), whose power sits at
 * low frequencies and would pass for noise. The full-dose image is anatomy A plus noise n_f, and
 * the quarter-minus-full difference is the extra noise n_e alone, with the same kernel and so the
 * same NPS shape: kappa = var(n_f) / var(n_e) is the ratio of their NPS above NOISE_ONLY_FROM x
 * Nyquist, A(f) = NPS_full(f) - kappa NPS_diff(f), and an image's noise NPS is its NPS minus A(f)
 * (its SD from the variance minus that of A). This assumes the image keeps the low-frequency
 * anatomy of the full dose, which every denoiser here does to within a few per cent of A.
 */
export function anatomyCorrected(full: NoiseSummary, diff: NoiseSummary): { ratio: number; apply: (x: NoiseSummary) => NoiseSummary } {
  const kappa = noiseOnlyRatio(full.frequency, full.nps, diff.nps);
  const anatomy = full.nps.map((v, k) => Math.max(0, (v || 0) - kappa * (diff.nps[k]! || 0)));
  const anatomyVariance = Math.max(0, full.variance - kappa * diff.variance);
  return {
    ratio: kappa,
    apply(x) {
      const nps = x.nps.map((v, k) => (v || 0) - anatomy[k]!);
      const variance = x.variance - anatomyVariance;
      const frequency = Float64Array.from(x.frequency);
      let moment = 0;
      let total = 0;
      nps.forEach((v, k) => {
        moment += Math.max(0, v) * frequency[k]!;
        total += Math.max(0, v);
      });
      return { ...x, variance, sd: Math.sqrt(Math.max(0, variance)), nps, peak: peakOf(frequency, Float64Array.from(nps)), meanFrequency: moment / total };
    },
  };
}
