/**
 * Where a pane's slice lies in the patient, from its series' facts (`GET /api/series/:id`), for
 * src/metrics/grid-mapping.ts: ROIs are kept in the low-dose series' image pixels and each pane
 * measures and draws them moved onto its own grid, so a reference of another pixel spacing or
 * field of view is read over the same anatomy.
 */
import type { SeriesDetail } from './api.js';
import { gridAsPaired, gridMapping, invertAffine, mapPoint, mapShape, placeWithNote, shapeInPane, slicesAlongNormal, unmatchedText, type MatchedBy, type PaneShape, type PixelAffine, type SliceGrid, type StackGeometry, type StackPairing } from '../../src/metrics/grid-mapping.js';
import type { Point, Shape } from '../../src/metrics/roi-shapes.js';
import { differenceRefusal } from './difference.js';

export { placeWithNote, unmatchedText, type MatchedBy, type PaneShape, type SliceGrid };

export function stackOf(series: SeriesDetail): StackGeometry {
  // A server older than `positions` / `frameOfReferenceUid` sends none: no pairing along the normal, so the server's pairing stays.
  return { orientation: series.orientation, positions: series.positions ?? [], frameOfReferenceUid: series.frameOfReferenceUid ?? null };
}

export function sliceGrid(series: SeriesDetail, slice: number): SliceGrid {
  return { rows: series.rows, columns: series.columns, pixelSpacing: [series.spacing[0], series.spacing[1]], orientation: series.orientation, position: series.positions?.[slice] ?? null };
}

/** The pane series' slice for each low-dose slice by position along the normal, or null (then the server's pairing). */
export function pairAlongNormal(lowDose: SeriesDetail, other: SeriesDetail): StackPairing | null {
  return other.id === lowDose.id ? null : slicesAlongNormal(stackOf(lowDose), stackOf(other));
}

/** Where a pane measures a shape kept in low-dose pixels: `frame` the low-dose slice, `grid` the pane's. */
export interface PanePlacement {
  readonly frame: SliceGrid;
  readonly grid: SliceGrid;
  /** How far the pane's plane may lie from the low-dose slice's and still be that section, mm. */
  readonly toleranceMm: number;
}

/**
 * The placement of a pane's slice `slice` of `series` beside low-dose slice `index`: both grids as
 * their pairing compares them (gridAsPaired, the scores' rule): paired by order, pixel for pixel
 * whatever the two series' positions say, so an ROI reads the reference pixels that are scored.
 */
export function panePlacement(lowDose: SeriesDetail, index: number, series: SeriesDetail, slice: number, toleranceMm: number, matchedBy: MatchedBy): PanePlacement {
  return { frame: gridAsPaired(sliceGrid(lowDose, index), matchedBy), grid: gridAsPaired(sliceGrid(series, slice), matchedBy), toleranceMm };
}

export function placeShape(shape: Shape, placement: PanePlacement): PaneShape {
  return shapeInPane(shape, placement.frame, placement.grid, placement.toleranceMm);
}

/** A shape drawn in a pane's pixels, in low-dose pixels (the frame shapes are kept in); null when the grids do not map. */
export function shapeToFrame(shape: Shape, placement: PanePlacement): Shape | null {
  const mapping = gridMapping(placement.frame, placement.grid);
  if (mapping.kind !== 'mapped') return null;
  return mapping.identity ? shape : mapShape(shape, invertAffine(mapping.affine));
}

/** A point of a pane's pixels in low-dose pixels; null when the grids do not map. */
export function pointToFrame(point: Point, placement: PanePlacement): Point | null {
  const shape = shapeToFrame({ kind: 'length', from: point, to: point }, placement);
  return shape?.kind === 'length' ? shape.from : null;
}

/** A point kept in low-dose pixels, in a pane's pixels, or why it has no place there. */
export function pointInPane(point: Point, placement: PanePlacement): { point: Point; reason: null } | { point: null; reason: string } {
  const placed = placeShape({ kind: 'length', from: point, to: point }, placement);
  return placed.shape?.kind === 'length' ? { point: placed.shape.from, reason: null } : { point: null, reason: placed.shape ? '' : unmatchedText(placed) };
}

