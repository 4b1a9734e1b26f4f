/**
 * sFRC hallucination map: patch-wise Fourier ring correlation between a test image and a
 * reference (Kc, Zeng, Soni, Badano, "Fake detection in AI-assisted image recovery using scanning
 * Fourier Ring Correlation (sFRC)", FDA DIDSR, TechRxiv 2024, doi:10.36227/techrxiv.171259560;
 * code github.com/DIDSR/sfrc). A patch is flagged when its correlation falls below `threshold` at
 * a spatial frequency inside `band`: structure there in one image is not in the other (invented,
 * or erased).
 *
 * The paper's CT settings are 64-pixel patches scanned without overlap, a Hann window, FRC
 * threshold 0.5 and hallucination threshold 0.33 cycles/mm (flag when the FRC curve first drops
 * below 0.5 at or below 0.33 cycles/mm), and it skips patches that are mostly air. Its FRC treats
 * both images as noise-free: against a noisy full-dose reference, a denoised output loses
 * correlation wherever the reference's noise outweighs its anatomy, so flat tissue is flagged
 * wholesale (measured in docs/uncertainty.md). `noiseCompensation` (the default) therefore
 * subtracts the power a faithful pair's difference has anyway from the difference power before
 * comparing it with the shared power:
 *
 *   rho(r) = sqrt(C⁺ / (C⁺ + E)),  E = max(0, |T−R|²(r) − gamma · N(r) · (1 + z / sqrt(pi r / 4)))
 *
 * with C⁺ the shared (cross) power, N(r) the median difference power of ring r over the slice's
 * judged patches (the faithful majority), gamma the patch's own noise level (median over rings of
 * its difference power / N) and z = `significance` standard errors of a ring power with pi r / 4
 * effective samples. For noise-free images (N = 0) and an additive fake this is exactly the FRC.
 * Unlike plain FRC it also flags a patch whose structure the test lost (E then holds it too).
 * Defaults chosen on measurements (docs/uncertainty.md): 32-pixel patches at half overlap (64 and
 * no overlap missed structures near patch borders, where the window is ~0).
 */
import { LowdoseError } from '../errors.js';
import { FrcScratch, patchSpectra, ringGeometry, type RingSpectra } from './frc.js';
import { medianOf } from '../util/select.js';

export interface SfrcOptions {
  /** Patch edge in pixels (even, >= 8). Default 32. */
  readonly patchSize?: number;
  /** Step between patch origins in pixels. Default patchSize / 2. */
  readonly stride?: number;
  /** Frequencies judged, cycles/mm: [lo, hi]. Default [0, 0.33]; rings 0 and 1 (the window's own main lobe) are never judged. */
  readonly band?: readonly [number, number];
  /** FRC threshold: flagged below it. Default 0.5. */
  readonly threshold?: number;
  /** Subtract the noise a faithful pair's difference carries (default true); false = the paper's plain FRC. */
  readonly noiseCompensation?: boolean;
  /** Standard errors of a ring's noise power tolerated before it counts as structure. Default 3. */
  readonly significance?: number;
}

export interface ResolvedSfrcOptions {
  readonly patchSize: number;
  readonly stride: number;
  readonly band: readonly [number, number];
  readonly threshold: number;
  readonly noiseCompensation: boolean;
  readonly significance: number;
}

export const SFRC_DEFAULTS: ResolvedSfrcOptions = {
  patchSize: 32,
  stride: 16,
  band: [0, 0.33],
  threshold: 0.5,
  noiseCompensation: true,
  significance: 3,
};

export function resolveSfrcOptions(options: SfrcOptions = {}): ResolvedSfrcOptions {
  const patchSize = options.patchSize ?? SFRC_DEFAULTS.patchSize;
  if (!Number.isInteger(patchSize) || patchSize < 8 || patchSize % 2 !== 0) {
    throw new LowdoseError('E_USAGE', `patch size must be an even number of pixels >= 8, got ${patchSize}`);
  }
  const stride = options.stride ?? patchSize / 2;
  if (!Number.isInteger(stride) || stride < 1) throw new LowdoseError('E_USAGE', `stride must be a positive integer, got ${stride}`);
  const band = options.band ?? SFRC_DEFAULTS.band;
  if (!(band[0] >= 0 && band[1] > band[0])) throw new LowdoseError('E_USAGE', `band must be lo,hi cycles/mm with 0 <= lo < hi, got ${band.join(',')}`);
  const threshold = options.threshold ?? SFRC_DEFAULTS.threshold;
  if (!(threshold > 0 && threshold < 1)) throw new LowdoseError('E_USAGE', `FRC threshold must be in (0, 1), got ${threshold}`);
  const significance = options.significance ?? SFRC_DEFAULTS.significance;
  if (!(significance >= 0)) throw new LowdoseError('E_USAGE', `significance must be >= 0, got ${significance}`);
  return { patchSize, stride, band: [band[0], band[1]], threshold, noiseCompensation: options.noiseCompensation ?? true, significance };
}

