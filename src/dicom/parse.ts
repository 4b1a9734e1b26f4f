/**
 * Bytes → parsed DICOM data set, for the files hospitals actually send: Part 10 files with a
 * preamble, files that start at "DICM", raw data sets without any file meta (transfer syntax
 * guessed from the first element, implicit VR little endian when in doubt), deflated data sets,
 * and files whose declared syntax disagrees with how the data set is really encoded.
 *
 * dicom-parser only records element offsets, so parsing allocates nothing in proportion to what
 * a (possibly truncated) file declares; declared lengths are checked against the bytes here.
 */
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { inflateRawSync, inflateSync } from 'node:zlib';
import { LowdoseError } from '../errors.js';
import { sniffEncapsulatedSyntax } from './decoders/codestream.js';
import { dicomParser, type ByteStream, type DataSet, type Element } from './dicom-parser.js';
import {
  fileTooLarge,
  FRAMED_READ_BYTES,
  MAX_DICOM_FILE_BYTES,
  MAX_FRAMED_FILE_BYTES,
  MAX_TRAILING_BYTES,
  nativeLengthProblem,
  type DeclaredPixels,
} from './file-size.js';
import { readAt, walkEncapsulatedItems, type PixelFile } from './pixel-file.js';
import { walkDataSet, WalkRefusal } from './walk-data-set.js';
import { formatBytes } from '../util/bytes.js';
import {
  EXPLICIT_VR_BIG_ENDIAN,
  EXPLICIT_VR_LITTLE_ENDIAN,
  IMPLICIT_VR_LITTLE_ENDIAN,
  transferSyntaxOf,
  type TransferSyntax,
} from './transfer-syntax.js';

export interface ParsedFile {
  readonly path: string;
  /** The file meta group (0002,xxxx), or null when the file has none. */
  readonly meta: DataSet | null;
  /** The data set proper. For deflated files its byteArray holds the inflated bytes. */
  readonly dataSet: DataSet;
  /** The syntax the data set is read with (see `notes` when it differs from the declared one). */
  readonly transferSyntax: TransferSyntax;
  /** The UID the file meta declares, or null when there is none. */
  readonly declaredTransferSyntaxUid: string | null;
  /** Things that were odd but readable: a missing meta, a guessed syntax, a VR mismatch. */
  readonly notes: string[];
  /**
   * How `dataSet.byteArray` is really encoded (for deflated files: the inflated bytes), which may
   * differ from `transferSyntax` when the file says one thing and does another.
   */
  readonly encoding: { readonly explicitVr: boolean; readonly littleEndian: boolean };
  /**
   * Set when only the header was read (a file read frame by frame, ./file-size.ts
   * FRAMED_READ_BYTES): `dataSet.byteArray` ends where the Pixel Data element's value starts,
   * whose offsets (and, encapsulated, fragments) are positions in this file, and ./frames.ts reads
   * each frame from it when asked. Absent when `dataSet.byteArray` holds the pixel data.
   */
  readonly pixelFile?: PixelFile;
}

export const MEDIA_STORAGE_DIRECTORY = '1.2.840.10008.1.3.10';

/**
 * A deflated data set may not inflate beyond this: a guard against deflate bombs. Up to
 * ALWAYS_INFLATE_BYTES it always inflates; beyond, only to MAX_DEFLATE_RATIO times its deflated
 * bytes. Deflate reaches about 1000:1 on zeros, so a 1 MB file could otherwise ask for 1 GB
 * (and twice that in memory while it inflates) on every read. The real deflated files of
 * ../shared/dicom inflate at most 61:1 (pydicom's image_dfl.dcm, a mostly uniform 8-bit image).
 */
export const MAX_INFLATED_BYTES = 1 << 30;
export const ALWAYS_INFLATE_BYTES = 64 * 1024 * 1024;
export const MAX_DEFLATE_RATIO = 128;

const VALID_VRS = new Set(
  'AE AS AT CS DA DS DT FL FD IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI UL UN UR US UT UV'.split(' '),
);

/** Bytes a file's first look reads: the preamble, "DICM", and a first element's tag, VR and length. */
const PREFIX_BYTES = 132;

