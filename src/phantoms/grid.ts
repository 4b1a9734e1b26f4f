/**
 * Where phantom voxels are. Phantom geometry is given in mm in the DICOM patient frame (x to the
 * patient's left = image right, y posterior = image down, z superior), with the volume centred on
 * the origin: pixel (row r, column c) of slice k has its centre at
 *   x = (c - (columns - 1) / 2) * dx,  y = (r - (rows - 1) / 2) * dy,  z = (k - (slices - 1) / 2) * dz,
 * (z shifted when a phantom centres its slices elsewhere, see `PhantomResult.origin`), and
 * `PhantomResult.origin` is what the CLI writes as ImagePositionPatient of the first voxel, so
 * DICOM patient coordinates equal phantom coordinates.
 */
import { LowdoseError } from '../errors.js';
import type { Volume } from '../image.js';
import { centredGrid, type PlaneGrid } from './raster.js';

/** Options every phantom takes. */
export interface PhantomOptions {
  /** Rows = columns. */
  readonly size: number;
  readonly slices: number;
  /** Slice spacing (= thickness), mm. */
  readonly spacing: number;
  /** In-plane field of view, mm: pixel spacing is fov / size. */
  readonly fov: number;
  readonly seed: number;
}

/** What every phantom generator returns. */
export interface PhantomResult<G> {
  readonly volume: Volume;
  /** Where everything is (mm, same frame as `origin`): for ROIs, truth and tests. */
  readonly geometry: G;
  /** ImagePositionPatient of slice 0's first voxel, so DICOM coordinates equal phantom coordinates. */
  readonly origin: readonly [number, number, number];
}

/** ImagePositionPatient of the first voxel for slices centred on `zCentre`. */
export function volumeOrigin(grid: PlaneGrid, slices: number, spacing: number, zCentre = 0): [number, number, number] {
  return [grid.x0, grid.y0, zCentre - ((slices - 1) / 2) * spacing];
}

/**
 * The volume a phantom renders: square slices of `options.size` on `grid`, `options.spacing` apart.
 * `fields` says what it holds (modality, units, description; `pet` for PT).
 */
export function phantomVolume(
  grid: PlaneGrid,
  options: Pick<PhantomOptions, 'size' | 'spacing'>,
  slices: Float32Array[],
  fields: Pick<Volume, 'modality' | 'units' | 'description' | 'pet'>,
): Volume {
  return { ...fields, rows: options.size, columns: options.size, slices, spacing: [grid.dy, grid.dx, options.spacing] };
}

/** Slice centres along z, mm, inferior to superior, centred on `centre`. */
export function sliceCentres(slices: number, spacing: number, centre = 0): number[] {
  return Array.from({ length: slices }, (_, k) => centre + (k - (slices - 1) / 2) * spacing);
}

export function planeGrid(options: Pick<PhantomOptions, 'size' | 'fov'>): PlaneGrid {
  return centredGrid(options.size, options.fov);
}

/** Pixel coordinates (fractional) of a point in mm, for a volume written with the default origin. */
export function mmToPixel(volume: Pick<Volume, 'rows' | 'columns' | 'spacing'>, x: number, y: number): { row: number; column: number } {
  return {
    column: x / volume.spacing[1] + (volume.columns - 1) / 2,
    row: y / volume.spacing[0] + (volume.rows - 1) / 2,
  };
}

/** The mm position of a pixel centre. */
export function pixelToMm(volume: Pick<Volume, 'rows' | 'columns' | 'spacing'>, row: number, column: number): { x: number; y: number } {
  return {
    x: (column - (volume.columns - 1) / 2) * volume.spacing[1],
    y: (row - (volume.rows - 1) / 2) * volume.spacing[0],
  };
}

/** z of slice k's centre: from the phantom's `origin` when given, else for a volume centred on z = 0. */
export function sliceZ(volume: Pick<Volume, 'slices' | 'spacing'>, k: number, origin?: readonly [number, number, number]): number {
  if (origin) return origin[2] + k * volume.spacing[2];
  return (k - (volume.slices.length - 1) / 2) * volume.spacing[2];
}

export function validateOptions(name: string, options: PhantomOptions): void {
  const check = (ok: boolean, what: string) => {
    if (!ok) throw new LowdoseError('E_USAGE', `phantom ${name}: ${what}`);
  };
  check(Number.isInteger(options.size) && options.size >= 16 && options.size <= 2048, `size must be an integer in [16, 2048], got ${options.size}`);
  check(Number.isInteger(options.slices) && options.slices >= 1 && options.slices <= 2000, `slices must be an integer in [1, 2000], got ${options.slices}`);
  check(options.spacing > 0 && options.spacing <= 100, `spacing must be in (0, 100] mm, got ${options.spacing}`);
  check(options.fov >= 50 && options.fov <= 1000, `fov must be in [50, 1000] mm, got ${options.fov}`);
  check(Number.isInteger(options.seed) && options.seed >= 0, `seed must be a non-negative integer, got ${options.seed}`);
}
