/**
 * Full-dose texture: put back a dose-dependent share of the noise the denoiser removed, so the
 * output carries the noise magnitude and the noise power spectrum (NPS) of a full-dose scan instead
 * of the smooth, "plastic" look of a posterior mean.
 *
 * Why a blend. Low and full dose of one acquisition differ by extra noise of the same kernel:
 * x_q = x_f + n_e, var(n_f) = d var(n_q), var(n_e) = (1 - d) var(n_q), d the dose fraction. A
 * denoiser trained with MSE toward full-dose targets estimates the posterior mean D = E[x_f | x_q],
 * whose noise in flat regions is about d n_q (half the full-dose noise SD at d = 0.25). The blend
 *
 *   out = D + w (x - D),   w = (sqrt(d) - d) / (1 - d)   (1/3 at d = 0.25)
 *
 * has noise (d + w (1 - d)) n_q = sqrt(d) n_q: the full-dose noise SD, with the scanner's own NPS
 * shape and spatial variation because it is the scan's own noise, scaled. Among outputs made of a
 * n_q plus independent noise with that variance it has the least expected squared error against the
 * full dose, 2 d (1 - sqrt(d)) var(n_q) (1.25 dB above the posterior mean's d (1 - d) var(n_q) at
 * d = 0.25, where an independent posterior sample costs 3 dB). docs/diffusion.md ("Texture") has
 * the derivation and the measurements on real quarter-dose CT that chose it.
 *
 * A model that keeps more than d of the noise at some frequencies (the shipped CT model does:
 * 0.26 to 0.90 of it at 25 % dose) overshoots the full-dose noise with one weight. When its card
 * carries the noise transfer T(f) measured on water (`texture.transfer`), the share put back is
 * shaped per frequency instead (./texture-transfer.ts): G(f) = (sqrt(d) - T) / (1 - T) where
 * T < sqrt(d), 0 elsewhere.
 *
 * Pure functions over typed arrays; the sampler plumbing applies it per slice in denoiseSlices.
 */
import { isOneOf, TEXTURES, type Texture } from '../choices.js';
import { LowdoseError } from '../errors.js';
import { transferTexture, type NoiseTransferTable } from './texture-transfer.js';

export { TEXTURES, type Texture } from '../choices.js';

/** How full-dose texture puts noise back: G(f) from the card's measured transfer, or the single weight w(d). */
export const TEXTURE_METHODS = ['per-frequency', 'single-weight'] as const;
export type TextureMethod = (typeof TEXTURE_METHODS)[number];

export function isTexture(value: unknown): value is Texture {
  return isOneOf(TEXTURES, value);
}

/** w(d) = (sqrt(d) - d) / (1 - d) = sqrt(d) / (1 + sqrt(d)): the share of x - D to put back for an input at dose fraction d. */
export function textureWeight(dose: number): number {
  if (!(dose > 0 && dose <= 1)) throw new LowdoseError('E_USAGE', `full-dose texture needs a dose fraction in (0, 1], got ${dose}`);
  // The second form is exact at d = 1 (w = 1/2 there is irrelevant: a full-dose input is its own texture).
  const s = Math.sqrt(dose);
  return s / (1 + s);
}

export interface RestoreTextureOptions {
  /** The input's dose fraction d, (0, 1]. */
  readonly dose: number;
  /**
   * The range the model saw its input in (the card's normalization clip): the residual is taken
   * against the clipped input, so values the model could not see (padding at -3024 HU, metal above
   * the clip) are not pulled into the output.
   */
  readonly clip?: readonly [number, number] | undefined;
  /**
   * Pixels (value 1) left exactly as denoised: padding and out-of-field pixels. With a transfer they
   * also add nothing to the residual that is filtered.
   */
  readonly keep?: Uint8Array | null | undefined;
  /**
   * The model's measured noise transfer (its card's `texture.transfer`): the share put back is
   * shaped per frequency. Absent: the single weight w(d). Needs `rows` and `columns`.
   */
  readonly transfer?: NoiseTransferTable | null | undefined;
  readonly rows?: number | undefined;
  readonly columns?: number | undefined;
}

/**
 * Without a transfer: out = denoised + w(d) (clip(input) - denoised), pixel by pixel. With one:
 * out = denoised + F^-1[G(f) F[clip(input) - denoised]]. `out` may be `denoised` itself; both
 * images in the same (modality) units; kept pixels are `denoised`'s, bit for bit.
 */
export function restoreTexture(
  input: ArrayLike<number>,
  denoised: Float32Array,
  options: RestoreTextureOptions,
  out: Float32Array = new Float32Array(denoised.length),
): Float32Array {
  const n = denoised.length;
  if (input.length !== n || out.length !== n) {
    throw new LowdoseError('E_INTERNAL', `restoreTexture: input ${input.length}, denoised ${n}, out ${out.length} values`);
  }
  const keep = options.keep ?? null;
  if (keep && keep.length !== n) throw new LowdoseError('E_INTERNAL', `restoreTexture: keep mask of ${keep.length} for ${n} pixels`);
  const w = textureWeight(options.dose);
  const lo = options.clip?.[0] ?? -Infinity;
  const hi = options.clip?.[1] ?? Infinity;
  if (options.transfer) {
    const { rows, columns } = options;
    if (rows === undefined || columns === undefined || rows * columns !== n) {
      throw new LowdoseError('E_INTERNAL', `restoreTexture: a noise transfer needs the image's rows and columns (${rows} x ${columns} for ${n} pixels)`);
    }
    const residual = new Float64Array(n);
    for (let i = 0; i < n; i++) residual[i] = keep && keep[i] ? 0 : Math.min(hi, Math.max(lo, input[i]!)) - denoised[i]!;
    const added = transferTexture(residual, rows, columns, options.transfer, options.dose);
    for (let i = 0; i < n; i++) out[i] = keep && keep[i] ? denoised[i]! : denoised[i]! + added[i]!;
    return out;
  }
  for (let i = 0; i < n; i++) {
    const d = denoised[i]!;
    if (keep && keep[i]) {
      out[i] = d;
      continue;
    }
    const x = Math.min(hi, Math.max(lo, input[i]!));
    out[i] = d + w * (x - d);
  }
  return out;
}
