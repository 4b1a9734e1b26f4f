/**
 * The image facts of a parsed file, read once and validated: the pixel module (what a decoder
 * needs), per-frame geometry and rescale (what series building and the modality LUT need), and
 * the PET attributes SUV needs. The result is plain data: it holds no reference to the file's
 * bytes, so a batch can keep thousands of headers without keeping their pixel data.
 */
import { LowdoseError } from '../errors.js';
import type { Orientation, PixelModule, PixelPadding, Vec3 } from './types.js';
import {
  elementOf,
  frameNumbers,
  getItems,
  getNumber,
  getNumbers,
  getString,
  getStrings,
  TAG,
} from './attributes.js';
import { dicomParser, type DataSet } from './dicom-parser.js';
import { readEnhancedPetAttributes, type EnhancedPetAttributes } from './enhanced-pet-attributes.js';
import { checkDeclaredFrames } from './frames.js';
import type { ParsedFile } from './parse.js';
import { lowdoseStatedCount } from './read-contributing-equipment.js';

/** Frames larger than this many pixels are refused before anything is allocated. */
export const MAX_FRAME_PIXELS = 1 << 27;

export type { PixelModule, PixelPadding } from './types.js';

export interface FrameGeometry {
  readonly position: Vec3 | null;
  readonly orientation: Orientation | null;
  /** [row, column] spacing in mm. */
  readonly pixelSpacing: [number, number] | null;
  readonly sliceThickness: number | null;
  readonly rescaleSlope: number;
  readonly rescaleIntercept: number;
}

/** The PET attributes @cornerstonejs/calculate-suv reads (its InstanceMetadata). */
export interface PetAttributes {
  CorrectedImage: string[];
  Units: string;
  RadionuclideHalfLife: number;
  RadionuclideTotalDose: number;
  DecayCorrection: string;
  PatientWeight: number;
  SeriesDate: string;
  SeriesTime: string;
  AcquisitionDate: string;
  AcquisitionTime: string;
  RadiopharmaceuticalStartTime?: string;
  RadiopharmaceuticalStartDateTime?: string;
  /** Timezone Offset From UTC (0008,0201), the zone of the DA / TM and of any DT without its own offset. */
  TimezoneOffsetFromUTC?: string;
  PhilipsPETPrivateGroup?: { SUVScaleFactor: number | undefined; ActivityConcentrationScaleFactor: number | undefined };
  GEPrivatePostInjectionDateTime?: string;
  /** FrameReferenceTime (0054,1300), ms from the series reference time (SeriesDate / SeriesTime). */
  FrameReferenceTime?: number;
  /** ActualFrameDuration (0018,1242), ms. */
  ActualFrameDuration?: number;
  /** TriggerTime (0018,1060) of a gated image: ms from the R wave to the start of its data. */
  TriggerTime?: number;
  /** FrameTime (0018,1063) of a gated image: ms, the length of its time slot (C.8.9.4). */
  FrameTime?: number;
  /** NominalInterval (0018,1062) of a gated image: the average R-R interval, ms. */
  NominalInterval?: number;
  /** LowRRValue (0018,1081) of a gated image: the shortest R-R interval accepted, ms. */
  LowRRValue?: number;
  /** HighRRValue (0018,1082) of a gated image: the longest R-R interval accepted, ms. */
  HighRRValue?: number;
  /** NumberOfSlices (0054,0081): the slices of the whole series, so a read of fewer tells a partial series. */
  NumberOfSlices?: number;
  /**
   * NumberOfTimeSlices (0054,0101) of a DYNAMIC series: its images are NumberOfSlices positions at
   * each of this many time points.
   */
  NumberOfTimeSlices?: number;
  /** NumberOfRRIntervals (0054,0061) of a GATED series: its gates are this many R-R intervals x NumberOfTimeSlots. */
  NumberOfRRIntervals?: number;
  /** NumberOfTimeSlots (0054,0071) of a GATED series: the gates per R-R interval. */
  NumberOfTimeSlots?: number;
  /** SeriesType (0054,1000) value 1, upper case: STATIC, DYNAMIC, GATED, WHOLE BODY. */
  SeriesType?: string;
  /**
   * ImageIndex (0054,1330): (time slice - 1) x NumberOfSlices + slice for a DYNAMIC series,
   * ((R-R interval - 1) x NumberOfTimeSlots + time slot - 1) x NumberOfSlices + slice for a GATED one.
   */
  ImageIndex?: number;
  /** SOPClassUID (0008,0016): Enhanced PET keeps its timing where the rules here do not look. */
  SOPClassUID?: string;
  /** Enhanced PET Image Storage: its corrections, isotope and per-frame units (./enhanced-pet-attributes.ts). */
  EnhancedPet?: EnhancedPetAttributes;
  /**
   * Legacy Converted Enhanced PET: each frame's classic PET attributes, read from the top level
   * overlaid by the Unassigned Shared, then Per-Frame, Converted Attributes Sequences (0020,9170 /
   * 0020,9171), where a conversion puts the attributes of the classic modules the IOD lacks.
   */
  LegacyFrames?: PetAttributes[];
  PatientSize?: number;
  PatientSex?: string;
}

