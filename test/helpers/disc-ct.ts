/**
 * A small generated low-dose CT series for the tests of stopped and finished runs: a disc of 60 HU
 * (radius a quarter of the matrix) in 0 HU with seeded uniform noise (sd 20 HU), 0.8 mm pixels,
 * 2 mm apart. And the one series folder a `denoise -o` holds.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { writeVolumeSeries } from '../../src/dicom/write-volume.js';

export async function writeDiscCt(dir: string, shape: { readonly slices: number; readonly size: number; readonly uidSeed: string; readonly seed?: number }): Promise<void> {
  const { slices: count, size } = shape;
  let state = shape.seed ?? 20261207;
  const noise = () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return (state / 2147483648 - 0.5) * 69.3;
  };
  const centre = size / 2;
  const slices = Array.from({ length: count }, () => {
    const data = new Float32Array(size * size);
    for (let r = 0; r < size; r++) for (let c = 0; c < size; c++) data[r * size + c] = ((r - centre) ** 2 + (c - centre) ** 2 < (size / 4) ** 2 ? 60 : 0) + noise();
    return data;
  });
  await writeVolumeSeries({ modality: 'CT', units: 'HU', rows: size, columns: size, slices, spacing: [0.8, 0.8, 2], description: 'low dose' }, dir, { uidSeed: shape.uidSeed, seriesNumber: 1 });
}

/** The series folder in the denoise output `out` (its one folder besides `previews`, hidden ones left out). */
export function seriesFolderIn(out: string): string {
  const name = readdirSync(out, { withFileTypes: true }).find((e) => e.isDirectory() && e.name !== 'previews' && !e.name.startsWith('.'))!.name;
  return path.join(out, name);
}
