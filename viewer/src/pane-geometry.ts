/**
 * Where a pane's slice lies in the patient, from its series' facts (`GET /api/series/:id`), for
 * src/metrics/grid-mapping.ts: ROIs are kept in the low-dose series' image pixels and each pane
 * measures and draws them moved onto its own grid, so a reference of another pixel spacing or
 * field of view is read over the same anatomy.
 */
import type { SeriesDetail } from './api.js';
import { gridMapping, invertAffine, mapShape, placeWithNote, shapeInPane, slicesAlongNormal, unmatchedText, type PaneShape, type SliceGrid, type StackGeometry, type StackPairing } from '../../src/metrics/grid-mapping.js';
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
