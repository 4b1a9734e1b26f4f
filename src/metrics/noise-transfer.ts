/**
 * The noise of a denoised output without anatomy in it, measured on a paired low- / full-dose
 * acquisition: how much of its input's noise an output keeps at each spatial frequency, and the
 * output's noise power spectrum against the full dose's.
 *
 * With x_q = A + n_f + e (low dose), x_f = A + n_f (full dose of the same acquisition) and
 * e = x_q - x_f the extra noise, independent of the anatomy A and of the full dose's noise n_f, an
 * output O(x_q) that is locally linear in its input's noise keeps the share T(f) of it; its
 * residual r = x_q - O holds (1 - T)(n_f + e) plus whatever anatomy it changed, both independent
 * of e. So, pooled over square ROIs in soft tissue (radial bins of the 2-D spectra),
 *
 *   T(f)        = 1 - Re<R E*> / <|E|^2>        the amplitude share of the input's noise kept
 *   NPS_test(f) = T(f)^2 (1 + kappa) S_ee(f)     the output's noise that follows its input's noise
 *   NPS_full(f) = kappa S_ee(f)                  the full dose's own noise
 *
 * with kappa = var(n_f) / var(e), the ratio of the full dose's and the extra noise's spectra above
 * 0.6 x Nyquist in flat soft-tissue ROIs (flatRois), where anatomy has no power; that needs n_f
 * and e to share their NPS shape (the low dose made by noise insertion of the same kernel, or a
 * sub-sampled acquisition). An output that is a function of x_q alone responds to n_f as to e, so
 * e probes all of its input's noise.
 *
 * Assumptions and what is left out: the extra noise must be additive and independent of the
 * anatomy and of n_f (true for CT noise insertion and dose-split acquisitions; not for PET count
 * thinning, whose noise scales with the activity). Output noise that does not follow the input's
 * noise linearly (a generative model's own sampling noise, hallucinated texture) is not in T,
 * so NPS_test is a lower bound of the output's noise. An output that is not a function of the low
 * dose alone is outside the model: the full dose itself, as an output, reads T = 0 (its residual is
 * e exactly), though it holds the noise n_f, which e cannot see.
 *
 * Checked (scripts/experiments/texture-mayo-coherent.ts) against a Gaussian of known transfer and,
 * for the shipped model, against a direct measure with a second noise realisation.
 */
import { fft2d } from '../util/fft.js';
import { detrendInPlace, type Detrend } from './detrend.js';
import { noisePowerSpectrum, smoothedRadialPeak, type RoiCorner } from './nps.js';
import { flatRois, FLAT_ROI_SIZE, softTissueTiles } from './soft-tissue-rois.js';

/** `flat`: FLAT_ROI_SIZE px flat soft-tissue ROIs; `soft-tissue`: larger tiles wholly in soft tissue, organ edges included. */
export const NOISE_ROI_KINDS = ['soft-tissue', 'flat'] as const;
export type NoiseRoiKind = (typeof NOISE_ROI_KINDS)[number];
export const NOISE_WINDOWS = ['none', 'hann'] as const;
export type NoiseWindow = (typeof NOISE_WINDOWS)[number];

/** Above this share of the Nyquist frequency the flat ROIs' spectra hold noise alone (anatomy has no power there). */
export const NOISE_ONLY_FROM = 0.6;

export interface NoiseTransferOptions {
  /** [row, column] spacing in mm of every slice. */
  readonly pixelSpacing: readonly [number, number];
  /** Default `soft-tissue`. */
  readonly rois?: NoiseRoiKind;
  /** Tile edge for `soft-tissue`, a power of two >= 16 (default 64); `flat` is always FLAT_ROI_SIZE. */
  readonly tileSize?: number;
  /** Trend taken off each ROI before its spectrum (default `poly2`, QA's and ICRU 87's). */
  readonly detrend?: Detrend;
  /** `hann` tapers each ROI (Welch's method), weighting its centre; default `none`. */
  readonly window?: NoiseWindow;
}

