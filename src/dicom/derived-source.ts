/**
 * The attributes a derived file copies from its source, read safely: our own parser (whose
 * lengths are checked against the file) picks the copied elements out of the source's bytes, and
 * only those, re-framed as a small Part 10 stream in the data set's real encoding, reach dcmjs.
 * dcmjs never sees pixel data, unknown or private elements, a corrupted VR or a UN sequence, which
 * it used to expand into hundreds of megabytes of zeros (a UN element whose content it read with
 * the wrong VR encoding, or a "D=" VR read with a 4-byte length).
 *
 * Enforces the rule of ./derived-attributes.ts: only the listed attributes, none above
 * MAX_COPIED_ELEMENT_BYTES, UN only when the dictionary knows the VR, and nested elements of a
 * copied sequence must be cleanly encoded; and the rule of ./vr-values.ts: every value fits the VR
 * it is written with (binary values a whole number of values, floating point values finite), a
 * VR that contradicts the dictionary is read as the dictionary's VR when the value fits it.
 * Anything else wrong drops that attribute (reported).
 */
import { COPIED_PRIVATE, COPIED_TAGS, MAX_COPIED_ELEMENT_BYTES, MAX_UN_ELEMENT_BYTES } from './derived-attributes.js';
import type { DataSet, Element } from './dicom-parser.js';
import type { ParsedFile } from './parse.js';
import { dictionaryVr, type DcmDataset, readDatasetWithoutPixels, setElement, writePart10 } from './write-dcmjs.js';
import type { ValueRepair } from './value-repair.js';
import {
  chooseVr,
  implicitValueProblem,
  isBinaryVr,
  PARSER_LONG_VRS,
  printableVr,
  STANDARD_LONG_VRS as WRITTEN_LONG_VRS,
  VALID_VRS,
  vrValueProblem,
} from './vr-values.js';
const UNDEFINED_LENGTH = 0xffffffff;

const ENCODING_UID = {
  implicitLittle: '1.2.840.10008.1.2',
  explicitLittle: '1.2.840.10008.1.2.1',
  explicitBig: '1.2.840.10008.1.2.2',
} as const;

export interface CopiedSource {
  /** A Part 10 stream (preamble, meta, the copied elements; no pixel data) for dcmjs to read. */
  readonly bytes: Uint8Array;
  /** What was repaired or dropped on the way. */
  readonly repairs: ValueRepair[];
  /** The source's MediaStorageSOPClassUID, when its meta has one. */
  readonly mediaStorageSopClassUid: string | undefined;
  /** Top-level binary elements that are empty in the source (dcmjs reads them as one value 0). */
  readonly emptyBinaryTags: readonly string[];
}

interface Piece {
  readonly tag: string;
  readonly group: number;
  readonly element: number;
  readonly vr: string | null;
  readonly length: number;
  readonly value: Uint8Array;
}

