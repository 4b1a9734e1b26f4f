/**
 * Reconstruction kernels of filtered back-projection: the ramp |f| (from its band-limited discrete
 * form, Kak & Slaney eq. 61, which keeps the image mean exact), times an apodising window.
 * Frequencies are relative to the Nyquist frequency of the rebinned parallel rays (half the
 * isocentre ray spacing thanks to the quarter-detector offset: 1.71 cycles/mm for the default
 * geometry); `cutoff` scales where the window reaches its end.
 */
import { LowdoseError } from '../errors.js';
import { fftPlan } from '../util/fft.js';

export type FilterWindow = 'ramp' | 'shepp-logan' | 'cosine' | 'hamming' | 'hann' | 'butterworth';

export const FILTER_WINDOWS: readonly FilterWindow[] = ['ramp', 'shepp-logan', 'cosine', 'hamming', 'hann', 'butterworth'];

/** Order of a Butterworth window when none is given. */
export const DEFAULT_BUTTERWORTH_ORDER = 4;

export interface ReconKernel {
  readonly window: FilterWindow;
  /**
   * Window end as a fraction of the Nyquist frequency of the rebinned rays, in (0, 1]. For
   * `butterworth` it is the -3 dB frequency instead (the window has no end).
   */
  readonly cutoff: number;
  /** Butterworth order n: gain 1 / sqrt(1 + (f / cutoff)^(2n)) (default 4; other windows ignore it). */
  readonly order?: number;
}

/**
 * Named kernels, chosen by their noise texture (radial NPS peak / mean frequency with the default
 * geometry, measured in docs/simulation.md) to resemble clinical families: `sharp` a bone kernel
 * (NPS mean ~0.6 cycles/mm), `standard` a soft-tissue kernel (GE Standard, Siemens B30/Br40
 * class: peak ~0.22, mean ~0.32), `smooth` a low-noise soft kernel (peak ~0.19, mean ~0.21).
 *
 * `siemens-b30f` and `siemens-d45f` were fitted to real noise: the radial NPS of quarter minus
 * full dose of the AAPM-Mayo pairs (Siemens SOMATOM Definition AS+, ../shared/ldct-mayo), over
 * windows and cutoffs, on patient L143 (scripts/experiments/ct-kernel-fit.ts; L192 held out).
 * D45f's noise rises almost linearly up to ~0.6 cycles/mm, which no window that tapers from zero
 * frequency (Hann, Shepp-Logan) reproduces; a Butterworth window, flat and then falling, does.
 */
export const KERNEL_PRESETS = Object.freeze({
  sharp: Object.freeze({ window: 'shepp-logan', cutoff: 0.7 }),
  standard: Object.freeze({ window: 'hann', cutoff: 0.55 }),
  smooth: Object.freeze({ window: 'hann', cutoff: 0.35 }),
  'siemens-b30f': Object.freeze({ window: 'hamming', cutoff: 0.4 }),
  'siemens-d45f': Object.freeze({ window: 'butterworth', cutoff: 0.425, order: 4 }),
} as const satisfies Record<string, ReconKernel>);

export type KernelPreset = keyof typeof KERNEL_PRESETS;

/** A window name, a preset name, or an explicit kernel. */
export type KernelSpec = FilterWindow | KernelPreset | ReconKernel;

export const DEFAULT_KERNEL: KernelPreset = 'standard';

/** Resolves a kernel spec; `cutoff`, when given, overrides the preset's or the default of 1. */
export function resolveKernel(spec: KernelSpec = DEFAULT_KERNEL, cutoff?: number): ReconKernel {
  let kernel: ReconKernel;
  if (typeof spec === 'string') {
    if (spec in KERNEL_PRESETS) kernel = KERNEL_PRESETS[spec as KernelPreset];
    else if ((FILTER_WINDOWS as readonly string[]).includes(spec)) kernel = { window: spec as FilterWindow, cutoff: 1 };
    else {
      throw new LowdoseError(
        'E_USAGE',
        `unknown reconstruction kernel "${spec}": use one of ${[...Object.keys(KERNEL_PRESETS), ...FILTER_WINDOWS].join(', ')}`,
      );
    }
  } else {
    kernel = spec;
  }
  const c = cutoff ?? kernel.cutoff;
  if (!(c > 0 && c <= 1)) throw new LowdoseError('E_USAGE', `kernel cutoff must be in (0, 1], got ${c}`);
  if (!FILTER_WINDOWS.includes(kernel.window)) throw new LowdoseError('E_USAGE', `unknown filter window "${kernel.window}"`);
  if (kernel.window !== 'butterworth') return Object.freeze({ window: kernel.window, cutoff: c });
  const order = kernel.order ?? DEFAULT_BUTTERWORTH_ORDER;
  if (!(order >= 1 && order <= 32)) throw new LowdoseError('E_USAGE', `Butterworth order must be in [1, 32], got ${order}`);
  return Object.freeze({ window: kernel.window, cutoff: c, order });
}

/** A kernel as one line of text (DerivationDescription, JSON settings). */
export function describeKernel(kernel: ReconKernel): string {
  return kernel.window === 'butterworth'
    ? `butterworth order ${kernel.order ?? DEFAULT_BUTTERWORTH_ORDER} cutoff ${kernel.cutoff}`
    : `${kernel.window} cutoff ${kernel.cutoff}`;
}

/**
 * The window's gain at frequency x = f / (cutoff * Nyquist), x >= 0. Windows end at x = 1, except
 * the Butterworth window (order `order`), which is 1/sqrt 2 there and falls off smoothly beyond.
 */
export function windowGain(window: FilterWindow, x: number, order = DEFAULT_BUTTERWORTH_ORDER): number {
  if (window === 'butterworth') return 1 / Math.sqrt(1 + x ** (2 * order));
  if (x > 1) return 0;
  switch (window) {
    case 'ramp':
      return 1;
    case 'shepp-logan':
      return x === 0 ? 1 : Math.sin((Math.PI * x) / 2) / ((Math.PI * x) / 2);
    case 'cosine':
      return Math.cos((Math.PI * x) / 2);
    case 'hamming':
      return 0.54 + 0.46 * Math.cos(Math.PI * x);
    case 'hann':
      return 0.5 + 0.5 * Math.cos(Math.PI * x);
  }
}

/**
 * The filter's real frequency response on an FFT of length `size` (>= 2 x the projection length,
 * so the circular convolution is linear), for rays `spacing` mm apart, including the factor
 * `spacing` of the discrete convolution integral.
 */
export function filterResponse(kernel: ReconKernel, size: number, spacing: number): Float64Array {
  const re = new Float64Array(size);
  const im = new Float64Array(size);
  // Discrete ramp: h[0] = 1/(4 d^2), h[n odd] = -1/(pi n d)^2, h[n even] = 0, laid out cyclically.
  re[0] = 1 / (4 * spacing * spacing);
  for (let n = 1; n < size / 2; n += 2) {
    const v = -1 / (Math.PI * n * spacing) ** 2;
    re[n] = v;
    re[size - n] = v;
  }
  fftPlan(size).forward(re, im);
  const response = new Float64Array(size);
  for (let k = 0; k < size; k++) {
    const x = Math.min(k, size - k) / (size / 2) / kernel.cutoff;
    response[k] = re[k]! * spacing * windowGain(kernel.window, x, kernel.order);
  }
  return response;
}
