/**
 * The item of the Contributing Equipment Sequence (0018,A001; SOP Common module, PS3.3 C.12.1)
 * that says lowdose made a derived instance: which software (Manufacturer "lowdose" and its
 * version), which method or model (ManufacturerModelName, and the model files' fingerprint among
 * the SoftwareVersions), when and how (ContributionDateTime, ContributionDescription). The General
 * Equipment module stays the acquiring scanner's; items the source instance already lists are kept
 * and this one is appended after them (./write-derived.ts).
 */
import { toolkitIdentity } from '../util/toolkit.js';
import { type DcmDataset, setElement, tagOf } from './write-dcmjs.js';

/**
 * Purpose of Reference, from PS3.16 CID 7005 "Contributing Equipment Purposes of Reference":
 * (109102, DCM, "Processing Equipment"), which PS3.16 Annex D defines as "equipment that has
 * processed composite instances to create new composite instances" (e.g. a 3D workstation).
 * Not (109103, DCM, "Modifying Equipment"): that is equipment that modified existing instances
 * without creating new ones (a QA station, an archive). A derived series is new instances (new
 * SOP Instance UIDs) made from the source's pixels, so lowdose is processing equipment.
 */
export const PROCESSING_EQUIPMENT_PURPOSE = { value: '109102', scheme: 'DCM', meaning: 'Processing Equipment' } as const;

/** What a derived series says about the software that made it. */
export interface ProcessingEquipment {
  /** ManufacturerModelName: the model (`lowdose-ct`) or method (`gaussian filter`, `simulate`). */
  readonly modelName: string;
  /**
   * SoftwareVersions after the toolkit's own (`lowdose <version>`), e.g. the model files'
   * fingerprint (`modelFingerprintVersion`).
   */
  readonly softwareVersions?: readonly string[];
}

/** Used when a writer is not told what made the series. */
export const DEFAULT_PROCESSING_EQUIPMENT: ProcessingEquipment = { modelName: 'lowdose' };

/** LO (ManufacturerModelName, each SoftwareVersions value): 64 characters, no backslash (the value separator). */
const LO_MAX = 64;
/** ST (ContributionDescription): 1024 characters. */
const ST_MAX = 1024;

/** The SoftwareVersions value naming a model's files: `model sha256:<first 16 hex of the fingerprint>`. */
export function modelFingerprintVersion(sha256: string): string {
  return `model sha256:${sha256.slice(0, 16)}`;
}

/**
 * The SoftwareVersions value naming the completion marker a series' folder holds once the run that
 * wrote it finished it (`completion marker .lowdose-simulated.json`, `lowdose simulate`): a reader
 * of the files can tell a series cut short (no marker) from one written before markers were.
 */
export function completionMarkerVersion(markerName: string): string {
  return `${COMPLETION_MARKER_VERSION}${markerName}`;
}

/** What completionMarkerVersion's values start with. */
export const COMPLETION_MARKER_VERSION = 'completion marker ';

/**
 * The SoftwareVersions value that says how many files the whole series has, written into every file
 * beside its completion marker's name (`statedCountEquipment`): `series of 7 files numbered 1-7` for
 * a series of its own (InstanceNumber 1 to 7; one series per radiopharmaceutical of a multi-frame
 * PET source counts its own), `frame of 7 files` for one time point or gate of a dynamic or gated
 * PET acquisition, whose files share the acquisition's SeriesInstanceUID and keep their source
 * image's ImageIndex as InstanceNumber. The writer knows the count before it writes the first file,
 * so a file read without its series' marker (the series pulled from a PACS, a folder copied without
 * hidden files) still tells a whole series from one its run cut short. Its own value, not part of
 * the marker's: a name three folders deep and a large count would not fit one LO (64 characters).
 */
export function statedCountVersion(files: number, frame: boolean): string {
  return frame ? `frame of ${files} files` : `series of ${files} files numbered 1-${files}`;
}

/** What a series' files state of the whole series (statedCountVersion). */
export interface StatedCount {
  /** How many files the series (for `frame`, the time point or gate) has. */
  readonly files: number;
  /** One frame of an acquisition: its InstanceNumbers are its source images' ImageIndex, distinct, not 1 to `files`. */
  readonly frame: boolean;
}

