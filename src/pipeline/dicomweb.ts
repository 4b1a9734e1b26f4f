/**
 * `lowdose denoise <DICOMweb URL>` and `lowdose info <DICOMweb URL>`: the study (or series) is
 * pulled with WADO-RS into a temporary folder, denoised there by denoisePaths exactly as a folder
 * would be, and with `stow` the derived series are stored back with STOW-RS. `report.json` is
 * the folder report plus a `dicomweb` section (what was pulled and stored).
 *
 * The temporary folder is named after the study URL and removed once everything succeeded; after
 * a failure it stays, so a rerun retrieves only the missing instances, skips the series already
 * denoised (their completion markers in -o) and stores again what the failed run did not finish.
 */
import { DicomwebClient, type DicomwebClientOptions } from '../dicomweb/client.js';
import { checkStowDestination, isLowdoseDerived, listSeries, listSeriesInstances, listStudySeries, pullSeries, stowSeries, type PulledSeries, type StoredSeries } from '../dicomweb/study.js';
import { parseDicomwebUrl } from '../dicomweb/url.js';
import { EXIT_OK } from '../exit-codes.js';
import { denoiseRemote, refuseOverwriteOfStoredOutput, seriesFound, seriesToDenoise, throwIfCancelled, withSuvNotes, type DerivedPart, type RemoteDenoiseOptions } from './remote-denoise.js';
import type { DenoiseReport } from './types.js';
import { finishedByUid, NOT_PULLED, type ListedSeriesUids } from './finished-by-uid.js';
import { pullCacheDir } from '../util/pull-cache.js';
import { checkSeriesListShortfall, withInstanceListCheck, type ListedSeries, type SeriesListShortfall } from '../util/remote-series.js';
import { toolkitIdentity } from '../util/toolkit.js';

export interface DicomwebReport {
  readonly source: string;
  readonly studyInstanceUid: string;
  readonly pulled: PulledSeries[];
  /** Where the derived series were stored (absent without --stow). */
  readonly stowBase?: string;
  readonly stored: StoredSeries[];
  /**
   * `--skip-by-uid` found every series it would denoise finished in -o with exactly the PACS's SOP
   * Instance UIDs: why the study was not pulled (`pulled` is empty; its series are `skipped`, with
   * `skippedBy`). Absent when it was pulled.
   */
  notPulled?: string;
  /** Why the study's series list may lack series (a server that caps answers and will not page); absent when it is whole. */
  incompleteSeriesList?: string;
  /** With incompleteSeriesList: the study's series count as the server says it (null: it does not say) and how many it listed. */
  incompleteSeriesListCounts?: SeriesListShortfall;
}

export interface DicomwebDenoiseReport extends DenoiseReport {
  readonly dicomweb: DicomwebReport;
}

export interface DicomwebDenoiseOptions extends RemoteDenoiseOptions {
  readonly dicomweb?: DicomwebClientOptions;
  /** DICOMweb base to store the derived series to. */
  readonly stow?: string;
}

