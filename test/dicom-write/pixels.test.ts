/** Float → 16-bit storage: DS formatting, rescale choice and quantization error. */
import { describe, expect, it } from 'vitest';
import {
  chooseLinearRescale,
  chooseProportionalRescale,
  formatDS,
  paddingKeepingRescale,
  quantize,
  type Rescale,
  reusableRescale,
} from '../../src/dicom/write-pixels.js';
import { hashedUid, isValidUid, newUid } from '../../src/dicom/uid.js';
import { Rng } from '../../src/util/random.js';

function worstError(values: Float32Array, rescale: Rescale): number {
  const stored = quantize(values, rescale);
  let worst = 0;
  for (let i = 0; i < values.length; i++) worst = Math.max(worst, Math.abs(stored[i]! * rescale.slope + rescale.intercept - values[i]!));
  return worst;
}

function uniform(lo: number, hi: number, n = 20000, seed = 3): Float32Array {
  const rng = new Rng(seed);
  const out = Float32Array.from({ length: n }, () => rng.range(lo, hi));
  out[0] = lo;
  out[1] = hi;
  return out;
}

describe('formatDS', () => {
  it('fits 16 characters and parses back to the value it reports', () => {
    for (const v of [0, 1, -1024, 0.05, 1 / 3, -1 / 3, 123456789.123456, 9.87654321e-9, -4.2e-12, 6.02e23, 65535.5, 0.000123456789]) {
      const ds = formatDS(v);
      expect(ds.text.length, ds.text).toBeLessThanOrEqual(16);
      expect(Number(ds.text)).toBe(ds.value);
      expect(Math.abs(ds.value - v)).toBeLessThanOrEqual(Math.abs(v) * 1e-6);
    }
  });
});

describe('chooseLinearRescale', () => {
  it('keeps CT float data over the clinical range within 0.05 HU with a step of at most 0.1', () => {
    for (const [lo, hi] of [
      [-1024, 3071],
      [-1000, 1000],
      [-3024, 3071],
      [0, 4000],
      [-50, 80],
    ] as const) {
      const values = uniform(lo, hi);
      const rescale = chooseLinearRescale(lo, hi);
      expect(rescale.slope).toBeLessThanOrEqual(0.1);
      // Half a 0.1 HU step at worst, plus float rounding.
      expect(worstError(values, rescale)).toBeLessThanOrEqual(0.05 + 1e-6);
      expect(rescale.signed).toBe(lo < 0);
    }
  });

  it('uses a coarser step only when the range does not fit 16 bits at 0.1 HU (metal)', () => {
    const values = uniform(-1024, 30000);
    const rescale = chooseLinearRescale(-1024, 30000);
    expect(rescale.slope).toBeGreaterThan(0.1);
    expect(rescale.slope).toBeLessThanOrEqual(0.5);
    expect(worstError(values, rescale)).toBeLessThanOrEqual(rescale.slope / 2 + 1e-3);
  });

  it('handles a constant slice', () => {
    const values = new Float32Array(100).fill(-1000);
    const rescale = chooseLinearRescale(-1000, -1000);
    expect(worstError(values, rescale)).toBeLessThanOrEqual(0.05);
  });
});

describe('chooseProportionalRescale', () => {
  it('uses all 16 bits for activity with intercept 0', () => {
    const values = uniform(0, 123456.7);
    const rescale = chooseProportionalRescale(0, 123456.7);
    expect(rescale.intercept).toBe(0);
    expect(rescale.signed).toBe(false);
    expect(Math.max(...quantize(values, rescale))).toBeGreaterThan(65000);
    expect(worstError(values, rescale)).toBeLessThanOrEqual(123456.7 / 65535);
  });

  it('goes signed when a denoiser undershoots below zero', () => {
    const values = uniform(-30, 5000);
    const rescale = chooseProportionalRescale(-30, 5000);
    expect(rescale.signed).toBe(true);
    expect(worstError(values, rescale)).toBeLessThanOrEqual(5000 / 32767);
  });
});

describe('reusableRescale', () => {
  it('accepts integer data on the input grid and rejects fractions or out-of-range values', () => {
    const onGrid = Float32Array.from([-1024, 0, 40, 3071]);
    expect(reusableRescale(onGrid, 1, -1024, false)).not.toBeNull();
    expect(reusableRescale(Float32Array.from([-1024, 0.5]), 1, -1024, false)).toBeNull();
    expect(reusableRescale(Float32Array.from([-2000]), 1, -1024, false)).toBeNull();
    expect(reusableRescale(Float32Array.from([40000]), 1, 0, true)).toBeNull();
  });
});

describe('UIDs', () => {
  it('are valid 2.25 UUID-derived UIDs, random ones all different, hashed ones repeatable', () => {
    const random = Array.from({ length: 200 }, () => newUid());
    expect(new Set(random).size).toBe(200);
    for (const uid of random) {
      expect(isValidUid(uid), uid).toBe(true);
      expect(uid.startsWith('2.25.')).toBe(true);
    }
    expect(hashedUid('a', 1)).toBe(hashedUid('a', 1));
    expect(hashedUid('a', 1)).not.toBe(hashedUid('a', 2));
    expect(isValidUid(hashedUid('x'))).toBe(true);
    expect(isValidUid('1.2.03')).toBe(false);
  });
});

describe('paddingKeepingRescale', () => {
  // A GE slice's padding (-2000 stored, slope 1, intercept -1024 = -3024 HU) next to denoised floats.
  const denoised = (max: number) => {
    const values = uniform(-1010, max, 4000, 5);
    const padding = new Uint8Array(values.length);
    for (let i = 0; i < values.length; i += 7) {
      values[i] = -3024;
      padding[i] = 1;
    }
    return { values, padding };
  };

  it('keeps the padding stored value with the finest step that fits, and the rest within half a step', () => {
    for (const [max, step] of [[1300, 0.125], [1381, 0.2], [3900, 0.2], [5600, 0.25]] as const) {
      const { values, padding } = denoised(max);
      const rescale = paddingKeepingRescale(values, padding, 1, -1024, true)!;
      expect(rescale.slope, `max ${max}`).toBe(step);
      const stored = quantize(values, rescale);
      for (let i = 0; i < values.length; i += 7) expect(stored[i]).toBe(-2000);
      expect(stored[0]! * rescale.slope + rescale.intercept).toBe(-3024);
      expect(worstError(values, rescale)).toBeLessThanOrEqual(step / 2 + 1e-3);
    }
  });

  it('falls back to the source rescale for several padding values, and gives up when nothing fits', () => {
    const { values, padding } = denoised(1000);
    values[7] = -3000; // a PixelPaddingRangeLimit-style second padding value (stored -1976)
    const own = paddingKeepingRescale(values, padding, 1, -1024, true)!;
    expect([own.slope, own.intercept]).toEqual([1, -1024]);
    // Off the source grid: not padding as the source stored it.
    values[7] = -3000.5;
    expect(paddingKeepingRescale(values, padding, 1, -1024, true)).toBeNull();
    // No padding pixel at all.
    expect(paddingKeepingRescale(values, new Uint8Array(values.length), 1, -1024, true)).toBeNull();
    // A range that -2000 stored cannot reach at any step up to the source's own.
    const wide = denoised(40000);
    expect(paddingKeepingRescale(wide.values, wide.padding, 1, -1024, true)).toBeNull();
  });
});
