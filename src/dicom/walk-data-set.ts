/**
 * dicom-parser's walk of a data set's top level (its parseDicomDataSetExplicit / Implicit loop),
 * with the items of the Per-frame Functional Groups Sequence (5200,9230) read one at a time and
 * held to the frames the header declared before it (NumberOfFrames, (0028,0008), comes first in
 * tag order): a sequence of more items than frames is refused at the first item too many, and one
 * of a file declaring more than MAX_FRAMES_PER_FILE frames before its first item, instead of
 * being read whole (a million empty items are a million objects on the heap, 428 MB). Everything
 * else, nested sequences included, is read by dicom-parser as it always is.
 */
import { LowdoseError } from '../errors.js';
import { dicomParser, type ByteStream, type DataSet, type Element } from './dicom-parser.js';
import { MAX_FRAMES_PER_FILE, tooManyFrames } from './file-size.js';

/**
 * A refusal thrown from inside the walk, which holds whatever bytes follow (so a read of a
 * file's first bytes that meets it does not read more): a data set past MAX_DATA_SET_ENTRIES
 * (./parse.ts), a Per-frame Functional Groups Sequence of more items than frames.
 */
export class WalkRefusal extends LowdoseError {}

const PER_FRAME_GROUPS = 'x52009230';
const NUMBER_OF_FRAMES = 'x00280008';
const ITEM_DELIMITER = 'xfffee00d';
const SEQUENCE_DELIMITER = 'xfffee0dd';
const UNDEFINED_LENGTH = 0xffffffff;

/**
 * Reads the elements of `dataSet` from `stream` up to `maxPosition` (or through `untilTag`, whose
 * value is not read), as dicom-parser's parseDicomDataSetExplicit / Implicit do, but for the
 * Per-frame Functional Groups Sequence (see above). dicom-parser's own exceptions (strings) pass
 * through as they are.
 */
export function walkDataSet(
  dataSet: DataSet,
  stream: ByteStream,
  maxPosition: number,
  explicitVr: boolean,
  path: string,
  untilTag?: string,
): void {
  const { elements } = dataSet;
  while (stream.position < maxPosition) {
    const perFrame = perFrameGroupsNext(stream, explicitVr);
    const stopAt = perFrame ? PER_FRAME_GROUPS : untilTag;
    const element = explicitVr
      ? dicomParser.readDicomElementExplicit(stream, dataSet.warnings, stopAt)
      : dicomParser.readDicomElementImplicit(stream, stopAt);
    elements[element.tag] = element;
    if (element.tag === untilTag) return;
    if (perFrame) readPerFrameItems(stream, element, explicitVr, itemBound(dataSet, path), dataSet.warnings);
  }
  if (explicitVr && stream.position > maxPosition) throw new Error('buffer overrun: the last element runs past the data set');
}

/** Whether the next element is the Per-frame Functional Groups Sequence, holding items as a sequence does. */
function perFrameGroupsNext(stream: ByteStream, explicitVr: boolean): boolean {
  const { byteArray: bytes, byteArrayParser: parser, position } = stream;
  if (position + 12 > bytes.length) return false;
  if (parser.readUint16(bytes, position) !== 0x5200 || parser.readUint16(bytes, position + 2) !== 0x9230) return false;
  // Explicit VR: its VR says so. Implicit: the next tag is an item or the sequence's end, as dicom-parser judges it.
  if (explicitVr) return bytes[position + 4] === 0x53 && bytes[position + 5] === 0x51;
  const next = parser.readUint16(bytes, position + 10);
  return parser.readUint16(bytes, position + 8) === 0xfffe && (next === 0xe000 || next === 0xe0dd);
}

/** The most items the Per-frame Functional Groups Sequence may hold, and its refusal past them. */
interface ItemBound {
  readonly items: number;
  readonly refuse: (position: number) => WalkRefusal;
}

/**
 * One item per frame: NumberOfFrames. A file declaring more than MAX_FRAMES_PER_FILE frames is
 * refused here (E_FILE_TOO_LARGE, as ./frames.ts refuses it after the walk); one that declares no
 * NumberOfFrames, or one that is no count, may hold at most MAX_FRAMES_PER_FILE items (a
 * Segmentation of pydicom's test files, liver_1frame.dcm, holds 3 and no NumberOfFrames).
 */
