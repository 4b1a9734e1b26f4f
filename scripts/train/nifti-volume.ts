/**
 * Reads the shared NIfTI volumes (../shared/ct, ../shared/pet) into the toolkit's `Volume` type, in
 * DICOM row / column orientation.
 *
 * Orientation: every shared volume has a diagonal affine with negative x and y steps (RAS), i.e. voxel
 * index i runs toward patient left and j toward posterior: exactly DICOM's column (+x LPS) and row
 * (+y LPS) directions. NIfTI stores i fastest, so slab k of the file, read row-major with
 * rows = dim[2] and columns = dim[1], already is the DICOM slice: no transpose or flip. The reader
 * checks that assumption on the affine instead of silently mis-orienting a new file.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import * as nifti from 'nifti-reader-js';
import { LowdoseError } from '../../src/errors.js';
import type { PetDoseInfo, Volume } from '../../src/image.js';
import { scannerKernelPreset } from '../../src/simulate/scanner-kernels.js';
import type { KernelPreset } from '../../src/simulate/filters.js';
import { scalarText } from '../../src/util/text.js';

export interface Sidecar {
  readonly [key: string]: unknown;
  readonly suv_bw_factor?: number;
}

export interface NiftiVolume {
  readonly volume: Volume;
  readonly sidecar: Sidecar;
  /** SUVbw = Bq/ml * suvFactor for PET (from the sidecar), 1 for CT. */
  readonly suvFactor: number;
}

/**
 * The simulator kernel for a CT volume's scanner kernel (sidecar ConvolutionKernel), by the rule
 * `lowdose simulate` uses: fitted or family presets (src/simulate/scanner-kernels.ts), `standard`
 * when there is none or it is not recognised.
 */
export function ctKernelOf(sidecar: Sidecar): KernelPreset {
  const value = sidecar['ConvolutionKernel'];
  // A multi-valued kernel (["B30f", "2"]) as DICOM writes it: scannerKernel reads the first part it knows.
  return scannerKernelPreset(Array.isArray(value) ? value.map(scalarText).join('\\') : scalarText(value));
}

function toArrayBuffer(buf: Buffer): ArrayBuffer {
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
}

/** DICOM TM from a sidecar time string such as "103500.00". */
function tm(value: unknown, path: string, key: string): string {
  if (typeof value !== 'string' || !/^\d{6}/.test(value)) {
    throw new LowdoseError('E_MALFORMED', `${key} missing or not HHMMSS in the sidecar`, { path });
  }
  return value;
}

export function readNiftiVolume(niiPath: string): NiftiVolume {
  const sidecarPath = niiPath.replace(/\.nii(\.gz)?$/, '.json');
  const sidecar = JSON.parse(readFileSync(sidecarPath, 'utf8')) as Sidecar;
  let data = toArrayBuffer(readFileSync(niiPath));
  if (nifti.isCompressed(data)) data = nifti.decompress(data) as ArrayBuffer;
  if (!nifti.isNIFTI(data)) throw new LowdoseError('E_MALFORMED', 'not a NIfTI file', { path: niiPath });
  const header = nifti.readHeader(data);
  if (!header) throw new LowdoseError('E_MALFORMED', 'unreadable NIfTI header', { path: niiPath });
  const raw = nifti.readImage(header, data);
  const [, nx, ny, nz] = header.dims;
  const aff = header.affine;
  const offDiagonal = Math.abs(aff[0]![1]!) + Math.abs(aff[1]![0]!) + Math.abs(aff[0]![2]!) + Math.abs(aff[1]![2]!);
  if (!(aff[0]![0]! < 0 && aff[1]![1]! < 0 && aff[2]![2]! > 0) || offDiagonal > 1e-3) {
    throw new LowdoseError('E_UNSUPPORTED_PIXELS', 'expected an axial RAS affine with negative x and y steps', { path: niiPath });
  }
  const slope = header.scl_slope && header.scl_slope !== 0 ? header.scl_slope : 1;
  const inter = header.scl_inter || 0;
  let values: ArrayLike<number>;
  switch (header.datatypeCode) {
    case nifti.NIFTI1.TYPE_INT16: values = new Int16Array(raw); break;
    case nifti.NIFTI1.TYPE_FLOAT32: values = new Float32Array(raw); break;
    default: throw new LowdoseError('E_UNSUPPORTED_PIXELS', `NIfTI datatype ${header.datatypeCode} not handled`, { path: niiPath });
  }
  const n = nx! * ny!;
  const slices: Float32Array[] = [];
  for (let k = 0; k < nz!; k++) {
    const s = new Float32Array(n);
    for (let p = 0; p < n; p++) s[p] = values[k * n + p]! * slope + inter;
    slices.push(s);
  }
  const isPet = sidecar['Modality'] === 'PT';
  const spacing: [number, number, number] = [Math.abs(aff[1]![1]!), Math.abs(aff[0]![0]!), Math.abs(aff[2]![2]!)];
  let pet: PetDoseInfo | undefined;
  if (isPet) {
    pet = {
      injectedDoseBq: Number(sidecar['RadionuclideTotalDose_Bq']),
      halfLifeSeconds: Number(sidecar['RadionuclideHalfLife_s']),
      patientWeightKg: Number(sidecar['PatientWeight']),
      radionuclide: 'F-18',
      injectionTime: tm(sidecar['RadiopharmaceuticalStartTime'], sidecarPath, 'RadiopharmaceuticalStartTime'),
      seriesTime: tm(sidecar['SeriesTime'], sidecarPath, 'SeriesTime'),
    };
  }
  const volume: Volume = {
    modality: isPet ? 'PT' : 'CT',
    units: isPet ? 'BQML' : 'HU',
    rows: ny!,
    columns: nx!,
    slices,
    spacing,
    description: scalarText(sidecar['region']) || niiPath,
    ...(pet ? { pet } : {}),
  };
  return { volume, sidecar, suvFactor: isPet ? Number(sidecar.suv_bw_factor) : 1 };
}

/**
 * Writes `source`'s header unchanged (dim[3] set to the count) followed by the given slabs: the same
 * NIfTI with fewer slices. Geometry stays that of the original (pixdim, affine), which the export
 * reads for spacing only.
 */
export function writeNiftiSubset(source: string, target: string, slices: number[]): void {
  let bytes = readFileSync(source);
  if (nifti.isCompressed(toArrayBuffer(bytes))) bytes = gunzipSync(bytes);
  const header = nifti.readHeader(toArrayBuffer(bytes));
  if (!header) throw new LowdoseError('E_MALFORMED', 'unreadable NIfTI header', { path: source });
  const count = (header.dims)[3]!;
  const outside = slices.find((k) => !(Number.isInteger(k) && k >= 0 && k < count));
  if (outside !== undefined) throw new LowdoseError('E_USAGE', `slice ${outside} is not in 0..${count - 1}`, { path: source });
  const [, nx, ny] = header.dims;
  const slab = nx! * ny! * (header.numBitsPerVoxel / 8);
  const start = header.vox_offset;
  const out = Buffer.alloc(start + slices.length * slab);
  bytes.copy(out, 0, 0, start);
  // dim[3] is the 4th int16 of dim[8] at byte 40.
  if (header.littleEndian) out.writeInt16LE(slices.length, 46);
  else out.writeInt16BE(slices.length, 46);
  slices.forEach((k, j) => bytes.copy(out, start + j * slab, start + k * slab, start + (k + 1) * slab));
  writeFileSync(target, gzipSync(out, { level: 9 }));
}
