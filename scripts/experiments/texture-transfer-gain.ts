/**
 * Full-dose texture shaped by a noise transfer T(f) measured once per model on flat water
 * (./texture-transfer.ts), the candidate measured against the single weight w(d) that
 * `--texture full-dose` ships (src/diffusion/texture.ts). Not shipped: on the real B30f pairs its
 * NPS peak lands +45 / +108 % from the full dose's (docs/diffusion.md, "Texture", "Shaped per frequency").
 *
 * In flat tissue the input is x = mu + n and the denoised image D = mu + T * n: the model keeps the
 * share T(f) of the input's noise amplitude at radial frequency f. A full-dose scan keeps sqrt(d)
 * at every f. Putting back the share G(f) of the residual x - D = (1 - T) n gives T + G (1 - T), so
 *
 *   G(f) = (sqrt(d) - T(f)) / (1 - T(f))   where T(f) < sqrt(d),   0 elsewhere,
 *
 * gives sqrt(d) wherever the model kept less. Frequencies are in cycles per pixel: the network sees
 * noise in pixels (on water at 0.98 and 0.78 mm pixels T agrees within 0.03 per cycles/pixel and
 * differs by up to 0.12 per cycles/mm).
 *
 * Pure functions over typed arrays, and the reader of the measured table.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { restoreTexture, textureWeight, type RestoreTextureOptions } from '../../src/diffusion/texture.js';
import { fft2d, nextPowerOfTwo } from '../../src/util/fft.js';

/** What texture-transfer.ts measures (docs/experiments/texture-transfer.json, `transfer`). */
export interface NoiseTransferTable {
  /** Radial frequencies, cycles per pixel, ascending. */
  readonly frequenciesCyclesPerPixel: readonly number[];
  /** Input dose fractions the transfer was measured at, ascending, in (0, 1]. */
  readonly doses: readonly number[];
  /** T[dose][frequency]: output noise amplitude / input noise amplitude. */
  readonly T: readonly (readonly number[])[];
}

/** The table in texture-transfer.ts's JSON (path relative to the repository root), or null when the file is absent. */
export function readTransferTable(root: string, file = 'docs/experiments/texture-transfer.json'): NoiseTransferTable | null {
  const full = path.resolve(root, file);
  return existsSync(full) ? (JSON.parse(readFileSync(full, 'utf8')) as { transfer: NoiseTransferTable }).transfer : null;
}

/**
 * T(f) at the table's frequencies for an input at dose `dose`: linear between the two measured
 * doses around it, the nearest measured dose's outside their range.
 */
export function transferAtDose(table: NoiseTransferTable, dose: number): Float64Array {
  const { doses, T } = table;
  let hi = doses.findIndex((x) => x >= dose);
  if (hi < 0) hi = doses.length - 1;
  const lo = doses[hi]! <= dose || hi === 0 ? hi : hi - 1;
  const a = lo === hi ? 0 : (dose - doses[lo]!) / (doses[hi]! - doses[lo]!);
  return Float64Array.from(table.frequenciesCyclesPerPixel, (_, k) => T[lo]![k]! * (1 - a) + T[hi]![k]! * a);
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
 * (ascending), linear between, held beyond either end. Zero-padded to powers of two (the fast
 * transform; the padding also keeps the filter from wrapping one edge onto the other).
 */
export function applyRadialGain(values: ArrayLike<number>, rows: number, columns: number, frequency: ArrayLike<number>, gain: ArrayLike<number>): Float64Array {
  if (values.length !== rows * columns) throw new RangeError(`applyRadialGain: ${values.length} values for ${rows}x${columns}`);
  if (frequency.length < 1 || frequency.length !== gain.length) throw new RangeError(`applyRadialGain: ${frequency.length} frequencies, ${gain.length} gains`);
  const R = nextPowerOfTwo(rows);
  const C = nextPowerOfTwo(columns);
  const re = new Float64Array(R * C);
  const im = new Float64Array(R * C);
  for (let i = 0; i < rows; i++) for (let j = 0; j < columns; j++) re[i * C + j] = values[i * columns + j]!;
  fft2d(re, im, R, C);
  for (let i = 0; i < R; i++) {
    const fy = (i <= R / 2 ? i : i - R) / R;
    for (let j = 0; j < C; j++) {
      const g = interpolate(frequency, gain, Math.hypot((j <= C / 2 ? j : j - C) / C, fy));
      re[i * C + j]! *= g;
      im[i * C + j]! *= g;
    }
  }
  fft2d(re, im, R, C, true);
  const out = new Float64Array(rows * columns);
  for (let i = 0; i < rows; i++) for (let j = 0; j < columns; j++) out[i * columns + j] = re[i * C + j]!;
  return out;
}

/** y(x) linear between the points (xs ascending), held beyond either end. */
export function interpolate(xs: ArrayLike<number>, ys: ArrayLike<number>, x: number): number {
  const n = xs.length;
  if (x <= xs[0]!) return ys[0]!;
  if (x >= xs[n - 1]!) return ys[n - 1]!;
  let lo = 0;
  let hi = n - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (xs[mid]! <= x) lo = mid;
    else hi = mid;
  }
  return ys[lo]! + ((ys[hi]! - ys[lo]!) * (x - xs[lo]!)) / (xs[hi]! - xs[lo]!);
}

export interface TransferTextureOptions extends RestoreTextureOptions {
  readonly rows: number;
  readonly columns: number;
  /** The model's measured noise transfer; absent: restoreTexture's single weight w(d). */
  readonly transfer?: NoiseTransferTable | undefined;
}

/**
 * out = D + F^-1[G(f) F[clip(x) - D]] with G from the transfer at the input's dose; pixels in
 * `keep` stay exactly as denoised and add nothing to the residual.
 */
export function restoreByTransfer(input: ArrayLike<number>, denoised: Float32Array, options: TransferTextureOptions): Float32Array {
  const { rows, columns, transfer } = options;
  if (!transfer) return restoreTexture(input, denoised, options);
  const n = denoised.length;
  if (rows * columns !== n || input.length !== n) throw new RangeError(`restoreByTransfer: ${rows}x${columns}, input ${input.length}, denoised ${n} values`);
  textureWeight(options.dose);
  const keep = options.keep ?? null;
  const lo = options.clip?.[0] ?? -Infinity;
  const hi = options.clip?.[1] ?? Infinity;
  const residual = new Float64Array(n);
  for (let i = 0; i < n; i++) residual[i] = keep && keep[i] ? 0 : Math.min(hi, Math.max(lo, input[i]!)) - denoised[i]!;
  const added = applyRadialGain(residual, rows, columns, transfer.frequenciesCyclesPerPixel, textureGain(transferAtDose(transfer, options.dose), options.dose));
  return Float32Array.from(denoised, (d, i) => (keep && keep[i] ? d : d + added[i]!));
}
