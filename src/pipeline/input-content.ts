/**
 * What identifies the input a derived series was made from, so that a rerun does not skip a
 * finished series as "already done" when its input changed under the same SeriesInstanceUID
 * (pixels or header corrected and re-exported, slices added or removed, another file set of the
 * series): skipping would hand back output made from the old input as this run's result.
 *
 * Per slice, in the series' order (the order the denoiser and a 2.5D model's neighbours see), its
 * SOPInstanceUID (and frame, in a multi-frame file) and
 * - `sha256`: of what the denoiser read of it: rows and columns, the values in the series' units
 *   (stored values through the modality LUT and, for PET, the SUV factor: a corrected RescaleSlope
 *   or patient weight is another input), the padding mask, and its ImagePositionPatient (copied
 *   into the derived slice);
 * - `header`: of the source attributes its derived slice carries or is made from
 *   (src/dicom/derived-header.ts: patient and study identity, geometry, equipment, the PET
 *   attributes an SUV is made of), so that a header corrected under the same UIDs (another
 *   PatientName, PatientWeight, injected dose) is another input: the output would name the wrong
 *   patient, or carry the old SUV factors.
 * And for the series, `header.attributes`: per attribute, a digest of its values over the slices,
 * which names the attributes that changed. These digests are keyed (HMAC-SHA256) with a hash of the
 * slices' stored pixel values, which the report does not hold: a low-entropy value (a birth date, a
 * sex) cannot be found by trying candidates against the report without the input's pixels, and
 * whoever holds those holds the header too. `header.keyId` tells whether two readings share the
 * key (the stored values are the same); when they do not, the changed attributes are not named.
 *
 * Not the files' bytes: the same objects pulled from a PACS (DICOMweb, DIMSE: into a temporary
 * folder first) under another transfer syntax or file meta, or a copy in another folder, are the
 * same input.
 *
 * The completion marker records it (`input.content`). A rerun compares the slice UIDs first (from
 * the scan, no pixel read), and only when they agree reads and hashes every slice; a marker an older
 * lowdose wrote has no `input.content` and is not compared, and one without `input.content.header`
 * has its pixels compared, not its header.
 */
import { createHash, createHmac } from 'node:crypto';
import { derivedHeaderValues, readSliceSource, type ParsedFile, type Series } from '../dicom/index.js';
import type { Image2D } from '../image.js';

/** What each slice's sha256 covers (`InputContent.hashed`); another value is another recipe, not compared. */
export const INPUT_CONTENT_RECIPE = 'sha256 per slice of rows, columns, values in the series units (float32 LE), padding mask, ImagePositionPatient';

/** What each slice's `header` covers (`InputContent.header.hashed`); another value is another recipe, not compared. */
export const INPUT_HEADER_RECIPE =
  'sha256 per slice of the source attributes its derived slice carries (src/dicom/derived-header.ts), by keyword, values as read; per attribute HMAC-SHA256 over the slices keyed by their stored values';

export interface InputSlice {
  readonly sopInstanceUid: string;
  /** 0-based frame of a multi-frame file; absent for frame 0. */
  readonly frame?: number;
  readonly sha256: string;
  /** sha256 of the slice's header attributes (see the module comment); absent in a marker written before it was recorded. */
  readonly header?: string;
}

/** The series' header attributes, to name those that changed (see the module comment). */
export interface InputHeader {
  /** What each slice's `header` and `attributes` cover (INPUT_HEADER_RECIPE). */
  readonly hashed: string;
  /** Identifies the key of `attributes` (sha256 of it): the same in two readings of the same stored values. */
  readonly keyId: string;
  /** Attribute keyword (or `(gggg,eeee)` of a private one) → HMAC-SHA256 of its values over the slices. */
  readonly attributes: Readonly<Record<string, string>>;
}

export interface InputContent {
  /** What each slice's sha256 covers (INPUT_CONTENT_RECIPE). */
  readonly hashed: string;
  /** sha256 over the slices' `sopInstanceUid`, `frame` and `sha256`, in order. */
  readonly sha256: string;
  /** Every slice, in the series' order. */
  readonly slices: InputSlice[];
  /** The header attributes; absent in a marker written before they were recorded. */
  readonly header?: InputHeader;
}

