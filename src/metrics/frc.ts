/**
 * Fourier ring correlation (FRC) on square patches: the spectral building blocks of the sFRC
 * hallucination map (./sfrc.ts). A patch pair is mean-removed, Hann-windowed (as sFRC's
 * `--apply-hann`), transformed, and its cross power, both auto powers and the power of the
 * difference are summed over rings of equal spatial frequency.
 *
 * Rings follow sFRC's `spinavej` (Kc et al., FDA DIDSR, github.com/DIDSR/sfrc, src/frc_utils.py):
 * ring r is the mean of the sum over bins whose distance from zero frequency floors to r and the
 * sum over bins whose distance ceils to r; rings run to the inscribed circle (r < size / 2). Ring r
 * holds the frequency r / (size · spacing) cycles/mm.
 */
import { fft2d } from '../util/fft.js';

export interface RingGeometry {
  /** Patch edge in pixels. */
  readonly size: number;
  /** Number of rings: size / 2 (the inscribed circle). */
  readonly rings: number;
  /** Per FFT bin (unshifted, row-major): floor and ceil of its distance from zero frequency. */
  readonly floor: Int32Array;
  readonly ceil: Int32Array;
  /** The separable Hann window, size x size, row-major. */
  readonly window: Float64Array;
}

const geometries = new Map<number, RingGeometry>();

/** Ring indices and window for a patch edge (cached: every patch of a run shares them). */
export function ringGeometry(size: number): RingGeometry {
  if (!Number.isInteger(size) || size < 8 || size % 2 !== 0) {
    throw new RangeError(`FRC patch size must be an even integer >= 8, got ${size}`);
  }
  const cached = geometries.get(size);
  if (cached) return cached;
  const floor = new Int32Array(size * size);
  const ceil = new Int32Array(size * size);
  for (let v = 0; v < size; v++) {
    const fv = v < size / 2 ? v : v - size;
    for (let u = 0; u < size; u++) {
      const fu = u < size / 2 ? u : u - size;
      const radius = Math.sqrt(fu * fu + fv * fv);
      floor[v * size + u] = Math.floor(radius);
      ceil[v * size + u] = Math.ceil(radius);
    }
  }
  // numpy.hanning(size): 0.5 - 0.5 cos(2 pi n / (size - 1)), zero at both ends, as sFRC uses.
  const hann = new Float64Array(size);
  for (let n = 0; n < size; n++) hann[n] = 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / (size - 1));
  const window = new Float64Array(size * size);
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) window[y * size + x] = hann[y]! * hann[x]!;
  const geometry: RingGeometry = { size, rings: size / 2, floor, ceil, window };
  geometries.set(size, geometry);
  return geometry;
}

/** Ring sums of one patch pair; each array has `rings` entries. */
export interface RingSpectra {
  /** Re(T · conj(R)): the power the two patches share. */
  readonly cross: Float64Array;
  /** |T|², |R|². */
  readonly testPower: Float64Array;
  readonly referencePower: Float64Array;
  /** |T − R|²: the power of their difference. */
  readonly differencePower: Float64Array;
}

/** Reusable work buffers for patchSpectra (one per caller; not thread-shared). */
export class FrcScratch {
  readonly testRe: Float64Array;
  readonly testIm: Float64Array;
  readonly refRe: Float64Array;
  readonly refIm: Float64Array;

  constructor(readonly size: number) {
    this.testRe = new Float64Array(size * size);
    this.testIm = new Float64Array(size * size);
    this.refRe = new Float64Array(size * size);
    this.refIm = new Float64Array(size * size);
  }
}

/**
 * The ring spectra of the size x size patches at (row0, col0) of two row-major images of width
 * `columns`. Each patch has its own mean removed before the window, so the zero-frequency ring
 * holds only what the window leaks. Pixels marked in `padding` (not image) are set to the mean of
 * the patch's other pixels in both images, so the fill value's edge is not taken for structure.
 */
export function patchSpectra(
  test: ArrayLike<number>,
  reference: ArrayLike<number>,
  columns: number,
  row0: number,
  col0: number,
  geometry: RingGeometry,
  scratch: FrcScratch = new FrcScratch(geometry.size),
  padding: ArrayLike<number> | null = null,
): RingSpectra {
  const { size, window } = geometry;
  loadPatch(test, columns, row0, col0, size, window, scratch.testRe, scratch.testIm, padding);
  loadPatch(reference, columns, row0, col0, size, window, scratch.refRe, scratch.refIm, padding);
  fft2d(scratch.testRe, scratch.testIm, size, size);
  fft2d(scratch.refRe, scratch.refIm, size, size);
  const n = geometry.rings;
  const cross = new Float64Array(n);
  const testPower = new Float64Array(n);
  const referencePower = new Float64Array(n);
  const differencePower = new Float64Array(n);
  const { testRe: tr, testIm: ti, refRe: rr, refIm: ri } = scratch;
  for (let k = 0; k < size * size; k++) {
    const a = tr[k]!;
    const b = ti[k]!;
    const c = rr[k]!;
    const d = ri[k]!;
    const crossK = a * c + b * d;
    const testK = a * a + b * b;
    const refK = c * c + d * d;
    const diffK = (a - c) * (a - c) + (b - d) * (b - d);
    // spinavej: half from the floor ring, half from the ceil ring.
    for (const ring of [geometry.floor[k]!, geometry.ceil[k]!]) {
      if (ring >= n) continue;
      cross[ring] = cross[ring]! + crossK / 2;
      testPower[ring] = testPower[ring]! + testK / 2;
      referencePower[ring] = referencePower[ring]! + refK / 2;
      differencePower[ring] = differencePower[ring]! + diffK / 2;
    }
  }
  return { cross, testPower, referencePower, differencePower };
}

function loadPatch(
  image: ArrayLike<number>,
  columns: number,
  row0: number,
  col0: number,
  size: number,
  window: Float64Array,
  re: Float64Array,
  im: Float64Array,
  padding: ArrayLike<number> | null,
): void {
  let sum = 0;
  let count = 0;
  for (let y = 0; y < size; y++) {
    const base = (row0 + y) * columns + col0;
    for (let x = 0; x < size; x++) {
      if (padding && padding[base + x]) continue;
      sum += image[base + x]!;
      count++;
    }
  }
  const mean = count > 0 ? sum / count : 0;
  for (let y = 0; y < size; y++) {
    const base = (row0 + y) * columns + col0;
    for (let x = 0; x < size; x++) {
      const v = padding && padding[base + x] ? mean : image[base + x]!;
      re[y * size + x] = (v - mean) * window[y * size + x]!;
      im[y * size + x] = 0;
    }
  }
}

/**
 * The plain FRC curve, cross / sqrt(|T|² |R|²) per ring, signed: an inverted structure correlates
 * negatively and counts as disagreement (sFRC takes |cross|). Rings where either patch has no
 * power read 0.
 */
export function frcCurve(spectra: RingSpectra): Float64Array {
  const n = spectra.cross.length;
  const out = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    const denominator = Math.sqrt(spectra.testPower[r]! * spectra.referencePower[r]!);
    out[r] = denominator > 0 ? spectra.cross[r]! / denominator : 0;
  }
  return out;
}