export interface ImageHeader extends PixelModule {
  readonly path: string;
  readonly transferSyntaxUid: string;
  readonly sopClassUid: string;
  readonly sopInstanceUid: string;
  readonly studyInstanceUid: string;
  readonly seriesInstanceUid: string;
  /** FrameOfReferenceUID (0020,0052), '' when absent: positions of two series compare only within one frame. */
  readonly frameOfReferenceUid: string;
  readonly modality: string;
  readonly seriesDescription: string;
  /** DerivationDescription (0008,2111), '' when absent: lowdose names itself there in what it derives. */
  readonly derivationDescription: string;
  /** ConvolutionKernel (0018,1210) as stored (multiple values keep their backslashes), or null. */
  readonly convolutionKernel: string | null;
  readonly instanceNumber: number | null;
  /**
   * How many files the series lowdose wrote this file into has, as the file states it
   * (SoftwareVersions `series of 7 files numbered 1-7` / `frame of 2 files`,
   * ./read-contributing-equipment.ts lowdoseStatedCount); null when it states none.
   */
  readonly statedCount: { readonly files: number; readonly frame: boolean } | null;
  readonly spacingBetweenSlices: number | null;
  /** RescaleType (0028,1054), e.g. HU or US. */
  readonly rescaleType: string | null;
  /** Units (0054,1001) of PET images. */
  readonly units: string | null;
  readonly hasModalityLutSequence: boolean;
  readonly frameGeometry: FrameGeometry[];
  readonly pet: PetAttributes | null;
  /**
   * A multi-frame PET file's frames: per frame, what besides its position tells it apart (time,
   * agent, cardiac and respiratory gate; ./derived-pet-series.ts frameAcquisitionSlot). Frames at
   * one position share it only within one slot (./series.ts). Absent for other files.
   */
  readonly frameSlots?: readonly string[];
  readonly notes: string[];
  /**
   * Geometry values the file has but that cannot be used (a PixelSpacing of "1e309\1", a zero
   * SliceThickness, a NaN in ImagePositionPatient, a degenerate ImageOrientationPatient), each
   * read as missing; series building reports them (W_GEOMETRY_INVALID).
   */
  readonly geometryIssues: string[];
}

function malformed(path: string, message: string): LowdoseError {
  return new LowdoseError('E_MALFORMED', `${path}: ${message}`, { path });
}

function requiredUnsigned(ds: DataSet, tag: string, name: string, path: string): number {
  const value = getNumber(ds, tag, 'US');
  if (value === undefined) throw malformed(path, `missing ${name}`);
  if (!Number.isInteger(value) || value < 0) throw malformed(path, `invalid ${name} (${value})`);
  return value;
}

