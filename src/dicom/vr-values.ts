/**
 * Which VR a copied element may be written with, judged from its value bytes (PS3.5 6.2).
 *
 * THE RULE for every element a derived file copies (./derived-source.ts): a binary VR's value is
 * a whole number of values of that VR's size (FL 4 bytes, FD 8, US 2, AT 4, ...) and its floating
 * point values are finite; an element whose VR in the file contradicts the dictionary (a number
 * VR on a text attribute, or the reverse) is a corrupted VR and is read with the dictionary's VR
 * when its bytes fit that VR; anything else is dropped (and reported by the caller). dcmjs is
 * never handed a value it would misread: a PN read as UV once made it throw ("Cannot convert 0 to
 * a BigInt"), a TM read as UV or a CS read as FD made it grow its write buffer past 2 GiB.
 */
import { stringValueFits } from './value-repair.js';

/** Bytes per value of the binary VRs. */
const BINARY_VR_SIZE: Readonly<Record<string, number>> = {
  AT: 4,
  FL: 4,
  FD: 8,
  OB: 1,
  OD: 8,
  OF: 4,
  OL: 4,
  OV: 8,
  OW: 2,
  SL: 4,
  SS: 2,
  SV: 8,
  UL: 4,
  US: 2,
  UV: 8,
};

export const VALID_VRS: ReadonlySet<string> = new Set(
  'AE AS AT CS DA DS DT FL FD IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI UL UN UR US UT UV'.split(' '),
);

/** VRs dicom-parser reads with a 4-byte length in explicit VR encoding. */
export const PARSER_LONG_VRS: ReadonlySet<string> = new Set(['OB', 'OD', 'OL', 'OW', 'SQ', 'OF', 'UC', 'UR', 'UT', 'UN']);

/** VRs that have a 4-byte length in explicit VR encoding (PS3.5 7.1.2); dcmjs reads these so. */
export const STANDARD_LONG_VRS: ReadonlySet<string> = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);

/**
 * The 64-bit VRs are never written: dicom-parser reads them with a 2-byte length (so what it read
 * is not the element's value), dcmjs 0.51 throws on an empty UV, and no attribute lowdose copies
 * has one of them.
 */
const NEVER_WRITTEN = new Set(['OV', 'SV', 'UV']);

/** What is wrong with a value of an implicit VR file, which dcmjs reads with the dictionary's VR. */
export function implicitValueProblem(dictionary: string | undefined, value: Uint8Array, littleEndian: boolean): string | null {
  return dictionary !== undefined && isBinaryVr(dictionary) ? vrValueProblem(dictionary, value, littleEndian) : null;
}

export function isBinaryVr(vr: string): boolean {
  return BINARY_VR_SIZE[vr] !== undefined;
}

/** What is wrong with `value` as a value of `vr`, or null. Text VRs are checked only for binary bytes. */
export function vrValueProblem(vr: string, value: Uint8Array, littleEndian: boolean): string | null {
  const size = BINARY_VR_SIZE[vr];
  if (size === undefined) {
    // Text: printable characters, ESC (ISO 2022 code extensions), TAB, LF, FF, CR, and trailing NUL padding.
    let end = value.length;
    while (end > 0 && value[end - 1] === 0) end--;
    for (let i = 0; i < end; i++) {
      const b = value[i]!;
      if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0c && b !== 0x0d && b !== 0x1b) return `${value.length} bytes that are not ${vr} text`;
    }
    return null;
  }
  if (value.length % size !== 0) return `${value.length} bytes are not a whole number of ${vr} values (${size} bytes each)`;
  if (vr === 'FL' || vr === 'FD' || vr === 'OF' || vr === 'OD') {
    const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
    for (let at = 0; at < value.length; at += size) {
      const n = size === 4 ? view.getFloat32(at, littleEndian) : view.getFloat64(at, littleEndian);
      if (!Number.isFinite(n)) return `a ${vr} value that is not a finite number (${n})`;
    }
  }
  return null;
}

export type VrChoice = { readonly vr: string; readonly repaired?: string } | { readonly problem: string };

/**
 * The VR to write an explicit VR element with, given the VR in the file (valid or not), the
 * dictionary's VR and the value bytes dicom-parser read. A VR is a candidate only when its length
 * field has the size dicom-parser read for the file's VR: the bytes are then the element's whole
 * value, and a nested element's header can be patched where it lies.
 */
export function chooseVr(fileVr: string, dictionary: string | undefined, value: Uint8Array, littleEndian: boolean): VrChoice {
  const usableDictionary =
    dictionary !== undefined && VALID_VRS.has(dictionary) && dictionary !== 'SQ' && dictionary !== 'UN' && !NEVER_WRITTEN.has(dictionary)
      ? dictionary
      : undefined;
  const parserLong = PARSER_LONG_VRS.has(fileVr);
  const framed = (vr: string) => STANDARD_LONG_VRS.has(vr) === parserLong;
  const own = VALID_VRS.has(fileVr) && fileVr !== 'UN' && !NEVER_WRITTEN.has(fileVr) ? fileVr : undefined;
  const fromDictionary = usableDictionary !== undefined && usableDictionary !== fileVr && framed(usableDictionary) ? usableDictionary : undefined;
  // A number VR on a text attribute (or the reverse) is a corrupted VR: the dictionary goes first.
  const contradicts = own !== undefined && fromDictionary !== undefined && isBinaryVr(own) !== isBinaryVr(fromDictionary);
  // Two text VRs: the dictionary's when the value is none of the file's VR but is one of the
  // dictionary's (ImageOrientationPatient's numbers under a VR corrupted to "DA").
  if (own !== undefined && fromDictionary !== undefined && !isBinaryVr(own) && !isBinaryVr(fromDictionary)) {
    const text = latin1(value).replace(/[\0 ]+$/, '');
    if (!stringValueFits(own, text) && stringValueFits(fromDictionary, text)) {
      return { vr: fromDictionary, repaired: `VR "${printableVr(fileVr)}" in the file read as ${fromDictionary}` };
    }
  }
  const order = contradicts ? [fromDictionary, own] : [own, fromDictionary];
  const problems: string[] = [];
  for (const vr of order) {
    if (vr === undefined) continue;
    // The file's own text VR on a text attribute is the string checks' business (./value-repair.ts).
    const problem = vr === own && !isBinaryVr(vr) && !contradicts ? null : vrValueProblem(vr, value, littleEndian);
    if (problem === null) return vr === fileVr ? { vr } : { vr, repaired: `VR "${printableVr(fileVr)}" in the file read as ${vr}` };
    problems.push(`as ${vr}: ${problem}`);
  }
  if (own === undefined && fromDictionary === undefined) return { problem: `VR "${printableVr(fileVr)}" cannot be written here` };
  return { problem: `VR "${printableVr(fileVr)}": ${problems.join('; ')}` };
}

function latin1(value: Uint8Array): string {
  let out = '';
  for (const b of value) out += String.fromCharCode(b);
  return out;
}

export function printableVr(vr: string): string {
  return vr.replace(/[^\x20-\x7e]/g, '?');
}
