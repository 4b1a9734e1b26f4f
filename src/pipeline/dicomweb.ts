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
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { DicomwebClient, type DicomwebClientOptions } from '../dicomweb/client.js';
import { isLowdoseDerived, listSeries, pullSeries, stowSeries, type PulledSeries, type RemoteSeries, type StoredSeries } from '../dicomweb/study.js';
import { parseDicomwebUrl } from '../dicomweb/url.js';
import { LowdoseError, toLowdoseError } from '../errors.js';
import { EXIT_OK } from '../exit-codes.js';
import { denoisePaths, REPORT_FILE } from './denoise.js';
import type { DenoiseOptions, DenoiseReport } from './types.js';
import { writeFileAtomic } from '../util/fs.js';
import { pullCacheDir } from '../util/pull-cache.js';

export interface DicomwebReport {
  readonly source: string;
  readonly studyInstanceUid: string;
  readonly pulled: PulledSeries[];
  /** Where the derived series were stored (absent without --stow). */
  readonly stowBase?: string;
  readonly stored: StoredSeries[];
}

export interface DicomwebDenoiseReport extends DenoiseReport {
  readonly dicomweb: DicomwebReport;
}

export interface DicomwebDenoiseOptions extends DenoiseOptions {
  readonly dicomweb?: DicomwebClientOptions;
  /** DICOMweb base to store the derived series to. */
  readonly stow?: string;
  /** Where pulled instances are kept until the run succeeds (default: the OS temp folder). */
  readonly pullDir?: string;
}

const DENOISABLE = new Set(['CT', 'PT']);

export async function denoiseDicomweb(url: string, options: DicomwebDenoiseOptions): Promise<DicomwebDenoiseReport> {
  const log = options.log ?? (() => {});
  const target = parseDicomwebUrl(url);
  const client = new DicomwebClient({ log, ...options.dicomweb });
  const pullDir = options.pullDir ?? pullCacheDir('dicomweb', url);
  const dicomweb: DicomwebReport = {
    source: url,
    studyInstanceUid: target.studyInstanceUid,
    pulled: [],
    ...(options.stow ? { stowBase: options.stow } : {}),
    stored: [],
  };
  try {
    const remote = await listSeries(client, target);
    const wanted: RemoteSeries[] = [];
    for (const s of remote) {
      if (!DENOISABLE.has(s.modality)) log(`skipping ${s.modality} series ${s.seriesInstanceUid}: only CT and PET are denoised`);
      else if (!target.seriesInstanceUid && (await isLowdoseDerived(client, s))) log(`skipping series ${s.seriesInstanceUid}: lowdose derived it`);
      else wanted.push(s);
    }
    if (wanted.length === 0) throw new LowdoseError('E_NOT_FOUND', `no CT or PET series in ${url}`);
    try {
      for (const series of wanted) {
        log(`retrieving ${series.modality} series ${series.seriesInstanceUid} (${series.instances ?? '?'} instance(s)) from ${series.url}`);
        dicomweb.pulled.push(await pullSeries(client, series, pullDir, { log }));
      }
    } catch (error) {
      // A server failing mid-retrieve: nothing is denoised or stored; the report says so and what
      // is on disk, and the instances retrieved so far stay for the rerun.
      const e = toLowdoseError(error, 'E_IO');
      if (e.code === 'E_USAGE' || e.code === 'E_NOT_FOUND') throw e;
      log(e.message);
      const result: DicomwebDenoiseReport = { series: [], errors: [{ ...e.toJSON(), path: e.path ?? url }], dicomweb };
      await writeFileAtomic(path.join(path.resolve(options.outDir), REPORT_FILE), `${JSON.stringify(result, null, 2)}\n`);
      return result;
    }
    const report = await denoisePaths(
      dicomweb.pulled.map((p) => p.dir),
      options,
    );
    const errors = [...report.errors];
    if (options.stow) {
      for (const series of report.series) {
        const parts = [
          { kind: 'denoised' as const, uid: series.output.seriesInstanceUid, files: series.output.files },
          ...(series.uncertainty ? [{ kind: 'uncertainty' as const, uid: series.uncertainty.seriesInstanceUid, files: series.uncertainty.files }] : []),
        ];
        for (const part of parts) {
          try {
            const files = part.files.map((f) => path.resolve(f));
            dicomweb.stored.push(
              await stowSeries(client, options.stow, files, { kind: part.kind, studyInstanceUid: target.studyInstanceUid, seriesInstanceUid: part.uid }, { log }),
            );
          } catch (error) {
            const e = toLowdoseError(error, 'E_IO');
            log(e.message);
            errors.push({ ...e.toJSON(), path: e.path ?? options.stow });
          }
        }
      }
    }
    const result: DicomwebDenoiseReport = { series: report.series, errors, dicomweb };
    await writeFileAtomic(path.join(path.resolve(options.outDir), REPORT_FILE), `${JSON.stringify(result, null, 2)}\n`);
    if (errors.length === 0) await rm(pullDir, { recursive: true, force: true });
    return result;
  } finally {
    await client.close();
  }
}

export interface DicomwebInfoResult {
  readonly source: string;
  readonly studyInstanceUid: string;
  readonly series: RemoteSeries[];
  readonly errors: Array<{ path: string | null; code: string; message: string }>;
}

/** `lowdose info <URL>`: the study's series as QIDO-RS lists them. */
export async function infoDicomweb(url: string, clientOptions: DicomwebClientOptions = {}): Promise<{ result: DicomwebInfoResult; exitCode: number }> {
  const target = parseDicomwebUrl(url);
  const client = new DicomwebClient(clientOptions);
  try {
    const series = await listSeries(client, target);
    return { result: { source: url, studyInstanceUid: target.studyInstanceUid, series, errors: [] }, exitCode: EXIT_OK };
  } finally {
    await client.close();
  }
}
