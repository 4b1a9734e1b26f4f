/**
 * Can a PET input's count level be read from its own noise when `--dose` is not given? Without it
 * `lowdose-pet` skips its low-count consistency step and at 10 % counts lesion SUVmax reads 22 to
 * 45 % high (models/README.md, "Without `--dose`"). The consistency step already fits the input's
 * noise as Var = a + b·mean (src/diffusion/consistency.ts, fitNoiseLevel): with Poisson-like
 * counts b scales as 1 / (count level), so b_full / b would estimate the level, if b at full
 * counts were the same for every scan. This measures b on the slices the toolkit has at known
 * levels: the high-pass residual y - G(y) (G a Gaussian of SIGMA_PX pixels) against G(y), in SUV,
 * per image, the median over slices.
 *
 *   npx tsx scripts/experiments/pet-count-level.ts
 * Reads the PET evaluation export (.cache/eval/PT: qin-hn-0139 validation slices and sts-001,
 * `export-dataset.ts pet-eval`) and the IEC fixture (fixtures/iec); writes
 * docs/experiments/pet-count-level.json.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fitNoiseLevel } from '../../src/diffusion/consistency.js';
import { gaussianSmooth } from '../../src/filters/gaussian.js';
import { ROOT, saveJson } from './figures.js';
import { readFixture, round } from './fixture-runs.js';

const SIGMA_PX = 1.5;

interface Measured {
  readonly source: string;
  readonly image: string;
  /** Count level as a fraction of the scan's own full count (1 = the full-count reconstruction). */
  readonly level: number;
  readonly voxelMm3: number;
  readonly b: number;
}

const rows: Measured[] = [];
const evalDir = path.join(ROOT, '.cache/eval/PT');
for (const volume of ['qin-hn-0139-pet:val', 'sts-001-pet']) {
  const dir = path.join(evalDir, volume);
  if (!existsSync(path.join(dir, 'meta.json'))) throw new Error(`${dir}: no PET evaluation export (npx tsx scripts/train/export-dataset.ts pet-eval)`);
  const meta = JSON.parse(readFileSync(path.join(dir, 'meta.json'), 'utf8')) as { rows: number; columns: number; spacing: number[]; suvFactor: number; arrays: Record<string, { file: string }> };
  const voxelMm3 = meta.spacing[0]! * meta.spacing[1]! * meta.spacing[2]!;
  for (const [name, level] of [['ref025', 1], ['low025', 0.25], ['low010', 0.1]] as const) {
    const array = meta.arrays[name];
    if (!array || !existsSync(path.join(dir, array.file))) continue;
    const b = medianB(readSlices(path.join(dir, array.file), meta.rows, meta.columns, meta.suvFactor), meta.rows, meta.columns);
    rows.push({ source: volume, image: name, level, voxelMm3, b });
  }
}
for (const [dose, level] of [['dose100', 1], ['dose25', 0.25], ['dose10', 0.1]] as const) {
  const stack = await readFixture('iec', Number(dose.slice(4)) / 100);
  const first = stack.slices[0]!;
  const voxelMm3 = first.pixelSpacing[0] * first.pixelSpacing[1] * 3;
  const slices = stack.slices.map((s) => Float32Array.from(s.data, (v) => v * suvPerUnit(stack.units)));
  rows.push({ source: `iec (${stack.units})`, image: dose, level, voxelMm3, b: medianB(slices, first.rows, first.columns) });
}

// b x level: constant within a scan if b scales as 1 / counts; its spread across scans is what a
// full-count calibration would have to absorb.
const table = rows.map((r) => ({ ...r, b: round(r.b, 5), bTimesLevel: round(r.b * r.level, 5), bTimesLevelTimesVoxel: round(r.b * r.level * r.voxelMm3, 3) }));
for (const r of table) console.log(`${r.source.padEnd(22)} ${r.image.padEnd(8)} level ${String(r.level).padEnd(5)} b ${r.b.toFixed(5)}  b x level ${r.bTimesLevel.toFixed(5)}  x voxel mm3 ${r.bTimesLevelTimesVoxel.toFixed(3)}`);
saveJson('pet-count-level.json', { command: 'npx tsx scripts/experiments/pet-count-level.ts', sigmaPx: SIGMA_PX, rows: table });

function readSlices(file: string, rowsN: number, columns: number, scale: number): Float32Array[] {
  const buf = readFileSync(file);
  const all = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  const n = rowsN * columns;
  return Array.from({ length: all.length / n }, (_, i) => Float32Array.from(all.subarray(i * n, (i + 1) * n), (v) => v * scale));
}

/** Median over slices of b in Var(y - G(y)) = a + b·max(G(y), 0). */
function medianB(slices: readonly Float32Array[], rowsN: number, columns: number): number {
  const bs = slices.map((y) => {
    const mean = gaussianSmooth(y, rowsN, columns, SIGMA_PX, SIGMA_PX);
    const residual = Float32Array.from(y, (v, i) => v - mean[i]!);
    return fitNoiseLevel(residual, mean).b;
  });
  bs.sort((p, q) => p - q);
  return bs[Math.floor(bs.length / 2)]!;
}

/** The fixture series' units to SUV: QA reads PET in SUVbw already; anything else is refused. */
function suvPerUnit(units: string): number {
  if (units === 'SUVbw' || units === 'SUV') return 1;
  throw new Error(`IEC fixture read in ${units}, expected SUVbw`);
}