/** Picks the copied attributes out of a parsed source file (see the module comment). */
export function copySourceAttributes(parsed: ParsedFile): CopiedSource {
  const { dataSet } = parsed;
  const { explicitVr, littleEndian } = parsed.encoding;
  const bytes = dataSet.byteArray;
  const repairs: ValueRepair[] = [];
  const pieces: Piece[] = [];
  const emptyBinaryTags: string[] = [];
  const privateVrs = copiedPrivateElements(dataSet);

  for (const key of Object.keys(dataSet.elements).sort()) {
    const element = dataSet.elements[key]!;
    const tag = key.slice(1).toUpperCase();
    const group = parseInt(tag.slice(0, 4), 16);
    const number = parseInt(tag.slice(4, 8), 16);
    const keyword = COPIED_TAGS.get(tag);
    const privateVr = privateVrs.get(tag);
    if (keyword === undefined && privateVr === undefined) continue;
    const dictionary = privateVr ?? dictionaryVr(tag);
    const name = `(${tag.slice(0, 4)},${tag.slice(4, 8)})`;
    const dropped = (why: string) =>
      repairs.push({ tag: name, vr: printableVr(element.vr ?? dictionary ?? '??'), action: 'dropped', detail: `dropped: ${why}` });

    if (element.length > MAX_COPIED_ELEMENT_BYTES && element.length !== UNDEFINED_LENGTH) {
      dropped(`${element.length} bytes, more than the ${MAX_COPIED_ELEMENT_BYTES} a copied attribute may hold`);
      continue;
    }
    let vr: string | null = explicitVr ? (element.vr ?? null) : null;
    const value = bytes.slice(element.dataOffset, element.dataOffset + element.length);
    if (vr !== null && vr !== 'UN' && vr !== 'SQ' && !element.hadUndefinedLength) {
      // A corrupted VR (not a VR, or one the value does not fit: a PN read as UV) is read with
      // the dictionary's VR when the value fits it (./vr-values.ts).
      const choice = chooseVr(vr, dictionary, value, littleEndian);
      if ('problem' in choice) {
        dropped(choice.problem);
        continue;
      }
      if (choice.repaired !== undefined) repairs.push({ tag: name, vr: choice.vr, action: 'repaired', detail: choice.repaired });
      vr = choice.vr;
    }
    if (vr === 'UN') {
      if (!littleEndian || !dictionary || dictionary === 'SQ' || !VALID_VRS.has(dictionary) || element.hadUndefinedLength || element.length > MAX_UN_ELEMENT_BYTES) {
        dropped(`a UN (unknown VR) element of ${element.hadUndefinedLength ? 'undefined length' : `${element.length} bytes`}`);
        continue;
      }
      // UN holds the value in implicit VR little endian encoding: the dictionary VR's bytes.
      const problem = isBinaryVr(dictionary) ? vrValueProblem(dictionary, value, true) : null;
      if (problem) {
        dropped(`a UN element read as ${dictionary}: ${problem}`);
        continue;
      }
      vr = dictionary;
    }
    if (vr === null && !element.hadUndefinedLength) {
      const problem = implicitValueProblem(dictionary, value, littleEndian);
      if (problem) {
        dropped(`${problem} (read as ${dictionary})`);
        continue;
      }
    }
    const isSequence = vr === 'SQ' || (vr === null && (element.items !== undefined || dictionary === 'SQ'));
    if (isSequence) {
      const problem = repairNestedVrs(element, value, bytes, littleEndian, (nestedTag, detail) =>
        repairs.push({ tag: name, vr: 'SQ', action: 'repaired', detail: `${detail} (nested element ${nestedTag})` }),
      );
      if (problem) {
        dropped(problem);
        continue;
      }
    } else if (element.hadUndefinedLength) {
      dropped('an undefined length on an element that is not a sequence');
      continue;
    } else if (vr !== null && !WRITTEN_LONG_VRS.has(vr) && element.length > 0xffff) {
      dropped(`${element.length} bytes do not fit a ${vr}`);
      continue;
    }
    const writtenVr = vr ?? dictionary;
    if (value.length === 0 && writtenVr !== undefined && isBinaryVr(writtenVr)) emptyBinaryTags.push(tag);
    pieces.push({
      tag,
      group,
      element: number,
      vr,
      // dicom-parser's length of an undefined-length sequence covers its items, not the
      // delimiter: the copy is written with that length, defined.
      length: value.length,
      value,
    });
  }

  const meta: DcmDataset = {};
  const mediaStorageSopClassUid = parsed.meta?.string('x00020002')?.replace(/[\0\s]+$/, '') || undefined;
  setElement(meta, 'FileMetaInformationVersion', [new Uint8Array([0, 1]).buffer], 'OB');
  setElement(meta, 'MediaStorageSOPClassUID', [mediaStorageSopClassUid ?? '']);
  setElement(meta, 'MediaStorageSOPInstanceUID', ['']);
  setElement(meta, 'TransferSyntaxUID', [
    !explicitVr ? ENCODING_UID.implicitLittle : littleEndian ? ENCODING_UID.explicitLittle : ENCODING_UID.explicitBig,
  ]);
  const head = writePart10(meta, {});
  const body = pieces.map((piece) => encodePiece(piece, explicitVr, littleEndian));
  const out = new Uint8Array(head.length + body.reduce((n, b) => n + b.length, 0));
  out.set(head, 0);
  let offset = head.length;
  for (const b of body) {
    out.set(b, offset);
    offset += b.length;
  }
  return { bytes: out, repairs, mediaStorageSopClassUid, emptyBinaryTags };
}

/**
 * dcmjs's reading of the copied attributes (no pixel data), with the empty binary elements of the
 * source empty again: dcmjs reads an empty FD or US as one value 0, which would then be written.
 */
export function readCopiedAttributes(copied: CopiedSource): DcmDataset {
  const { dataset } = readDatasetWithoutPixels(copied.bytes);
  for (const tag of copied.emptyBinaryTags) {
    const element = dataset[tag];
    if (element) dataset[tag] = { vr: element.vr, Value: [] };
  }
  return dataset;
}

/** Tag hex → VR of the private elements to copy: those of the listed blocks, and their creators. */
function copiedPrivateElements(dataSet: DataSet): Map<string, string> {
  const out = new Map<string, string>();
  for (const block of COPIED_PRIVATE) {
    const group = block.group.toString(16).padStart(4, '0');
    for (let slot = 0x10; slot <= 0xff; slot++) {
      const creatorKey = `x${group}00${slot.toString(16).padStart(2, '0')}`;
      const creator = dataSet.elements[creatorKey];
      if (!creator || creator.length === 0 || creator.length > 64) continue;
      const name = (dataSet.string(creatorKey) ?? '').replace(/\0+$/, '').trim();
      if (!block.creator.test(name)) continue;
      let any = false;
      for (const [low, vr] of Object.entries(block.elements)) {
        const tag = `${group}${slot.toString(16).padStart(2, '0')}${Number(low).toString(16).padStart(2, '0')}`.toUpperCase();
        if (dataSet.elements[`x${tag.toLowerCase()}`]) {
          out.set(tag, vr);
          any = true;
        }
      }
      if (any) out.set(creatorKey.slice(1).toUpperCase(), 'LO');
    }
  }
  return out;
}

