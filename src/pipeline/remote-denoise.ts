/**
 * The flow both PACS routes share (pipeline/dicomweb.ts, pipeline/dimse.ts): choose the study's
 * series to denoise (seriesToDenoise), pull them into a temporary folder, denoise it there with
 * denoisePaths exactly as a folder would be, store the derived series (and any uncertainty
 * series) back, write `report.json`, and remove the pull folder only once everything succeeded,
 * so a rerun after a failure retrieves only what is missing and stores again what was not
 * finished; and not while another run of the same source still uses it (util/folder-claims.ts).
 * The protocols differ only in how they list, pull and store.
 */
import path from 'node:path';
import { DENOISED_MODALITIES, isOneOf } from '../choices.js';
import { notDenoisedMessage } from './not-denoised.js';
import { LowdoseError, toLowdoseError } from '../errors.js';
import { claimFolder } from '../util/folder-claims.js';
import { writeFileAtomic } from '../util/fs.js';
import { denoisePaths, REPORT_FILE } from './denoise.js';
import type { DenoiseOptions, DenoiseReport } from './types.js';

type ReportError = DenoiseReport['errors'][number];

/** A folder run's options plus where the pulled instances wait. */
export interface RemoteDenoiseOptions extends DenoiseOptions {
  /** Where pulled instances are kept until the run succeeds (default: the OS temp folder, util/pull-cache.ts). */
  readonly pullDir?: string;
}

/**
 * The series of a study that `denoise <URL>` pulls: CT and PET only and, unless the URL names the
 * series, none that lowdose derived (a result stored back is not denoised again); each one left
 * out is logged. Throws E_NOT_FOUND when none is left, before anything is retrieved.
 */
export async function seriesToDenoise<S extends { readonly modality: string; readonly seriesInstanceUid: string }>(
  remote: readonly S[],
  source: string,
  options: { readonly named: boolean; readonly derived: (series: S) => Promise<boolean>; readonly log: (message: string) => void },
): Promise<S[]> {
  const wanted: S[] = [];
  for (const s of remote) {
    if (!isOneOf(DENOISED_MODALITIES, s.modality)) options.log(notDenoisedMessage(s));
    else if (!options.named && (await options.derived(s))) options.log(`skipping series ${s.seriesInstanceUid}: lowdose derived it`);
    else wanted.push(s);
  }
  if (wanted.length === 0) throw new LowdoseError('E_NOT_FOUND', `no CT or PET series in ${source}`);
  return wanted;
}

/** One derived series to store back. */
export interface DerivedPart {
  readonly kind: 'denoised' | 'uncertainty';
  readonly seriesInstanceUid: string;
  /** Absolute paths of its files. */
  readonly files: string[];
}

/** What of one denoised series goes back to the PACS: the derived series and its uncertainty series, if any. */
export function derivedParts(series: DenoiseReport['series'][number]): DerivedPart[] {
  return [
    { kind: 'denoised', seriesInstanceUid: series.output.seriesInstanceUid, files: series.output.files.map((f) => path.resolve(f)) },
    ...(series.uncertainty
      ? [{ kind: 'uncertainty' as const, seriesInstanceUid: series.uncertainty.seriesInstanceUid, files: series.uncertainty.files.map((f) => path.resolve(f)) }]
      : []),
  ];
}

/** A series pulled into the pull folder: where its files are and where it came from. */
export interface PulledFolder {
  readonly dir: string;
  /** The series' address on the server (DICOMweb URL or dimse:// address). */
  readonly url: string;
}

/**
 * The folder pipeline names an unreadable file by its path, here a file named after its SOP
 * Instance UID in a hashed temporary folder: the message also names the instance and the series
 * address it came from, so the PACS's copy can be found (the file stays for inspection: a run with
 * errors keeps the pull folder).
 */
export function nameRemoteInstance(error: ReportError, pulled: readonly PulledFolder[]): ReportError {
  if (error.path === null) return error;
  const file = path.resolve(error.path);
  const series = pulled.find((p) => path.dirname(file) === path.resolve(p.dir));
  if (!series || !file.endsWith('.dcm')) return error;
  return { ...error, message: `instance ${path.basename(file, '.dcm')} of ${series.url}: ${error.message}` };
}

export interface RemoteSteps<R> {
  /** The source, named by errors that carry no path of their own. */
  readonly source: string;
  readonly pullDir: string;
  /** Retrieves every wanted series; resolves to the folders they were pulled into. */
  readonly pull: () => Promise<PulledFolder[]>;
  /** Stores one derived series back (absent: nothing is stored); `where` names the target in errors. */
  readonly store?: { readonly where: string; readonly put: (part: DerivedPart) => Promise<void> };
  /** The report: the folder report's fields plus the protocol's own section. */
  readonly report: (series: DenoiseReport['series'], errors: ReportError[]) => R;
}

export async function denoiseRemote<R>(options: DenoiseOptions, steps: RemoteSteps<R>): Promise<R> {
  const log = options.log ?? (() => {});
  // Another run of the same source pulls into the same folder: the last one to finish removes it.
  const claim = await claimFolder(steps.pullDir, { log });
  let succeeded = false;
  try {
    const result = await pullDenoiseStore(options, steps, log);
    succeeded = result.errors === 0;
    return result.report;
  } finally {
    const removed = await claim.release({ remove: succeeded });
    if (succeeded && !removed) log(`kept ${steps.pullDir} for another run of this source that is still using it`);
  }
}

async function pullDenoiseStore<R>(options: DenoiseOptions, steps: RemoteSteps<R>, log: (message: string) => void): Promise<{ report: R; errors: number }> {
  const writeReport = (result: R) => writeFileAtomic(path.join(path.resolve(options.outDir), REPORT_FILE), `${JSON.stringify(result, null, 2)}\n`);
  let pulled: PulledFolder[];
  try {
    pulled = await steps.pull();
  } catch (error) {
    // A server failing mid-retrieve: nothing is denoised or stored; the report says so and what
    // is on disk, and the instances retrieved so far stay for the rerun.
    const e = toLowdoseError(error, 'E_IO');
    if (e.code === 'E_USAGE' || e.code === 'E_NOT_FOUND') throw e;
    log(e.message);
    const result = steps.report([], [{ ...e.toJSON(), path: e.path ?? steps.source }]);
    await writeReport(result);
    return { report: result, errors: 1 };
  }
  const report = await denoisePaths(
    pulled.map((p) => p.dir),
    options,
  );
  const errors = report.errors.map((e) => nameRemoteInstance(e, pulled));
  if (steps.store) {
    for (const series of report.series) {
      for (const part of derivedParts(series)) {
        try {
          await steps.store.put(part);
        } catch (error) {
          const e = toLowdoseError(error, 'E_IO');
          log(e.message);
          errors.push({ ...e.toJSON(), path: e.path ?? steps.store.where });
        }
      }
    }
  }
  const result = steps.report(report.series, errors);
  await writeReport(result);
  return { report: result, errors: errors.length };
}
