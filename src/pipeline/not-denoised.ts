/**
 * What a run says of a series it does not denoise: only CT and PET are, and not a series lowdose
 * derived (denoising a denoised image again, silently, when a parent folder of an earlier -o is
 * walked). A non-image or vendor-private file can carry no Modality or no SeriesInstanceUID, and
 * the line still reads. A UID split into several series (by image size or orientation: keys
 * `uid#1`, `uid#2`, ...) is named by its key, so that each part's line says which part it is.
 */
import type { ScanResult, Series } from '../dicom/index.js';
import { DENOISED_MODALITIES, isOneOf } from '../choices.js';
import { LowdoseError } from '../errors.js';
import { listedPerCode } from '../util/code-sample.js';
import { isDenoiseOutput } from '../util/remote-series.js';

type Named = Pick<Series, 'modality' | 'seriesInstanceUid'> & { readonly key?: string };

/** A series of the input a folder run left out, as report.json records it (docs/contract.md). */
export interface SkippedSeries {
  readonly key: string;
  readonly seriesInstanceUid: string;
  readonly modality: string;
  /** `modality`: not CT or PET; `derived`: lowdose wrote it (a denoised or uncertainty series). */
  readonly reason: 'modality' | 'derived';
  readonly message: string;
}

function seriesName(series: Named): string {
  const name = series.key && series.key !== series.seriesInstanceUid ? series.key : series.seriesInstanceUid;
  return name || '(no SeriesInstanceUID)';
}

export function notDenoisedMessage(series: Named): string {
  const what = series.modality ? `${series.modality} series` : 'series without a Modality';
  return `skipping ${what} ${seriesName(series)}: only CT and PET are denoised`;
}

export function derivedMessage(series: Named & Pick<Series, 'seriesDescription'>): string {
  return `skipping ${series.modality} series ${seriesName(series)} ("${series.seriesDescription}"): lowdose derived it; --include-derived denoises it again`;
}

/**
 * The scanned series a folder run denoises, and the ones it leaves out, each said on `log`: CT and
 * PET only, and (unless `includeDerived`) none lowdose derived, by the rule the PACS inputs use
 * (isDenoiseOutput: its DerivationDescription, else its SeriesDescription's suffix).
 */
export function seriesToDenoiseIn<S extends Series>(
  scanned: readonly S[],
  options: { readonly includeDerived?: boolean; readonly log: (message: string) => void },
): { wanted: S[]; skipped: SkippedSeries[] } {
  const wanted: S[] = [];
  const skipped: SkippedSeries[] = [];
  const skip = (s: S, reason: SkippedSeries['reason'], message: string) => {
    options.log(message);
    skipped.push({ key: s.key, seriesInstanceUid: s.seriesInstanceUid, modality: s.modality, reason, message });
  };
  for (const s of scanned) {
    if (!isOneOf(DENOISED_MODALITIES, s.modality)) skip(s, 'modality', notDenoisedMessage(s));
    else if (!options.includeDerived && isDenoiseOutput({ description: s.seriesDescription }, s.derivationDescription ?? '')) skip(s, 'derived', derivedMessage(s));
    else wanted.push(s);
  }
  return { wanted, skipped };
}

/**
 * What a run of files or folders found when it left nothing to denoise, as data: the files it could
 * not read and the files holding no image (info --json's `errors` and `skipped`), and the series it
 * left out (report.json's `skipped`). The message says the same in words; this lets a script tell an
 * empty folder (fileCount 0) from corrupt files from series of another modality.
 */
export interface NothingToDenoiseScan {
  readonly fileCount: number;
  /** At most LISTED_PER_CODE per code (src/util/code-sample.ts); `errorCount` / `errorsByCode` count all. */
  readonly errors: ReadonlyArray<ReturnType<LowdoseError['toJSON']>>;
  readonly errorCount: number;
  readonly errorsByCode: Record<string, number>;
  /** At most LISTED_PER_CODE per code; `skippedCount` / `skippedByCode` count all. */
  readonly skipped: ReadonlyArray<{ readonly path: string; readonly code: string; readonly message: string }>;
  readonly skippedCount: number;
  readonly skippedByCode: Record<string, number>;
  readonly skippedSeries: readonly SkippedSeries[];
}

export function nothingToDenoiseScan(
  scan: Pick<ScanResult, 'fileCount' | 'errors' | 'skipped' | 'errorCount' | 'errorsByCode' | 'skippedCount' | 'skippedByCode'>,
  skippedSeries: readonly SkippedSeries[],
): NothingToDenoiseScan {
  return {
    fileCount: scan.fileCount,
    errors: listedPerCode(scan.errors.map((e) => e.toJSON())),
    errorCount: scan.errorCount,
    errorsByCode: scan.errorsByCode,
    skipped: listedPerCode(scan.skipped.map((s) => ({ path: s.path, code: s.code, message: s.message }))),
    skippedCount: scan.skippedCount,
    skippedByCode: scan.skippedByCode,
    skippedSeries,
  };
}


/** E_NOT_FOUND for a run with nothing to denoise; its JSON (`errors[]` entry) adds `scan`. */
export class NothingToDenoiseError extends LowdoseError {
  readonly scan: NothingToDenoiseScan;

  constructor(message: string, scan: NothingToDenoiseScan) {
    super('E_NOT_FOUND', message);
    this.scan = scan;
  }

  override toJSON(): ReturnType<LowdoseError['toJSON']> & { scan: NothingToDenoiseScan } {
    return { ...super.toJSON(), scan: this.scan };
  }
}
