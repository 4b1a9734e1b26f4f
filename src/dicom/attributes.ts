/**
 * Typed, strict reads of attributes from a dicom-parser data set. Implicit VR files carry no VR,
 * so each reader is told the VR the standard gives the attribute; an explicit VR in the file wins.
 * Numbers in DS / IS strings are parsed strictly ("1A" is not 1): a malformed value reads as NaN
 * so that callers can say which attribute was wrong instead of silently using part of it.
 */
import type { DataSet, Element } from './dicom-parser.js';

export const TAG = {
  SOPClassUID: 'x00080016',
  SOPInstanceUID: 'x00080018',
  ImageType: 'x00080008',
  Modality: 'x00080060',
  SeriesDescription: 'x0008103e',
  DerivationDescription: 'x00082111',
  SeriesDate: 'x00080021',
  SeriesTime: 'x00080031',
  TimezoneOffsetFromUTC: 'x00080201',
  AcquisitionDate: 'x00080022',
  AcquisitionTime: 'x00080032',
  AcquisitionDateTime: 'x0008002a',
  PatientSex: 'x00100040',
  PatientSize: 'x00101020',
  PatientWeight: 'x00101030',
  SliceThickness: 'x00180050',
  ConvolutionKernel: 'x00181210',
  SpacingBetweenSlices: 'x00180088',
  ImagerPixelSpacing: 'x00181164',
  FrameReferenceTime: 'x00541300',
  ActualFrameDuration: 'x00181242',
  TriggerTime: 'x00181060',
  NominalInterval: 'x00181062',
  FrameTime: 'x00181063',
  LowRRValue: 'x00181081',
  HighRRValue: 'x00181082',
  NumberOfSlices: 'x00540081',
  NumberOfTimeSlices: 'x00540101',
  NumberOfRRIntervals: 'x00540061',
  NumberOfTimeSlots: 'x00540071',
  SeriesType: 'x00541000',
  ImageIndex: 'x00541330',
  RadiopharmaceuticalInformationSequence: 'x00540016',
  RadiopharmaceuticalStartTime: 'x00181072',
  RadiopharmaceuticalStartDateTime: 'x00181078',
  RadionuclideTotalDose: 'x00181074',
  RadionuclideHalfLife: 'x00181075',
  StudyInstanceUID: 'x0020000d',
  SeriesInstanceUID: 'x0020000e',
  FrameOfReferenceUID: 'x00200052',
  SeriesNumber: 'x00200011',
  InstanceNumber: 'x00200013',
  ImagePositionPatient: 'x00200032',
  ImageOrientationPatient: 'x00200037',
  SamplesPerPixel: 'x00280002',
  PhotometricInterpretation: 'x00280004',
  PlanarConfiguration: 'x00280006',
  NumberOfFrames: 'x00280008',
  Rows: 'x00280010',
  Columns: 'x00280011',
  PixelSpacing: 'x00280030',
  BitsAllocated: 'x00280100',
  BitsStored: 'x00280101',
  HighBit: 'x00280102',
  PixelRepresentation: 'x00280103',
  PixelPaddingValue: 'x00280120',
  PixelPaddingRangeLimit: 'x00280121',
  LossyImageCompression: 'x00282110',
  RescaleIntercept: 'x00281052',
  RescaleSlope: 'x00281053',
  RescaleType: 'x00281054',
  ModalityLUTSequence: 'x00283000',
  DirectoryRecordSequence: 'x00041220',
  Units: 'x00541001',
  CorrectedImage: 'x00280051',
  DecayCorrection: 'x00541102',
  SharedFunctionalGroupsSequence: 'x52009229',
  PerFrameFunctionalGroupsSequence: 'x52009230',
  PixelMeasuresSequence: 'x00289110',
  PlanePositionSequence: 'x00209113',
  PlaneOrientationSequence: 'x00209116',
  PixelValueTransformationSequence: 'x00289145',
  ExtendedOffsetTable: 'x7fe00001',
  ExtendedOffsetTableLengths: 'x7fe00002',
  FloatPixelData: 'x7fe00008',
  DoubleFloatPixelData: 'x7fe00009',
  PixelData: 'x7fe00010',
  // Private attributes calculate-suv understands.
  PhilipsSUVScaleFactor: 'x70531000',
  PhilipsActivityConcentrationScaleFactor: 'x70531009',
  GEPostInjectionDateTime: 'x0009100d',
} as const;

type NumericVr = 'US' | 'SS' | 'UL' | 'SL' | 'FL' | 'FD' | 'DS' | 'IS';
const NUMERIC_VRS: ReadonlySet<string> = new Set<NumericVr>(['US', 'SS', 'UL', 'SL', 'FL', 'FD', 'DS', 'IS']);

