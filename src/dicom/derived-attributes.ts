/**
 * What a derived file (denoised, simulated) copies from its source: an explicit list of the
 * attributes lowdose understands and wants to keep, by module, and nothing else.
 *
 * THE RULE: a derived file carries only these attributes of its source (plus what the writer
 * sets itself: identity, derivation, pixel module, rescale). Unknown standard attributes, private
 * attributes other than the few listed below, group lengths, pixel encodings and anything a
 * corrupted header made up are never copied; and no copied attribute may be larger than
 * MAX_COPIED_ELEMENT_BYTES, whatever it declares (see ./derived-source.ts, which enforces it).
 * A single corrupted byte once turned an unknown UN element into an 808 MB zero-filled output.
 */
import { tagOf } from './write-dcmjs.js';

/** No copied attribute (a sequence with all its items included) may be longer than this. */
export const MAX_COPIED_ELEMENT_BYTES = 64 * 1024;

/**
 * A UN element (a VR the writer of the file did not know) is copied only when the dictionary
 * gives its real VR, that VR is not a sequence, and it is at most this long.
 */
export const MAX_UN_ELEMENT_BYTES = 1024;

/** Standard attributes copied from the source, by the module they belong to (PS3.3). */
const COPIED_BY_MODULE: Readonly<Record<string, readonly string[]>> = {
  // The equipment that already contributed to the source (a converter, a de-identifier): the
  // derived file lists lowdose after them (./contributing-equipment.ts).
  'SOP Common': ['SpecificCharacterSet', 'TimezoneOffsetFromUTC', 'ContributingEquipmentSequence'],
  Patient: [
    'PatientName',
    'PatientID',
    'IssuerOfPatientID',
    'TypeOfPatientID',
    'OtherPatientIDsSequence',
    'PatientBirthDate',
    'PatientBirthTime',
    'PatientSex',
    'PatientComments',
    'PatientSpeciesDescription',
    'PatientBreedDescription',
    'ResponsiblePerson',
    'ResponsibleOrganization',
    'PatientIdentityRemoved',
    'DeidentificationMethod',
    'DeidentificationMethodCodeSequence',
    'EthnicGroup',
  ],
  'General Study': [
    'StudyInstanceUID',
    'StudyDate',
    'StudyTime',
    'ReferringPhysicianName',
    'StudyID',
    'AccessionNumber',
    'StudyDescription',
    'PhysiciansOfRecord',
    'NameOfPhysiciansReadingStudy',
    'ProcedureCodeSequence',
  ],
  'Patient Study': [
    'AdmittingDiagnosesDescription',
    'PatientAge',
    'PatientSize',
    'PatientWeight',
    'Occupation',
    'AdditionalPatientHistory',
    'PregnancyStatus',
  ],
  'General Series': [
    'Modality',
    'Laterality',
    'SeriesDate',
    'SeriesTime',
    'PerformingPhysicianName',
    'ProtocolName',
    'OperatorsName',
    'BodyPartExamined',
    'PatientPosition',
    'PerformedProcedureStepID',
    'PerformedProcedureStepStartDate',
    'PerformedProcedureStepStartTime',
    'PerformedProcedureStepDescription',
  ],
  'Frame of Reference': ['FrameOfReferenceUID', 'PositionReferenceIndicator'],
  'General Equipment': [
    'Manufacturer',
    'InstitutionName',
    'InstitutionAddress',
    'StationName',
    'InstitutionalDepartmentName',
    'ManufacturerModelName',
    'DeviceSerialNumber',
    'SoftwareVersions',
    'SpatialResolution',
    'DateOfLastCalibration',
    'TimeOfLastCalibration',
  ],
  'General Image': [
    'InstanceNumber',
    'PatientOrientation',
    'ContentDate',
    'ContentTime',
    'ImageType',
    'AcquisitionNumber',
    'AcquisitionDate',
    'AcquisitionTime',
    'AcquisitionDateTime',
    'ImageComments',
    'BurnedInAnnotation',
    'LossyImageCompression',
    'LossyImageCompressionRatio',
    'LossyImageCompressionMethod',
  ],
  'Image Plane': [
    'PixelSpacing',
    // CR / DX: the reader falls back to it when PixelSpacing is absent.
    'ImagerPixelSpacing',
    'PixelSpacingCalibrationType',
    'ImageOrientationPatient',
    'ImagePositionPatient',
    'SliceThickness',
    'SpacingBetweenSlices',
    'SliceLocation',
  ],
  'Contrast/Bolus': [
    'ContrastBolusAgent',
    'ContrastBolusRoute',
    'ContrastBolusVolume',
    'ContrastBolusStartTime',
    'ContrastBolusStopTime',
    'ContrastBolusTotalDose',
    'ContrastFlowRate',
    'ContrastFlowDuration',
    'ContrastBolusIngredient',
    'ContrastBolusIngredientConcentration',
  ],
  'CT Image': [
    'RescaleType',
    'KVP',
    'ScanOptions',
    'DataCollectionDiameter',
    'ReconstructionDiameter',
    'DistanceSourceToDetector',
    'DistanceSourceToPatient',
    'GantryDetectorTilt',
    'TableHeight',
    'RotationDirection',
    'ExposureTime',
    'XRayTubeCurrent',
    'Exposure',
    'ExposureInuAs',
    'FilterType',
    'GeneratorPower',
    'FocalSpots',
    'ConvolutionKernel',
    'RevolutionTime',
    'SingleCollimationWidth',
    'TotalCollimationWidth',
    'TableSpeed',
    'TableFeedPerRotation',
    'SpiralPitchFactor',
    'DataCollectionCenterPatient',
    'ReconstructionTargetCenterPatient',
    'ExposureModulationType',
    'CTDIvol',
    'CTDIPhantomTypeCodeSequence',
    'ReconstructionAlgorithm',
  ],
  'PET Series': [
    'Units',
    'CountsSource',
    'SeriesType',
    'ReprojectionMethod',
    'NumberOfRRIntervals',
    'NumberOfTimeSlots',
    'NumberOfTimeSlices',
    'NumberOfSlices',
    'CorrectedImage',
    'RandomsCorrectionMethod',
    'AttenuationCorrectionMethod',
    'ScatterCorrectionMethod',
    'DecayCorrection',
    'ReconstructionMethod',
    'DetectorLinesOfResponseUsed',
    'AxialAcceptance',
    'AxialMash',
    'TransverseMash',
    'DetectorElementSize',
    'CoincidenceWindowWidth',
    'SecondaryCountsType',
    'CollimatorType',
  ],
  'PET Isotope': ['RadiopharmaceuticalInformationSequence'],
  'PET Image': [
    'ImageIndex',
    'FrameReferenceTime',
    'TriggerTime',
    'FrameTime',
    'LowRRValue',
    'HighRRValue',
    'ActualFrameDuration',
    'NominalInterval',
    'IntervalsAcquired',
    'IntervalsRejected',
    'PrimaryPromptsCountsAccumulated',
    'SliceSensitivityFactor',
    'DecayFactor',
    'DoseCalibrationFactor',
    'ScatterFractionFactor',
    'DeadTimeFactor',
  ],
  'NM/PET Patient Orientation': ['PatientOrientationCodeSequence', 'PatientGantryRelationshipCodeSequence'],
  'MR Image': [
    'ScanningSequence',
    'SequenceVariant',
    'MRAcquisitionType',
    'SequenceName',
    'AngioFlag',
    'RepetitionTime',
    'EchoTime',
    'EchoTrainLength',
    'InversionTime',
    'NumberOfAverages',
    'ImagingFrequency',
    'ImagedNucleus',
    'EchoNumbers',
    'MagneticFieldStrength',
    'NumberOfPhaseEncodingSteps',
    'PercentSampling',
    'PercentPhaseFieldOfView',
    'PixelBandwidth',
    'ReceiveCoilName',
    'TransmitCoilName',
    'AcquisitionMatrix',
    'InPlanePhaseEncodingDirection',
    'FlipAngle',
  ],
  'VOI LUT': ['WindowCenter', 'WindowWidth', 'WindowCenterWidthExplanation', 'VOILUTFunction'],
};

/** Every copied standard attribute's keyword. */
export const COPIED_KEYWORDS: readonly string[] = Object.values(COPIED_BY_MODULE).flat();

/** Tag hex ("00280030") → keyword, for the copied standard attributes. */
export const COPIED_TAGS: ReadonlyMap<string, string> = new Map(COPIED_KEYWORDS.map((keyword) => [tagOf(keyword), keyword]));

/**
 * Private attributes copied, each under its own creator (the same element numbers mean other
 * things under other creators): the vendor PET factors @cornerstonejs/calculate-suv reads.
 * `elements` maps the element's low byte within the creator's block to its VR.
 */
export interface CopiedPrivateBlock {
  readonly group: number;
  readonly creator: RegExp;
  readonly elements: Readonly<Record<number, string>>;
}

export const COPIED_PRIVATE: readonly CopiedPrivateBlock[] = [
  // Philips: SUV scale factor (7053,xx00) and activity concentration scale factor (7053,xx09).
  { group: 0x7053, creator: /^philips pet private group$/i, elements: { 0x00: 'DS', 0x09: 'DS' } },
  // GE: post-injection date and time (0009,xx0D).
  { group: 0x0009, creator: /^GEMS_PETD_01$/i, elements: { 0x0d: 'DT' } },
];
