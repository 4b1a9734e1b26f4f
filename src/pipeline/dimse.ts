/**
 * `lowdose denoise dimse://...` and `lowdose info dimse://...`: the DIMSE twin of
 * pipeline/dicomweb.ts. The study (or series) is listed with C-FIND, pulled with C-GET (or C-MOVE
 * to our storage SCP) into a temporary folder, denoised there by denoisePaths exactly as a folder
 * would be, and with `store` the derived series go back with C-STORE. `report.json` is the folder
 * report plus a `dimse` section (what was pulled and stored).
 *
 * As with DICOMweb the pull folder is named after the source and removed once everything
 * succeeded; after a failure it stays, so a rerun retrieves only the missing instances, skips the
 * series already denoised (their completion markers in -o) and stores again what was not finished.
 */
import { DENOISED_MODALITIES } from '../choices.js';
import type { DimseClientOptions } from '../dimse/association.js';
import { checkStoreDestination, findInstances, findSeries, findStudies, isLowdoseDerived, pullSeries, storeSeries, type InstanceList, type PulledSeries, type RemoteSeries, type RemoteStudy, type StoredSeries } from '../dimse/study.js';
import { dimseUrl, parseDimseUrl, type DimsePeer } from '../dimse/url.js';
import { LowdoseError } from '../errors.js';
import { EXIT_OK } from '../exit-codes.js';
import { pullCacheDir } from '../util/pull-cache.js';
import { withInstanceListCheck, type ListedSeries, type StudyKeys } from '../util/remote-series.js';
import { denoiseRemote, refuseOverwriteOfStoredOutput, seriesFound, seriesToDenoise, throwIfCancelled, withSuvNotes, type DerivedPart, type RemoteDenoiseOptions } from './remote-denoise.js';
import type { DenoiseReport } from './types.js';
import { finishedByUid, NOT_PULLED } from './finished-by-uid.js';
import { toolkitIdentity } from '../util/toolkit.js';

export interface DimseReport {
  readonly source: string;
  readonly callingAet: string;
  /** Whether every association of the run (C-FIND, the retrieve and the --store C-STORE) used DICOM TLS (--dimse-tls). */
  readonly tls: boolean;
  readonly studyInstanceUid: string;
  /** How the instances were fetched. */
  readonly retrieve: 'C-GET' | 'C-MOVE';
  readonly pulled: PulledSeries[];
  /** Where the derived series were stored (absent without --store). */
  readonly store?: string;
  readonly stored: StoredSeries[];
  /** As DicomwebReport.notPulled: why `--skip-by-uid` did not pull the study; absent when it was pulled. */
  notPulled?: string;
}

export interface DimseDenoiseReport extends DenoiseReport {
  readonly dimse: DimseReport;
}

export interface DimseOptions extends DimseClientOptions {
  /** C-MOVE to our storage SCP on this port instead of C-GET. */
  readonly movePort?: number;
  /** Hosts the PACS sends C-MOVE instances from besides its dimse:// host (PullOptions.moveFrom). */
  readonly moveFrom?: readonly string[];
  /** With `movePort` and `tls`: our storage SCP refuses a PACS presenting no client certificate (PullOptions.moveRequireCert). */
  readonly moveRequireCert?: boolean;
}

export interface DimseDenoiseOptions extends RemoteDenoiseOptions {
  readonly dimse: DimseOptions;
  /** The SCP to store the derived series to. */
  readonly store?: DimsePeer;
}

