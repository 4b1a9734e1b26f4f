/**
 * Which reference slice the viewer's difference pane subtracts from the denoised slice, and what it
 * says where it subtracts none (viewer/src/pane-geometry.ts differenceSlices): pixel by pixel only
 * on one pixel grid as the pair was paired (differenceRefusal of src/server/difference-pane.ts, the
 * rule of the server's figure). A reference of another FrameOfReferenceUID is paired by the server
 * (pairSlices: whole positions, else by order), not along the normal; its grid is checked all the same.
 */
import { describe, expect, it } from 'vitest';
import { differenceSlices } from '../../viewer/src/pane-geometry.js';
import type { SeriesDetail } from '../../viewer/src/api.js';

const ORIGIN = [-33.25, -33.25] as const;
const Z = [0, 2, 4];
/** The footer of a reference whose in-plane origin lies `pixels` off, in the scores' words (sliceGridMismatch). */
const offBy = (pixels: string) => `no difference: the in-plane origins (ImagePositionPatient) differ by ${pixels} pixels`;

function series(id: string, facts: { spacing?: number; size?: number; origin?: readonly [number, number]; orientation?: number[]; frame?: string; z?: number[] } = {}): SeriesDetail {
  const spacing = facts.spacing ?? 0.7;
  const size = facts.size ?? 96;
  const [x, y] = facts.origin ?? ORIGIN;
  return {
    id,
    rows: size,
    columns: size,
    spacing: [spacing, spacing, 2],
    orientation: facts.orientation ?? [1, 0, 0, 0, 1, 0],
    positions: (facts.z ?? Z).map((z) => [x, y, z]),
    frameOfReferenceUid: facts.frame ?? '2.25.8001',
  } as unknown as SeriesDetail;
}

const denoised = series('denoised');
const identityMap = [0, 1, 2];
/** The server's pairing of a reference of another frame (no pairing along the normal). */
const byServer = (matchedBy: 'position' | 'order') => ({ map: identityMap, offsetMm: null, matchedBy });

describe('the difference pane against a reference of another frame of reference', () => {
  it('subtracts a reference paired by 3-D position on the very pixel grid', () => {
    expect(differenceSlices(denoised, identityMap, series('ref', { frame: '2.25.8002' }), byServer('position'))).toEqual({ slices: [0, 1, 2], notes: [null, null, null] });
  });

  it('subtracts nothing from a reference paired by 3-D position whose in-plane origin lies 3 pixels off, and says why as the figure does', () => {
    const shifted = series('ref', { frame: '2.25.8002', origin: [ORIGIN[0] + 2.1, ORIGIN[1]] });
    expect(differenceSlices(denoised, identityMap, shifted, byServer('position'))).toEqual({ slices: [-1, -1, -1], notes: Array(3).fill(offBy('3.00')) });
  });

  it('subtracts nothing from a reference paired by 3-D position with other pixel spacing, matrix or a mirrored grid', () => {
    const others = [
      series('ref', { frame: '2.25.8002', spacing: 0.9 }),
      series('ref', { frame: '2.25.8002', size: 64 }),
      // Mirrored left-right: the first pixel at the other end of the row, rows running the other way.
      series('ref', { frame: '2.25.8002', orientation: [-1, 0, 0, 0, 1, 0], origin: [ORIGIN[0] + 95 * 0.7, ORIGIN[1]] }),
    ];
    for (const other of others) expect(differenceSlices(denoised, identityMap, other, byServer('position'))!.slices).toEqual([-1, -1, -1]);
  });

  it('subtracts a reference paired by order pixel for pixel where matrix and pixel spacing agree (as it is scored), and not where the spacing differs', () => {
    const elsewhere = series('ref', { frame: '2.25.8002', origin: [ORIGIN[0] + 5, ORIGIN[1] + 3] });
    expect(differenceSlices(denoised, identityMap, elsewhere, byServer('order'))!.slices).toEqual([0, 1, 2]);
    const coarser = series('ref', { frame: '2.25.8002', origin: [ORIGIN[0] + 5, ORIGIN[1] + 3], spacing: 0.9 });
    expect(differenceSlices(denoised, identityMap, coarser, byServer('order'))).toEqual({ slices: [-1, -1, -1], notes: Array(3).fill('no difference: pixel spacing 0.900 x 0.900 mm against 0.700 x 0.700 mm') });
  });

  it('leaves slices without a reference or denoised partner blank without a note', () => {
    const shifted = series('ref', { frame: '2.25.8002', origin: [ORIGIN[0] + 2.1, ORIGIN[1]] });
    expect(differenceSlices(denoised, [0, -1, 2], shifted, { map: [0, 1, -1], offsetMm: null, matchedBy: 'position' })).toEqual({ slices: [-1, -1, -1], notes: [offBy('3.00'), null, null] });
  });
});

describe('the difference pane against a reference paired along the normal (one frame of reference)', () => {
  it('subtracts the same section on the same grid, and names the distance to a slice of another section', () => {
    const reference = series('ref');
    expect(differenceSlices(denoised, identityMap, reference, { map: identityMap, offsetMm: [0, 0, 2], planeToleranceMm: 0.5, matchedBy: 'position' })).toEqual({
      slices: [0, 1, -1],
      notes: [null, null, 'no difference: the nearest reference slice is 2.0 mm away'],
    });
  });

  it('subtracts nothing from a reference of another field of view in that frame', () => {
    const shifted = series('ref', { origin: [ORIGIN[0] + 2.1, ORIGIN[1] + 1.4] });
    expect(differenceSlices(denoised, identityMap, shifted, { map: identityMap, offsetMm: [0, 0, 0], planeToleranceMm: 0.5, matchedBy: 'position' })!.notes).toEqual(Array(3).fill(offBy('3.61')));
  });
});
