/**
 * Type 2 attributes (PS3.3: must be present, may be empty) of the modules a derived file's IOD
 * includes. A source that lacks one (anonymised or converted files often drop KVP, StudyID,
 * AccessionNumber, ...) would otherwise give a derived file that is not a valid instance of its
 * IOD, so the writer adds each missing one empty (zero-length), and never changes a present one.
 * Type 2C attributes are listed with their PS3.3 condition when the writer can judge it from the
 * written class and the copied source values (PatientPosition, the MR Image module's RepetitionTime,
 * InversionTime, TriggerTime, the PET Series' ReprojectionMethod) and added only when it holds: a
 * 2C attribute must not be there when its condition does not hold. 2C ones whose condition it
 * cannot judge (Laterality: is the body part paired?; ContentDate / ContentTime: are the images
 * temporally related?) are left out, and Type 1 / 3 ones are never made up.
 */
import { scalarText } from '../util/text.js';
import { getValues, type DcmDataset } from './write-dcmjs.js';
import { SOP_CLASS } from './uid.js';

/** The PS3.3 modules whose Type 2 attributes are listed below. */
export type Type2Module =
  | 'Patient'
  | 'General Study'
  | 'General Series'
  | 'Frame of Reference'
  | 'General Equipment'
  | 'General Image'
  | 'Image Plane'
  | 'CT Image'
  | 'PET Series'
  | 'PET Isotope'
  | 'PET Image'
  | 'NM/PET Patient Orientation'
  | 'MR Image';

export interface Type2Attribute {
  readonly keyword: string;
  readonly module: Type2Module;
  /** The PS3.3 section and why the attribute must be there (for 2C: the condition, as PS3.3 words it). */
  readonly why: string;
  /**
   * Type 2C: whether the condition holds for a file of `sopClassUid` with these attributes (the
   * derived dataset: the copied source values); absent for a Type 2 attribute (always required).
   */
  readonly requiredWhen?: (dataset: DcmDataset, sopClassUid: string) => boolean;
}

/** The values of a multi-valued CS attribute, upper case and trimmed (none when absent or empty). */
function codeStrings(dataset: DcmDataset, keyword: string): string[] {
  return (getValues(dataset, keyword) ?? []).map((v) => scalarText(v).trim().toUpperCase()).filter((v) => v !== '');
}

const has = (dataset: DcmDataset, keyword: string, value: string) => codeStrings(dataset, keyword).includes(value);

/**
 * C.7.3.1, Patient Position: required for CT and MR images where Patient Orientation Code
 * Sequence (0054,0410) is not present (which, where present, says the same thing more precisely;
 * PET and NM carry that sequence instead, Type 2 in their NM/PET Patient Orientation module).
 */
function patientPositionRequired(dataset: DcmDataset, sopClassUid: string): boolean {
  return (sopClassUid === SOP_CLASS.ctImage || sopClassUid === SOP_CLASS.mrImage) && getValues(dataset, 'PatientOrientationCodeSequence') === undefined;
}

/**
 * C.8.3.1, Repetition Time: required except when Scanning Sequence is EP and Sequence Variant is
 * not SK. Judged only when the source has a Scanning Sequence (Type 1): without one, whether the
 * image is echo planar is unknown, and the attribute is not added.
 */
function repetitionTimeRequired(dataset: DcmDataset): boolean {
  if (codeStrings(dataset, 'ScanningSequence').length === 0) return false;
  return !(has(dataset, 'ScanningSequence', 'EP') && !has(dataset, 'SequenceVariant', 'SK'));
}

/** Scan Options values that say the acquisition was heart gated (C.8.3.1: CG cardiac, PPG peripheral pulse). */
const HEART_GATING = ['CG', 'PPG'];