export async function denoiseDimse(url: string, options: DimseDenoiseOptions): Promise<DimseDenoiseReport> {
  const log = options.log ?? (() => {});
  const target = parseDimseUrl(url);
  const studyInstanceUid = target.studyInstanceUid;
  if (studyInstanceUid === null) throw new LowdoseError('E_USAGE', `${url}: denoise needs a study (dimse://<AE title>@host:port/<StudyInstanceUID>[/<SeriesInstanceUID>]); lowdose info ${url} lists the studies`);
  // A signal stops the C-FIND or the C-GET / C-MOVE outstanding with C-CANCEL (src/dimse/association.ts).
  const client: DimseOptions = { ...options.dimse, ...(options.signal ? { signal: options.signal } : {}) };
  const pullDir = options.pullDir ?? pullCacheDir('dimse', dimseUrl(target, studyInstanceUid, target.seriesInstanceUid ?? undefined));
  const dimse: DimseReport = {
    source: url,
    callingAet: client.callingAet,
    tls: client.tls !== undefined,
    studyInstanceUid,
    retrieve: client.movePort === undefined ? 'C-GET' : 'C-MOVE',
    pulled: [],
    ...(options.store ? { store: dimseUrl(options.store) } : {}),
    stored: [],
  };
  // A wrong --store peer would otherwise fail only after every series was denoised.
  if (options.store) await checkStoreDestination(options.store, client);
  // C-FIND lists a series' instances once: for the derived check and for the retrieve.
  const instancesOf = new Map<string, InstanceList>();
  const listInstances = async (s: RemoteSeries): Promise<InstanceList> => {
    const listed = instancesOf.get(s.seriesInstanceUid) ?? (await findInstances(target, s, client));
    instancesOf.set(s.seriesInstanceUid, listed);
    return listed;
  };
  const listed = await findSeries(target, studyInstanceUid, target.seriesInstanceUid, client, { modalities: DENOISED_MODALITIES, log });
  const series = await seriesToDenoise(listed, url, {
    named: target.seriesInstanceUid !== null,
    derived: async (s) => isLowdoseDerived(s, (await listInstances(s)).instances),
    log,
  });
  const wanted: Array<{ series: RemoteSeries; instances: InstanceList }> = [];
  for (const s of series) wanted.push({ series: s, instances: await listInstances(s) });
  const store = options.store;
  if (options.overwrite && store) {
    await refuseOverwriteOfStoredOutput(options.outDir, series, {
      option: '--store',
      where: dimseUrl(store),
      holds: (seriesInstanceUid) => seriesFound(() => findSeries(store, studyInstanceUid, seriesInstanceUid, client)),
    }, log);
  }
  return denoiseRemote(options, {
    source: url,
    pullDir,
    ...(options.skipByUid
      ? {
          finished: async () => {
            const listed = wanted.map(({ series: s, instances }) => ({
              seriesInstanceUid: s.seriesInstanceUid,
              modality: s.modality,
              url: s.url,
              sopInstanceUids: instances.complete ? instances.instances.map((i) => i.sopInstanceUid) : null,
            }));
            const found = await finishedByUid(options.outDir, listed, options, log);
            if (found) dimse.notPulled = NOT_PULLED;
            return found;
          },
        }
      : {}),
    pull: async () => {
      for (const { series, instances } of wanted) {
        throwIfCancelled(options.signal, `retrieving ${url}`);
        log(`retrieving ${series.modality} series ${series.seriesInstanceUid} (${instances.complete ? instances.instances.length : (series.instances ?? '?')} instance(s)) from ${series.url} with ${dimse.retrieve}`);
        try {
          dimse.pulled.push(await pullSeries(target, series, instances, pullDir, { ...client, log, allowIncomplete: Boolean(options.allowIncomplete) }));
        } catch (error) {
          // A signal during the retrieve: C-CANCEL was sent and what came is dropped (the pull folder goes).
          if (error instanceof LowdoseError && error.code === 'E_CANCELLED') log(error.message);
          throw error;
        }
      }
      return dimse.pulled;
    },
    ...(store
      ? {
          store: {
            where: dimseUrl(store),
            put: async (part: DerivedPart) => {
              dimse.stored.push(await storeSeries(store, part.files, { kind: part.kind, studyInstanceUid, seriesInstanceUid: part.seriesInstanceUid }, { ...client, log }));
            },
          },
        }
      : {}),
    report: (series, errors): DimseDenoiseReport => ({ toolkit: toolkitIdentity(), series, ...errors, dimse: { ...dimse, pulled: withSuvNotes(dimse.pulled, series) } }),
  });
}

export type DimseInfoResult =
  | { readonly source: string; readonly studies: RemoteStudy[]; readonly errors: [] }
  | { readonly source: string; readonly studyInstanceUid: string; readonly series: ListedSeries[]; readonly errors: [] };

/**
 * `lowdose info dimse://...`: the PACS's studies (those matching `keys`), or a study's series, as
 * C-FIND lists them, each series' instances listed too (one IMAGE-level C-FIND per series) so that
 * a series listed short of its NumberOfSeriesRelatedInstances, or whose list the PACS capped, is
 * said (`incomplete`). Keys narrow a study list only: with a study address they are E_USAGE.
 */
export async function infoDimse(url: string, client: DimseClientOptions, keys: StudyKeys = {}, log: (message: string) => void = () => {}): Promise<{ result: DimseInfoResult; exitCode: number }> {
  const target = parseDimseUrl(url);
  if (target.studyInstanceUid === null) {
    return { result: { source: url, studies: await findStudies(target, client, keys), errors: [] }, exitCode: EXIT_OK };
  }
  if (keys.patientId !== undefined || keys.from !== undefined || keys.to !== undefined) {
    throw new LowdoseError('E_USAGE', '--patient-id, --from and --to narrow the study list of a PACS address (dimse://<AET>@host:port): this address names a study');
  }
  const listed = await findSeries(target, target.studyInstanceUid, target.seriesInstanceUid, client);
  const series = await withInstanceListCheck(listed, async (s) => {
    const { instances, capped } = await findInstances(target, s, client);
    return { received: instances.length, capped };
  }, log);
  return { result: { source: url, studyInstanceUid: target.studyInstanceUid, series, errors: [] }, exitCode: EXIT_OK };
}
