/**
 * Whether the series the server pairs into a comparison (the denoised series, its uncertainty
 * series, its hallucination map) are finished lowdose outputs. A run writes a series' slices one by
 * one and its completion marker last, listing the files it wrote. A run stopped by SIGINT / SIGTERM
 * (E_CANCELLED in its report.json), one that failed, or one killed (kill -9, a crash, a full disk)
 * leaves whole slice files without that marker: read as a series, they look like a shorter result
 * (a map without its last slices like slices where nothing was flagged). Such a series is shown for
 * what it is (the comparison's `incomplete`, `uncertaintyIncomplete`, `hallucinationIncomplete`),
 * never scored as a finished one.
 *
 * A series whose files name their marker (src/pipeline/output-markers.ts: `denoise`'s three series,
 * `metrics --hallucination`'s map) is judged by it wherever it lies. Where the marker is not beside
 * it (pulled from a PACS, copied without hidden files, or its run cut short), the count its files
 * state decides: whole exactly when the files of its SeriesInstanceUID (of a frame: that frame's)
 * are that many, with distinct SOP Instance UIDs, numbered 1 to n (a frame: distinct
 * InstanceNumbers); else incomplete, `k of n` slices with n the stated count. Files that name a
 * marker but state no count (an older lowdose's) are incomplete without the marker. A
 * denoised series that names none (an older lowdose's) is judged as before: by the marker in its
 * folder where it lies where a denoise run writes (report.json or the run's folder lock
 * `.<folder>.lock` beside the folder), else not judged; an uncertainty series or map that names none
 * is not judged. `simulate`'s series are judged by src/pipeline/simulation-marker.ts.
 *
 * Where the run's report.json lies beside the denoised series' folder, the message carries the
 * run's own word for what happened to the series (its `errors` entry: "... was stopped after 3 of 7
 * slices (interrupted by SIGINT) ..." [E_CANCELLED], or why it failed).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { frameTag, seriesOutputNames } from '../../pipeline/frame-output.js';
import { markerProblemText, METRICS_MAP_MARKER, namedMarkerProblem } from '../../pipeline/output-markers.js';
import { lockPathFor } from '../../util/folder-lock.js';
import type { IndexedSeries } from './pairing.js';

/** A series its run did not finish: `slices` of the `expected` (the count its files state; without one, the low-dose input's) are there. */
export interface OutputIncomplete {
  readonly slices: number;
  readonly expected: number;
  readonly message: string;
}

/** Which series of a comparison is judged. */
export type OutputRole = 'denoised' | 'uncertainty' | 'hallucination';

const WHAT: Record<OutputRole, string> = { denoised: 'incomplete output', uncertainty: 'incomplete uncertainty series', hallucination: 'incomplete hallucination map' };

