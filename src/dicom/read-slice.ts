/**
 * Slices in modality units, read on demand: the rest of lowdose calls these and never sees raw
 * DICOM. Values are (stored × RescaleSlope + RescaleIntercept) × unitsScale, i.e. HU for CT and
 * SUVbw (or Bq/ml when SUV is unavailable) for PET, as `Series.units` says.
 */
import { LowdoseError } from '../errors.js';
import type { Image2D } from '../image.js';
import { getString, TAG } from './attributes.js';
import { decodeParsedFrame } from './decode.js';
import { readPixelModule, type PixelModule } from './image-header.js';
import { applyModalityLut } from './modality.js';
import { readDicomFile, type ParsedFile } from './parse.js';
import { outOfFieldMask, unionMasks } from './out-of-field.js';
import { paddingMask, type StoredValues } from './pixels.js';
import type { Series, SliceRef, Units } from './types.js';

export { decodeFrameStoredValues, type StoredFrame } from './decode.js';

export interface SlicePixels {
  readonly rows: number;
  readonly columns: number;
  /** Row-major, in the series' units. */
  readonly data: Float32Array;
  /**
   * 1 where the pixel is padding (PixelPaddingValue: outside the scanned field of view) or, in a
   * CT slice in HU, out-of-field fill (./out-of-field.ts); null when the slice has none. Padded
   * pixels keep their modality value in `data`.
   */
  readonly padding: Uint8Array | null;
}

/**
 * The last file read stays parsed, so that reading the frames of a multi-frame file one after
 * another parses it once. One entry only: a study never accumulates in memory.
 */
let lastFile: { path: string; parsed: ParsedFile; pixel: PixelModule } | null = null;

async function openFile(path: string): Promise<{ parsed: ParsedFile; pixel: PixelModule }> {
  if (lastFile?.path === path) return lastFile;
  const parsed = await readDicomFile(path);
  const pixel = readPixelModule(parsed);
  lastFile = { path, parsed, pixel };
  return lastFile;
}

/** Forgets the cached file (tests and long-running servers call this after a batch). */
export function clearSliceCache(): void {
  lastFile = null;
}

/**
 * One slice's pixels in the series' units, with its padding mask. Pass the series' `units`: in
 * 'HU' the out-of-field fill of slices without a matching PixelPaddingValue is detected too.
 */
export async function readSlicePixels(slice: SliceRef, units?: Units): Promise<SlicePixels> {
  return (await readSliceFile(slice, units)).pixels;
}

/** A slice's pixels with the parsed file and the stored values they were read from. */
interface SliceFile {
  readonly pixels: SlicePixels;
  readonly parsed: ParsedFile;
  readonly stored: StoredValues;
}

async function readSliceFile(slice: SliceRef, units?: Units): Promise<SliceFile> {
  const { parsed, pixel } = await openFile(slice.file);
  const stored = await decodeParsedFrame(parsed, pixel, slice.frame);
  const outOfField =
    units === 'HU'
      ? outOfFieldMask(stored, pixel.rows, pixel.columns, slice.rescaleSlope, slice.rescaleIntercept, { lossy: lossyCompressed(parsed) })
      : null;
  const pixels = {
    rows: pixel.rows,
    columns: pixel.columns,
    data: applyModalityLut(stored, slice.rescaleSlope, slice.rescaleIntercept, slice.unitsScale),
    padding: unionMasks(paddingMask(stored, pixel), outOfField),
  };
  return { pixels, parsed, stored };
}

/**
 * Whether the stored values went through a lossy codec: a lossy transfer syntax, or
 * LossyImageCompression 01 (PS3.3 C.7.6.1.1.5: once lossy compressed, e.g. a derived file lowdose
 * wrote from a lossy source, stored uncompressed but with the codec's values).
 */
function lossyCompressed(parsed: ParsedFile): boolean {
  return parsed.transferSyntax.lossy || getString(parsed.dataSet, TAG.LossyImageCompression) === '01';
}

/** One slice's pixels in the series' units (modality LUT, then × unitsScale). */
export async function readSlice(slice: SliceRef): Promise<Float32Array> {
  return (await readSlicePixels(slice)).data;
}

/** Slice `index` (in the series' sorted order) as an Image2D, with its padding mask. */
export async function readSliceImage(series: Series, index: number): Promise<Image2D> {
  return readSeriesSlice(series, sliceAt(series, index));
}

function sliceAt(series: Series, index: number): SliceRef {
  const slice = series.slices[index];
  if (!slice) {
    throw new LowdoseError('E_USAGE', `series ${series.key} has no slice ${index} (${series.slices.length} slices)`);
  }
  return slice;
}

/** What reading one slice needs of its series besides the slice itself (a thread is sent only this). */
export type SliceSeriesFacts = Pick<Series, 'key' | 'units' | 'rows' | 'columns' | 'spacing'>;

/** readSliceImage of one slice of a series described by `series`' facts. */
export async function readSeriesSlice(series: SliceSeriesFacts, slice: SliceRef): Promise<Image2D> {
  return imageOf(series, slice, await readSlicePixels(slice, series.units));
}

/**
 * readSliceImage, with the parsed file and the stored values (before the modality LUT) it was read
 * from: what a rerun's check of its input compares besides the values (src/pipeline/input-content.ts).
 */
export async function readSliceSource(series: Series, index: number): Promise<{ image: Image2D; parsed: ParsedFile; stored: StoredValues }> {
  const slice = sliceAt(series, index);
  const { pixels, parsed, stored } = await readSliceFile(slice, series.units);
  return { image: imageOf(series, slice, pixels), parsed, stored };
}

function imageOf(series: SliceSeriesFacts, slice: SliceRef, pixels: SlicePixels): Image2D {
  if (pixels.rows !== series.rows || pixels.columns !== series.columns) {
    throw new LowdoseError(
      'E_INCONSISTENT_SERIES',
      `${slice.file}: slice is ${pixels.columns} x ${pixels.rows}, series ${series.key} is ${series.columns} x ${series.rows}`,
      { path: slice.file },
    );
  }
  return {
    rows: pixels.rows,
    columns: pixels.columns,
    data: pixels.data,
    pixelSpacing: [series.spacing[0], series.spacing[1]],
    padding: pixels.padding,
  };
}
