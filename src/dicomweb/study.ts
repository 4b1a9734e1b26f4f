/**
 * Study-level DICOMweb operations: search a server's studies and list a study's series (QIDO-RS),
 * pull a series' instances into a folder (WADO-RS, a few instances at a time, resumable) and
 * store a folder's series (STOW-RS).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { LowdoseError } from '../errors.js';
import { httpStatusOf, NotJsonAnswer, NotQidoAnswer, type DicomJson, type DicomwebClient } from './client.js';
import type { DicomwebTarget } from './url.js';
import { scalarText } from '../util/text.js';
import { makeOutputFolder, writeFileAtomic } from '../util/fs.js';
import { removeUnlisted, seriesCacheDir } from '../util/pull-cache.js';
import { checkSeriesShortfall, isDenoiseOutput, storeStopped, studyDateMatch, type PulledSeries, type RemoteSeries, type SeriesListShortfall, type SeriesShortfall, type StoredSeries, type StudyKeys } from '../util/remote-series.js';

/** The shapes shared with the other protocol (src/util/remote-series.ts), where this module's importers find them. */
export type { PulledSeries, RemoteSeries, StoredSeries } from '../util/remote-series.js';

function first(dataset: DicomJson, tag: string): unknown {
  return dataset[tag]?.Value?.[0];
}

function text(dataset: DicomJson, tag: string): string {
  const value = first(dataset, tag);
  if (value === undefined || value === null) return '';
  if (typeof value === 'object' && 'Alphabetic' in value) return scalarText(value.Alphabetic);
  return scalarText(value);
}

export interface RemoteStudy {
  readonly studyInstanceUid: string;
  /** DICOM PN, components separated by `^`. */
  readonly patientName: string;
  readonly patientId: string;
  /** DICOM DA (YYYYMMDD) or ''. */
  readonly date: string;
  /** AccessionNumber, or ''. */
  readonly accessionNumber: string;
  readonly description: string;
  /** ModalitiesInStudy. */
  readonly modalities: string[];
  /** NumberOfStudyRelatedSeries, when the server says. */
  readonly series: number | null;
  /** NumberOfStudyRelatedInstances, when the server says. */
  readonly instances: number | null;
}

export interface StudyQuery extends StudyKeys {
  /** Most studies returned (default 100). */
  readonly limit?: number;
}

/** A study search's answer, and whether more studies match than it lists. */
export interface StudySearch {
  /** At most `limit`, newest first. */
  readonly studies: RemoteStudy[];
  /**
   * True when the list may lack matching studies: more match than `limit`, or the server caps its
   * answers and would not page them (offset refused or ignored).
   */
  readonly truncated: boolean;
  /** Why, in words, ending with what to do (narrow the search); null when `truncated` is false. */
  readonly truncation: string | null;
}

/** Study attributes asked for on top of the required ones (PS3.18 Table 6.7.1-2a). */
const STUDY_FIELDS = ['00081030', '00080061', '00201206', '00201208'];

/** The QIDO-RS study search URL of a query (`<base>/studies?PatientID=...&StudyDate=from-to`). */
export function studySearchUrl(base: string, query: StudyQuery): string {
  const studyDate = studyDateMatch(query);
  const params = new URLSearchParams();
  if (query.patientId) params.set('PatientID', query.patientId);
  if (query.accessionNumber) params.set('AccessionNumber', query.accessionNumber);
  if (query.studyInstanceUid) params.set('StudyInstanceUID', query.studyInstanceUid);
  if (studyDate !== null) params.set('StudyDate', studyDate);
  for (const field of STUDY_FIELDS) params.append('includefield', field);
  params.set('limit', String(query.limit ?? 100));
  return `${base}/studies?${params.toString()}`;
}

/**
 * The studies on a DICOMweb server that match the query (QIDO-RS), at most `limit`, newest first,
 * and whether more match. Not every match: a search for any patient matches every study of a
 * clinical archive, which no one reads through; the user narrows the search instead, so the answer
 * must say when there is more. One match beyond `limit` is asked for to know that, page by page
 * (qidoAll) so a server that caps one answer below `limit` does not cut the list without a word.
 * The server's order is its own: beyond `limit`, the ones listed are not necessarily the newest.
 */