/** The pixel module; throws E_NO_PIXEL_DATA, E_MALFORMED or E_UNSUPPORTED_PIXELS. */
export function readPixelModule(parsed: ParsedFile): PixelModule {
  const { dataSet: ds, path } = parsed;
  if (!elementOf(ds, TAG.PixelData)) {
    if (elementOf(ds, TAG.FloatPixelData) || elementOf(ds, TAG.DoubleFloatPixelData)) {
      throw new LowdoseError('E_UNSUPPORTED_PIXELS', `${path}: floating-point pixel data is not supported`, { path });
    }
    throw new LowdoseError('E_NO_PIXEL_DATA', `${path}: no pixel data`, { path });
  }
  const rows = requiredUnsigned(ds, TAG.Rows, 'Rows', path);
  const columns = requiredUnsigned(ds, TAG.Columns, 'Columns', path);
  if (rows === 0 || columns === 0) throw malformed(path, `image size is ${rows} x ${columns}`);
  const bitsAllocated = requiredUnsigned(ds, TAG.BitsAllocated, 'BitsAllocated', path);
  const bitsStored = getNumber(ds, TAG.BitsStored, 'US') ?? bitsAllocated;
  const highBit = getNumber(ds, TAG.HighBit, 'US') ?? bitsStored - 1;
  const pixelRepresentation = getNumber(ds, TAG.PixelRepresentation, 'US') ?? 0;
  const samplesPerPixel = getNumber(ds, TAG.SamplesPerPixel, 'US') ?? 1;
  const photometricInterpretation = getString(ds, TAG.PhotometricInterpretation)?.toUpperCase() ?? 'MONOCHROME2';
  const planarConfiguration = getNumber(ds, TAG.PlanarConfiguration, 'US') ?? 0;

  const framesText = getString(ds, TAG.NumberOfFrames);
  const frames = framesText === undefined ? 1 : Number(framesText);
  if (!Number.isInteger(frames) || frames < 1) throw malformed(path, `invalid NumberOfFrames "${framesText}"`);

  if (pixelRepresentation !== 0 && pixelRepresentation !== 1) {
    throw malformed(path, `invalid PixelRepresentation ${pixelRepresentation}`);
  }
  if (![8, 16, 32].includes(bitsAllocated)) {
    throw new LowdoseError('E_UNSUPPORTED_PIXELS', `${path}: BitsAllocated ${bitsAllocated} is not supported (8, 16 or 32)`, {
      path,
    });
  }
  if (!(bitsStored >= 1 && bitsStored <= bitsAllocated)) {
    throw malformed(path, `BitsStored ${bitsStored} does not fit BitsAllocated ${bitsAllocated}`);
  }
  if (!(highBit >= bitsStored - 1 && highBit < bitsAllocated)) {
    throw malformed(path, `HighBit ${highBit} is inconsistent with BitsStored ${bitsStored} and BitsAllocated ${bitsAllocated}`);
  }
  if (samplesPerPixel !== 1) {
    throw new LowdoseError(
      'E_UNSUPPORTED_PIXELS',
      `${path}: ${photometricInterpretation} images with ${samplesPerPixel} samples per pixel are not supported (grayscale only)`,
      { path },
    );
  }
  if (rows * columns > MAX_FRAME_PIXELS) {
    throw new LowdoseError('E_UNSUPPORTED_PIXELS', `${path}: frames of ${rows} x ${columns} pixels are too large`, { path });
  }

  const pixel: PixelModule = {
    rows,
    columns,
    frames,
    samplesPerPixel,
    photometricInterpretation,
    planarConfiguration,
    bitsAllocated,
    bitsStored,
    highBit,
    pixelRepresentation: pixelRepresentation,
    padding: readPadding(ds, pixelRepresentation === 1, bitsAllocated),
  };
  // Before anyone loops over the frames: the declared sizes must fit the bytes (frames.ts).
  checkDeclaredFrames(parsed, pixel);
  return pixel;
}

