/**
 * Reduced-dose CT, two ways:
 *  - `simulateCtFromTruth`: the image is noise-free truth (a phantom). Project it, detect photons at
 *    dose d and at full dose (sharing photons), reconstruct both with FBP.
 *  - `insertCtNoise`: the image is a real normal-dose scan that already carries full-dose noise.
 *    Project it only to know each ray's attenuation, draw the extra projection noise of going from
 *    dose 1 to dose d, reconstruct that noise alone with FBP (linear) and add it.
 */
import { LowdoseError } from '../errors.js';
import type { Image2D } from '../image.js';
import { Rng } from '../util/random.js';
import { MU_WATER_CT_PER_MM, huToMu, muToHu } from './attenuation.js';
import { bowtieTransmission, type BowtieKind } from './bowtie.js';
import { resolveFanBeam, type FanBeamGeometry } from './ct-geometry.js';
import { extraNoiseSinogram, noisyLineIntegrals, type CtNoiseModel } from './ct-noise.js';
import { projectFanBeam } from './fan-projector.js';
import { reconstructFanBeam, reconstructionRadius } from './fbp.js';
import { resolveKernel, type KernelSpec, type ReconKernel } from './filters.js';
import type { PixelGrid } from './joseph.js';

export interface CtSimulationOptions {
  /** Dose as a fraction of the full (normal) dose, in (0, 1]. */
  readonly dose: number;
  /** Noise seed; with `sliceIndex` it picks the random stream (default 0). */
  readonly seed?: number;
  /** Stream key of this slice, so each slice's noise is independent of the others (default 0). */
  readonly sliceIndex?: number;
  /** Scanner geometry; unspecified fields keep `DEFAULT_FAN_BEAM`. */
  readonly geometry?: Partial<FanBeamGeometry>;
  /** Reconstruction kernel (default `standard`). */
  readonly kernel?: KernelSpec;
  /** Overrides the kernel's cutoff (fraction of the rebinned rays' Nyquist frequency, 1.71 cycles/mm by default). */
  readonly cutoff?: number;
  /** Incident photons per channel per view at full dose on the central ray (default 1e5). */
  readonly i0?: number;
  /** Electronic noise standard deviation in photons (default 5). */
  readonly electronicNoise?: number;
  /** Bowtie filter (default `body`). */
  readonly bowtie?: BowtieKind;
  /** Counts are clamped to at least this before the log (default 1). */
  readonly minCounts?: number;
  /** Water attenuation per mm at the effective energy (default 0.01929, ~70 keV). */
  readonly muWater?: number;
}

export const CT_DEFAULTS = Object.freeze({
  seed: 0,
  i0: 1e5,
  electronicNoise: 5,
  bowtie: 'body' as BowtieKind,
  minCounts: 1,
  muWater: MU_WATER_CT_PER_MM,
});

/** Values below this are padding outside the scanner's field of view, not air: left as they are. */
export const CT_PADDING_BELOW_HU = -1500;

/** Random stream keys under (seed, sliceIndex): one per independent use. */
const STREAM_TRUTH = 1;
const STREAM_INSERT = 2;

interface ResolvedCt {
  readonly dose: number;
  readonly seed: number;
  readonly sliceIndex: number;
  readonly geometry: FanBeamGeometry;
  readonly kernel: ReconKernel;
  readonly noise: CtNoiseModel;
  readonly muWater: number;
}

function resolveCtOptions(options: CtSimulationOptions): ResolvedCt {
  const { dose } = options;
  if (!(Number.isFinite(dose) && dose > 0 && dose <= 1)) {
    throw new LowdoseError('E_USAGE', `dose must be a fraction in (0, 1], got ${dose}`);
  }
  const geometry = resolveFanBeam(options.geometry);
  const i0 = options.i0 ?? CT_DEFAULTS.i0;
  const electronicNoise = options.electronicNoise ?? CT_DEFAULTS.electronicNoise;
  const minCounts = options.minCounts ?? CT_DEFAULTS.minCounts;
  if (!(i0 > 0 && Number.isFinite(i0))) throw new LowdoseError('E_USAGE', `i0 must be a positive number, got ${i0}`);
  if (!(electronicNoise >= 0)) throw new LowdoseError('E_USAGE', `electronicNoise must be >= 0, got ${electronicNoise}`);
  if (!(minCounts > 0)) throw new LowdoseError('E_USAGE', `minCounts must be > 0, got ${minCounts}`);
  return {
    dose,
    seed: options.seed ?? CT_DEFAULTS.seed,
    sliceIndex: options.sliceIndex ?? 0,
    geometry,
    kernel: resolveKernel(options.kernel, options.cutoff),
    noise: {
      i0,
      electronicNoise,
      minCounts,
      bowtie: bowtieTransmission(geometry, options.bowtie ?? CT_DEFAULTS.bowtie),
    },
    muWater: options.muWater ?? CT_DEFAULTS.muWater,
  };
}

