/**
 * Study-level DIMSE operations, study root: list studies, series and instances (C-FIND), pull a
 * series into a folder (C-GET on the same association, or C-MOVE to our storage SCP; resumable,
 * each file written whole) and store a folder's series (C-STORE, every response checked).
 */
import { lookup } from 'node:dns/promises';
import { existsSync } from 'node:fs';
import { readFile, rename } from 'node:fs/promises';
import path from 'node:path';
import { splitPart10 } from '../dicom/part10.js';
import { LowdoseError } from '../errors.js';
import { makeOutputFolder, temporaryPathFor } from '../util/fs.js';
import { oneAtATime } from '../util/one-at-a-time.js';
import { scalarText } from '../util/text.js';
import { instancesOnDisk, removeUnlisted, seriesCacheDir } from '../util/pull-cache.js';
import { checkSeriesShortfall, isDenoiseOutput, storeStopped, studyDateMatch, type PulledSeries, type RemoteSeries, type StoredSeries, type StudyKeys } from '../util/remote-series.js';
import { AFTER_CANCEL, associate, dimse, isPending, STATUS_CANCEL, STATUS_SUCCESS, STORE_WARNINGS, statusHex, type DimseClientOptions, type DimseRequest } from './association.js';
import type { InstanceStore } from './receive.js';
import { NOT_PACS_ADDRESS, OVER_ASSOCIATION_LIMIT, startStoreScp, TLS_REFUSAL } from './store-scp.js';
import { dimseUrl, type DimsePeer } from './url.js';

/** The shapes shared with the other protocol (src/util/remote-series.ts), where this module's importers find them. */
export type { PulledSeries, RemoteSeries, StoredSeries } from '../util/remote-series.js';

type DimseDataset = InstanceType<(typeof dimse)['Dataset']>;
interface Answer {
  getStatus(): number;
  hasDataset(): boolean;
  getDataset(): DimseDataset | undefined;
  getCommandDataset(): DimseDataset;
}
interface RetrieveAnswer extends Answer {
  getCompleted(): number;
  getFailures(): number;
  getWarnings(): number;
  getRemaining(): number;
}

export interface RemoteStudy {
  readonly studyInstanceUid: string;
  readonly patientId: string;
  readonly patientName: string;
  readonly studyDate: string;
  readonly accessionNumber: string;
  readonly description: string;
  readonly modalities: string[];
  readonly series: number | null;
  readonly instances: number | null;
  readonly url: string;
}

export interface RemoteInstance {
  readonly sopInstanceUid: string;
  readonly derivationDescription: string;
}

function text(dataset: DimseDataset | undefined, keyword: string): string {
  const value = dataset?.getElement(keyword) as unknown;
  if (value === undefined || value === null) return '';
  const one = (v: unknown): string => (typeof v === 'object' && v !== null && 'Alphabetic' in v ? scalarText(v.Alphabetic) : scalarText(v));
  return Array.isArray(value) ? value.map(one).join('\\') : one(value);
}

function count(dataset: DimseDataset | undefined, keyword: string): number | null {
  const value = Number(text(dataset, keyword));
  return text(dataset, keyword) !== '' && Number.isFinite(value) ? value : null;
}


/**
 * Runs one C-FIND: its matches, and whether the PACS stopped it at its cap. 0xFE00 (matching
 * terminated, cancel) is what a PACS that caps its answers sends once the cap is reached (Orthanc:
 * LimitFindInstances / LimitFindResults): the matches are the first ones only. Any other final
 * status than success is an E_IO error.
 */
async function findUpToCap(peer: DimsePeer, request: DimseRequest, options: DimseClientOptions): Promise<{ matches: DimseDataset[]; capped: boolean }> {
  const matches: DimseDataset[] = [];
  const { capped } = await eachMatch(peer, request, options, (dataset) => matches.push(dataset));
  return { matches, capped };
}

/**
 * findUpToCap with each match handed to `take` as it comes, none kept here: a long answer (every
 * study of an archive) in the memory the caller keeps. Resolves to how many matched and whether
 * the PACS stopped at its cap. With `stopAfter`, the C-FIND is cancelled (C-CANCEL) once that many
 * matches came, and later answers are neither counted nor handed on: `stopped` says so, and
 * `matched` is then a lower bound.
 */
async function eachMatch(
  peer: DimsePeer,
  request: DimseRequest,
  options: DimseClientOptions,
  take: (dataset: DimseDataset) => void,
  stopAfter?: number,
): Promise<{ matched: number; capped: boolean; stopped: boolean }> {
  let matched = 0;
  let final: Answer | null = null;
  const enough = new AbortController();
  request.on('response', (response: Answer) => {
    if (enough.signal.aborted) return;
    if (isPending(response.getStatus())) {
      const dataset = response.getDataset();
      if (response.hasDataset() && dataset) {
        matched++;
        take(dataset);
        if (stopAfter !== undefined && matched >= stopAfter) enough.abort(new LowdoseError('E_CANCELLED', `${matched} matches came`));
      }
    } else final = response;
  });
  const signal = stopAfter === undefined ? options.signal : options.signal ? AbortSignal.any([options.signal, enough.signal]) : enough.signal;
  try {
    // The answers already on their way when the C-CANCEL is sent are taken (and dropped), up to as
    // many again as were wanted; a PACS that sends more gets an A-ABORT (associate).
    await associate(peer, [request], { ...options, purpose: 'C-FIND', ...(signal ? { signal } : {}), ...(stopAfter !== undefined ? { afterCancel: Math.max(stopAfter, AFTER_CANCEL) } : {}) });
  } catch (error) {
    if (enough.signal.aborted && !options.signal?.aborted && error instanceof LowdoseError && error.code === 'E_CANCELLED') return { matched, capped: false, stopped: true };
    throw error;
  }
  if (enough.signal.aborted) return { matched, capped: false, stopped: true };
  const status = (final as Answer | null)?.getStatus();
  if (status === STATUS_CANCEL) return { matched, capped: true, stopped: false };
  if (status !== STATUS_SUCCESS) {
    const comment = text((final as Answer | null)?.getCommandDataset(), 'ErrorComment');
    throw new LowdoseError('E_IO', `${dimseUrl(peer)}: C-FIND failed with status ${statusHex(status ?? -1)}${comment ? ` (${comment})` : ''}`, { path: dimseUrl(peer) });
  }
  return { matched, capped: false, stopped: false };
}

