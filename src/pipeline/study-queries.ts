/**
 * Study queries on a PACS address without a study, over either protocol: C-FIND at STUDY level for
 * `dimse://AET@host:port` (`findStudies`), QIDO-RS `<base>/studies` for a DICOMweb base
 * (`searchStudies`, at most STUDY_QUERY_LIMIT matches). Both answer in one shape (the C-FIND one),
 * and an answer that may lack studies (a capped C-FIND, a QIDO-RS search past the limit or that the
 * server will not page) is an E_IO error, never a part of the list. Accession numbers and
 * StudyInstanceUIDs given one by one are one query each (with the other keys), so a study named
 * that matches none is said for itself. Used by `info` and by `denoise` (./pacs-studies.ts).
 */
import { DicomwebClient, type DicomwebClientOptions } from '../dicomweb/client.js';
import { searchStudies } from '../dicomweb/study.js';
import { isDicomwebStudyUrl, isDicomwebUrl, parseDicomwebBase } from '../dicomweb/url.js';
import type { DimseClientOptions } from '../dimse/association.js';
import { findStudies, type RemoteStudy } from '../dimse/study.js';
import { isDimseUrl, parseDimseUrl } from '../dimse/url.js';
import { LowdoseError } from '../errors.js';
import { EXIT_FAILED, EXIT_OK } from '../exit-codes.js';
import type { StudyKeys } from '../util/remote-series.js';
import type { StudyIdentifiers } from './studies-file.js';

/** Most studies a DICOMweb query may match; more is an error (narrow it), never a part of them. */
export const STUDY_QUERY_LIMIT = 1000;

export interface StudyQueryClients {
  readonly dicomweb?: DicomwebClientOptions;
  readonly dimse?: DimseClientOptions;
  readonly log: (message: string) => void;
  /** A denoise run's queries: an answer that is not whole says that no study was denoised. */
  readonly denoising?: boolean;
}

/** Whether an address names a PACS (DICOMweb base or dimse://AET@host:port) without a study: a query. */
export function isPacsQueryAddress(address: string): boolean {
  if (isDimseUrl(address)) return parseDimseUrl(address).studyInstanceUid === null;
  return isDicomwebUrl(address) && !isDicomwebStudyUrl(address);
}

/** The queries the keys and identifiers make: one per accession number / StudyInstanceUID (each with the other keys), or the keys alone. */
export function queryKeys(keys: StudyKeys, identifiers?: StudyIdentifiers): StudyKeys[] {
  if (!identifiers || identifiers.accessions.length + identifiers.studyInstanceUids.length === 0) return [keys];
  return [...identifiers.accessions.map((accessionNumber) => ({ ...keys, accessionNumber })), ...identifiers.studyInstanceUids.map((studyInstanceUid) => ({ ...keys, studyInstanceUid }))];
}

/** The keys as the command line gives them (`--patient-id X --from Y --accession Z`; a UID as `StudyInstanceUID U`). */
export function describeKeys(keys: { readonly [K in keyof StudyKeys]?: StudyKeys[K] | undefined }): string {
  const parts = [
    keys.patientId !== undefined ? `--patient-id ${keys.patientId}` : '',
    keys.from !== undefined ? `--from ${keys.from}` : '',
    keys.to !== undefined ? `--to ${keys.to}` : '',
    keys.accessionNumber !== undefined ? `--accession ${keys.accessionNumber}` : '',
    keys.studyInstanceUid !== undefined ? `StudyInstanceUID ${keys.studyInstanceUid}` : '',
  ];
  return parts.filter(Boolean).join(' ');
}

/** The address's query name: the dimse:// address as given, or the DICOMweb base. */
export function querySource(address: string): string {
  return isDimseUrl(address) ? address : parseDicomwebBase(address);
}

