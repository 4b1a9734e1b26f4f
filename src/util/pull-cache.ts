/**
 * Where instances pulled from a PACS wait to be denoised: `$TMPDIR/lowdose-<protocol>/<hash of the
 * source>/<hash of the SeriesInstanceUID>/<SOPInstanceUID>.dcm`, each file written whole, so a
 * rerun after a failure retrieves only what is missing. Shared by the DICOMweb and DIMSE paths.
 * `lowdose-<protocol>` is this user's private folder (util/private-temp.ts).
 */
import { createHash } from 'node:crypto';
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
