/**
 * Where a pixel of a series lies in patient coordinates (mm): ImagePositionPatient of its slice
 * plus the column index along the row direction and the row index along the column direction
 * (ImageOrientationPatient), each times its PixelSpacing (DICOM PS3.3 C.7.6.2.1.1).
 */
import type { Series, Vec3 } from './types.js';

/**
 * Patient position of the point at fractional (row, column) of slice `sliceIndex` (pixel centres
 * are whole numbers). A series without orientation is taken as axial (identity cosines); without
 * a position, its first pixel sits at the origin.
 */
export function patientPosition(series: Series, sliceIndex: number, row: number, column: number): Vec3 {
  const slice = series.slices[sliceIndex];
  const origin: Vec3 = slice?.position ?? [0, 0, 0];
  const o = series.orientation ?? [1, 0, 0, 0, 1, 0];
  const [rowSpacing, columnSpacing] = series.spacing;
  return [0, 1, 2].map((k) => origin[k]! + column * columnSpacing * o[k]! + row * rowSpacing * o[3 + k]!) as Vec3;
}
