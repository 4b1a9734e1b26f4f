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
 * A series that names a marker its folder lacks, or whose marker names another series or other
 * files than those read, was not finished by its run (stopped, failed, killed, a full disk) or was
 * copied or pulled from a PACS without its marker: either way nothing vouches that it is whole.
 * A series that names none (written before markers were named, or by other software) is judged by
 * its reader's own rule (src/server/data/output-completion.ts).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { completionMarkerVersion, type ProcessingEquipment } from '../dicom/contributing-equipment.js';
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
  | { readonly kind: 'unreadable'; readonly markerPath: string }
  | { readonly kind: 'other-series'; readonly markerPath: string }
  | { readonly kind: 'other-files'; readonly markerPath: string; readonly listed: number; readonly read: number };

/**
 * Whether the marker `name` (relative to the folder of `series`' first file) vouches for `series`:
 * it is there, names its SeriesInstanceUID among the series it lists (`output`, `reference`,
 * `uncertainty`, `hallucination.map`, `map`; an entry's `seriesInstanceUids` too), and lists exactly
 * the files read (by name; for a frame of an acquisition, the files of its frame tag; for one of the
 * several series of one entry, every file read among the entry's).
 */
export async function namedMarkerProblem(series: Series, name: string): Promise<MarkerProblem | null> {
  const first = series.slices[0]?.file;
  if (!first) return null;
  const markerPath = path.resolve(path.dirname(first), name);
  let text: string;
  try {
    text = await readFile(markerPath, 'utf8');
  } catch {
    return { kind: 'absent', markerPath };
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
  return null;
}

/** The problem in words: `<dir> has no <name>, the completion marker lowdose <command> writes once the series is finished`, ... */
export function markerProblemText(problem: MarkerProblem, command: string): string {
  const { markerPath } = problem;
  switch (problem.kind) {
    case 'absent':
      return `${path.dirname(markerPath)} has no ${path.basename(markerPath)}, the completion marker lowdose ${command} writes once the series is finished`;
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