/** One slice position of the three series, row-major values in HU. */
export interface NoiseTransferSlice {
  /** The low dose (the outputs' input). */
  readonly input: ArrayLike<number>;
  /** The full dose of the same acquisition, on which the ROIs are picked. */
  readonly reference: ArrayLike<number>;
  /** The outputs measured, each computed from `input`. */
  readonly outputs: readonly ArrayLike<number>[];
}

export interface OutputNoise {
  /** T per radial bin (NaN at zero frequency and in empty bins). */
  readonly transfer: Float64Array;
  /** The output's noise-only NPS per bin, units^2 mm^2 (NaN at zero frequency). */
  readonly nps: Float64Array;
  /** Its QA peak (smoothedRadialPeak), cycles/mm. */
  readonly peakCyclesPerMm: number;
  /** Noise SD over the bins (zero frequency excluded) over the full dose's: sqrt(sum NPS_test / sum NPS_full). */
  readonly sdRatio: number;
  /** Noise SD in units, the NPS integrated over the bins (zero frequency and the corners beyond Nyquist excluded). */
  readonly sd: number;
}

export interface NoiseTransferResult {
  readonly rois: NoiseRoiKind;
  readonly roiSize: number;
  readonly detrend: Detrend;
  readonly window: NoiseWindow;
  /** ROIs pooled for T and the spectra, over all slices. */
  readonly roiCount: number;
  /** Flat ROIs kappa was measured in. */
  readonly kappaRoiCount: number;
  readonly slices: number;
  /** var(n_f) / var(e). */
  readonly kappa: number;
  /** The share of the input's noise a full-dose scan holds, sqrt(kappa / (1 + kappa)), at every frequency. */
  readonly fullDoseTransfer: number;
  /** Bin centres, cycles/mm (bin b: b / (roiSize x column spacing)), 0 to Nyquist. */
  readonly frequency: Float64Array;
  /** The extra noise's NPS S_ee per bin (NaN at zero frequency). */
  readonly extraNps: Float64Array;
  readonly reference: { readonly nps: Float64Array; readonly peakCyclesPerMm: number; readonly sd: number };
  readonly outputs: OutputNoise[];
}

/**
 * Accumulates the pooled spectra one slice position at a time (a long series streams through),
 * then gives T, kappa and the noise-only spectra.
 */
export class NoiseTransfer {
  private readonly kind: NoiseRoiKind;
  private readonly size: number;
  private readonly bins: number;
  private readonly detrend: Detrend;
  private readonly window: Float64Array | null;
  private readonly ee: Float64Array;
  private readonly count: Float64Array;
  private readonly re: Float64Array[];
  private roiCount = 0;
  private slices = 0;
  // kappa, as the flat-ROI NPS pooled over slices (each slice's radial NPS weighted by its ROI count).
  private kappaFull: Float64Array | null = null;
  private kappaExtra: Float64Array | null = null;
  private kappaFrequency: Float64Array | null = null;
  private kappaRois = 0;

  constructor(
    readonly rows: number,
    readonly columns: number,
    readonly outputCount: number,
    private readonly options: NoiseTransferOptions,
  ) {
    this.kind = options.rois ?? 'soft-tissue';
    this.size = this.kind === 'flat' ? FLAT_ROI_SIZE : (options.tileSize ?? 64);
    if (!(this.size >= 16 && (this.size & (this.size - 1)) === 0)) throw new RangeError(`noise ROI size must be a power of two >= 16, got ${this.size}`);
    if (!(outputCount >= 1)) throw new RangeError('the noise transfer needs at least one output');
    this.bins = this.size / 2 + 1;
    this.detrend = options.detrend ?? 'poly2';
    this.window = (options.window ?? 'none') === 'hann' ? hann2d(this.size) : null;
    this.ee = new Float64Array(this.bins);
    this.count = new Float64Array(this.bins);
    this.re = Array.from({ length: outputCount }, () => new Float64Array(this.bins));
  }