/** Runs one C-FIND and returns its matches; a list the PACS cut at its cap, or a final status other than success, is an E_IO error. */
async function find(peer: DimsePeer, request: DimseRequest, options: DimseClientOptions): Promise<DimseDataset[]> {
  const { matches, capped } = await findUpToCap(peer, request, options);
  if (capped) {
    throw new LowdoseError(
      'E_IO',
      `${dimseUrl(peer)}: C-FIND failed with status ${statusHex(STATUS_CANCEL)}: the PACS stopped after ${matches.length} match(es), so it caps how many results one C-FIND returns (Orthanc: LimitFindInstances, LimitFindResults); raise that cap`,
      { path: dimseUrl(peer) },
    );
  }
  return matches;
}

/**
 * The studies on the PACS that match the keys (C-FIND at STUDY level; no keys: every study). A PACS
 * that caps C-FIND answers (0xFE00) stops the list at its cap, and unlike a study's series list no
 * narrower query is sure to bring the rest: lowdose can split by no key every study has a value
 * for (StudyDate and PatientID may be empty, which a range or wildcard does not match, and UIDs
 * take no wildcards), so a split could leave studies out without a word. A capped answer is an
 * E_IO error that names the cap and says how to stay under it (narrower keys, one study's address).
 */
export async function findStudies(peer: DimsePeer, options: DimseClientOptions, keys: StudyKeys = {}): Promise<RemoteStudy[]> {
  const studyDate = studyDateMatch(keys);
  const { matches: found, capped } = await findUpToCap(peer, studyFindRequest(keys), options);
  if (capped) {
    const narrowed = keys.patientId !== undefined || studyDate !== null || keys.accessionNumber !== undefined;
    throw new LowdoseError(
      'E_IO',
      `${dimseUrl(peer)}: the PACS caps STUDY-level C-FIND answers: it stopped the study list after ${found.length} match(es) (status ${statusHex(STATUS_CANCEL)}; Orthanc: LimitFindResults), so the list would lack studies; narrow it${narrowed ? ' further' : ''} with --patient-id / --from / --to, give a study's address (dimse://.../<StudyInstanceUID>), or raise that cap`,
      { path: dimseUrl(peer) },
    );
  }
  return found.map((s) => studyOf(peer, s)).sort(newestStudyFirst);
}

/** The STUDY-level C-FIND of the keys (an invalid date range is E_USAGE), asking for what a study list shows. */
function studyFindRequest(keys: StudyKeys): DimseRequest {
  return dimse.requests.CFindRequest.createStudyFindRequest({
    // A UID list (`a\b\c`, PS3.4 C.2.2.2.2), each UID its own value: one string holding the backslashes is sent as one value.
    StudyInstanceUID: keys.studyInstanceUid?.includes('\\') ? keys.studyInstanceUid.split('\\') : (keys.studyInstanceUid ?? ''),
    PatientID: keys.patientId ?? '',
    PatientName: '',
    StudyDate: studyDateMatch(keys) ?? '',
    AccessionNumber: keys.accessionNumber ?? '',
    StudyDescription: '',
    ModalitiesInStudy: '',
    NumberOfStudyRelatedSeries: '',
    NumberOfStudyRelatedInstances: '',
  });
}

function studyOf(peer: DimsePeer, s: DimseDataset): RemoteStudy {
  const studyInstanceUid = text(s, 'StudyInstanceUID');
  return {
    studyInstanceUid,
    patientId: text(s, 'PatientID'),
    patientName: text(s, 'PatientName'),
    studyDate: text(s, 'StudyDate'),
    accessionNumber: text(s, 'AccessionNumber'),
    description: text(s, 'StudyDescription'),
    modalities: text(s, 'ModalitiesInStudy').split('\\').filter(Boolean),
    series: count(s, 'NumberOfStudyRelatedSeries'),
    instances: count(s, 'NumberOfStudyRelatedInstances'),
    url: dimseUrl(peer, studyInstanceUid),
  };
}

/** Newest StudyDate first (an empty date last), then by StudyInstanceUID. */
const newestStudyFirst = (a: RemoteStudy, b: RemoteStudy): number => b.studyDate.localeCompare(a.studyDate) || a.studyInstanceUid.localeCompare(b.studyInstanceUid);

/** A bounded study search's answer (searchStudies). */
export interface StudySearchAnswer {
  /** The newest `limit` of the matches that came (newestStudyFirst). */
  readonly studies: RemoteStudy[];
  /** How many matches came: all that match, unless `stoppedAtLimit` (then at least this many match). */
  readonly matched: number;
  /** Whether the PACS stopped the C-FIND at its cap (0xFE00): more studies may match than came. */
  readonly capped: boolean;
  /**
   * Whether lowdose cancelled the C-FIND (C-CANCEL) once `limit` + 1 matches had come: more than
   * `limit` match, `matched` (= `limit` + 1) is a lower bound, and `studies` are the newest of
   * those that came, not necessarily of all.
   */
  readonly stoppedAtLimit: boolean;
}

/**
 * Up to `limit` studies matching the keys (C-FIND at STUDY level), newest first, how many matched,
 * and whether the PACS stopped at its cap: the viewer's study search, which shows a page of studies
 * and says when there are more. C-FIND has no limit of its own: once `limit` + 1 matches have come
 * (enough to say that more match than are listed) the C-FIND is cancelled with C-CANCEL (PS3.7
 * 9.3.2.3) and the answers still on their way are dropped, so a search without keys on a large
 * archive costs neither the time of its whole answer nor memory for every study.
 */
