/**
 * `serve --dicomweb <url>`: the PacsSource (./pacs.ts) of a DICOMweb server: study search and
 * series lists with QIDO-RS, a series pulled with WADO-RS, a derived series stored with STOW-RS.
 * Thin over src/dicomweb/: the same client, pull and store code as `denoise <url>`. The credentials
 * live only inside the DicomwebClient (its Authorization header). Query strings (a patient ID) are
 * cut by the client from every request it names in an error or log line (src/dicomweb/client.ts);
 * the other lines name the base (which parseDicomwebBase keeps without a query) and UIDs. An error
 * is cut once more here, for one not made by the client (any other failure on the way).
 */
import { DicomwebClient, type DicomwebClientOptions } from '../dicomweb/client.js';
import { listSeries, listStudySeries, pullSeries, searchStudies, stowSeries, type PulledSeries, type StoredSeries, type StudyQuery, type StudySearch } from '../dicomweb/study.js';
import { LowdoseError, toLowdoseError } from '../errors.js';
import type { DerivedPart } from '../pipeline/remote-denoise.js';
import { withHttpStatus } from './http-errors.js';
import { withoutQueries } from '../util/url-query.js';
import type { PacsSource } from './pacs.js';

/**
 * The same error with no query string in its message (and no cause that could carry one); a
 * network or server failure says which server, and answers 502 (the gateway's peer failed).
 */
function scrubbed(error: unknown, base: string): LowdoseError {
  const e = toLowdoseError(error, 'E_IO');
  const message = withoutQueries(e.message);
  const options = e.path ? { path: withoutQueries(e.path) } : {};
  if (e.code !== 'E_IO') return new LowdoseError(e.code, message, options);
  const what = /HTTP \d{3}/.test(message) ? 'failed' : 'could not be reached';
  return withHttpStatus(new LowdoseError('E_IO', `the DICOMweb server ${base} ${what}: ${message}`, options), 502);
}

export class DicomwebSource implements PacsSource {
  readonly protocol = 'dicomweb' as const;
  readonly address: string;
  private readonly client: DicomwebClient;
  /** serve's log (its `pacs` component). */
  private readonly log: (message: string) => void;

  /** `base`: the DICOMweb service base (no trailing slash); `client`: its authentication, CA, timeout, retries ($LOWDOSE_DICOMWEB_AUTH used and forgotten). */
  constructor(base: string, client: DicomwebClientOptions = {}, log: (message: string) => void = () => {}) {
    this.address = base;
    this.log = log;
    this.client = new DicomwebClient({ ...client, log: this.log });
  }

  private async scrub<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw scrubbed(error, this.address);
    }
  }

  close(): Promise<void> {
    return this.client.close();
  }

  /** The client whose requests `signal` (a browser gone) also aborts. */
  private stoppedBy(signal: AbortSignal | undefined): DicomwebClient {
    return signal ? this.client.withSignal(signal) : this.client;
  }

  studies(query: StudyQuery, signal?: AbortSignal): Promise<StudySearch> {
    return this.scrub(() => searchStudies(this.stoppedBy(signal), this.address, query));
  }

  series(studyInstanceUid: string, signal?: AbortSignal): ReturnType<PacsSource['series']> {
    return this.scrub(async () => {
      const listing = await listStudySeries(this.stoppedBy(signal), { base: this.address, studyInstanceUid, seriesInstanceUid: null });
      return { series: listing.series, incomplete: listing.incomplete };
    });
  }

  pull(studyInstanceUid: string, seriesInstanceUid: string, pullDir: string, signal?: AbortSignal): Promise<PulledSeries> {
    return this.scrub(async () => {
      // Nobody waits for an instance cut short by `signal`: it is not written, the ones on disk stay for the next open.
      const client = this.stoppedBy(signal);
      const [series] = await listSeries(client, { base: this.address, studyInstanceUid, seriesInstanceUid });
      // What it retrieved, kept from an earlier open, or removed as no longer listed: in serve's log, as denoise <url> says it on stderr.
      return pullSeries(client, series!, pullDir, { allowIncomplete: true, log: this.log, ...(signal ? { signal } : {}) });
    });
  }

  /** STOW-RS, 16 instances per request. */
  store(part: DerivedPart, studyInstanceUid: string, log?: (message: string) => void): Promise<StoredSeries> {
    return this.scrub(() => stowSeries(this.client, this.address, part.files, { kind: part.kind, studyInstanceUid, seriesInstanceUid: part.seriesInstanceUid }, log ? { log } : {}));
  }

  /** One study search with limit 1: a wrong password or an unreachable server. */
  async check(signal?: AbortSignal): Promise<void> {
    await this.studies({ limit: 1 }, signal);
  }
}