  /** Adds one slice position; returns the number of ROIs it gave. */
  add(slice: NoiseTransferSlice): number {
    const { rows, columns, size } = this;
    const n = rows * columns;
    if (slice.input.length !== n || slice.reference.length !== n || slice.outputs.some((o) => o.length !== n)) {
      throw new RangeError(`noise transfer slices must all be ${rows}x${columns}`);
    }
    if (slice.outputs.length !== this.outputCount) throw new RangeError(`expected ${this.outputCount} output(s), got ${slice.outputs.length}`);
    this.slices++;
    const reference = { rows, columns, data: slice.reference };
    const flat = flatRois(reference);
    this.addKappa(slice, flat);
    const corners = this.kind === 'flat' ? flat : softTissueTiles(reference, size);
    const { input, outputs } = slice;
    for (const { row, col } of corners) {
      this.roiCount++;
      const e = this.spectrum(row, col, (k) => input[k]! - slice.reference[k]!);
      const residuals = outputs.map((o) => this.spectrum(row, col, (k) => input[k]! - o[k]!));
      for (let q = 0; q < size * size; q++) {
        const b = radialBin(q, size);
        if (b < 0) continue;
        this.count[b]!++;
        this.ee[b]! += e.re[q]! ** 2 + e.im[q]! ** 2;
        residuals.forEach((r, i) => (this.re[i]![b]! += r.re[q]! * e.re[q]! + r.im[q]! * e.im[q]!));
      }
    }
    return corners.length;
  }

  /** The detrended (and tapered) ROI of `value(k)`, k the pixel index in the slice, and its FFT. */
  private spectrum(row: number, col: number, value: (k: number) => number): { re: Float64Array; im: Float64Array } {
    return roiSpectrum(this.columns, row, col, this.size, value, this.detrend, this.window);
  }

  private addKappa(slice: NoiseTransferSlice, rois: readonly RoiCorner[]): void {
    if (rois.length === 0) return;
    const { rows, columns } = this;
    const pixelSpacing = this.options.pixelSpacing as [number, number];
    const spectrum = (data: Float32Array) => noisePowerSpectrum({ rows, columns, data, pixelSpacing }, { roiSize: FLAT_ROI_SIZE, rois, detrend: 'poly2' });
    const full = spectrum(Float32Array.from(slice.reference));
    const extra = spectrum(Float32Array.from(slice.input, (v, j) => v - slice.reference[j]!));
    this.kappaFrequency ??= full.radial.frequency;
    this.kappaFull ??= new Float64Array(full.radial.nps.length);
    this.kappaExtra ??= new Float64Array(extra.radial.nps.length);
    for (let k = 0; k < this.kappaFull.length; k++) {
      this.kappaFull[k]! += full.roiCount * (Number.isNaN(full.radial.nps[k]!) ? 0 : full.radial.nps[k]!);
      this.kappaExtra[k]! += extra.roiCount * (Number.isNaN(extra.radial.nps[k]!) ? 0 : extra.radial.nps[k]!);
    }
    this.kappaRois += full.roiCount;
  }

