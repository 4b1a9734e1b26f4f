/**
 * What the SUVbw of an Enhanced PET Image (1.2.840.10008.5.1.4.1.1.130) is made of, read from
 * where PS3.3 puts it (C.8.22): the Enhanced PET Corrections Module (Decay Corrected (0018,9758),
 * Decay Correction DateTime (0018,9701)), the Enhanced PET Isotope Module (the Radiopharmaceutical
 * Information Sequence, its Radionuclide Total Dose in MBq), and per frame the Radiopharmaceutical
 * Usage and Real World Value Mapping functional groups (the units, as a UCUM code of CID 84 "PET
 * Units") with the Pixel Value Transformation the modality values come from. Plain data; the
 * factors are made in ./enhanced-pet-suv.ts.
 */
import { elementOf, frameNumbers, getItems, getNumber, getNumbers, getString, TAG } from './attributes.js';
import type { DataSet } from './dicom-parser.js';

const ENHANCED_TAG = {
  DecayCorrected: 'x00189758',
  DecayCorrectionDateTime: 'x00189701',
  RadiopharmaceuticalAgentNumber: 'x00189729',
  RadiopharmaceuticalUsageSequence: 'x00189737',
  RealWorldValueMappingSequence: 'x00409096',
  MeasurementUnitsCodeSequence: 'x004008ea',
  CodeValue: 'x00080100',
  CodingSchemeDesignator: 'x00080102',
  RealWorldValueIntercept: 'x00409224',
  RealWorldValueSlope: 'x00409225',
  RealWorldValueLUTData: 'x00409212',
} as const;

/** The Enhanced PET Corrections Module's YES / NO flags (C.8.22.6) and the classic Corrected Image (0028,0051) code of each. */
const CORRECTION_FLAGS: readonly [tag: string, code: string][] = [
  ['x00189758', 'DECY'],
  ['x00189759', 'ATTN'],
  ['x00189760', 'SCAT'],
  ['x00189761', 'DTIM'],
  ['x00189762', 'MOTN'],
  ['x00189763', 'PMOT'],
  ['x00189764', 'CLN'],
  ['x00189765', 'RAN'],
  ['x00189766', 'RADL'],
  ['x00189767', 'DCAL'],
  ['x00189768', 'NORM'],
];

/** One item of the Radiopharmaceutical Information Sequence (0054,0016). */
export interface EnhancedPetAgent {
  /** Radiopharmaceutical Agent Number (0018,9729); undefined when absent. */
  readonly number: number | undefined;
  /** Radiopharmaceutical Start DateTime (0018,1078) as stored ('' when absent). */
  readonly startDateTime: string;
  /** Radionuclide Total Dose (0018,1074): MBq in this module (C.8.22.4); NaN when absent or empty. */
  readonly totalDoseMBq: number;
  /** Radionuclide Half Life (0018,1075), s; NaN when absent. */
  readonly halfLife: number;
}

/** One item of a frame's Real World Value Mapping Sequence (0040,9096). */
export interface RealWorldValueMapping {
  /** Measurement Units Code Sequence (0040,08EA) code value, e.g. "Bq/ml" ('' when absent). */
  readonly units: string;
  /** Its Coding Scheme Designator, e.g. "UCUM". */
  readonly scheme: string;
  /** Real World Value Slope / Intercept (0040,9225 / 0040,9224); undefined when absent. */
  readonly slope: number | undefined;
  readonly intercept: number | undefined;
  /** True when the mapping is a Real World Value LUT Data (0040,9212) table rather than a slope. */
  readonly lut: boolean;
}

export interface EnhancedPetFrame {
  /** The Radiopharmaceutical Agent Numbers this frame's Radiopharmaceutical Usage Sequence names. */
  readonly agentNumbers: number[];
  readonly realWorldValueMappings: RealWorldValueMapping[];
  /** Rescale Type (0028,1054) of the frame's Pixel Value Transformation, upper case ('' when absent). */
  readonly rescaleType: string;
  /** Its Rescale Slope and Intercept (1 and 0 when absent, as the reader takes them). */
  readonly rescaleSlope: number;
  readonly rescaleIntercept: number;
}

