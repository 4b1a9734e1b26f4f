/**
 * The same place of the patient in panes whose series lie on other pixel grids: a reference with
 * another pixel spacing, field of view (ImagePositionPatient) or slice positions than the low-dose
 * series. ROIs and lengths are drawn in one series' image pixels; to measure the same anatomy in
 * another pane they go through patient coordinates (ImagePositionPatient, ImageOrientationPatient,
 * PixelSpacing; DICOM PS3.3 C.7.6.2.1.1) into that pane's pixels, and the slice a pane shows is the
 * one at the same position along the slice normal. Where that cannot be done (another orientation,
 * no geometry, a region outside the pane's field of view, no slice there) the answer says why, so
 * the readout shows the reason instead of a number for other anatomy.
 *
 * Image pixels as the viewer and `POST /api/measurements.csv` use them: x = column, y = row, (0, 0)
 * the first pixel's corner, so pixel (i, j) has its centre at (i + 0.5, j + 0.5), where
 * ImagePositionPatient puts it.
 */
import type { Orientation, Vec3 } from '../dicom/types.js';
import type { Point, Shape } from './roi-shapes.js';

/** One slice's pixel grid. */
export interface SliceGrid {
  readonly rows: number;
  readonly columns: number;
  /** [row spacing, column spacing], mm (PixelSpacing). */
  readonly pixelSpacing: readonly [number, number];
  /** ImageOrientationPatient; null when the series has none. */
  readonly orientation: Orientation | null;
  /** ImagePositionPatient of this slice (the first pixel's centre), mm; null when it has none. */
  readonly position: Vec3 | null;
}

/** x' = a·x + b·y + c, y' = d·x + e·y + f, image pixels to image pixels. */
export interface PixelAffine {
  readonly a: number;
  readonly b: number;
  readonly c: number;
  readonly d: number;
  readonly e: number;
  readonly f: number;
}

export type UnmatchedReason = 'no-geometry' | 'orientation' | 'outside' | 'no-slice';

export type GridMapping =
  | {
      readonly kind: 'mapped';
      readonly affine: PixelAffine;
      /** The same pixels (within a thousandth of a pixel): the grids are one. */
      readonly identity: boolean;
      /**
       * Signed distance (mm) from the first slice's plane to the second's along the first's
       * normal; null when the pair was taken as one grid for want of geometry.
       */
      readonly planeOffsetMm: number | null;
    }
  | { readonly kind: 'unmatched'; readonly reason: UnmatchedReason };

/** Direction cosines this close to 0 or ±1 count as such (about 0.06°): one scanner writes them with rounding. */
const COSINE_TOLERANCE = 1e-3;
const IDENTITY: PixelAffine = { a: 1, b: 0, c: 0, d: 0, e: 1, f: 0 };

/**
 * How image pixels of slice `from` map into image pixels of slice `to` through patient
 * coordinates, projected onto `to`'s plane. The planes must be parallel and their pixel axes
 * parallel or at right angles (flips and quarter turns keep an ellipse an axis-aligned ellipse);
 * any other orientation is `orientation`. Without positions or orientation on either side two
 * grids of one matrix and pixel spacing are taken as one (a derived series of a source that has no
 * geometry, which the server pairs by order); otherwise `no-geometry`.
 */
