/**
 * The only file that touches dcmjs. dcmjs ships no TypeScript types, so this wraps the few calls
 * the writers need behind typed functions. Datasets are kept in dcmjs's "denaturalised" form
 * (tag hex → { vr, Value }) rather than naturalised by keyword, because naturalising drops private
 * tags on the way back out (vendor PET scale factors live there).
 */
import { createRequire } from 'node:module';
import { scalarText } from '../util/text.js';

/** One element: its VR and values, as dcmjs reads and writes them. */
export interface DcmElement {
  vr: string;
  Value?: unknown[];
  /** dcmjs keeps the bytes as read; when Value changes it writes Value instead. */
  _rawValue?: unknown;
}

/** A dataset keyed by 8-digit upper-case tag hex ("0020000D"). */
export type DcmDataset = Record<string, DcmElement>;

interface DcmjsModule {
  data: {
    DicomMessage: {
      readFile(buffer: ArrayBuffer, options?: Record<string, unknown>): { meta: DcmDataset; dict: DcmDataset };
    };
    DicomDict: new (meta: DcmDataset) => { dict: DcmDataset; write(options?: Record<string, unknown>): ArrayBuffer };
    DicomMetaDictionary: {
      nameMap: Record<string, { tag: string; vr: string } | undefined>;
      dictionary: Record<string, { tag: string; vr: string; name: string } | undefined>;
      naturalizeDataset(dataset: DcmDataset): Record<string, unknown>;
    };
  };
  log: { setLevel(level: string): void; getLogger(name: string): { setLevel(level: string): void } };
}

const require = createRequire(import.meta.url);
const dcmjs = require('dcmjs') as DcmjsModule;
// dcmjs logs on the console (unknown values, "xs" VRs resolved to US, ...), which would mix into
// the CLI's stderr; our own errors say what matters.
dcmjs.log.setLevel('silent');
dcmjs.log.getLogger('validation.dcmjs').setLevel('silent');

/**
 * Reads a Part 10 file's meta and dataset up to (not including) the top-level PixelData: writers
 * replace the pixels, and skipping them keeps a multi-frame source from being held in memory.
 */
export function readDatasetWithoutPixels(bytes: Uint8Array): { meta: DcmDataset; dataset: DcmDataset } {
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const message = dcmjs.data.DicomMessage.readFile(buffer, {
    ignoreErrors: true,
    untilTag: '7FE00010',
    includeUntilTagValue: false,
  });
  const dataset = { ...message.dict };
  // dcmjs leaves an empty placeholder for the tag it stopped at.
  delete dataset['7FE00010'];
  return { meta: message.meta, dataset };
}

/** Writes meta + dataset as a Part 10 file in the meta's TransferSyntaxUID. */
export function writePart10(meta: DcmDataset, dataset: DcmDataset): Uint8Array {
  const dict = new dcmjs.data.DicomDict(meta);
  dict.dict = dataset;
  return new Uint8Array(dict.write({ allowInvalidVRLength: false }));
}

/** The tag hex of a standard keyword ("SeriesInstanceUID" → "0020000E"). */
export function tagOf(keyword: string): string {
  const entry = dcmjs.data.DicomMetaDictionary.nameMap[keyword];
  if (!entry) throw new Error(`unknown DICOM keyword ${keyword}`);
  return entry.tag.replace(/[(),]/g, '').toUpperCase();
}

/** The dictionary VR of a keyword (first of "US or SS" style alternatives is never asked for here). */
export function vrOf(keyword: string): string {
  const entry = dcmjs.data.DicomMetaDictionary.nameMap[keyword];
  if (!entry) throw new Error(`unknown DICOM keyword ${keyword}`);
  return entry.vr;
}

/**
 * The dictionary VR of a tag ("00280030" → "DS"), or undefined for unknown tags and for
 * attributes whose VR depends on other attributes ("US or SS").
 */
export function dictionaryVr(tagHex: string): string | undefined {
  const hex = tagHex.toUpperCase();
  const entry = dcmjs.data.DicomMetaDictionary.dictionary[`(${hex.slice(0, 4)},${hex.slice(4, 8)})`];
  return entry && /^[A-Z]{2}$/.test(entry.vr) ? entry.vr : undefined;
}

/** The keyword of a tag ("00280030" → "PixelSpacing"), or undefined when the dictionary has none. */
export function keywordOf(tagHex: string): string | undefined {
  const hex = tagHex.toUpperCase();
  return dcmjs.data.DicomMetaDictionary.dictionary[`(${hex.slice(0, 4)},${hex.slice(4, 8)})`]?.name;
}

/** Keyword-addressed access to a denaturalised dataset. */
export function getValues(dataset: DcmDataset, keyword: string): unknown[] | undefined {
  return dataset[tagOf(keyword)]?.Value;
}

export function getFirst(dataset: DcmDataset, keyword: string): unknown {
  return getValues(dataset, keyword)?.[0];
}

export function getString(dataset: DcmDataset, keyword: string): string | undefined {
  const value = getFirst(dataset, keyword);
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'object' && 'Alphabetic' in value) return scalarText(value.Alphabetic);
  return scalarText(value).trim();
}

export function getNumber(dataset: DcmDataset, keyword: string): number | undefined {
  const value = getFirst(dataset, keyword);
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value.trim()) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

/** Sets an element by keyword. `vr` defaults to the dictionary's; values are written as given. */
export function setElement(dataset: DcmDataset, keyword: string, values: unknown[], vr?: string): void {
  dataset[tagOf(keyword)] = { vr: vr ?? vrOf(keyword), Value: values };
}

export function deleteElement(dataset: DcmDataset, keyword: string): void {
  delete dataset[tagOf(keyword)];
}

/** A person name value in dcmjs's form. */
export function personName(name: string): { Alphabetic: string } {
  return { Alphabetic: name };
}
