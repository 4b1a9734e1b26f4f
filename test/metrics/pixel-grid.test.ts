/**
 * pixelGridMismatch: pixel-by-pixel scores need the paired slices' pixels at the same places of
 * the patient; known answers for each way two grids can differ.
 */
import { describe, expect, it } from 'vitest';
import type { Orientation, Series, Vec3 } from '../../src/dicom/index.js';
import { pixelGridMismatch } from '../../src/metrics/slice-pairing.js';

const AXIAL: Orientation = [1, 0, 0, 0, 1, 0];

/** The fields the check reads: matrix, spacing, orientation and each slice's position. */
function series(options: { size?: number; spacing?: number; orientation?: Orientation | null; origin?: Vec3 | null }): Series {
  const { size = 64, spacing = 0.8, orientation = AXIAL, origin = [-25, -25, 0] } = options;
  return {
    rows: size,
    columns: size,
    spacing: [spacing, spacing, 2],
    orientation,
    slices: [{ position: origin }],
  } as unknown as Series;
}

describe('pixelGridMismatch', () => {
  const reference = series({});

  it('passes the same grid and one whose first pixel lies 0.05 pixel away', () => {
    expect(pixelGridMismatch(reference, series({}), [0, 0])).toBeNull();
    expect(pixelGridMismatch(reference, series({ origin: [-25 + 0.04, -25, 0] }), [0, 0])).toBeNull();
  });

  it('names another pixel spacing from the same first pixel, and a matrix of another size', () => {
    expect(pixelGridMismatch(reference, series({ spacing: 0.9 }), [0, 0])).toBe('pixel spacing 0.800 x 0.800 mm against 0.900 x 0.900 mm');
    expect(pixelGridMismatch(reference, series({ size: 128 }), [0, 0])).toBe('matrix 64 x 64 against 128 x 128');
  });

  it('names an in-plane offset in pixels (half a pixel: 0.4 mm on 0.8 mm pixels)', () => {
    expect(pixelGridMismatch(reference, series({ origin: [-25 + 0.4, -25, 0] }), [0, 0])).toBe('the in-plane origins (ImagePositionPatient) differ by 0.50 pixels');
  });

  it('names a mirrored grid and an oblique one', () => {
    // Rows run right to left from the opposite corner: the same field, mirrored.
    const mirrored = series({ orientation: [-1, 0, 0, 0, 1, 0], origin: [-25 + 63 * 0.8, -25, 0] });
    expect(pixelGridMismatch(reference, mirrored, [0, 0])).toMatch(/flipped or turned/);
    const oblique = series({ orientation: [Math.SQRT1_2, Math.SQRT1_2, 0, -Math.SQRT1_2, Math.SQRT1_2, 0] });
    expect(pixelGridMismatch(reference, oblique, [0, 0])).toMatch(/oriented differently/);
  });

  it('without geometry on one side, or paired by order, compares the pixel spacing only', () => {
    expect(pixelGridMismatch(reference, series({ origin: null, orientation: null }), [0, 0])).toBeNull();
    expect(pixelGridMismatch(reference, series({ origin: null, orientation: null, spacing: 0.9 }), [0, 0])).toMatch(/pixel spacing/);
    // Paired by order (positions that do not coincide): a shifted origin is not judged, the spacing is.
    expect(pixelGridMismatch(reference, series({ origin: [0, 0, 500] }), [0, 0], 'order')).toBeNull();
    expect(pixelGridMismatch(reference, series({ origin: [0, 0, 500], spacing: 0.9 }), [0, 0], 'order')).toMatch(/pixel spacing/);
  });
});
