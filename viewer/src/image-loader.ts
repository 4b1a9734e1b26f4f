/**
 * cornerstone image loaders for the lowdose API:
 *
 * - `lowdose:<url>`: one slice in the binary format of src/server/slice-codec.ts. Int16 blocks
 *   go to cornerstone as they are, with their rescale; float32 blocks are quantised onto an int16
 *   grid spanning the slice's range (cornerstone's lookup tables index by stored value).
 * - `lowdose-diff:<test imageId>|<reference imageId>`: test − reference, pixel by pixel, in the
 *   modality's units, from the two (cached) slices, zero where either is padding (./difference.ts).
 * - `lowdose-blank:<rows>x<columns>`: an empty slice where a pane has no slice matching this one.
 */
import cornerstone, { type Image, type ImageLoadObject } from 'cornerstone-core';
import { int16Pixels, paddingMaskOf, unpackSlice } from '../../src/server/slice-codec.js';
import type { SliceHeader } from './api.js';
import { differencePixels } from './difference.js';

interface Decoded {
  readonly header: SliceHeader;
  readonly pixels: Int16Array;
  readonly slope: number;
  readonly intercept: number;
}

/** A slice message as cornerstone wants it: int16 pixels with their rescale (float32 blocks quantised). */
export function decodeSliceBytes(buffer: ArrayBuffer): Decoded {
  const { header, pixels } = unpackSlice(new Uint8Array(buffer));
  return { header, ...int16Pixels(header, pixels) };
}

function makeImage(
  imageId: string,
  pixels: Int16Array,
  slope: number,
  intercept: number,
  rows: number,
  columns: number,
  spacing: readonly [number, number],
  units: string,
  invert = false,
): Image {
  let min = 32767;
  let max = -32768;
  for (let i = 0; i < pixels.length; i++) {
    const v = pixels[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (min > max) min = max = 0;
  const lo = min * slope + intercept;
  const hi = max * slope + intercept;
  return {
    imageId,
    minPixelValue: min,
    maxPixelValue: max,
    slope,
    intercept,
    windowCenter: (lo + hi) / 2,
    windowWidth: Math.max(hi - lo, 1e-6),
    getPixelData: () => pixels,
    rows,
    columns,
    height: rows,
    width: columns,
    color: false,
    rgba: false,
    rowPixelSpacing: spacing[0],
    columnPixelSpacing: spacing[1],
    invert,
    sizeInBytes: pixels.byteLength,
    units,
  };
}

function loadSlice(imageId: string): ImageLoadObject {
  const controller = new AbortController();
  const promise = (async () => {
    const response = await fetch(imageId.slice('lowdose:'.length), { signal: controller.signal });
    if (!response.ok) throw new Error(`${response.status} loading ${imageId}`);
    const { header, pixels, slope, intercept } = decodeSliceBytes(await response.arrayBuffer());
    const image = makeImage(
      imageId,
      pixels,
      slope,
      intercept,
      header.rows,
      header.columns,
      [header.spacing[0], header.spacing[1]],
      header.units,
      header.photometricInterpretation === 'MONOCHROME1',
    );
    image.padding = paddingMaskOf(header.padding, header.rows * header.columns);
    return image;
  })();
  return { promise, cancelFn: () => controller.abort() };
}

function loadDifference(imageId: string): ImageLoadObject {
  const [testId, referenceId] = imageId.slice('lowdose-diff:'.length).split('|') as [string, string];
  const promise = (async () => {
    const [test, reference] = await Promise.all([cornerstone.loadAndCacheImage(testId), cornerstone.loadAndCacheImage(referenceId)]);
    const { pixels, slope, padding } = differencePixels(
      { pixels: test.getPixelData(), slope: test.slope, intercept: test.intercept, padding: test.padding ?? null },
      { pixels: reference.getPixelData(), slope: reference.slope, intercept: reference.intercept, padding: reference.padding ?? null },
    );
    const image = makeImage(imageId, pixels, slope, 0, test.rows, test.columns, [test.rowPixelSpacing, test.columnPixelSpacing], test.units ?? '');
    image.padding = padding;
    return image;
  })();
  return { promise };
}

function loadBlank(imageId: string): ImageLoadObject {
  const [rows, columns] = imageId.slice('lowdose-blank:'.length).split('x').map(Number) as [number, number];
  const image = makeImage(imageId, new Int16Array(rows * columns), 1, 0, rows, columns, [1, 1], '');
  image.blank = true;
  return { promise: Promise.resolve(image) };
}

export function registerLoaders(): void {
  cornerstone.registerImageLoader('lowdose', loadSlice);
  cornerstone.registerImageLoader('lowdose-diff', loadDifference);
  cornerstone.registerImageLoader('lowdose-blank', loadBlank);
}

export const sliceImageId = (seriesId: string, index: number, rev: string): string =>
  `lowdose:/api/series/${seriesId}/slices/${index}?v=${encodeURIComponent(rev)}`;
export const differenceImageId = (testId: string, referenceId: string): string => `lowdose-diff:${testId}|${referenceId}`;
export const blankImageId = (rows: number, columns: number): string => `lowdose-blank:${rows}x${columns}`;

/** Value in modality units of stored value `stored`. */
export function valueOf(image: Image, stored: number): number {
  return stored * image.slope + image.intercept;
}
