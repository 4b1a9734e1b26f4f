/**
 * Complex FFTs of any length, 1-D and 2-D, in Float64, for NPS and MTF in metrics and for filters
 * (FBP ramp filtering) in the simulator.
 *
 * Power-of-two lengths go straight to fft.js (radix-4, well tested); other lengths use Bluestein's
 * chirp-z algorithm on top of it, so every length costs O(n log n). Data are split real / imaginary
 * Float64Arrays, transformed in place. The forward transform is unscaled,
 * X[k] = sum_n x[n] exp(-2 pi i k n / N); the inverse divides by N (numpy's convention).
 */
import FFTJS from 'fft.js';

export function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

export function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** A reusable transform plan for one length (tables and scratch are allocated once). */
export class Fft {
  readonly size: number;
  private readonly radix: FFTJS | null;
  private readonly bluestein: Bluestein | null;
  private readonly input: Float64Array;
  private readonly output: Float64Array;

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`FFT size must be a positive integer, got ${size}`);
    this.size = size;
    this.radix = size >= 2 && isPowerOfTwo(size) ? new FFTJS(size) : null;
    this.bluestein = size >= 2 && !isPowerOfTwo(size) ? new Bluestein(size) : null;
    this.input = new Float64Array(2 * size);
    this.output = new Float64Array(2 * size);
  }

  /** In-place forward transform of (re, im), each of length `size`. */
  forward(re: Float64Array, im: Float64Array): void {
    this.run(re, im, false);
  }

  /** In-place inverse transform, scaled by 1/size. */
  inverse(re: Float64Array, im: Float64Array): void {
    this.run(re, im, true);
  }

  private run(re: Float64Array, im: Float64Array, inverse: boolean): void {
    const n = this.size;
    if (re.length !== n || im.length !== n) {
      throw new RangeError(`FFT of size ${n} given arrays of length ${re.length} and ${im.length}`);
    }
    if (n === 1) return;
    if (this.bluestein) {
      this.bluestein.run(re, im, inverse);
      return;
    }
    const a = this.input;
    const b = this.output;
    for (let i = 0; i < n; i++) {
      a[2 * i] = re[i]!;
      a[2 * i + 1] = im[i]!;
    }
    if (inverse) this.radix!.inverseTransform(b, a);
    else this.radix!.transform(b, a);
    for (let i = 0; i < n; i++) {
      re[i] = b[2 * i]!;
      im[i] = b[2 * i + 1]!;
    }
  }
}

/**
 * Bluestein: with nk = (k^2 + n^2 - (k - n)^2) / 2, a length-n DFT becomes a convolution with the
 * chirp w[m] = exp(i pi m^2 / n), done as a cyclic convolution of power-of-two length >= 2n - 1.
 */
class Bluestein {
  private readonly n: number;
  private readonly m: number;
  private readonly inner: Fft;
  /** exp(-i pi k^2 / n), k = 0..n-1. */
  private readonly chirpRe: Float64Array;
  private readonly chirpIm: Float64Array;
  /** FFT of the conjugate chirp laid out cyclically over length m. */
  private readonly kernelRe: Float64Array;
  private readonly kernelIm: Float64Array;
  private readonly workRe: Float64Array;
  private readonly workIm: Float64Array;

