/**
 * `serve --dimse dimse://AET@host:port`: the PacsSource (./pacs.ts) of a DIMSE PACS: study search
 * and series lists with C-FIND (study root), a series pulled with C-GET, or with C-MOVE to our
 * storage SCP on `--move-port`, a derived series stored with C-STORE. Thin over src/dimse/: the same
 * association, pull and store code as `denoise dimse://...`.
 */
import type { StudyQuery, StudySearch } from '../dicomweb/study.js';
import { echo, findInstances, findSeries, listStudySeries, pullSeries, searchStudies, storeSeries, type PulledSeries, type PullOptions, type StoredSeries } from '../dimse/study.js';
import { dimseUrl, type DimsePeer } from '../dimse/url.js';
import { LowdoseError, toLowdoseError } from '../errors.js';
import type { DerivedPart } from '../pipeline/remote-denoise.js';
import { studyDateMatch } from '../util/remote-series.js';
import { withHttpStatus } from './http-errors.js';
import { PACS_STUDY_LIMIT } from './schemas.js';
import type { PacsSource } from './pacs.js';

/** How `serve --dimse` reaches the PACS: our AE title, timeout, DICOM TLS, and C-MOVE's port and hosts (absent: C-GET). */
export type DimseServeOptions = Omit<PullOptions, 'log' | 'allowIncomplete'>;

/** The C-FIND status of a PACS that stops at its cap, as the study search's words give it. */
const CAP_STATUS = '0xfe00';

/**
 * An error of the PACS as the API answers it: 502 (the gateway's peer failed), naming the PACS.
 * E_USAGE from the DIMSE client (the association rejected, our AE title unknown to the PACS, C-GET
 * not allowed) is this server's configuration, not the request: 502 too. E_NOT_FOUND (a study or
 * series the PACS does not have) stays 404.
 */
function fromPacs(error: unknown, address: string): LowdoseError {
  const e = toLowdoseError(error, 'E_IO');
  if (e.code !== 'E_IO' && e.code !== 'E_USAGE') return e;
  const message = e.message.includes(address) ? e.message : `the PACS ${address}: ${e.message}`;
  return withHttpStatus(new LowdoseError(e.code, message, e.path !== undefined ? { path: e.path } : {}), 502);
}

export class DimseSource implements PacsSource {
  readonly protocol = 'dimse' as const;
  readonly address: string;
  private readonly peer: DimsePeer;
  private readonly options: DimseServeOptions;
  private readonly log: (message: string) => void;

  constructor(peer: DimsePeer, options: DimseServeOptions, log: (message: string) => void = () => {}) {
    this.peer = { aet: peer.aet, host: peer.host, port: peer.port };
    this.address = dimseUrl(this.peer);
    this.options = options;
    this.log = log;
  }

  private async fromPacs<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw fromPacs(error, this.address);
    }
  }

  /** Nothing stays open between requests: each operation is its own association. */
  async close(): Promise<void> {}

  /**
   * Up to `limit` matches, newest first, and whether more match: `limit` + 1 came (searchStudies
   * then cancels the C-FIND), or the PACS stopped at its cap.
   */
  async studies(query: StudyQuery, signal?: AbortSignal): Promise<StudySearch> {
    // A date range that is empty or not YYYYMMDD is the request's fault (400), found before any association.
    studyDateMatch(query);
    const limit = query.limit ?? PACS_STUDY_LIMIT.default;
    // `signal` (the browser gone) cancels the C-FIND with C-CANCEL, as its limit does.
    const options = this.stoppedBy(signal);
    const { studies, matched, capped, stoppedAtLimit } = await this.fromPacs(() => searchStudies(this.peer, options, query, limit));
    const listed = studies.map((s) => ({
      studyInstanceUid: s.studyInstanceUid,
      patientName: s.patientName,
      patientId: s.patientId,
      date: s.studyDate,
      accessionNumber: s.accessionNumber,
      description: s.description,
      modalities: s.modalities,
      series: s.series,
      instances: s.instances,
    }));
    if (stoppedAtLimit) {
      // The C-FIND was cancelled at `limit` + 1 matches: how many match in all is not known.
      return {
        studies: listed,
        truncated: true,
        truncation: `more than ${limit} studies match: these are ${limit} of them, newest first, not necessarily the newest ${limit} on the PACS (its C-FIND was cancelled once ${limit + 1} had come); narrow the search`,
      };
    }
    // Fewer than `limit` + 1 came (else stoppedAtLimit): `matched` counts every match the PACS sent.
    if (capped) {
      const truncation = `the PACS stopped its answer after ${matched} matching studies (it caps C-FIND answers: status ${CAP_STATUS}; Orthanc: LimitFindResults), so it may hold more; narrow the search`;
      return { studies: listed, truncated: true, truncation };
    }
    return { studies: listed, truncated: false, truncation: null };
  }

  /** The options whose C-FIND, C-GET and C-MOVE `signal` (a browser gone) cancels with C-CANCEL. */
  private stoppedBy(signal: AbortSignal | undefined): DimseServeOptions {
    return signal ? { ...this.options, signal } : this.options;
  }

  series(studyInstanceUid: string, signal?: AbortSignal): ReturnType<PacsSource['series']> {
    return this.fromPacs(() => listStudySeries(this.peer, studyInstanceUid, this.stoppedBy(signal)));
  }

  /** C-FIND the series and its instances, then C-GET (or C-MOVE) what is not in `pullDir` yet; `signal` cancels whichever is outstanding. */
  pull(studyInstanceUid: string, seriesInstanceUid: string, pullDir: string, signal?: AbortSignal): Promise<PulledSeries> {
    return this.fromPacs(async () => {
      const options = this.stoppedBy(signal);
      const [series] = await findSeries(this.peer, studyInstanceUid, seriesInstanceUid, options);
      const listed = await findInstances(this.peer, series!, options);
      return pullSeries(this.peer, series!, listed, pullDir, { ...options, log: this.log, allowIncomplete: true });
    });
  }

  /** C-STORE, 32 instances per association, every answer checked. */
  store(part: DerivedPart, studyInstanceUid: string, log?: (message: string) => void): Promise<StoredSeries> {
    return this.fromPacs(() => storeSeries(this.peer, part.files, { kind: part.kind, studyInstanceUid, seriesInstanceUid: part.seriesInstanceUid }, { ...this.options, ...(log ? { log } : {}) }));
  }

  /** One C-ECHO: an unreachable PACS, or one that does not know our AE title. */
  check(signal?: AbortSignal): Promise<void> {
    return this.fromPacs(() => echo(this.peer, this.stoppedBy(signal)));
  }
}
