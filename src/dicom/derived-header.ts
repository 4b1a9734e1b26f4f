/**
 * What a derived file (./write-derived.ts) takes from its source besides the pixels, canonical, by
 * attribute: the copied attributes of ./derived-attributes.ts as the writer reads them
 * (./derived-source.ts, then ./value-repair.ts) and the source values the writer derives its own
 * from (SeriesDescription, SeriesNumber, SOPClassUID; a multi-frame source's per-frame geometry and
 * window). Patient and study identity, geometry, equipment, and the PET attributes an SUV is made
 * of (PatientWeight, the radiopharmaceutical's dose, start time and half-life, Units,
 * DecayCorrection, the vendors' private SUV factors) are all among them, with, for an Enhanced or
 * Legacy Converted Enhanced PET source, the classic ones the writer sets from its functional groups
 * (./derived-pet-suv.ts) and the classic PET Series / Isotope / Image values of each frame
 * (./derived-pet-frame.ts: Frame Reference Time, Acquisition Date / Time, Actual Frame Duration,
 * Image Index, Number of Slices, Series Type, Decay Factor, the dose in Bq), which it makes of the
 * frame's functional groups.
 *
 * Canonical: the values as read, whatever encodes them. The same object under another transfer
 * syntax (implicit or explicit VR, compressed pixels) or with another file meta (group 0002 is not
 * read) gives the same values. InstanceNumber is left out: the writer numbers its files itself.
 */
import { getString, TAG } from './attributes.js';
import { setClassicPetFrameAttributes } from './derived-pet-frame.js';
import { planOfOwnFrames, type PetSeriesPlan } from './derived-pet-series.js';
import { setClassicPetSuvAttributes } from './derived-pet-suv.js';
import { copySourceAttributes, readCopiedAttributes } from './derived-source.js';
import { readImageHeader, type ImageHeader } from './image-header.js';
import type { ParsedFile } from './parse.js';
import { repairValues } from './value-repair.js';
import { derivedSeriesNumber, frameValues, isMultiFrameSource } from './write-derived.js';
import { keywordOf, tagOf, type DcmDataset, type DcmElement } from './write-dcmjs.js';

/** Source attributes the writer replaces with its own values. */
const NOT_CARRIED = new Set([tagOf('InstanceNumber')]);

/**
 * Each source's image header, read once: it is the same for all its frames, and reading it walks
 * every frame's functional groups, so reading it again for each frame of a multi-frame source
 * made a rerun's input hashes cost frames² (10,000 frames of 1 x 1: 1.3 slices a second).
 */
const headers = new WeakMap<ParsedFile, ImageHeader>();

function imageHeaderOf(parsed: ParsedFile): ImageHeader {
  return oncePerFile(headers, parsed, () => readImageHeader(parsed));
}

/**
 * The plan of a multi-frame PET source's own frames, made once per file: making it reads every
 * frame's functional groups and sorts them, so making it again for each frame cost frames² (3,000
 * frames of 4 x 4: see docs/benchmarks.md).
 */
const plans = new WeakMap<ParsedFile, PetSeriesPlan>();

/** What the copied attributes give every frame of a source alike (they are the same for all its frames), made once per file. */
interface CopiedValues {
  /**
   * The copied attributes as the writer reads and repairs them, never changed: a frame of a
   * multi-frame PET source sets its own values on a shallow copy (every change there replaces or
   * deletes a top-level element, ./derived-pet-frame.ts), so reading them again for each frame
   * (about 6 ms a frame) is not needed.
   */
  readonly dataset: Readonly<DcmDataset>;
  /** Canonical JSON by tag. */
  readonly values: ReadonlyMap<string, string>;
  /** Name → canonical JSON, by tag. */
  readonly entries: readonly (readonly [string, string])[];
}
const copiedValues = new WeakMap<ParsedFile, CopiedValues>();

function copiedValuesOf(parsed: ParsedFile): CopiedValues {
  return oncePerFile(copiedValues, parsed, () => {
    const dataset = readCopiedAttributes(copySourceAttributes(parsed));
    repairValues(dataset);
    const values = new Map<string, string>();
    const entries: [string, string][] = [];
    for (const tag of Object.keys(dataset).sort()) {
      const value = JSON.stringify(canonicalElement(dataset[tag]!));
      values.set(tag, value);
      if (!NOT_CARRIED.has(tag)) entries.push([nameOf(tag), value]);
    }
    return { dataset, values, entries };
  });
}

