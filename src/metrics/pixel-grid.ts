/**
 * Whether two paired slices lie on one pixel grid, pixel i of one at the same place of the patient
 * as pixel i of the other: the one rule of everything that compares them pixel by pixel without
 * resampling. The scores (`pixelGridMismatch` / `pairingGridMismatch` of ./slice-pairing.ts:
 * `lowdose metrics`, `denoise --reference`, the server's metrics API) and the difference pane of
 * the viewer and of the server's figure (`differenceRefusal` of src/server/difference-pane.ts)
 * all decide by `sliceGridMismatch`, so a pair that is scored is also differenced and the other
 * way round. Grids only (no Series): the viewer's bundle imports it.
 */
import { gridAsPaired, gridMapping, mapPoint, type MatchedBy, type SliceGrid } from './grid-mapping.js';

/**
 * Paired slices further apart than this anywhere on the slice, in pixels, are not one pixel grid:
 * compared pixel by pixel they would compare other places of the patient.
 */
export const SAME_GRID_TOLERANCE_PX = 0.1;

/**
 * Why slice `test` does not lie on the pixel grid of slice `reference`, or null when it does:
 * the same matrix, and every pixel within SAME_GRID_TOLERANCE_PX of the same pixel of the other
 * through patient coordinates (gridMapping on the grids as their pairing compares them,
 * gridAsPaired: paired by order, or where one side has no geometry, the pixel spacing alone, by
 * the drift it makes at the far corner).
 */
export function sliceGridMismatch(test: SliceGrid, reference: SliceGrid, matchedBy: MatchedBy = 'position'): string | null {
  const from = test;
  const to = reference;
  if (from.rows !== to.rows || from.columns !== to.columns) return `matrix ${to.columns} x ${to.rows} against ${from.columns} x ${from.rows}`;
  const spacingText = `pixel spacing ${to.pixelSpacing.map((v) => v.toFixed(3)).join(' x ')} mm against ${from.pixelSpacing.map((v) => v.toFixed(3)).join(' x ')} mm`;
  // A map between the two grids is affine, so its largest displacement is at a corner of the image.
  const corners = [
    { x: 0, y: 0 },
    { x: from.columns, y: 0 },
    { x: 0, y: from.rows },
    { x: from.columns, y: from.rows },
  ];
  // Paired by order the two series' positions are not trusted to share a frame (the contract's
  // fallback for series whose positions do not coincide): gridAsPaired leaves the geometry out, so
  // one matrix and spacing are one grid and otherwise only the pixel spacing is compared.
  const mapping = gridMapping(gridAsPaired(from, matchedBy), gridAsPaired(to, matchedBy));
  if (mapping.kind === 'unmatched') {
    if (mapping.reason === 'orientation') return 'the slices are oriented differently (ImageOrientationPatient)';
    // One side without geometry: only the spacing can be compared, by the drift it makes at the far corner.
    const driftX = from.columns * Math.abs(from.pixelSpacing[1] / to.pixelSpacing[1] - 1);
    const driftY = from.rows * Math.abs(from.pixelSpacing[0] / to.pixelSpacing[0] - 1);
    return Math.max(driftX, driftY) > SAME_GRID_TOLERANCE_PX ? spacingText : null;
  }
  const { affine } = mapping;
  const worst = Math.max(
    ...corners.map((p) => {
      const q = mapPoint(affine, p);
      return Math.hypot(q.x - p.x, q.y - p.y);
    }),
  );
  if (worst <= SAME_GRID_TOLERANCE_PX) return null;
  if (affine.a < 0 || affine.e < 0 || Math.abs(affine.b) > 0.5) return 'the slices are flipped or turned against each other (ImageOrientationPatient)';
  const sameSpacing = from.columns * Math.abs(affine.a - 1) <= SAME_GRID_TOLERANCE_PX && from.rows * Math.abs(affine.e - 1) <= SAME_GRID_TOLERANCE_PX;
  if (!sameSpacing) return spacingText;
  return `the in-plane origins (ImagePositionPatient) differ by ${worst.toFixed(2)} pixels`;
}