export function gridMapping(from: SliceGrid, to: SliceGrid): GridMapping {
  if (!from.position || !from.orientation || !to.position || !to.orientation) {
    const sameMatrix =
      from.rows === to.rows &&
      from.columns === to.columns &&
      Math.abs(from.pixelSpacing[0] - to.pixelSpacing[0]) < 1e-6 &&
      Math.abs(from.pixelSpacing[1] - to.pixelSpacing[1]) < 1e-6;
    const neither = (!from.position || !from.orientation) && (!to.position || !to.orientation);
    return neither && sameMatrix ? { kind: 'mapped', affine: IDENTITY, identity: true, planeOffsetMm: null } : { kind: 'unmatched', reason: 'no-geometry' };
  }
  const rf = unit(from.orientation.slice(0, 3) as unknown as Vec3);
  const cf = unit(from.orientation.slice(3, 6) as unknown as Vec3);
  const rt = unit(to.orientation.slice(0, 3) as unknown as Vec3);
  const ct = unit(to.orientation.slice(3, 6) as unknown as Vec3);
  // How one step along `from`'s row and column directions projects onto `to`'s axes.
  const m = [snap(dot(rf, rt)), snap(dot(cf, rt)), snap(dot(rf, ct)), snap(dot(cf, ct))];
  if (m.some((v) => v === null)) return { kind: 'unmatched', reason: 'orientation' };
  const [m00, m01, m10, m11] = m as [number, number, number, number];
  // A signed permutation: each of `to`'s axes is ± one of `from`'s (else the planes are not parallel).
  if (Math.abs(m00) + Math.abs(m01) !== 1 || Math.abs(m10) + Math.abs(m11) !== 1 || Math.abs(m00) + Math.abs(m10) !== 1) {
    return { kind: 'unmatched', reason: 'orientation' };
  }
  const [rowSpacingFrom, columnSpacingFrom] = from.pixelSpacing;
  const [rowSpacingTo, columnSpacingTo] = to.pixelSpacing;
  const shift = sub(from.position, to.position);
  // Patient point of (x, y): from.position + (x − 0.5)·columnSpacing·row + (y − 0.5)·rowSpacing·column.
  const a = (columnSpacingFrom * m00) / columnSpacingTo;
  const b = (rowSpacingFrom * m01) / columnSpacingTo;
  const c = 0.5 + (dot(shift, rt) - 0.5 * columnSpacingFrom * m00 - 0.5 * rowSpacingFrom * m01) / columnSpacingTo;
  const d = (columnSpacingFrom * m10) / rowSpacingTo;
  const e = (rowSpacingFrom * m11) / rowSpacingTo;
  const f = 0.5 + (dot(shift, ct) - 0.5 * columnSpacingFrom * m10 - 0.5 * rowSpacingFrom * m11) / rowSpacingTo;
  const affine = { a, b, c, d, e, f };
  const identity = (Object.keys(IDENTITY) as Array<keyof PixelAffine>).every((k) => Math.abs(affine[k] - IDENTITY[k]) < 1e-3);
  const normal = cross(rf, cf);
  return { kind: 'mapped', affine, identity, planeOffsetMm: -dot(shift, normal) };
}

/** How two series' slices were paired (src/metrics/slice-pairing.ts pairSlices): at one position, or by sorted order. */
export type MatchedBy = 'position' | 'order';

/**
 * A paired slice's grid as its pairing lets it be compared with its partner's. Paired by order
 * (the two series' positions do not coincide: pairSlices' fallback, another frame of reference
 * among them) ImagePositionPatient and ImageOrientationPatient are not trusted to share a
 * coordinate system with the partner's, so both are left out: gridMapping then takes two grids of
 * one matrix and pixel spacing as one, pixel i of one being pixel i of the other, which is what
 * pixel-by-pixel scoring compares (pixelGridMismatch checks only the spacing then). The one rule
 * by which the scores, the viewer's panes (ROIs, zoom and pan) and the server's exports place a
 * partner slice's pixels; paired by position, the grid as it is (through patient coordinates).
 */
export function gridAsPaired(grid: SliceGrid, matchedBy: MatchedBy): SliceGrid {
  return matchedBy === 'order' ? { ...grid, position: null, orientation: null } : grid;
}

export function mapPoint(t: PixelAffine, p: Point): Point {
  return { x: t.a * p.x + t.b * p.y + t.c, y: t.d * p.x + t.e * p.y + t.f };
}

/** The inverse map (a pane's drawing back into the frame the shapes are kept in). */
export function invertAffine(t: PixelAffine): PixelAffine {
  const det = t.a * t.e - t.b * t.d;
  const a = t.e / det;
  const b = -t.b / det;
  const d = -t.d / det;
  const e = t.a / det;
  return { a, b, c: -(a * t.c + b * t.f), d, e, f: -(d * t.c + e * t.f) };
}

/** The shape at the same patient place in the other grid (an ellipse's axes swap under a quarter turn). */
export function mapShape(shape: Shape, t: PixelAffine): Shape {
  const at = (p: Point) => mapPoint(t, p);
  if (shape.kind === 'ellipse') {
    const { cx, cy, rx, ry } = shape.ellipse;
    const centre = at({ x: cx, y: cy });
    const swapped = Math.abs(t.b) > Math.abs(t.a);
    const ellipse = swapped
      ? { cx: centre.x, cy: centre.y, rx: ry * Math.abs(t.b), ry: rx * Math.abs(t.d) }
      : { cx: centre.x, cy: centre.y, rx: rx * Math.abs(t.a), ry: ry * Math.abs(t.e) };
    return { kind: 'ellipse', ellipse };
  }
  if (shape.kind === 'freehand') return { kind: 'freehand', points: shape.points.map(at) };
  return { kind: shape.kind, from: at(shape.from), to: at(shape.to) };
}