export async function searchStudies(peer: DimsePeer, options: DimseClientOptions, keys: StudyKeys, limit: number): Promise<StudySearchAnswer> {
  const kept: RemoteStudy[] = [];
  const { matched, capped, stopped } = await eachMatch(peer, studyFindRequest(keys), options, (s) => kept.push(studyOf(peer, s)), limit + 1);
  return { studies: kept.sort(newestStudyFirst).slice(0, limit), matched, capped, stoppedAtLimit: stopped };
}

/** When the PACS caps a study's SERIES-level C-FIND: ask again for each of these modalities alone. */
export interface NarrowByModality {
  readonly modalities: readonly string[];
  readonly log: (message: string) => void;
}

/**
 * The series of a study (or the one named), from C-FIND at SERIES level; E_NOT_FOUND when none.
 * A PACS that caps C-FIND answers (0xFE00) leaves series out: with `narrow`, the study is asked
 * again once per modality (Modality matching, a narrower query that may stay under the cap), and
 * the answer lists only those modalities' series; a query the PACS still caps is an E_IO error.
 */
export async function findSeries(peer: DimsePeer, studyInstanceUid: string, seriesInstanceUid: string | null, options: DimseClientOptions, narrow?: NarrowByModality): Promise<RemoteSeries[]> {
  const query = (modality: string) => seriesFindRequest(studyInstanceUid, seriesInstanceUid, modality);
  let found: DimseDataset[];
  const all = narrow && seriesInstanceUid === null ? await findUpToCap(peer, query(''), options) : { matches: await find(peer, query(''), options), capped: false };
  if (!all.capped) found = all.matches;
  else {
    narrow!.log(`${dimseUrl(peer, studyInstanceUid)}: the PACS stopped the series list after ${all.matches.length} match(es) (it caps C-FIND answers); asking for the ${narrow!.modalities.join(' and ')} series alone`);
    found = [];
    for (const modality of narrow!.modalities) found.push(...(await find(peer, query(modality), options)));
    if (found.length === 0) {
      throw new LowdoseError('E_NOT_FOUND', `no ${narrow!.modalities.join(' or ')} series in study ${studyInstanceUid} on ${dimseUrl(peer)}`, { path: dimseUrl(peer, studyInstanceUid) });
    }
  }
  if (found.length === 0) throw seriesNotFound(peer, studyInstanceUid, seriesInstanceUid);
  return seriesOf(peer, studyInstanceUid, found);
}

function seriesNotFound(peer: DimsePeer, studyInstanceUid: string, seriesInstanceUid: string | null): LowdoseError {
  const what = seriesInstanceUid ? `series ${seriesInstanceUid} of study` : 'study';
  return new LowdoseError('E_NOT_FOUND', `${what} ${studyInstanceUid} is not on ${dimseUrl(peer)}`, { path: dimseUrl(peer, studyInstanceUid, seriesInstanceUid ?? undefined) });
}

const seriesFindRequest = (studyInstanceUid: string, seriesInstanceUid: string | null, modality: string): DimseRequest =>
  dimse.requests.CFindRequest.createSeriesFindRequest({
    StudyInstanceUID: studyInstanceUid,
    SeriesInstanceUID: seriesInstanceUid ?? '',
    Modality: modality,
    SeriesDescription: '',
    SeriesNumber: '',
    NumberOfSeriesRelatedInstances: '',
  });

/** SERIES-level C-FIND matches as series, by SeriesNumber then SeriesInstanceUID. */
function seriesOf(peer: DimsePeer, studyInstanceUid: string, found: readonly DimseDataset[]): RemoteSeries[] {
  return found
    .map((s) => {
      const uid = text(s, 'SeriesInstanceUID');
      return {
        studyInstanceUid,
        seriesInstanceUid: uid,
        modality: text(s, 'Modality'),
        description: text(s, 'SeriesDescription'),
        seriesNumber: count(s, 'SeriesNumber'),
        instances: count(s, 'NumberOfSeriesRelatedInstances'),
        url: dimseUrl(peer, studyInstanceUid, uid),
      };
    })
    .sort((a, b) => (a.seriesNumber ?? 0) - (b.seriesNumber ?? 0) || a.seriesInstanceUid.localeCompare(b.seriesInstanceUid));
}

/** A study's series as one SERIES-level C-FIND lists them, and why that list may lack some. */
export interface StudySeriesListing {
  readonly series: RemoteSeries[];
  /**
   * Null when the list is whole: the PACS did not stop at its cap, or it did and the study's
   * NumberOfStudyRelatedSeries is no more than it listed. Else, in words, why it may lack series.
   */
  readonly incomplete: string | null;
}

/**
 * Every series of a study (one C-FIND at SERIES level; E_NOT_FOUND when the PACS has none of it),
 * for a list a person reads: a PACS that stops the C-FIND at its cap (0xFE00) does not fail it
 * (findSeries does, or narrows by modality for a denoise run); what it listed is compared with the
 * study's NumberOfStudyRelatedSeries (one STUDY-level C-FIND), and a shortfall, or no count to
 * compare with, is `incomplete`.
 */
export async function listStudySeries(peer: DimsePeer, studyInstanceUid: string, options: DimseClientOptions): Promise<StudySeriesListing> {
  const { matches, capped } = await findUpToCap(peer, seriesFindRequest(studyInstanceUid, null, ''), options);
  if (matches.length === 0 && !capped) throw seriesNotFound(peer, studyInstanceUid, null);
  const series = seriesOf(peer, studyInstanceUid, matches);
  if (!capped) return { series, incomplete: null };
  const total = (await findUpToCap(peer, studyFindRequest({ studyInstanceUid }), options)).matches.map((s) => count(s, 'NumberOfStudyRelatedSeries'))[0] ?? null;
  if (total !== null && total <= series.length) return { series, incomplete: null };
  const listed = total === null ? `the PACS lists ${series.length} series of study ${studyInstanceUid} and does not say how many it holds` : `the PACS lists ${series.length} of the ${total} series of study ${studyInstanceUid}`;
  return { series, incomplete: `${listed}: it stopped the C-FIND at its cap (status ${statusHex(STATUS_CANCEL)}; Orthanc: LimitFindResults), and C-FIND cannot ask for the rest` };
}

