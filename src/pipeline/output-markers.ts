/**
 * How every series lowdose writes says on its own how to judge whether its run finished it. Its
 * files name a completion marker (SoftwareVersions `completion marker <name>` of its Contributing
 * Equipment item, src/dicom/contributing-equipment.ts), a path relative to the series' folder that
 * the run writes last, listing the series' UID and files:
 *
 * - `denoise`: the denoised series `.lowdose-complete.json` (a frame of an acquisition
 *   `.lowdose-complete-t01.json`, ./frame-output.ts); its uncertainty series (`<series>/uncertainty/`)
 *   `../.lowdose-complete.json` and its hallucination map (`<series>/hallucination/map/`)
 *   `../../.lowdose-complete.json`: the same marker, which lists them under `uncertainty` and
 *   `hallucination.map`.
 * - `simulate`: `.lowdose-simulated.json` in each folder it writes (./simulation-marker.ts).
 * - `metrics --hallucination`: the map series `.lowdose-map.json` in `map/`, written before the map
 *   is put in place (./hallucination.ts, src/util/staged-folders.ts).
 *
 * Every file also states how many files the whole series has (SoftwareVersions `series of 7 files
 * numbered 1-7`, for a time point or gate of an acquisition `frame of 7 files`;
 * src/dicom/contributing-equipment.ts statedCountVersion), which the writer knows before it writes
 * the first one.
 *
 * A series whose folder holds its marker is judged by the marker: it vouches for the series when it
 * names its SeriesInstanceUID and lists exactly the files read. A series whose folder lacks the
 * marker it names (pulled from a PACS, a folder copied without hidden files, or a run stopped,
 * failed or killed before writing it) is judged by the count its files state: whole exactly when
 * the files read of that SeriesInstanceUID (of a frame: that frame's) are that many, with as many
 * distinct SOP Instance UIDs, and numbered InstanceNumber 1 to n (a frame: n distinct
 * InstanceNumbers, its source images' ImageIndex). Files that name a marker but state no count
 * (an older lowdose's) are not whole without their marker: nothing vouches for them. A series that
 * names no marker (written before markers were named, or by other software) is judged by its
 * reader's own rule (src/server/data/output-completion.ts).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { completionMarkerVersion, type ProcessingEquipment, type StatedCount } from '../dicom/contributing-equipment.js';
import type { Series } from '../dicom/index.js';
import { writeFileAtomic } from '../util/fs.js';
import { toolkitIdentity } from '../util/toolkit.js';
import { frameTag, frameTagOfFile } from './frame-output.js';

/** `metrics --hallucination`'s completion marker, in its `map/` folder. */
export const METRICS_MAP_MARKER = '.lowdose-map.json';

/** The equipment a `denoise` run's series name: each with the path to the series' marker from its own folder. */
export function markedEquipment(
  equipment: ProcessingEquipment,
  marker: string,
): { readonly denoised: ProcessingEquipment; readonly uncertainty: ProcessingEquipment; readonly hallucination: ProcessingEquipment } {
  const naming = (relative: string): ProcessingEquipment => ({
    ...equipment,
    softwareVersions: [...(equipment.softwareVersions ?? []), completionMarkerVersion(relative)],
  });
  // `<series>/uncertainty/`, `<series>/hallucination/map/` (./denoise.ts).
  return { denoised: naming(marker), uncertainty: naming(`../${marker}`), hallucination: naming(`../../${marker}`) };
}

/** The equipment of `metrics --hallucination`'s map series (the sFRC method, naming its marker). */
export const METRICS_MAP_EQUIPMENT: ProcessingEquipment = { modelName: 'sfrc', softwareVersions: [completionMarkerVersion(METRICS_MAP_MARKER)] };

/** A written series as a marker lists it. */
export interface MarkedSeries {
  readonly seriesInstanceUid: string;
  readonly dir: string;
  readonly files: readonly string[];
  /** `files` are those of several series of one entry (`seriesInstanceUids`): this one's are among them. */
  readonly shared?: boolean;
}

/** Writes `metrics --hallucination`'s marker into the map folder `mapDir`: the map series (every frame's files) as it will lie once in place. */
export async function writeMapMarker(mapDir: string, map: MarkedSeries): Promise<void> {
  await writeFileAtomic(path.join(mapDir, METRICS_MAP_MARKER), `${JSON.stringify({ map, toolkit: toolkitIdentity() }, null, 2)}\n`);
}

