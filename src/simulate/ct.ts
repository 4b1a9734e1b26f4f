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
import { bowtieTransmission, type BowtieSpec } from './bowtie.js';
import { resolveFanBeam, type FanBeamGeometry } from './ct-geometry.js';
import { expectedLineIntegrals, extraNoiseSinogram, incidentPhotons, noisyLineIntegrals, type CtNoiseModel } from './ct-noise.js';
import { projectFanBeam } from './fan-projector.js';
import { rebinToParallel, reconstructParallel, reconstructionRadius, type ParallelSinogram } from './fbp.js';
import { resolveKernel, type KernelSpec, type ReconKernel } from './filters.js';
import type { PixelGrid } from './joseph.js';
import { tubeCurrentModulation } from './tcm.js';

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
  /** Bowtie filter (default `body`): a name or an explicit shape. */
  readonly bowtie?: BowtieSpec;
  /** Replaces the bowtie's strength (how fully it tops up its water cylinder, 0..1). */
  readonly bowtieStrength?: number;
  /**
   * Angular tube-current modulation strength (./tcm.ts): the current of each view follows
   * exp(strength x its largest line integral), at the same mean; 0 is a constant current, 0.5 (the
   * default, as clinical body protocols modulate) the square-root rule.
   */
  readonly tcm?: number;
  /** Counts are clamped to at least this before the log (default 1). */
  readonly minCounts?: number;
  /** Water attenuation per mm at the effective energy (default 0.01929, ~70 keV). */
  readonly muWater?: number;
}

export const CT_DEFAULTS = Object.freeze({
  seed: 0,
  i0: 1e5,
  electronicNoise: 5,
  bowtie: 'body',
  tcm: 0.5,
  minCounts: 1,
  muWater: MU_WATER_CT_PER_MM,
});

/** Values below this are padding outside the scanner's field of view, not air: left as they are. */
export const CT_PADDING_BELOW_HU = -1500;

/**
 * For noise insertion, air outside the body is set to exactly zero attenuation: a real image's air
 * is -1000 HU plus noise, which would make every ray cross "something" and defeat the projector's
 * clipping to the body, while adding nothing but noise to the line integrals (only their variance
 * is used). Air is where the 3 x 3 mean is below this.
 */
const AIR_BELOW_HU = -950;

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
  readonly tcm: number;
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
  const tcm = options.tcm ?? CT_DEFAULTS.tcm;
  if (!(tcm >= 0 && tcm <= 1)) throw new LowdoseError('E_USAGE', `tube-current modulation strength must be in [0, 1], got ${tcm}`);
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
      bowtie: bowtieTransmission(geometry, options.bowtie ?? CT_DEFAULTS.bowtie, options.bowtieStrength),
    },
    tcm,
    muWater: options.muWater ?? CT_DEFAULTS.muWater,
  };
}

/**
 * The rays the reconstruction uses (parallel bins rebinned from the fan, ./fbp.ts) with each one's
 * noise-free line integral and full-dose incident photons (bowtie and this patient's tube-current
 * modulation, read from its own projections). Noise is drawn on these rays, so every bin carries
 * the full noise of one measured ray (see ./ct-noise.ts).
 */
function scannedRays(o: ResolvedCt, grid: PixelGrid, fanLineIntegrals: Float32Array): { rays: ParallelSinogram; incident: Float32Array } {
  const { views, channels } = o.geometry;
  const model: CtNoiseModel =
    o.tcm === 0 ? o.noise : { ...o.noise, tubeCurrent: tubeCurrentModulation(fanLineIntegrals, channels, o.tcm) };
  const rays = rebinToParallel(fanLineIntegrals, o.geometry, grid);
  const incident = rebinToParallel(incidentPhotons(model, views, channels), o.geometry, grid).data;
  return { rays, incident };
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
  const { rays, incident } = scannedRays(o, grid, projectFanBeam(grid, huToMu(image.data, o.muWater), o.geometry));
  const rng = new Rng(o.seed, o.sliceIndex, STREAM_TRUTH);
  const noisy = noisyLineIntegrals(rays.data, incident, o.dose, o.noise, rng, options.fullDose !== false);
  const reconstruct = (sinogram: Float32Array) =>
    withData(image, muToHu(reconstructParallel({ ...rays, data: sinogram }, o.geometry, grid, o.kernel), o.muWater));
  const lowDose = reconstruct(noisy.low);
  const fullDose = noisy.full === null ? null : noisy.full === noisy.low ? lowDose : reconstruct(noisy.full);
  return { lowDose, fullDose };
}