/** Null when `series` (the comparison's `role`) is finished or not judged; else how many of `lowDose`'s slices it has, and why it is not finished. */
export async function seriesIncomplete(series: IndexedSeries, lowDose: IndexedSeries, role: OutputRole): Promise<OutputIncomplete | null> {
  const first = series.series.slices[0]?.file;
  const made = series.facts.provenance;
  if (!first || !made) return null;
  const dir = path.dirname(first);
  const named = series.facts.completionMarker;
  let reason: string;
  /** The denoised series' folder, beside which its run's report.json lies; null for a metrics map. */
  let runFolder: string | null;
  let rerun: string;
  let expected = lowDose.series.slices.length;
  /** Files of more than one run: not a run stopped or failed. */
  let mixed = false;
  if (named !== null) {
    // Without the marker beside it, the count its files state decides (src/pipeline/output-markers.ts).
    const problem = await namedMarkerProblem(series.series, named, series.facts.statedCount);
    if (problem === null) return null;
    if (problem.kind === 'short') expected = problem.stated.files;
    if (problem.kind === 'mixed' && problem.largest > 0) expected = problem.largest;
    const metricsMap = path.basename(named) === METRICS_MAP_MARKER;
    const command = metricsMap ? 'metrics --hallucination' : 'denoise';
    runFolder = metricsMap ? null : path.dirname(problem.markerPath);
    // Away from where its run wrote it, a missing marker may be the copy's doing.
    const atRun = runFolder !== null && writtenByDenoise(runFolder);
    const away = problem.kind === 'absent' ? ' (or the series was copied or pulled from a PACS without it)' : problem.kind === 'short' && !problem.markerThere ? ' (or files were lost copying or storing it)' : '';
    reason = markerProblemText(problem, command) + (atRun ? '' : away);
    mixed = problem.kind === 'mixed';
    rerun = metricsMap ? 'A rerun of lowdose metrics --hallucination --overwrite redoes it' : 'A rerun of lowdose denoise into the same -o redoes it';
  } else {
    // Named none: an older lowdose's series. Only its denoised series is judged, as it was.
    if (role !== 'denoised' || made.model === 'simulate') return null;
    const markerPath = path.join(dir, seriesOutputNames(series.series, path.basename(dir)).marker);
    const problem = await namedMarkerProblem(series.series, path.basename(markerPath));
    if (problem === null) return null;
    if (problem.kind === 'absent' && !writtenByDenoise(dir)) return null;
    reason = markerProblemText(problem, 'denoise');
    runFolder = dir;
    rerun = 'A rerun of lowdose denoise into the same -o redoes it';
  }
  const slices = series.series.slices.length;
  const said = runFolder ? await reportReason(runFolder, series, lowDose) : null;
  return {
    slices,
    expected,
    // The run's own word (an E_CANCELLED one says how to redo it).
    message: mixed
      ? `${WHAT[role]}: ${slices} of ${expected} slices; ${reason}. ${rerun}`
      : `${WHAT[role]}: ${slices} of ${expected} slices; the run was stopped or failed (${reason})${said ? `; its report.json says: ${said}` : ''}${said?.includes('rerun') ? '' : `. ${rerun}`}`,
  };
}

/** A lowdose output acquisition (dynamic or gated PET) without some of the frames its files declare. */
export interface AcquisitionIncomplete {
  /** Frames of the acquisition read (its SeriesInstanceUID's time points or gates). */
  readonly frames: number;
  /** Frames its files declare (NumberOfTimeSlices, or NumberOfRRIntervals x NumberOfTimeSlots). */
  readonly expected: number;
  /** The tags of the frames not read (`t03`, `g02`). */
  readonly missing: readonly string[];
  readonly message: string;
}

/**
 * Whether the acquisition `series` (a time point or gate of a lowdose output whose files name a
 * completion marker) is a frame of lacks whole frames its files declare. Each frame's files state
 * only that frame's count (`frame of 2 files`), so a time point missing whole (a run stopped before
 * it, its files lost copying or storing the series) leaves every frame read whole by its own count:
 * the acquisition's frames are told by NumberOfTimeSlices (a gated one's NumberOfRRIntervals x
 * NumberOfTimeSlots), which every file of it keeps from its source. `framesRead`: the frame numbers
 * read of its acquisition (its SeriesInstanceUID in one folder); `lowDoseFramesRead`: those of its
 * low-dose acquisition, to say where that lacks them too. Null when whole, not a frame, or not judged.
 */