/** Why a series' named marker does not vouch for the files read; null when it does. */
export type MarkerProblem =
  | { readonly kind: 'absent'; readonly markerPath: string }
  /**
   * The files read are not the whole series their files state (`detail` says how): without the
   * marker, or with one that lists several series' files together (one per radiopharmaceutical).
   */
  | { readonly kind: 'short'; readonly markerPath: string; readonly stated: StatedCount; readonly read: number; readonly detail: string; readonly markerThere: boolean }
  /**
   * The files read state different counts of their series (files of different runs mixed under one
   * SeriesInstanceUID): neither a marker nor any one file's count vouches for them. `largest`: the
   * largest count stated.
   */
  | { readonly kind: 'mixed'; readonly markerPath: string; readonly detail: string; readonly largest: number }
  | { readonly kind: 'unreadable'; readonly markerPath: string }
  | { readonly kind: 'other-series'; readonly markerPath: string }
  | { readonly kind: 'other-files'; readonly markerPath: string; readonly listed: number; readonly read: number };

/**
 * Whether the marker `name` (relative to the folder of `series`' first file) vouches for `series`:
 * it is there, names its SeriesInstanceUID among the series it lists (`output`, `reference`,
 * `uncertainty`, `hallucination.map`, `map`; an entry's `seriesInstanceUids` too), and lists exactly
 * the files read (by name; for a frame of an acquisition, the files of its frame tag; for one of the
 * several series of one entry, every file read among the entry's, and where the files state a count,
 * that whole series: the entry's list cannot tell one of them short). Where the marker is not there,
 * the count the files state (`stated`, null for files that state none) decides (statedCountProblem).
 */
export async function namedMarkerProblem(series: Series, name: string, stated: StatedCount | null = null): Promise<MarkerProblem | null> {
  const first = series.slices[0]?.file;
  if (!first) return null;
  const markerPath = path.resolve(path.dirname(first), name);
  // Files that disagree about their series' count are not one run's series, whatever vouches for the first.
  const mixed = statedCountDisagreement(series);
  if (mixed !== null) return { kind: 'mixed', markerPath, ...mixed };
  let text: string;
  try {
    text = await readFile(markerPath, 'utf8');
  } catch {
    if (stated === null) return { kind: 'absent', markerPath };
    const detail = statedCountProblem(series, stated);
    return detail === null ? null : { kind: 'short', markerPath, stated, read: series.slices.length, detail, markerThere: false };
  }
  let marker: unknown;
  try {
    marker = JSON.parse(text);
  } catch {
    return { kind: 'unreadable', markerPath };
  }
  const written = markedSeries(marker).find((s) => s.seriesInstanceUid === series.seriesInstanceUid);
  if (!written) return { kind: 'other-series', markerPath };
  const tag = series.petFrame ? frameTag(series.petFrame) : null;
  const listed = new Set(written.files.map((f) => path.basename(f)).filter((f) => tag === null || frameTagOfFile(f) === tag));
  const read = new Set(series.slices.map((s) => path.basename(s.file)));
  const sizeAgrees = written.shared ? read.size <= listed.size : read.size === listed.size;
  if (!sizeAgrees || [...read].some((f) => !listed.has(f))) return { kind: 'other-files', markerPath, listed: listed.size, read: read.size };
  if (!written.shared || stated === null) return null;
  const detail = statedCountProblem(series, stated);
  return detail === null ? null : { kind: 'short', markerPath, stated, read: read.size, detail, markerThere: true };
}

/**
 * Why the files read of `series` are not the whole series `stated` says (in words: `3 are here`,
 * `1 repeats another file's SOP Instance UID`, `InstanceNumbers 4-7 are missing`), or null when they are: exactly
 * `stated.files` files, as many distinct SOP Instance UIDs, and InstanceNumber 1 to n (a frame of an
 * acquisition: n distinct InstanceNumbers).
 */
export function statedCountProblem(series: Series, stated: StatedCount): string | null {
  const n = stated.files;
  const slices = series.slices;
  const why: string[] = [];
  if (slices.length !== n) why.push(`${slices.length} ${slices.length === 1 ? 'is' : 'are'} here`);
  const sharing = slices.length - new Set(slices.map((s) => s.sopInstanceUid)).size;
  if (sharing > 0) why.push(`${sharing} repeat${sharing === 1 ? 's' : ''} another file's SOP Instance UID`);
  const numbers = slices.map((s) => s.instanceNumber);
  if (stated.frame) {
    const distinct = new Set(numbers.filter((v): v is number => v !== null)).size;
    if (distinct !== slices.length) why.push(`${slices.length - distinct} lack${slices.length - distinct === 1 ? 's' : ''} an InstanceNumber of its own`);
  } else {
    const present = new Set(numbers);
    const missing = Array.from({ length: n }, (_, k) => k + 1).filter((k) => !present.has(k));
    const other = numbers.filter((v) => v === null || !Number.isInteger(v) || v < 1 || v > n).length;
    if (missing.length > 0) why.push(`InstanceNumber${missing.length === 1 ? '' : 's'} ${numberRanges(missing)} ${missing.length === 1 ? 'is' : 'are'} missing`);
    if (other > 0) why.push(`${other} ${other === 1 ? 'has' : 'have'} an InstanceNumber outside 1-${n}`);
  }
  return why.length === 0 ? null : why.join(', ');
}

