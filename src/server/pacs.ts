/**
 * The PACS behind `lowdose serve --dicomweb <url>` or `--dimse dimse://AET@host:port`: the viewer's
 * study search and series lists, opening a series (pulled into this server's own folder under
 * `<work>/pacs/` (./pull-sessions.ts), where the data index then reads it as any local series) and
 * storing a job's derived series back. What the protocol does is a PacsSource
 * (./pacs-dicomweb.ts: QIDO-RS / WADO-RS / STOW-RS; ./pacs-dimse.ts: C-FIND / C-GET or C-MOVE /
 * C-STORE); what the viewer's routes rely on whatever the protocol (two opens of one series share
 * one pull, the shortfall and unreadable instances of each opened series, the pull folder) is
 * PacsService, here, once.
 *
 * A DICOMweb server's credentials live only inside its client (its Authorization header): nothing
 * here keeps, returns or logs them. Query strings (a patient ID) are cut from every message that
 * can reach the log.
 */
import { existsSync, realpathSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { PulledSeries, RemoteSeries, StoredSeries, StudyQuery, StudySearch } from '../dicomweb/study.js';
import { LowdoseError, toLowdoseError } from '../errors.js';
import { derivedParts, derivedSeriesToStore, nameRemoteInstance, type DerivedPart } from '../pipeline/remote-denoise.js';
import type { DenoiseReport } from '../pipeline/types.js';
import { withoutQueries } from '../util/url-query.js';
import { checkSeriesShortfall, IncompleteSeriesError, type SeriesShortfall, type ShortfallWording } from '../util/remote-series.js';
import type { ApiError } from './api-types.js';
import type { PulledSourceCache } from './pacs-source-cache.js';
import { SharedRuns } from './shared-runs.js';

/**
 * The instances of a pulled series that could not be read (the index leaves them out of the
 * series), named as `denoise <url>` names them: by SOP Instance UID and series URL (the same
 * nameRemoteInstance), so the PACS's copy can be found.
 */
export function unreadableInstances(pulled: PulledSeries, errors: readonly LowdoseError[]): ApiError[] {
  return errors.map((e) => {
    const named = nameRemoteInstance(e.toJSON(), [{ dir: pulled.dir, url: pulled.url }]);
    return { code: named.code, message: named.message };
  });
}

/** The shortfall rule's words for a job (POST /api/jobs): its request field, and its result, which records the counts. */
const JOB_WORDING: ShortfallWording = { option: 'allowIncomplete', recordedIn: "the job's result" };

/** The PACS protocols `serve` browses: the viewer's GET /api/pacs says which. */
export type PacsProtocol = 'dicomweb' | 'dimse';

/**
 * One PACS as the viewer's routes use it, whatever its protocol. Each method's errors are
 * LowdoseErrors fit for an API answer: a failure of the PACS (unreachable, an error status) is
 * E_IO with HTTP status 502 (the gateway's peer failed), naming the PACS and no credentials or
 * query strings.
 */
export interface PacsSource {
  readonly protocol: PacsProtocol;
  /** The PACS's address as shown (no credentials): a DICOMweb base, or `dimse://AET@host:port`. */
  readonly address: string;
  /**
   * At most `limit` studies, newest first, and whether more match than are listed. `signal` (the
   * browser gone) stops the search: the QIDO-RS request is aborted, the C-FIND cancelled with
   * C-CANCEL; it rejects with E_CANCELLED.
   */
  studies(query: StudyQuery, signal?: AbortSignal): Promise<StudySearch>;
  /**
   * The series of a study, and why that list may lack some (null: whole); E_NOT_FOUND when the PACS
   * does not have the study. `signal` stops the listing as it stops `studies`.
   */
  series(studyInstanceUid: string, signal?: AbortSignal): Promise<{ readonly series: RemoteSeries[]; readonly incomplete: string | null }>;
  /**
   * Retrieves one series into `pullDir` (only the instances not there yet), keeping what came when
   * it is fewer than the PACS says the series holds (`incomplete`). `signal` stops it (E_CANCELLED):
   * its queries and the WADO-RS requests in flight are aborted (an instance cut short is not
   * written), a C-GET / C-MOVE is cancelled with C-CANCEL; the instances already on disk stay.
   */
  pull(studyInstanceUid: string, seriesInstanceUid: string, pullDir: string, signal?: AbortSignal): Promise<PulledSeries>;
  /** Stores one derived series into its study. */
  store(part: DerivedPart, studyInstanceUid: string, log?: (message: string) => void): Promise<StoredSeries>;
  /** Says whether the PACS answers at all (`serve` asks once at start): rejects with why not; `signal` stops it. */
  check(signal?: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

export interface PacsServiceOptions {
  readonly source: PacsSource;
  /** Where opened series are pulled to: this server's own folder, which the data index reads too. */
  readonly pullDir: string;
  /** The series pulled by earlier opens and sessions (./pacs-source-cache.ts); absent or null: each open pulls into pullDir alone. */
  readonly cache?: PulledSourceCache | null;
  readonly log?: (message: string) => void;
}

export class PacsService {
  /** The PACS's address (PacsSource.address). */
  readonly base: string;
  readonly protocol: PacsProtocol;
  readonly pullDir: string;
  private readonly source: PacsSource;
  private readonly cache: PulledSourceCache | null;
  /**
   * Pulls under way, by SeriesInstanceUID: a second open of the same series waits for the first,
   * and a pull stops once every open waiting for it has gone (its browser request closed).
   */
  private readonly pulling = new SharedRuns<PulledSeries>({ forgetSettled: true });
  /**
   * The latest pull of each series until it settles: an open after every open of a pull has gone
   * waits for that stopped pull to end, so one pull of a series writes at a time (the cache takes a
   * temporary file it finds for a killed pull's).
   */
  private readonly latest = new Map<string, Promise<unknown>>();
  /** Aborted as the server stops (stop()): every PACS request in flight is. */
  private readonly closing = new AbortController();
  /** The unreadable instances of each opened series, by SeriesInstanceUID, for the jobs on it. */
  private readonly unreadable = new Map<string, ApiError[]>();
  /** The shortfall of each opened series that came short of its instances (latest open) and its URL, by SeriesInstanceUID. */
  private readonly shortfalls = new Map<string, { readonly url: string; readonly shortfall: SeriesShortfall }>();
  private readonly log: (message: string) => void;

  constructor(options: PacsServiceOptions) {
    this.source = options.source;
    this.base = options.source.address;
    this.protocol = options.source.protocol;
    this.pullDir = path.resolve(options.pullDir);
    this.cache = options.cache ?? null;
    const log = options.log ?? (() => {});
    this.log = (message) => log(withoutQueries(message));
  }

  /** Whether opens go through the PACS cache now: false with none (a bound of 0), or while another server on this work folder holds it. */
  get caching(): boolean {
    return this.cache?.held ?? false;
  }

  /** Closes the PACS's client and removes the pull folder: its series are copies of what the PACS keeps (the cache's stay for the next session). */
  async close(): Promise<void> {
    await this.source.close();
    await this.cache?.release();
    await rm(this.pullDir, { recursive: true, force: true });
  }

  /**
   * Stops every PACS request in flight (the server stopping: `serve`'s SIGINT / SIGTERM), as a
   * browser gone stops its own: a search, a series list, a pull, the start's check. A store goes on
   * (a series stored in part would be left on the PACS). Called before the server waits for its
   * requests to end, so a PACS that does not answer does not hold the server's exit.
   */
  stop(): void {
    this.closing.abort(new LowdoseError('E_CANCELLED', 'the server is stopping'));
  }

  /** A request's interest (its browser's; none: the server's life) ended by stop() too. */
  private interest(signal: AbortSignal | undefined): AbortSignal {
    return signal ? AbortSignal.any([this.closing.signal, signal]) : this.closing.signal;
  }

  /** PacsSource.studies: `signal` stops the search once nobody waits for it. */
  studies(query: StudyQuery, signal?: AbortSignal): Promise<StudySearch> {
    return this.source.studies(query, this.interest(signal));
  }

  /** The series of a study, and why that list may lack some (404 when the PACS does not have the study); `signal` as for studies. */
  series(studyInstanceUid: string, signal?: AbortSignal): Promise<{ readonly series: RemoteSeries[]; readonly incomplete: string | null }> {
    return this.source.series(studyInstanceUid, this.interest(signal));
  }

  /** Whether the PACS answers (PacsSource.check). */
  check(): Promise<void> {
    return this.source.check(this.closing.signal);
  }

  /**
   * Retrieves one series into the pull folder (only the instances not there yet: in the cache, when
   * there is one, or in the pull folder) and resolves to what was pulled; its folder is then read by
   * the data index like an upload. Opens of one series while its pull runs share that pull.
   * `signal` is this open's interest (its request's, aborted when the browser goes): the pull stops
   * (PacsSource.pull) once every open of the series that waits for it has gone.
   */
  open(studyInstanceUid: string, seriesInstanceUid: string, signal?: AbortSignal): Promise<PulledSeries> {
    return this.pulling.join(
      seriesInstanceUid,
      (stop) => {
        const previous = this.latest.get(seriesInstanceUid) ?? Promise.resolve();
        const pull = previous.catch(() => undefined).then(() => this.pullOnce(studyInstanceUid, seriesInstanceUid, stop));
        this.latest.set(seriesInstanceUid, pull);
        const forget = () => {
          if (this.latest.get(seriesInstanceUid) === pull) this.latest.delete(seriesInstanceUid);
        };
        pull.then(forget, forget);
        return pull;
      },
      this.interest(signal),
    );
  }

  private async pullOnce(studyInstanceUid: string, seriesInstanceUid: string, stop: AbortSignal): Promise<PulledSeries> {
    if (stop.aborted) throw new LowdoseError('E_CANCELLED', `opening series ${seriesInstanceUid}: nobody waits for it any more`);
    // The viewer shows what came (it denoises no batch), with the shortfall kept for the series' answers and the status bar.
    const pullInto = (root: string) => this.source.pull(studyInstanceUid, seriesInstanceUid, root, stop);
    const pulled = this.cache ? await this.cache.pull(seriesInstanceUid, this.pullDir, pullInto) : await pullInto(this.pullDir);
    if (pulled.incomplete) this.shortfalls.set(seriesInstanceUid, { url: pulled.url, shortfall: pulled.incomplete });
    else this.shortfalls.delete(seriesInstanceUid);
    return pulled;
  }

  /** Records what opening a series found unreadable (the latest open's list replaces an earlier one). */
  noteUnreadable(seriesInstanceUid: string, errors: readonly ApiError[]): void {
    this.unreadable.set(seriesInstanceUid, [...errors]);
  }

  /** The unreadable instances the latest open of this series found (none when it was not opened in this session). */
  unreadableOf(seriesInstanceUid: string): ApiError[] {
    return [...(this.unreadable.get(seriesInstanceUid) ?? [])];
  }

  /** How short of its instances the latest open of this series came (null: whole, or not opened in this session). */
  incompleteOf(seriesInstanceUid: string): SeriesShortfall | null {
    return this.shortfalls.get(seriesInstanceUid)?.shortfall ?? null;
  }

  /**
   * The shortfall rule of `denoise <url>` (checkSeriesShortfall) for a job on an opened series: a
   * series whose latest open came short of its instances is refused (IncompleteSeriesError, E_IO,
   * with the counts), unless the job allows incomplete input; then the shortfall is logged and
   * returned for the job's result. Null for a whole series, or one not opened in this session.
   */
  checkJobInput(seriesInstanceUid: string, options: { readonly allowIncomplete: boolean }): SeriesShortfall | null {
    const short = this.shortfalls.get(seriesInstanceUid);
    if (!short) return null;
    const { expected, received } = short.shortfall;
    return checkSeriesShortfall({ seriesInstanceUid, url: short.url }, expected, received, `${received} came when it was opened`, {
      allowIncomplete: options.allowIncomplete,
      log: this.log,
      wording: JOB_WORDING,
    });
  }

  /**
   * The same rule for a job's reference series (the one its output is scored against): a
   * reference whose latest open came short of its instances is refused (IncompleteSeriesError,
   * E_IO, with the counts), since scores against part of it (and a PET range over part of it) would
   * pass for scores against the whole; with `allowIncomplete` the job scores against what came and
   * the shortfall is returned for its result. Null for a whole series, or one not opened in this session.
   */
  checkJobReference(seriesInstanceUid: string, options: { readonly allowIncomplete: boolean }): SeriesShortfall | null {
    const short = this.shortfalls.get(seriesInstanceUid);
    if (!short) return null;
    const { expected, received } = short.shortfall;
    const counts = `the server says it holds ${expected} instance(s) and ${received} came when it was opened`;
    if (options.allowIncomplete) {
      this.log(`reference series ${seriesInstanceUid}: ${counts}; scoring against those ${received} (${JOB_WORDING.option})`);
      return short.shortfall;
    }
    throw new IncompleteSeriesError(
      `reference series ${seriesInstanceUid} is incomplete: ${counts}, so the job's scores would be against part of it; nothing was denoised. ` +
        `${JOB_WORDING.option} scores against the ${received} that came and records the counts in ${JOB_WORDING.recordedIn}`,
      short.url,
      { seriesInstanceUid, expected, received },
    );
  }

  /**
   * Whether every file lies in the pull folder: a series opened from this server. The folder is
   * compared as given and as its real path (a work folder under a symlink, e.g. macOS's /tmp).
   */
  holds(files: readonly string[]): boolean {
    const roots = [this.pullDir, existsSync(this.pullDir) ? realpathSync(this.pullDir) : this.pullDir].map((r) => r + path.sep);
    return files.length > 0 && files.every((f) => roots.some((root) => path.resolve(f).startsWith(root)));
  }

  /** Stores one derived series into its study (STOW-RS, or C-STORE). */
  store(part: DerivedPart, studyInstanceUid: string, log?: (message: string) => void): Promise<StoredSeries> {
    return this.source.store(part, studyInstanceUid, log);
  }

  /**
   * Stores every derived series of a finished run (and its uncertainty series) into its source's
   * study; a series that fails is an error and the others are still stored.
   */
  async storeReport(
    series: DenoiseReport['series'],
    studyOf: (series: DenoiseReport['series'][number]) => string,
    log?: (message: string) => void,
  ): Promise<{ stored: StoredSeries[]; errors: ApiError[] }> {
    const stored: StoredSeries[] = [];
    const errors: ApiError[] = [];
    // The frames of a dynamic or gated PET acquisition share one derived series: stored once, whole.
    const studyByUid = new Map(series.flatMap((s) => derivedParts(s).map((part) => [part.seriesInstanceUid, studyOf(s)] as const)));
    for (const part of derivedSeriesToStore(series)) {
      try {
        stored.push(await this.store(part, studyByUid.get(part.seriesInstanceUid)!, log));
      } catch (error) {
        const e = toLowdoseError(error, 'E_IO');
        errors.push({ code: e.code, message: e.message });
      }
    }
    return { stored, errors };
  }
}
