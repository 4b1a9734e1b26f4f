/** The difference pane's pixels (viewer/src/difference.ts): test − reference, padding left at zero. */
import { describe, expect, it } from 'vitest';
import { differencePixels } from '../../viewer/src/difference.js';

describe('difference pixels', () => {
  it('subtracts in modality units through each slice rescale', () => {
    // test: stored 100..103 at slope 2, intercept -1024; reference: stored 0..3 at slope 1, intercept -830.
    const test = { pixels: Int16Array.from([100, 101, 102, 103]), slope: 2, intercept: -1024, padding: null };
    const reference = { pixels: Int16Array.from([0, 1, 2, 3]), slope: 1, intercept: -830, padding: null };
    const { pixels, slope, padding } = differencePixels(test, reference);
    expect(padding).toBeNull();
    const values = Array.from(pixels, (v) => v * slope);
    const expected = [0, 1, 2, 3].map((i) => (100 + i) * 2 - 1024 - (i - 830));
    values.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 2));
  });

  it('leaves pixels either slice marks as padding at zero, and keeps them out of the scale', () => {
    // Out-of-field fill of two scanners: -2048 HU in the test slice, -3024 HU in the reference.
    const test = { pixels: Int16Array.from([-2048, 10, 20, -2048]), slope: 1, intercept: 0, padding: Uint8Array.from([1, 0, 0, 1]) };
    const reference = { pixels: Int16Array.from([-3024, 0, 0, 5]), slope: 1, intercept: 0, padding: Uint8Array.from([1, 0, 0, 0]) };
    const { pixels, slope, padding } = differencePixels(test, reference);
    expect(Array.from(padding!)).toEqual([1, 0, 0, 1]);
    expect(pixels[0]).toBe(0);
    expect(pixels[3]).toBe(0);
    // The largest real difference (20 HU) spans the int16 grid, not the 976 HU between fill values.
    expect(pixels[2]! * slope).toBeCloseTo(20, 3);
    expect(pixels[2]).toBe(32767);
  });
});
