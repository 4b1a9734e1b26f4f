/**
 * Which slice of one series lies where a slice of another does: the pairing that metrics, the
 * denoise reference and the server's comparisons all score by.
 */
import type { Series } from '../dicom/index.js';
import { LowdoseError } from '../errors.js';

export interface SlicePairing {
  readonly matchedBy: 'position' | 'order';
  /** [reference index, test index] in each series' sorted order. */
  readonly pairs: Array<[number, number]>;
  /**
   * Whether both series carry slice positions. Paired by order although they do, no position of
   * one lies at a position of the other: another patient or another part of the body is likelier
   * than a shifted frame of reference.
   */
  readonly bothPositioned: boolean;
}

/**
 * Pairs each reference slice with the test slice at the same ImagePositionPatient (within a
 * quarter of the slice spacing); when either series lacks positions or none coincide, pairs by
 * sorted order, which needs equal slice counts. Reference slices without a partner get -1.
 */
export function pairSlices(reference: Series, test: Series): SlicePairing {
  const hasPositions = (s: Series) => s.slices.every((slice) => slice.position !== null);
  const bothPositioned = hasPositions(reference) && hasPositions(test);
  if (bothPositioned) {
    const spacing = Math.min(reference.spacing[2], test.spacing[2]);
    const tolerance = Math.max(0.01, 0.25 * (spacing > 0 ? spacing : 1));
    const pairs: Array<[number, number]> = reference.slices.map((slice, r) => {
      let best = -1;
      let bestDistance = tolerance;
      test.slices.forEach((candidate, t) => {
        const [x, y, z] = slice.position!;
        const [u, v, w] = candidate.position!;
        const d = Math.hypot(x - u, y - v, z - w);
        if (d <= bestDistance) {
          best = t;
          bestDistance = d;
        }
      });
      return [r, best];
    });
    if (pairs.some(([, t]) => t >= 0)) return { matchedBy: 'position', pairs, bothPositioned };
  }
  if (reference.slices.length !== test.slices.length) {
    throw new LowdoseError(
      'E_USAGE',
      `cannot match slices: no slice positions in common and the reference has ${reference.slices.length} slices but the test ${test.slices.length}`,
    );
  }
  return { matchedBy: 'order', pairs: reference.slices.map((_, i) => [i, i]), bothPositioned };
}