/** A file larger than this has its header read and judged (./file-size.ts) before it is read whole. */
export const HEADER_FIRST_BYTES = 1024 * 1024;
/** The first read of such a header; each further read is four times larger, up to MAX_HEADER_BYTES. */
const FIRST_HEADER_READ = 64 * 1024;
/** The most read of a file looking for its Pixel Data element before it is read whole. */
const MAX_HEADER_BYTES = 64 * 1024 * 1024;

/**
 * Reads and parses a file. Its first PREFIX_BYTES are looked at before the rest is read: a file
 * that is not DICOM by them (no "DICM" marker, no recognisable first element) is refused with the
 * E_NOT_DICOM that parsing all of it gives, without reading all of it. A folder's 3 GiB .zip or
 * video then costs 132 bytes, not its size in memory. A file that may be DICOM and is larger than
 * HEADER_FIRST_BYTES has its header read first, up to its Pixel Data element: native pixel data
 * that the frames, rows, columns and bits declared cannot account for (shorter, or longer by more
 * than a frame), or that runs past the end of the file, is refused as reading the whole file would
 * refuse it, without reading it whole. Past FRAMED_READ_BYTES only the header is kept and the
 * frames are read one at a time when asked for (`ParsedFile.pixelFile`, ./file-size.ts); a file
 * past MAX_DICOM_FILE_BYTES that cannot be read so, or past MAX_FRAMED_FILE_BYTES, is
 * E_FILE_TOO_LARGE.
 */
export async function readDicomFile(path: string): Promise<ParsedFile> {
  let read: Uint8Array | ParsedFile;
  try {
    const file = await open(path, 'r');
    try {
      const { size } = await file.stat();
      read = readOpenFile(file.fd, size, path) ?? (await file.readFile());
    } finally {
      await file.close();
    }
  } catch (error) {
    throw readFailure(error, path);
  }
  return read instanceof Uint8Array ? parseDicomBytes(read, path) : read;
}

