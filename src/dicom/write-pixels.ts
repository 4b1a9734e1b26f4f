/**
 * Float images to 16-bit stored values with a modality LUT (RescaleSlope / RescaleIntercept).
 * Pure functions: the writers decide per slice which rescale to use, then quantize.
 */

/** A linear modality LUT for 16-bit storage: value = stored * slope + intercept. */
export interface Rescale {
  readonly slope: number;
  readonly intercept: number;
  /** PixelRepresentation 1 (int16) when true, else uint16. */
  readonly signed: boolean;
  /** DS strings that are written; slope / intercept are exactly their parsed values. */
  readonly slopeText: string;
  readonly interceptText: string;
}

const INT16: readonly [number, number] = [-32768, 32767];
const UINT16: readonly [number, number] = [0, 65535];

/** Minimum and maximum of finite values; NaN and infinities are ignored (they are stored as 0). */
export function finiteRange(values: Float32Array): [number, number] {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (!Number.isFinite(min) || !Number.isFinite(max)) {
    // Only reached when some values are not finite: redo the scan skipping them.
    min = Infinity;
    max = -Infinity;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (!Number.isFinite(v)) continue;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    if (min > max) return [0, 0];
  }
  return [min, max];
}

/**
 * Formats a DS value in at most 16 characters. Returns the text and the number it stands for, so
 * quantization uses exactly what a reader will parse.
 */
export function formatDS(value: number, significantDigits = 10): { text: string; value: number } {
  if (value === 0 || Object.is(value, -0)) return { text: '0', value: 0 };
  for (let digits = significantDigits; digits >= 1; digits--) {
    let text = String(Number(value.toPrecision(digits)));
    if (text.length > 16) text = Number(value.toPrecision(digits)).toExponential(Math.max(0, digits - 1)).replace('e+', 'e');
    if (text.length <= 16) return { text, value: Number(text) };
  }
  throw new Error(`cannot format ${value} as a DICOM DS`);
}

/** The smallest DS-representable number >= value (so a slope never lets the range overflow). */
function formatDSAtLeast(value: number): { text: string; value: number } {
  let target = value;
  for (let i = 0; i < 8; i++) {
    const ds = formatDS(target);
    if (ds.value >= value) return ds;
    target = target + Math.abs(value) * 1e-9 * 2 ** i;
  }
  return formatDS(value * (1 + 1e-6));
}

/**
 * Steps of 1, 1.25, 2, 2.5, 4, 5, 6.25, 8 × 10^k: slopes a person can read off a header, fine
 * enough that a range rarely pays more than 25 % over what it needs, and (up to 10) dividers of 10,
 * so with an intercept that is a multiple of 10 every whole HU (air, padding) is stored exactly.
 */
function niceStepAtLeast(step: number): number {
  const exponent = Math.floor(Math.log10(step));
  for (const e of [exponent - 1, exponent, exponent + 1]) {
    for (const m of [1, 1.25, 2, 2.5, 4, 5, 6.25, 8]) {
      const candidate = Number((m * 10 ** e).toPrecision(6));
      if (candidate >= step) return candidate;
    }
  }
  return 10 ** (exponent + 1);
}

function makeRescale(slope: number, intercept: number, signed: boolean): Rescale {
  const s = formatDS(slope);
  const b = formatDS(intercept);
  return { slope: s.value, intercept: b.value, signed, slopeText: s.text, interceptText: b.text };
}

/** True when every stored value of `rescale` for [min, max] fits its 16-bit range (with a margin for rounding). */
export function fitsRescale(min: number, max: number, rescale: Rescale): boolean {
  const [lo, hi] = rescale.signed ? INT16 : UINT16;
  const a = (min - rescale.intercept) / rescale.slope;
  const b = (max - rescale.intercept) / rescale.slope;
  return Math.round(a) >= lo && Math.round(b) <= hi;
}

/**
 * Rescale for data on a linear scale such as HU: a step of at most `resolution` (0.1 HU, so the
 * error is at most 0.05 HU) and at least `resolution / 2` so that neighbouring slices usually share
 * it; coarser only when the range does not fit 16 bits at that step (metal). Signed with intercept 0 when that fits, unsigned with
 * intercept 0 for non-negative data, else signed around the middle of the range.
 */
export function chooseLinearRescale(min: number, max: number, resolution = 0.1): Rescale {
  const span = Math.max(max - min, 0);
  // 65500 rather than 65535 steps leaves room for rounding and for centring on a whole HU.
  const step = niceStepAtLeast(Math.max(span / 65500, resolution / 2));
  if (min >= 0) {
    const unsigned = makeRescale(step, 0, false);
    if (fitsRescale(min, max, unsigned)) return unsigned;
  }
  const signedAtZero = makeRescale(step, 0, true);
  if (fitsRescale(min, max, signedAtZero)) return signedAtZero;
  const middle = step <= 10 ? Math.round((min + max) / 20) * 10 : Math.round((min + max) / 2);
  const centred = makeRescale(step, middle, true);
  if (fitsRescale(min, max, centred)) return centred;
  // The nice step rounded the span just past 16 bits: take the next one.
  return makeRescale(niceStepAtLeast(step * 1.01), middle, true);
}