export async function searchStudies(client: DicomwebClient, base: string, query: StudyQuery = {}): Promise<StudySearch> {
  const limit = query.limit ?? 100;
  const { matches: found, unpaged } = await qidoAll(client, studySearchUrl(base, { ...query, limit: limit + 1 }), '0020000D', limit + 1);
  const count = (dataset: DicomJson, tag: string): number | null => {
    const value = Number(first(dataset, tag));
    return first(dataset, tag) === undefined || !Number.isFinite(value) ? null : value;
  };
  const studies = found
    .map((s) => ({
      studyInstanceUid: text(s, '0020000D'),
      patientName: text(s, '00100010'),
      patientId: text(s, '00100020'),
      date: text(s, '00080020'),
      accessionNumber: text(s, '00080050'),
      description: text(s, '00081030'),
      modalities: (s['00080061']?.Value ?? []).map((m) => scalarText(m)).filter(Boolean),
      series: count(s, '00201206'),
      instances: count(s, '00201208'),
    }))
    .filter((s) => s.studyInstanceUid !== '')
    .sort((a, b) => b.date.localeCompare(a.date) || a.patientId.localeCompare(b.patientId));
  if (studies.length > limit) {
    const truncation = `more than ${limit} studies match: these are ${limit} of them, newest first, not necessarily the newest ${limit} on the server; narrow the search`;
    return { studies: studies.slice(0, limit), truncated: true, truncation };
  }
  if (unpaged !== null) {
    return { studies, truncated: true, truncation: `${unpagedInWords(unpaged)}: it may hold more matching studies than the ${studies.length} it listed; narrow the search` };
  }
  return { studies, truncated: false, truncation: null };
}

const studyUrl = (target: Pick<DicomwebTarget, 'base' | 'studyInstanceUid'>): string => `${target.base}/studies/${target.studyInstanceUid}`;

/**
 * Why a paged QIDO-RS listing may lack matches the server holds: it answered HTTP 400 to the page
 * asked for with `offset` (`refused`: some servers do not implement the parameter), or answered it
 * with matches already listed (`ignored`). Null: every page asked for was answered.
 */
export type UnpagedReason = 'refused' | 'ignored';

/** In words, for a log line or the viewer: what the server did with `offset`. */
export function unpagedInWords(reason: UnpagedReason): string {
  return reason === 'refused' ? 'the server refused to page its answer (HTTP 400 to the offset parameter)' : 'the server ignored the offset parameter (it answered the next page with the same matches)';
}

interface QidoListing {
  readonly matches: DicomJson[];
  readonly unpaged: UnpagedReason | null;
}

/**
 * Every match of a QIDO-RS query, asked for page by page. A server may cap one answer (QIDO-RS
 * lets it return fewer matches than there are, with a Warning header; `limit`; Orthanc's
 * LimitFindResults / LimitFindInstances): the next page is asked for with `offset` until `expected`
 * matches have come (when the caller knows how many: NumberOfSeriesRelatedInstances, or as many as
 * it wants), or a page brings nothing new (empty: the end). A server that will not page (`offset`
 * answered with 400, or ignored) leaves the listing with what its first pages brought, said in
 * `unpaged`: the caller decides whether that list is known complete (a count to compare with) or
 * must be reported as possibly capped. Matches are told apart by the UID under `uidTag`; one
 * without it is dropped.
 */
async function qidoAll(client: DicomwebClient, url: string, uidTag: string, expected: number | null): Promise<QidoListing> {
  const found = new Map<string, DicomJson>();
  const join = url.includes('?') ? '&' : '?';
  for (;;) {
    let page: DicomJson[];
    try {
      page = await client.qido(found.size > 0 ? `${url}${join}offset=${found.size}` : url);
    } catch (error) {
      if (found.size > 0 && httpStatusOf(error) === 400) return { matches: [...found.values()], unpaged: 'refused' };
      throw error;
    }
    const before = found.size;
    for (const match of page) {
      const uid = text(match, uidTag);
      if (uid && !found.has(uid)) found.set(uid, match);
    }
    if (expected !== null && found.size >= expected) break;
    if (found.size === before) return { matches: [...found.values()], unpaged: page.length > 0 && before > 0 ? 'ignored' : null };
  }
  return { matches: [...found.values()], unpaged: null };
}