/** One slice as read, for InputContent: what is recorded of it, and what only the series' digests are made of. */
export interface SliceReading {
  /** `InputSlice.sha256`. */
  readonly sha256: string;
  /** `InputSlice.header`. */
  readonly header: string;
  /** Per attribute, the sha256 of its canonical values (never recorded: unkeyed). */
  readonly attributes: SliceAttributes;
  /** sha256 (hex) of the stored values (never recorded: the key is made of it). */
  readonly stored: string;
}

/**
 * A slice's attributes and the sha256 (hex) of each one's canonical values, `digests[i]` of
 * `names[i]`, names in order. Shared: slices of one series with the same names share one `names`,
 * equal digests one string, and slices whose attributes are all equal one SliceAttributes, so a
 * series of many like slices (the frames of a multi-frame file) keeps each value once rather than
 * a Map of Buffers per slice (14 kB a slice of 47 attributes).
 */
export interface SliceAttributes {
  readonly names: readonly string[];
  readonly digests: readonly string[];
}

/** What the slices of one series share (SliceAttributes), by key: names joined, a digest, the slice's `header`. */
interface SharedAttributes {
  readonly names: Map<string, readonly string[]>;
  readonly digests: Map<string, string>;
  readonly attributes: Map<string, SliceAttributes>;
}

/** Per series object, what its slices' readings share; dropped with the series. */
const sharedBySeries = new WeakMap<object, SharedAttributes>();

function sharedOf(series: object): SharedAttributes {
  let shared = sharedBySeries.get(series);
  if (!shared) {
    shared = { names: new Map(), digests: new Map(), attributes: new Map() };
    sharedBySeries.set(series, shared);
  }
  return shared;
}

/** `value` itself the first time it is met, else the equal value met first. */
function interned<T>(table: Map<string, T>, key: string, value: T): T {
  const known = table.get(key);
  if (known !== undefined) return known;
  table.set(key, value);
  return value;
}

/** The sha256 of one slice as read (see the module comment). */
export function sliceContentSha256(image: Pick<Image2D, 'rows' | 'columns' | 'data' | 'padding'>, position: readonly number[] | null): string {
  const hash = createHash('sha256');
  hash.update(Buffer.from(new Uint32Array([image.rows, image.columns]).buffer));
  hash.update(Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength));
  if (image.padding) {
    hash.update(Buffer.from([1]));
    hash.update(Buffer.from(image.padding.buffer, image.padding.byteOffset, image.padding.byteLength));
  } else hash.update(Buffer.from([0]));
  hash.update(position ? `p${position.join('\\')}` : 'p-');
  return hash.digest('hex');
}

/** What InputContent records of slice `index` of `series`, read as `image` from frame `slice.frame` of `parsed`, whose stored values are `stored`. */
export function sliceReading(
  series: Pick<Series, 'slices'>,
  index: number,
  read: { readonly image: Pick<Image2D, 'rows' | 'columns' | 'data' | 'padding'>; readonly parsed: ParsedFile; readonly stored: ArrayBufferView },
): SliceReading {
  const slice = series.slices[index]!;
  const shared = sharedOf(series);
  const values = derivedHeaderValues(read.parsed, slice.frame);
  const sortedNames = [...values.keys()].sort();
  const names = interned(shared.names, sortedNames.join('\n'), sortedNames);
  const digests = names.map((name) => {
    const digest = createHash('sha256').update(values.get(name)!).digest('hex');
    return interned(shared.digests, digest, digest);
  });
  const header = createHash('sha256');
  for (const [i, name] of names.entries()) header.update(`${name}=${digests[i]!}\n`);
  const headerDigest = header.digest('hex');
  const { stored } = read;
  return {
    sha256: sliceContentSha256(read.image, slice.position),
    header: headerDigest,
    // The header digest covers every name and digest: equal digests, equal attributes.
    attributes: interned(shared.attributes, headerDigest, { names, digests }),
    stored: createHash('sha256').update(Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength)).digest('hex'),
  };
}

/**
 * The series' content from each slice's reading (`readings[i]` of `series.slices[i]`); null when a
 * slice was not read (the marker then records none, and its rerun compares none).
 */