export interface EnhancedPetAttributes {
  /** Decay Corrected (0018,9758), upper case ('' when absent). */
  readonly decayCorrected: string;
  /** Decay Correction DateTime (0018,9701) as stored ('' when absent). */
  readonly decayCorrectionDateTime: string;
  /** Timezone Offset From UTC (0008,0201) as stored ('' when absent): the zone of every DT without its own offset (PS3.5 6.2). */
  readonly timezoneOffset: string;
  /** Attenuation Corrected (0018,9759), upper case ('' when absent). */
  readonly attenuationCorrected: string;
  /** The corrections flagged YES, as Corrected Image (0028,0051) codes (DECY, ATTN, SCAT, ...). */
  readonly corrections: string[];
  readonly agents: EnhancedPetAgent[];
  readonly frames: EnhancedPetFrame[];
}

/** The items of a functional group macro sequence for one frame: per-frame group first, then shared. */
function frameItems(ds: DataSet, frame: number, macroSequence: string): DataSet[] {
  const perFrame = ds.elements[TAG.PerFrameFunctionalGroupsSequence]?.items?.[frame]?.dataSet;
  if (perFrame && elementOf(perFrame, macroSequence)) return getItems(perFrame, macroSequence);
  const shared = getItems(ds, TAG.SharedFunctionalGroupsSequence)[0];
  return shared ? getItems(shared, macroSequence) : [];
}

const numberOrNaN = (value: number | undefined) => (value !== undefined && Number.isFinite(value) ? value : Number.NaN);

function readMapping(item: DataSet): RealWorldValueMapping {
  const code = getItems(item, ENHANCED_TAG.MeasurementUnitsCodeSequence)[0];
  return {
    units: (code ? getString(code, ENHANCED_TAG.CodeValue) : undefined) ?? '',
    scheme: (code ? getString(code, ENHANCED_TAG.CodingSchemeDesignator) : undefined)?.toUpperCase() ?? '',
    slope: getNumber(item, ENHANCED_TAG.RealWorldValueSlope, 'FD'),
    intercept: getNumber(item, ENHANCED_TAG.RealWorldValueIntercept, 'FD'),
    lut: elementOf(item, ENHANCED_TAG.RealWorldValueLUTData) !== undefined,
  };
}

/** The Enhanced PET attributes of a multi-frame PET data set with `frames` frames. */
export function readEnhancedPetAttributes(ds: DataSet, frames: number): EnhancedPetAttributes {
  const agents = getItems(ds, TAG.RadiopharmaceuticalInformationSequence).map(
    (item): EnhancedPetAgent => ({
      number: getNumber(item, ENHANCED_TAG.RadiopharmaceuticalAgentNumber, 'US'),
      startDateTime: getString(item, TAG.RadiopharmaceuticalStartDateTime) ?? '',
      totalDoseMBq: numberOrNaN(getNumber(item, TAG.RadionuclideTotalDose, 'DS')),
      halfLife: numberOrNaN(getNumber(item, TAG.RadionuclideHalfLife, 'DS')),
    }),
  );
  const perFrame: EnhancedPetFrame[] = [];
  for (let frame = 0; frame < frames; frame++) {
    const transformation = frameItems(ds, frame, TAG.PixelValueTransformationSequence)[0];
    perFrame.push({
      agentNumbers: frameItems(ds, frame, ENHANCED_TAG.RadiopharmaceuticalUsageSequence).flatMap((item) =>
        getNumbers(item, ENHANCED_TAG.RadiopharmaceuticalAgentNumber, 'US').filter(Number.isFinite),
      ),
      realWorldValueMappings: frameItems(ds, frame, ENHANCED_TAG.RealWorldValueMappingSequence).map(readMapping),
      rescaleSlope: frameNumbers(ds, frame, TAG.PixelValueTransformationSequence, TAG.RescaleSlope, 'DS')[0] ?? 1,
      rescaleIntercept: frameNumbers(ds, frame, TAG.PixelValueTransformationSequence, TAG.RescaleIntercept, 'DS')[0] ?? 0,
      rescaleType: ((transformation ? getString(transformation, TAG.RescaleType) : undefined) ?? getString(ds, TAG.RescaleType) ?? '').toUpperCase(),
    });
  }
  return {
    decayCorrected: getString(ds, ENHANCED_TAG.DecayCorrected)?.toUpperCase() ?? '',
    decayCorrectionDateTime: getString(ds, ENHANCED_TAG.DecayCorrectionDateTime) ?? '',
    timezoneOffset: getString(ds, TAG.TimezoneOffsetFromUTC) ?? '',
    attenuationCorrected: getString(ds, 'x00189759')?.toUpperCase() ?? '',
    corrections: CORRECTION_FLAGS.filter(([tag]) => getString(ds, tag)?.toUpperCase() === 'YES').map(([, code]) => code),
    agents,
    frames: perFrame,
  };
}