/**
 * Rescale for data whose natural zero matters and whose scale varies by slice (PET activity):
 * intercept 0, slope = max |value| over the stored range, so each slice uses all 16 bits.
 */
export function chooseProportionalRescale(min: number, max: number): Rescale {
  const signed = min < 0;
  const limit = signed ? 32767 : 65535;
  const peak = Math.max(Math.abs(min), Math.abs(max));
  if (peak === 0) return makeRescale(1, 0, signed);
  const slope = formatDSAtLeast(peak / limit);
  return { slope: slope.value, intercept: 0, signed, slopeText: slope.text, interceptText: '0' };
}

/**
 * The input's own rescale, when it represents `values` exactly: every value lies on its grid
 * (within `tolerance` of a stored step) and inside the 16-bit range of its signedness.
 */
export function reusableRescale(
  values: Float32Array,
  slope: number,
  intercept: number,
  signed: boolean,
  tolerance = 1e-3,
): Rescale | null {
  if (!(slope > 0) || !Number.isFinite(intercept)) return null;
  const rescale: Rescale = {
    slope,
    intercept,
    signed,
    slopeText: formatDS(slope).text,
    interceptText: formatDS(intercept).text,
  };
  if (Number(rescale.slopeText) !== slope || Number(rescale.interceptText) !== intercept) return null;
  const [lo, hi] = signed ? INT16 : UINT16;
  for (let i = 0; i < values.length; i++) {
    const q = (values[i]! - intercept) / slope;
    const r = Math.round(q);
    if (!(Math.abs(q - r) <= tolerance) || r < lo || r > hi) return null;
  }
  return rescale;
}

/**
 * A rescale under which the padding pixels (`padding` 1) keep the stored value the source's rescale
 * gives them, so that a derived series marks padding with the same stored number (and the same
 * PixelPaddingValue) as its source. With one padding value p at modality value v, any step s with
 * intercept v - p·s keeps it: the finest such step from the readable series, at least
 * `resolution / 2` and finer than the source's own, under which [min, max] fits 16 bits; else the
 * source's own rescale (the only one keeping several padding values at once). For GE's -2000
 * stored = -3024 HU that is 0.125 HU up to 1321 HU and 0.2 HU up to 3929 HU. Null when the
 * padding values are not on the source's grid or nothing fits.
 */
export function paddingKeepingRescale(
  values: Float32Array,
  padding: ArrayLike<number>,
  sourceSlope: number,
  sourceIntercept: number,
  sourceSigned: boolean,
  resolution = 0.1,
): Rescale | null {
  if (!(sourceSlope > 0) || !Number.isFinite(sourceIntercept)) return null;
  let stored: number | null = null;
  let several = false;
  for (let i = 0; i < values.length; i++) {
    if (!padding[i]) continue;
    const q = (values[i]! - sourceIntercept) / sourceSlope;
    const r = Math.round(q);
    if (!(Math.abs(q - r) <= 1e-3)) return null;
    if (stored === null) stored = r;
    else if (r !== stored) several = true;
  }
  if (stored === null) return null;
  const [min, max] = finiteRange(values);
  const signed = sourceSigned || stored < 0;
  const keeps = (rescale: Rescale) =>
    Math.round((stored * sourceSlope + sourceIntercept - rescale.intercept) / rescale.slope) === stored &&
    fitsRescale(min, max, rescale);
  if (!several) {
    for (let step = niceStepAtLeast(resolution / 2); step < sourceSlope; step = niceStepAtLeast(step * 1.0001)) {
      const rescale = makeRescale(step, stored * sourceSlope + sourceIntercept - stored * step, signed);
      if (keeps(rescale)) return rescale;
    }
  }
  const own = makeRescale(sourceSlope, sourceIntercept, signed);
  return own.slope === sourceSlope && own.intercept === sourceIntercept && keeps(own) ? own : null;
}

/** Stored values for `values` under `rescale`, clamped to the 16-bit range (non-finite → intercept). */
export function quantize(values: Float32Array, rescale: Rescale): Int16Array | Uint16Array {
  const out = rescale.signed ? new Int16Array(values.length) : new Uint16Array(values.length);
  const [lo, hi] = rescale.signed ? INT16 : UINT16;
  const inverse = 1 / rescale.slope;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    const q = Number.isFinite(v) ? Math.round((v - rescale.intercept) * inverse) : 0;
    out[i] = q < lo ? lo : q > hi ? hi : q;
  }
  return out;
}

/** The stored minimum and maximum, for SmallestImagePixelValue / LargestImagePixelValue. */
export function storedRange(stored: Int16Array | Uint16Array): [number, number] {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < stored.length; i++) {
    const v = stored[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return stored.length === 0 ? [0, 0] : [min, max];
}