/**
 * How cornerstone turns a pane's image on screen: flipped first (hflip mirrors left-right, vflip
 * top-bottom), then turned `rotation` degrees clockwise. A pane on a grid mirrored or turned by
 * quarter turns against the low-dose one gets the turn that shows its anatomy the way the
 * low-dose pane shows it.
 */
export interface PaneTurn {
  readonly rotation: number;
  readonly hflip: boolean;
  readonly vflip: boolean;
}

/** A pane's zoom and pan as cornerstone keeps them: screen pixels per image pixel (of the smaller spacing), and the image's shift in image pixels; its turn when known. */
export interface PaneView extends Partial<PaneTurn> {
  readonly scale: number;
  readonly translation: { readonly x: number; readonly y: number };
}

/** What `followView` needs of a pane: its image size and where it lies against the low-dose slice. */
export interface ViewPane {
  readonly rows: number;
  readonly columns: number;
  readonly placement: PanePlacement | null;
}

/** A 2 x 2 matrix [[m00, m01], [m10, m11]] acting on (x, y) image or screen displacements (y down). */
type Matrix2 = readonly [number, number, number, number];

/** Screen displacement from an image displacement under a turn (scale aside): R(rotation) · F. */
export function turnMatrix(turn: Partial<PaneTurn>): Matrix2 {
  const angle = ((turn.rotation ?? 0) * Math.PI) / 180;
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  const h = turn.hflip ? -1 : 1;
  const v = turn.vflip ? -1 : 1;
  return [c * h, -s * v, s * h, c * v];
}

/** The turn whose matrix is the signed permutation `m` (a quarter turn, or one mirrored: hflip then a turn). */
function turnOf(m: Matrix2): PaneTurn {
  const det = m[0] * m[3] - m[1] * m[2];
  // Mirrored: m = R · diag(−1, 1), so R = m · diag(−1, 1).
  const [r00, r10] = det < 0 ? [-m[0], -m[2]] : [m[0], m[2]];
  const rotation = (Math.round((Math.atan2(r10, r00) * 180) / Math.PI / 90) * 90 + 360) % 360;
  return { rotation, hflip: det < 0, vflip: false };
}

function multiply(p: Matrix2, q: Matrix2): Matrix2 {
  return [p[0] * q[0] + p[1] * q[2], p[0] * q[1] + p[1] * q[3], p[2] * q[0] + p[3] * q[2], p[2] * q[1] + p[3] * q[3]];
}

function apply(m: Matrix2, p: Point): Point {
  return { x: m[0] * p.x + m[1] * p.y, y: m[2] * p.x + m[3] * p.y };
}

/** A rotation-and-flip matrix's inverse (its transpose). */
function transpose(m: Matrix2): Matrix2 {
  return [m[0], m[2], m[1], m[3]];
}

/** The signed permutation of a grid map's linear part (each entry −1, 0 or 1): which way each pixel axis goes. */
function axesOf(t: PixelAffine): Matrix2 {
  const sign = (v: number, other: number) => (Math.abs(v) > Math.abs(other) ? Math.sign(v) : 0);
  return [sign(t.a, t.b), sign(t.b, t.a), sign(t.d, t.e), sign(t.e, t.d)];
}

/**
 * The zoom, pan and turn that show, in `to`, the same patient place at the canvas centre, the same
 * millimetres per screen pixel and the anatomy the same way up as `view` shows in `from`: panes of
 * another pixel spacing or field of view then show the same anatomy the same size in the same
 * place, and a pane whose grid is mirrored or turned by quarter turns against `from`'s is flipped
 * or turned back. cornerstone draws image point p at canvas centre + scale·(translation +
 * R·F·(p − size / 2)) (R the turn, F the flips; scaled up along the coarser pixel axis), so the
 * canvas centre shows p = size / 2 − (R·F)⁻¹·translation and a millimetre is
 * scale / (smaller pixel spacing) screen pixels. Where the grids do not map, the view as it is (the
 * same image pixels, as cornerstone-tools' pan / zoom synchroniser copies them), with no turn.
 */