/** A series' instances as C-FIND at IMAGE level listed them. */
export interface InstanceList {
  readonly instances: RemoteInstance[];
  /**
   * False when the list may lack instances: the PACS stopped the C-FIND at its cap, or listed fewer
   * than the series' NumberOfSeriesRelatedInstances. pullSeries then retrieves the whole series.
   */
  readonly complete: boolean;
  /** True when the PACS stopped the C-FIND at its cap (status 0xFE00). */
  readonly capped: boolean;
}

/**
 * The instances of a series (C-FIND at IMAGE level), with DerivationDescription to recognise our
 * own output. A PACS that caps C-FIND answers may list only the first ones: that list is kept
 * (enough for the derived check) and marked incomplete, and the series is retrieved whole.
 */
export async function findInstances(peer: DimsePeer, series: RemoteSeries, options: DimseClientOptions): Promise<InstanceList> {
  const request = dimse.requests.CFindRequest.createImageFindRequest({
    StudyInstanceUID: series.studyInstanceUid,
    SeriesInstanceUID: series.seriesInstanceUid,
    SOPInstanceUID: '',
    DerivationDescription: '',
  });
  const { matches, capped } = await findUpToCap(peer, request, options);
  const instances = matches.map((i) => ({ sopInstanceUid: text(i, 'SOPInstanceUID'), derivationDescription: text(i, 'DerivationDescription') })).filter((i) => i.sopInstanceUid);
  return { instances, complete: !capped && (series.instances === null || instances.length >= series.instances), capped };
}

/** Whether `lowdose denoise` wrote this series (isDenoiseOutput), as the DICOMweb path asks. */
export function isLowdoseDerived(series: RemoteSeries, instances: readonly RemoteInstance[]): boolean {
  return isDenoiseOutput(series, instances.map((i) => i.derivationDescription).find((d) => d.trim() !== '') ?? '');
}

export interface PullOptions extends DimseClientOptions {
  /** C-MOVE to our storage SCP on this port instead of C-GET. */
  readonly movePort?: number;
  /**
   * Hosts (names or addresses) the PACS sends C-MOVE instances from, besides the host of its
   * `dimse://` address: a PACS behind NAT or in a container, a multi-homed or clustered PACS.
   */
  readonly moveFrom?: readonly string[];
  /** With `movePort` and `tls`: our storage SCP refuses a PACS that presents no client certificate (--move-require-cert). */
  readonly moveRequireCert?: boolean;
  readonly log?: (message: string) => void;
  /** Keep a series the PACS sent short of its NumberOfSeriesRelatedInstances instead of refusing it (checkSeriesShortfall). */
  readonly allowIncomplete?: boolean;
  /** Largest instance taken, bytes, by C-GET and by our C-MOVE storage SCP (default DEFAULT_MAX_INSTANCE_BYTES). */
  readonly maxInstanceBytes?: number;
}

const instanceFile = (dir: string, sopInstanceUid: string) => path.join(dir, `${sopInstanceUid}.dcm`);

/**
 * Received instances arrive in temporaries at the top of `root` (`.instance.dcm.<8 hex>.tmp`,
 * which nothing reads as an instance) and are renamed whole into their series' folder under it,
 * the folder of a series this run asked for (pullSeries makes it).
 */
export function cacheStore(root: string): InstanceStore {
  return {
    temporaryFile: () => temporaryPathFor(path.join(root, 'instance.dcm')),
    keep: async (instance) => {
      if (!/^[0-9.]+$/.test(instance.sopInstanceUid)) throw new LowdoseError('E_MALFORMED', `received an instance with SOP Instance UID "${instance.sopInstanceUid}"`);
      const target = instanceFile(seriesCacheDir(root, instance.seriesInstanceUid), instance.sopInstanceUid);
      try {
        await rename(instance.file, target);
      } catch (error) {
        throw new LowdoseError('E_IO', `${target}: could not write: ${(error as Error).message}`, { path: target, cause: error });
      }
    },
  };
}

type RetrieveVerb = 'C-GET' | 'C-MOVE';

/** What a retrieve got: the final answers, and why instances may not have come that the answers do not say. */
interface Retrieved {
  readonly finals: RetrieveAnswer[];
  /**
   * With C-MOVE: the associations our storage SCP refused over its limit (store-scp.ts), in words
   * (`; our storage SCP ...`), for the error of a retrieve that came short; '' when none were.
   */
  readonly refusals: string;
}

/**
 * The associations of a C-MOVE our storage SCP refused over its limit of associations at once, in
 * words for an error ('' when none): the instances they were to carry did not come, and the PACS's
 * answer may only count them as failed sub-operations.
 */
export function overLimitRefusals(refused: ReadonlyArray<{ address: string; why: string }>, port: number | undefined): string {
  const over = refused.filter((r) => r.why.startsWith(OVER_ASSOCIATION_LIMIT));
  if (over.length === 0) return '';
  const from = [...new Set(over.map((r) => r.address))].join(', ');
  return (
    `; our storage SCP on port ${port} refused ${over.length} association(s) of the PACS (${from}), ${over[0]!.why}: ` +
    'the instances they carried did not come (set the PACS to send a C-MOVE to this destination over fewer associations at once, then run again)'
  );
}

/**
 * The connections of a C-MOVE our TLS storage SCP (`--dimse-tls`) refused at TLS, in words for an
 * error ('' when none): a PACS calling without TLS, or with a certificate we do not trust.
 */