/** The shape's bounding box lies within the image (0..columns, 0..rows), to a hundredth of a pixel. */
export function shapeWithin(shape: Shape, rows: number, columns: number): boolean {
  const box = boundingBox(shape);
  const slack = 0.01;
  return box.x0 >= -slack && box.y0 >= -slack && box.x1 <= columns + slack && box.y1 <= rows + slack;
}

function boundingBox(shape: Shape): { x0: number; y0: number; x1: number; y1: number } {
  if (shape.kind === 'ellipse') {
    const { cx, cy, rx, ry } = shape.ellipse;
    return { x0: cx - rx, y0: cy - ry, x1: cx + rx, y1: cy + ry };
  }
  const points = shape.kind === 'freehand' ? shape.points : [shape.from, shape.to];
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  return { x0: Math.min(...xs), y0: Math.min(...ys), x1: Math.max(...xs), y1: Math.max(...ys) };
}

/** A shape in a pane: where to measure it, or why it is not measured there. */
export type PaneShape =
  | { readonly shape: Shape; readonly reason: null }
  | { readonly shape: null; readonly reason: UnmatchedReason; readonly offsetMm?: number };

/**
 * `shape`, drawn in slice `from`'s pixels, in slice `to`'s pixels. Not measured: `outside` when it
 * lay within `from`'s image but reaches out of `to`'s (a reference of a smaller field of view: its
 * numbers would be over part of the region only); `no-slice` when `to`'s plane lies more than
 * `planeToleranceMm` from `from`'s (the pane shows its nearest slice, another section of the
 * patient). A shape already reaching out of `from`'s image is mapped as it is (each pane then leaves
 * out what lies outside its own image, as before).
 */
export function shapeInPane(shape: Shape, from: SliceGrid, to: SliceGrid, planeToleranceMm = Infinity): PaneShape {
  const mapping = gridMapping(from, to);
  if (mapping.kind === 'unmatched') return { shape: null, reason: mapping.reason };
  if (mapping.planeOffsetMm !== null && Math.abs(mapping.planeOffsetMm) > planeToleranceMm) return { shape: null, reason: 'no-slice', offsetMm: mapping.planeOffsetMm };
  if (mapping.identity) return { shape, reason: null };
  const mapped = mapShape(shape, mapping.affine);
  if (shape.kind !== 'length' && shapeWithin(shape, from.rows, from.columns) && !shapeWithin(mapped, to.rows, to.columns)) return { shape: null, reason: 'outside' };
  return { shape: mapped, reason: null };
}

/** `shapeInPane` as the measurement table takes it (`TablePane.place` of ./roi-shapes.ts): the shape, or the reason as the readout says it. */
export function placeWithNote(from: SliceGrid, to: SliceGrid, planeToleranceMm = Infinity): (shape: Shape) => { shape: Shape; note: null } | { shape: null; note: string } {
  return (shape) => {
    const placed = shapeInPane(shape, from, to, planeToleranceMm);
    return placed.shape ? { shape: placed.shape, note: null } : { shape: null, note: unmatchedText(placed) };
  };
}

/** What a readout says instead of a number. */
export function unmatchedText(placed: { reason: UnmatchedReason; offsetMm?: number }): string {
  switch (placed.reason) {
    case 'no-geometry':
      return 'not measured: no slice geometry to place the ROI in this series';
    case 'orientation':
      return 'not measured: this series has another orientation';
    case 'outside':
      return "not measured: the ROI reaches outside this series' field of view";
    case 'no-slice':
      return placed.offsetMm === undefined
        ? 'not measured: this series has no slice at this position'
        : `not measured: this series' nearest slice is ${Math.abs(placed.offsetMm).toFixed(1)} mm away`;
  }
}

/** The slice of the other stack for each slice of the first, and how far its plane lies from it. */
export interface StackPairing {
  /** The other stack's nearest slice whose slab (half its slice spacing either side) holds the plane; -1 none. */
  readonly nearest: number[];
  /** Signed distance (mm, along the first stack's normal) to that slice; NaN where none. */
  readonly offsetMm: number[];
  /**
   * Planes this close (a quarter of the smaller slice spacing, as src/metrics/slice-pairing.ts) are
   * the same section: a readout is measured there, else it says how far the nearest slice is.
   */
  readonly toleranceMm: number;
}

/** The stack's slices: each one's ImagePositionPatient (null: unknown), the series' orientation and its frame of reference. */
export interface StackGeometry {
  readonly orientation: Orientation | null;
  readonly positions: ReadonlyArray<Vec3 | null>;
  /** FrameOfReferenceUID; null or absent when unknown (then no pairing along the normal). */
  readonly frameOfReferenceUid?: string | null;
}