/**
 * Checks the elements nested in a copied sequence: each must lie inside its item, not be UN, and
 * (./vr-values.ts) have a value that fits its VR; a corrupted VR is patched in the copy `value` to
 * the dictionary's VR when the value fits that and its length field has the same size. Returns
 * what is wrong, or null.
 */
function repairNestedVrs(
  sequence: Element,
  value: Uint8Array,
  bytes: Uint8Array,
  littleEndian: boolean,
  onRepair: (tag: string, detail: string) => void,
): string | null {
  const base = sequence.dataOffset;
  const end = sequence.dataOffset + sequence.length;
  const check = (element: Element, itemEnd: number): string | null => {
    // dicom-parser lists an item's delimitation item among its elements.
    if (element.tag.startsWith('xfffe')) return null;
    if (element.length !== UNDEFINED_LENGTH && element.dataOffset + element.length > itemEnd) {
      return `a nested element ${tagName(element.tag)} runs past its item`;
    }
    const vr = element.vr;
    if (vr === 'UN') return `a nested UN element ${tagName(element.tag)}`;
    const isSequence = vr === 'SQ' || element.items !== undefined;
    if (!isSequence && element.length !== UNDEFINED_LENGTH) {
      const dictionary = dictionaryVr(element.tag.slice(1).toUpperCase());
      const nestedValue = bytes.subarray(element.dataOffset, element.dataOffset + element.length);
      if (vr === undefined) {
        const problem = implicitValueProblem(dictionary, nestedValue, littleEndian);
        if (problem) return `a nested element ${tagName(element.tag)}: ${problem}`;
      } else {
        const choice = chooseVr(vr, dictionary, nestedValue, littleEndian);
        if ('problem' in choice) return `a nested element ${tagName(element.tag)}: ${choice.problem}`;
        if (choice.vr !== vr) {
          const at = element.dataOffset - (PARSER_LONG_VRS.has(vr) ? 8 : 4) - base;
          value[at] = choice.vr.charCodeAt(0);
          value[at + 1] = choice.vr.charCodeAt(1);
          if (choice.repaired !== undefined) onRepair(tagName(element.tag), choice.repaired);
        }
      }
    } else if (vr !== undefined && !VALID_VRS.has(vr)) {
      return `a nested element with VR "${printableVr(vr)}"`;
    }
    for (const item of element.items ?? []) {
      const itemEnd = item.hadUndefinedLength ? end : Math.min(end, item.dataOffset + item.length);
      for (const nested of Object.values(item.dataSet?.elements ?? {})) {
        const problem = check(nested, itemEnd);
        if (problem) return problem;
      }
    }
    return null;
  };
  if (end > bytes.length) return 'the sequence runs past the end of the file';
  for (const item of sequence.items ?? []) {
    const itemEnd = item.hadUndefinedLength ? end : Math.min(end, item.dataOffset + item.length);
    for (const nested of Object.values(item.dataSet?.elements ?? {})) {
      const problem = check(nested, itemEnd);
      if (problem) return problem;
    }
  }
  return null;
}

function encodePiece(piece: Piece, explicitVr: boolean, littleEndian: boolean): Uint8Array {
  const long = !explicitVr || (piece.vr !== null && WRITTEN_LONG_VRS.has(piece.vr));
  const headerLength = explicitVr ? (long ? 12 : 8) : 8;
  const out = new Uint8Array(headerLength + piece.value.length);
  const view = new DataView(out.buffer);
  view.setUint16(0, piece.group, littleEndian);
  view.setUint16(2, piece.element, littleEndian);
  if (explicitVr) {
    const vr = piece.vr ?? 'UN';
    out[4] = vr.charCodeAt(0);
    out[5] = vr.charCodeAt(1);
    if (long) view.setUint32(8, piece.length, littleEndian);
    else view.setUint16(6, piece.length, littleEndian);
  } else {
    view.setUint32(4, piece.length, littleEndian);
  }
  out.set(piece.value, headerLength);
  return out;
}

/** "x00181072" → "(0018,1072)". */
function tagName(key: string): string {
  const hex = key.slice(1).toUpperCase();
  return `(${hex.slice(0, 4)},${hex.slice(4, 8)})`;
}