export function elementOf(ds: DataSet, tag: string): Element | undefined {
  const element = ds.elements[tag];
  return element && element.length > 0 ? element : undefined;
}

/** A text value without padding; undefined when absent or empty. */
export function getString(ds: DataSet, tag: string, index?: number): string | undefined {
  if (!elementOf(ds, tag)) return undefined;
  const value = ds.string(tag, index)?.replace(/\0+$/g, '').trim();
  return value ? value : undefined;
}

export function getStrings(ds: DataSet, tag: string): string[] {
  if (!elementOf(ds, tag)) return [];
  const text = ds.string(tag) ?? '';
  return text
    .split('\\')
    .map((s) => s.replace(/\0+$/g, '').trim())
    .filter((s) => s.length > 0);
}

/** All values of a numeric attribute; strings that are not numbers give NaN entries. */
export function getNumbers(ds: DataSet, tag: string, vr: NumericVr): number[] {
  const element = elementOf(ds, tag);
  if (!element) return [];
  // The file's own VR wins only when it is a numeric VR: a corrupted VR ("D=" for DS) or UN
  // holds the value as the dictionary VR encodes it, not as binary of some other type.
  const actualVr = element.vr !== undefined && NUMERIC_VRS.has(element.vr) ? (element.vr as NumericVr) : vr;
  switch (actualVr) {
    case 'DS':
    case 'IS': {
      const text = ds.string(tag) ?? '';
      return text
        .split('\\')
        .map((s) => s.replace(/\0+$/g, '').trim())
        .filter((s) => s.length > 0)
        .map((s) => (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s) ? Number(s) : Number.NaN));
    }
    default: {
      const size = { US: 2, SS: 2, UL: 4, SL: 4, FL: 4, FD: 8 }[actualVr] ?? 2;
      const count = Math.floor(element.length / size);
      const read = {
        US: (i: number) => ds.uint16(tag, i),
        SS: (i: number) => ds.int16(tag, i),
        UL: (i: number) => ds.uint32(tag, i),
        SL: (i: number) => ds.int32(tag, i),
        FL: (i: number) => ds.float(tag, i),
        FD: (i: number) => ds.double(tag, i),
      }[actualVr] ?? ((i: number) => ds.uint16(tag, i));
      const values: number[] = [];
      for (let i = 0; i < count; i++) values.push(read(i) ?? Number.NaN);
      return values;
    }
  }
}

/** The first value of a numeric attribute, undefined when absent (NaN when unparseable). */
export function getNumber(ds: DataSet, tag: string, vr: NumericVr): number | undefined {
  const values = getNumbers(ds, tag, vr);
  return values.length > 0 ? values[0] : undefined;
}

/** The item data sets of a sequence attribute. */
export function getItems(ds: DataSet, tag: string): DataSet[] {
  const element = ds.elements[tag];
  return (element?.items ?? []).map((item) => item.dataSet).filter((d): d is DataSet => d !== undefined);
}

/**
 * Enhanced multi-frame objects keep per-frame attributes inside functional group sequences.
 * This returns the data set that holds `macroSequence` for `frame`: the per-frame group first,
 * then the shared group; undefined when neither has it (the attribute is then top-level).
 */
export function functionalGroup(ds: DataSet, frame: number, macroSequence: string): DataSet | undefined {
  // Indexed directly, not through getItems: this runs once per frame and attribute, and a
  // multi-frame file may hold thousands of per-frame items.
  const perFrame = ds.elements[TAG.PerFrameFunctionalGroupsSequence]?.items?.[frame]?.dataSet;
  const fromPerFrame = perFrame ? firstItem(perFrame, macroSequence) : undefined;
  if (fromPerFrame) return fromPerFrame;
  const shared = firstItem(ds, TAG.SharedFunctionalGroupsSequence);
  return shared ? firstItem(shared, macroSequence) : undefined;
}

function firstItem(ds: DataSet, tag: string): DataSet | undefined {
  return ds.elements[tag]?.items?.[0]?.dataSet;
}

/** A numeric attribute of one frame: functional groups first, then the top-level data set. */
export function frameNumbers(ds: DataSet, frame: number, macroSequence: string, tag: string, vr: NumericVr): number[] {
  const group = functionalGroup(ds, frame, macroSequence);
  const fromGroup = group ? getNumbers(group, tag, vr) : [];
  return fromGroup.length > 0 ? fromGroup : getNumbers(ds, tag, vr);
}