/** Padding values are US or SS following PixelRepresentation; implicit VR files do not say which. */
function readPadding(ds: DataSet, signed: boolean, bitsAllocated: number): PixelPadding | null {
  const read = (tag: string): number | undefined => {
    const element = elementOf(ds, tag);
    if (!element) return undefined;
    if (element.vr === 'SS' || element.vr === 'US') return getNumber(ds, tag, element.vr);
    if (element.length >= 4 && bitsAllocated === 32) return getNumber(ds, tag, signed ? 'SL' : 'UL');
    return getNumber(ds, tag, signed ? 'SS' : 'US');
  };
  const value = read(TAG.PixelPaddingValue);
  if (value === undefined || Number.isNaN(value)) return null;
  const limit = read(TAG.PixelPaddingRangeLimit);
  return { value, rangeLimit: limit === undefined || Number.isNaN(limit) ? null : limit };
}

/**
 * THE RULE for geometry numbers: a value that is present but unusable (not finite, a spacing or
 * thickness not positive, too few values, an orientation without two unit-length directions) is
 * read as missing, never passed on (an infinite spacing once reached the filters and the JSON as
 * null), and said: each reader below records why in `issues`.
 */
type Issues = Set<string>;

const shown = (values: readonly number[]) => values.map((v) => String(v)).join('\\');

function vec3(values: number[], name: string, issues: Issues): Vec3 | null {
  if (values.length === 0) return null;
  if (values.length >= 3 && values.slice(0, 3).every(Number.isFinite)) return [values[0]!, values[1]!, values[2]!];
  issues.add(`${name} "${shown(values)}" is not three finite numbers`);
  return null;
}

function orientation(values: number[], issues: Issues): Orientation | null {
  if (values.length === 0) return null;
  if (values.length < 6 || !values.slice(0, 6).every(Number.isFinite)) {
    issues.add(`ImageOrientationPatient "${shown(values)}" is not six finite numbers`);
    return null;
  }
  const o = values.slice(0, 6) as Orientation;
  const rowNorm = Math.hypot(o[0], o[1], o[2]);
  const colNorm = Math.hypot(o[3], o[4], o[5]);
  if (rowNorm > 0.5 && colNorm > 0.5) return o;
  issues.add(`ImageOrientationPatient "${shown(values)}" has no row and column directions`);
  return null;
}

function spacing(values: number[], name: string, issues: Issues): [number, number] | null {
  if (values.length === 0) return null;
  const [row, column] = values;
  if (values.length >= 2 && row! > 0 && column! > 0 && Number.isFinite(row) && Number.isFinite(column)) return [row!, column!];
  issues.add(`${name} "${shown(values)}" is not two finite positive numbers`);
  return null;
}

function positiveLength(value: number | undefined, name: string, issues: Issues): number | null {
  if (value === undefined) return null;
  if (value > 0 && Number.isFinite(value)) return value;
  issues.add(`${name} "${value}" is not a finite positive number`);
  return null;
}