export async function denoiseDicomweb(url: string, options: DicomwebDenoiseOptions): Promise<DicomwebDenoiseReport> {
  const log = options.log ?? (() => {});
  const target = parseDicomwebUrl(url);
  const client = new DicomwebClient({ log, ...options.dicomweb });
  // SIGINT / SIGTERM aborts the study's queries in flight (its series list, the derived and --stow
  // checks) and the STOW-RS request in flight; a retrieve stops between instances (pullSeries), so
  // the instances in flight land whole.
  const queries = options.signal ? client.withSignal(options.signal) : client;
  const pullDir = options.pullDir ?? pullCacheDir('dicomweb', url);
  const dicomweb: DicomwebReport = {
    source: url,
    studyInstanceUid: target.studyInstanceUid,
    pulled: [],
    ...(options.stow ? { stowBase: options.stow } : {}),
    stored: [],
  };
  const stowTo = (base: string) => ({
    where: base,
    put: async (part: DerivedPart) => {
      dicomweb.stored.push(
        await stowSeries(queries, base, part.files, { kind: part.kind, studyInstanceUid: target.studyInstanceUid, seriesInstanceUid: part.seriesInstanceUid }, { log }),
      );
    },
  });
  try {
    // A wrong --stow base would otherwise fail only after every series was denoised.
    if (options.stow !== undefined) await checkStowDestination(queries, options.stow);
    const listing = await listStudySeries(queries, target);
    if (listing.incomplete !== null) {
      dicomweb.incompleteSeriesList = listing.incomplete;
      if (listing.counts !== null) dicomweb.incompleteSeriesListCounts = listing.counts;
    }
    const wanted = await seriesToDenoise(listing.series, url, {
      named: target.seriesInstanceUid !== null,
      derived: (s) => isLowdoseDerived(queries, s),
      log,
    });
    if (options.overwrite && options.stow !== undefined) {
      const stowTarget = { ...target, base: options.stow };
      await refuseOverwriteOfStoredOutput(options.outDir, wanted, {
        option: '--stow',
        where: options.stow,
        holds: (seriesInstanceUid) => seriesFound(() => listSeries(queries, { ...stowTarget, seriesInstanceUid })),
      }, log);
    }
    return await denoiseRemote(options, {
      source: url,
      pullDir,
      ...(options.skipByUid && listing.incomplete === null
        ? {
            finished: async () => {
              const listed: ListedSeriesUids[] = [];
              for (const s of wanted) {
                const { uids, unpaged } = await listSeriesInstances(queries, s);
                listed.push({ seriesInstanceUid: s.seriesInstanceUid, modality: s.modality, url: s.url, sopInstanceUids: unpaged === null ? uids : null });
              }
              const found = await finishedByUid(options.outDir, listed, options, log);
              if (found) dicomweb.notPulled = NOT_PULLED;
              return found;
            },
          }
        : {}),
      pull: async () => {
        // Before anything is retrieved, as a series short of its instances is: refused, or gone on with (--allow-incomplete).
        checkSeriesListShortfall({ studyInstanceUid: target.studyInstanceUid, url }, listing.incomplete, listing.counts, { log, allowIncomplete: Boolean(options.allowIncomplete) });
        for (const series of wanted) {
          throwIfCancelled(options.signal, `retrieving ${url}`);
          log(`retrieving ${series.modality} series ${series.seriesInstanceUid} (${series.instances ?? '?'} instance(s)) from ${series.url}`);
          dicomweb.pulled.push(await pullSeries(client, series, pullDir, { log, allowIncomplete: Boolean(options.allowIncomplete), ...(options.signal ? { signal: options.signal } : {}) }));
        }
        return dicomweb.pulled;
      },
      ...(options.stow !== undefined ? { store: stowTo(options.stow) } : {}),
      report: (series, errors): DicomwebDenoiseReport => ({ toolkit: toolkitIdentity(), series, ...errors, dicomweb: { ...dicomweb, pulled: withSuvNotes(dicomweb.pulled, series) } }),
    });
  } finally {
    await client.close();
  }
}

export interface DicomwebInfoResult {
  readonly source: string;
  readonly studyInstanceUid: string;
  /** Each with `incomplete` when its instance list may lack instances (withInstanceListCheck). */
  readonly series: ListedSeries[];
  /** Why the list may lack series (a server that caps answers and will not page); absent when it is whole. */
  readonly incompleteSeriesList?: string;
  readonly errors: Array<{ path: string | null; code: string; message: string }>;
}

/**
 * `lowdose info <URL>`: the study's series as QIDO-RS lists them (and why that list may lack some),
 * each series' instance list asked for too (one paged QIDO-RS query per series) so that a series
 * listed short of its NumberOfSeriesRelatedInstances is said (`incomplete`), as denoise would refuse it.
 */
export async function infoDicomweb(url: string, clientOptions: DicomwebClientOptions = {}, log: (message: string) => void = clientOptions.log ?? (() => {})): Promise<{ result: DicomwebInfoResult; exitCode: number }> {
  const target = parseDicomwebUrl(url);
  const client = new DicomwebClient(clientOptions);
  try {
    const { series: listed, incomplete } = await listStudySeries(client, target);
    const series = await withInstanceListCheck(listed, async (s) => {
      const { uids, unpaged } = await listSeriesInstances(client, s);
      return { received: uids.length, capped: unpaged !== null };
    }, log);
    return { result: { source: url, studyInstanceUid: target.studyInstanceUid, series, ...(incomplete !== null ? { incompleteSeriesList: incomplete } : {}), errors: [] }, exitCode: EXIT_OK };
  } finally {
    await client.close();
  }
}