/** The studies on the PACS at `address` that match `keys`, in the C-FIND answer's shape (newest first). */
export async function listStudies(address: string, keys: StudyKeys, clients: StudyQueryClients): Promise<RemoteStudy[]> {
  if (isDimseUrl(address)) {
    if (!clients.dimse) throw new LowdoseError('E_USAGE', `${address}: no DIMSE client options`);
    return findStudies(parseDimseUrl(address), clients.dimse, keys);
  }
  const source = parseDicomwebBase(address);
  const client = new DicomwebClient({ log: clients.log, ...clients.dicomweb });
  try {
    const search = await searchStudies(client, source, { ...keys, limit: STUDY_QUERY_LIMIT });
    if (search.truncated) throw new LowdoseError('E_IO', `${source}: the study list is not whole (${search.truncation})${clients.denoising ? '; no study was denoised' : ''}`, { path: source });
    return search.studies.map((s) => ({
      studyInstanceUid: s.studyInstanceUid,
      patientId: s.patientId,
      patientName: s.patientName,
      studyDate: s.date,
      accessionNumber: s.accessionNumber,
      description: s.description,
      modalities: s.modalities,
      series: s.series,
      instances: s.instances,
      url: `${source}/studies/${s.studyInstanceUid}`,
    }));
  } finally {
    await client.close();
  }
}

/** What a query named study by study (an accession number, a StudyInstanceUID) found: none is an error. */
export function unmatchedError(source: string, keys: StudyKeys): LowdoseError {
  const what = keys.accessionNumber !== undefined ? `accession number ${keys.accessionNumber}` : `StudyInstanceUID ${keys.studyInstanceUid}`;
  const others = describeKeys({ ...keys, accessionNumber: undefined, studyInstanceUid: undefined });
  return new LowdoseError('E_NOT_FOUND', `no study on ${source} matches ${what}${others ? ` with ${others}` : ''}`, { path: source });
}

/** Whether the query names a study one by one (an accession number or a StudyInstanceUID). */
export function namesStudy(keys: StudyKeys): boolean {
  return keys.accessionNumber !== undefined || keys.studyInstanceUid !== undefined;
}

/** One query of `info` with identifiers: its keys and the StudyInstanceUIDs it matched. */
export type StudyQueryAnswer = StudyKeys & { readonly studies: string[] };

export interface StudyListResult {
  readonly source: string;
  readonly studies: RemoteStudy[];
  readonly errors: Array<ReturnType<LowdoseError['toJSON']>>;
  /** With accession numbers / StudyInstanceUIDs: one entry per one of them (absent otherwise). */
  readonly queries?: StudyQueryAnswer[];
}

/**
 * `lowdose info <PACS address>`: the studies that match, each once (newest first). With accession
 * numbers / StudyInstanceUIDs, each is its own query; one that matches no study is an E_NOT_FOUND
 * error in `errors` (logged) and the exit code is 1, one that matches several is logged.
 */
export async function infoStudies(address: string, keys: StudyKeys, identifiers: StudyIdentifiers | undefined, clients: StudyQueryClients): Promise<{ result: StudyListResult; exitCode: number }> {
  const source = querySource(address);
  const all = queryKeys(keys, identifiers);
  const byUid = new Map<string, RemoteStudy>();
  const answers: StudyQueryAnswer[] = [];
  const errors: StudyListResult['errors'] = [];
  for (const k of all) {
    const found = await listStudies(address, k, clients);
    for (const s of found) if (!byUid.has(s.studyInstanceUid)) byUid.set(s.studyInstanceUid, s);
    answers.push({ ...k, studies: found.map((s) => s.studyInstanceUid) });
    if (!namesStudy(k)) continue;
    if (found.length === 0) {
      const error = unmatchedError(source, k);
      clients.log(`warning: ${error.message}`);
      errors.push(error.toJSON());
    } else if (found.length > 1) clients.log(`${describeKeys(k)} matches ${found.length} studies on ${source}: ${found.map((s) => s.studyInstanceUid).join(', ')}`);
  }
  const studies = [...byUid.values()].sort((a, b) => b.studyDate.localeCompare(a.studyDate) || a.studyInstanceUid.localeCompare(b.studyInstanceUid));
  const named = all.some(namesStudy);
  return { result: { source, studies, errors, ...(named ? { queries: answers } : {}) }, exitCode: errors.length > 0 ? EXIT_FAILED : EXIT_OK };
}