/** The count a SoftwareVersions value states (statedCountVersion), or null for any other value. */
export function parseStatedCount(value: string): StatedCount | null {
  const series = /^series of (\d+) files numbered 1-(\d+)$/.exec(value.trim());
  if (series && series[1] === series[2]) return { files: Number(series[1]), frame: false };
  const frame = /^frame of (\d+) files$/.exec(value.trim());
  return frame ? { files: Number(frame[1]), frame: true } : null;
}

/**
 * `equipment` with the count of its series stated next to its completion marker's name; as it is
 * when it names no marker (a series whose run writes none states no count either).
 */
export function statedCountEquipment(equipment: ProcessingEquipment, files: number, frame: boolean): ProcessingEquipment {
  const versions = equipment.softwareVersions ?? [];
  const at = versions.findIndex((v) => v.startsWith(COMPLETION_MARKER_VERSION));
  if (at < 0) return equipment;
  return { ...equipment, softwareVersions: [...versions.slice(0, at + 1), statedCountVersion(files, frame), ...versions.slice(at + 1)] };
}

/**
 * The item for `equipment`: Manufacturer, ManufacturerModelName, SoftwareVersions (the toolkit's
 * version first), ContributionDateTime (`when`; left out when null, for an output that must not
 * depend on the clock), ContributionDescription (`description`, cut to the VR's 1024 characters)
 * and the Purpose of Reference code.
 */
export function processingEquipmentItem(equipment: ProcessingEquipment, description: string, when: Date | null): DcmDataset {
  const toolkit = toolkitIdentity();
  const purpose: DcmDataset = {};
  setElement(purpose, 'CodeValue', [PROCESSING_EQUIPMENT_PURPOSE.value]);
  setElement(purpose, 'CodingSchemeDesignator', [PROCESSING_EQUIPMENT_PURPOSE.scheme]);
  setElement(purpose, 'CodeMeaning', [PROCESSING_EQUIPMENT_PURPOSE.meaning]);
  const item: DcmDataset = {};
  setElement(item, 'Manufacturer', [loValue(toolkit.name)]);
  setElement(item, 'ManufacturerModelName', [loValue(equipment.modelName)]);
  setElement(item, 'SoftwareVersions', [`${toolkit.name} ${toolkit.version}`, ...(equipment.softwareVersions ?? [])].map(loValue));
  if (when) setElement(item, 'ContributionDateTime', [dicomDateTimeWithOffset(when)]);
  const text = description.trim();
  if (text) setElement(item, 'ContributionDescription', [text.slice(0, ST_MAX)]);
  setElement(item, 'PurposeOfReferenceCodeSequence', [purpose]);
  return item;
}

/**
 * The Contributing Equipment Sequence of a derived dataset: the source's items (as copied) and
 * then `item`. Does not touch `dataset`'s existing element (it is replaced).
 */
export function appendContributingEquipment(dataset: DcmDataset, item: DcmDataset): void {
  const existing = (dataset[tagOf('ContributingEquipmentSequence')]?.Value ?? []).filter((v): v is DcmDataset => typeof v === 'object' && v !== null);
  setElement(dataset, 'ContributingEquipmentSequence', [...existing, item]);
}

function loValue(text: string): string {
  return text.replace(/\\/g, '/').replace(/[\r\n\t]+/g, ' ').trim().slice(0, LO_MAX);
}

/**
 * A DT value with the local UTC offset (`YYYYMMDDHHMMSS.FFFFFF&ZZXX`), so that the time is
 * unambiguous wherever the file is read.
 */
export function dicomDateTimeWithOffset(date: Date): string {
  const pad = (n: number, w = 2) => String(Math.abs(n)).padStart(w, '0');
  const offset = -date.getTimezoneOffset();
  const sign = offset < 0 ? '-' : '+';
  return (
    `${date.getFullYear()}${pad(date.getMonth() + 1)}${pad(date.getDate())}` +
    `${pad(date.getHours())}${pad(date.getMinutes())}${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}000` +
    `${sign}${pad(Math.trunc(offset / 60))}${pad(offset % 60)}`
  );
}