/** A study's series as QIDO-RS lists them, and whether that list may lack some. */
export interface SeriesListing {
  readonly series: RemoteSeries[];
  /**
   * Null when the list is known to be whole (every page was answered, or the server would not page
   * and the study's NumberOfStudyRelatedSeries equals what it listed); else, in words, why it may
   * lack series ("the server lists 1 of the study's 2 series: ...").
   */
  readonly incomplete: string | null;
  /** With `incomplete`: the study's NumberOfStudyRelatedSeries (null when the server does not say) and how many were listed. */
  readonly counts: SeriesListShortfall | null;
}

/**
 * The series of the target (all of the study's, or the one named), from QIDO-RS, page by page
 * (qidoAll): with one request, a server that caps its answers left series out of a study URL's
 * run without a word. A server that will not page (offset answered with 400, or ignored) does
 * not fail the listing: what it listed is compared with the study's NumberOfStudyRelatedSeries
 * (one more QIDO-RS studies query), and a shortfall, or no count to compare with, is `incomplete`.
 */
export async function listStudySeries(client: DicomwebClient, target: DicomwebTarget): Promise<SeriesListing> {
  const query = target.seriesInstanceUid ? `?SeriesInstanceUID=${encodeURIComponent(target.seriesInstanceUid)}` : '';
  const { matches: found, unpaged } = await qidoAll(client, `${studyUrl(target)}/series${query}`, '0020000E', target.seriesInstanceUid ? 1 : null);
  if (found.length === 0) {
    const what = target.seriesInstanceUid ? `series ${target.seriesInstanceUid} of study` : 'study';
    throw new LowdoseError('E_NOT_FOUND', `${what} ${target.studyInstanceUid} is not on ${target.base}`);
  }
  const series = found.map((s) => {
    const seriesInstanceUid = text(s, '0020000E');
    const count = Number(first(s, '00201209'));
    const number = Number(first(s, '00200011'));
    return {
      studyInstanceUid: target.studyInstanceUid,
      seriesInstanceUid,
      modality: text(s, '00080060'),
      description: text(s, '0008103E'),
      seriesNumber: Number.isFinite(number) ? number : null,
      instances: Number.isFinite(count) ? count : null,
      url: `${studyUrl(target)}/series/${seriesInstanceUid}`,
    };
  });
  if (unpaged === null) return { series, incomplete: null, counts: null };
  const total = await studySeriesCount(client, target);
  if (total !== null && total <= series.length) return { series, incomplete: null, counts: null };
  const listed = total === null ? `the server lists ${series.length} series of study ${target.studyInstanceUid} and does not say how many it holds` : `the server lists ${series.length} of the ${total} series of study ${target.studyInstanceUid}`;
  return { series, incomplete: `${listed}: ${unpagedInWords(unpaged)}, so a capped answer cannot be completed`, counts: { expected: total, received: series.length } };
}

/** The study's NumberOfStudyRelatedSeries (QIDO-RS studies query), or null when the server does not say. */
async function studySeriesCount(client: DicomwebClient, target: DicomwebTarget): Promise<number | null> {
  const [study] = await client.qido(`${target.base}/studies?StudyInstanceUID=${encodeURIComponent(target.studyInstanceUid)}&includefield=00201206`);
  const value = study === undefined ? undefined : first(study, '00201206');
  return value === undefined || !Number.isFinite(Number(value)) ? null : Number(value);
}

/** As listStudySeries, with a list that may lack series logged (a CLI run goes on with what was listed). */
export async function listSeries(client: DicomwebClient, target: DicomwebTarget, log?: (message: string) => void): Promise<RemoteSeries[]> {
  const { series, incomplete } = await listStudySeries(client, target);
  if (incomplete !== null) log?.(`${incomplete}; going on with the ${series.length} listed`);
  return series;
}

export interface PullOptions {
  /** Instances retrieved at once (default 4). */
  readonly concurrency?: number;
  /** Pull a series listed short of its NumberOfSeriesRelatedInstances instead of refusing it (checkSeriesShortfall). */
  readonly allowIncomplete?: boolean;
  readonly log?: (message: string) => void;
  readonly onInstance?: (done: number, total: number) => void;
  /** Stop (E_CANCELLED) before the next instances are asked for; the ones in flight land first. */
  readonly signal?: AbortSignal;
}

/**
 * The SOP Instance UIDs of a series from QIDO-RS, page by page (qidoAll) until the series'
 * NumberOfSeriesRelatedInstances have come, so a long series is not pulled in part without a word.
 * A list still short of that count (a server that caps its answers and will not page) goes through
 * the shortfall rule (checkSeriesShortfall): refused before anything is retrieved, or with
 * `allowIncomplete` pulled as listed and its shortfall returned.
 */
