/**
 * Pieces shared by the two writers: file meta, pixel module elements and the atomic file write.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { LowdoseError } from '../errors.js';
import { EXPLICIT_VR_LITTLE_ENDIAN, IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from './uid.js';
import { type DcmDataset, setElement, writePart10 } from './write-dcmjs.js';
import { quantize, type Rescale } from './write-pixels.js';

/** File meta for a file in `transferSyntaxUid` (by default explicit VR little endian, what the writers write). */
export function fileMeta(sopClassUid: string, sopInstanceUid: string, transferSyntaxUid: string = EXPLICIT_VR_LITTLE_ENDIAN): DcmDataset {
  const meta: DcmDataset = {};
  setElement(meta, 'FileMetaInformationVersion', [new Uint8Array([0, 1]).buffer], 'OB');
  setElement(meta, 'MediaStorageSOPClassUID', [sopClassUid]);
  setElement(meta, 'MediaStorageSOPInstanceUID', [sopInstanceUid]);
  setElement(meta, 'TransferSyntaxUID', [transferSyntaxUid]);
  setElement(meta, 'ImplementationClassUID', [IMPLEMENTATION_CLASS_UID]);
  setElement(meta, 'ImplementationVersionName', [IMPLEMENTATION_VERSION_NAME]);
  return meta;
}

/**
 * Sets the Image Pixel module and modality LUT for one 16-bit MONOCHROME2 frame of `values`
 * stored under `rescale`.
 */
export function setPixels(dataset: DcmDataset, rows: number, columns: number, values: Float32Array, rescale: Rescale): void {
  const stored = quantize(values, rescale);
  setElement(dataset, 'SamplesPerPixel', [1]);
  setElement(dataset, 'PhotometricInterpretation', ['MONOCHROME2']);
  setElement(dataset, 'Rows', [rows]);
  setElement(dataset, 'Columns', [columns]);
  setElement(dataset, 'BitsAllocated', [16]);
  setElement(dataset, 'BitsStored', [16]);
  setElement(dataset, 'HighBit', [15]);
  setElement(dataset, 'PixelRepresentation', [rescale.signed ? 1 : 0]);
  setElement(dataset, 'RescaleIntercept', [rescale.interceptText]);
  setElement(dataset, 'RescaleSlope', [rescale.slopeText]);
  const bytes = stored.buffer.slice(stored.byteOffset, stored.byteOffset + stored.byteLength);
  setElement(dataset, 'PixelData', [bytes], 'OW');
}

/**
 * Writes a Part 10 file through a temporary name in the same directory and renames it into
 * place, so an interrupted run never leaves a half-written `.dcm`.
 */
export async function writeFileAtomic(target: string, meta: DcmDataset, dataset: DcmDataset): Promise<void> {
  await writeBytesAtomic(target, encodePart10(target, meta, dataset));
}

/** The Part 10 bytes of meta + dataset (E_INTERNAL when dcmjs cannot encode them). */
export function encodePart10(target: string, meta: DcmDataset, dataset: DcmDataset): Uint8Array {
  try {
    return writePart10(meta, dataset);
  } catch (error) {
    throw new LowdoseError('E_INTERNAL', `${target}: could not encode DICOM: ${(error as Error).message}`, {
      path: target,
      cause: error,
    });
  }
}

/** Writes bytes through a temporary name in the same directory and renames them into place. */
export async function writeBytesAtomic(target: string, bytes: Uint8Array): Promise<void> {
  const temporary = path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await fsp.writeFile(temporary, bytes, { flag: 'wx' });
    await fsp.rename(temporary, target);
  } catch (error) {
    await fsp.rm(temporary, { force: true }).catch(() => undefined);
    throw new LowdoseError('E_IO', `${target}: could not write: ${(error as Error).message}`, { path: target, cause: error });
  }
}

/** DICOM DA and TM strings for a moment, in local time like scanners write them. */
export function dicomDateTime(date: Date): { date: string; time: string } {
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return {
    date: `${date.getFullYear()}${pad(date.getMonth() + 1)}${pad(date.getDate())}`,
    time: `${pad(date.getHours())}${pad(date.getMinutes())}${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}000`,
  };
}

/** `IM0001.dcm`-style names, wide enough for `count` files so they sort in slice order. */
export function sliceFileName(prefix: string, index: number, count: number): string {
  const width = Math.max(4, String(count).length);
  return `${prefix}${String(index + 1).padStart(width, '0')}.dcm`;
}

/** Formats numbers as DS strings (<= 16 chars) for multi-valued geometry elements. */
export function dsList(values: readonly number[]): string[] {
  return values.map((v) => {
    const rounded = Number(v.toPrecision(12));
    let text = String(rounded);
    for (let digits = 11; text.length > 16 && digits > 0; digits--) text = String(Number(v.toPrecision(digits)));
    return text;
  });
}