function itemBound(dataSet: DataSet, path: string): ItemBound {
  const text = dataSet.elements[NUMBER_OF_FRAMES] ? dataSet.string(NUMBER_OF_FRAMES) : undefined;
  const frames = text === undefined ? Number.NaN : Number(text);
  if (Number.isInteger(frames) && frames > MAX_FRAMES_PER_FILE) {
    throw new WalkRefusal('E_FILE_TOO_LARGE', tooManyFrames(path, frames).message, { path });
  }
  if (Number.isInteger(frames) && frames >= 1) {
    return {
      items: frames,
      refuse: (position) =>
        new WalkRefusal(
          'E_MALFORMED',
          `${path}: malformed: NumberOfFrames is ${frames} but the Per-frame Functional Groups Sequence holds more than ${frames} item(s) (item ${frames + 1} at byte ${position}); one item per frame`,
          { path },
        ),
    };
  }
  const declared = text === undefined ? 'no NumberOfFrames is declared' : `NumberOfFrames "${text}" is no count`;
  return {
    items: MAX_FRAMES_PER_FILE,
    refuse: (position) =>
      new WalkRefusal(
        'E_MALFORMED',
        `${path}: malformed: the Per-frame Functional Groups Sequence holds more than ${MAX_FRAMES_PER_FILE.toLocaleString('en-US')} item(s) (item ${MAX_FRAMES_PER_FILE + 1} at byte ${position}), more than the frames lowdose reads of one DICOM file, and ${declared}`,
        { path },
      ),
  };
}

/** The items of `element` (the Per-frame Functional Groups Sequence), as readSequenceItemsExplicit / Implicit read them, each counted before it is read. */
function readPerFrameItems(stream: ByteStream, element: Element, explicitVr: boolean, bound: ItemBound, warnings: string[]): void {
  const items: Element[] = [];
  element.items = items;
  const next = (): void => {
    if (items.length >= bound.items) throw bound.refuse(stream.position);
    items.push(readItem(stream, explicitVr, warnings));
  };
  if (element.length !== UNDEFINED_LENGTH) {
    const end = element.dataOffset + element.length;
    while (stream.position < end) next();
    return;
  }
  while (stream.position + 4 <= stream.byteArray.length) {
    const tag = dicomParser.readTag(stream);
    stream.seek(-4);
    if (tag === SEQUENCE_DELIMITER) {
      element.length = stream.position - element.dataOffset;
      stream.seek(8);
      return;
    }
    next();
  }
  warnings.push('eof encountered before finding sequence delimitation tag while reading sequence of undefined length');
  element.length = stream.position - element.dataOffset;
}

/** One sequence item, as dicom-parser's readSequenceItemExplicit / Implicit reads it. */
function readItem(stream: ByteStream, explicitVr: boolean, warnings: string[]): Element {
  const item: Element = dicomParser.readSequenceItem(stream);
  const dataSet = new dicomParser.DataSet(stream.byteArrayParser, stream.byteArray, {});
  if (item.length === UNDEFINED_LENGTH) {
    item.hadUndefinedLength = true;
    let delimited = false;
    while (!delimited && stream.position < stream.byteArray.length) {
      const element = explicitVr ? dicomParser.readDicomElementExplicit(stream, warnings) : dicomParser.readDicomElementImplicit(stream);
      dataSet.elements[element.tag] = element;
      delimited = element.tag === ITEM_DELIMITER;
    }
    if (!delimited) warnings.push('eof encountered before finding item delimiter tag while reading sequence item of undefined length');
    item.length = stream.position - item.dataOffset;
  } else if (explicitVr) {
    dicomParser.parseDicomDataSetExplicit(dataSet, stream, stream.position + item.length);
  } else {
    dicomParser.parseDicomDataSetImplicit(dataSet, stream, stream.position + item.length);
  }
  item.dataSet = dataSet;
  return item;
}
