/**
 * Which slice of one series lies where a slice of another does: the pairing that metrics, the
 * denoise reference and the server's comparisons all score by.
 */
import type { Series, Vec3 } from '../dicom/index.js';
import { sliceNormal } from '../dicom/series.js';
import { LowdoseError } from '../errors.js';
import { sameFrameOfReference, smallestSliceStep, type MatchedBy, type SliceGrid } from './grid-mapping.js';
import { sliceGridMismatch } from './pixel-grid.js';

export interface SlicePairing {
  readonly matchedBy: MatchedBy;
  /** [reference index, test index] in each series' sorted order. */
  readonly pairs: Array<[number, number]>;
  /**
   * Whether both series carry slice positions. Paired by order although they do, no position of
   * one lies at a position of the other: another patient or another part of the body is likelier
   * than a shifted frame of reference.
   */
  readonly bothPositioned: boolean;
  /**
   * How positions were compared when matchedBy is 'position': 'normal' along the common slice
   * normal (one FrameOfReferenceUID, parallel planes: a reference of another field of view pairs
   * with the sections it shows), else '3d' (the whole ImagePositionPatient). Absent when paired by order.
   */
  readonly along?: 'normal' | '3d';
}

/**
 * Pairs each reference slice with the test slice at the same position (within a quarter of the
 * slice spacing: the smaller of either series' median spacing and its smallest gap between
 * neighbouring slices; along the slices' normal also within a quarter of either SliceThickness);
 * when either series lacks positions or none coincide, pairs by sorted order,
 * which needs equal slice counts. Reference slices without a partner get -1.
 *
 * Within one frame of reference (both series name the same FrameOfReferenceUID) and parallel
 * slice planes, the position compared is the one along the slice normal: a reference
 * reconstructed with another field of view or in-plane origin then pairs with the sections it
 * shows (pixelGridMismatch says that its pixels lie elsewhere). Otherwise the whole
 * ImagePositionPatient is compared: another patient's scan (another frame) whose table positions
 * happen to coincide along the normal must not be paired with this one.
 */
export function pairSlices(reference: Series, test: Series): SlicePairing {
  const hasPositions = (s: Series) => s.slices.every((slice) => slice.position !== null);
  const bothPositioned = hasPositions(reference) && hasPositions(test);
  if (bothPositioned) {
    // The smallest gap between neighbouring slices, not only the median spacing (spacing[2]): on a
    // series with irregular gaps (the sparse Mayo slices: 6 mm in one place, a median of 51 mm)
    // a quarter of the median would pair a reference slice whose own partner is missing with the
    // test's neighbouring section 6 mm away, and score the two as one place.
    const spacing = Math.min(reference.spacing[2], test.spacing[2], smallestStepAlongNormal(reference), smallestStepAlongNormal(test));
    // And, along the slices' normal, the slice thickness: on sparse slices (the Mayo L192 B30f
    // and D45f series, 3 mm thick, 18 mm and more apart) a quarter of the smallest gap (4.5 mm)
    // paired a B30f slice with a D45f slice 4 mm away, two sections that share no tissue, and
    // scored them as one place. Only along the normal: an in-plane offset is no other section
    // (a reference 3 pixels aside pairs, and the grid check refuses it by its origin).
    const section = Math.min(spacing, thicknessOf(reference), thicknessOf(test));
    const tolerance = Math.max(0.01, 0.25 * (spacing > 0 ? spacing : 1));
    const sectionTolerance = Math.max(0.01, 0.25 * (section > 0 ? section : 1));
    const normal = commonNormal(reference, test);
    // Across frames of reference (or planes not parallel) the 3-D distance, within the spacing's
    // tolerance, and its part along the reference's normal (where it has one) within the section's.
    const ownNormal = reference.orientation ? sliceNormal(reference.orientation) : null;
    const along = (n: Vec3, p: Vec3, q: Vec3) => Math.abs((p[0] - q[0]) * n[0] + (p[1] - q[1]) * n[1] + (p[2] - q[2]) * n[2]);
    const distance: (p: Vec3, q: Vec3) => number = normal
      ? (p, q) => {
          const d = along(normal, p, q);
          return d <= sectionTolerance ? d : Infinity;
        }
      : (p, q) => (ownNormal && along(ownNormal, p, q) > sectionTolerance ? Infinity : Math.hypot(p[0] - q[0], p[1] - q[1], p[2] - q[2]));
    const pairs: Array<[number, number]> = reference.slices.map((slice, r) => {
      let best = -1;
      let bestDistance = tolerance;
      test.slices.forEach((candidate, t) => {
        const d = distance(slice.position!, candidate.position!);
        if (d <= bestDistance) {
          best = t;
          bestDistance = d;
        }
      });
      return [r, best];
    });
    if (pairs.some(([, t]) => t >= 0)) return { matchedBy: 'position', pairs, bothPositioned, along: normal ? 'normal' : '3d' };
  }
  if (reference.slices.length !== test.slices.length) {
    throw new LowdoseError(
      'E_USAGE',
      `cannot match slices: no slice positions in common and the reference has ${reference.slices.length} slices but the test ${test.slices.length}`,
    );
  }
  return { matchedBy: 'order', pairs: reference.slices.map((_, i) => [i, i]), bothPositioned };
}