/** Everything lowdose needs to know about an image file, validated. */
export function readImageHeader(parsed: ParsedFile): ImageHeader {
  const pixel = readPixelModule(parsed);
  const { dataSet: ds, path } = parsed;
  const notes = [...parsed.notes];
  const issues: Issues = new Set();
  const multiFrameGroups = elementOf(ds, TAG.PerFrameFunctionalGroupsSequence) !== undefined;

  const frameGeometry: FrameGeometry[] = [];
  for (let frame = 0; frame < pixel.frames; frame++) {
    const slope = frameNumbers(ds, frame, TAG.PixelValueTransformationSequence, TAG.RescaleSlope, 'DS')[0];
    const intercept = frameNumbers(ds, frame, TAG.PixelValueTransformationSequence, TAG.RescaleIntercept, 'DS')[0];
    if (slope !== undefined && (!Number.isFinite(slope) || slope === 0)) throw malformed(path, `invalid RescaleSlope ${slope}`);
    if (intercept !== undefined && !Number.isFinite(intercept)) throw malformed(path, `invalid RescaleIntercept`);
    // A classic multi-frame file has one ImagePositionPatient for the whole file: it is the
    // position of frame 0 only, so other frames get none and keep their order in the file.
    const positionValues =
      multiFrameGroups || frame === 0 || pixel.frames === 1
        ? frameNumbers(ds, frame, TAG.PlanePositionSequence, TAG.ImagePositionPatient, 'DS')
        : [];
    const position = pixel.frames > 1 && !multiFrameGroups ? null : vec3(positionValues, 'ImagePositionPatient', issues);
    const pixelSpacing =
      spacing(frameNumbers(ds, frame, TAG.PixelMeasuresSequence, TAG.PixelSpacing, 'DS'), 'PixelSpacing', issues) ??
      spacing(getNumbers(ds, TAG.ImagerPixelSpacing, 'DS'), 'ImagerPixelSpacing', issues);
    const thickness = frameNumbers(ds, frame, TAG.PixelMeasuresSequence, TAG.SliceThickness, 'DS')[0];
    frameGeometry.push({
      position,
      orientation: orientation(frameNumbers(ds, frame, TAG.PlaneOrientationSequence, TAG.ImageOrientationPatient, 'DS'), issues),
      pixelSpacing,
      sliceThickness: positiveLength(thickness, 'SliceThickness', issues),
      rescaleSlope: slope ?? 1,
      rescaleIntercept: intercept ?? 0,
    });
  }

  const modality = getString(ds, TAG.Modality)?.toUpperCase() ?? '';
  const instanceNumber = getNumber(ds, TAG.InstanceNumber, 'IS');
  const spacingBetween = getNumber(ds, TAG.SpacingBetweenSlices, 'DS');
  return {
    ...pixel,
    path,
    transferSyntaxUid: parsed.transferSyntax.uid,
    sopClassUid: getString(ds, TAG.SOPClassUID) ?? '',
    sopInstanceUid: getString(ds, TAG.SOPInstanceUID) ?? '',
    studyInstanceUid: getString(ds, TAG.StudyInstanceUID) ?? '',
    seriesInstanceUid: getString(ds, TAG.SeriesInstanceUID) ?? '',
    frameOfReferenceUid: getString(ds, TAG.FrameOfReferenceUID) ?? '',
    modality,
    seriesDescription: getString(ds, TAG.SeriesDescription) ?? '',
    derivationDescription: getString(ds, TAG.DerivationDescription) ?? '',
    convolutionKernel: getStrings(ds, TAG.ConvolutionKernel).join('\\') || null,
    instanceNumber: instanceNumber !== undefined && Number.isFinite(instanceNumber) ? instanceNumber : null,
    statedCount: lowdoseStatedCount(ds),
    // Some scanners (GE CT among them) write SpacingBetweenSlices negative for the direction of
    // the stack; its magnitude is the spacing.
    spacingBetweenSlices: positiveLength(
      spacingBetween !== undefined && spacingBetween < 0 ? -spacingBetween : spacingBetween,
      'SpacingBetweenSlices',
      issues,
    ),
    rescaleType: getString(ds, TAG.RescaleType) ?? null,
    units: getString(ds, TAG.Units)?.toUpperCase() ?? null,
    hasModalityLutSequence: getItems(ds, TAG.ModalityLUTSequence).length > 0,
    frameGeometry,
    pet: modality === 'PT' ? readPetAttributes(ds, pixel.frames, multiFrameGroups) : null,
    notes,
    geometryIssues: [...issues],
  };
}

function finiteOrUndefined(value: number | undefined): number | undefined {
  return value !== undefined && Number.isFinite(value) ? value : undefined;
}

const ENHANCED_PET_IMAGE = '1.2.840.10008.5.1.4.1.1.130';
const LEGACY_CONVERTED_ENHANCED_PET_IMAGE = '1.2.840.10008.5.1.4.1.1.128.1';
const UNASSIGNED_SHARED_CONVERTED = 'x00209170';
const UNASSIGNED_PER_FRAME_CONVERTED = 'x00209171';

