/**
 * A rerun into a series folder that an earlier run wrote must not leave a mix of the earlier run's
 * slices and its own in one series. `simulate` writes every slice again (it never skips a series
 * as done), but writing over the files of the same names left the others: a series with fewer
 * slices now (a slice removed from the input, or a file the scan could no longer read) kept the
 * earlier run's last slices beside the new ones, under the same SeriesInstanceUID when the
 * settings were the same; and a run stopped half way through an `--overwrite` (killed, or a slice
 * that failed to read) left new slices beside old ones made from the input as it was then.
 *
 * So before writing, the series' own files in its folder (`<prefix>0001.dcm`, ... at any index,
 * not only up to this run's slice count) are the earlier run's series as a whole: without
 * `--overwrite` the run refuses (E_EXISTS); with it they are removed first, so the folder holds
 * this run's slices only, all of them when it finishes. A file that is one of the run's inputs is
 * never removed (E_EXISTS, as the writer refuses to write over one). In the folder of a dynamic or
 * gated PET acquisition each frame's prefix (`t01-IM`) names only that frame's files; the files of
 * frames the acquisition no longer has (framesNoLongerInAcquisition) are refused or removed with
 * them, those of the frames it has that the run does not write are left alone.
 *
 * A series with a completion marker (`simulate`'s, ./simulation-marker.ts) is finished only when the
 * marker is there and lists the files the folder holds: the refusal says which it is (finished
 * already, nothing to redo; or incomplete, a run stopped half way), and `--overwrite` removes the
 * marker before the files, so a run stopped while redoing the series leaves it unfinished.
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { LowdoseError } from '../errors.js';
import type { PetFrameRef } from '../dicom/index.js';
import { realPathOrSelf } from '../util/fs.js';
import { acquisitionFrameTags, frameTagOfFile } from './frame-output.js';

/** One output series of a run: its folder and its files' prefix (`IM`, `REF`, `t01-IM`). */
export interface SeriesFiles {
  readonly dir: string;
  readonly prefix: string;
  /**
   * Its completion marker's file name in `dir`, for a run that writes one: a JSON object whose
   * entries with `dir` this folder list its `files`.
   */
  readonly marker?: string;
  /** What the refusal calls the series (default `this series`), e.g. a time point the acquisition no longer has. */
  readonly what?: string;
  /** Its files' extension (default `.dcm`; a hallucination map's overlays: `.png`, `slice-0001.png`). */
  readonly extension?: string;
}

/** The names in `names` that are a series' DICOM files of this prefix (`IM0001.dcm`, `IM12345.dcm`; of another `extension`, `slice-0001.png`). */
export function seriesFileNames(names: readonly string[], prefix: string, extension = '.dcm'): string[] {
  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const pattern = new RegExp(`^${escape(prefix)}\\d{4,}${escape(extension)}$`);
  return names.filter((name) => pattern.test(name)).sort();
}

/**
 * Refuses (E_EXISTS) when an output series' folder holds files of an earlier run of it and
 * `overwrite` is false; with `overwrite`, removes them (none of any series unless all can go).
 * `inputs`: the run's input files, which are never removed. Returns how many files were removed.
 */
