/**
 * Reads back what ./contributing-equipment.ts writes: the lowdose item of a file's Contributing
 * Equipment Sequence (0018,A001), which says which software and which model or method made a
 * derived series. A series written before lowdose recorded it, or made by other software, has none.
 */
import { toolkitIdentity } from '../util/toolkit.js';
import { getItems, getString, getStrings } from './attributes.js';
import { COMPLETION_MARKER_VERSION, parseStatedCount, type StatedCount } from './contributing-equipment.js';
import type { DataSet } from './dicom-parser.js';

const TAGS = {
  ContributingEquipmentSequence: 'x0018a001',
  Manufacturer: 'x00080070',
  ManufacturerModelName: 'x00081090',
  SoftwareVersions: 'x00181020',
  ContributionDateTime: 'x0018a002',
} as const;

/** The lowdose contribution to a derived series. */
export interface LowdoseContribution {
  /** ManufacturerModelName: the model card's name (`lowdose-ct`) or the method (`gaussian filter`, `simulate`). */
  readonly model: string;
  /** The lowdose version from SoftwareVersions (`lowdose 0.1.0` gives `0.1.0`), null when it names none. */
  readonly toolkitVersion: string | null;
  /** The hex prefix of the model files' fingerprint (`model sha256:<hex>`), null when no model ran (a filter, `simulate`). */
  readonly modelSha256: string | null;
  /** ContributionDateTime as ISO 8601 with the offset the file states (`2026-12-06T10:22:12.345+01:00`), null when absent or malformed. */
  readonly contributionDateTime: string | null;
}

const MODEL_FINGERPRINT = /^model sha256:([0-9a-f]{8,64})$/i;

/**
 * The lowdose item of `dataSet`'s Contributing Equipment Sequence, or null without one. Each
 * lowdose run appends its item after the source's (a series derived from a derived series lists
 * both), so with several the last one is the run that made these pixels.
 */
export function lowdoseContribution(dataSet: DataSet): LowdoseContribution | null {
  const { name } = toolkitIdentity();
  const item = lowdoseItem(dataSet);
  if (!item) return null;
  const versions = getStrings(item, TAGS.SoftwareVersions);
  const toolkit = versions.find((v) => v.startsWith(`${name} `));
  const fingerprint = versions.map((v) => MODEL_FINGERPRINT.exec(v)).find((m) => m !== null);
  const when = getString(item, TAGS.ContributionDateTime);
  return {
    model: getString(item, TAGS.ManufacturerModelName) ?? '',
    toolkitVersion: toolkit ? toolkit.slice(name.length + 1).trim() || null : null,
    modelSha256: fingerprint ? fingerprint[1]!.toLowerCase() : null,
    contributionDateTime: when === undefined ? null : isoDateTime(when),
  };
}

/** The last lowdose item of the Contributing Equipment Sequence (the run that made these pixels). */
function lowdoseItem(dataSet: DataSet): DataSet | undefined {
  const { name } = toolkitIdentity();
  return getItems(dataSet, TAGS.ContributingEquipmentSequence)
    .filter((candidate) => getString(candidate, TAGS.Manufacturer) === name)
    .at(-1);
}

/**
 * The completion marker the lowdose run that made `dataSet` writes once its series is finished
 * (its SoftwareVersions value `completion marker <name>`, ./contributing-equipment.ts
 * completionMarkerVersion), as a path relative to the series' folder: `.lowdose-simulated.json`,
 * `.lowdose-complete.json` in the folder itself; `../.lowdose-complete.json` for `denoise`'s
 * uncertainty series (`<series>/uncertainty/`), `../../.lowdose-complete.json` for its map
 * (`<series>/hallucination/map/`), whose run's marker lies in the denoised series' folder. Null
 * when it names none (made before markers were named, or by other software).
 */
export function lowdoseCompletionMarker(dataSet: DataSet): string | null {
  const item = lowdoseItem(dataSet);
  const value = item ? getStrings(item, TAGS.SoftwareVersions).find((v) => v.startsWith(COMPLETION_MARKER_VERSION)) : undefined;
  const name = value?.slice(COMPLETION_MARKER_VERSION.length).trim();
  // A hidden file in the series' own folder or at most two folders up, nothing else.
  return name && /^(?:\.\.\/){0,2}\.[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(name) ? name : null;
}

/**
 * How many files the whole series of `dataSet` has, as the lowdose run that made it states next to
 * its completion marker (./contributing-equipment.ts statedCountVersion: `series of 7 files
 * numbered 1-7`, `frame of 7 files`); null when it states none (written before counts were, by a
 * run that names no marker, or by other software).
 */
export function lowdoseStatedCount(dataSet: DataSet): StatedCount | null {
  const item = lowdoseItem(dataSet);
  if (!item) return null;
  const versions = getStrings(item, TAGS.SoftwareVersions);
  if (!versions.some((v) => v.startsWith(COMPLETION_MARKER_VERSION))) return null;
  return versions.map(parseStatedCount).find((c) => c !== null) ?? null;
}

/**
 * A DICOM DT (`YYYYMMDDHHMMSS.FFFFFF&ZZXX`, PS3.5 6.2; the trailing components optional) as ISO
 * 8601, to the precision it has; null when it is not a DT. The offset stays as written: the reader
 * sees the time the contribution's own clock showed.
 */
export function isoDateTime(dt: string): string | null {
  const m = /^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.(\d{1,6}))?([+-]\d{4})?$/.exec(dt.trim());
  if (!m) return null;
  const [, year, month, day, hour, minute, second, fraction, offset] = m;
  // Components are optional only from the end: a fraction needs seconds, and so on.
  if ((fraction !== undefined && second === undefined) || (second !== undefined && minute === undefined)) return null;
  let text = year!;
  if (month) text += `-${month}`;
  if (day) text += `-${day}`;
  if (hour) text += `T${hour}`;
  if (minute) text += `:${minute}`;
  if (second) text += `:${second}`;
  if (fraction) text += `.${fraction.slice(0, 3).padEnd(3, '0')}`;
  if (offset && hour) text += `${offset.slice(0, 3)}:${offset.slice(3)}`;
  return text;
}
