/**
 * The bytes of one frame: a view into native pixel data, or the codestream of an encapsulated
 * frame (fragmented or not, with or without a basic or extended offset table). Sizes are checked
 * against what the header declares before anything is copied. A file read frame by frame
 * (`ParsedFile.pixelFile`) has the frame's bytes read from it now, and nothing else.
 */
import { LowdoseError } from '../errors.js';
import { TAG } from './attributes.js';
import { dicomParser, type Element } from './dicom-parser.js';
import type { PixelModule } from './types.js';
import type { ParsedFile } from './parse.js';
import { MAX_FRAMES_PER_FILE, nativeFrameBytes, nativeLengthProblem, tooManyFrames } from './file-size.js';
import { readPixelBytes } from './pixel-file.js';

export function pixelDataElement(parsed: ParsedFile): Element {
  const element = parsed.dataSet.elements[TAG.PixelData];
  if (!element || element.length === 0) {
    throw new LowdoseError('E_NO_PIXEL_DATA', `${parsed.path}: no pixel data`, { path: parsed.path });
  }
  return element;
}

export function nativeFrameSize(pixel: PixelModule): number {
  return nativeFrameBytes(pixel);
}

/**
 * THE RULE for declared sizes: a count or size the header declares is believed only as far as
 * the bytes that back it, and this is checked before any work per frame, row or item (loops over
 * NumberOfFrames, per-frame functional groups, offset tables, decoders). Concretely:
 * - native pixel data: NumberOfFrames x Rows x Columns x SamplesPerPixel x BitsAllocated / 8
 *   bytes must lie inside the pixel data element (whose own length parse.ts checked against
 *   the file);
 * - encapsulated pixel data: every frame needs at least one fragment of its own, so
 *   NumberOfFrames may not exceed the number of fragments;
 * - a Per-frame Functional Groups Sequence holds one item per frame: fewer items than frames is
 *   a corrupt header, not a reason to invent the missing frames' geometry;
 * - and, the bytes holding them, at most MAX_FRAMES_PER_FILE frames (./file-size.ts,
 *   E_FILE_TOO_LARGE): what a frame costs is bookkeeping, not bytes, and a 2 MB file holds a
 *   million 1 x 1 frames.
 * (Element and fragment lengths against the file are parse.ts's checkDeclaredLengths; frame
 * size against MAX_FRAME_PIXELS is readPixelModule's.) So a 39 KB file declaring 2^31 - 1 frames
 * fails here at once with E_TRUNCATED instead of looping two billion times.
 */
export function checkDeclaredFrames(parsed: ParsedFile, pixel: PixelModule): void {
  const element = pixelDataElement(parsed);
  const path = parsed.path;
  if (element.encapsulatedPixelData) {
    const fragments = element.fragments?.length ?? 0;
    if (pixel.frames > fragments) {
      throw new LowdoseError(
        'E_TRUNCATED',
        `${path}: NumberOfFrames is ${pixel.frames} but the encapsulated pixel data holds only ${fragments} fragment(s) (at least one per frame)`,
        { path },
      );
    }
  } else {
    const need = nativeFrameSize(pixel) * pixel.frames;
    if (element.length < need) {
      throw new LowdoseError(
        'E_TRUNCATED',
        `${path}: pixel data holds ${element.length} bytes but ${pixel.frames} frame(s) of ${pixel.rows} x ${pixel.columns} x ${pixel.bitsAllocated} bits need ${need}`,
        { path },
      );
    }
  }
  const perFrame = parsed.dataSet.elements[TAG.PerFrameFunctionalGroupsSequence];
  const items = perFrame?.items?.length ?? 0;
  if (perFrame && perFrame.length > 0 && items < pixel.frames) {
    throw new LowdoseError(
      'E_MALFORMED',
      `${path}: NumberOfFrames is ${pixel.frames} but the Per-frame Functional Groups Sequence has ${items} item(s)`,
      { path },
    );
  }
  if (pixel.frames > MAX_FRAMES_PER_FILE) throw tooManyFrames(path, pixel.frames);
}

/**
 * Checks that the pixel data can hold every frame the header declares, without decoding:
 * enough bytes for native data, enough fragments or frame starts for encapsulated data.
 */
export function checkPixelData(parsed: ParsedFile, pixel: PixelModule): void {
  const element = pixelDataElement(parsed);
  if (!element.encapsulatedPixelData) {
    checkNativeLength(parsed, pixel, element);
    return;
  }
  if (!parsed.transferSyntax.encapsulated) {
    throw new LowdoseError(
      'E_MALFORMED',
      `${parsed.path}: pixel data is encapsulated but the transfer syntax ${parsed.transferSyntax.uid} is not`,
      { path: parsed.path },
    );
  }
  frameFragmentRanges(parsed, pixel, element);
}

function checkNativeLength(parsed: ParsedFile, pixel: PixelModule, element: Element): void {
  if (parsed.transferSyntax.encapsulated) {
    throw new LowdoseError(
      'E_MALFORMED',
      `${parsed.path}: transfer syntax ${parsed.transferSyntax.uid} needs encapsulated pixel data, found native`,
      { path: parsed.path },
    );
  }
  const problem = nativeLengthProblem(parsed.path, pixel, element.length);
  if (problem) throw problem;
}

