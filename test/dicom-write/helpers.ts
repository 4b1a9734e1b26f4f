/** Reading written files back independently of our own reader: dicom-parser, dcmtk, hashes. */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { InstanceMetadata } from '@cornerstonejs/calculate-suv';
import dicomParser, { type DataSet } from 'dicom-parser';
import { afterAll } from 'vitest';
import { withoutUndefined } from '../../src/util/defined.js';

export const CORPUS = fileURLToPath(new URL('../../../shared/dicom/', import.meta.url));
export const corpus = (relative: string) => join(CORPUS, relative);

export const DCMDUMP = '/usr/bin/dcmdump';
export const hasDcmdump = existsSync(DCMDUMP);

export function temporaryDirectory(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `lowdose-${prefix}-`));
}

/**
 * `temporaryDirectory` for one test file, each directory it makes removed after the file's tests.
 * Call it at the top of the file: it registers that afterAll hook.
 */
export function temporaryDirectories(): (prefix: string) => string {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  return (prefix) => {
    const dir = temporaryDirectory(prefix);
    dirs.push(dir);
    return dir;
  };
}

export function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

export type { DataSet };

export function parse(path: string): DataSet {
  return dicomParser.parseDicom(new Uint8Array(readFileSync(path)));
}

/** Stored values of an uncompressed 16-bit single-frame file. */
export function storedValues(ds: DataSet): Int16Array | Uint16Array {
  const element = ds.elements.x7fe00010!;
  const bytes = ds.byteArray.slice(element.dataOffset, element.dataOffset + element.length);
  return ds.uint16('x00280103') === 1 ? new Int16Array(bytes.buffer, 0, element.length / 2) : new Uint16Array(bytes.buffer, 0, element.length / 2);
}

/** Modality values (stored x slope + intercept) read with dicom-parser alone. */
export function modalityValues(ds: DataSet): Float64Array {
  const slope = ds.floatString('x00281053') ?? 1;
  const intercept = ds.floatString('x00281052') ?? 0;
  return Float64Array.from(storedValues(ds), (v) => v * slope + intercept);
}

/** The header fields @cornerstonejs/calculate-suv needs, read with dicom-parser. */
export function petMetadata(ds: DataSet): InstanceMetadata {
  const drug = ds.elements.x00540016!.items![0]!.dataSet!;
  const corrected = ds.string('x00280051') ?? '';
  return {
    CorrectedImage: corrected.split('\\'),
    Units: ds.string('x00541001')!,
    RadionuclideHalfLife: drug.floatString('x00181075')!,
    RadionuclideTotalDose: drug.floatString('x00181074')!,
    ...withoutUndefined({
      RadiopharmaceuticalStartTime: drug.string('x00181072'),
      RadiopharmaceuticalStartDateTime: drug.string('x00181078'),
    }),
    DecayCorrection: ds.string('x00541102')!,
    PatientWeight: ds.floatString('x00101030')!,
    SeriesDate: ds.string('x00080021')!,
    SeriesTime: ds.string('x00080031')!,
    AcquisitionDate: ds.string('x00080022')!,
    AcquisitionTime: ds.string('x00080032')!,
  };
}

/** Runs dcmdump on a file: its exit status and what it printed on stderr (warnings, errors). */
export function dcmdump(path: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(DCMDUMP, [path], { encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
