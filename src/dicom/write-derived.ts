/**
 * Writes a processed copy of a series (denoised, simulated low dose, ...) as a new DICOM series in
 * the same study: one file per slice, streamed, each built from its SOURCE file's dataset so that
 * every patient, study, frame-of-reference, geometry, PET and private attribute is carried over.
 */
import { existsSync, mkdirSync, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { LowdoseError } from '../errors.js';
import type { Series, SliceRef } from './types.js';
import { SOP_CLASS, newUid } from './uid.js';
import {
  type DcmDataset,
  getNumber,
  getString,
  getValues,
  readDatasetWithoutPixels,
  setElement,
  tagOf,
  writePart10,
} from './write-dcmjs.js';
import { dicomDateTime, dsList, fileMeta, setPixels, sliceFileName, writeFileAtomic } from './write-file.js';
import {
  chooseLinearRescale,
  chooseProportionalRescale,
  finiteRange,
  type Rescale,
  reusableRescale,
} from './write-pixels.js';

export interface DerivedSeriesOptions {
  /** Directory for the new files (created when missing). */
  readonly outDir: string;
  /** DerivationDescription: what made the pixels (model, settings). */
  readonly derivationDescription: string;
  /** Appended to the source SeriesDescription. Default " lowdose". */
  readonly seriesDescriptionSuffix?: string;
  /** Default: the source SeriesNumber + 1000 (1000 when the source has none). */
  readonly seriesNumber?: number;
  /** Default: a new random UID. */
  readonly seriesInstanceUid?: string;
  /** File names are `<prefix>0001.dcm`, ... in slice order. Default "IM". */
  readonly filePrefix?: string;
  /** Replace files of the same name in outDir. Default false: E_EXISTS. */
  readonly overwrite?: boolean;
  /** Largest stored step for non-PET data in its units (0.1 HU). Default 0.1. */
  readonly resolution?: number;
  /** InstanceCreationDate/Time. Default now. */
  readonly now?: Date;
}

export interface DerivedSeriesWriter {
  readonly seriesInstanceUid: string;
  readonly dir: string;
  /** Paths written so far, in slice order. */
  readonly files: string[];
  /**
   * Writes output slice `index` (same index as `source.slices`) from `pixels` in `source.units`,
   * `source.rows * source.columns` values, row-major. Resolves to the file's path.
   */
  writeSlice(index: number, pixels: Float32Array): Promise<string>;
}

/** Top-level elements that describe the source's pixel encoding or frames and so must not be copied. */
const DROPPED_KEYWORDS = [
  'PixelData',
  'FloatPixelData',
  'DoubleFloatPixelData',
  'ExtendedOffsetTable',
  'ExtendedOffsetTableLengths',
  'DataSetTrailingPadding',
  'DigitalSignaturesSequence',
  'MACParametersSequence',
  'EncryptedAttributesSequence',
  'IconImageSequence',
  'NumberOfFrames',
  'FrameIncrementPointer',
  'PerFrameFunctionalGroupsSequence',
  'SharedFunctionalGroupsSequence',
  'DimensionOrganizationSequence',
  'DimensionIndexSequence',
  'DimensionOrganizationType',
  'FrameTime',
  'FrameTimeVector',
  'SliceVector',
  'SmallestImagePixelValue',
  'LargestImagePixelValue',
  'SmallestPixelValueInSeries',
  'LargestPixelValueInSeries',
  'PixelPaddingValue',
  'PixelPaddingRangeLimit',
  'ModalityLUTSequence',
  'PlanarConfiguration',
  'PresentationLUTShape',
  'RedPaletteColorLookupTableDescriptor',
  'GreenPaletteColorLookupTableDescriptor',
  'BluePaletteColorLookupTableDescriptor',
  'RedPaletteColorLookupTableData',
  'GreenPaletteColorLookupTableData',
  'BluePaletteColorLookupTableData',
  'SourceImageSequence',
  'DerivationCodeSequence',
  'InstanceCreatorUID',
];

const SINGLE_FRAME_SOP_CLASS: Record<string, string> = {
  CT: SOP_CLASS.ctImage,
  PT: SOP_CLASS.petImage,
  MR: SOP_CLASS.mrImage,
};

const MULTI_FRAME_SOP_CLASSES = new Set<string>([
  SOP_CLASS.enhancedCtImage,
  SOP_CLASS.enhancedPetImage,
  SOP_CLASS.enhancedMrImage,
  '1.2.840.10008.5.1.4.1.1.2.2', // Legacy Converted Enhanced CT
  '1.2.840.10008.5.1.4.1.1.128.1', // Legacy Converted Enhanced PET
  '1.2.840.10008.5.1.4.1.1.4.4', // Legacy Converted Enhanced MR
  '1.2.840.10008.5.1.4.1.1.20', // NM
]);

export function createDerivedSeriesWriter(source: Series, options: DerivedSeriesOptions): DerivedSeriesWriter {
  const dir = path.resolve(options.outDir);
  const seriesInstanceUid = options.seriesInstanceUid ?? newUid();
  const prefix = options.filePrefix ?? 'IM';
  const count = source.slices.length;
  const targets = source.slices.map((_, index) => path.join(dir, sliceFileName(prefix, index, count)));
  checkTargets(source, targets, options.overwrite ?? false);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    throw new LowdoseError('E_IO', `${dir}: cannot create output directory: ${(error as Error).message}`, { path: dir });
  }

  const written = new Map<number, string>();
  const cache = new SourceDatasetCache();
  const created = dicomDateTime(options.now ?? new Date());

  return {
    seriesInstanceUid,
    dir,
    get files() {
      return [...written.entries()].sort((a, b) => a[0] - b[0]).map(([, file]) => file);
    },
    async writeSlice(index: number, pixels: Float32Array): Promise<string> {
      const slice = source.slices[index];
      if (!slice) throw new LowdoseError('E_INTERNAL', `slice ${index} is not in series ${source.seriesInstanceUid} (${count} slices)`);
      if (pixels.length !== source.rows * source.columns) {
        throw new LowdoseError(
          'E_INTERNAL',
          `slice ${index} of ${source.seriesInstanceUid}: got ${pixels.length} values for ${source.rows}x${source.columns}`,
        );
      }
      const { meta: sourceMeta, dataset: sourceDataset } = cache.get(slice);
      const sopInstanceUid = newUid();
      const dataset = deriveDataset(sourceDataset, {
        source,
        slice,
        index,
        sopInstanceUid,
        seriesInstanceUid,
        derivationDescription: options.derivationDescription,
        seriesDescriptionSuffix: options.seriesDescriptionSuffix ?? ' lowdose',
        seriesNumber: options.seriesNumber,
        created,
        sourceSopClassUid: getString(sourceDataset, 'SOPClassUID') ?? getString(sourceMeta, 'MediaStorageSOPClassUID'),
      });
      const stored = storedValuesFor(slice, pixels);
      const rescale = chooseRescaleFor(source, slice, stored, sourceDataset, options.resolution ?? 0.1);
      setPixels(dataset, source.rows, source.columns, stored, rescale);
      setPadding(dataset, sourceDataset, slice, stored, rescale);
      const sopClassUid = getString(dataset, 'SOPClassUID')!;
      const target = targets[index]!;
      await writeFileAtomic(target, fileMeta(sopClassUid, sopInstanceUid), dataset);
      written.set(index, target);
      return target;
    },
  };
}

