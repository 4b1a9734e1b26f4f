/**
 * What kind of object a parsed file is, so that batch readers can skip what is not an image
 * (DICOMDIR, RT structures and plans, SR, SEG, waveforms, ...) with a note instead of an error.
 */
import { LowdoseError } from '../errors.js';
import { getString, TAG } from './attributes.js';
import type { ParsedFile } from './parse.js';
import { MEDIA_STORAGE_DIRECTORY } from './parse.js';

const RT_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.481.1';

/** SOP class UID prefixes of objects that hold no patient image for lowdose to read. */
const NON_IMAGE_SOP_CLASS_PREFIXES: ReadonlyArray<[string, string]> = [
  ['1.2.840.10008.5.1.4.1.1.481.', 'radiotherapy object'],
  ['1.2.840.10008.5.1.4.34.', 'radiotherapy object'],
  ['1.2.840.10008.5.1.4.1.1.88.', 'structured report'],
  ['1.2.840.10008.5.1.4.1.1.66.4', 'segmentation'],
  ['1.2.840.10008.5.1.4.1.1.66', 'raw data, registration or segmentation object'],
  ['1.2.840.10008.5.1.4.1.1.9.', 'waveform (ECG or other)'],
  ['1.2.840.10008.5.1.4.1.1.11.', 'presentation state'],
  ['1.2.840.10008.5.1.4.1.1.104.', 'encapsulated document'],
  ['1.2.840.10008.5.1.4.1.1.67', 'real world value mapping'],
  ['1.2.840.10008.5.1.4.1.1.68.', 'surface object'],
  ['1.2.840.10008.5.1.4.1.1.78.', 'measurement object'],
  ['1.2.840.10008.5.1.4.1.1.79.', 'measurement object'],
  ['1.2.840.10008.5.1.4.1.1.80.', 'visual field object'],
  ['1.2.840.10008.5.1.4.1.1.82.', 'measurement object'],
  ['1.2.840.10008.5.1.4.1.1.90.', 'content assessment'],
  ['1.2.840.10008.5.1.4.1.1.91.', 'annotation object'],
  ['1.2.840.10008.5.1.4.1.1.200.', 'protocol object'],
  ['1.2.840.10008.5.1.4.38.', 'hanging protocol'],
  ['1.2.840.10008.5.1.4.39.', 'color palette'],
  ['1.2.840.10008.5.1.4.43.', 'generic implant template'],
  ['1.2.840.10008.5.1.4.44.', 'implant assembly template'],
  ['1.2.840.10008.5.1.4.45.', 'implant template group'],
];

/** Used when a file has no SOP class UID. */
const NON_IMAGE_MODALITIES = new Set([
  'RTSTRUCT', 'RTPLAN', 'RTDOSE', 'RTRECORD', 'RTTREAT', 'SR', 'SEG', 'ECG', 'HD', 'EPS', 'RESP', 'AU',
  'KO', 'PR', 'REG', 'DOC', 'FID', 'RWV', 'PLAN', 'HC',
]);

export type ObjectKind = { kind: 'image' } | { kind: 'directory' } | { kind: 'non-image'; what: string };

export function classifyObject(parsed: ParsedFile): ObjectKind {
  const ds = parsed.dataSet;
  const sopClass =
    getString(ds, TAG.SOPClassUID) ?? (parsed.meta ? getString(parsed.meta, 'x00020002') : undefined) ?? '';
  if (sopClass === MEDIA_STORAGE_DIRECTORY || ds.elements[TAG.DirectoryRecordSequence]) return { kind: 'directory' };
  if (sopClass && sopClass !== RT_IMAGE_STORAGE) {
    for (const [prefix, what] of NON_IMAGE_SOP_CLASS_PREFIXES) {
      if (sopClass.startsWith(prefix)) return { kind: 'non-image', what: `${what} (SOP class ${sopClass})` };
    }
  }
  const modality = getString(ds, TAG.Modality)?.toUpperCase();
  if (!sopClass && modality && NON_IMAGE_MODALITIES.has(modality)) return { kind: 'non-image', what: `${modality} object` };
  return { kind: 'image' };
}

/** Throws the skip reason (E_DICOMDIR or E_NOT_IMAGE) for anything that is not an image. */
export function requireImage(parsed: ParsedFile): void {
  const kind = classifyObject(parsed);
  if (kind.kind === 'directory') {
    throw new LowdoseError('E_DICOMDIR', `${parsed.path}: DICOMDIR (a media directory, not an image); skipped`, {
      path: parsed.path,
    });
  }
  if (kind.kind === 'non-image') {
    throw new LowdoseError('E_NOT_IMAGE', `${parsed.path}: ${kind.what}, not an image; skipped`, { path: parsed.path });
  }
}

/** Codes that mean "not something lowdose reads" rather than "a broken file". */
export const SKIP_CODES = new Set(['E_DICOMDIR', 'E_NOT_IMAGE']);
