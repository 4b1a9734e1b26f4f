/**
 * What one DICOM file may cost to read: the largest file lowdose reads whole into memory
 * (MAX_DICOM_FILE_BYTES, the same bound as one instance pulled from a PACS), the size from which a
 * file keeps only its header in memory and has its frames read one at a time
 * (FRAMED_READ_BYTES, up to MAX_FRAMED_FILE_BYTES), and the check of a native pixel data element's
 * length against what the header declares (frames × rows × columns × samples × bits). All are
 * judged from the header alone, before any pixel data is read (./parse.ts `readDicomFile`).
 */
import { LowdoseError } from '../errors.js';
import { formatBytes } from '../util/bytes.js';

/**
 * The largest DICOM file lowdose reads whole into memory, and the largest instance it takes from
 * a PACS (WADO-RS answer, C-GET, its C-MOVE storage SCP: `DEFAULT_MAX_INSTANCE_BYTES` of
 * src/dicomweb/client.ts and src/dimse/receive.ts is this). 1 GiB holds 2,048 frames of
 * 512 × 512 × 16 bits. A larger file is read only frame by frame (FRAMED_READ_BYTES); one that
 * cannot be is E_FILE_TOO_LARGE, judged from its size and header, never read whole.
 */
export const MAX_DICOM_FILE_BYTES = 1024 * 1024 * 1024;

/**
 * A file larger than this whose header (read up to its Pixel Data element, at most 64 MiB) shows
 * pixel data that can be read frame by frame keeps only that header in memory: each frame is read
 * from the file with a positioned read when it is asked for (./pixel-file.ts, ./frames.ts). Such
 * pixel data is native with a defined length, or encapsulated under an encapsulated transfer
 * syntax (its item headers are walked, eight bytes each), in a data set that is not deflated,
 * followed by at most MAX_TRAILING_BYTES of the file. A smaller file is read whole.
 */
export const FRAMED_READ_BYTES = 64 * 1024 * 1024;

/**
 * The most of a file read frame by frame that may follow its pixel data (trailing padding, a
 * digital signature; not read, and not needed: no attribute a derived file copies,
 * ./derived-attributes.ts, and no header fact lies past the Pixel Data element). A file whose pixel data ends further from its end holds more than
 * its header accounts for: read whole up to MAX_DICOM_FILE_BYTES, E_FILE_TOO_LARGE beyond.
 */
export const MAX_TRAILING_BYTES = 1024 * 1024;

/**
 * The largest file lowdose reads frame by frame. Memory does not grow with it (one frame, the
 * header, and what the pipeline keeps per slice); the bound refuses sizes no acquisition comes
 * near: 64 GiB is 131,072 frames of 512 × 512 × 16 bits, 34 times the 3,800-frame enhanced CT
 * of docs/robustness.md.
 */
export const MAX_FRAMED_FILE_BYTES = 64 * 1024 * 1024 * 1024;

/**
 * The most frames lowdose reads of one file. What a frame costs is not its bytes (those are read
 * one frame at a time) but the bookkeeping kept for each: its slice, its place in the series, and
 * in `denoise` its input hashes and output file, about 9 KiB a frame, and for a multi-frame PET
 * source its parsed per-frame functional groups, about 91 KiB a frame (docs/robustness.md). A file
 * of two megabytes can declare a million 1 x 1 frames; past this bound it is E_FILE_TOO_LARGE
 * from its header, before anything is kept per frame. `denoise` of 20,000 frames of 1 x 1 peaks at
 * 428,088 kB, within the 1 GiB of docs/robustness.md; 5 times its 3,800-frame enhanced CT.
 */
export const MAX_FRAMES_PER_FILE = 20_000;

/** The pixel module as a header declares it (NumberOfFrames 1 when absent). */
export interface DeclaredPixels {
  readonly rows: number;
  readonly columns: number;
  readonly samplesPerPixel: number;
  readonly bitsAllocated: number;
  readonly frames: number;
}

/** Bytes of one native frame. */
export function nativeFrameBytes(pixel: DeclaredPixels): number {
  return (pixel.rows * pixel.columns * pixel.samplesPerPixel * pixel.bitsAllocated) / 8;
}

function describe(pixel: DeclaredPixels): string {
  return `${pixel.frames} frame(s) of ${pixel.rows} x ${pixel.columns} x ${pixel.bitsAllocated} bits`;
}

/**
 * A native pixel data element of `length` bytes against the frames its header declares: shorter
 * is E_TRUNCATED; longer by more than one whole frame is E_MALFORMED (the header and the pixel
 * data disagree about what the file holds: a NumberOfFrames or matrix that is wrong, or bytes that
 * are no image). A few bytes more (an odd length padded, a writer's slack) are accepted.
 */
export function nativeLengthProblem(path: string, pixel: DeclaredPixels, length: number): LowdoseError | null {
  const need = nativeFrameBytes(pixel) * pixel.frames;
  if (length < need) {
    return new LowdoseError('E_TRUNCATED', `${path}: pixel data holds ${length} bytes but ${describe(pixel)} need ${need}`, { path });
  }
  const frame = nativeFrameBytes(pixel);
  if (length - need > Math.max(frame, 2)) {
    return new LowdoseError(
      'E_MALFORMED',
      `${path}: malformed: pixel data declares ${length} bytes (${formatBytes(length)}) but ${describe(pixel)} need ${need} (${formatBytes(need)}): the header and the pixel data disagree; not read`,
      { path },
    );
  }
  return null;
}

/** The refusal of a file declaring more than MAX_FRAMES_PER_FILE frames (`frames` as its header gives them). */
export function tooManyFrames(path: string, frames: number): LowdoseError {
  return new LowdoseError(
    'E_FILE_TOO_LARGE',
    `${path}: its header declares ${frames} frames, more than the ${MAX_FRAMES_PER_FILE.toLocaleString('en-US')} lowdose reads of one DICOM file; not read`,
    { path },
  );
}

/**
 * The refusal of a file too large to read: larger than MAX_FRAMED_FILE_BYTES (`why` null), or
 * larger than MAX_DICOM_FILE_BYTES and not readable frame by frame for the reason `why` gives.
 * The message names what its header declares when it was read.
 */
export function fileTooLarge(path: string, size: number, pixel: DeclaredPixels | null, why: string | null): LowdoseError {
  const declared = pixel
    ? `; its header declares ${describe(pixel)} (${formatBytes(nativeFrameBytes(pixel) * pixel.frames)} of pixel data decoded)`
    : '';
  const bound =
    why === null
      ? `more than the ${formatBytes(MAX_FRAMED_FILE_BYTES)} lowdose reads of one DICOM file frame by frame`
      : `more than the ${formatBytes(MAX_DICOM_FILE_BYTES)} lowdose reads of one DICOM file whole, and not readable frame by frame: ${why}`;
  return new LowdoseError('E_FILE_TOO_LARGE', `${path}: ${formatBytes(size)} (${size} bytes), ${bound}${declared}; not read`, { path });
}