/** The bytes of frame `frame` (0-based): a view for native data, the codestream otherwise. */
export function frameBytes(parsed: ParsedFile, pixel: PixelModule, frame: number): Uint8Array {
  if (!Number.isInteger(frame) || frame < 0 || frame >= pixel.frames) {
    throw new LowdoseError('E_USAGE', `${parsed.path}: frame ${frame} does not exist (${pixel.frames} frames)`, {
      path: parsed.path,
    });
  }
  const element = pixelDataElement(parsed);
  if (!element.encapsulatedPixelData) {
    checkNativeLength(parsed, pixel, element);
    const size = nativeFrameSize(pixel);
    return pixelBytes(parsed, element.dataOffset + frame * size, size);
  }
  const ranges = frameFragmentRanges(parsed, pixel, element);
  const [first, count] = ranges[frame]!;
  const fragments = element.fragments!;
  if (count === 1) {
    const fragment = fragments[first]!;
    return pixelBytes(parsed, fragment.position, fragment.length);
  }
  if (parsed.pixelFile) return Buffer.concat(fragments.slice(first, first + count).map((f) => pixelBytes(parsed, f.position, f.length)));
  try {
    return dicomParser.readEncapsulatedPixelDataFromFragments(parsed.dataSet, element, first, count) as Uint8Array;
  } catch (error) {
    throw new LowdoseError('E_MALFORMED', `${parsed.path}: cannot assemble frame ${frame} from its fragments: ${String(error)}`, {
      path: parsed.path,
      cause: error,
    });
  }
}

/** `length` bytes of the file at `position`: a view of the bytes read, or read from the file now (`pixelFile`). */
function pixelBytes(parsed: ParsedFile, position: number, length: number): Uint8Array {
  if (parsed.pixelFile) return readPixelBytes(parsed.pixelFile, position, length);
  return parsed.dataSet.byteArray.subarray(position, position + length);
}

/** Each pixel data element's frame ranges, found once for the frames its header declares (finding them may read every fragment's start). */
const rangesOf = new WeakMap<Element, { frames: number; ranges: Array<[number, number]> }>();

/**
 * For each frame, [index of its first fragment, number of fragments]. Uses, in order: the
 * extended offset table, the basic offset table, one fragment per frame, and finally the
 * codestream start markers at the head of fragments (a frame may span several fragments).
 */
function frameFragmentRanges(parsed: ParsedFile, pixel: PixelModule, element: Element): Array<[number, number]> {
  const known = rangesOf.get(element);
  if (known?.frames === pixel.frames) return known.ranges;
  const ranges = findFragmentRanges(parsed, pixel, element);
  rangesOf.set(element, { frames: pixel.frames, ranges });
  return ranges;
}

function findFragmentRanges(parsed: ParsedFile, pixel: PixelModule, element: Element): Array<[number, number]> {
  const fragments = element.fragments ?? [];
  const frames = pixel.frames;
  const path = parsed.path;
  if (fragments.length === 0) {
    throw new LowdoseError('E_NO_PIXEL_DATA', `${path}: encapsulated pixel data has no fragments`, { path });
  }
  const byOffset = new Map(fragments.map((f, i) => [f.offset, i]));

  const extended = extendedOffsets(parsed);
  if (extended && extended.length === frames) {
    const starts = extended.map((offset) => byOffset.get(offset));
    if (starts.every((s): s is number => s !== undefined)) return rangesFromStarts(starts, fragments.length);
  }

  const bot = element.basicOffsetTable ?? [];
  if (bot.length > 0) {
    const starts = bot.map((offset) => byOffset.get(offset));
    if (bot.length === frames && starts.every((s): s is number => s !== undefined)) {
      return rangesFromStarts(starts, fragments.length);
    }
    // A wrong table is common enough; fall through to the other ways rather than trust it.
  }

  if (frames === 1) return [[0, fragments.length]];
  if (fragments.length === frames) return fragments.map((_, i) => [i, 1]);

  const starts: number[] = [];
  fragments.forEach((fragment, i) => {
    if (fragment.length >= 4 && startsCodestream(pixelBytes(parsed, fragment.position, Math.min(8, fragment.length)))) starts.push(i);
  });
  if (starts.length === frames && starts[0] === 0) return rangesFromStarts(starts, fragments.length);

  const found = Math.max(starts.length, Math.min(fragments.length, frames));
  if (found < frames) {
    throw new LowdoseError(
      'E_TRUNCATED',
      `${path}: encapsulated pixel data holds ${fragments.length} fragment(s) with ${starts.length} frame start(s) for ${frames} frames`,
      { path },
    );
  }
  throw new LowdoseError(
    'E_MALFORMED',
    `${path}: cannot tell the ${frames} frames apart in ${fragments.length} fragments (no usable offset table)`,
    { path },
  );
}

function rangesFromStarts(starts: number[], fragmentCount: number): Array<[number, number]> {
  return starts.map((start, i) => [start, (i + 1 < starts.length ? starts[i + 1]! : fragmentCount) - start]);
}

function extendedOffsets(parsed: ParsedFile): number[] | null {
  const element = parsed.dataSet.elements[TAG.ExtendedOffsetTable];
  if (!element || element.length === 0 || element.length % 8 !== 0) return null;
  const view = new DataView(parsed.dataSet.byteArray.buffer, parsed.dataSet.byteArray.byteOffset + element.dataOffset, element.length);
  const offsets: number[] = [];
  for (let i = 0; i < element.length; i += 8) offsets.push(Number(view.getBigUint64(i, true)));
  return offsets;
}

/** A fragment's first (up to 8, at least 4) bytes: JPEG / JPEG-LS (FFD8), JPEG 2000 / HTJ2K codestream (FF4F FF51) or JP2 file (....jP  ). */
function startsCodestream(head: Uint8Array): boolean {
  const b0 = head[0]!;
  const b1 = head[1]!;
  if (b0 === 0xff && (b1 === 0xd8 || b1 === 0x4f)) return true;
  return head.length >= 8 && head[4] === 0x6a && head[5] === 0x50 && head[6] === 0x20 && head[7] === 0x20;
}