function oncePerFile<T>(cache: WeakMap<ParsedFile, T>, parsed: ParsedFile, make: () => T): T {
  let value = cache.get(parsed);
  if (value === undefined) {
    value = make();
    cache.set(parsed, value);
  }
  return value;
}

/**
 * The source attributes frame `frame` of `parsed` gives its derived file, keyword (or `(gggg,eeee)`
 * for a private element) → its values as canonical JSON.
 */
export function derivedHeaderValues(parsed: ParsedFile, frame: number): Map<string, string> {
  const copied = copiedValuesOf(parsed);
  const out = new Map<string, string>(copied.entries);
  const header = imageHeaderOf(parsed);
  const ds = parsed.dataSet;
  out.set('SeriesDescription', JSON.stringify(getString(ds, TAG.SeriesDescription) ?? null));
  out.set('SeriesNumber', JSON.stringify(derivedSeriesNumber(parsed)));
  out.set('SOPClassUID', JSON.stringify(header.sopClassUid));
  if (isMultiFrameSource(parsed, header)) {
    const values = frameValues(parsed, header, frame);
    out.set('ImageOrientationPatient', JSON.stringify(header.frameGeometry[frame]?.orientation ?? null));
    out.set('PixelSpacing', JSON.stringify(values.pixelSpacing));
    out.set('SliceThickness', JSON.stringify(values.sliceThickness));
    out.set('SpacingBetweenSlices', JSON.stringify(values.spacingBetweenSlices));
    out.set('WindowCenter', JSON.stringify(values.windowCenter));
    out.set('WindowWidth', JSON.stringify(values.windowWidth));
    out.set('WindowCenterWidthExplanation', JSON.stringify(values.windowExplanation));
  }
  if (header.pet && (header.pet.EnhancedPet !== undefined || header.pet.LegacyFrames !== undefined)) {
    // The classic PET Series / Isotope / Image values a frame of a multi-frame PET source gets
    // (./derived-pet-frame.ts: Frame Reference Time, Image Index, Number of Slices, Decay Factor,
    // times, ...), from its functional groups, which the copied attributes do not hold.
    const frameDataset: DcmDataset = { ...copied.dataset };
    const plan = oncePerFile(plans, parsed, () => planOfOwnFrames(header, parsed));
    setClassicPetFrameAttributes(frameDataset, { parsed, header, frame, place: plan.places.get(frame)! });
    for (const tag of Object.keys(frameDataset).sort()) {
      // An element the frame left as it was is the copied one, whose value is known.
      const value = frameDataset[tag] === copied.dataset[tag] ? copied.values.get(tag)! : JSON.stringify(canonicalElement(frameDataset[tag]!));
      if (!copied.values.has(tag) || value !== out.get(nameOf(tag))) out.set(`${nameOf(tag)} (derived for PET frame)`, value);
    }
  }
  if (header.pet) {
    // The classic SUV attributes a multi-frame PET source's derived file gets (./derived-pet-suv.ts).
    const classic: DcmDataset = {};
    setClassicPetSuvAttributes(classic, header.pet, frame);
    for (const tag of Object.keys(classic).sort()) out.set(`${nameOf(tag)} (derived for SUV)`, JSON.stringify(canonicalElement(classic[tag]!)));
  }
  return out;
}

/** "00100010" → "PatientName"; a private tag → "(7053,1000)". */
function nameOf(tag: string): string {
  return keywordOf(tag) ?? `(${tag.slice(0, 4)},${tag.slice(4, 8)})`;
}

/** An element's values, without its VR (implicit VR files get the dictionary's) or raw bytes. */
function canonicalElement(element: DcmElement): unknown {
  const values = element.Value ?? [];
  if (element.vr === 'SQ') return values.map((item) => canonicalItem(item as DcmDataset));
  return values.map(canonicalValue);
}

function canonicalItem(item: DcmDataset | null | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!item || typeof item !== 'object') return out;
  for (const tag of Object.keys(item).sort()) out[nameOf(tag)] = canonicalElement(item[tag]!);
  return out;
}

function canonicalValue(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value.replace(/[\0 ]+$/, '');
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'boolean') return value;
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof ArrayBuffer) return `0x${Buffer.from(value).toString('hex')}`;
  if (ArrayBuffer.isView(value)) return `0x${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}`;
  if (Array.isArray(value)) return value.map(canonicalValue);
  if (typeof value === 'object') {
    // A person name's component groups (Alphabetic, Ideographic, Phonetic).
    const object = value as Record<string, unknown>;
    return Object.fromEntries(Object.keys(object).sort().map((key) => [key, canonicalValue(object[key])]));
  }
  // dcmjs gives no other kinds of value.
  return typeof value;
}
