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
 * gated PET acquisition each frame's prefix (`t01-IM`) names only that frame's files.
 */
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { LowdoseError } from '../errors.js';
import { realPathOrSelf } from '../util/fs.js';

/** One output series of a run: its folder and its files' prefix (`IM`, `REF`, `t01-IM`). */
export interface SeriesFiles {
  readonly dir: string;
  readonly prefix: string;
}

/** The names in `names` that are a series' DICOM files of this prefix (`IM0001.dcm`, `IM12345.dcm`). */
export function seriesFileNames(names: readonly string[], prefix: string): string[] {
  const pattern = new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\d{4,}\\.dcm$`);
  return names.filter((name) => pattern.test(name)).sort();
}

/**
 * Refuses (E_EXISTS) when an output series' folder holds files of an earlier run of it and
 * `overwrite` is false; with `overwrite`, removes them (none of any series unless all can go).
 * `inputs`: the run's input files, which are never removed. Returns how many files were removed.
 */
export async function replaceEarlierSeriesFiles(outputs: readonly SeriesFiles[], inputs: readonly string[], overwrite: boolean): Promise<number> {
  const found: Array<{ dir: string; files: string[] }> = [];
  for (const { dir, prefix } of outputs) {
    const files = seriesFileNames(await readdir(dir).catch(() => [] as string[]), prefix);
    if (files.length > 0) found.push({ dir, files });
  }
  if (found.length === 0) return 0;
  if (!overwrite) {
    const { dir, files } = found[0]!;
    throw new LowdoseError(
      'E_EXISTS',
      `${path.join(dir, files[0]!)} already exists: the folder holds ${files.length} file(s) of this series from an earlier run (${shown(files)}); use --overwrite to replace the series, or give another -o`,
      { path: path.join(dir, files[0]!) },
    );
  }
  const inputSet = new Set(inputs.map(realPathOrSelf));
  for (const { dir, files } of found) {
    const input = files.map((name) => path.join(dir, name)).find((file) => inputSet.has(realPathOrSelf(file)));
    if (input) throw new LowdoseError('E_EXISTS', `${input} is an input file; choose another output directory`, { path: input });
  }
  let removed = 0;
  for (const { dir, files } of found) {
    for (const name of files) {
      await rm(path.join(dir, name), { force: true });
      removed++;
    }
  }
  return removed;
}

/** `IM0001.dcm, IM0002.dcm, IM0003.dcm, and 4 more`. */
function shown(files: readonly string[]): string {
  return `${files.slice(0, 3).join(', ')}${files.length > 3 ? `, and ${files.length - 3} more` : ''}`;
}