export const TYPE2_ATTRIBUTES: readonly Type2Attribute[] = [
  { keyword: 'PatientName', module: 'Patient', why: 'C.7.1.1: Type 2, empty when unknown' },
  { keyword: 'PatientID', module: 'Patient', why: 'C.7.1.1: Type 2, empty when unknown' },
  { keyword: 'PatientBirthDate', module: 'Patient', why: 'C.7.1.1: Type 2, empty when unknown' },
  { keyword: 'PatientSex', module: 'Patient', why: 'C.7.1.1: Type 2, empty when unknown' },
  { keyword: 'StudyDate', module: 'General Study', why: 'C.7.2.1: Type 2' },
  { keyword: 'StudyTime', module: 'General Study', why: 'C.7.2.1: Type 2' },
  { keyword: 'ReferringPhysicianName', module: 'General Study', why: 'C.7.2.1: Type 2' },
  { keyword: 'StudyID', module: 'General Study', why: 'C.7.2.1: Type 2' },
  { keyword: 'AccessionNumber', module: 'General Study', why: 'C.7.2.1: Type 2' },
  { keyword: 'SeriesNumber', module: 'General Series', why: 'C.7.3.1: Type 2 (the writer always sets it)' },
  {
    keyword: 'PatientPosition',
    module: 'General Series',
    why: 'C.7.3.1: Type 2C, required for CT and MR images where Patient Orientation Code Sequence (0054,0410) is not present',
    requiredWhen: patientPositionRequired,
  },
  { keyword: 'PositionReferenceIndicator', module: 'Frame of Reference', why: 'C.7.4.1: Type 2' },
  { keyword: 'Manufacturer', module: 'General Equipment', why: 'C.7.5.1: Type 2 (the acquiring scanner, copied; lowdose is in Contributing Equipment)' },
  { keyword: 'InstanceNumber', module: 'General Image', why: 'C.7.6.1: Type 2 (the writer always sets it)' },
  { keyword: 'SliceThickness', module: 'Image Plane', why: 'C.7.6.2: Type 2' },
  { keyword: 'KVP', module: 'CT Image', why: 'C.8.2.1: Type 2' },
  { keyword: 'AcquisitionNumber', module: 'CT Image', why: 'C.8.2.1: Type 2' },
  {
    keyword: 'ReprojectionMethod',
    module: 'PET Series',
    why: 'C.8.9.1: Type 2C, required if Series Type (0054,1000) Value 2 is REPROJECTION',
    requiredWhen: (dataset) => codeStrings(dataset, 'SeriesType')[1] === 'REPROJECTION',
  },
  { keyword: 'CorrectedImage', module: 'PET Series', why: 'C.8.9.1: Type 2' },
  // PET Series' own Collimator Type (NONE / RING): Type 2 there; the CT Image module (C.8.2.1) has none.
  { keyword: 'CollimatorType', module: 'PET Series', why: 'C.8.9.1: Type 2' },
  { keyword: 'RadiopharmaceuticalInformationSequence', module: 'PET Isotope', why: 'C.8.9.2: Type 2 (an empty sequence)' },
  { keyword: 'AcquisitionDate', module: 'PET Image', why: 'C.8.9.4: Type 2' },
  { keyword: 'AcquisitionTime', module: 'PET Image', why: 'C.8.9.4: Type 2' },
  { keyword: 'ActualFrameDuration', module: 'PET Image', why: 'C.8.9.4: Type 2' },
  { keyword: 'PatientOrientationCodeSequence', module: 'NM/PET Patient Orientation', why: 'C.8.4.6: Type 2 (an empty sequence)' },
  { keyword: 'PatientGantryRelationshipCodeSequence', module: 'NM/PET Patient Orientation', why: 'C.8.4.6: Type 2 (an empty sequence)' },
  { keyword: 'ScanOptions', module: 'MR Image', why: 'C.8.3.1: Type 2' },
  { keyword: 'MRAcquisitionType', module: 'MR Image', why: 'C.8.3.1: Type 2' },
  {
    keyword: 'RepetitionTime',
    module: 'MR Image',
    why: 'C.8.3.1: Type 2C, required except when Scanning Sequence (0018,0020) is EP and Sequence Variant (0018,0021) is not SK',
    requiredWhen: repetitionTimeRequired,
  },
  { keyword: 'EchoTime', module: 'MR Image', why: 'C.8.3.1: Type 2' },
  { keyword: 'EchoTrainLength', module: 'MR Image', why: 'C.8.3.1: Type 2' },
  {
    keyword: 'InversionTime',
    module: 'MR Image',
    why: 'C.8.3.1: Type 2C, required if Scanning Sequence (0018,0020) has the value IR',
    requiredWhen: (dataset) => has(dataset, 'ScanningSequence', 'IR'),
  },
  {
    keyword: 'TriggerTime',
    module: 'MR Image',
    why: 'C.8.3.1: Type 2C, required for Scan Options (0018,0022) that include heart gating (CG, PPG)',
    requiredWhen: (dataset) => HEART_GATING.some((option) => has(dataset, 'ScanOptions', option)),
  },
];

/** Modules of every image IOD the writer writes (Patient, General Study, General Series, General Image: M). */
const COMMON: readonly Type2Module[] = ['Patient', 'General Study', 'General Series', 'General Image'];
/** Modules the cross-sectional image IODs share (PS3.3 A.3, A.4, A.21: all M). */
const CROSS_SECTIONAL: readonly Type2Module[] = [...COMMON, 'Frame of Reference', 'General Equipment', 'Image Plane'];

/**
 * The modules of each written SOP class that are in the table: CT Image (A.3), MR Image (A.4),
 * PET Image (A.21), Secondary Capture (A.8: General Equipment is U there, no Frame of Reference or
 * Image Plane).
 */
const MODULES_BY_SOP_CLASS: Readonly<Record<string, readonly Type2Module[]>> = {
  [SOP_CLASS.ctImage]: [...CROSS_SECTIONAL, 'CT Image'],
  [SOP_CLASS.mrImage]: [...CROSS_SECTIONAL, 'MR Image'],
  [SOP_CLASS.petImage]: [...CROSS_SECTIONAL, 'PET Series', 'PET Isotope', 'PET Image', 'NM/PET Patient Orientation'],
  [SOP_CLASS.secondaryCapture]: COMMON,
};

/** The table's Type 2 and 2C attributes of the IOD of `sopClassUid` (none for a class not in the table). */
export function type2AttributesOf(sopClassUid: string): readonly Type2Attribute[] {
  const modules = new Set(MODULES_BY_SOP_CLASS[sopClassUid] ?? []);
  return TYPE2_ATTRIBUTES.filter((attribute) => modules.has(attribute.module));
}

/**
 * The attributes a file of `sopClassUid` with these attributes must carry, empty when unknown:
 * its IOD's Type 2 ones, and its Type 2C ones whose condition holds.
 */
export function requiredType2Attributes(dataset: DcmDataset, sopClassUid: string): readonly Type2Attribute[] {
  return type2AttributesOf(sopClassUid).filter((attribute) => attribute.requiredWhen?.(dataset, sopClassUid) ?? true);
}
