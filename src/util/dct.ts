/**
 * 2-D DCT-II and its inverse in Float64, for filtering an image as if it were mirrored about each
 * edge: multiplying the DCT-II by a gain H(kx / 2C, ky / 2R) that is even in each frequency and
 * inverting is exactly the circular FFT filter of the image extended by half-sample mirrors to
 * 2R x 2C (each edge pixel repeated, then the image reversed), at the cost of R x C transforms and
 * without the extension's memory. So a filter shorter than the image never wraps one edge onto the
 * other: each edge sees its own mirror.
 *
 * Each 1-D transform of length N is one complex FFT of length N (Makhoul's reordering: even samples
 * forward, odd samples backward), two real lines packed as the real and imaginary parts of one
 * transform. Lengths that are not powers of two go through ./fft.ts's Bluestein path.
 *
 * Convention (unnormalised, scipy's dct type 2 without norm): X[k] = 2 sum_n x[n] cos(pi k (2n + 1) / 2N),
 * which is e^(-i pi k / 2N) times the length-2N DFT of the mirrored line; idct2d inverts dct2d exactly.
 */
import { fftPlan, type Fft } from './fft.js';

/** In-place 2-D DCT-II of a row-major rows x columns array (rows, then columns). */
export function dct2d(values: Float64Array, rows: number, columns: number): void {
  transformLines(values, rows, columns, false);
}

/** In-place inverse of dct2d (a DCT-III scaled by 1 / (4 rows columns)). */
export function idct2d(values: Float64Array, rows: number, columns: number): void {
  transformLines(values, rows, columns, true);
}

function transformLines(values: Float64Array, rows: number, columns: number, inverse: boolean): void {
  if (!(Number.isInteger(rows) && Number.isInteger(columns) && rows > 0 && columns > 0) || values.length !== rows * columns) {
    throw new RangeError(`dct2d: ${values.length} values for ${rows}x${columns}`);
  }
  // Along each row (stride 1, lines `columns` apart), then along each column (stride `columns`).
  new LineDct(columns).run(values, rows, columns, 1, inverse);
  new LineDct(rows).run(values, columns, 1, columns, inverse);
}

/** 1-D DCT-II / inverse of length n over many lines of an array, two lines per complex FFT. */
class LineDct {
  private readonly n: number;
  private readonly plan: Fft;
  /** cos and sin of pi k / 2n, k = 0..n-1. */
  private readonly cos: Float64Array;
  private readonly sin: Float64Array;
  private readonly re: Float64Array;
  private readonly im: Float64Array;

  constructor(n: number) {
    this.n = n;
    this.plan = fftPlan(n);
    this.cos = Float64Array.from({ length: n }, (_, k) => Math.cos((Math.PI * k) / (2 * n)));
    this.sin = Float64Array.from({ length: n }, (_, k) => Math.sin((Math.PI * k) / (2 * n)));
    this.re = new Float64Array(n);
    this.im = new Float64Array(n);
  }

  /** Transforms `lines` lines of length n: line l's sample i is values[l * lineStep + i * stride]. */
  run(values: Float64Array, lines: number, lineStep: number, stride: number, inverse: boolean): void {
    for (let l = 0; l < lines; l += 2) {
      const a = l * lineStep;
      const b = l + 1 < lines ? a + lineStep : -1;
      if (inverse) this.inversePair(values, a, b, stride);
      else this.forwardPair(values, a, b, stride);
    }
  }

  /** DCT-II of the lines at offsets a and b (b < 0: none) via one FFT of v_a + i v_b. */
  private forwardPair(values: Float64Array, a: number, b: number, stride: number): void {
    const { n, re, im, cos, sin } = this;
    const half = (n + 1) >> 1;
    for (let m = 0; m < n; m++) {
      // v[m] = x[2m] for the first half, x[2n - 1 - 2m] for the rest.
      const src = (m < half ? 2 * m : 2 * n - 1 - 2 * m) * stride;
      re[m] = values[a + src]!;
      im[m] = b >= 0 ? values[b + src]! : 0;
    }
    this.plan.forward(re, im);
    for (let k = 0; k < n; k++) {
      // Split Z = V_a + i V_b by V(n - k) = conj(V(k)), then X[k] = 2 Re(e^(-i pi k / 2n) V[k]).
      const j = k === 0 ? 0 : n - k;
      const aRe = (re[k]! + re[j]!) / 2;
      const aIm = (im[k]! - im[j]!) / 2;
      const bRe = (im[k]! + im[j]!) / 2;
      const bIm = (re[j]! - re[k]!) / 2;
      values[a + k * stride] = 2 * (aRe * cos[k]! + aIm * sin[k]!);
      if (b >= 0) values[b + k * stride] = 2 * (bRe * cos[k]! + bIm * sin[k]!);
    }
  }

  /** Inverse of forwardPair: V[k] = e^(i pi k / 2n) (X[k] - i X[n - k]) / 2 (X[n] = 0), one inverse FFT for both lines. */
  private inversePair(values: Float64Array, a: number, b: number, stride: number): void {
    const { n, re, im, cos, sin } = this;
    for (let k = 0; k < n; k++) {
      const xa = values[a + k * stride]!;
      const ya = k === 0 ? 0 : values[a + (n - k) * stride]!;
      const xb = b >= 0 ? values[b + k * stride]! : 0;
      const yb = b >= 0 && k > 0 ? values[b + (n - k) * stride]! : 0;
      // (x - i y) e^(i theta) / 2 for each line; line b goes in as i times its spectrum.
      const vaRe = (xa * cos[k]! + ya * sin[k]!) / 2;
      const vaIm = (xa * sin[k]! - ya * cos[k]!) / 2;
      const vbRe = (xb * cos[k]! + yb * sin[k]!) / 2;
      const vbIm = (xb * sin[k]! - yb * cos[k]!) / 2;
      re[k] = vaRe - vbIm;
      im[k] = vaIm + vbRe;
    }
    this.plan.inverse(re, im);
    const half = (n + 1) >> 1;
    for (let m = 0; m < n; m++) {
      const dst = (m < half ? 2 * m : 2 * n - 1 - 2 * m) * stride;
      values[a + dst] = re[m]!;
      if (b >= 0) values[b + dst] = im[m]!;
    }
  }
}
