/**
 * Re-renders a reconstructed CT slice as if its rays had been reconstructed with another FBP kernel.
 *
 * FBP is linear and, near the isocentre, shift-invariant: an image reconstructed with kernel A has
 * the object's spectrum times A's window gain W_A(f) (the ramp and the interpolation blur are the
 * same for every kernel), so the image kernel B would have given from the same rays is the A image
 * times W_B(f) / W_A(f). Noise and anatomy are converted alike, so a low- / full-dose pair
 * converted with one gain stays an exact pair (low = full + noise, the noise now with B's texture).
 *
 * What this cannot do: frequencies kernel A suppressed are not in the A image. Where W_A has fallen
 * below W_B / maxGain the gain is held at maxGain, so B's finest detail and the corners of its noise
 * spectrum are not recovered. A real scanner's kernel is also not exactly the simulator's window
 * (a vendor kernel may add edge enhancement or adaptive processing), so a converted image is the
 * simulator's idea of B, not a B scan.
 */
import { LowdoseError } from '../errors.js';
import type { Image2D } from '../image.js';
import { fft2d, fftFrequencies, nextPowerOfTwo } from '../util/fft.js';
import { isocenterRaySpacing, resolveFanBeam, type FanBeamGeometry } from './ct-geometry.js';
import { CT_PADDING_BELOW_HU } from './ct.js';
import { resolveKernel, windowGain, type KernelSpec, type ReconKernel } from './filters.js';

export interface KernelConversionOptions {
  /** Scanner geometry: sets the rays' Nyquist frequency the kernels' cutoffs refer to (default geometry). */
  readonly geometry?: Partial<FanBeamGeometry>;
  /** Largest gain applied at any frequency (default 10): beyond it the source holds too little of the object. */
  readonly maxGain?: number;
}

/** Value outside the image while filtering: air, so the body edge is the only edge the filter sees. */
const AIR_HU = -1000;
/** Margin (pixels) of air around the image before the FFT, so the circular convolution does not wrap. */
const MARGIN = 32;

/** The gain W_to / W_from at spatial frequency f (cycles/mm; `nyquist`: the rays'), capped at maxGain. */
export function kernelConversionGain(from: ReconKernel, to: ReconKernel, f: number, nyquist: number, maxGain: number): number {
  const gainOf = (k: ReconKernel) => windowGain(k.window, f / (k.cutoff * nyquist), k.order);
  const target = gainOf(to);
  const source = gainOf(from);
  // Where neither kernel passes anything, what the image holds there is not the source kernel's
  // (aliasing, a vendor kernel's own shape): left as it is.
  if (target <= 0) return source <= 0 ? 1 : 0;
  return source * maxGain <= target ? maxGain : target / source;
}

/**
 * The slice re-rendered from kernel `from` to kernel `to` (see the module comment). Padding pixels
 * (the image's mask, or values below CT_PADDING_BELOW_HU) are air while filtering and keep their
 * stored values.
 */
export function convertCtKernel(image: Image2D, from: KernelSpec, to: KernelSpec, options: KernelConversionOptions = {}): Image2D {
  const maxGain = options.maxGain ?? 10;
  if (!(maxGain >= 1 && Number.isFinite(maxGain))) throw new LowdoseError('E_USAGE', `maxGain must be a finite number >= 1, got ${maxGain}`);
  const source = resolveKernel(from);
  const target = resolveKernel(to);
  const { rows, columns, data, pixelSpacing } = image;
  const [dy, dx] = pixelSpacing;
  if (!(dx > 0 && dy > 0)) throw new LowdoseError('E_USAGE', `pixel spacing must be positive, got ${dy}, ${dx}`);
  // The rebinned rays are half the isocentre ray spacing apart (quarter-detector offset, ./fbp.ts).
  const nyquist = 1 / isocenterRaySpacing(resolveFanBeam(options.geometry));
  const isPadding = (p: number) => (image.padding ? image.padding[p] === 1 : false) || data[p]! < CT_PADDING_BELOW_HU;
  const R = nextPowerOfTwo(rows + 2 * MARGIN);
  const C = nextPowerOfTwo(columns + 2 * MARGIN);
  const re = new Float64Array(R * C);
  const im = new Float64Array(R * C);
  // Filter the difference from air: the zero-filled margin is then air too.
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < columns; j++) {
      const p = i * columns + j;
      re[(i + MARGIN) * C + j + MARGIN] = isPadding(p) ? 0 : data[p]! - AIR_HU;
    }
  }
  fft2d(re, im, R, C);
  const fy = fftFrequencies(R, dy);
  const fx = fftFrequencies(C, dx);
  for (let u = 0; u < R; u++) {
    for (let v = 0; v < C; v++) {
      const g = kernelConversionGain(source, target, Math.hypot(fy[u]!, fx[v]!), nyquist, maxGain);
      re[u * C + v]! *= g;
      im[u * C + v]! *= g;
    }
  }
  fft2d(re, im, R, C, true);
  const out = new Float32Array(rows * columns);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < columns; j++) {
      const p = i * columns + j;
      out[p] = isPadding(p) ? data[p]! : re[(i + MARGIN) * C + j + MARGIN]! + AIR_HU;
    }
  }
  return { rows, columns, pixelSpacing, data: out, ...(image.padding !== undefined ? { padding: image.padding } : {}) };
}