  constructor(n: number) {
    this.n = n;
    this.m = nextPowerOfTwo(2 * n - 1);
    this.inner = new Fft(this.m);
    this.chirpRe = new Float64Array(n);
    this.chirpIm = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      // k^2 mod 2n keeps the angle small so large n loses no precision.
      const angle = (Math.PI * ((k * k) % (2 * n))) / n;
      this.chirpRe[k] = Math.cos(angle);
      this.chirpIm[k] = -Math.sin(angle);
    }
    this.kernelRe = new Float64Array(this.m);
    this.kernelIm = new Float64Array(this.m);
    this.kernelRe[0] = 1;
    for (let k = 1; k < n; k++) {
      this.kernelRe[k] = this.kernelRe[this.m - k] = this.chirpRe[k]!;
      this.kernelIm[k] = this.kernelIm[this.m - k] = -this.chirpIm[k]!;
    }
    this.inner.forward(this.kernelRe, this.kernelIm);
    this.workRe = new Float64Array(this.m);
    this.workIm = new Float64Array(this.m);
  }

  run(re: Float64Array, im: Float64Array, inverse: boolean): void {
    const { n, m, chirpRe, chirpIm, workRe, workIm, kernelRe, kernelIm } = this;
    // The inverse DFT is the forward DFT of the conjugate, conjugated and scaled.
    const sign = inverse ? -1 : 1;
    workRe.fill(0);
    workIm.fill(0);
    for (let k = 0; k < n; k++) {
      const xr = re[k]!;
      const xi = sign * im[k]!;
      workRe[k] = xr * chirpRe[k]! - xi * chirpIm[k]!;
      workIm[k] = xr * chirpIm[k]! + xi * chirpRe[k]!;
    }
    this.inner.forward(workRe, workIm);
    for (let k = 0; k < m; k++) {
      const ar = workRe[k]!;
      const ai = workIm[k]!;
      workRe[k] = ar * kernelRe[k]! - ai * kernelIm[k]!;
      workIm[k] = ar * kernelIm[k]! + ai * kernelRe[k]!;
    }
    this.inner.inverse(workRe, workIm);
    const scale = inverse ? 1 / n : 1;
    for (let k = 0; k < n; k++) {
      const ar = workRe[k]!;
      const ai = workIm[k]!;
      re[k] = scale * (ar * chirpRe[k]! - ai * chirpIm[k]!);
      im[k] = scale * sign * (ar * chirpIm[k]! + ai * chirpRe[k]!);
    }
  }
}

const plans = new Map<number, Fft>();

/** A cached plan per size: transforms of one size are usually repeated many times. */
export function fftPlan(size: number): Fft {
  let plan = plans.get(size);
  if (!plan) {
    plan = new Fft(size);
    plans.set(size, plan);
  }
  return plan;
}

/** In-place 1-D forward FFT of any length. */
export function fft(re: Float64Array, im: Float64Array): void {
  fftPlan(re.length).forward(re, im);
}

/** In-place 1-D inverse FFT of any length, scaled by 1/N. */
export function ifft(re: Float64Array, im: Float64Array): void {
  fftPlan(re.length).inverse(re, im);
}

/**
 * In-place 2-D FFT of a row-major rows x columns array (rows then columns, any sizes).
 * `inverse` scales by 1/(rows * columns).
 */
export function fft2d(re: Float64Array, im: Float64Array, rows: number, columns: number, inverse = false): void {
  if (re.length !== rows * columns || im.length !== rows * columns) {
    throw new RangeError(`fft2d: arrays of length ${re.length}, ${im.length} for ${rows}x${columns}`);
  }
  const rowPlan = fftPlan(columns);
  const rowRe = new Float64Array(columns);
  const rowIm = new Float64Array(columns);
  for (let r = 0; r < rows; r++) {
    const offset = r * columns;
    rowRe.set(re.subarray(offset, offset + columns));
    rowIm.set(im.subarray(offset, offset + columns));
    if (inverse) rowPlan.inverse(rowRe, rowIm);
    else rowPlan.forward(rowRe, rowIm);
    re.set(rowRe, offset);
    im.set(rowIm, offset);
  }
  const columnPlan = fftPlan(rows);
  const colRe = new Float64Array(rows);
  const colIm = new Float64Array(rows);
  for (let c = 0; c < columns; c++) {
    for (let r = 0; r < rows; r++) {
      colRe[r] = re[r * columns + c]!;
      colIm[r] = im[r * columns + c]!;
    }
    if (inverse) columnPlan.inverse(colRe, colIm);
    else columnPlan.forward(colRe, colIm);
    for (let r = 0; r < rows; r++) {
      re[r * columns + c] = colRe[r]!;
      im[r * columns + c] = colIm[r]!;
    }
  }
}

/**
 * The frequency of each FFT bin in cycles per unit of `spacing` (numpy's fftfreq): 0, 1/(N d), ...,
 * then the negative frequencies.
 */
export function fftFrequencies(n: number, spacing = 1): Float64Array {
  const out = new Float64Array(n);
  for (let k = 0; k < n; k++) out[k] = (k < Math.ceil(n / 2) ? k : k - n) / (n * spacing);
  return out;
}
