/**
 * Where instances pulled from a PACS wait to be denoised: `$TMPDIR/lowdose-<protocol>/<hash of the
 * source>/<hash of the SeriesInstanceUID>/<SOPInstanceUID>.dcm`, each file written whole, so a
 * rerun after a failure retrieves only what is missing, and first removes what the PACS no longer
 * lists (removeUnlisted). Shared by the DICOMweb and DIMSE paths.
 * `lowdose-<protocol>` is this user's private folder (util/private-temp.ts).
 */
import { createHash } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { privateTempDir } from './private-temp.js';

const hash16 = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 16);

/** The pull folder of one source (a study or series URL) for one protocol. */
export function pullCacheDir(protocol: 'dicomweb' | 'dimse', source: string): string {
  return path.join(privateTempDir(`lowdose-${protocol}`), hash16(source));
}

/** The folder of one series inside a pull folder. */
export function seriesCacheDir(root: string, seriesInstanceUid: string): string {
  return path.join(root, hash16(seriesInstanceUid));
}

/** The SOP Instance UIDs of the instance files in a series' pull folder (hidden temporaries left out). */
export async function instancesOnDisk(seriesDir: string): Promise<Set<string>> {
  return new Set((await readdir(seriesDir)).filter((f) => f.endsWith('.dcm') && !f.startsWith('.')).map((f) => f.slice(0, -'.dcm'.length)));
}

/**
 * Removes from a series' pull folder the instance files an earlier (failed) run left there whose
 * SOPInstanceUID the PACS no longer lists for the series (`listed`: its whole instance list, asked
 * for by this run): an instance deleted on the PACS, or replaced by one under another UID, since.
 * Every file of the folder is read and denoised, so a stale one would put a slice the PACS no
 * longer holds into the derived series. Logged; returns the removed UIDs, sorted. A file whose UID
 * is listed stays: a change of its content under the same UID is not seen without retrieving it
 * again. Only for a list known to be whole: a capped list would remove instances the PACS holds.
 */
export async function removeUnlisted(
  seriesDir: string,
  seriesInstanceUid: string,
  listed: readonly string[],
  log: (message: string) => void,
): Promise<string[]> {
  const keep = new Set(listed);
  const stale = [...(await instancesOnDisk(seriesDir))].filter((uid) => !keep.has(uid)).sort();
  if (stale.length === 0) return stale;
  await Promise.all(stale.map((uid) => rm(path.join(seriesDir, `${uid}.dcm`), { force: true })));
  const named = stale.slice(0, 3).join(', ') + (stale.length > 3 ? `, and ${stale.length - 3} more` : '');
  log(
    `series ${seriesInstanceUid}: removed ${stale.length} instance(s) an earlier run had retrieved that the PACS no longer lists for the series (${named}); ` +
      'they are not denoised',
  );
  return stale;
}
