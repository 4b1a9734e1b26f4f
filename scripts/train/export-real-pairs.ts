/**
 * Real quarter-dose / full-dose CT pairs (../shared/ldct-mayo, AAPM-Mayo Low Dose CT Grand
 * Challenge) as training volumes for scripts/train/*.py, in data.py's layout:
 *   .cache/train/CT/mayo-<patient>-<kernel>/clean.f32   full-dose slices (HU) [S, 512, 512]
 *                                           low.f32     the same slices at quarter dose
 *                                           meta.json   kind 'ct-real-pair', dose 0.22 (MAYO_QUARTER_DOSE)
 * Only the training patient is exported (L143); L192 is the validation patient and is scored by
 * scripts/evaluate (never trained on). Padding (outside the scan field) is set to -1000 HU in both
 * images so the network never learns it as tissue, and recorded in `padding.u8`.
 *
 *   npx tsx scripts/train/export-real-pairs.ts [--patients L143] [--out .cache/train/CT]
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { scanPaths } from '../../src/dicom/scan.js';
import { readSlicePixels } from '../../src/dicom/read-slice.js';
import type { Series } from '../../src/dicom/types.js';
import { MAYO_QUARTER_DOSE } from '../../src/simulate/index.js';
import { makeDirectoriesSync } from '../../src/util/fs.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SHARED = process.env['LOWDOSE_SHARED'] ?? path.resolve(REPO, '../shared');
const CACHE = process.env['LOWDOSE_CACHE'] ?? path.join(REPO, '.cache');
export const REAL_TRAIN_PATIENTS = ['L143'];
export const REAL_KERNELS = ['B30f', 'D45f'];
// The dose the network is told for these pairs: the simulator's photon fraction whose added noise
// equals the Mayo quarter dose's (src/simulate/scanner-kernels.ts), so a real pair and a simulated
// slice with the same noise carry the same dose label. The shipped lowdose-ct was trained with 0.25 here.
const REAL_DOSE = MAYO_QUARTER_DOSE;
const PADDING_HU = -1000;

function arg(name: string, fallback: string): string {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] ?? fallback : fallback;
}

async function onlySeries(dir: string): Promise<Series> {
  const { series, errors } = await scanPaths([dir]);
  if (errors.length || series.length !== 1) {
    throw new Error(`${dir}: expected one series, got ${series.length} (${errors.map((e) => e.message).join('; ')})`);
  }
  return series[0]!;
}

/** Slices paired by position (the folders hold the same slice locations, README). */
async function exportPair(patient: string, kernel: string, outRoot: string): Promise<void> {
  const base = path.join(SHARED, 'ldct-mayo', patient, kernel);
  const full = await onlySeries(path.join(base, 'full'));
  const quarter = await onlySeries(path.join(base, 'quarter'));
  if (full.slices.length !== quarter.slices.length) throw new Error(`${base}: ${full.slices.length} full vs ${quarter.slices.length} quarter slices`);
  const { rows, columns } = full;
  const S = full.slices.length;
  const clean = new Float32Array(S * rows * columns);
  const low = new Float32Array(S * rows * columns);
  const padding = new Uint8Array(S * rows * columns);
  const locations: number[] = [];
  for (let s = 0; s < S; s++) {
    const f = await readSlicePixels(full.slices[s]!);
    const q = await readSlicePixels(quarter.slices[s]!);
    const zf = full.slices[s]!.location ?? NaN;
    const zq = quarter.slices[s]!.location ?? NaN;
    if (!(Math.abs(zf - zq) <= 0.01)) throw new Error(`${base}: slice ${s} at z ${zf} (full) vs ${zq} (quarter)`);
    locations.push(zf);
    const off = s * rows * columns;
    for (let i = 0; i < rows * columns; i++) {
      const pad = (f.padding?.[i] ?? 0) | (q.padding?.[i] ?? 0);
      padding[off + i] = pad;
      clean[off + i] = pad ? PADDING_HU : f.data[i]!;
      low[off + i] = pad ? PADDING_HU : q.data[i]!;
    }
  }
  const name = `mayo-${patient}-${kernel}`;
  const dir = path.join(outRoot, name);
  makeDirectoriesSync(dir);
  writeFileSync(path.join(dir, 'clean.f32'), Buffer.from(clean.buffer));
  writeFileSync(path.join(dir, 'low.f32'), Buffer.from(low.buffer));
  writeFileSync(path.join(dir, 'padding.u8'), Buffer.from(padding.buffer));
  const meta = {
    volume: name, modality: 'CT', units: 'HU', rows, columns, spacing: [...full.spacing], slices: locations,
    suvFactor: 1, kind: 'ct-real-pair', dose: REAL_DOSE, kernel, paddingHu: PADDING_HU,
    source: `ldct-mayo/${patient}/${kernel}/{full,quarter} (AAPM-Mayo LDCT Grand Challenge; quarter dose by the vendor's noise insertion into the raw projections)`,
    arrays: { low: { file: 'low.f32', shape: [rows, columns] } },
  };
  writeFileSync(path.join(dir, 'meta.json'), JSON.stringify(meta, null, 1) + '\n');
  const padded = padding.reduce((a, b) => a + b, 0);
  process.stderr.write(`${name}: ${S} pairs, ${padded} padded pixels\n`);
}

const patients = arg('--patients', REAL_TRAIN_PATIENTS.join(',')).split(',');
const out = arg('--out', path.join(CACHE, 'train', 'CT'));
for (const p of patients) for (const k of REAL_KERNELS) await exportPair(p, k, out);