export function tlsRefusals(refused: ReadonlyArray<{ address: string; why: string }>, port: number | undefined): string {
  const failed = refused.filter((r) => r.why.startsWith(TLS_REFUSAL));
  if (failed.length === 0) return '';
  const from = [...new Set(failed.map((r) => r.address))].join(', ');
  return (
    `; our storage SCP on port ${port} (DICOM TLS, --dimse-tls) refused ${failed.length} connection(s) of the PACS (${from}), ${failed[0]!.why}: ` +
    'the PACS must call this destination with DICOM TLS (Orthanc: "UseDicomTls": true in its DicomModalities entry for us) and a certificate from the system store or --dimse-ca'
  );
}

/**
 * Sends the retrieve requests on one association (C-GET), or with our storage SCP on `movePort`
 * listening (C-MOVE), every received instance kept whole under `root` (cacheStore). Resolves to
 * the final answers and the SCP's refusals over its association limit; a failed association or a
 * failure of the SCP is thrown as it came, those refusals added to its message.
 */
async function retrieve(peer: DimsePeer, requests: DimseRequest[], root: string, options: PullOptions): Promise<Retrieved> {
  const finals: RetrieveAnswer[] = [];
  for (const request of requests) {
    if (request instanceof dimse.requests.CGetRequest) request.setAddStorageSopClassesToAssociation(true);
    request.on('response', (response: RetrieveAnswer) => {
      if (!isPending(response.getStatus())) finals.push(response);
    });
  }
  const store = cacheStore(root);
  if (options.movePort === undefined) {
    await associate(peer, requests, { ...options, purpose: 'C-GET', store });
    return { finals, refusals: '' };
  }
  // Our SCP takes calls from the PACS's own address(es) only: the host we send the C-MOVE to,
  // and the hosts --move-from names (a PACS that sends from another address than it listens on).
  const peerAddresses = (await Promise.all([peer.host, ...(options.moveFrom ?? [])].map(addressesOf))).flat();
  const movePort = options.movePort;
  // One C-MOVE at a time per port in this process (a worker's concurrent jobs): each listens on it.
  const { scp, failure: moveFailure } = await oneAtATime(`move-port:${movePort}`, async () => {
    const scp = await startStoreScp(movePort, options.callingAet, store, options.timeoutMs, {
      peerAddresses,
      ...(options.maxInstanceBytes !== undefined ? { maxInstanceBytes: options.maxInstanceBytes } : {}),
      ...(options.tls ? { tls: options.tls, ...(options.moveRequireCert ? { requireClientCert: true } : {}) } : {}),
    });
    let failure: Error | null = null;
    try {
      // A stopped C-MOVE (options.signal): our SCP keeps nothing more once the C-CANCEL is sent.
      await associate(peer, requests, { ...options, purpose: 'C-MOVE', onCancel: (started) => scp.stop(started) });
    } catch (error) {
      failure = error instanceof Error ? error : new LowdoseError('E_IO', String(error));
    } finally {
      await scp.close();
      for (const { address, why } of scp.refused) options.log?.(`our storage SCP on port ${movePort} closed a connection from ${address}: ${why}`);
    }
    return { scp, failure };
  });
  let failure = moveFailure;
  if (failure instanceof LowdoseError && failure.code === 'E_CANCELLED') throw failure;
  const refusals = overLimitRefusals(scp.refused, options.movePort) + tlsRefusals(scp.refused, options.movePort);
  failure ??= scp.failure;
  if (failure !== null) {
    if (!(failure instanceof LowdoseError) || refusals === '') throw failure;
    throw new LowdoseError(failure.code, `${failure.message}${refusals}`, { ...(failure.path !== undefined ? { path: failure.path } : {}), cause: failure });
  }
  // Nothing came because the PACS's own connections were closed: say so, not "the PACS must know our AE title".
  const strangers = [...new Set(scp.refused.filter((r) => r.why.startsWith(NOT_PACS_ADDRESS)).map((r) => r.address))];
  if (scp.counts.received === 0 && strangers.length > 0) {
    throw new LowdoseError(
      'E_IO',
      `the C-MOVE's instances came from ${strangers.join(', ')}, not an address of the PACS (${[...new Set(peerAddresses)].join(', ')}): our storage SCP closed ${strangers.length === 1 ? 'that connection' : 'those connections'} and received nothing; if that is the PACS (behind NAT, in a container, another interface), give --move-from ${strangers[0]}`,
    );
  }
  return { finals, refusals };
}

/** A host's addresses as resolved (all families); the text itself when it does not resolve. */
const addressesOf = (host: string): Promise<string[]> =>
  lookup(host, { all: true }).then(
    (found) => found.map((a) => a.address),
    () => [host],
  );

const seriesRequest = (series: RemoteSeries, options: PullOptions): DimseRequest =>
  options.movePort === undefined
    ? dimse.requests.CGetRequest.createSeriesGetRequest(series.studyInstanceUid, series.seriesInstanceUid)
    : dimse.requests.CMoveRequest.createSeriesMoveRequest(options.callingAet, series.studyInstanceUid, series.seriesInstanceUid);

/** A C-GET / C-MOVE's final "sub-operations complete, one or more failures" (PS3.4 C.4.2.1.5, C.4.3.1.4). */
const STATUS_SOME_SUBOPERATIONS_FAILED = 0xb000;

/**
 * What the final answers of a retrieve say: `failed`, the first that failed outright (any status
 * but success and 0xB000), which a rerun may complete; else `someFailed`, the words of 0xB000
 * answers (the PACS went through the request and some instances did not come, which a rerun would
 * repeat: the shortfall rule judges what came), and `subOperations`, how many instances the answers
 * say the request covered (completed + failed + warning sub-operations). Null `someFailed` when
 * every answer is success; `answered`, the final answers in words (`request` names the request).
 */