/** The PET attributes, with the Enhanced PET or Legacy Converted ones of a multi-frame file. */
function readPetAttributes(ds: DataSet, frames: number, multiFrameGroups: boolean): PetAttributes {
  const attributes = readClassicPetAttributes(ds);
  if (!multiFrameGroups) return attributes;
  if (attributes.SOPClassUID === ENHANCED_PET_IMAGE) attributes.EnhancedPet = readEnhancedPetAttributes(ds, frames);
  if (attributes.SOPClassUID === LEGACY_CONVERTED_ENHANCED_PET_IMAGE) {
    attributes.LegacyFrames = [];
    for (let frame = 0; frame < frames; frame++) attributes.LegacyFrames.push(readClassicPetAttributes(legacyConvertedFrame(ds, frame)));
  }
  return attributes;
}

/**
 * Frame `frame` of a Legacy Converted Enhanced file as the classic attributes it was converted
 * from: the top level overlaid by the Unassigned Shared, then Per-Frame, Converted Attributes
 * Sequences (0020,9170 / 0020,9171).
 */
export function legacyConvertedFrame(ds: DataSet, frame: number): DataSet {
  const shared = getItems(getItems(ds, TAG.SharedFunctionalGroupsSequence)[0] ?? ds, UNASSIGNED_SHARED_CONVERTED)[0];
  const perFrame = ds.elements[TAG.PerFrameFunctionalGroupsSequence]?.items?.[frame]?.dataSet;
  const own = perFrame ? getItems(perFrame, UNASSIGNED_PER_FRAME_CONVERTED)[0] : undefined;
  // Nested items index the same bytes as the top level, so their elements can be merged.
  return new dicomParser.DataSet(ds.byteArrayParser, ds.byteArray, { ...ds.elements, ...(shared?.elements ?? {}), ...(own?.elements ?? {}) });
}

