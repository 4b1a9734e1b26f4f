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
import path from 'node:path';
import { rm } from 'node:fs/promises';
import type { DimseClientOptions } from '../dimse/association.js';
import { findInstances, findSeries, findStudies, isLowdoseDerived, pullSeries, storeSeries, type PulledSeries, type RemoteSeries, type RemoteStudy, type StoredSeries } from '../dimse/study.js';
import { dimseUrl, parseDimseUrl, type DimsePeer } from '../dimse/url.js';
import { LowdoseError, toLowdoseError } from '../errors.js';
import { EXIT_OK } from '../exit-codes.js';
import { writeFileAtomic } from '../util/fs.js';
import { pullCacheDir } from '../util/pull-cache.js';
import { denoisePaths, REPORT_FILE } from './denoise.js';
import type { DenoiseOptions, DenoiseReport } from './types.js';

export interface DimseReport {
  readonly source: string;
  readonly callingAet: string;
  readonly studyInstanceUid: string;
  /** How the instances were fetched. */
  readonly retrieve: 'C-GET' | 'C-MOVE';
  readonly pulled: PulledSeries[];
  /** Where the derived series were stored (absent without --store). */
  readonly store?: string;
  readonly stored: StoredSeries[];
}

export interface DimseDenoiseReport extends DenoiseReport {
  readonly dimse: DimseReport;
}

export interface DimseOptions extends DimseClientOptions {
  /** C-MOVE to our storage SCP on this port instead of C-GET. */
  readonly movePort?: number;
}

export interface DimseDenoiseOptions extends DenoiseOptions {
  readonly dimse: DimseOptions;
  /** The SCP to store the derived series to. */
  readonly store?: DimsePeer;
  /** Where pulled instances are kept until the run succeeds (default: the OS temp folder). */
  readonly pullDir?: string;
}

const DENOISABLE = new Set(['CT', 'PT']);

export async function denoiseDimse(url: string, options: DimseDenoiseOptions): Promise<DimseDenoiseReport> {
  const log = options.log ?? (() => {});
  const target = parseDimseUrl(url);
  const studyInstanceUid = target.studyInstanceUid;
  if (studyInstanceUid === null) throw new LowdoseError('E_USAGE', `${url}: denoise needs a study (dimse://<AE title>@host:port/<StudyInstanceUID>[/<SeriesInstanceUID>]); lowdose info ${url} lists the studies`);
  const client = options.dimse;
  const pullDir = options.pullDir ?? pullCacheDir('dimse', dimseUrl(target, studyInstanceUid, target.seriesInstanceUid ?? undefined));
  const dimse: DimseReport = {
    source: url,
    callingAet: client.callingAet,
    studyInstanceUid,
    retrieve: client.movePort === undefined ? 'C-GET' : 'C-MOVE',
    pulled: [],
    ...(options.store ? { store: dimseUrl(options.store) } : {}),
    stored: [],
  };
  const remote = await findSeries(target, studyInstanceUid, target.seriesInstanceUid, client);
  const wanted: Array<{ series: RemoteSeries; instances: Awaited<ReturnType<typeof findInstances>> }> = [];
  for (const s of remote) {
    if (!DENOISABLE.has(s.modality) && !target.seriesInstanceUid) {
      log(`skipping ${s.modality} series ${s.seriesInstanceUid}: only CT and PET are denoised`);
      continue;
    }
    const instances = await findInstances(target, s, client);
    if (!target.seriesInstanceUid && isLowdoseDerived(instances)) log(`skipping series ${s.seriesInstanceUid}: lowdose derived it`);
    else wanted.push({ series: s, instances });
  }
  if (wanted.length === 0) throw new LowdoseError('E_NOT_FOUND', `no CT or PET series in ${url}`);
  try {
    for (const { series, instances } of wanted) {
      log(`retrieving ${series.modality} series ${series.seriesInstanceUid} (${instances.length} instance(s)) from ${series.url} with ${dimse.retrieve}`);
      dimse.pulled.push(await pullSeries(target, series, instances, pullDir, { ...client, log }));
    }
  } catch (error) {
    // The PACS failing mid-retrieve: nothing is denoised or stored; the report says so and what
    // is on disk, and the instances retrieved so far stay for the rerun.
    const e = toLowdoseError(error, 'E_IO');
    if (e.code === 'E_USAGE' || e.code === 'E_NOT_FOUND') throw e;
    log(e.message);
    const result: DimseDenoiseReport = { series: [], errors: [{ ...e.toJSON(), path: e.path ?? url }], dimse };
    await writeFileAtomic(path.join(path.resolve(options.outDir), REPORT_FILE), `${JSON.stringify(result, null, 2)}\n`);
    return result;
  }
  const report = await denoisePaths(
    dimse.pulled.map((p) => p.dir),
    options,
  );
  const errors = [...report.errors];
  if (options.store) {
    for (const series of report.series) {
      const parts = [
        { kind: 'denoised' as const, uid: series.output.seriesInstanceUid, files: series.output.files },
        ...(series.uncertainty ? [{ kind: 'uncertainty' as const, uid: series.uncertainty.seriesInstanceUid, files: series.uncertainty.files }] : []),
      ];
      for (const part of parts) {
        try {
          const files = part.files.map((f) => path.resolve(f));
          dimse.stored.push(await storeSeries(options.store, files, { kind: part.kind, studyInstanceUid, seriesInstanceUid: part.uid }, { ...client, log }));
        } catch (error) {
          const e = toLowdoseError(error, 'E_IO');
          log(e.message);
          errors.push({ ...e.toJSON(), path: e.path ?? dimseUrl(options.store) });
        }
      }
    }
  }
  const result: DimseDenoiseReport = { series: report.series, errors, dimse };
  await writeFileAtomic(path.join(path.resolve(options.outDir), REPORT_FILE), `${JSON.stringify(result, null, 2)}\n`);
  if (errors.length === 0) await rm(pullDir, { recursive: true, force: true });
  return result;
}

export type DimseInfoResult =
  | { readonly source: string; readonly studies: RemoteStudy[]; readonly errors: [] }
  | { readonly source: string; readonly studyInstanceUid: string; readonly series: RemoteSeries[]; readonly errors: [] };

/** `lowdose info dimse://...`: the PACS's studies, or a study's series, as C-FIND lists them. */
export async function infoDimse(url: string, client: DimseClientOptions): Promise<{ result: DimseInfoResult; exitCode: number }> {
  const target = parseDimseUrl(url);
  if (target.studyInstanceUid === null) {
    return { result: { source: url, studies: await findStudies(target, client), errors: [] }, exitCode: EXIT_OK };
  }
  const series = await findSeries(target, target.studyInstanceUid, target.seriesInstanceUid, client);
  return { result: { source: url, studyInstanceUid: target.studyInstanceUid, series, errors: [] }, exitCode: EXIT_OK };
}