/** Refuses to overwrite inputs ever, and other files unless asked to. */
function checkTargets(source: Series, targets: string[], overwrite: boolean): void {
  const inputs = new Set(source.slices.map((s) => realPathOrSelf(s.file)));
  for (const target of targets) {
    if (!existsSync(target)) continue;
    if (inputs.has(realPathOrSelf(target))) {
      throw new LowdoseError('E_EXISTS', `${target} is an input file; choose another output directory`, { path: target });
    }
    if (!overwrite) {
      throw new LowdoseError('E_EXISTS', `${target} already exists (use --overwrite to replace it)`, { path: target });
    }
  }
}

function realPathOrSelf(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    return path.resolve(file);
  }
}

/** Values to store: the modality-LUT output units. PET in SUV goes back to activity (or counts). */
function storedValuesFor(slice: SliceRef, pixels: Float32Array): Float32Array {
  if (slice.unitsScale === 1 || !(slice.unitsScale > 0)) return pixels;
  const inverse = 1 / slice.unitsScale;
  const out = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) out[i] = pixels[i]! * inverse;
  return out;
}

function chooseRescaleFor(
  source: Series,
  slice: SliceRef,
  values: Float32Array,
  sourceDataset: DcmDataset,
  resolution: number,
): Rescale {
  const bitsAllocated = getNumber(sourceDataset, 'BitsAllocated') ?? 16;
  const signed = (getNumber(sourceDataset, 'PixelRepresentation') ?? 0) === 1;
  if (bitsAllocated <= 16) {
    const own = reusableRescale(values, slice.rescaleSlope, slice.rescaleIntercept, signed);
    if (own) return own;
  }
  const [min, max] = finiteRange(values);
  return source.modality === 'PT' ? chooseProportionalRescale(min, max) : chooseLinearRescale(min, max, resolution);
}

/**
 * Keeps padding (pixels outside the scanned field) marked as such: when the source declares a
 * single PixelPaddingValue and its modality value falls exactly on the new stored grid, the same
 * value is declared in the new encoding.
 */