/** The rings [lo, hi] (inclusive) a band covers for a patch size and pixel spacing (mm). */
export function bandRings(options: ResolvedSfrcOptions, spacingMm: number): [number, number] {
  const L = options.patchSize;
  const rings = L / 2;
  // A ring's frequency is r / (L · spacing); the last ring (sFRC drops it too) and rings 0, 1 are never judged.
  const lo = Math.max(2, Math.ceil(options.band[0] * L * spacingMm - 1e-9));
  const hi = Math.min(rings - 2, Math.floor(options.band[1] * L * spacingMm + 1e-9));
  if (hi < lo) {
    throw new LowdoseError(
      'E_USAGE',
      `the band ${options.band[0]}-${options.band[1]} cycles/mm holds no judged ring for ${L}-pixel patches at ${spacingMm.toFixed(3)} mm ` +
        `(rings are ${(1 / (L * spacingMm)).toFixed(3)} cycles/mm apart, rings 0-1 are never judged): raise the band's top or the patch size`,
    );
  }
  return [lo, hi];
}

/** Patch origins along one axis: every `stride`, plus one flush with the far edge. */
export function patchOrigins(length: number, size: number, stride: number): number[] {
  if (length < size) return [];
  const out: number[] = [];
  for (let p = 0; p + size <= length; p += stride) out.push(p);
  if (out[out.length - 1] !== length - size) out.push(length - size);
  return out;
}

/**
 * Whether a reference patch holds enough of the patient to judge: sFRC's air rule (more than 10 %
 * of pixels above 200 and a mean above 150 on its 0..2686 uint16 CT scale, i.e. -824 and -874 HU).
 * For other units the same fractions of the slice's maximum. Padding pixels (not image) count as
 * air and stay out of the mean; a patch that is more than half padding is never judged.
 */
export function patchIsTissue(
  reference: ArrayLike<number>,
  columns: number,
  row0: number,
  col0: number,
  size: number,
  units: string,
  sliceMax: number,
  padding: ArrayLike<number> | null = null,
): boolean {
  const [pixelFloor, meanFloor] = units === 'HU' ? [-824, -874] : [(200 / 2686) * sliceMax, (150 / 2686) * sliceMax];
  let above = 0;
  let sum = 0;
  let count = 0;
  for (let y = 0; y < size; y++) {
    const base = (row0 + y) * columns + col0;
    for (let x = 0; x < size; x++) {
      if (padding && padding[base + x]) continue;
      const v = reference[base + x]!;
      sum += v;
      count++;
      if (v > pixelFloor) above++;
    }
  }
  return count >= (size * size) / 2 && above > 0.1 * size * size && sum / count > meanFloor;
}

export interface SfrcPatch {
  /** Origin of the patch (top-left pixel). */
  readonly row: number;
  readonly column: number;
  /** The lowest correlation over the band's rings (1 = the images agree there). */
  readonly score: number;
  /** Frequency (cycles/mm) of the ring with that lowest correlation. */
  readonly frequency: number;
  readonly flagged: boolean;
}

export interface SfrcSliceResult {
  /** Judged patches (mostly-air patches are left out), in raster order. */
  readonly patches: SfrcPatch[];
  /** Patches skipped as air / padding. */
  readonly skipped: number;
  readonly bandRings: readonly [number, number];
}

export interface SfrcSliceInput {
  readonly rows: number;
  readonly columns: number;
  readonly test: ArrayLike<number>;
  readonly reference: ArrayLike<number>;
  /** [row, column] spacing in mm. */
  readonly pixelSpacing: readonly [number, number];
  /** Units of the reference ('HU' picks sFRC's CT air rule). */
  readonly units: string;
  /** 1 where either image is padding / out-of-field fill (`Image2D.padding`); null = none. */
  readonly padding?: ArrayLike<number> | null;
}