/**
 * The mean over noise of `simulateCtFromTruth`'s low-dose image at these options (dose 1: of its
 * full-dose image), computed without drawing: each ray's expected measurement E[log(d I / max(N, m))]
 * (`expectedLineIntegrals`), reconstructed (FBP is linear, so the mean passes through it). It
 * differs from a noise-free reconstruction only by the log of noisy counts' low-count bias, so it
 * shows what the simulated dose does to HU and contrast in expectation, free of the Monte Carlo
 * noise that hides a 6 HU contrast in a few realisations (docs/simulation.md, "Contrast in expectation").
 */
export function expectedCtFromTruth(image: Image2D, options: CtSimulationOptions): Image2D {
  const o = resolveCtOptions(options);
  const grid = gridOf(image);
  const { rays, incident } = scannedRays(o, grid, projectFanBeam(grid, huToMu(image.data, o.muWater), o.geometry));
  const expected = expectedLineIntegrals(rays.data, incident, o.dose, o.noise);
  return withData(image, muToHu(reconstructParallel({ ...rays, data: expected }, o.geometry, grid, o.kernel), o.muWater));
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
  const { rays, incident } = scannedRays(o, grid, varianceLineIntegrals(image, grid, o));
  const rng = new Rng(o.seed, o.sliceIndex, STREAM_INSERT);
  const noise = extraNoiseSinogram(rays.data, incident, o.dose, o.noise, rng);
  const mu = reconstructParallel({ ...rays, data: noise }, o.geometry, grid, o.kernel);
  const toHu = 1000 / o.muWater;
  for (let i = 0; i < mu.length; i++) mu[i]! *= toHu;
  return mu;
}

/**
 * Line integrals for the noise variance of insertion. They only set how much noise each ray gets,
 * so fine pixels (< 1 mm) are first averaged 2 x 2, which halves the projection time and changes
 * the variance only along sharp edges, by a fraction of a pixel's attenuation.
 */
function varianceLineIntegrals(image: Image2D, grid: PixelGrid, o: ResolvedCt): Float32Array {
  const mu = attenuationWithoutAirNoise(image, o.muWater);
  const { rows, columns, dx, dy } = grid;
  if (rows % 2 !== 0 || columns % 2 !== 0 || Math.max(dx, dy) >= 1) return projectFanBeam(grid, mu, o.geometry);
  const half = { rows: rows / 2, columns: columns / 2, dx: 2 * dx, dy: 2 * dy };
  const binned = new Float32Array(half.rows * half.columns);
  for (let i = 0; i < half.rows; i++) {
    const top = 2 * i * columns;
    for (let j = 0; j < half.columns; j++) {
      const p = top + 2 * j;
      binned[i * half.columns + j] = 0.25 * (mu[p]! + mu[p + 1]! + mu[p + columns]! + mu[p + columns + 1]!);
    }
  }
  return projectFanBeam(half, binned, o.geometry);
}

/** Attenuation per mm of a measured HU image, with air (3 x 3 mean below -950 HU) exactly zero. */
function attenuationWithoutAirNoise(image: Image2D, muWater: number): Float32Array {
  const { rows, columns, data } = image;
  const mu = huToMu(data, muWater);
  const threshold = 9 * AIR_BELOW_HU;
  for (let i = 0; i < rows; i++) {
    const i0 = Math.max(0, i - 1);
    const i1 = Math.min(rows - 1, i + 1);
    for (let j = 0; j < columns; j++) {
      const j0 = Math.max(0, j - 1);
      const j1 = Math.min(columns - 1, j + 1);
      let sum = 0;
      for (let a = i0; a <= i1; a++) for (let b = j0; b <= j1; b++) sum += Math.max(data[a * columns + b]!, -1000);
      // Scale edge windows to nine pixels.
      if ((sum * 9) / ((i1 - i0 + 1) * (j1 - j0 + 1)) < threshold) mu[i * columns + j] = 0;
    }
  }
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