/** readDicomFile, synchronously (the derived series writer reads its source files' headers so). */
export function readDicomFileSync(path: string): ParsedFile {
  let read: Uint8Array | ParsedFile;
  try {
    const fd = openSync(path, 'r');
    try {
      read = readOpenFile(fd, fstatSync(fd).size, path) ?? readFileSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    throw readFailure(error, path);
  }
  return read instanceof Uint8Array ? parseDicomBytes(read, path) : read;
}

function readFailure(error: unknown, path: string): LowdoseError {
  if (error instanceof LowdoseError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new LowdoseError('E_NOT_FOUND', `${path}: no such file`, { path, cause: error });
  return new LowdoseError('E_IO', `${path}: cannot read: ${(error as Error).message}`, { path, cause: error });
}

/**
 * What the file open as `fd` (`size` bytes) is by its first bytes and its header: E_NOT_DICOM and
 * the refusals of judgeByHeader are thrown; the file's bytes when a header read held all of
 * them, its header when it is read frame by frame, or null: read it whole.
 */
function readOpenFile(fd: number, size: number, path: string): Uint8Array | ParsedFile | null {
  if (size > PREFIX_BYTES) {
    const prefix = readAt(fd, 0, PREFIX_BYTES);
    if (prefix.length === PREFIX_BYTES && notDicomByPrefix(prefix, size)) throw notDicomError(path);
  }
  return size > HEADER_FIRST_BYTES ? judgeByHeader(fd, size, path) : null;
}

/**
 * Reads the header of the file open as `fd` (growing reads up to MAX_HEADER_BYTES, until the
 * Pixel Data element) and throws what it shows: the native pixel data's problems (./file-size.ts
 * `nativeLengthProblem`, an element running past the file's end), E_FILE_TOO_LARGE (past
 * MAX_FRAMED_FILE_BYTES, or past MAX_DICOM_FILE_BYTES when the file cannot be read frame by
 * frame). Returns the whole file when a header read happened to hold all of it, the header
 * (`pixelFile` set) when the file is read frame by frame, else null: read it whole.
 */
function judgeByHeader(fd: number, size: number, path: string): Uint8Array | ParsedFile | null {
  const limit = Math.min(size, MAX_HEADER_BYTES);
  for (let length = Math.min(size, FIRST_HEADER_READ); ; length = Math.min(limit, length * 4)) {
    const bytes = readAt(fd, 0, length);
    if (bytes.length === size) return bytes;
    const header = bytes.length === length ? parseHeaderPrefix(bytes, size, path) : 'more';
    if (header === 'deflated') return wholeOrTooLarge(path, size, null, 'its data set is deflated');
    if (header !== 'more') return judgePixelData(fd, size, path, bytes, header);
    if (length >= limit) return wholeOrTooLarge(path, size, null, `no Pixel Data element in its first ${formatBytes(MAX_HEADER_BYTES)}`);
  }
}

/** null (read the file whole) up to MAX_DICOM_FILE_BYTES; E_FILE_TOO_LARGE beyond, saying `why` it cannot be read frame by frame. */
function wholeOrTooLarge(path: string, size: number, pixel: DeclaredPixels | null, why: string): null {
  if (size > MAX_DICOM_FILE_BYTES) throw fileTooLarge(path, size, pixel, why);
  return null;
}

/**
 * judgeByHeader once `header` (parsed from the file's first `bytes`) reaches the Pixel Data
 * element: its refusals, then the header alone for a file read frame by frame (./file-size.ts
 * FRAMED_READ_BYTES), or null: read it whole.
 */
function judgePixelData(fd: number, size: number, path: string, bytes: Uint8Array, header: ParsedFile): ParsedFile | null {
  const pixel = declaredPixels(header.dataSet);
  const element = header.dataSet.elements.x7fe00010!;
  const encapsulated = element.length === UNDEFINED_LENGTH;
  if (!encapsulated) {
    if (element.dataOffset + element.length > size) throw overrun(element, size, path);
    const problem = pixel ? nativeLengthProblem(path, pixel, element.length) : null;
    if (problem) throw problem;
  }
  if (size > MAX_FRAMED_FILE_BYTES) throw fileTooLarge(path, size, pixel, null);
  if (size <= FRAMED_READ_BYTES) return null;
  const syntax = header.transferSyntax;
  if (encapsulated && !(syntax.encapsulated && syntax.littleEndian)) {
    return wholeOrTooLarge(path, size, pixel, `its pixel data is encapsulated under the transfer syntax ${syntax.uid}`);
  }
  // Only the header is kept: a copy of the bytes up to the pixel data's value, parsed again.
  const kept = parseBytes(bytes.slice(0, element.dataOffset), path, size);
  const pixelData = kept.dataSet.elements.x7fe00010!;
  if (encapsulated) walkEncapsulatedItems(fd, size, pixelData, path, kept.notes, MAX_DATA_SET_ENTRIES);
  const trailing = size - (pixelData.dataOffset + pixelData.length);
  if (trailing > MAX_TRAILING_BYTES) {
    return wholeOrTooLarge(path, size, pixel, `${formatBytes(trailing)} follow its pixel data, more than its header accounts for`);
  }
  return { ...kept, pixelFile: { path, size } };
}

/**
 * The header of a file from its first bytes, parsed up to its Pixel Data element; 'more' when
 * these bytes do not reach it (or do not parse: more of the file may), 'deflated' when the data
 * set is deflated (its header lies inside the deflate stream). E_DICOMDIR and the walk's refusals
 * (./walk-data-set.ts WalkRefusal) are thrown as reading the whole file throws them.
 */
function parseHeaderPrefix(bytes: Uint8Array, size: number, path: string): ParsedFile | 'more' | 'deflated' {
  try {
    const parsed = parseBytes(bytes, path, size);
    return parsed.dataSet.elements.x7fe00010 ? parsed : 'more';
  } catch (error) {
    if (error instanceof DeflatedHeader) return 'deflated';
    if (error instanceof WalkRefusal || (error instanceof LowdoseError && error.code === 'E_DICOMDIR')) throw error;
    return 'more';
  }
}

/** The pixel module a header declares, or null when it declares no image (a missing or zero Rows, Columns or BitsAllocated). */
function declaredPixels(dataSet: DataSet): DeclaredPixels | null {
  const rows = dataSet.uint16('x00280010') ?? 0;
  const columns = dataSet.uint16('x00280011') ?? 0;
  const bitsAllocated = dataSet.uint16('x00280100') ?? 0;
  if (rows === 0 || columns === 0 || bitsAllocated === 0) return null;
  const frames = Number.parseInt(dataSet.string('x00280008') ?? '1', 10);
  return { rows, columns, bitsAllocated, samplesPerPixel: dataSet.uint16('x00280002') || 1, frames: Number.isFinite(frames) && frames > 0 ? frames : 1 };
}

/**
 * What parseDicomBytes decides from a file's first bytes alone: no "DICM" marker at 128 or 0 and
 * no transfer syntax to guess from its first element (an implicit VR one judged against the
 * file's `size`) is E_NOT_DICOM there, whatever follows.
 */
function notDicomByPrefix(prefix: Uint8Array, size: number): boolean {
  return !hasMagic(prefix, 128) && !hasMagic(prefix, 0) && guessTransferSyntax(prefix, 0, size) === null;
}

function notDicomError(path: string): LowdoseError {
  return new LowdoseError('E_NOT_DICOM', `${path}: not DICOM (no "DICM" marker and no recognisable data element)`, { path });
}

export function parseDicomBytes(bytes: Uint8Array, path = '<memory>'): ParsedFile {
  return parseBytes(bytes, path, null);
}

/** A deflated data set's header cannot be read from the file's first bytes (parseBytes with `headerOf`). */
class DeflatedHeader extends Error {}

/**
 * parseDicomBytes, or with `headerOf` (the file's size) a parse of the file's first `bytes` up to
 * its Pixel Data element, whose value is not checked or looked into (it lies past these bytes).
 */
function parseBytes(bytes: Uint8Array, path: string, headerOf: number | null): ParsedFile {
  const notes: string[] = [];
  if (bytes.length < 8) throw new LowdoseError('E_NOT_DICOM', `${path}: not DICOM (only ${bytes.length} bytes)`, { path });

  const metaStart = hasMagic(bytes, 128) ? 132 : hasMagic(bytes, 0) ? 4 : null;
  if (metaStart === 4) notes.push('no 128-byte preamble before "DICM"');

  let meta: DataSet | null = null;
  let datasetStart = 0;
  let declared: string | null = null;
  if (metaStart !== null) {
    const read = readFileMeta(bytes, metaStart, path);
    meta = read.meta;
    datasetStart = read.end;
    if (cleanUid(meta.string('x00020002')) === MEDIA_STORAGE_DIRECTORY) {
      throw new LowdoseError('E_DICOMDIR', `${path}: DICOMDIR (a media directory, not an image); skipped`, { path });
    }
    declared = cleanUid(meta.string('x00020010'));
    if (!declared) notes.push('file meta has no transfer syntax UID');
  } else {
    notes.push('no file meta information');
  }

  let transferSyntax: TransferSyntax;
  if (declared) {
    transferSyntax = transferSyntaxOf(declared);
  } else {
    const guessed = guessTransferSyntax(bytes, datasetStart, headerOf ?? bytes.length);
    if (guessed === null && meta === null) throw notDicomError(path);
    // The standard's default when nothing says otherwise.
    transferSyntax = transferSyntaxOf(guessed ?? IMPLICIT_VR_LITTLE_ENDIAN);
    notes.push(`transfer syntax assumed: ${transferSyntax.name}`);
  }

  let datasetBytes = bytes;
  if (transferSyntax.deflated) {
    if (headerOf !== null) throw new DeflatedHeader();
    datasetBytes = inflateDataSet(bytes.subarray(datasetStart), path);
    datasetStart = 0;
  }

  const encoding = checkVrEncoding(datasetBytes, datasetStart, transferSyntax);
  if (encoding.explicitVr !== transferSyntax.explicitVr) {
    notes.push(
      `data set is encoded with ${encoding.explicitVr ? 'explicit' : 'implicit'} VR although the transfer syntax says otherwise`,
    );
  }

  const partial: { dataSet?: DataSet } = {};
  let dataSet: DataSet;
  try {
    dataSet = parseDataSet(datasetBytes, datasetStart, encoding.explicitVr, transferSyntax.littleEndian, path, notes, partial, headerOf !== null);
  } catch (error) {
    // Without a file meta, a parse that fails before any standard attribute is not a broken
    // DICOM file but something else whose first bytes happened to look like an element.
    if (!(error instanceof WalkRefusal) && meta === null && partial.dataSet && !looksLikeDicomDataSet(partial.dataSet)) {
      throw new LowdoseError('E_NOT_DICOM', `${path}: not DICOM (no file meta and no standard attributes)`, { path, cause: error });
    }
    throw error;
  }
  if (meta === null && !looksLikeDicomDataSet(dataSet)) {
    throw new LowdoseError('E_NOT_DICOM', `${path}: not DICOM (no file meta and no standard attributes)`, { path });
  }
  const pixelSyntax = headerOf === null ? encapsulatedPixelSyntax(dataSet, transferSyntax) : null;
  if (pixelSyntax !== null) {
    notes.push(`pixel data is encapsulated ${pixelSyntax.name} although the transfer syntax is ${transferSyntax.name}`);
    transferSyntax = { ...pixelSyntax, explicitVr: transferSyntax.explicitVr, littleEndian: transferSyntax.littleEndian };
  }
  const dataSetEncoding = { explicitVr: encoding.explicitVr, littleEndian: transferSyntax.littleEndian };
  return { path, meta, dataSet, transferSyntax, declaredTransferSyntaxUid: declared, notes, encoding: dataSetEncoding };
}

function hasMagic(bytes: Uint8Array, at: number): boolean {
  return (
    bytes.length >= at + 4 && bytes[at] === 0x44 && bytes[at + 1] === 0x49 && bytes[at + 2] === 0x43 && bytes[at + 3] === 0x4d
  );
}

function cleanUid(value: string | undefined): string | null {
  const uid = value?.replace(/[\0\s]+$/g, '').trim();
  return uid ? uid : null;
}

function tagName(tag: string): string {
  return `(${tag.slice(1, 5)},${tag.slice(5, 9)})`.toUpperCase();
}

/** The file meta group: always explicit VR little endian, elements of group 0002 only. */
function readFileMeta(bytes: Uint8Array, start: number, path: string): { meta: DataSet; end: number } {
  const le = dicomParser.littleEndianByteArrayParser;
  if (start >= bytes.length) throw new LowdoseError('E_TRUNCATED', `${path}: file ends right after the "DICM" marker`, { path });
  const stream = new dicomParser.ByteStream(le, bytes, start);
  const elements: Record<string, Element> = {};
  try {
    while (stream.position + 8 <= bytes.length && le.readUint16(bytes, stream.position) === 0x0002) {
      const element = dicomParser.readDicomElementExplicit(stream, stream.warnings);
      if (element.dataOffset + element.length > bytes.length) {
        throw new LowdoseError('E_TRUNCATED', `${path}: truncated inside the file meta element ${tagName(element.tag)}`, {
          path,
        });
      }
      element.parser = le;
      elements[element.tag] = element;
    }
  } catch (error) {
    if (error instanceof LowdoseError) throw error;
    throw parserFailure(error, bytes.length, stream.position, path, 'file meta');
  }
  if (stream.position >= bytes.length && !elements.x00020010 && Object.keys(elements).length === 0) {
    throw new LowdoseError('E_TRUNCATED', `${path}: file ends right after the "DICM" marker`, { path });
  }
  const meta = new dicomParser.DataSet(le, bytes, elements);
  meta.warnings = stream.warnings;
  return { meta, end: stream.position };
}

/**
 * Guesses the syntax of a data set that no file meta describes, from its first element: a
 * header group (0008, 0010, ...) in either byte order, followed by a valid VR or a length that
 * fits in `total` bytes (the file's size where `bytes` is only its first bytes).
 */
export function guessTransferSyntax(bytes: Uint8Array, offset: number, total = bytes.length): string | null {
  if (bytes.length - offset < 8) return null;
  const groupLe = bytes[offset]! | (bytes[offset + 1]! << 8);
  const groupBe = (bytes[offset]! << 8) | bytes[offset + 1]!;
  const vr = String.fromCharCode(bytes[offset + 4]!, bytes[offset + 5]!);
  if (VALID_VRS.has(vr)) {
    if (isHeaderGroup(groupLe)) return EXPLICIT_VR_LITTLE_ENDIAN;
    if (isHeaderGroup(groupBe)) return EXPLICIT_VR_BIG_ENDIAN;
  }
  if (isHeaderGroup(groupLe)) {
    const length = new DataView(bytes.buffer, bytes.byteOffset + offset + 4, 4).getUint32(0, true);
    if (length === 0xffffffff || offset + 8 + length <= total) return IMPLICIT_VR_LITTLE_ENDIAN;
  }
  return null;
}

function isHeaderGroup(group: number): boolean {
  return group >= 0x0002 && group <= 0x00ff && group % 2 === 0;
}

/**
 * Some writers declare one VR encoding and use the other (pydicom and dcmtk accept this too):
 * when the first element's VR field is not a VR under an explicit syntax, or is one under an
 * implicit syntax, the data set is read the way it is actually written.
 */
function checkVrEncoding(bytes: Uint8Array, offset: number, ts: TransferSyntax): { explicitVr: boolean } {
  if (bytes.length - offset < 8) return { explicitVr: ts.explicitVr };
  const vr = String.fromCharCode(bytes[offset + 4]!, bytes[offset + 5]!);
  const group = ts.littleEndian ? bytes[offset]! | (bytes[offset + 1]! << 8) : (bytes[offset]! << 8) | bytes[offset + 1]!;
  if (!isHeaderGroup(group)) return { explicitVr: ts.explicitVr };
  if (ts.explicitVr && !VALID_VRS.has(vr)) return { explicitVr: false };
  if (!ts.explicitVr && VALID_VRS.has(vr) && ts.littleEndian) {
    // An implicit length whose low bytes spell a VR is possible but rare; accept the VR reading
    // only when the explicit length that follows it fits the file.
    const shortLength = bytes[offset + 6]! | (bytes[offset + 7]! << 8);
    if (offset + 8 + shortLength <= bytes.length) return { explicitVr: true };
  }
  return { explicitVr: ts.explicitVr };
}

function inflateDataSet(deflated: Uint8Array, path: string): Uint8Array {
  const limit = Math.min(MAX_INFLATED_BYTES, Math.max(ALWAYS_INFLATE_BYTES, MAX_DEFLATE_RATIO * deflated.length));
  const options = { maxOutputLength: limit };
  try {
    return inflateRawSync(deflated, options);
  } catch (rawError) {
    // A few writers wrap the deflate stream in a zlib header.
    try {
      return inflateSync(deflated, options);
    } catch {
      const error = rawError as NodeJS.ErrnoException;
      if (error.code === 'ERR_BUFFER_TOO_LARGE' || error.message.includes('Cannot create a Buffer larger')) {
        throw new LowdoseError('E_MALFORMED', `${path}: deflated data set inflates beyond ${limit} bytes, the most lowdose inflates from ${deflated.length} deflated bytes (a deflate bomb or a corrupt stream)`, {
          path,
          cause: error,
        });
      }
      if (error.code === 'Z_BUF_ERROR' || /unexpected end/i.test(error.message)) {
        throw new LowdoseError('E_TRUNCATED', `${path}: deflated data set ends early (${error.message})`, { path, cause: error });
      }
      throw new LowdoseError('E_MALFORMED', `${path}: deflated data set is corrupt (${error.message})`, { path, cause: error });
    }
  }
}

function parseDataSet(
  bytes: Uint8Array,
  start: number,
  explicitVr: boolean,
  littleEndian: boolean,
  path: string,
  notes: string[],
  partial: { dataSet?: DataSet },
  untilPixelData = false,
): DataSet {
  const parser = littleEndian ? dicomParser.littleEndianByteArrayParser : dicomParser.bigEndianByteArrayParser;
  if (start >= bytes.length) throw new LowdoseError('E_TRUNCATED', `${path}: truncated: the file ends after its file meta`, { path });
  const stream = countedStream(new dicomParser.ByteStream(parser, bytes, start), path);
  const dataSet = new dicomParser.DataSet(parser, bytes, {});
  dataSet.warnings = stream.warnings;
  partial.dataSet = dataSet;
  try {
    walkDataSet(dataSet, stream, bytes.length, explicitVr, path, untilPixelData ? 'x7fe00010' : undefined);
  } catch (error) {
    if (error instanceof WalkRefusal) throw error;
    throw parserFailure(error, bytes.length, stream.position, path, 'data set', lastElement(dataSet));
  }
  checkElementCount(dataSet, path);
  checkDeclaredLengths(dataSet, path, notes, untilPixelData ? 'x7fe00010' : null);
  return dataSet;
}

/**
 * Most entries (elements at any depth, sequence items, pixel data fragments, basic offset table
 * entries) dicom-parser may read from one data set. Each is an object on the heap (about 250 bytes
 * for an empty sequence item) from eight bytes of file, so without a bound a 256 MB file of empty
 * items is 32 million objects: past 4 GB of heap, and the process aborts. The bound is counted
 * while dicom-parser reads, so a file past it costs at most this many objects before it is refused.
 * No file of ../shared/dicom reads more than 1,878 (pydicom's waveform_ecg.dcm); an enhanced
 * multi-frame header with 100 entries per frame reaches the bound at about 10,000 frames.
 */
export const MAX_DATA_SET_ENTRIES = 1 << 20;

/**
 * `stream` counting the entries dicom-parser reads through it: every explicit VR element reads
 * its VR with readFixedString, every sequence item, fragment, offset table entry and implicit VR
 * element reads a 4-byte length with readUint32 (an explicit element with a 4-byte length counts
 * twice). Scans for a delimiter read 2 bytes at a time and are not counted.
 */
function countedStream(stream: ByteStream, path: string): ByteStream {
  let left = MAX_DATA_SET_ENTRIES;
  const spend = (): void => {
    if (--left < 0) {
      throw new WalkRefusal(
        'E_MALFORMED',
        `${path}: malformed: the data set holds more than ${MAX_DATA_SET_ENTRIES} elements, sequence items and fragments; no image header is that large`,
        { path },
      );
    }
  };
  const readUint32 = stream.readUint32.bind(stream);
  const readFixedString = stream.readFixedString.bind(stream);
  stream.readUint32 = () => {
    spend();
    return readUint32();
  };
  stream.readFixedString = (length: number) => {
    spend();
    return readFixedString(length);
  };
  return stream;
}

/**
 * Image headers hold hundreds of elements, a few thousand with vendor blocks. A data set of more
 * than this many top-level elements is no image header but an element bomb (eight bytes per empty
 * element: a 256 MB upload would hold 32 million, seconds of parsing each time it is read), so it
 * is refused once, where it is first read, instead of being indexed and read again.
 */
export const MAX_TOP_LEVEL_ELEMENTS = 65_536;

function checkElementCount(dataSet: DataSet, path: string): void {
  let count = 0;
  for (const _ in dataSet.elements) {
    if (++count > MAX_TOP_LEVEL_ELEMENTS) {
      throw new LowdoseError('E_MALFORMED', `${path}: malformed: the data set holds more than ${MAX_TOP_LEVEL_ELEMENTS} elements; no image header is that large`, {
        path,
      });
    }
  }
}

function lastElement(dataSet: DataSet): Element | undefined {
  let last: Element | undefined;
  for (const element of Object.values(dataSet.elements)) {
    if (!last || element.dataOffset > last.dataOffset) last = element;
  }
  return last;
}

/**
 * Every element must lie within the bytes: a file cut short inside its pixel data (the usual
 * way files break) is E_TRUNCATED here, before anything would allocate what it declares.
 * Encapsulated pixel data whose sequence delimiter is missing is accepted when all its
 * fragments are complete (fo-dicom and dcmtk's lenient modes do the same).
 */
function checkDeclaredLengths(dataSet: DataSet, path: string, notes: string[], unchecked: string | null): void {
  const size = dataSet.byteArray.length;
  for (const element of Object.values(dataSet.elements)) {
    if (element.tag === unchecked) continue;
    if (element.encapsulatedPixelData && element.fragments) {
      const fragments = element.fragments;
      fragments.forEach((fragment, i) => {
        if (fragment.position + fragment.length > size) {
          throw new LowdoseError(
            'E_TRUNCATED',
            `${path}: truncated: fragment ${i + 1} of ${fragments.length} of the pixel data declares ${fragment.length} bytes but the file has only ${Math.max(0, size - fragment.position)} left`,
            { path },
          );
        }
      });
      if (element.length === UNDEFINED_LENGTH) {
        notes.push('encapsulated pixel data has no sequence delimiter; read up to the end of the file');
        element.length = size - element.dataOffset;
      }
      continue;
    }
    if (element.dataOffset > size || element.dataOffset + element.length > size) throw overrun(element, size, path);
  }
}

const UNDEFINED_LENGTH = 0xffffffff;

/**
 * An element that runs past the end of the file. The file was cut short (E_TRUNCATED) unless a
 * header element declares more than the whole file holds: that is a corrupt length field.
 */
function overrun(element: Element, size: number, path: string): LowdoseError {
  const left = Math.max(0, size - element.dataOffset);
  const isPixelData = element.tag.startsWith('x7fe0');
  const declared = element.length === UNDEFINED_LENGTH ? 'an undefined length with no end' : `${element.length} bytes`;
  if (!isPixelData && element.length > size) {
    return new LowdoseError(
      'E_MALFORMED',
      `${path}: malformed: element ${tagName(element.tag)} declares ${declared}, more than the whole file (${size} bytes)`,
      { path },
    );
  }
  return new LowdoseError(
    'E_TRUNCATED',
    `${path}: truncated: element ${tagName(element.tag)} declares ${declared} but the file has only ${left} left`,
    { path },
  );
}

// dicom-parser's messages when it runs out of bytes ('maxPosition' is a sequence item longer than what is left).
const TRUNCATION_PATTERN = /past end|overrun|beyond|premature|end of (buffer|file|stream)|eof|maxP ?osition/i;
// A sequence whose next item does not start with the item tag.
const MISSING_ITEM_PATTERN = /item tag .*not found at offset (\d+)/i;

/**
 * What a dicom-parser exception means for the file, in words about the file: its own messages
 * ("dicomParser.readSequenceItem: ...", "Maximum call stack size exceeded") name functions of a
 * library, which tells the user nothing. The original stays in `cause` (LOWDOSE_DEBUG prints it).
 */
function parserFailure(
  error: unknown,
  size: number,
  position: number,
  path: string,
  where: string,
  last?: Element,
): LowdoseError {
  const inner = typeof error === 'object' && error !== null && 'exception' in error ? error.exception : error;
  const message = inner instanceof Error ? inner.message : String(inner);
  if (last !== undefined && last.dataOffset + last.length > size && !last.encapsulatedPixelData) {
    return overrun(last, size, path);
  }
  const after = last ? ` after element ${tagName(last.tag)}` : '';
  if (inner instanceof RangeError && /call stack/i.test(message)) {
    // Each nested sequence is a level of recursion in the parser; real files nest a few levels.
    return new LowdoseError('E_MALFORMED', `${path}: malformed ${where}: sequences nested too deeply to read${after} (corrupt or crafted file)`, {
      path,
      cause: inner,
    });
  }
  if (TRUNCATION_PATTERN.test(message) || position >= size) {
    return new LowdoseError('E_TRUNCATED', `${path}: truncated ${where}: the file ends inside an element or sequence${after} (file size ${size} bytes)`, {
      path,
      cause: inner,
    });
  }
  const missingItem = MISSING_ITEM_PATTERN.exec(message);
  if (missingItem) {
    return new LowdoseError(
      'E_MALFORMED',
      `${path}: malformed ${where}: a sequence has no item where its next item must start (byte ${missingItem[1]})${after}`,
      { path, cause: inner },
    );
  }
  return new LowdoseError('E_MALFORMED', `${path}: malformed ${where} at byte ${position}${after}: the element structure is corrupt`, {
    path,
    cause: inner,
  });
}

/**
 * A native transfer syntax with encapsulated pixel data: the syntax the codestream is written in
 * (sniffed from its first fragment), or null when the declaration is consistent.
 */
function encapsulatedPixelSyntax(dataSet: DataSet, declared: TransferSyntax): TransferSyntax | null {
  const element = dataSet.elements.x7fe00010;
  if (declared.encapsulated || !element?.encapsulatedPixelData) return null;
  const fragment = element.fragments?.find((f) => f.length > 0);
  if (!fragment) return null;
  const uid = sniffEncapsulatedSyntax(dataSet.byteArray.subarray(fragment.position, fragment.position + fragment.length));
  return uid === null ? null : transferSyntaxOf(uid);
}

/** Enough standard attributes to believe a meta-less byte stream is a DICOM data set. */
function looksLikeDicomDataSet(dataSet: DataSet): boolean {
  const e = dataSet.elements;
  const identifying = ['x00080016', 'x00080018', 'x00080060', 'x00280010', 'x7fe00010', 'x0020000d', 'x0020000e'];
  return identifying.filter((tag) => e[tag] !== undefined).length >= 2;
}