export function acquisitionIncomplete(series: IndexedSeries, framesRead: ReadonlySet<number>, lowDoseFramesRead: ReadonlySet<number> | null): AcquisitionIncomplete | null {
  const ref = series.series.petFrame;
  if (!ref || series.facts.completionMarker === null || !series.facts.provenance) return null;
  const missingFrames = Array.from({ length: ref.frames }, (_, k) => k + 1).filter((f) => !framesRead.has(f));
  if (missingFrames.length === 0) return null;
  const tags = missingFrames.map((frame) => frameTag({ ...ref, frame }));
  const dynamic = ref.suffix === 't';
  const unit = dynamic ? 'time points' : 'gates';
  const declared = dynamic ? 'NumberOfTimeSlices' : 'NumberOfRRIntervals x NumberOfTimeSlots';
  const listed = tags.length > 8 ? `${tags.slice(0, 8).join(', ')}, ...` : tags.join(', ');
  const inLowDose = lowDoseFramesRead ? missingFrames.filter((f) => lowDoseFramesRead.has(f)).length : null;
  const source =
    inLowDose === null ? '' : inLowDose === missingFrames.length ? '' : inLowDose === 0 ? '; the low-dose acquisition lacks them too' : `; the low-dose acquisition has ${inLowDose} of them`;
  return {
    frames: framesRead.size,
    expected: ref.frames,
    missing: tags,
    message:
      `incomplete acquisition: ${framesRead.size} of ${ref.frames} ${unit}; ${listed} ${tags.length === 1 ? 'is' : 'are'} missing whole ` +
      `(its files say the acquisition has ${ref.frames} ${unit}, ${declared}): the run was stopped or failed before writing ${tags.length === 1 ? 'it' : 'them'}, ` +
      `or files were lost copying or storing the series${source}. Each ${dynamic ? 'time point' : 'gate'} read is whole on its own; ` +
      'a rerun of lowdose denoise into the same -o writes the missing ones',
  };
}

/** The folder lies in a denoise `-o`: its report.json, or the run's lock on the folder, is beside it. */
function writtenByDenoise(dir: string): boolean {
  return existsSync(path.join(path.dirname(dir), 'report.json')) || existsSync(lockPathFor(dir));
}

/**
 * What the report.json beside `runFolder` (a denoised series' folder) says of the series: the first
 * of its `errors` naming that folder (for a frame of an acquisition, one naming its frame tag), else
 * the first naming a file of the low-dose input (a series that failed); of those entries, only one
 * that names the low-dose input's SeriesInstanceUID (or no series) and does not say the series
 * "was not run". `<message> [<code>]`, null when there is no report or no such entry.
 */
async function reportReason(runFolder: string, series: IndexedSeries, lowDose: IndexedSeries): Promise<string | null> {
  let errors: unknown;
  try {
    errors = (JSON.parse(await readFile(path.join(path.dirname(runFolder), 'report.json'), 'utf8')) as { errors?: unknown }).errors;
  } catch {
    return null;
  }
  const entries = (Array.isArray(errors) ? (errors as unknown[]) : []).filter((e): e is { code: string; message: string; path: string } => {
    const entry = e as { code?: unknown; message?: unknown; path?: unknown } | null;
    return typeof entry === 'object' && entry !== null && typeof entry.code === 'string' && typeof entry.message === 'string' && typeof entry.path === 'string';
  });
  const tag = series.series.petFrame ? frameTag(series.series.petFrame) : null;
  // Only an entry of the run that wrote these files says why they are not finished: one naming
  // another input series (`CT series <uid> ...`) is not about them, and one saying the series "was
  // not run" is a later run's (stopped before it began the series, so the files are an earlier
  // run's, and that run's word is gone with its report.json).
  const input = lowDose.series.seriesInstanceUid;
  const aboutThese = entries.filter((e) => {
    const named = /^(?:[A-Z]{2} )?series ([0-9.]+)\b/.exec(e.message)?.[1];
    return (named === undefined || named === input) && !/ was not run\b/.test(e.message);
  });
  // report.json names the folder where the run wrote it: the whole -o may have moved since.
  const atFolder = aboutThese.find((e) => path.basename(e.path) === path.basename(runFolder) && (tag === null || e.message.includes(` ${tag} `)));
  const inputs = new Set(lowDose.series.slices.map((s) => path.resolve(s.file)));
  const found = atFolder ?? aboutThese.find((e) => inputs.has(path.resolve(e.path)));
  return found ? `${found.message} [${found.code}]` : null;
}
