/**
 * One frame of a file → its stored values: the pixel module, the frame's bytes, the decoder the
 * transfer syntax calls for, then bits stored and sign. The lowest level of pixel reading; the
 * rest of lowdose reads slices through ./read-slice.ts in modality units.
 */
import { LowdoseError } from '../errors.js';
import { decoderFor } from './decoders/index.js';
import { frameBytes, pixelDataElement } from './frames.js';
import { readPixelModule, type PixelModule } from './image-header.js';
import { parseDicomBytes, readDicomFile, type ParsedFile } from './parse.js';
import { storedValues, type StoredValues } from './pixels.js';

export interface StoredFrame {
  readonly values: StoredValues;
  readonly pixel: PixelModule;
  readonly transferSyntaxUid: string;
}

/**
 * Below this many decoded bytes a frame is always decoded; above it the codestream must be at
 * least 1/MAX_COMPRESSION_RATIO of the decoded size. A few hundred bytes of corrupt codestream
 * must not make a codec allocate gigabytes, while real frames (even 1000:1 lossy) pass.
 */
const ALWAYS_DECODE_BYTES = 64 * 1024 * 1024;
const MAX_COMPRESSION_RATIO = 2000;

export async function decodeParsedFrame(parsed: ParsedFile, pixel: PixelModule, frame: number): Promise<StoredValues> {
  const decoder = decoderFor(parsed.transferSyntax, parsed.path);
  const encoded = frameBytes(parsed, pixel, frame);
  const decodedBytes = pixel.rows * pixel.columns * Math.ceil(pixel.bitsAllocated / 8);
  if (decodedBytes > ALWAYS_DECODE_BYTES && decodedBytes > MAX_COMPRESSION_RATIO * encoded.length) {
    throw new LowdoseError(
      'E_DECODE',
      `${parsed.path}: frame ${frame} has ${encoded.length} encoded bytes, too few for ${pixel.columns} x ${pixel.rows} pixels`,
      { path: parsed.path },
    );
  }
  const element = pixelDataElement(parsed);
  const samples = await decoder(encoded, {
    path: parsed.path,
    pixel,
    transferSyntaxUid: parsed.transferSyntax.uid,
    littleEndian: parsed.transferSyntax.littleEndian,
    pixelDataVr: element.vr,
  });
  const expected = pixel.rows * pixel.columns;
  if (samples.length < expected) {
    throw new LowdoseError('E_DECODE', `${parsed.path}: frame ${frame} decoded to ${samples.length} samples, expected ${expected}`, {
      path: parsed.path,
    });
  }
  return storedValues(samples, pixel, !parsed.transferSyntax.encapsulated);
}

/** Stored values (before the modality LUT) of one frame of a file, given as a path, bytes or parsed. */
export async function decodeFrameStoredValues(input: string | Uint8Array | ParsedFile, frame = 0): Promise<StoredFrame> {
  const parsed =
    typeof input === 'string' ? await readDicomFile(input) : input instanceof Uint8Array ? parseDicomBytes(input) : input;
  const pixel = readPixelModule(parsed);
  const values = await decodeParsedFrame(parsed, pixel, frame);
  return { values, pixel, transferSyntaxUid: parsed.transferSyntax.uid };
}
