/**
 * The flow both PACS routes share (pipeline/dicomweb.ts, pipeline/dimse.ts): pull a study into a
 * temporary folder, denoise it there with denoisePaths exactly as a folder would be, store the
 * derived series (and any uncertainty series) back, write `report.json`, and remove the pull
 * folder only once everything succeeded, so a rerun after a failure retrieves only what is missing
 * and stores again what was not finished. The protocols differ only in `pull` and `store`.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { toLowdoseError } from '../errors.js';
import { writeFileAtomic } from '../util/fs.js';
import { denoisePaths, REPORT_FILE } from './denoise.js';
import type { DenoiseOptions, DenoiseReport } from './types.js';

type ReportError = DenoiseReport['errors'][number];

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

export interface RemoteSteps<R> {
  /** The source, named by errors that carry no path of their own. */
  readonly source: string;
  readonly pullDir: string;
  /** Retrieves every wanted series; resolves to the folders they were pulled into. */
  readonly pull: () => Promise<string[]>;
  /** Stores one derived series back (absent: nothing is stored); `where` names the target in errors. */
  readonly store?: { readonly where: string; readonly put: (part: DerivedPart) => Promise<void> };
  /** The report: the folder report's fields plus the protocol's own section. */
  readonly report: (series: DenoiseReport['series'], errors: ReportError[]) => R;
}

export async function denoiseRemote<R>(options: DenoiseOptions, steps: RemoteSteps<R>): Promise<R> {
  const log = options.log ?? (() => {});
  const writeReport = (result: R) => writeFileAtomic(path.join(path.resolve(options.outDir), REPORT_FILE), `${JSON.stringify(result, null, 2)}\n`);
  let dirs: string[];
  try {
    dirs = await steps.pull();
  } catch (error) {
    // A server failing mid-retrieve: nothing is denoised or stored; the report says so and what
    // is on disk, and the instances retrieved so far stay for the rerun.
    const e = toLowdoseError(error, 'E_IO');
    if (e.code === 'E_USAGE' || e.code === 'E_NOT_FOUND') throw e;
    log(e.message);
    const result = steps.report([], [{ ...e.toJSON(), path: e.path ?? steps.source }]);
    await writeReport(result);
    return result;
  }
  const report = await denoisePaths(dirs, options);
  const errors = [...report.errors];
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
  if (errors.length === 0) await rm(steps.pullDir, { recursive: true, force: true });
  return result;
}
