/**
 * A CT study whose reference lies on another pixel grid, as a reference resampled from the same
 * phantom would: one phantom defined in patient millimetres, sampled on the low-dose grid (96²
 * pixels of 0.7 mm, slices at z = 0, 2, …, 10 mm) and on the reference grid (96² pixels of 0.9 mm,
 * so a larger field of view from the same first pixel, slices at z = 0, 4, 8 mm), then the
 * low-dose series denoised (Gaussian) with `--reference` (which links it as `unscoredReference`:
 * another pixel grid is not scored). `denoise --reference` and the server take
 * as reference only a series of the same matrix with slices at the same ImagePositionPatient, so
 * the matrix and the first pixel are one and the pixel spacing and slice spacing differ. Insert
 * A's value depends on z, so a reference slice at another position reads another value.
 */
import path from 'node:path';
import { writeVolumeSeries } from '../../src/dicom/write-volume.js';
import type { Volume } from '../../src/image.js';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import type { Ellipse } from '../../src/metrics/roi-shapes.js';

/** Insert A: a disc of 8 mm radius around (6, −4) mm of 100 + 10·z HU. */
export const INSERT_A = { x: 6, y: -4, radius: 8, hu: (z: number) => 100 + 10 * z };
/** Insert B: a disc of 6 mm radius around (−14, 12) mm of 300 HU. */
export const INSERT_B = { x: -14, y: 12, radius: 6, hu: 300 };

export function phantomHu(x: number, y: number, z: number): number {
  if (Math.hypot(x - INSERT_A.x, y - INSERT_A.y) <= INSERT_A.radius) return INSERT_A.hu(z);
  if (Math.hypot(x - INSERT_B.x, y - INSERT_B.y) <= INSERT_B.radius) return INSERT_B.hu;
  if (Math.hypot(x, y) <= 30) return 40;
  return -1000;
}

export interface Grid {
  readonly size: number;
  readonly pixelMm: number;
  /** ImagePositionPatient of the first slice. */
  readonly origin: readonly [number, number, number];
  readonly slices: number;
  readonly sliceMm: number;
}

export const LOW_GRID: Grid = { size: 96, pixelMm: 0.7, origin: [-33.25, -33.25, 0], slices: 6, sliceMm: 2 };
export const REFERENCE_GRID: Grid = { size: 96, pixelMm: 0.9, origin: [-33.25, -33.25, 0], slices: 3, sliceMm: 4 };

export function sampled(grid: Grid, description: string): Volume {
  const slices = Array.from({ length: grid.slices }, (_, k) => {
    const z = grid.origin[2] + k * grid.sliceMm;
    const data = new Float32Array(grid.size * grid.size);
    for (let r = 0; r < grid.size; r++) for (let c = 0; c < grid.size; c++) data[r * grid.size + c] = phantomHu(grid.origin[0] + c * grid.pixelMm, grid.origin[1] + r * grid.pixelMm, z);
    return data;
  });
  return { modality: 'CT', units: 'HU', rows: grid.size, columns: grid.size, slices, spacing: [grid.pixelMm, grid.pixelMm, grid.sliceMm], description };
}

/** An ellipse of `radiusMm` around patient (x, y) in the low-dose series' image pixels (corner-based). */
export function lowDoseEllipse(x: number, y: number, radiusMm: number): Ellipse {
  return {
    cx: 0.5 + (x - LOW_GRID.origin[0]) / LOW_GRID.pixelMm,
    cy: 0.5 + (y - LOW_GRID.origin[1]) / LOW_GRID.pixelMm,
    rx: radiusMm / LOW_GRID.pixelMm,
    ry: radiusMm / LOW_GRID.pixelMm,
  };
}

export async function writeResampledReferenceStudy(data: string): Promise<{ lowDir: string; referenceDir: string; denoisedDir: string }> {
  const lowDir = path.join(data, 'low');
  const referenceDir = path.join(data, 'reference');
  const denoisedDir = path.join(data, 'denoised');
  const shared = { studyInstanceUid: '2.25.7001001', frameOfReferenceUid: '2.25.7001002', studyDescription: 'resampled reference', patientName: 'PHANTOM^GRID' };
  await writeVolumeSeries(sampled(LOW_GRID, 'low dose 0.7 mm'), lowDir, { ...shared, uidSeed: 'grid-low', origin: LOW_GRID.origin, seriesNumber: 1 });
  await writeVolumeSeries(sampled(REFERENCE_GRID, 'reference 0.9 mm'), referenceDir, { ...shared, uidSeed: 'grid-reference', origin: REFERENCE_GRID.origin, seriesNumber: 2 });
  await denoisePaths([lowDir], { outDir: denoisedDir, method: 'gaussian', reference: [referenceDir] });
  return { lowDir, referenceDir, denoisedDir };
}

/**
 * The low-dose grid stored turned a quarter: rows run posterior (+y), columns to the patient's
 * right (−x), the first pixel at the low-dose field's top right corner, so it covers the same
 * field. Shown unturned its anatomy lies on its side; the viewer turns the pane back.
 */
export const TURNED_ORIENTATION = [0, 1, 0, -1, 0, 0] as const;
export const TURNED_ORIGIN = [LOW_GRID.origin[0] + (LOW_GRID.size - 1) * LOW_GRID.pixelMm, LOW_GRID.origin[1], 0] as const;

/** The phantom on LOW_GRID (low dose) and on its quarter-turned copy (the reference, one frame of reference), the low dose denoised with `--reference`. */
export async function writeTurnedReferenceStudy(data: string): Promise<{ lowDir: string; referenceDir: string; denoisedDir: string }> {
  const lowDir = path.join(data, 'low');
  const referenceDir = path.join(data, 'reference');
  const denoisedDir = path.join(data, 'denoised');
  const shared = { studyInstanceUid: '2.25.7002001', frameOfReferenceUid: '2.25.7002002', studyDescription: 'turned reference', patientName: 'PHANTOM^TURNED' };
  await writeVolumeSeries(sampled(LOW_GRID, 'low dose'), lowDir, { ...shared, uidSeed: 'turned-low', origin: LOW_GRID.origin, seriesNumber: 1 });
  const { size, pixelMm } = LOW_GRID;
  const turned = Array.from({ length: LOW_GRID.slices }, (_, k) => {
    const z = k * LOW_GRID.sliceMm;
    const data = new Float32Array(size * size);
    // Pixel (column c, row r) lies at origin + c·pixel·row direction + r·pixel·column direction.
    for (let r = 0; r < size; r++) for (let c = 0; c < size; c++) data[r * size + c] = phantomHu(TURNED_ORIGIN[0] - r * pixelMm, TURNED_ORIGIN[1] + c * pixelMm, z);
    return data;
  });
  const volume: Volume = { modality: 'CT', units: 'HU', rows: size, columns: size, slices: turned, spacing: [pixelMm, pixelMm, LOW_GRID.sliceMm], description: 'reference turned' };
  await writeVolumeSeries(volume, referenceDir, { ...shared, uidSeed: 'turned-reference', origin: TURNED_ORIGIN, orientation: TURNED_ORIENTATION, seriesNumber: 2 });
  await denoisePaths([lowDir], { outDir: denoisedDir, method: 'gaussian', reference: [referenceDir] });
  return { lowDir, referenceDir, denoisedDir };
}
