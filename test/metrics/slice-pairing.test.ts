/**
 * pairSlices: within one frame of reference slices pair by their place along the common slice
 * normal, so a reference of another field of view (in-plane origin) pairs with the sections it
 * shows; across frames, or between planes that are not parallel, the whole ImagePositionPatient is
 * compared as before. Known answers on generated stacks (the real-file case: ./reference-fov.test.ts).
 */
import { describe, expect, it } from 'vitest';
import type { Orientation, Series, Vec3 } from '../../src/dicom/index.js';
import { pairSlices, pixelGridMismatch } from '../../src/metrics/slice-pairing.js';

const AXIAL: Orientation = [1, 0, 0, 0, 1, 0];
const SAGITTAL: Orientation = [0, 1, 0, 0, 0, -1];

/** A stack of 64² pixels of 0.8 mm whose slice k lies at `origin` + k·step along z (the fields pairing reads). */
function stack(options: { slices: number; origin?: Vec3; step?: number; frame?: string | null; orientation?: Orientation }): Series {
  const { slices, origin = [-25, -25, 0], step = 2, frame = '2.25.1', orientation = AXIAL } = options;
  return {
    rows: 64,
    columns: 64,
    spacing: [0.8, 0.8, Math.abs(step)],
    orientation,
    frameOfReferenceUid: frame,
    slices: Array.from({ length: slices }, (_, k) => ({ position: [origin[0], origin[1], origin[2] + k * step] as Vec3 })),
  } as unknown as Series;
}

describe('pairSlices', () => {
  const test = stack({ slices: 6 });

  it('within one frame, pairs a reference whose in-plane origin lies 40 mm away by its place along the normal, and the grid check names the origin', () => {
    // Every other test slice, first pixel 32 and 16 mm further along the rows and columns.
    const reference = stack({ slices: 3, origin: [7, -9, 0], step: 4 });
    const pairing = pairSlices(reference, test);
    expect(pairing).toMatchObject({ matchedBy: 'position', along: 'normal', bothPositioned: true });
    expect(pairing.pairs).toEqual([
      [0, 0],
      [1, 2],
      [2, 4],
    ]);
    expect(pixelGridMismatch(reference, test, pairing.pairs[0]!, pairing.matchedBy)).toBe('the in-plane origins (ImagePositionPatient) differ by 44.72 pixels');
  });

  it('pairs along the normal whichever way either stack runs (rows flipped: the normal points the other way)', () => {
    const flipped = stack({ slices: 3, origin: [7, 25, 0], step: 4, orientation: [1, 0, 0, 0, -1, 0] });
    expect(pairSlices(flipped, test).pairs).toEqual([
      [0, 0],
      [1, 2],
      [2, 4],
    ]);
  });

  it('leaves reference slices between test planes unpaired (more than a quarter of the slice spacing away along the normal)', () => {
    const between = stack({ slices: 2, origin: [7, -9, 1], step: 4 });
    expect(() => pairSlices(between, test)).toThrow(/cannot match slices/);
    const partly = stack({ slices: 2, origin: [7, -9, 10], step: 4 });
    expect(pairSlices(partly, test).pairs).toEqual([
      [0, 5],
      [1, -1],
    ]);
  });

  it('in another frame of reference, or without one, compares whole positions as before: nothing coincides, so by order or not at all', () => {
    for (const frame of ['2.25.2', null]) {
      expect(() => pairSlices(stack({ slices: 3, origin: [7, -9, 0], step: 4, frame }), test)).toThrow(/cannot match slices/);
      const sameCount = pairSlices(stack({ slices: 6, origin: [7, -9, 0], frame }), test);
      expect(sameCount).toMatchObject({ matchedBy: 'order', bothPositioned: true });
      expect(sameCount.along).toBeUndefined();
    }
    // The same in-plane origin still pairs in 3-D across frames (what two reconstructions of one scan written with two frame UIDs look like).
    expect(pairSlices(stack({ slices: 3, step: 4, frame: '2.25.2' }), test)).toMatchObject({ matchedBy: 'position', along: '3d' });
  });

  it('does not pair along the normal planes that are not parallel', () => {
    const sagittal = stack({ slices: 6, origin: [0, -25, 25], orientation: SAGITTAL });
    expect(pairSlices(sagittal, test)).toMatchObject({ matchedBy: 'order' });
  });
});