export function followView(view: PaneView, from: ViewPane, to: ViewPane): PaneView {
  const copy = { scale: view.scale, translation: { x: view.translation.x, y: view.translation.y } };
  if (!from.placement || !to.placement) return copy;
  const out = gridMapping(from.placement.frame, from.placement.grid);
  const into = gridMapping(to.placement.frame, to.placement.grid);
  if (out.kind !== 'mapped' || into.kind !== 'mapped') return copy;
  const turned = (view.rotation ?? 0) % 360 !== 0 || view.hflip === true || view.vflip === true;
  if (out.identity && into.identity && !turned) return copy;
  // Screen ← `to` pixels = screen ← `from` pixels · `from` ← low-dose · low-dose ← `to` (axes only: the scale is apart).
  const fromTurn = turnMatrix(view);
  const toTurnMatrix = multiply(multiply(fromTurn, axesOf(out.affine)), transpose(axesOf(into.affine)));
  const toTurn = turnOf(toTurnMatrix);
  const shift = apply(transpose(fromTurn), view.translation);
  const centre = { x: from.columns / 2 - shift.x, y: from.rows / 2 - shift.y };
  const there = mapPoint(into.affine, mapPoint(invertAffine(out.affine), centre));
  const translation = apply(turnMatrix(toTurn), { x: to.columns / 2 - there.x, y: to.rows / 2 - there.y });
  const finest = (p: PanePlacement) => Math.min(p.grid.pixelSpacing[0], p.grid.pixelSpacing[1]);
  return { scale: (view.scale * finest(to.placement)) / finest(from.placement), translation, ...toTurn };
}

/**
 * ImageOrientationPatient as the pane shows it under `turn`: the patient directions of screen
 * right and screen down (what the edge letters name), from the series' row and column directions.
 */
export function displayedOrientation(orientation: readonly number[] | null, turn: Partial<PaneTurn>): number[] | null {
  if (!orientation || orientation.length !== 6) return orientation ? [...orientation] : null;
  const m = turnMatrix(turn);
  // Screen right e_x is image displacement (R·F)ᵀ·e_x = (m00, m01); screen down (m10, m11).
  const along = (u: number, v: number) => [0, 1, 2].map((k) => u * orientation[k]! + v * orientation[k + 3]!);
  const clean = (values: number[]) => values.map((x) => (Math.abs(x) < 1e-12 ? 0 : x));
  return [...clean(along(m[0], m[1])), ...clean(along(m[2], m[3]))];
}

/** A pane series' slice for each low-dose slice and how it was paired (the viewer's `paired` in ./viewer.ts). */
export interface PanePairing {
  /** Its slice for each low-dose slice, -1 none. */
  readonly map: readonly number[] | null;
  /** Paired along the normal: how far each slice's plane lies from the low-dose one's (mm), and the tolerance; else null / undefined. */
  readonly offsetMm: readonly number[] | null;
  readonly planeToleranceMm?: number | undefined;
  /** How the server paired it where not along the normal (pairSlices). */
  readonly matchedBy?: MatchedBy | undefined;
}

/**
 * The reference slice the difference pane subtracts for each low-dose slice (-1: none) and, where
 * the reference and the denoised series both have a slice there but they are not subtracted, what
 * the pane's footer says instead: differenceRefusal, the rule of the server's figure, on the two
 * slices' grids as they were paired: along the normal (one frame of reference), else as the server
 * paired them (another frame: by 3-D position, through patient coordinates, or by order, pixel for
 * pixel). Null without a reference pairing.
 */
export function differenceSlices(denoised: SeriesDetail, denoisedMap: readonly number[], reference: SeriesDetail, paired: PanePairing): { slices: number[]; notes: Array<string | null> } | null {
  const map = paired.map;
  if (!map) return null;
  // Along the normal the pane's own pairing is by position; else the server's (an older server names none: by position, as the figure takes it).
  const matchedBy = paired.offsetMm ? 'position' : (paired.matchedBy ?? 'position');
  const notes = map.map((j, i): string | null => {
    const d = denoisedMap[i] ?? -1;
    if (j < 0 || d < 0) return null;
    const plane = paired.offsetMm ? { offsetMm: paired.offsetMm[i]!, toleranceMm: paired.planeToleranceMm ?? Infinity } : null;
    return differenceRefusal(sliceGrid(denoised, d), sliceGrid(reference, j), matchedBy, plane);
  });
  return { slices: map.map((j, i) => (j >= 0 && (denoisedMap[i] ?? -1) >= 0 && notes[i] === null ? j : -1)), notes };
}
