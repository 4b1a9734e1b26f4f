/**
 * Where a pane's slice lies in the patient, from its series' facts (`GET /api/series/:id`), for
 * src/metrics/grid-mapping.ts: ROIs are kept in the low-dose series' image pixels and each pane
 * measures and draws them moved onto its own grid, so a reference of another pixel spacing or
 * field of view is read over the same anatomy.
 */
import type { SeriesDetail } from './api.js';
import { gridMapping, invertAffine, mapPoint, mapShape, placeWithNote, shapeInPane, slicesAlongNormal, unmatchedText, type PaneShape, type SliceGrid, type StackGeometry, type StackPairing } from '../../src/metrics/grid-mapping.js';
import type { Point, Shape } from '../../src/metrics/roi-shapes.js';

export { placeWithNote, unmatchedText, type PaneShape, type SliceGrid };

export function stackOf(series: SeriesDetail): StackGeometry {
  // A server older than `positions` sends none: no geometry, so the server's pairing stays.
  return { orientation: series.orientation, positions: series.positions ?? [] };
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

/** A pane's zoom and pan as cornerstone keeps them: screen pixels per image pixel (of the smaller spacing), and the image's shift in image pixels. */
export interface PaneView {
  readonly scale: number;
  readonly translation: { readonly x: number; readonly y: number };
}

/** What `followView` needs of a pane: its image size and where it lies against the low-dose slice. */
export interface ViewPane {
  readonly rows: number;
  readonly columns: number;
  readonly placement: PanePlacement | null;
}

/**
 * The zoom and pan that show, in `to`, the same patient place at the canvas centre and the same
 * millimetres per screen pixel as `view` shows in `from`: panes of another pixel spacing or field
 * of view then show the same anatomy the same size in the same place. cornerstone draws image
 * point p at canvas centre + scale·(translation + p − size / 2) (scaled up along the coarser pixel
 * axis), so the canvas centre shows p = size / 2 − translation and a millimetre is
 * scale / (smaller pixel spacing) screen pixels. Where the grids do not map, the view as it is (the
 * same image pixels, as cornerstone-tools' pan / zoom synchroniser copies them).
 */
export function followView(view: PaneView, from: ViewPane, to: ViewPane): PaneView {
  const copy = { scale: view.scale, translation: { x: view.translation.x, y: view.translation.y } };
  if (!from.placement || !to.placement) return copy;
  const out = gridMapping(from.placement.frame, from.placement.grid);
  const into = gridMapping(to.placement.frame, to.placement.grid);
  if (out.kind !== 'mapped' || into.kind !== 'mapped') return copy;
  if (out.identity && into.identity) return copy;
  const centre = { x: from.columns / 2 - view.translation.x, y: from.rows / 2 - view.translation.y };
  const there = mapPoint(into.affine, mapPoint(invertAffine(out.affine), centre));
  const finest = (p: PanePlacement) => Math.min(p.grid.pixelSpacing[0], p.grid.pixelSpacing[1]);
  return { scale: (view.scale * finest(to.placement)) / finest(from.placement), translation: { x: to.columns / 2 - there.x, y: to.rows / 2 - there.y } };
}