/** The series' SliceThickness, Infinity when it has none (old files, a Series built without it). */
function thicknessOf(series: Series): number {
  const t = series.sliceThickness;
  return t !== undefined && t !== null && t > 0 ? t : Infinity;
}

/** The smallest gap between neighbouring slices along the series' own normal; Infinity without an orientation or with one slice. */
function smallestStepAlongNormal(series: Series): number {
  if (!series.orientation) return Infinity;
  const n = sliceNormal(series.orientation);
  return smallestSliceStep(series.slices.map((slice) => slice.position![0] * n[0] + slice.position![1] * n[1] + slice.position![2] * n[2]));
}

/** Normals this close to parallel (|cos| within 1e-3 of 1, about 2.6°) are one slice direction. */
const PARALLEL_TOLERANCE = 1e-3;

/**
 * The reference's unit slice normal when both series lie in one frame of reference (the same
 * non-empty FrameOfReferenceUID) and their planes are parallel (either way round); else null.
 */
function commonNormal(reference: Series, test: Series): Vec3 | null {
  if (!sameFrameOfReference(reference.frameOfReferenceUid, test.frameOfReferenceUid)) return null;
  if (!reference.orientation || !test.orientation) return null;
  const n = sliceNormal(reference.orientation);
  const m = sliceNormal(test.orientation);
  return Math.abs(Math.abs(n[0] * m[0] + n[1] * m[1] + n[2] * m[2]) - 1) <= PARALLEL_TOLERANCE ? n : null;
}

/**
 * Why two series' paired slices (`pair`: [reference index, test index]) do not share one pixel
 * grid, or null when they do: pixel-by-pixel scores (PSNR, SSIM, RMSE, the noise transfer) compare
 * pixel i of one with pixel i of the other, which is the same place of the patient only when
 * PixelSpacing, ImageOrientationPatient and the in-plane origin agree. Slice pairing alone does
 * not say so: it matches ImagePositionPatient within a quarter of the slice spacing (only along the
 * normal within one frame of reference), so a reference resampled to 0.9 mm pixels from the same
 * origin, or one shifted by half a pixel, paired by position and was scored as if aligned (PSNR
 * 11.6 dB on the Mayo L192 series). The two slices' grids checked by sliceGridMismatch
 * (./pixel-grid.ts: every pixel within SAME_GRID_TOLERANCE_PX of the same pixel of the other, the
 * rule of the difference pane too). Where one side has no geometry, or the pair was matched by
 * order, only the pixel spacing is checked.
 */
export function pixelGridMismatch(reference: Series, test: Series, pair: readonly [number, number], matchedBy: SlicePairing['matchedBy'] = 'position'): string | null {
  const [r, t] = pair;
  return sliceGridMismatch(seriesSliceGrid(test, t), seriesSliceGrid(reference, r), matchedBy);
}

/** Slice `k`'s pixel grid (its position null where it has none). */
export function seriesSliceGrid(s: Series, k: number): SliceGrid {
  return {
    rows: s.rows,
    columns: s.columns,
    pixelSpacing: [s.spacing[0], s.spacing[1]],
    orientation: s.orientation,
    position: s.slices[k]?.position ?? null,
  };
}

/**
 * Whether the slices `pairing` paired lie on one pixel grid: pixelGridMismatch on the first
 * reference slice with a partner, under the pairing's own matchedBy (paired by order, the pixel
 * spacing alone). The one rule by which `lowdose metrics`, `denoise --reference` and the server's
 * metrics API decide to score a reference pixel by pixel, so a pair one of them scores the others
 * score too. Null when they do (or when nothing was paired).
 */
export function pairingGridMismatch(reference: Series, test: Series, pairing: Pick<SlicePairing, 'pairs' | 'matchedBy'>): string | null {
  const first = pairing.pairs.find(([, t]) => t >= 0);
  return first ? pixelGridMismatch(reference, test, first, pairing.matchedBy) : null;
}