export function inputContentOf(series: Pick<Series, 'slices'>, readings: readonly (SliceReading | undefined)[]): InputContent | null {
  if (series.slices.some((_, i) => readings[i] === undefined)) return null;
  const read = readings as readonly SliceReading[];
  const slices = series.slices.map(
    (slice, i): InputSlice => ({ sopInstanceUid: slice.sopInstanceUid, ...(slice.frame !== 0 ? { frame: slice.frame } : {}), sha256: read[i]!.sha256, header: read[i]!.header }),
  );
  const whole = createHash('sha256');
  for (const s of slices) whole.update(`${s.sopInstanceUid}#${s.frame ?? 0}=${s.sha256}\n`);
  return { hashed: INPUT_CONTENT_RECIPE, sha256: whole.digest('hex'), slices, header: headerOf(read) };
}

/** The series' InputHeader from its slices' readings (see the module comment). */
function headerOf(readings: readonly SliceReading[]): InputHeader {
  const keyHash = createHash('sha256').update('lowdose input header key\n');
  for (const r of readings) keyHash.update(Buffer.from(r.stored, 'hex'));
  const key = keyHash.digest();
  // Each distinct names list once (readings share them), as name → its position in the list.
  const positions = new Map<readonly string[], Map<string, number>>();
  for (const r of readings) {
    if (!positions.has(r.attributes.names)) positions.set(r.attributes.names, new Map(r.attributes.names.map((name, i) => [name, i])));
  }
  const names = [...new Set([...positions.keys()].flat())].sort();
  const attributes: Record<string, string> = {};
  for (const name of names) {
    const mac = createHmac('sha256', key).update(`${name}\n`);
    for (const [i, r] of readings.entries()) {
      const at = positions.get(r.attributes.names)!.get(name);
      mac.update(`${i}:${at === undefined ? '-' : r.attributes.digests[at]!}\n`);
    }
    attributes[name] = mac.digest('hex');
  }
  return { hashed: INPUT_HEADER_RECIPE, keyId: createHash('sha256').update('lowdose input header key id\n').update(key).digest('hex'), attributes };
}

/** Reads every slice of the series and hashes it (a rerun's check of a finished series). */
export async function readInputContent(series: Series): Promise<InputContent> {
  const readings: SliceReading[] = [];
  for (let i = 0; i < series.slices.length; i++) readings.push(sliceReading(series, i, await readSliceSource(series, i)));
  return inputContentOf(series, readings)!;
}

/** A slice's key: its SOPInstanceUID, and its frame in a multi-frame file. */
const keyOf = (s: { readonly sopInstanceUid: string; readonly frame?: number | undefined }) => `${s.sopInstanceUid}#${s.frame ?? 0}`;

/**
 * How the slices of the series as scanned now differ from the recorded ones by their UIDs alone
 * (no pixel read), for a message; empty when they are the same slices in the same order:
 * `2 slices added, 1 removed (finished from 120 slices, the input now has 121; added: SOPInstanceUID 1.2.3, ...)`.
 */
export function sliceSetDifference(recorded: InputContent, series: Pick<Series, 'slices'>): string {
  return keyDifference(recorded.slices.map(keyOf), series.slices.map(keyOf));
}

/**
 * How the content read now differs from the recorded one, for a message (empty when it is the same):
 * the slices added or removed as `sliceSetDifference` says them, then those whose values, padding or
 * position changed: `3 of 120 slices changed (pixel values, padding or position; SOPInstanceUID 1.2.3, ...)`,
 * then those whose header changed, with the attributes that did (keywords only: values can be PHI):
 * `120 of 120 slices' header changed (PatientName, PatientWeight; SOPInstanceUID 1.2.3, ...)`. The
 * header is compared only when both record it with the same recipe.
 */
export function inputContentDifference(recorded: InputContent, now: InputContent): string {
  const before = new Map(recorded.slices.map((s) => [keyOf(s), s]));
  const changed = now.slices.filter((s) => before.has(keyOf(s)) && before.get(keyOf(s))!.sha256 !== s.sha256).map(keyOf);
  const bySet = keyDifference(recorded.slices.map(keyOf), now.slices.map(keyOf));
  // Reordered slices whose content changed too: the change says more than the order.
  const parts = [
    ...(bySet !== '' && !(changed.length > 0 && bySet.startsWith(REORDERED)) ? [bySet] : []),
    ...(changed.length > 0 ? [`${changed.length} of ${now.slices.length} slices changed (pixel values, padding or position; ${names(changed)})`] : []),
  ];
  const header = headerDifference(recorded, now, before);
  return [...parts, ...(header !== '' ? [header] : [])].join('; ');
}