function retrieveOutcome(finals: readonly RetrieveAnswer[], request: string): { failed: RetrieveAnswer | null; someFailed: string | null; answered: string; subOperations: number } {
  const failed = finals.find((f) => f.getStatus() !== STATUS_SUCCESS && f.getStatus() !== STATUS_SOME_SUBOPERATIONS_FAILED) ?? null;
  const partial = finals.filter((f) => f.getStatus() === STATUS_SOME_SUBOPERATIONS_FAILED);
  const sum = (answers: readonly RetrieveAnswer[], get: (f: RetrieveAnswer) => number) => answers.reduce((total, f) => total + (get(f) || 0), 0);
  const [completed, failures, warnings] = [sum(partial, (f) => f.getCompleted()), sum(partial, (f) => f.getFailures()), sum(partial, (f) => f.getWarnings())];
  const someFailed =
    partial.length === 0
      ? null
      : `the PACS answered the ${request} with ${statusHex(STATUS_SOME_SUBOPERATIONS_FAILED)} (sub-operations complete, one or more failures: ${completed} completed, ${failures} failed, ${warnings} with warnings)`;
  const answered = someFailed ?? `the PACS answered the ${request} with success`;
  return { failed, someFailed, answered, subOperations: sum(finals, (f) => f.getCompleted() + f.getFailures() + f.getWarnings()) };
}

/** The E_IO message of a final retrieve answer other than success (`refusals`: Retrieved.refusals). */
function failedRetrieve(f: RetrieveAnswer, arrived: number, verb: RetrieveVerb, options: PullOptions, refusals: string): LowdoseError {
  const comment = text(f.getCommandDataset(), 'ErrorComment');
  // Instances that did arrive rule out a C-MOVE destination the PACS cannot reach: the
  // transfer broke off (a PACS or network failure), and the configuration hint would mislead.
  const why =
    arrived > 0
      ? ` after ${arrived} instance(s) had arrived`
      : verb === 'C-MOVE' && refusals === ''
        ? ` (C-MOVE sends to "${options.callingAet}": the PACS must know that AE title at this machine's address, port ${options.movePort})`
        : '';
  return new LowdoseError('E_IO', `the PACS answered ${statusHex(f.getStatus())}${comment ? ` (${comment})` : ''} with ${f.getCompleted()} sub-operation(s) completed, ${f.getFailures()} failed${why}${refusals}`);
}

/**
 * Retrieves the instances of `series` not yet under `root` (the whole series with one request
 * when none are, else one per missing instance) with C-GET, or with C-MOVE to our SCP on
 * `movePort`. Each arrives as a whole file, so a rerun after a failure fetches only what is missing.
 * A list that may lack instances (a PACS capping C-FIND) is retrieved whole instead (pullWholeSeries).
 */
export async function pullSeries(peer: DimsePeer, series: RemoteSeries, listed: InstanceList, root: string, options: PullOptions): Promise<PulledSeries> {
  const log = options.log ?? (() => {});
  const dir = seriesCacheDir(root, series.seriesInstanceUid);
  await makeOutputFolder(dir);
  const verb: RetrieveVerb = options.movePort === undefined ? 'C-GET' : 'C-MOVE';
  if (!listed.complete) return pullWholeSeries(peer, series, listed, dir, verb, root, options);
  const uids = listed.instances.map((i) => i.sopInstanceUid);
  // The C-FIND list is whole here: files of an earlier run it no longer names are stale.
  const removedStale = (await removeUnlisted(dir, series.seriesInstanceUid, uids, log)).length;
  const onDisk = () => uids.filter((uid) => existsSync(instanceFile(dir, uid))).length;
  const missing = uids.filter((uid) => !existsSync(instanceFile(dir, uid)));
  if (missing.length < uids.length) log(`series ${series.seriesInstanceUid}: ${uids.length - missing.length} of ${uids.length} instance(s) already retrieved`);
  const { CGetRequest, CMoveRequest } = dimse.requests;
  const requests: DimseRequest[] =
    missing.length === uids.length
      ? [seriesRequest(series, options)]
      : missing.map((uid) =>
          options.movePort === undefined
            ? CGetRequest.createImageGetRequest(series.studyInstanceUid, series.seriesInstanceUid, uid)
            : CMoveRequest.createImageMoveRequest(options.callingAet, series.studyInstanceUid, series.seriesInstanceUid, uid),
        );
  const failWith = (error: unknown): never => {
    const e = error instanceof LowdoseError ? error : new LowdoseError('E_IO', String(error));
    if (e.code === 'E_CANCELLED') throw retrieveStopped(series, verb, `${onDisk()} of ${uids.length}`, e);
    throw new LowdoseError(e.code, `retrieving series ${series.seriesInstanceUid} with ${verb} failed with ${onDisk()} of ${uids.length} instance(s) on disk: ${e.message}; run again to retrieve the rest`, {
      path: e.path ?? series.url,
      cause: error,
    });
  };
  let outcome = retrieveOutcome([], verb);
  let refusals = '';
  if (missing.length > 0) {
    let finals: RetrieveAnswer[] = [];
    try {
      ({ finals, refusals } = await retrieve(peer, requests, root, options));
    } catch (error) {
      if (error instanceof LowdoseError && error.code === 'E_USAGE') throw error;
      failWith(error);
    }
    outcome = retrieveOutcome(finals, verb);
    const arrivedNow = onDisk() - (uids.length - missing.length);
    // 0xB000 with nothing on disk leaves nothing to go on with: a failure as any other.
    const failed = outcome.failed ?? (outcome.someFailed !== null && onDisk() === 0 ? finals[0]! : null);
    if (failed) failWith(failedRetrieve(failed, arrivedNow, verb, options, refusals));
  }
  const have = onDisk();
  // Fewer than the series holds after an answer of success or of 0xB000 (some sub-operations failed):
  // the shortfall rule (refused, or kept with allowIncomplete). The instances 0xB000 counts are the
  // missing ones this run asked for, beside the ones already on disk.
  const expected = Math.max(series.instances ?? 0, uids.length, uids.length - missing.length + outcome.subOperations);
  const shortfall = checkSeriesShortfall(series, expected, have, `${have} are on disk after ${outcome.answered}${refusals}`, options);
  if (shortfall === null && outcome.someFailed !== null) log(`series ${series.seriesInstanceUid}: ${outcome.someFailed}, and all ${have} instance(s) it holds are on disk`);
  const arrived = have - (uids.length - missing.length);
  return {
    seriesInstanceUid: series.seriesInstanceUid,
    url: series.url,
    modality: series.modality,
    instances: have,
    retrieved: arrived,
    dir,
    ...(shortfall !== null ? { incomplete: shortfall } : {}),
    ...(removedStale > 0 ? { removedStale } : {}),
  };
}

