/**
 * The little file conventions the training scripts share for `.cache/` (layout: data.py): where the
 * repository and the cache are, an exported volume's meta.json, raw little-endian float32 arrays,
 * and doses written into file names.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The repository root, from scripts/train/ or from a bundle one folder down (.cache/*.mjs, .device/*.mjs). */
export const REPO = path.basename(here) === 'train' ? path.resolve(here, '../..') : path.resolve(here, '..');
/** The training cache (`LOWDOSE_CACHE` overrides `<repo>/.cache`). */
export const CACHE = process.env['LOWDOSE_CACHE'] ?? path.join(REPO, '.cache');

/** `meta.json` of an exported volume (export-dataset.ts writes it). */
export interface VolumeMeta {
  rows: number;
  columns: number;
  /** Row, column and slice spacing, mm. */
  spacing: [number, number, number];
  /** The volume's slice indices that were exported. */
  slices: number[];
  /** Bq/ml to SUVbw (1 for CT). */
  suvFactor: number;
  doses: number[];
  arrays: Record<string, { file: string; shape: number[] }>;
}

/** The meta.json of the exported volume in `dir`. */
export function readVolumeMeta(dir: string): VolumeMeta {
  return JSON.parse(readFileSync(path.join(dir, 'meta.json'), 'utf8')) as VolumeMeta;
}

/** A whole `.f32` file as its own Float32Array (copied, so it never aliases a pooled Buffer). */
export function readF32(file: string): Float32Array {
  const b = readFileSync(file);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

/** A dose in file names: 0.25 -> "025" (data.py and evaluate.py read these names). */
export function doseKey(d: number): string {
  return String(Math.round(d * 100)).padStart(3, '0');
}