/** The sFRC map of one slice pair. */
export function sfrcSlice(input: SfrcSliceInput, options: ResolvedSfrcOptions): SfrcSliceResult {
  const { rows, columns, test, reference } = input;
  if (test.length !== rows * columns || reference.length !== rows * columns) {
    throw new LowdoseError('E_INTERNAL', `sFRC: images of ${test.length} and ${reference.length} values for ${rows}x${columns}`);
  }
  const L = options.patchSize;
  const spacing = Math.sqrt(input.pixelSpacing[0] * input.pixelSpacing[1]);
  const [lo, hi] = bandRings(options, spacing);
  const geometry = ringGeometry(L);
  const scratch = new FrcScratch(L);
  let sliceMax = -Infinity;
  const padding = input.padding ?? null;
  if (input.units !== 'HU') for (let i = 0; i < reference.length; i++) if (!padding?.[i] && reference[i]! > sliceMax) sliceMax = reference[i]!;

  const origins: Array<[number, number]> = [];
  const spectra: RingSpectra[] = [];
  let skipped = 0;
  for (const row of patchOrigins(rows, L, options.stride)) {
    for (const column of patchOrigins(columns, L, options.stride)) {
      if (!patchIsTissue(reference, columns, row, column, L, input.units, sliceMax, padding)) {
        skipped++;
        continue;
      }
      origins.push([row, column]);
      spectra.push(patchSpectra(test, reference, columns, row, column, geometry, scratch, padding));
    }
  }
  const rhos = options.noiseCompensation ? compensatedCorrelation(spectra, lo, geometry.rings, options.significance) : spectra.map(plainCorrelation);
  const patches = origins.map(([row, column], i): SfrcPatch => {
    const rho = rhos[i]!;
    let score = 1;
    let ring = lo;
    for (let r = lo; r <= hi; r++) {
      if (rho[r]! < score) {
        score = rho[r]!;
        ring = r;
      }
    }
    return { row, column, score, frequency: ring / (L * spacing), flagged: score < options.threshold };
  });
  return { patches, skipped, bandRings: [lo, hi] };
}

/** Plain FRC, signed and clamped to [0, 1]. */
function plainCorrelation(s: RingSpectra): Float64Array {
  const out = new Float64Array(s.cross.length);
  for (let r = 0; r < out.length; r++) {
    const d = Math.sqrt(s.testPower[r]! * s.referencePower[r]!);
    out[r] = d > 0 ? Math.min(1, Math.max(0, s.cross[r]! / d)) : 1;
  }
  return out;
}

/** Noise-compensated correlation per patch and ring (module comment). */
function compensatedCorrelation(spectra: readonly RingSpectra[], lo: number, rings: number, z: number): Float64Array[] {
  // N(r): the slice's typical difference power per ring, from its faithful majority.
  const typical = new Float64Array(rings);
  for (let r = 0; r < rings; r++) typical[r] = spectra.length > 0 ? medianOf(spectra.map((s) => s.differencePower[r]!)) : 0;
  return spectra.map((s) => {
    const ratios: number[] = [];
    for (let r = lo; r <= rings - 2; r++) if (typical[r]! > 0) ratios.push(s.differencePower[r]! / typical[r]!);
    const gamma = ratios.length > 0 ? medianOf(ratios) : 0;
    const out = new Float64Array(rings);
    for (let r = 0; r < rings; r++) {
      const margin = 1 + z / Math.sqrt(Math.max(1, (Math.PI * r) / 4));
      const excess = s.differencePower[r]! - gamma * typical[r]! * margin;
      const shared = Math.max(0, s.cross[r]!);
      out[r] = excess > 0 ? Math.sqrt(shared / (shared + excess)) : 1;
    }
    return out;
  });
}

/**
 * A per-pixel picture of a slice's result: each pixel holds the lowest score of the judged patches
 * that cover it, 1 where none does (air, padding, edges no patch reached).
 */
export function sfrcScoreMap(result: SfrcSliceResult, rows: number, columns: number, patchSize: number): Float32Array {
  const map = new Float32Array(rows * columns).fill(1);
  for (const p of result.patches) {
    for (let y = p.row; y < p.row + patchSize; y++) {
      for (let x = p.column; x < p.column + patchSize; x++) {
        const k = y * columns + x;
        if (p.score < map[k]!) map[k] = p.score;
      }
    }
  }
  return map;
}
