/**
 * Type 2 attributes (PS3.3: must be present, may be empty) of the modules a derived file's IOD
 * includes. A source that lacks one (anonymised or converted files often drop KVP, StudyID,
 * AccessionNumber, ...) would otherwise give a derived file that is not a valid instance of its
 * IOD, so the writer adds each missing one empty (zero-length), and never changes a present one.
 * Only unconditional Type 2 attributes are listed: 2C ones (PatientPosition, ContentDate, ...)
 * depend on conditions the writer cannot judge, and Type 1 / 3 ones are never made up.
 */
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
  | 'NM/PET Patient Orientation';

export interface Type2Attribute {
  readonly keyword: string;
  readonly module: Type2Module;
  /** The PS3.3 section and why the attribute must be there. */
  readonly why: string;
}

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
  { keyword: 'PositionReferenceIndicator', module: 'Frame of Reference', why: 'C.7.4.1: Type 2' },
  { keyword: 'Manufacturer', module: 'General Equipment', why: 'C.7.5.1: Type 2 (the acquiring scanner, copied; lowdose is in Contributing Equipment)' },
  { keyword: 'InstanceNumber', module: 'General Image', why: 'C.7.6.1: Type 2 (the writer always sets it)' },
  { keyword: 'SliceThickness', module: 'Image Plane', why: 'C.7.6.2: Type 2' },
  { keyword: 'KVP', module: 'CT Image', why: 'C.8.2.1: Type 2' },
  { keyword: 'AcquisitionNumber', module: 'CT Image', why: 'C.8.2.1: Type 2' },
  { keyword: 'CorrectedImage', module: 'PET Series', why: 'C.8.9.1: Type 2' },
  { keyword: 'CollimatorType', module: 'PET Series', why: 'C.8.9.1: Type 2' },
  { keyword: 'RadiopharmaceuticalInformationSequence', module: 'PET Isotope', why: 'C.8.9.2: Type 2 (an empty sequence)' },
  { keyword: 'AcquisitionDate', module: 'PET Image', why: 'C.8.9.4: Type 2' },
  { keyword: 'AcquisitionTime', module: 'PET Image', why: 'C.8.9.4: Type 2' },
  { keyword: 'ActualFrameDuration', module: 'PET Image', why: 'C.8.9.4: Type 2' },
  { keyword: 'PatientOrientationCodeSequence', module: 'NM/PET Patient Orientation', why: 'C.8.4.6: Type 2 (an empty sequence)' },
  { keyword: 'PatientGantryRelationshipCodeSequence', module: 'NM/PET Patient Orientation', why: 'C.8.4.6: Type 2 (an empty sequence)' },
];

/** Modules of every image IOD the writer writes (Patient, General Study, General Series, General Image: M). */
const COMMON: readonly Type2Module[] = ['Patient', 'General Study', 'General Series', 'General Image'];
/** Modules the cross-sectional image IODs share (PS3.3 A.3, A.4, A.21: all M). */
const CROSS_SECTIONAL: readonly Type2Module[] = [...COMMON, 'Frame of Reference', 'General Equipment', 'Image Plane'];

/**
 * The modules of each written SOP class that are in the table: CT Image (A.3), MR Image (A.4; its
 * MR Image module is not in the table), PET Image (A.21), Secondary Capture (A.8: General
 * Equipment is U there, no Frame of Reference or Image Plane).
 */
const MODULES_BY_SOP_CLASS: Readonly<Record<string, readonly Type2Module[]>> = {
  [SOP_CLASS.ctImage]: [...CROSS_SECTIONAL, 'CT Image'],
  [SOP_CLASS.mrImage]: CROSS_SECTIONAL,
  [SOP_CLASS.petImage]: [...CROSS_SECTIONAL, 'PET Series', 'PET Isotope', 'PET Image', 'NM/PET Patient Orientation'],
  [SOP_CLASS.secondaryCapture]: COMMON,
};

/** The table's Type 2 attributes of the IOD of `sopClassUid` (none for a class not in the table). */
export function type2AttributesOf(sopClassUid: string): readonly Type2Attribute[] {
  const modules = new Set(MODULES_BY_SOP_CLASS[sopClassUid] ?? []);
  return TYPE2_ATTRIBUTES.filter((attribute) => modules.has(attribute.module));
}
