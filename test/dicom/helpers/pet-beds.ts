/**
 * A three-bed PET series made from the ACRIN slice suyashkumar__dicom/testdata/1.dcm (F-18,
 * SeriesTime 15:23:16.921): six slices, two per bed, acquired at 15:03, 15:05 and 15:07, so
 * SeriesTime is later than every AcquisitionTime, as on Siemens and GE multi-bed scans. Written to
 * a temporary folder; NumberOfSlices (0054,0081) is `numberOfSlices`, or left out when null.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { encodeElement, withElement } from '../../helpers/mutate-dicom.js';
import { corpusPath } from './corpus.js';

const SOP_UID = '1.3.6.1.4.1.14519.5.2.1.7009.2401.264581068966524608390523682945';

function bedSlice(source: Uint8Array, i: number, numberOfSlices: number | null): Uint8Array {
  let bytes = source;
  const set = (tag: string, vr: string, value: Uint8Array | string) => (bytes = withElement(bytes, tag, encodeElement(tag, vr, value)));
  set('x00080018', 'UI', `${SOP_UID.slice(0, -1)}${i}`);
  set('x00080032', 'TM', `15${String(3 + 2 * Math.floor(i / 2)).padStart(2, '0')}16.921000`);
  set('x00200013', 'IS', String(i + 1));
  set('x00200032', 'DS', `-342.11083849009\\-528.74934994385\\${(-278.5 - 3.27 * i).toFixed(2)}`);
  if (numberOfSlices === null) bytes = withElement(bytes, 'x00540081', new Uint8Array(0));
  else set('x00540081', 'US', new Uint8Array(new Uint16Array([numberOfSlices]).buffer));
  return bytes;
}

/** The six files, in acquisition order, and how to remove them. */
export function writeBedSeries(numberOfSlices: number | null): { dir: string; files: string[]; remove: () => void } {
  const source = new Uint8Array(readFileSync(corpusPath('suyashkumar__dicom/testdata/1.dcm')));
  const dir = mkdtempSync(path.join(tmpdir(), 'lowdose-pet-beds-'));
  const files = [0, 1, 2, 3, 4, 5].map((i) => {
    const file = path.join(dir, `${i + 1}.dcm`);
    writeFileSync(file, bedSlice(source, i, numberOfSlices));
    return file;
  });
  return { dir, files, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