/**
 * Whether two series' ImagePositionPatient are one coordinate system: both name the same
 * non-empty FrameOfReferenceUID. Positions of two frames (another patient, another scan) may
 * coincide along the slice normal by chance, so slices are paired along the normal only within one
 * frame: the rule of src/metrics/slice-pairing.ts pairSlices, and of slicesAlongNormal, which the
 * viewer and the server's exports pair by.
 */
export function sameFrameOfReference(a: string | null | undefined, b: string | null | undefined): boolean {
  return !!a && a === b;
}

/**
 * For each slice of `from`, the slice of `to` nearest along `from`'s normal whose slab (half its
 * slice spacing either side) holds that plane: by patient position along the normal only, so a
 * reference of another field of view (whose ImagePositionPatient differs across the plane, which
 * src/metrics/slice-pairing.ts pairs the same way) or of other slice spacing pairs with the section
 * it shows. Null when the two do not share a frame of reference (sameFrameOfReference, as
 * pairSlices), either stack lacks positions or orientation, or their planes are not parallel: then
 * the caller keeps the server's pairing (pairSlices: across frames the whole position).
 */
export function slicesAlongNormal(from: StackGeometry, to: StackGeometry): StackPairing | null {
  if (!sameFrameOfReference(from.frameOfReferenceUid, to.frameOfReferenceUid)) return null;
  if (!from.orientation || !to.orientation) return null;
  if (from.positions.length === 0 || to.positions.length === 0) return null;
  if (from.positions.some((p) => p === null) || to.positions.some((p) => p === null)) return null;
  const nf = cross(unit(from.orientation.slice(0, 3) as unknown as Vec3), unit(from.orientation.slice(3, 6) as unknown as Vec3));
  const nt = cross(unit(to.orientation.slice(0, 3) as unknown as Vec3), unit(to.orientation.slice(3, 6) as unknown as Vec3));
  if (Math.abs(Math.abs(dot(nf, nt)) - 1) > COSINE_TOLERANCE) return null;
  const along = (positions: ReadonlyArray<Vec3 | null>) => positions.map((p) => dot(p!, nf));
  const zf = along(from.positions);
  const zt = along(to.positions);
  // One slice has no spacing of its own: the other stack's, else 1 mm.
  const spacingFrom = smallestSliceStep(zf);
  const spacingTo = smallestSliceStep(zt);
  const smaller = Math.min(spacingFrom, spacingTo);
  const toleranceMm = Math.max(0.01, 0.25 * (Number.isFinite(smaller) ? smaller : 1));
  const slab = Math.max(toleranceMm, 0.5 * (Number.isFinite(spacingTo) ? spacingTo : smaller) + 1e-6);
  const nearest: number[] = [];
  const offsetMm: number[] = [];
  for (const z of zf) {
    let best = -1;
    let bestDistance = Infinity;
    zt.forEach((w, j) => {
      const distance = Math.abs(w - z);
      if (distance < bestDistance) {
        best = j;
        bestDistance = distance;
      }
    });
    const inside = best >= 0 && bestDistance <= slab;
    nearest.push(inside ? best : -1);
    offsetMm.push(inside ? zt[best]! - z : Number.NaN);
  }
  return { nearest, offsetMm, toleranceMm };
}

/**
 * The smallest distance between neighbouring slice locations (positions along the normal), steps
 * of 1 µm or less (duplicates) left out; Infinity for one slice. The scale "the same position" is
 * judged on: a series whose slices are 6 mm apart in one place has slices 6 mm apart, whatever
 * its median spacing.
 */
export function smallestSliceStep(locations: readonly number[]): number {
  const sorted = [...locations].sort((p, q) => p - q);
  let smallest = Infinity;
  for (let i = 1; i < sorted.length; i++) {
    const step = sorted[i]! - sorted[i - 1]!;
    if (step > 1e-3 && step < smallest) smallest = step;
  }
  return smallest;
}

function snap(v: number): number | null {
  for (const target of [-1, 0, 1]) if (Math.abs(v - target) <= COSINE_TOLERANCE) return target;
  return null;
}

function dot(p: Vec3, q: Vec3): number {
  return p[0] * q[0] + p[1] * q[1] + p[2] * q[2];
}

function sub(p: Vec3, q: Vec3): Vec3 {
  return [p[0] - q[0], p[1] - q[1], p[2] - q[2]];
}

function cross(p: Vec3, q: Vec3): Vec3 {
  return [p[1] * q[2] - p[2] * q[1], p[2] * q[0] - p[0] * q[2], p[0] * q[1] - p[1] * q[0]];
}

function unit(p: Vec3): Vec3 {
  const n = Math.hypot(p[0], p[1], p[2]) || 1;
  return [p[0] / n, p[1] / n, p[2] / n];
}
