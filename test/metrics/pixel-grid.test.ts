/**
 * pixelGridMismatch: pixel-by-pixel scores need the paired slices' pixels at the same places of
 * the patient; known answers for each way two grids can differ.
 */
import { describe, expect, it } from 'vitest';
import type { Orientation, Series, Vec3 } from '../../src/dicom/index.js';
import type { MatchedBy, SliceGrid } from '../../src/metrics/grid-mapping.js';
import { pixelGridMismatch } from '../../src/metrics/slice-pairing.js';
import { differenceRefusal } from '../../src/server/difference-pane.js';

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

/** The series' only slice as the difference pane takes it. */
function gridOf(s: Series): SliceGrid {
  return { rows: s.rows, columns: s.columns, pixelSpacing: [s.spacing[0], s.spacing[1]], orientation: s.orientation, position: s.slices[0]!.position };
}

describe('the difference pane subtracts exactly the pairs the scores score (one rule, sliceGridMismatch)', () => {
  const reference = series({});
  // Offsets along the rows in pixels of 0.8 mm: below, at and past SAME_GRID_TOLERANCE_PX.
  const shifted = (pixels: number) => series({ origin: [-25 + pixels * 0.8, -25, 0] });
  const cases: Array<{ name: string; test: Series; matchedBy: MatchedBy; scored: boolean }> = [
    { name: 'the same grid', test: series({}), matchedBy: 'position', scored: true },
    { name: '0.05 pixel off', test: shifted(0.05), matchedBy: 'position', scored: true },
    { name: '0.09 pixel off', test: shifted(0.09), matchedBy: 'position', scored: true },
    { name: '0.11 pixel off', test: shifted(0.11), matchedBy: 'position', scored: false },
    { name: '0.5 pixel off', test: shifted(0.5), matchedBy: 'position', scored: false },
    // 64 pixels of 0.8001 mm drift 0.008 pixel by the far corner; of 0.802 mm, 0.16 pixel.
    { name: 'spacing 0.8001 mm', test: series({ spacing: 0.8001 }), matchedBy: 'position', scored: true },
    { name: 'spacing 0.802 mm', test: series({ spacing: 0.802 }), matchedBy: 'position', scored: false },
    { name: 'by order, spacing 0.8001 mm elsewhere', test: series({ origin: [0, 0, 500], spacing: 0.8001 }), matchedBy: 'order', scored: true },
    { name: 'by order, spacing 0.802 mm elsewhere', test: series({ origin: [0, 0, 500], spacing: 0.802 }), matchedBy: 'order', scored: false },
    { name: 'no geometry on one side', test: series({ origin: null, orientation: null }), matchedBy: 'position', scored: true },
    { name: 'another matrix', test: series({ size: 128 }), matchedBy: 'position', scored: false },
    { name: 'mirrored', test: series({ orientation: [-1, 0, 0, 0, 1, 0], origin: [-25 + 63 * 0.8, -25, 0] }), matchedBy: 'position', scored: false },
  ];

  it.each(cases)('$name: scored $scored, differenced $scored, refused in the scores\' words', ({ test, matchedBy, scored }) => {
    const mismatch = pixelGridMismatch(reference, test, [0, 0], matchedBy);
    expect(mismatch === null).toBe(scored);
    expect(differenceRefusal(gridOf(test), gridOf(reference), matchedBy, null)).toBe(scored ? null : `no difference: ${mismatch}`);
  });

  it('names half a pixel of in-plane offset in the footer as the scores name it', () => {
    expect(differenceRefusal(gridOf(shifted(0.5)), gridOf(reference), 'position', null)).toBe('no difference: the in-plane origins (ImagePositionPatient) differ by 0.50 pixels');
    expect(differenceRefusal(gridOf(series({ size: 128 })), gridOf(reference), 'position', null)).toBe('no difference: matrix 64 x 64 against 128 x 128');
  });
});
