/**
 * What identifies the input a derived series was made from, so that a rerun does not skip a
 * finished series as "already done" when its input changed under the same SeriesInstanceUID
 * (pixels corrected and re-exported, slices added or removed, another file set of the series):
 * skipping would hand back output made from the old input as this run's result.
 *
 * Per slice, in the series' order (the order the denoiser and a 2.5D model's neighbours see), its
 * SOPInstanceUID (and frame, in a multi-frame file) and the sha256 of what the denoiser read of it:
 * rows and columns, the values in the series' units (stored values through the modality LUT and,
 * for PET, the SUV factor: a corrected RescaleSlope or patient weight is another input), the padding
 * mask, and its ImagePositionPatient (copied into the derived slice). Not the files' bytes: the same
 * objects pulled from a PACS (DICOMweb, DIMSE: into a temporary folder first) under another transfer
 * syntax or file meta, or a copy in another folder, are the same input.
 *
 * The completion marker records it (`input.content`). A rerun compares the slice UIDs first (from
 * the scan, no pixel read), and only when they agree reads and hashes every slice; a marker an older
 * lowdose wrote has no `input.content` and is not compared.
 */
import { createHash } from 'node:crypto';
import { readSliceImage, type Series } from '../dicom/index.js';
import type { Image2D } from '../image.js';

/** What each slice's sha256 covers (`InputContent.hashed`); another value is another recipe, not compared. */
export const INPUT_CONTENT_RECIPE = 'sha256 per slice of rows, columns, values in the series units (float32 LE), padding mask, ImagePositionPatient';

export interface InputSlice {
  readonly sopInstanceUid: string;
  /** 0-based frame of a multi-frame file; absent for frame 0. */
  readonly frame?: number;
  readonly sha256: string;
}

export interface InputContent {
  /** What each slice's sha256 covers (INPUT_CONTENT_RECIPE). */
  readonly hashed: string;
  /** sha256 over the slices' `sopInstanceUid`, `frame` and `sha256`, in order. */
  readonly sha256: string;
  /** Every slice, in the series' order. */
  readonly slices: InputSlice[];
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

/**
 * The series' content from each slice's sha256 (`digests[i]` of `series.slices[i]`); null when a
 * slice was not hashed (the marker then records none, and its rerun compares none).
 */
export function inputContentOf(series: Pick<Series, 'slices'>, digests: readonly string[]): InputContent | null {
  if (series.slices.some((_, i) => digests[i] === undefined)) return null;
  const slices = series.slices.map((slice, i): InputSlice => ({ sopInstanceUid: slice.sopInstanceUid, ...(slice.frame !== 0 ? { frame: slice.frame } : {}), sha256: digests[i]! }));
  const whole = createHash('sha256');
  for (const s of slices) whole.update(`${s.sopInstanceUid}#${s.frame ?? 0}=${s.sha256}\n`);
  return { hashed: INPUT_CONTENT_RECIPE, sha256: whole.digest('hex'), slices };
}

/** Reads every slice of the series and hashes it (a rerun's check of a finished series). */
export async function readInputContent(series: Series): Promise<InputContent> {
  const digests: string[] = [];
  for (let i = 0; i < series.slices.length; i++) {
    const image = await readSliceImage(series, i);
    digests.push(sliceContentSha256(image, series.slices[i]!.position));
  }
  return inputContentOf(series, digests)!;
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
 * position changed: `3 of 120 slices changed (pixel values, padding or position; SOPInstanceUID 1.2.3, ...)`.
 */
export function inputContentDifference(recorded: InputContent, now: InputContent): string {
  if (recorded.sha256 === now.sha256) return '';
  const before = new Map(recorded.slices.map((s) => [keyOf(s), s.sha256]));
  const changed = now.slices.filter((s) => before.has(keyOf(s)) && before.get(keyOf(s)) !== s.sha256).map(keyOf);
  const bySet = keyDifference(recorded.slices.map(keyOf), now.slices.map(keyOf));
  // Reordered slices whose content changed too: the change says more than the order.
  const parts = [
    ...(bySet !== '' && !(changed.length > 0 && bySet.startsWith(REORDERED)) ? [bySet] : []),
    ...(changed.length > 0 ? [`${changed.length} of ${now.slices.length} slices changed (pixel values, padding or position; ${names(changed)})`] : []),
  ];
  return parts.join('; ');
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
      return typeof slice.sopInstanceUid === 'string' && typeof slice.sha256 === 'string' && (slice.frame === undefined || typeof slice.frame === 'number');
    })
  );
}