/** A retrieve stopped by PullOptions.signal (E_CANCELLED): what was on disk, and what the PACS made of the C-CANCEL. */
function retrieveStopped(series: RemoteSeries, request: string, onDisk: string, error: LowdoseError): LowdoseError {
  return new LowdoseError('E_CANCELLED', `retrieving series ${series.seriesInstanceUid} with ${request} was stopped with ${onDisk} instance(s) on disk: ${error.message}`, { path: error.path ?? series.url, cause: error });
}

/**
 * A series whose C-FIND list may lack instances (the PACS capped the C-FIND, or listed fewer than
 * its NumberOfSeriesRelatedInstances): the instances cannot be named one by one, so the series is
 * retrieved whole with one series-level C-GET / C-MOVE, as a PACS answers it whatever its C-FIND
 * cap, and what arrived is checked: a final status of success, and at least the series'
 * NumberOfSeriesRelatedInstances instances on disk (without that count, at least the listed ones;
 * fewer is the shortfall rule, checkSeriesShortfall), and every listed one.
 * Instances already on disk from a failed run come again (their files are rewritten whole).
 */
async function pullWholeSeries(peer: DimsePeer, series: RemoteSeries, listed: InstanceList, dir: string, verb: RetrieveVerb, root: string, options: PullOptions): Promise<PulledSeries> {
  const log = options.log ?? (() => {});
  const before = await instancesOnDisk(dir);
  const expected = series.instances ?? listed.instances.length;
  log(
    `series ${series.seriesInstanceUid}: the PACS listed ${listed.instances.length} of its ${series.instances ?? '?'} instance(s) (it caps C-FIND answers); ` +
      `retrieving the whole series with one ${verb} and checking the count`,
  );
  const failWith = async (error: unknown): Promise<never> => {
    const e = error instanceof LowdoseError ? error : new LowdoseError('E_IO', String(error));
    const have = (await instancesOnDisk(dir)).size;
    if (e.code === 'E_CANCELLED') throw retrieveStopped(series, `whole-series ${verb}`, `${have} of ${series.instances ?? '?'}`, e);
    throw new LowdoseError(e.code, `retrieving series ${series.seriesInstanceUid} whole with ${verb} failed with ${have} of ${series.instances ?? '?'} instance(s) on disk: ${e.message}; run again`, {
      path: e.path ?? series.url,
      cause: error,
    });
  };
  let finals: RetrieveAnswer[] = [];
  let refusals = '';
  try {
    ({ finals, refusals } = await retrieve(peer, [seriesRequest(series, options)], root, options));
  } catch (error) {
    if (error instanceof LowdoseError && error.code === 'E_USAGE') throw error;
    await failWith(error);
  }
  const after = await instancesOnDisk(dir);
  const outcome = retrieveOutcome(finals, `whole-series ${verb}`);
  // 0xB000 with nothing on disk leaves nothing to go on with: a failure as any other.
  const failed = outcome.failed ?? (outcome.someFailed !== null && after.size === 0 ? finals[0]! : null);
  if (failed) await failWith(failedRetrieve(failed, after.size - before.size, verb, options, refusals));
  // Fewer than the series holds after an answer of success or of 0xB000 (some sub-operations failed,
  // which count the whole series): the shortfall rule (refused, or kept with allowIncomplete).
  const shortfall = checkSeriesShortfall(series, Math.max(expected, outcome.subOperations), after.size, `${after.size} are on disk after ${outcome.answered}${refusals}`, options);
  if (shortfall === null && outcome.someFailed !== null) log(`series ${series.seriesInstanceUid}: ${outcome.someFailed}, and all ${after.size} instance(s) it holds are on disk`);
  const missingListed = listed.instances.filter((i) => !after.has(i.sopInstanceUid)).length;
  if (shortfall === null && missingListed > 0) {
    await failWith(new LowdoseError('E_IO', `the PACS reported success but ${missingListed} of the instances its C-FIND listed did not come${refusals}`));
  }
  return { seriesInstanceUid: series.seriesInstanceUid, url: series.url, modality: series.modality, instances: after.size, retrieved: after.size - before.size, dir, ...(shortfall !== null ? { incomplete: shortfall } : {}) };
}

/**
 * A dataset that goes on the wire as the bytes read from the file when the PACS accepted the
 * file's transfer syntax; otherwise dcmjs-dimse transcodes it from the decoded elements.
 */
class FileDataset extends dimse.Dataset {
  private readonly bytes: Buffer;
  private readonly original: string;

  constructor(bytes: Buffer, transferSyntaxUid: string) {
    super(bytes, transferSyntaxUid);
    this.bytes = bytes;
    this.original = transferSyntaxUid;
  }

  override getDenaturalizedDataset(writeOptions?: Record<string, unknown>, nameMap?: Record<string, unknown>): Buffer {
    return this.getTransferSyntaxUid() === this.original ? this.bytes : super.getDenaturalizedDataset(writeOptions, nameMap);
  }
}

export interface StoreOptions extends DimseClientOptions {
  /** Instances per association (default 32): what is held in memory at once. */
  readonly batch?: number;
  readonly log?: (message: string) => void;
}