function gridOf(image: Image2D): PixelGrid {
  const { rows, columns, data, pixelSpacing } = image;
  if (data.length !== rows * columns) {
    throw new LowdoseError('E_USAGE', `image has ${data.length} values for ${rows}x${columns}`);
  }
  const [dy, dx] = pixelSpacing;
  if (!(dx > 0 && dy > 0)) throw new LowdoseError('E_USAGE', `pixel spacing must be positive, got ${dy}, ${dx}`);
  return { rows, columns, dx, dy };
}

function withData(image: Image2D, data: Float32Array): Image2D {
  return { rows: image.rows, columns: image.columns, pixelSpacing: image.pixelSpacing, data };
}

export interface CtTruthResult {
  /** Reconstruction at the requested dose, HU. */
  readonly lowDose: Image2D;
  /** Reconstruction at full dose from the same photons plus the rest (null when `fullDose: false`). */
  readonly fullDose: Image2D | null;
}

/**
 * Simulates a scan of a noise-free HU image (a phantom) at `dose` and, unless `fullDose` is false, at
 * full dose, both reconstructed with the same kernel on the input grid. Pixels outside the scan
 * field of view come out as air (-1000 HU).
 */
export function simulateCtFromTruth(image: Image2D, options: CtSimulationOptions & { readonly fullDose?: boolean }): CtTruthResult {
  const o = resolveCtOptions(options);
  const grid = gridOf(image);
  const lineIntegrals = projectFanBeam(grid, huToMu(image.data, o.muWater), o.geometry);
  const rng = new Rng(o.seed, o.sliceIndex, STREAM_TRUTH);
  const noisy = noisyLineIntegrals(lineIntegrals, o.geometry.channels, o.dose, o.noise, rng, options.fullDose !== false);
  const reconstruct = (sinogram: Float32Array) =>
    withData(image, muToHu(reconstructFanBeam(sinogram, o.geometry, grid, o.kernel), o.muWater));
  const lowDose = reconstruct(noisy.low);
  const fullDose = noisy.full === null ? null : noisy.full === noisy.low ? lowDose : reconstruct(noisy.full);
  return { lowDose, fullDose };
}

/**
 * The extra image noise (HU, zero mean) of going from full dose to `dose` for this normal-dose
 * image: projection noise with the extra variance of each ray, reconstructed with the kernel.
 * Zero outside the scan field of view.
 */
export function ctInsertionNoise(image: Image2D, options: CtSimulationOptions): Float32Array {
  const o = resolveCtOptions(options);
  const grid = gridOf(image);
  if (o.dose >= 1) return new Float32Array(image.data.length);
  const lineIntegrals = projectFanBeam(grid, huToMu(image.data, o.muWater), o.geometry);
  const rng = new Rng(o.seed, o.sliceIndex, STREAM_INSERT);
  const noise = extraNoiseSinogram(lineIntegrals, o.geometry.channels, o.dose, o.noise, rng);
  const mu = reconstructFanBeam(noise, o.geometry, grid, o.kernel);
  const toHu = 1000 / o.muWater;
  for (let i = 0; i < mu.length; i++) mu[i]! *= toHu;
  return mu;
}

/**
 * A normal-dose HU image with the extra noise of `dose` added (noise insertion). Padding below
 * -1500 HU (outside the original field of view) is left untouched. The result's noise equals a
 * real scan at `dose` when the image's own noise matches this model at full dose: pick `i0` (see
 * `estimateCtI0` and `calibrateCtI0` in ./calibrate.ts) and `kernel` to match the scanner that made it.
 */
export function insertCtNoise(image: Image2D, options: CtSimulationOptions): Image2D {
  const noise = ctInsertionNoise(image, options);
  const out = new Float32Array(image.data.length);
  for (let i = 0; i < out.length; i++) {
    const v = image.data[i]!;
    out[i] = v < CT_PADDING_BELOW_HU ? v : v + noise[i]!;
  }
  return withData(image, out);
}

/** Radius (mm) of the reconstructed disc for these options on this image's grid. */
export function ctReconstructionRadius(image: Image2D, options: Pick<CtSimulationOptions, 'geometry'> = {}): number {
  return reconstructionRadius(resolveFanBeam(options.geometry), gridOf(image));
}