function setPadding(dataset: DcmDataset, sourceDataset: DcmDataset, slice: SliceRef, values: Float32Array, rescale: Rescale): void {
  let padding = getNumber(sourceDataset, 'PixelPaddingValue');
  if (padding === undefined || getValues(sourceDataset, 'PixelPaddingRangeLimit') !== undefined) return;
  // Implicit VR gives dcmjs no VR for this US-or-SS element; it reads US. Signed pixels mean SS.
  if (getNumber(sourceDataset, 'PixelRepresentation') === 1 && padding > 32767) padding -= 65536;
  // `values` are modality-LUT output (PET already divided back from SUV), like the padding's value.
  const modalityValue = padding * slice.rescaleSlope + slice.rescaleIntercept;
  const q = (modalityValue - rescale.intercept) / rescale.slope;
  const stored = Math.round(q);
  const [lo, hi] = rescale.signed ? [-32768, 32767] : [0, 65535];
  if (Math.abs(q - stored) > 1e-6 || stored < lo || stored > hi) return;
  const target = Math.fround(modalityValue);
  if (!values.some((v) => v === target)) return;
  setElement(dataset, 'PixelPaddingValue', [stored], rescale.signed ? 'SS' : 'US');
}

interface DeriveContext {
  readonly source: Series;
  readonly slice: SliceRef;
  readonly index: number;
  readonly sopInstanceUid: string;
  readonly seriesInstanceUid: string;
  readonly derivationDescription: string;
  readonly seriesDescriptionSuffix: string;
  readonly seriesNumber: number | undefined;
  readonly created: { date: string; time: string };
  readonly sourceSopClassUid: string | undefined;
}

/**
 * The output dataset for one slice: the source's elements minus its pixel encoding and frame
 * structure, with new identity, derivation and (for multi-frame sources) per-frame geometry.
 * Does not touch `sourceDataset` (elements are replaced, never mutated).
 */
export function deriveDataset(sourceDataset: DcmDataset, context: DeriveContext): DcmDataset {
  const { source, slice } = context;
  const dataset: DcmDataset = { ...sourceDataset };
  const multiFrame =
    (getNumber(sourceDataset, 'NumberOfFrames') ?? 1) > 1 ||
    getValues(sourceDataset, 'PerFrameFunctionalGroupsSequence') !== undefined ||
    MULTI_FRAME_SOP_CLASSES.has(context.sourceSopClassUid ?? '');
  const frameAttributes = multiFrame ? frameFunctionalGroups(sourceDataset, slice.frame) : {};

  for (const keyword of DROPPED_KEYWORDS) delete dataset[tagOf(keyword)];
  for (const tag of Object.keys(dataset)) {
    // Group lengths are retired outside the file meta and would be wrong after editing.
    if (tag.endsWith('0000')) delete dataset[tag];
  }

  const sopClassUid = multiFrame
    ? (SINGLE_FRAME_SOP_CLASS[source.modality] ?? SOP_CLASS.secondaryCapture)
    : (context.sourceSopClassUid ?? SINGLE_FRAME_SOP_CLASS[source.modality] ?? SOP_CLASS.secondaryCapture);
  setElement(dataset, 'SOPClassUID', [sopClassUid]);
  setElement(dataset, 'SOPInstanceUID', [context.sopInstanceUid]);
  setElement(dataset, 'SeriesInstanceUID', [context.seriesInstanceUid]);
  if (!getString(dataset, 'StudyInstanceUID')) setElement(dataset, 'StudyInstanceUID', [source.studyInstanceUid]);
  setElement(dataset, 'InstanceCreationDate', [context.created.date]);
  setElement(dataset, 'InstanceCreationTime', [context.created.time]);

  const sourceImageType = (getValues(sourceDataset, 'ImageType') ?? []).map((v) => String(v ?? '').trim());
  setElement(dataset, 'ImageType', ['DERIVED', 'SECONDARY', ...sourceImageType.slice(2)]);
  setElement(dataset, 'DerivationDescription', [context.derivationDescription.slice(0, 1024)]);
  if (context.sourceSopClassUid) {
    const reference: DcmDataset = {};
    setElement(reference, 'ReferencedSOPClassUID', [context.sourceSopClassUid]);
    setElement(reference, 'ReferencedSOPInstanceUID', [slice.sopInstanceUid]);
    if (multiFrame) setElement(reference, 'ReferencedFrameNumber', [String(slice.frame + 1)]);
    setElement(dataset, 'SourceImageSequence', [reference]);
  }

  const suffix = context.seriesDescriptionSuffix;
  const description = (getString(sourceDataset, 'SeriesDescription') ?? source.seriesDescription ?? '').trim();
  setElement(dataset, 'SeriesDescription', [`${description.slice(0, Math.max(0, 64 - suffix.length))}${suffix}`.trim()]);
  const sourceSeriesNumber = getNumber(sourceDataset, 'SeriesNumber');
  setElement(dataset, 'SeriesNumber', [String(context.seriesNumber ?? (sourceSeriesNumber ?? 0) + 1000)]);
  setElement(dataset, 'InstanceNumber', [String(context.index + 1)]);

  // A multi-frame source keeps frame geometry in functional groups; a single-frame output needs it
  // at the top level. The reader's per-frame position is authoritative for both.
  if (multiFrame || !getValues(sourceDataset, 'ImagePositionPatient')) {
    if (slice.position) setElement(dataset, 'ImagePositionPatient', dsList(slice.position));
    if (source.orientation) setElement(dataset, 'ImageOrientationPatient', dsList(source.orientation));
  }
  if (multiFrame) {
    for (const [keyword, values] of Object.entries(frameAttributes)) setElement(dataset, keyword, values);
    if (!getValues(dataset, 'PixelSpacing')) setElement(dataset, 'PixelSpacing', dsList([source.spacing[0], source.spacing[1]]));
    if (source.modality === 'CT') {
      // Type 2 in the CT Image module; enhanced CT keeps them in functional groups.
      if (!getValues(dataset, 'KVP')) setElement(dataset, 'KVP', []);
      if (!getValues(dataset, 'AcquisitionNumber')) setElement(dataset, 'AcquisitionNumber', []);
    }
  }
  return dataset;
}

