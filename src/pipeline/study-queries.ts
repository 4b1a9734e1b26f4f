/**
 * Study queries on a PACS address without a study, over either protocol: C-FIND at STUDY level for
 * `dimse://AET@host:port` (`findStudies`), QIDO-RS `<base>/studies` for a DICOMweb base
 * (`searchStudies`, at most STUDY_QUERY_LIMIT matches). Both answer in one shape (the C-FIND one),
 * and an answer that may lack studies (a capped C-FIND, a QIDO-RS search past the limit or that the
 * server will not page) is an E_IO error, never a part of the list. Accession numbers and
 * StudyInstanceUIDs given one by one are one query each (with the other keys), so a study named
 * that matches none is said for itself; the StudyInstanceUIDs are asked STUDY_UID_BATCH to a
 * query by UID list matching where the PACS does it (studiesOfQueries), each still reported as its
 * own query. Used by `info` and by `denoise` (./pacs-studies.ts).
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

/**
 * StudyInstanceUIDs asked in one query (UID list matching): a C-FIND identifier whose
 * StudyInstanceUID holds them as one multi-valued UI (PS3.4 C.2.2.2.2), or QIDO-RS
 * `StudyInstanceUID=a,b,c` (PS3.18 8.3.4.1). 50 UIDs of up to 64 characters keep a QIDO-RS URL
 * under about 3.3 KB, well within the 8 KB many HTTP servers accept.
 */
export const STUDY_UID_BATCH = 50;

/** The separator of a UID list: C-FIND's value multiplicity, QIDO-RS's comma. */
const uidList = (address: string, uids: readonly string[]): string => uids.join(isDimseUrl(address) ? '\\' : ',');

/**
 * The studies each of `all` matches, in order, as listStudies answers them one by one. The queries
 * of one named StudyInstanceUID each (`--studies-from`) are asked STUDY_UID_BATCH at a time with
 * UID list matching (the other keys alike), each UID given the studies of the answer that carry it.
 * A PACS may not implement it: one that refuses the query (any error: an HTTP 400, a C-FIND failure
 * status), or answers a study the list does not name (it ignored the key), has that batch and every
 * later one asked one UID at a time, as is said on stderr; a UID the list's answer lacks is asked on
 * its own before it counts as matching nothing (a PACS that took the list as one literal value
 * answers none). So a PACS without list matching costs one query per batch more than one per study.
 */
export async function studiesOfQueries(address: string, all: readonly StudyKeys[], clients: StudyQueryClients): Promise<RemoteStudy[][]> {
  const found: Array<RemoteStudy[] | undefined> = all.map(() => undefined);
  const byUid = all.map((k, i) => ({ k, i })).filter(({ k }) => k.studyInstanceUid !== undefined && k.accessionNumber === undefined);
  // Batches of queries that differ only in their UID (they share the run's other keys).
  let listMatching = byUid.length > 1;
  for (let start = 0; listMatching && start < byUid.length; start += STUDY_UID_BATCH) {
    const batch = byUid.slice(start, start + STUDY_UID_BATCH);
    if (batch.length < 2) break;
    const uids = batch.map(({ k }) => k.studyInstanceUid!);
    const { studyInstanceUid: _one, ...others } = batch[0]!.k;
    let answer: RemoteStudy[];
    try {
      answer = await listStudies(address, { ...others, studyInstanceUid: uidList(address, uids) }, clients);
    } catch (error) {
      if (error instanceof LowdoseError && error.code === 'E_CANCELLED') throw error;
      clients.log(`${querySource(address)}: a query of ${uids.length} StudyInstanceUIDs in one list failed (${error instanceof Error ? error.message : String(error)}): asking one StudyInstanceUID at a time`);
      listMatching = false;
      break;
    }
    const asked = new Set(uids);
    const stranger = answer.find((s) => !asked.has(s.studyInstanceUid));
    if (stranger) {
      clients.log(`${querySource(address)}: a query of ${uids.length} StudyInstanceUIDs in one list answered study ${stranger.studyInstanceUid}, which it does not name (no UID list matching): asking one StudyInstanceUID at a time`);
      listMatching = false;
      break;
    }
    for (const { k, i } of batch) {
      const studies = answer.filter((s) => s.studyInstanceUid === k.studyInstanceUid);
      if (studies.length > 0) found[i] = studies;
    }
  }
  for (const [i, k] of all.entries()) found[i] ??= await listStudies(address, k, clients);
  return found as RemoteStudy[][];
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
  const listed = await studiesOfQueries(address, all, clients);
  for (const [index, k] of all.entries()) {
    const found = listed[index]!;
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
