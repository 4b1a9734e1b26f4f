/**
 * `lowdose simulate`'s completion marker: a series (or one frame of a dynamic or gated PET
 * acquisition) is finished when its marker is in its folder, as `denoise`'s is
 * (./frame-output.ts names both: `.lowdose-simulated.json`, `.lowdose-simulated-t01.json`). It
 * holds the series' entry of `simulate --json` (SimulatedSeries: the input series and its files,
 * the output and reference series and their files, mode, dose, seed and the physics settings) and
 * the lowdose that wrote it. It is written last, in every folder the series writes (the reduced-dose
 * copy and the `--with-reference` full-dose reconstruction), and removed first when the series is
 * written again (./earlier-series-files.ts): a run stopped half way (killed, a slice that failed, a
 * full disk) leaves its files without it.
 *
 * The files name their marker too (SoftwareVersions `completion marker <name>`,
 * src/dicom/contributing-equipment.ts), so a later `denoise` or `metrics` reading a simulated series
 * finds out whether the run that wrote it finished it (simulationMarkerWarning), and state how many
 * files the series has, which decides where the marker is not beside them (a series pulled from a
 * PACS, a folder copied without hidden files; ./output-markers.ts); a series written before markers
 * were names none and is not judged.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { readDicomFile, type Series } from '../dicom/index.js';
import type { StatedCount } from '../dicom/contributing-equipment.js';
import { lowdoseCompletionMarker, lowdoseStatedCount } from '../dicom/read-contributing-equipment.js';
import { writeFileAtomic } from '../util/fs.js';
import { toolkitIdentity, type ToolkitIdentity } from '../util/toolkit.js';
import { markerProblemText, namedMarkerProblem } from './output-markers.js';

/** What a simulated series' marker holds: its `simulate --json` entry, and the lowdose that wrote it. */
export interface SimulationMarker {
  readonly input: { readonly seriesInstanceUid: string; readonly key: string; readonly files: readonly string[] };
  readonly output: { readonly seriesInstanceUid: string; readonly dir: string; readonly files: readonly string[] };
  readonly reference?: { readonly seriesInstanceUid: string; readonly dir: string; readonly files: readonly string[] };
  readonly mode: string;
  readonly dose: number;
  readonly seed: number;
  readonly settings: Readonly<Record<string, unknown>>;
  readonly toolkit: ToolkitIdentity;
}

/** Writes the marker `name` into every folder of the series (its output's, its reference's). */
export async function writeSimulationMarkers(name: string, series: Omit<SimulationMarker, 'toolkit'>): Promise<void> {
  const text = `${JSON.stringify({ ...series, toolkit: toolkitIdentity() }, null, 2)}\n`;
  for (const dir of foldersOf(series)) await writeFileAtomic(path.join(dir, name), text);
}

function foldersOf(series: Pick<SimulationMarker, 'output' | 'reference'>): string[] {
  return [series.output.dir, ...(series.reference ? [series.reference.dir] : [])];
}

/** The marker at `file`, or null when there is none that can be read. */
export async function readSimulationMarker(file: string): Promise<SimulationMarker | null> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as Partial<SimulationMarker>;
    return typeof parsed?.output?.seriesInstanceUid === 'string' && Array.isArray(parsed.output.files) ? (parsed as SimulationMarker) : null;
  } catch {
    return null;
  }
}

/** A reading warning, as a series' `warnings` hold them (`{ path, code, message }`). */
export interface SimulationWarning {
  readonly path: string | null;
  readonly code: 'W_SIMULATION_INCOMPLETE';
  readonly message: string;
}

/**
 * `W_SIMULATION_INCOMPLETE` when `series` was written by a `simulate` that marks its finished series
 * (its files name the marker) and its folder lacks that marker (where its files state how many
 * files the series has: and the files read are not that whole series), or the marker names another
 * series or other files than those read: the run stopped half way, so the series may lack slices (a
 * frame: that time point or gate). Null for any other series (a source scan, a denoised series, a
 * simulated series written before markers were).
 */
export async function simulationMarkerWarning(series: Series): Promise<SimulationWarning | null> {
  const first = series.slices[0]?.file;
  if (!first || !series.derivationDescription?.startsWith('lowdose simulate')) return null;
  let name: string | null;
  let stated: StatedCount | null;
  try {
    const { dataSet } = await readDicomFile(first);
    name = lowdoseCompletionMarker(dataSet);
    stated = lowdoseStatedCount(dataSet);
  } catch {
    return null;
  }
  if (name === null) return null;
  // Without its marker beside it (pulled from a PACS, copied without hidden files), the count its files state decides.
  const problem = await namedMarkerProblem(series, name, stated);
  const why = problem ? markerProblemText(problem, 'simulate') : null;
  if (why === null) return null;
  return {
    path: first,
    code: 'W_SIMULATION_INCOMPLETE',
    message: `simulated series ${series.key} may be incomplete: ${why} (the run that wrote it stopped half way: killed, a slice that failed, a full disk); lowdose simulate --overwrite writes it again`,
  };
}