/** Whether `recorded` records the header attributes (a marker written before they were recorded does not). */
export function recordsHeader(recorded: InputContent): boolean {
  return recorded.header?.hashed === INPUT_HEADER_RECIPE && recorded.slices.every((s) => s.header !== undefined);
}

/** The header part of inputContentDifference. */
function headerDifference(recorded: InputContent, now: InputContent, before: ReadonlyMap<string, InputSlice>): string {
  if (!recordsHeader(recorded) || !now.header) return '';
  const changed = now.slices.filter((s) => before.has(keyOf(s)) && before.get(keyOf(s))!.header !== s.header).map(keyOf);
  if (changed.length === 0) return '';
  const was = recorded.header!.attributes;
  const is = now.header.attributes;
  const attributes = [...new Set([...Object.keys(was), ...Object.keys(is)])].filter((name) => was[name] !== is[name]).sort();
  const which =
    recorded.header!.keyId !== now.header.keyId
      ? 'which attributes is not said: the stored pixel values changed too, and the digests that name them are keyed by those'
      : attributes.join(', ');
  return `${changed.length} of ${now.slices.length} slices' header changed (${which}; ${names(changed)})`;
}

const REORDERED = 'the same slices in another order';

/** The message of sliceSetDifference over slice keys. */
function keyDifference(before: readonly string[], now: readonly string[]): string {
  const beforeSet = new Set(before);
  const nowSet = new Set(now);
  const added = now.filter((k) => !beforeSet.has(k));
  const removed = before.filter((k) => !nowSet.has(k));
  if (added.length === 0 && removed.length === 0) return now.some((k, i) => k !== before[i]) ? `${REORDERED} (${plural(now.length, 'slice')})` : '';
  const counts = [
    ...(added.length > 0 ? [`${plural(added.length, 'slice')} added`] : []),
    ...(removed.length > 0 ? [added.length > 0 ? `${removed.length} removed` : `${plural(removed.length, 'slice')} removed`] : []),
  ];
  const examples = [...(added.length > 0 ? [`added: ${names(added)}`] : []), ...(removed.length > 0 ? [`removed: ${names(removed)}`] : [])];
  return `${counts.join(', ')} (finished from ${plural(before.length, 'slice')}, the input now has ${now.length}; ${examples.join('; ')})`;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The first three slice keys as `SOPInstanceUID 1.2.3` (`frame 2` added for a multi-frame file's), then how many more. */
function names(keys: readonly string[]): string {
  const shown = keys.slice(0, 3).map((k) => {
    const [uid, frame] = k.split('#');
    return `SOPInstanceUID ${uid}${frame && frame !== '0' ? ` frame ${frame}` : ''}`;
  });
  return `${shown.join(', ')}${keys.length > 3 ? `, and ${keys.length - 3} more` : ''}`;
}

/** Whether a value read from a completion marker is an InputContent this lowdose can compare with. */
export function isInputContent(value: unknown): value is InputContent {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    v.hashed === INPUT_CONTENT_RECIPE &&
    typeof v.sha256 === 'string' &&
    Array.isArray(v.slices) &&
    v.slices.every((s: unknown) => {
      if (typeof s !== 'object' || s === null) return false;
      const slice = s as Record<string, unknown>;
      return (
        typeof slice.sopInstanceUid === 'string' &&
        typeof slice.sha256 === 'string' &&
        (slice.frame === undefined || typeof slice.frame === 'number') &&
        (slice.header === undefined || typeof slice.header === 'string')
      );
    }) &&
    (v.header === undefined || isInputHeader(v.header))
  );
}

function isInputHeader(value: unknown): value is InputHeader {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.hashed === 'string' &&
    typeof v.keyId === 'string' &&
    typeof v.attributes === 'object' &&
    v.attributes !== null &&
    Object.values(v.attributes).every((d) => typeof d === 'string')
  );
}
