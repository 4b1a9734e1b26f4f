import { describe, expect, test } from 'vitest';
import type { Series } from '../../src/dicom/index.js';
import { calibrationSlices, i0Profile, sliceZ } from '../../src/pipeline/simulate.js';

/** A series stub: only slice locations and spacing matter here. */
function series(locations: ReadonlyArray<number | null>, spacing = 1): Pick<Series, 'slices' | 'spacing'> {
  return { spacing: [0.7, 0.7, spacing], slices: locations.map((location) => ({ location })) as unknown as Series['slices'] };
}

describe('--i0 auto follows tube current modulation along z', () => {
  test('calibrates the first and last slice and one every 15 mm between', () => {
    const dense = series(Array.from({ length: 40 }, (_, k) => k * 1.0));
    expect(calibrationSlices(dense)).toEqual([0, 15, 30, 39]);
    // Sparse slices (the Mayo series are mostly tens of mm apart): every slice is calibrated,
    // except one within 15 mm of the previous calibrated one.
    expect(calibrationSlices(series([0, 40, 80, 120]))).toEqual([0, 1, 2, 3]);
    expect(calibrationSlices(series([58.9, 64.9, 250.9, 312.9]))).toEqual([0, 2, 3]);
    expect(calibrationSlices(series([10]))).toEqual([0]);
  });

  test('i0 is linear in z between calibrated slices and constant beyond them', () => {
    const z = sliceZ(series([0, 5, 10, 15, 20, 25]));
    const profile = i0Profile(z, [
      { index: 1, i0: 1e5 },
      { index: 3, i0: 3e5 },
    ]);
    expect(Array.from(profile)).toEqual([1e5, 1e5, 2e5, 3e5, 3e5, 3e5]);
  });

  test('slices without a location fall back to index times spacing', () => {
    expect(sliceZ(series([null, null, null], 3))).toEqual([0, 3, 6]);
  });
});