/**
 * Checks that `peer` answers before any work is done for it (`--store`): one C-ECHO association
 * with the run's calling AE title and timeout. A peer that cannot be reached, rejects the
 * association (wrong called AE title, unknown calling one) or does not answer the echo with
 * success is E_USAGE: otherwise it would only be found once every series had been denoised.
 */
export async function checkStoreDestination(peer: DimsePeer, options: DimseClientOptions): Promise<void> {
  const unusable = (reason: string, cause?: unknown) =>
    new LowdoseError('E_USAGE', `--store ${dimseUrl(peer)} is not a usable C-STORE destination: ${reason}; nothing was done`, { path: dimseUrl(peer), cause });
  let status: number | undefined;
  try {
    status = await echoStatus(peer, options);
  } catch (error) {
    // Stopped (SIGINT / SIGTERM): the check did not end, it says nothing of the destination.
    if (error instanceof LowdoseError && error.code === 'E_CANCELLED') throw error;
    throw unusable(error instanceof Error ? error.message : String(error), error);
  }
  if (status !== STATUS_SUCCESS) throw unusable(`it answered C-ECHO with status ${status === undefined ? 'none' : statusHex(status)}`);
}

/** One association with one C-ECHO: the status the peer answered (undefined: none); a failed association throws as associate does. */
async function echoStatus(peer: DimsePeer, options: DimseClientOptions): Promise<number | undefined> {
  const request = new dimse.requests.CEchoRequest();
  let status: number | undefined;
  request.on('response', (response: Answer) => (status = response.getStatus()));
  await associate(peer, [request], { ...options, purpose: 'C-ECHO' });
  return status;
}

/** Checks that the PACS answers C-ECHO with success (E_IO otherwise): `serve --dimse` asks once at start. */
export async function echo(peer: DimsePeer, options: DimseClientOptions): Promise<void> {
  const status = await echoStatus(peer, options);
  if (status !== STATUS_SUCCESS) throw new LowdoseError('E_IO', `${dimseUrl(peer)} answered C-ECHO with status ${status === undefined ? 'none' : statusHex(status)}`, { path: dimseUrl(peer) });
}

/**
 * Stores the files of one series with C-STORE, `batch` instances per association, and checks the
 * status of every answer (warnings count as stored and are logged). Storing the same SOP
 * Instance UIDs again adds nothing on a PACS that keeps the first copy, so a rerun completes a
 * series a failed run stored in part. `options.signal` aborts the association in flight (A-ABORT)
 * and sends no more: E_CANCELLED with the instances the PACS confirmed (storeStopped).
 */
export async function storeSeries(
  peer: DimsePeer,
  files: readonly string[],
  meta: { kind: StoredSeries['kind']; studyInstanceUid: string; seriesInstanceUid: string },
  options: StoreOptions,
): Promise<StoredSeries> {
  const url = dimseUrl(peer, meta.studyInstanceUid, meta.seriesInstanceUid);
  const batch = Math.max(1, options.batch ?? 32);
  let stored = 0;
  for (let start = 0; start < files.length; start += batch) {
    const chunk = files.slice(start, start + batch);
    const answers = new Map<DimseRequest, Answer>();
    const requests: DimseRequest[] = [];
    for (const file of chunk) {
      const part10 = splitPart10(new Uint8Array(await readFile(file)), file);
      const dataset = Buffer.from(part10.dataset.buffer, part10.dataset.byteOffset, part10.dataset.byteLength);
      const request = new dimse.requests.CStoreRequest(new FileDataset(dataset, part10.transferSyntaxUid));
      request.on('response', (response: Answer) => answers.set(request, response));
      requests.push(request);
    }
    try {
      await associate(peer, requests, { ...options, purpose: 'C-STORE' });
    } catch (error) {
      const e = error instanceof LowdoseError ? error : new LowdoseError('E_IO', String(error));
      const accepted = stored + [...answers.values()].filter((a) => a.getStatus() === STATUS_SUCCESS || STORE_WARNINGS.has(a.getStatus())).length;
      // Stopped (options.signal): the association was aborted; what the PACS answered is stored.
      if (e.code === 'E_CANCELLED') throw storeStopped(meta, dimseUrl(peer), { stored: accepted, of: files.length, unanswered: chunk.length - answers.size, by: e.message, cause: error });
      throw new LowdoseError(e.code, `storing ${meta.kind} series ${meta.seriesInstanceUid} to ${dimseUrl(peer)} failed after ${accepted} of ${files.length} instance(s): ${e.message}; run again to complete it`, {
        path: url,
        cause: error,
      });
    }
    for (const [index, request] of requests.entries()) {
      const status = answers.get(request)?.getStatus();
      if (status === STATUS_SUCCESS) continue;
      if (status !== undefined && STORE_WARNINGS.has(status)) {
        options.log?.(`${dimseUrl(peer)} stored ${path.basename(chunk[index]!)} with warning ${statusHex(status)}`);
        continue;
      }
      const comment = text(answers.get(request)?.getCommandDataset(), 'ErrorComment');
      const accepted = stored + requests.filter((r) => { const s = answers.get(r)?.getStatus(); return s === STATUS_SUCCESS || (s !== undefined && STORE_WARNINGS.has(s)); }).length;
      throw new LowdoseError(
        'E_IO',
        `${dimseUrl(peer)} refused ${path.basename(chunk[index]!)} of ${meta.kind} series ${meta.seriesInstanceUid} (C-STORE status ${statusHex(status ?? -1)}${comment ? `: ${comment}` : ''}); ${accepted} of ${files.length} stored`,
        { path: url },
      );
    }
    stored += chunk.length;
    options.log?.(`stored ${stored}/${files.length} instance(s) of ${meta.kind} series ${meta.seriesInstanceUid}`);
  }
  return { kind: meta.kind, studyInstanceUid: meta.studyInstanceUid, seriesInstanceUid: meta.seriesInstanceUid, url, instances: stored };
}