  result(): NoiseTransferResult {
    const { bins, size, ee, count } = this;
    if (!this.kappaFull || !this.kappaExtra || !this.kappaFrequency) throw new RangeError('no flat soft-tissue ROI in any full-dose slice: kappa cannot be measured');
    if (this.roiCount === 0) throw new RangeError(`no ${this.kind} ROI of ${size} px in any full-dose slice`);
    const kappa = noiseOnlyRatio(
      this.kappaFrequency,
      Float64Array.from(this.kappaFull, (v) => v / this.kappaRois),
      Float64Array.from(this.kappaExtra, (v) => v / this.kappaRois),
    );
    const [dy, dx] = this.options.pixelSpacing;
    const frequency = Float64Array.from({ length: bins }, (_, b) => b / size / dx);
    // |FFT|^2 dx dy / N^2 per 2-D sample (ICRU 87's NPS, units^2 mm^2), averaged over the annulus.
    const norm = (dy * dx) / (size * size);
    const meanNps = (annulus: (b: number) => number) => Float64Array.from({ length: bins }, (_, b) => (b === 0 || count[b] === 0 ? NaN : (norm * annulus(b)) / count[b]!));
    const sumOver = (annulus: (b: number) => number) => {
      let total = 0;
      for (let b = 1; b < bins; b++) total += annulus(b);
      return total;
    };
    // Parseval: a ROI's variance is sum |FFT|^2 / N^4 over its N^2 samples; pooled, per ROI.
    const sdOf = (annulus: (b: number) => number) => Math.sqrt(sumOver(annulus) / size ** 4 / this.roiCount);
    const fullAnnulus = (b: number) => kappa * ee[b]!;
    const fullNps = meanNps(fullAnnulus);
    const fullVariance = sumOver(fullAnnulus);
    const outputs = this.re.map((re): OutputNoise => {
      const transfer = Float64Array.from({ length: bins }, (_, b) => (b === 0 || count[b] === 0 ? NaN : 1 - re[b]! / ee[b]!));
      const annulus = (b: number) => transfer[b]! ** 2 * (1 + kappa) * ee[b]!;
      const nps = meanNps(annulus);
      return {
        transfer,
        nps,
        peakCyclesPerMm: smoothedRadialPeak(frequency, nps),
        sdRatio: Math.sqrt(sumOver(annulus) / fullVariance),
        sd: sdOf(annulus),
      };
    });
    return {
      rois: this.kind,
      roiSize: size,
      detrend: this.detrend,
      window: this.window ? 'hann' : 'none',
      roiCount: this.roiCount,
      kappaRoiCount: this.kappaRois,
      slices: this.slices,
      kappa,
      fullDoseTransfer: Math.sqrt(kappa / (1 + kappa)),
      frequency,
      extraNps: meanNps((b) => ee[b]!),
      reference: { nps: fullNps, peakCyclesPerMm: smoothedRadialPeak(frequency, fullNps), sd: sdOf(fullAnnulus) },
      outputs,
    };
  }
}

/**
 * kappa = var(n_f) / var(e) from the radial NPS of the full dose and of the extra noise (low minus
 * full dose) over the same flat ROIs: the ratio of their sums above NOISE_ONLY_FROM x Nyquist (the
 * last bin), where the full dose's spectrum is its noise alone.
 */
export function noiseOnlyRatio(frequency: ArrayLike<number>, fullNps: ArrayLike<number>, extraNps: ArrayLike<number>): number {
  const nyquist = frequency[frequency.length - 1]!;
  let a = 0;
  let b = 0;
  for (let k = 0; k < frequency.length; k++) {
    if (frequency[k]! < NOISE_ONLY_FROM * nyquist) continue;
    a += fullNps[k]! || 0;
    b += extraNps[k]! || 0;
  }
  return a / b;
}

/** The detrended ROI of `size` px at (row, col) of value(k), k the pixel index in a slice `columns` wide, optionally tapered, and its FFT. */
export function roiSpectrum(
  columns: number,
  row: number,
  col: number,
  size: number,
  value: (k: number) => number,
  detrend: Detrend,
  window: Float64Array | null = null,
): { re: Float64Array; im: Float64Array } {
  const re = new Float64Array(size * size);
  const im = new Float64Array(size * size);
  for (let i = 0; i < size; i++) for (let j = 0; j < size; j++) re[i * size + j] = value((row + i) * columns + col + j);
  detrendInPlace(re, size, size, detrend);
  if (window) for (let q = 0; q < size * size; q++) re[q]! *= window[q]!;
  fft2d(re, im, size, size);
  return { re, im };
}

/** The radial bin (rounded |f| in frequency steps) of unshifted FFT sample q of a size x size ROI; -1 beyond Nyquist. */
export function radialBin(q: number, size: number): number {
  const i = Math.floor(q / size);
  const j = q % size;
  const fy = i <= size / 2 ? i : i - size;
  const fx = j <= size / 2 ? j : j - size;
  const b = Math.round(Math.hypot(fx, fy));
  return b <= size / 2 ? b : -1;
}

/** A separable Hann taper, scaled so that its mean square is 1 (spectra keep their power). */
export function hann2d(n: number): Float64Array {
  const w = Float64Array.from({ length: n }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * (i + 0.5)) / n));
  const out = new Float64Array(n * n);
  let ss = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) ss += (out[i * n + j] = w[i]! * w[j]!) ** 2;
  const scale = 1 / Math.sqrt(ss / (n * n));
  for (let q = 0; q < n * n; q++) out[q]! *= scale;
  return out;
}