async function listInstanceUids(client: DicomwebClient, series: RemoteSeries, options: PullOptions): Promise<{ uids: string[]; whole: boolean; shortfall: SeriesShortfall | null }> {
  const { uids, unpaged } = await listSeriesInstances(client, series);
  const what = `its QIDO-RS instance list holds ${uids.length}${unpaged === null ? '' : ` (${unpagedInWords(unpaged)})`}`;
  return { uids, whole: unpaged === null, shortfall: checkSeriesShortfall(series, series.instances, uids.length, what, options) };
}

/**
 * The SOP Instance UIDs of a series' QIDO-RS instance list, page by page (qidoAll) until its
 * NumberOfSeriesRelatedInstances have come, and `unpaged`, why it may lack some (a server that
 * caps its answers and will not page; null when every page asked for was answered).
 */
export async function listSeriesInstances(client: DicomwebClient, series: RemoteSeries): Promise<{ uids: string[]; unpaged: UnpagedReason | null }> {
  const listing = await qidoAll(client, `${series.url}/instances`, '00080018', series.instances);
  return { uids: listing.matches.map((instance) => text(instance, '00080018')), unpaged: listing.unpaged };
}

/**
 * Retrieves every instance of the series into `dir/<series hash>/<SOPInstanceUID>.dcm`, each
 * written to a temporary name and renamed, so a file that exists is whole: a rerun after a
 * failure retrieves only what is missing. The temporary name is this write's own (hidden, random:
 * util/fs.ts), because two runs of one study pull into one folder side by side
 * (util/folder-claims.ts) and may write the same instance at once: with one shared name the
 * second truncated the first's file, which the first then renamed into place half written, and
 * the second's rename failed.
 */
export async function pullSeries(
  client: DicomwebClient,
  series: RemoteSeries,
  dir: string,
  options: PullOptions = {},
): Promise<PulledSeries> {
  const log = options.log ?? (() => {});
  const { uids, whole, shortfall } = await listInstanceUids(client, series, { ...options, log });
  const seriesDir = seriesCacheDir(dir, series.seriesInstanceUid);
  await makeOutputFolder(seriesDir);
  // Files of an earlier run the PACS no longer lists are stale; a capped list cannot tell them.
  const removedStale = whole ? (await removeUnlisted(seriesDir, series.seriesInstanceUid, uids, log)).length : 0;
  const missing = uids.filter((uid) => !existsSync(path.join(seriesDir, `${uid}.dcm`)));
  if (missing.length < uids.length) log(`series ${series.seriesInstanceUid}: ${uids.length - missing.length} of ${uids.length} instance(s) already retrieved`);
  let done = uids.length - missing.length;
  const concurrency = Math.max(1, options.concurrency ?? 4);
  try {
    for (let start = 0; start < missing.length; start += concurrency) {
      if (options.signal?.aborted) throw new LowdoseError('E_CANCELLED', 'the run was stopped');
      // Settled, not Promise.all: the batch's other requests finish (and their files land) before a failure is reported.
      const results = await Promise.allSettled(
        missing.slice(start, start + concurrency).map(async (uid) => {
          const bytes = await client.retrieveInstance(`${series.url}/instances/${uid}`);
          await writeFileAtomic(path.join(seriesDir, `${uid}.dcm`), bytes);
          done += 1; // not inside `onInstance?.(...)`: optional chaining would skip it without a listener
          options.onInstance?.(done, uids.length);
        }),
      );
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    }
  } catch (error) {
    const e = error instanceof LowdoseError ? error : new LowdoseError('E_IO', String(error));
    throw new LowdoseError(
      e.code,
      `retrieving series ${series.seriesInstanceUid} failed with ${done} of ${uids.length} instance(s) on disk: ${e.message}; run again to retrieve the rest`,
      { path: e.path ?? series.url, cause: error },
    );
  }
  return {
    seriesInstanceUid: series.seriesInstanceUid,
    url: series.url,
    modality: series.modality,
    instances: uids.length,
    retrieved: missing.length,
    dir: seriesDir,
    ...(shortfall !== null ? { incomplete: shortfall } : {}),
    ...(removedStale > 0 ? { removedStale } : {}),
  };
}

