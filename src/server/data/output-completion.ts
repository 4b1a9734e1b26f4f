/**
 * Whether a denoised series the server pairs is a finished `lowdose denoise` output. A run writes
 * a series' slices one by one and its completion marker (`.lowdose-complete.json`, per frame of an
 * acquisition `.lowdose-complete-t01.json`: src/pipeline/frame-output.ts) last, listing the files
 * it wrote. A run stopped by SIGINT / SIGTERM (E_CANCELLED in its report.json), one that failed,
 * or one killed (kill -9, a crash, a full disk) leaves whole slice files without that marker: read
 * as a series, they look like a shorter result. Such a series is shown for what it is (the
 * comparison's `incomplete`), never scored as a finished one.
 *
 * Judged: a series lowdose made (its Contributing Equipment item; not `simulate`'s, which
 * src/pipeline/simulation-marker.ts judges) whose folder holds its marker, or lies where a denoise
 * run writes (report.json or the run's folder lock `.<folder>.lock` beside the folder). A denoised
 * series elsewhere (stored to a PACS and pulled back, copied on its own) names no run to judge by
 * and is not judged.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { seriesOutputNames } from '../../pipeline/frame-output.js';
import { lockPathFor } from '../../util/folder-lock.js';
import type { IndexedSeries } from './pairing.js';

/** A denoised series its run did not finish: `slices` of the `expected` (the low-dose input's) are there. */
export interface OutputIncomplete {
  readonly slices: number;
  readonly expected: number;
  readonly message: string;
}

/** Null when `denoised` is finished (or not judged); else how many of `lowDose`'s slices it has, and why it is not finished. */
export async function outputIncomplete(denoised: IndexedSeries, lowDose: IndexedSeries): Promise<OutputIncomplete | null> {
  const first = denoised.series.slices[0]?.file;
  const made = denoised.facts.provenance;
  if (!first || !made || made.model === 'simulate') return null;
  const dir = path.dirname(first);
  const markerPath = path.join(dir, seriesOutputNames(denoised.series, path.basename(dir)).marker);
  const why = await markerProblem(markerPath, denoised);
  if (why === null) return null;
  if (why === 'absent' && !writtenByDenoise(dir)) return null;
  const slices = denoised.series.slices.length;
  const expected = lowDose.series.slices.length;
  const reason = why === 'absent' ? `${dir} has no ${path.basename(markerPath)}, the completion marker lowdose denoise writes once the series is finished` : why;
  return {
    slices,
    expected,
    message: `incomplete output: ${slices} of ${expected} slices; the run was stopped or failed (${reason}). A rerun of lowdose denoise into the same -o redoes it`,
  };
}

/** 'absent' without a marker, else why the marker does not vouch for the files read; null when it does. */
async function markerProblem(markerPath: string, denoised: IndexedSeries): Promise<string | null> {
  let text: string;
  try {
    text = await readFile(markerPath, 'utf8');
  } catch {
    return 'absent';
  }
  let output: { seriesInstanceUid?: unknown; files?: unknown } | undefined;
  try {
    output = (JSON.parse(text) as { output?: typeof output }).output;
  } catch {
    return `its completion marker ${markerPath} cannot be read`;
  }
  if (output?.seriesInstanceUid !== denoised.series.seriesInstanceUid) return `its completion marker ${markerPath} names another series`;
  const listed = new Set((Array.isArray(output.files) ? output.files : []).filter((f): f is string => typeof f === 'string').map((f) => path.basename(f)));
  const read = new Set(denoised.series.slices.map((s) => path.basename(s.file)));
  if (listed.size !== read.size || [...read].some((f) => !listed.has(f))) return `its completion marker ${markerPath} lists ${listed.size} file(s), ${read.size} were read`;
  return null;
}

/** The folder lies in a denoise `-o`: its report.json, or the run's lock on the folder, is beside it. */
function writtenByDenoise(dir: string): boolean {
  return existsSync(path.join(path.dirname(dir), 'report.json')) || existsSync(lockPathFor(dir));
}