export async function replaceEarlierSeriesFiles(outputs: readonly SeriesFiles[], inputs: readonly string[], overwrite: boolean): Promise<number> {
  const found: Array<{ dir: string; files: string[]; output: SeriesFiles }> = [];
  for (const output of outputs) {
    const files = seriesFileNames(await readdir(output.dir).catch(() => [] as string[]), output.prefix, output.extension);
    if (files.length > 0) found.push({ dir: output.dir, files, output });
  }
  if (!overwrite) {
    if (found.length === 0) {
      // A marker without its series' files marks nothing finished.
      await removeMarkers(outputs);
      return 0;
    }
    const { dir, files, output } = found[0]!;
    const what = output.what ?? 'this series';
    const first = path.join(dir, files[0]!);
    if (output.marker === undefined) {
      throw new LowdoseError(
        'E_EXISTS',
        `${first} already exists: the folder holds ${files.length} file(s) of ${what} from an earlier run (${shown(files)}); use --overwrite to replace the series, or give another -o`,
        { path: first },
      );
    }
    const marked = await markedFiles(dir, output.marker);
    const finished = marked !== null && marked.length === files.length && files.every((name) => marked.includes(name));
    throw new LowdoseError(
      'E_EXISTS',
      finished
        ? `${first} already exists: the folder holds ${files.length} file(s) of ${what} from an earlier run that finished it (its completion marker ${output.marker} lists them): ` +
            `it is done already; use --overwrite to write it again, or give another -o`
        : `${first} already exists: the folder holds ${files.length} file(s) of ${what} from an earlier run (${shown(files)}) that did not finish it ` +
            `(${marked === null ? `no completion marker ${output.marker}` : `its completion marker ${output.marker} lists ${marked.length} file(s)`}: stopped half way, killed or out of disk space), ` +
            `so the series is incomplete; use --overwrite to redo it, or give another -o`,
      { path: first },
    );
  }
  const inputSet = new Set(inputs.map(realPathOrSelf));
  for (const { dir, files } of found) {
    const input = files.map((name) => path.join(dir, name)).find((file) => inputSet.has(realPathOrSelf(file)));
    if (input) throw new LowdoseError('E_EXISTS', `${input} is an input file; choose another output directory`, { path: input });
  }
  // The markers first: until it is written again, the series is not finished.
  await removeMarkers(outputs);
  let removed = 0;
  for (const { dir, files } of found) {
    for (const name of files) {
      await rm(path.join(dir, name), { force: true });
      removed++;
    }
  }
  return removed;
}

async function removeMarkers(outputs: readonly SeriesFiles[]): Promise<void> {
  for (const { dir, marker } of outputs) if (marker !== undefined) await rm(path.join(dir, marker), { force: true });
}

/**
 * The series files of the frames of an acquisition's folder `dir` that are no frame of the
 * acquisition `ref` is one of, as its files say now (`t04` when it has 3 time points; `t001` when
 * its tags are `t01` ...): an earlier run wrote them of the acquisition as it was. `stem`: their
 * files' stem (`IM`, `REF`); `marker`: each frame's completion marker name. The frames the
 * acquisition has are not among them, whether this run writes them or not.
 */
export async function framesNoLongerInAcquisition(dir: string, ref: PetFrameRef, stem: string, marker: (tag: string) => string): Promise<SeriesFiles[]> {
  const current = new Set(acquisitionFrameTags(ref));
  const tags = new Set((await readdir(dir).catch(() => [] as string[])).map(frameTagOfFile).filter((tag): tag is string => tag !== null && !current.has(tag)));
  const what = (tag: string) => `${tag.startsWith('t') ? 'time point' : 'gate'} ${tag}, which the acquisition no longer has (it has ${ref.frames})`;
  return [...tags].sort().map((tag) => ({ dir, prefix: `${tag}-${stem}`, marker: marker(tag), what: what(tag) }));
}

/** The names of the files a completion marker lists in `dir` (its entries whose `dir` is that folder), or null without a readable marker. */
async function markedFiles(dir: string, marker: string): Promise<string[] | null> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path.join(dir, marker), 'utf8'));
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null) return null;
  const names: string[] = [];
  for (const entry of Object.values(parsed as Record<string, unknown>)) {
    if (typeof entry !== 'object' || entry === null) continue;
    const { dir: entryDir, files } = entry as { dir?: unknown; files?: unknown };
    if (typeof entryDir !== 'string' || path.resolve(entryDir) !== path.resolve(dir) || !Array.isArray(files)) continue;
    for (const file of files) if (typeof file === 'string') names.push(path.basename(file));
  }
  return names;
}

/** `IM0001.dcm, IM0002.dcm, IM0003.dcm, and 4 more`. */
function shown(files: readonly string[]): string {
  return `${files.slice(0, 3).join(', ')}${files.length > 3 ? `, and ${files.length - 3} more` : ''}`;
}
