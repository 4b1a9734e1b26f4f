/**
 * Full-dose texture shaped per frequency by the model's noise transfer T(f), measured once per model
 * on flat simulated water (scripts/experiments/texture-transfer.ts) and carried in its card
 * (`texture.transfer`). What `restoreTexture` (./texture.ts) applies when the card has it.
 *
 * In flat tissue the input is x = mu + n and the denoised image D = mu + T * n: the model keeps the
 * share T(f) of the input's noise amplitude at radial frequency f. A full-dose scan keeps sqrt(d)
 * at every f. Putting back the share G(f) of the residual x - D = (1 - T) n gives T + G (1 - T), so
 *
 *   G(f) = (sqrt(d) - T(f)) / (1 - T(f))   where T(f) < sqrt(d),   0 elsewhere,
 *
 * gives sqrt(d) wherever the model kept less. Where it kept more (below about 0.1 cycles/pixel the
 * model cannot tell slow noise from anatomy) no blend of x and D can take the excess out, so nothing
 * is added there. The single weight w(d) instead assumes the model keeps d at every frequency and
 * overshoots where it keeps more (docs/diffusion.md, "Texture").
 *
 * Frequencies are in cycles per pixel: the network sees noise in pixels (on water at 0.98 and
 * 0.78 mm pixels T agrees within 0.04 per cycles/pixel and differs by up to 0.10 per cycles/mm).
 *
 * Pure functions over typed arrays.
 */
import { dct2d, idct2d } from '../util/dct.js';
import { interpolate } from '../util/interpolate.js';

export { interpolate };

/** A model's measured noise transfer (the card's `texture.transfer`, less its provenance). */
export interface NoiseTransferTable {
  /** Radial frequencies, cycles per pixel, ascending. */
  readonly cyclesPerPixel: readonly number[];
  /** Input dose fractions the transfer was measured at, ascending, in (0, 1]. */
  readonly doses: readonly number[];
  /** kept[dose][frequency]: output noise amplitude / input noise amplitude, T(f). */
  readonly kept: readonly (readonly number[])[];
}

/**
 * T(f) at the table's frequencies for an input at dose `dose`: linear in dose between the two
 * measured doses around it, the nearest measured dose's outside their range.
 */
export function transferAtDose(table: NoiseTransferTable, dose: number): Float64Array {
  const { doses, kept } = table;
  let hi = doses.findIndex((x) => x >= dose);
  if (hi < 0) hi = doses.length - 1;
  const lo = doses[hi]! <= dose || hi === 0 ? hi : hi - 1;
  const a = lo === hi ? 0 : (dose - doses[lo]!) / (doses[hi]! - doses[lo]!);
  return Float64Array.from(table.cyclesPerPixel, (_, k) => kept[lo]![k]! * (1 - a) + kept[hi]![k]! * a);
}

/** G = (sqrt(d) - T) / (1 - T) where T < sqrt(d), else 0: the share of x - D to put back, per frequency. */
export function textureGain(kept: ArrayLike<number>, dose: number): Float64Array {
  const target = Math.sqrt(dose);
  return Float64Array.from({ length: kept.length }, (_, k) => {
    const t = kept[k]!;
    return t < target ? (target - t) / (1 - t) : 0;
  });
}

/**
 * g(|f|) applied to a rows x columns image, f in cycles/pixel: `gain[k]` at `frequency[k]`
 * (ascending), linear between, held beyond either end. The image is filtered as if mirrored about
 * each edge (../util/dct.ts: the DCT-II, exactly the FFT filter of its half-sample mirror extension
 * to 2 rows x 2 columns), so a filter shorter than the image never carries one edge onto the
 * opposite one, a constant image stays constant, and it costs transforms of the image's own size.
 * (A plain FFT wraps circularly: the shipped CT gain's kernel stays above 1e-3 of its peak to 9 to
 * 12 pixels, and a 512-pixel side has no padding to absorb it.)
 */
export function applyRadialGain(values: ArrayLike<number>, rows: number, columns: number, frequency: ArrayLike<number>, gain: ArrayLike<number>): Float64Array {
  if (values.length !== rows * columns) throw new RangeError(`applyRadialGain: ${values.length} values for ${rows}x${columns}`);
  if (frequency.length < 1 || frequency.length !== gain.length) throw new RangeError(`applyRadialGain: ${frequency.length} frequencies, ${gain.length} gains`);
  const out = Float64Array.from(values);
  dct2d(out, rows, columns);
  // DCT bin k of a side of n pixels is bin k of the mirrored 2n-pixel line: k / 2n cycles/pixel.
  const fx = Float64Array.from({ length: columns }, (_, j) => j / (2 * columns));
  for (let i = 0; i < rows; i++) {
    const fy = i / (2 * rows);
    for (let j = 0; j < columns; j++) out[i * columns + j]! *= interpolate(frequency, gain, Math.hypot(fx[j]!, fy));
  }
  idct2d(out, rows, columns);
  return out;
}

/**
 * F^-1[G(f) F[residual]] for a rows x columns residual clip(x) - D (zero where the caller keeps the
 * denoised value), G from the transfer at the input's dose: what the per-frequency texture adds to D.
 */
export function transferTexture(residual: ArrayLike<number>, rows: number, columns: number, transfer: NoiseTransferTable, dose: number): Float64Array {
  return applyRadialGain(residual, rows, columns, transfer.cyclesPerPixel, textureGain(transferAtDose(transfer, dose), dose));
}