function readClassicPetAttributes(ds: DataSet): PetAttributes {
  const radiopharmaceutical = getItems(ds, TAG.RadiopharmaceuticalInformationSequence)[0];
  const fromRadio = (read: (d: DataSet) => number | undefined): number =>
    radiopharmaceutical ? (finiteOrUndefined(read(radiopharmaceutical)) ?? Number.NaN) : Number.NaN;
  // Private attributes count only under their own creator (the same element numbers mean other
  // things under other creators).
  const isPhilips = /philips pet private group/i.test(getString(ds, 'x70530010') ?? '');
  const isGe = /GEMS_PETD/i.test(getString(ds, 'x00090010') ?? '');
  const philipsSuv = isPhilips ? finiteOrUndefined(getNumber(ds, TAG.PhilipsSUVScaleFactor, 'DS')) : undefined;
  const philipsActivity = isPhilips
    ? finiteOrUndefined(getNumber(ds, TAG.PhilipsActivityConcentrationScaleFactor, 'DS'))
    : undefined;
  const attributes: PetAttributes = {
    CorrectedImage: getStrings(ds, TAG.CorrectedImage),
    Units: getString(ds, TAG.Units)?.toUpperCase() ?? '',
    RadionuclideHalfLife: fromRadio((d) => getNumber(d, TAG.RadionuclideHalfLife, 'DS')),
    RadionuclideTotalDose: fromRadio((d) => getNumber(d, TAG.RadionuclideTotalDose, 'DS')),
    DecayCorrection: getString(ds, TAG.DecayCorrection) ?? '',
    PatientWeight: finiteOrUndefined(getNumber(ds, TAG.PatientWeight, 'DS')) ?? Number.NaN,
    SeriesDate: getString(ds, TAG.SeriesDate) ?? '',
    SeriesTime: getString(ds, TAG.SeriesTime) ?? '',
    AcquisitionDate: getString(ds, TAG.AcquisitionDate) ?? '',
    AcquisitionTime: getString(ds, TAG.AcquisitionTime) ?? '',
  };
  const startTime = radiopharmaceutical ? getString(radiopharmaceutical, TAG.RadiopharmaceuticalStartTime) : undefined;
  const startDateTime = radiopharmaceutical ? getString(radiopharmaceutical, TAG.RadiopharmaceuticalStartDateTime) : undefined;
  if (startTime) attributes.RadiopharmaceuticalStartTime = startTime;
  if (startDateTime) attributes.RadiopharmaceuticalStartDateTime = startDateTime;
  const zone = getString(ds, TAG.TimezoneOffsetFromUTC);
  if (zone) attributes.TimezoneOffsetFromUTC = zone;
  if (philipsSuv !== undefined || philipsActivity !== undefined) {
    attributes.PhilipsPETPrivateGroup = { SUVScaleFactor: philipsSuv, ActivityConcentrationScaleFactor: philipsActivity };
  }
  const gePostInjection = isGe ? getString(ds, TAG.GEPostInjectionDateTime) : undefined;
  if (gePostInjection) attributes.GEPrivatePostInjectionDateTime = gePostInjection;
  const frameReferenceTime = finiteOrUndefined(getNumber(ds, TAG.FrameReferenceTime, 'DS'));
  if (frameReferenceTime !== undefined) attributes.FrameReferenceTime = frameReferenceTime;
  const frameDuration = finiteOrUndefined(getNumber(ds, TAG.ActualFrameDuration, 'IS'));
  if (frameDuration !== undefined) attributes.ActualFrameDuration = frameDuration;
  const triggerTime = finiteOrUndefined(getNumber(ds, TAG.TriggerTime, 'DS'));
  if (triggerTime !== undefined) attributes.TriggerTime = triggerTime;
  const frameTime = finiteOrUndefined(getNumber(ds, TAG.FrameTime, 'DS'));
  if (frameTime !== undefined) attributes.FrameTime = frameTime;
  const nominalInterval = finiteOrUndefined(getNumber(ds, TAG.NominalInterval, 'IS'));
  if (nominalInterval !== undefined) attributes.NominalInterval = nominalInterval;
  const lowRR = finiteOrUndefined(getNumber(ds, TAG.LowRRValue, 'IS'));
  if (lowRR !== undefined) attributes.LowRRValue = lowRR;
  const highRR = finiteOrUndefined(getNumber(ds, TAG.HighRRValue, 'IS'));
  if (highRR !== undefined) attributes.HighRRValue = highRR;
  const numberOfSlices = finiteOrUndefined(getNumber(ds, TAG.NumberOfSlices, 'US'));
  if (numberOfSlices !== undefined) attributes.NumberOfSlices = numberOfSlices;
  const numberOfTimeSlices = finiteOrUndefined(getNumber(ds, TAG.NumberOfTimeSlices, 'US'));
  if (numberOfTimeSlices !== undefined) attributes.NumberOfTimeSlices = numberOfTimeSlices;
  const numberOfRRIntervals = finiteOrUndefined(getNumber(ds, TAG.NumberOfRRIntervals, 'US'));
  if (numberOfRRIntervals !== undefined) attributes.NumberOfRRIntervals = numberOfRRIntervals;
  const numberOfTimeSlots = finiteOrUndefined(getNumber(ds, TAG.NumberOfTimeSlots, 'US'));
  if (numberOfTimeSlots !== undefined) attributes.NumberOfTimeSlots = numberOfTimeSlots;
  const seriesType = getString(ds, TAG.SeriesType, 0)?.toUpperCase();
  if (seriesType) attributes.SeriesType = seriesType;
  const imageIndex = finiteOrUndefined(getNumber(ds, TAG.ImageIndex, 'US'));
  if (imageIndex !== undefined) attributes.ImageIndex = imageIndex;
  const sopClassUid = getString(ds, TAG.SOPClassUID);
  if (sopClassUid) attributes.SOPClassUID = sopClassUid;
  const size = finiteOrUndefined(getNumber(ds, TAG.PatientSize, 'DS'));
  if (size !== undefined) attributes.PatientSize = size;
  const sex = getString(ds, TAG.PatientSex);
  if (sex) attributes.PatientSex = sex;
  return attributes;
}
