/**
 * The DICOM reading API the rest of lowdose uses: find series, read slices in modality units.
 * (Writing lives in ./write*.ts.)
 */
export type { Orientation, PetFrameRef, PetFrameTiming, PetGateTiming, Series, SliceRef, Units, Vec3 } from './types.js';
export { KnownHeaders, type HeaderOutcome } from './known-headers.js';
export { scanPaths, scanProblems, findFiles, readInstanceHeader, realRoots, type ScanResult, type ScanOptions, type SkippedFile } from './scan.js';
export {
  readSlice,
  readSlicePixels,
  readSliceImage,
  readSeriesSlice,
  readSliceSource,
  clearSliceCache,
  decodeFrameStoredValues,
  type SlicePixels,
  type SliceSeriesFacts,
  type StoredFrame,
} from './read-slice.js';
export { parseDicomBytes, readDicomFile, type ParsedFile } from './parse.js';
export { MAX_DICOM_FILE_BYTES } from './file-size.js';
export { derivedHeaderValues } from './derived-header.js';
export { classifyObject, requireImage, type ObjectKind } from './classify.js';
export {
  readImageHeader,
  readPixelModule,
  type ImageHeader,
  type PixelModule,
  type FrameGeometry,
  type PetAttributes,
} from './image-header.js';
export { buildSeries, sliceNormal } from './series.js';
export { sameFrame } from './pet-time-slices.js';
export { dynamicFrameTiming, gateTiming } from './pet-frame-timing.js';
export { frameTimingLine, msAsSeconds, petFrameLabel, type PetFrameFacts } from './pet-frame-text.js';
export { suvbwFactors, type SuvOutcome } from './suv.js';
export { applyModalityLut, modalityUnits } from './modality.js';
export { storedValues, paddingMask, type StoredValues } from './pixels.js';
export { outOfFieldMask, unionMasks, OUT_OF_FIELD_MAX_HU } from './out-of-field.js';
export { transferSyntaxOf, KNOWN_TRANSFER_SYNTAXES, type TransferSyntax } from './transfer-syntax.js';
