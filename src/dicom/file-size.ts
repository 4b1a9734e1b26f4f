/**
 * What one DICOM file may cost to read: the largest file lowdose reads (MAX_DICOM_FILE_BYTES, the
 * same bound as one instance pulled from a PACS), and the check of a native pixel data element's
 * length against what the header declares (frames × rows × columns × samples × bits). Both are
 * judged from the header alone, before the file is read whole (./parse.ts `readDicomFile`).
 */
import { LowdoseError } from '../errors.js';
import { formatBytes } from '../util/bytes.js';

/**
 * The largest DICOM file lowdose reads, and the largest instance it takes from a PACS (WADO-RS
 * answer, C-GET, its C-MOVE storage SCP: `DEFAULT_MAX_INSTANCE_BYTES` of src/dicomweb/client.ts
 * and src/dimse/receive.ts is this). 1 GiB holds 2,048 frames of 512 × 512 × 16 bits. A larger
 * file is E_FILE_TOO_LARGE, judged from its size and header, never read whole.
 */
export const MAX_DICOM_FILE_BYTES = 1024 * 1024 * 1024;

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

/** The refusal of a file larger than MAX_DICOM_FILE_BYTES, with what its header declares when it was read. */
export function fileTooLarge(path: string, size: number, pixel: DeclaredPixels | null): LowdoseError {
  const declared = pixel
    ? `; its header declares ${describe(pixel)} (${formatBytes(nativeFrameBytes(pixel) * pixel.frames)} of pixel data decoded)`
    : '';
  return new LowdoseError(
    'E_FILE_TOO_LARGE',
    `${path}: ${formatBytes(size)} (${size} bytes), more than the ${formatBytes(MAX_DICOM_FILE_BYTES)} lowdose reads of one DICOM file${declared}; not read`,
    { path },
  );
}
