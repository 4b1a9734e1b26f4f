/**
 * Pixels that are not image (padding, out-of-field fill: `Image2D.padding`) around a denoiser:
 * filled with tissue-neutral values before it, so that no network or filter neighbourhood sees
 * -3024 HU as tissue, and given back their exact input values after it.
 */

/**
 * How padded pixels are filled for a denoiser: `nearest` copies the value of a nearest valid pixel
 * (breadth-first over 8 neighbours, so the field-of-view edge continues outwards), `constant`
 * writes one value (e.g. air, -1000 HU). docs/dicom-writing.md has the measurement behind the default.
 */
export type PaddingFill = { readonly kind: 'nearest' } | { readonly kind: 'constant'; readonly value: number };

export const DEFAULT_PADDING_FILL: PaddingFill = { kind: 'nearest' };

/** True when `mask` marks at least one pixel. */
export function anyPadding(mask: ArrayLike<number> | null | undefined): mask is ArrayLike<number> {
  if (!mask) return false;
  for (let i = 0; i < mask.length; i++) if (mask[i]) return true;
  return false;
}

/**
 * A copy of the rows x columns image `data` with its padded pixels (mask 1) filled; `data` itself
 * when there is no padding. An image that is all padding is returned unchanged.
 */
export function fillPadding(
  data: Float32Array,
  padding: ArrayLike<number> | null | undefined,
  rows: number,
  columns: number,
  fill: PaddingFill = DEFAULT_PADDING_FILL,
): Float32Array {
  if (!anyPadding(padding)) return data;
  if (padding.length !== data.length || data.length !== rows * columns) {
    throw new RangeError(`fillPadding: ${data.length} values and ${padding.length} mask values for ${rows}x${columns}`);
  }
  const out = Float32Array.from(data);
  if (fill.kind === 'constant') {
    for (let i = 0; i < out.length; i++) if (padding[i]) out[i] = fill.value;
    return out;
  }
  // Multi-source breadth-first search from the valid pixels: each padded pixel takes the value of
  // the neighbour it was first reached from, i.e. of a nearest valid pixel in 8-neighbour steps.
  const done = new Uint8Array(out.length);
  const queue = new Int32Array(out.length);
  let tail = 0;
  for (let i = 0; i < out.length; i++) {
    if (padding[i]) continue;
    done[i] = 1;
    queue[tail++] = i;
  }
  if (tail === 0) return data;
  let head = 0;
  while (head < tail) {
    const i = queue[head++]!;
    const r = Math.floor(i / columns);
    const c = i - r * columns;
    const value = out[i]!;
    for (let dr = -1; dr <= 1; dr++) {
      const rr = r + dr;
      if (rr < 0 || rr >= rows) continue;
      for (let dc = -1; dc <= 1; dc++) {
        const cc = c + dc;
        if (cc < 0 || cc >= columns) continue;
        const j = rr * columns + cc;
        if (done[j]) continue;
        done[j] = 1;
        out[j] = value;
        queue[tail++] = j;
      }
    }
  }
  return out;
}

/**
 * The padding mask with every NaN or infinite pixel of `data` added: such a pixel (a NIfTI volume
 * can hold them) is no measurement, so a denoiser treats it as it treats padding: filled for the
 * network, given back unchanged after, and left out of every metric that honours the mask.
 * Returns `padding` itself when every pixel is finite.
 */
export function nonFinitePadding(data: Float32Array, padding: Uint8Array | null | undefined): { padding: Uint8Array | null; nonFinite: number } {
  let nonFinite = 0;
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i]!)) nonFinite++;
  if (nonFinite === 0) return { padding: padding ?? null, nonFinite };
  if (padding && padding.length !== data.length) throw new RangeError(`nonFinitePadding: ${data.length} values and ${padding.length} mask values`);
  const mask = padding ? Uint8Array.from(padding) : new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i]!)) mask[i] = 1;
  return { padding: mask, nonFinite };
}

/** Writes the input's values back into the padded pixels of `output` (in place); returns `output`. */
export function restorePadding(
  output: Float32Array,
  input: ArrayLike<number>,
  padding: ArrayLike<number> | null | undefined,
): Float32Array {
  if (!anyPadding(padding)) return output;
  for (let i = 0; i < output.length; i++) if (padding[i]) output[i] = input[i]!;
  return output;
}

/**
 * Per pixel, the distance in 8-neighbour steps to the nearest padded pixel (0 on padding), or
 * Infinity everywhere when there is none: the rings of valid pixels along the field-of-view edge,
 * where a denoiser that saw padding as tissue leaves its artefact.
 */
export function paddingDistance(padding: ArrayLike<number> | null | undefined, rows: number, columns: number): Float64Array {
  const distance = new Float64Array(rows * columns).fill(Infinity);
  if (!anyPadding(padding)) return distance;
  const queue = new Int32Array(rows * columns);
  let tail = 0;
  for (let i = 0; i < distance.length; i++) {
    if (!padding[i]) continue;
    distance[i] = 0;
    queue[tail++] = i;
  }
  for (let head = 0; head < tail; head++) {
    const i = queue[head]!;
    const r = Math.floor(i / columns);
    const c = i - r * columns;
    const next = distance[i]! + 1;
    for (let dr = -1; dr <= 1; dr++) {
      const rr = r + dr;
      if (rr < 0 || rr >= rows) continue;
      for (let dc = -1; dc <= 1; dc++) {
        const cc = c + dc;
        if (cc < 0 || cc >= columns) continue;
        const j = rr * columns + cc;
        if (distance[j] !== Infinity) continue;
        distance[j] = next;
        queue[tail++] = j;
      }
    }
  }
  return distance;
}