/**
 * Where the files read of `series` state different counts of their series (each file's own
 * SoftwareVersions `series of 7 files numbered 1-7`, as read with its header; a file stating none
 * counts as one more kind): in words, `2 files say the series has 9 files numbered 1-9, 5 say 7
 * files numbered 1-7`, with the largest count stated; null when they agree (or were not read from
 * their headers).
 */
export function statedCountDisagreement(series: Series): { readonly detail: string; readonly largest: number } | null {
  const files = new Map<string, { count: StatedCount | null; files: Set<string> }>();
  for (const slice of series.slices) {
    if (slice.statedCount === undefined) continue;
    const key = slice.statedCount === null ? 'none' : `${slice.statedCount.frame ? 'f' : 's'}${slice.statedCount.files}`;
    const entry = files.get(key) ?? { count: slice.statedCount, files: new Set<string>() };
    entry.files.add(slice.file);
    files.set(key, entry);
  }
  if (files.size <= 1) return null;
  const kinds = [...files.values()].sort((a, b) => b.files.size - a.files.size);
  const said = kinds.map(({ count, files: f }) => `${f.size} ${f.size === 1 ? 'says' : 'say'} ${count === null ? 'no count' : statedText(count).replace(/^(the series|this time point or gate) has /, '')}`);
  return {
    detail: `its files disagree about how many files the series has (${said.join(', ')}): files of different runs mixed under one SeriesInstanceUID`,
    largest: Math.max(...kinds.map((k) => k.count?.files ?? 0)),
  };
}

/** `1-3, 5, 7-9` */
function numberRanges(sorted: readonly number[]): string {
  const runs: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    runs.push(j === i ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return runs.length > 4 ? `${runs.slice(0, 4).join(', ')}, ...` : runs.join(', ');
}

/** What the files of a series state of it, in words: `7 files numbered 1-7`, `7 files` (a frame). */
function statedText(stated: StatedCount): string {
  return stated.frame ? `this time point or gate has ${stated.files} files` : `the series has ${stated.files} files numbered 1-${stated.files}`;
}

/** The problem in words: `<dir> has no <name>, the completion marker lowdose <command> writes once the series is finished`, ... */
export function markerProblemText(problem: MarkerProblem, command: string): string {
  const { markerPath } = problem;
  switch (problem.kind) {
    case 'absent':
      return `${path.dirname(markerPath)} has no ${path.basename(markerPath)}, the completion marker lowdose ${command} writes once the series is finished`;
    case 'short':
      return problem.markerThere
        ? `its completion marker ${markerPath} lists the files of several series together, and its files say ${statedText(problem.stated)}: ${problem.detail}`
        : `${path.dirname(markerPath)} has no ${path.basename(markerPath)}, the completion marker lowdose ${command} writes once the series is finished, and its files say ${statedText(problem.stated)}: ${problem.detail}`;
    case 'mixed':
      return problem.detail;
    case 'unreadable':
      return `its completion marker ${markerPath} cannot be read`;
    case 'other-series':
      return `its completion marker ${markerPath} names another series`;
    case 'other-files':
      return `its completion marker ${markerPath} lists ${problem.listed} file(s), ${problem.read} were read`;
  }
}

/** The series a marker lists (denoise's SeriesReport, simulate's SimulatedSeries, metrics' map marker), read leniently. */
function markedSeries(marker: unknown): MarkedSeries[] {
  if (!isRecord(marker)) return [];
  const hallucination = isRecord(marker.hallucination) ? marker.hallucination.map : undefined;
  return [marker.output, marker.reference, marker.uncertainty, hallucination, marker.map].flatMap((entry) => {
    if (!isRecord(entry) || typeof entry.seriesInstanceUid !== 'string' || !Array.isArray(entry.files)) return [];
    const dir = typeof entry.dir === 'string' ? entry.dir : '';
    const files = entry.files.filter((f): f is string => typeof f === 'string');
    // Several series in one entry (one per radiopharmaceutical of a multi-frame PET source,
    // `seriesInstanceUids`, src/dicom/derived-pet-series.ts): each is listed with all the files.
    const several = Array.isArray(entry.seriesInstanceUids) ? entry.seriesInstanceUids.filter((u): u is string => typeof u === 'string') : [];
    return several.length > 1
      ? several.map((seriesInstanceUid) => ({ seriesInstanceUid, dir, files, shared: true }))
      : [{ seriesInstanceUid: entry.seriesInstanceUid, dir, files }];
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