/**
 * Per-frame attributes of an enhanced multi-frame dataset that single-frame images carry at the
 * top level: pixel measures and VOI window, from the frame's own functional group else the shared one.
 */
function frameFunctionalGroups(dataset: DcmDataset, frame: number): Record<string, unknown[]> {
  const perFrame = getValues(dataset, 'PerFrameFunctionalGroupsSequence')?.[frame] as DcmDataset | undefined;
  const shared = getValues(dataset, 'SharedFunctionalGroupsSequence')?.[0] as DcmDataset | undefined;
  const item = (sequence: string): DcmDataset | undefined =>
    ((perFrame && getValues(perFrame, sequence)?.[0]) ?? (shared && getValues(shared, sequence)?.[0])) as
      | DcmDataset
      | undefined;
  const out: Record<string, unknown[]> = {};
  const copy = (from: DcmDataset | undefined, keyword: string) => {
    const values = from && getValues(from, keyword);
    if (values && values.length > 0) out[keyword] = values;
  };
  const measures = item('PixelMeasuresSequence');
  copy(measures, 'PixelSpacing');
  copy(measures, 'SliceThickness');
  copy(measures, 'SpacingBetweenSlices');
  const voi = item('FrameVOILUTSequence');
  copy(voi, 'WindowCenter');
  copy(voi, 'WindowWidth');
  copy(voi, 'WindowCenterWidthExplanation');
  return out;
}

/**
 * Reads source datasets with dcmjs, remembering the last file so that the frames of a multi-frame
 * source are not re-read per frame. Files dcmjs refuses because they lack the preamble or the file
 * meta (which the reader accepts) are given them first.
 */
class SourceDatasetCache {
  private file = '';
  private value: { meta: DcmDataset; dataset: DcmDataset } | null = null;

  get(slice: SliceRef): { meta: DcmDataset; dataset: DcmDataset } {
    if (this.value && this.file === slice.file) return this.value;
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(slice.file);
    } catch (error) {
      throw new LowdoseError('E_IO', `${slice.file}: cannot read source file: ${(error as Error).message}`, {
        path: slice.file,
      });
    }
    try {
      this.value = readDatasetWithoutPixels(asPart10(bytes, slice.transferSyntaxUid));
    } catch (error) {
      throw new LowdoseError('E_MALFORMED', `${slice.file}: cannot re-read the dataset to copy it: ${(error as Error).message}`, {
        path: slice.file,
        cause: error,
      });
    }
    this.file = slice.file;
    return this.value;
  }
}

/** Adds what dcmjs needs to read a file: the 128-byte preamble and "DICM", and file meta if missing. */
function asPart10(bytes: Uint8Array, transferSyntaxUid: string): Uint8Array {
  const hasMagic = bytes.length >= 132 && String.fromCharCode(...bytes.subarray(128, 132)) === 'DICM';
  if (hasMagic) return bytes;
  const startsWithMeta = bytes.length >= 8 && bytes[0] === 0x02 && bytes[1] === 0x00;
  if (startsWithMeta) return concat(new Uint8Array(128), new TextEncoder().encode('DICM'), bytes);
  // A bare dataset: write preamble + meta in front of it, in the syntax the reader found.
  const meta = fileMeta('', '');
  setElement(meta, 'TransferSyntaxUID', [transferSyntaxUid || '1.2.840.10008.1.2']);
  const header = writePart10(meta, {});
  return concat(header, bytes);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
