/**
 * Matching the noise model to a real scan. Noise insertion adds (1/d - 1) times the full-dose
 * variance that the model believes the image has, so the model's full-dose noise must equal the
 * image's own: otherwise a 5 mm slice (five times the photons of a 1 mm slice) gets far too much
 * noise. In this 2-D model the incident count `i0` stands for everything that sets the photon
 * count of a slice (mAs, slice thickness, detector efficiency), so matching means choosing `i0`:
 * since quantum variance is proportional to 1/i0,
 *   i0 = i0_ref x (sigma_model(i0_ref) / sigma_image)^2.
 */
import { LowdoseError } from '../errors.js';
import { sliceOf, type Image2D, type Volume } from '../image.js';
import { estimateNoise, SOFT_TISSUE_HU } from '../metrics/noise-estimate.js';
import { CT_DEFAULTS, ctInsertionNoise, type CtSimulationOptions } from './ct.js';

const REFERENCE_I0 = CT_DEFAULTS.i0;
/** Below this a CT image is taken as noise-free (a phantom, a denoised image): nothing to match. */
const MIN_IMAGE_NOISE_HU = 1;
/** Calibration noise comes from its own random stream, apart from the inserted noise. */
const CALIBRATION_STREAM_OFFSET = 0x40000000;

/**
 * One realisation of the model's full-dose quantum noise (HU) for this image at `REFERENCE_I0`: at
 * dose 1/2 without electronic noise, the extra variance equals the full-dose quantum variance.
 */
function modelFullDoseNoise(image: Image2D, options: Omit<CtSimulationOptions, 'dose' | 'i0'>): Float32Array {
  return ctInsertionNoise(image, {
    ...options,
    dose: 0.5,
    i0: REFERENCE_I0,
    electronicNoise: 0,
    sliceIndex: CALIBRATION_STREAM_OFFSET + (options.sliceIndex ?? 0),
  });
}

export interface CtI0Estimate {
  /** Full-dose incident photons per channel per view that reproduce the image's noise. */
  readonly i0: number;
  /** The image's own noise (HU), estimated without a reference. */
  readonly imageNoise: number;
  /** The model's full-dose noise at the reference i0 (1e5), HU. */
  readonly modelNoise: number;
}

/**
 * Estimates `i0` for a clinical slice with no reference: the no-reference noise estimate of the
 * image (local standard deviation mode over soft tissue, ../metrics/noise-estimate.ts) is compared
 * with that of the image plus one realisation of model noise; the difference of variances is the
 * model's own, so texture that biases the estimator largely cancels. Measured on real scans
 * (docs/simulation.md), insertion with this i0 gives noise within about 10 % of sigma / sqrt(d).
 */
export function estimateCtI0(image: Image2D, options: Omit<CtSimulationOptions, 'dose' | 'i0'> = {}): CtI0Estimate {
  const measure = (data: Float32Array) => {
    const e = estimateNoise({ ...image, data }, { valueRange: SOFT_TISSUE_HU });
    if (e.pixels < 2000) {
      throw new LowdoseError('E_USAGE', `cannot calibrate the CT noise model: only ${e.pixels} soft-tissue pixels in the slice`);
    }
    return e.std;
  };
  const imageNoise = measure(image.data);
  if (!(imageNoise >= MIN_IMAGE_NOISE_HU)) {
    throw new LowdoseError(
      'E_USAGE',
      `cannot calibrate the CT noise model: the image has no measurable noise (${imageNoise.toFixed(2)} HU); a noise-free phantom needs truth mode`,
    );
  }
  const model = modelFullDoseNoise(image, options);
  const combined = new Float32Array(image.data.length);
  for (let i = 0; i < combined.length; i++) combined[i] = image.data[i]! + model[i]!;
  const both = measure(combined);
  const modelVariance = both * both - imageNoise * imageNoise;
  if (!(modelVariance > 0)) {
    throw new LowdoseError('E_USAGE', `cannot calibrate the CT noise model: image noise ${imageNoise.toFixed(2)} HU, with model noise ${both.toFixed(2)} HU`);
  }
  return { i0: (REFERENCE_I0 * modelVariance) / (imageNoise * imageNoise), imageNoise, modelNoise: Math.sqrt(modelVariance) };
}

/**
 * One full-dose photon count for a whole CT volume with no reference: the median of estimateCtI0
 * on the slices a quarter, half and three quarters in (seed 0, each slice its own stream). The
 * training export, the classical filters' tuning and the uncertainty calibration insert noise at
 * this i0, so a nominal dose means the same noise on each of their volumes; with a fixed i0 the
 * variance at a given dose is 2 to 10 times off, by the volume's own mAs and slice thickness.
 * `lowdose simulate --i0 auto` instead follows the calibration slice by slice along z.
 */
export function estimateVolumeCtI0(volume: Volume, options: Omit<CtSimulationOptions, 'dose' | 'i0' | 'seed' | 'sliceIndex'> = {}): { i0: number; slices: Array<{ index: number; i0: number }> } {
  const count = volume.slices.length;
  const picks = [...new Set([Math.floor(count / 4), Math.floor(count / 2), Math.floor((3 * count) / 4)])];
  const slices = picks.map((index) => ({ index, i0: estimateCtI0(sliceOf(volume, index), { ...options, seed: 0, sliceIndex: index }).i0 }));
  const sorted = slices.map((s) => s.i0).sort((a, b) => a - b);
  return { i0: sorted[Math.floor(sorted.length / 2)]!, slices };
}

/** A circular region in mm from the image centre (x to the right, y down). */
export interface CircleRoi {
  readonly x: number;
  readonly y: number;
  readonly radius: number;
}

/**
 * The full-dose incident photon count `i0` at which this model's full-dose quantum noise, in
 * `roi`, equals `measuredStd` (HU) measured in the same region of the real image. Noise insertion
 * with that `i0` adds the right amount of noise to a scan whose noise level is known: by
 * var ~ 1/i0, i0 = i0_ref (sigma_model / sigma_measured)^2, with sigma_model from one simulated
 * full-dose noise image (electronic noise ignored, as it is small at full dose). Pick a uniform
 * region (liver, a water phantom), a few hundred pixels or more.
 */
export function calibrateCtI0(
  image: Image2D,
  measuredStd: number,
  roi: CircleRoi,
  options: Omit<CtSimulationOptions, 'dose' | 'i0'> = {},
): number {
  if (!(measuredStd > 0)) throw new LowdoseError('E_USAGE', `measured noise must be > 0 HU, got ${measuredStd}`);
  // At dose 1/2 with no electronic noise the extra variance is exactly the quantum variance at dose 1.
  const noise = modelFullDoseNoise(image, options);
  const { rows, columns } = image;
  const [dy, dx] = image.pixelSpacing;
  let sum = 0;
  let sumSq = 0;
  let n = 0;
  for (let i = 0; i < rows; i++) {
    const y = (i - (rows - 1) / 2) * dy - roi.y;
    for (let j = 0; j < columns; j++) {
      const x = (j - (columns - 1) / 2) * dx - roi.x;
      if (x * x + y * y <= roi.radius * roi.radius) {
        const v = noise[i * columns + j]!;
        sum += v;
        sumSq += v * v;
        n++;
      }
    }
  }
  if (n < 50) throw new LowdoseError('E_USAGE', `calibration ROI holds only ${n} pixels; use a larger one`);
  const mean = sum / n;
  const modelStd = Math.sqrt(Math.max(0, sumSq / n - mean * mean));
  return REFERENCE_I0 * (modelStd / measuredStd) ** 2;
}