/**
 * Checks that `base` answers as a DICOMweb service before any work is done for it (`--stow`): one
 * QIDO-RS studies query with limit=1, through the same client (authentication, CA, timeout and
 * retries of a transient failure). A base that cannot be reached, answers an error, or answers
 * something other than a JSON array of datasets (not a DICOMweb service) is E_USAGE: otherwise it
 * would only be found once every series had been denoised.
 */
export async function checkStowDestination(client: DicomwebClient, base: string): Promise<void> {
  let answer: unknown;
  try {
    answer = await client.qido(`${base}/studies?limit=1`);
  } catch (error) {
    const reason =
      error instanceof NotJsonAnswer
        ? 'its QIDO-RS studies query did not answer JSON'
        : error instanceof NotQidoAnswer
          ? 'its QIDO-RS studies query did not answer a list of DICOM JSON datasets'
          : (error as Error).message;
    throw new LowdoseError('E_USAGE', `--stow ${base} is not a usable DICOMweb base: ${reason}; nothing was done`, { path: base, cause: error });
  }
  if (!Array.isArray(answer) || answer.some((item) => typeof item !== 'object' || item === null || Array.isArray(item))) {
    throw new LowdoseError('E_USAGE', `--stow ${base} is not a usable DICOMweb base: its QIDO-RS studies query did not answer a list of DICOM JSON datasets; nothing was done`, { path: base });
  }
}

export interface StowSeriesOptions {
  /** Instances per STOW-RS request (default 16). */
  readonly batch?: number;
  readonly log?: (message: string) => void;
}

/**
 * Stores the files of one series with STOW-RS, `batch` instances per request. Storing the same
 * SOP Instance UIDs again is harmless, so a rerun after a failure completes the series; the
 * error of a failed run says how many instances the server holds.
 */
export async function stowSeries(
  client: DicomwebClient,
  base: string,
  files: readonly string[],
  meta: { kind: StoredSeries['kind']; studyInstanceUid: string; seriesInstanceUid: string },
  options: StowSeriesOptions = {},
): Promise<StoredSeries> {
  const url = `${base}/studies/${meta.studyInstanceUid}`;
  const batch = Math.max(1, options.batch ?? 16);
  let stored = 0;
  for (let start = 0; start < files.length; start += batch) {
    const chunk = files.slice(start, start + batch);
    let result;
    try {
      result = await client.stow(url, await Promise.all(chunk.map((f) => readFile(f))));
    } catch (error) {
      const e = error instanceof LowdoseError ? error : new LowdoseError('E_IO', String(error));
      if (e.code === 'E_CANCELLED') throw storeStopped(meta, url, { stored, of: files.length, unanswered: chunk.length, by: e.message, cause: error });
      throw new LowdoseError(
        e.code,
        `storing ${meta.kind} series ${meta.seriesInstanceUid} to ${url} failed after ${stored} of ${files.length} instance(s): ${e.message}; run again to complete it`,
        { path: url, cause: error },
      );
    }
    if (result.failed.length > 0) {
      const reasons = [...new Set(result.failed.map((f) => (f.reason === null ? '?' : `0x${f.reason.toString(16)}`)))].join(', ');
      throw new LowdoseError(
        'E_IO',
        `${url} refused ${result.failed.length} of ${chunk.length} instance(s) of ${meta.kind} series ${meta.seriesInstanceUid} (failure reason ${reasons}); ${stored + result.stored.length} of ${files.length} stored`,
        { path: url },
      );
    }
    stored += chunk.length;
    options.log?.(`stored ${stored}/${files.length} instance(s) of ${meta.kind} series ${meta.seriesInstanceUid}`);
  }
  return { kind: meta.kind, studyInstanceUid: meta.studyInstanceUid, seriesInstanceUid: meta.seriesInstanceUid, url: `${url}/series/${meta.seriesInstanceUid}`, instances: stored };
}

/**
 * Whether a series is one lowdose stored (isDenoiseOutput: its DerivationDescription, else its
 * SeriesDescription): a study URL denoises the study's originals, not the derived series an
 * earlier `--stow` put next to them.
 */
export async function isLowdoseDerived(client: DicomwebClient, series: RemoteSeries): Promise<boolean> {
  const [instance] = await client.qido(`${series.url}/instances?includefield=00082111&limit=1`);
  return instance !== undefined && isDenoiseOutput(series, text(instance, '00082111'));
}
