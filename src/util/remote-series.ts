/**
 * A series on a remote DICOM server as both protocols see it: found on it (QIDO-RS or C-FIND),
 * pulled from it into a folder (WADO-RS or C-GET / C-MOVE) and stored back to it (STOW-RS or
 * C-STORE). One set of shapes, so `denoise <url>`, `denoise dimse://...` and `serve --dicomweb`
 * report pulls and stores alike (src/dicomweb/study.ts, src/dimse/study.ts).
 */
import { CLASSICAL_METHODS } from '../choices.js';
import { LowdoseError, toLowdoseError } from '../errors.js';

/** What a study search matches on, over either protocol (QIDO-RS or C-FIND at STUDY level). */
export interface StudyKeys {
  /** PatientID; `*` and `?` are wildcards. */
  readonly patientId?: string;
  /** First and last StudyDate, DICOM DA (YYYYMMDD), inclusive; either may be left open. */
  readonly from?: string;
  readonly to?: string;
  /** AccessionNumber; `*` and `?` are wildcards to the PACS (C-FIND and QIDO-RS match SH values with them), so a number without them matches exactly. */
  readonly accessionNumber?: string;
  /** StudyInstanceUID, matched exactly; several separated by `\` (C-FIND) or `,` (QIDO-RS) are a UID list (pipeline/study-queries.ts). */
  readonly studyInstanceUid?: string;
}

const DA = /^\d{8}$/;

/**
 * The StudyDate matching value of a search's date range (DICOM range matching: `from-to`, open at
 * either end; one day as that date), or null for any date. A date that is not YYYYMMDD, or a range
 * whose start is after its end, is E_USAGE.
 */
export function studyDateMatch(keys: StudyKeys): string | null {
  const { from, to } = keys;
  for (const [name, value] of [['from', from], ['to', to]] as const) {
    if (value !== undefined && !DA.test(value)) throw new LowdoseError('E_USAGE', `${name} must be a date as YYYYMMDD, got "${value}"`);
  }
  if (from !== undefined && to !== undefined && from > to) throw new LowdoseError('E_USAGE', `the date range is empty: from ${from} is after to ${to}`);
  if (from === undefined && to === undefined) return null;
  return from !== undefined && from === to ? from : `${from ?? ''}-${to ?? ''}`;
}

export interface RemoteSeries {
  readonly studyInstanceUid: string;
  readonly seriesInstanceUid: string;
  readonly modality: string;
  readonly description: string;
  readonly seriesNumber: number | null;
  readonly instances: number | null;
  /** The series' address: a DICOMweb URL, or `dimse://AET@host:port/<study>/<series>`. */
  readonly url: string;
}

export interface PulledSeries {
  readonly seriesInstanceUid: string;
  readonly url: string;
  readonly modality: string;
  /** Instances the server listed and this run has on disk (retrieved now or by an earlier run). */
  readonly instances: number;
  readonly retrieved: number;
  readonly dir: string;
  /**
   * Present only when the run went on with fewer instances than the server says the series holds
   * (`--allow-incomplete`; checkSeriesShortfall): the derived series lacks those slices. With
   * `suvNote` when the series' SUVbw depends on which of its files were read (its
   * W_SUV_PARTIAL_SERIES warning, src/dicom/suv.ts): the SUVs are not those of the whole series.
   */
  readonly incomplete?: SeriesShortfall & { readonly suvNote?: string };
  /**
   * Present only when an earlier run had left instances of the series in the pull folder that the
   * server no longer lists for it (deleted, or replaced under another UID, since): how many were
   * removed before denoising (util/pull-cache.ts removeUnlisted), so none of them is in the output.
   */
  readonly removedStale?: number;
}

/**
 * The SUV note of a series read from fewer files than it holds, from its reading warnings: the
 * W_SUV_PARTIAL_SERIES message (src/dicom/suv.ts partialSeriesSuvNote) without the series key it
 * starts with, or undefined when its SUVbw does not depend on which files were read. Used by
 * `denoise <url> --allow-incomplete` (pulled[].incomplete.suvNote) and the viewer's PACS opens and jobs.
 */
export function partialSuvNote(warnings: ReadonlyArray<{ readonly code: string; readonly message: string }>): string | undefined {
  const warning = warnings.find((w) => w.code === 'W_SUV_PARTIAL_SERIES');
  // The warning names the series key first; the note sits in the series' own entry.
  return warning?.message.replace(/^\S+: /, '');
}

/** The SUV note (partialSuvNote) of the series a denoise run read as `seriesInstanceUid` (its report's `series[]`), or undefined. */
export function suvNoteOfRead(
  seriesInstanceUid: string,
  series: ReadonlyArray<{ readonly input: { readonly seriesInstanceUid: string }; readonly warnings: ReadonlyArray<{ readonly code: string; readonly message: string }> }>,
): string | undefined {
  return partialSuvNote(series.find((s) => s.input.seriesInstanceUid === seriesInstanceUid)?.warnings ?? []);
}

/** How many instances the server says a series holds (NumberOfSeriesRelatedInstances) and how many this run has. */
export interface SeriesShortfall {
  readonly expected: number;
  readonly received: number;
}

/**
 * A series of which fewer instances came than the server says it holds: a QIDO-RS instance list a
 * server capped and would not page, or a C-GET / C-MOVE that sent fewer than the series'
 * NumberOfSeriesRelatedInstances; or a study's series list that lacks, or may lack, series
 * (checkSeriesListShortfall). E_IO (the retrieve did not bring the series; exit 1), with the
 * counts as data in its `errors[]` entry (`incomplete`), so a script tells it from a transfer that
 * broke off, which a rerun completes.
 */
export class IncompleteSeriesError extends LowdoseError {
  /**
   * The counts: of a series' instances (`seriesInstanceUid`), or of a study's series
   * (`studyInstanceUid`; checkSeriesListShortfall), where `expected` is null when the server does
   * not say how many the study holds.
   */
  readonly incomplete: (SeriesShortfall & { readonly seriesInstanceUid: string }) | (SeriesListShortfall & { readonly studyInstanceUid: string });

  constructor(message: string, url: string, incomplete: IncompleteSeriesError['incomplete']) {
    super('E_IO', message, { path: url });
    this.incomplete = incomplete;
  }

  override toJSON(): ReturnType<LowdoseError['toJSON']> & { incomplete: IncompleteSeriesError['incomplete'] } {
    return { ...super.toJSON(), incomplete: this.incomplete };
  }
}

/**
 * How the shortfall rule's messages name the way to go on with an incomplete series and where the
 * counts are then recorded: the CLI's `--allow-incomplete` and report.json, or a viewer job's
 * request field and its result (src/server/pacs.ts).
 */
export interface ShortfallWording {
  readonly option: string;
  readonly recordedIn: string;
}

const CLI_WORDING: ShortfallWording = { option: '--allow-incomplete', recordedIn: 'report.json' };

/**
 * The one shortfall rule of both protocols and of the viewer's jobs: a series pulled with fewer
 * instances than the server says it holds (`expected`: NumberOfSeriesRelatedInstances; null when
 * it does not say, and then nothing can be checked) is refused (IncompleteSeriesError): a derived
 * series with slices missing and exit 0 would pass for a whole one in a batch. With
 * `allowIncomplete` the run goes on with what came, the shortfall logged and returned for the
 * report (PulledSeries.incomplete). `received` is what the run has (listed, or on disk); `what`
 * says it in words, with the number.
 */
export function checkSeriesShortfall(
  series: Pick<RemoteSeries, 'seriesInstanceUid' | 'url'>,
  expected: number | null,
  received: number,
  what: string,
  options: { readonly allowIncomplete?: boolean; readonly log?: (message: string) => void; readonly wording?: ShortfallWording },
): SeriesShortfall | null {
  if (expected === null || received >= expected) return null;
  const shortfall = { expected, received };
  const counts = `the server says it holds ${expected} instance(s) and ${what}`;
  const { option, recordedIn } = options.wording ?? CLI_WORDING;
  if (options.allowIncomplete) {
    options.log?.(`series ${series.seriesInstanceUid}: ${counts}; denoising those ${received} (${option}): the derived series lacks ${expected - received} slice(s)`);
    return shortfall;
  }
  throw new IncompleteSeriesError(
    `series ${series.seriesInstanceUid} is incomplete: ${counts}, so its derived series would lack ${expected - received} slice(s); nothing was denoised. ` +
      `${option} denoises the ${received} that came and records the counts in ${recordedIn}`,
    series.url,
    { seriesInstanceUid: series.seriesInstanceUid, ...shortfall },
  );
}

/**
 * What `info` says of a series whose instance list may lack instances: `expected`, the series'
 * NumberOfSeriesRelatedInstances (null when the server does not say), `received`, how many its
 * instance list holds (QIDO-RS, or C-FIND at IMAGE level), and `capped`, whether the server cut
 * that list at a cap of its own (DICOMweb: it would not page its answer; DIMSE: C-FIND status 0xFE00).
 */
export interface InstanceListShortfall {
  readonly expected: number | null;
  readonly received: number;
  readonly capped: boolean;
}

/**
 * A series as `info` lists it: `incomplete` only when its instance list may lack instances,
 * `instanceListError` (an `errors[]`-shaped entry, `path` the series' URL) only when that list
 * could not be had, so its count is not checked. A series with neither was checked and is whole.
 */
export type ListedSeries = RemoteSeries & {
  readonly incomplete?: InstanceListShortfall;
  readonly instanceListError?: ReturnType<LowdoseError['toJSON']>;
};

/**
 * The series with their instance lists checked, one listing per series (`list`: how many instances
 * it holds and whether the server capped it): `incomplete` added when the list holds fewer than
 * the series' NumberOfSeriesRelatedInstances, or was capped with no count to compare with. A list
 * the server cut at its cap that still holds the count is whole. A series whose listing fails is
 * kept unchecked, the failure logged and recorded as its `instanceListError` (code E_IO unless the
 * failure carries a toolkit code): a server that answers series queries and not instance ones
 * still gets its series listed.
 */
export async function withInstanceListCheck(
  series: readonly RemoteSeries[],
  list: (series: RemoteSeries) => Promise<{ readonly received: number; readonly capped: boolean }>,
  log: (message: string) => void,
): Promise<ListedSeries[]> {
  const checked: ListedSeries[] = [];
  for (const s of series) {
    let listing: { readonly received: number; readonly capped: boolean };
    try {
      listing = await list(s);
    } catch (error) {
      const failure = toLowdoseError(error, 'E_IO');
      log(`series ${s.seriesInstanceUid}: its instances could not be listed, so its count is not checked: ${failure.message}`);
      checked.push({ ...s, instanceListError: { ...failure.toJSON(), path: s.url } });
      continue;
    }
    const { received, capped } = listing;
    const short = s.instances !== null ? received < s.instances : capped;
    checked.push(short ? { ...s, incomplete: { expected: s.instances, received, capped } } : s);
  }
  return checked;
}

/**
 * How many series the server says a study holds (NumberOfStudyRelatedSeries; null when it does not
 * say) and how many its series list gave, for a list that may lack series.
 */
export interface SeriesListShortfall {
  readonly expected: number | null;
  readonly received: number;
}

/**
 * The shortfall rule (checkSeriesShortfall) one level up, for a study's series list that is known
 * or suspected to lack series (`why`: a server that caps its answer and will not page, listing
 * fewer than its NumberOfStudyRelatedSeries or not saying how many): refused (IncompleteSeriesError,
 * E_IO, with `incomplete` { studyInstanceUid, expected, received }), since a study run that exits 0
 * with series missing passes for a whole one; with `allowIncomplete` the run goes on with the
 * listed series, logged, and the counts returned for the report. Null when the list is whole.
 */
export function checkSeriesListShortfall(
  study: { readonly studyInstanceUid: string; readonly url: string },
  why: string | null,
  shortfall: SeriesListShortfall | null,
  options: { readonly allowIncomplete?: boolean; readonly log?: (message: string) => void },
): SeriesListShortfall | null {
  if (why === null || shortfall === null) return null;
  if (options.allowIncomplete) {
    options.log?.(`${why}; denoising the ${shortfall.received} listed (--allow-incomplete): the study's other series are not denoised`);
    return shortfall;
  }
  throw new IncompleteSeriesError(
    `study ${study.studyInstanceUid} is incomplete: ${why}, so the run would leave out series it holds; nothing was denoised. ` +
      `--allow-incomplete denoises the ${shortfall.received} listed and records the counts in report.json`,
    study.url,
    { studyInstanceUid: study.studyInstanceUid, ...shortfall },
  );
}

export interface StoredSeries {
  readonly kind: 'denoised' | 'uncertainty';
  readonly studyInstanceUid: string;
  readonly seriesInstanceUid: string;
  readonly url: string;
  readonly instances: number;
}

/**
 * A STOW-RS or C-STORE of a series stopped by its signal (SIGINT / SIGTERM, a batch cancelled):
 * E_CANCELLED saying how many instances the destination confirmed (`stored`), that those of the
 * request or association in flight (`unanswered`) may or may not have been kept, and how a rerun
 * completes it. `by`: what stopped, the request's own error ("POST ... stopped (interrupted by SIGINT)").
 */
export function storeStopped(
  meta: { readonly kind: StoredSeries['kind']; readonly seriesInstanceUid: string },
  where: string,
  counts: { readonly stored: number; readonly of: number; readonly unanswered: number; readonly by: string; readonly cause?: unknown },
): LowdoseError {
  const inFlight = counts.unanswered > 0 ? `; the destination may have kept some of the ${counts.unanswered} instance(s) it had not confirmed` : '';
  return new LowdoseError(
    'E_CANCELLED',
    `storing ${meta.kind} series ${meta.seriesInstanceUid} to ${where} was stopped after ${counts.stored} of ${counts.of} instance(s) were stored: ${counts.by}${inFlight}; a rerun into the same -o stores the series again`,
    { path: where, cause: counts.cause },
  );
}

// The SeriesDescription suffixes `denoise` writes (pipeline/slice-denoiser.ts: "lowdose denoised"
// for the diffusion model, "lowdose <filter>" for a classical filter; pipeline/denoise.ts adds
// " uncertainty" for the uncertainty series). The input's description is cut to make room, so a
// derived series' description always ends with one of them.
const DENOISE_SUFFIX = new RegExp(`(^|\\s)lowdose (denoised|${CLASSICAL_METHODS.join('|')})( uncertainty)?$`);

/**
 * Whether a series on a PACS is one that `lowdose denoise` wrote and stored back (a denoised or
 * uncertainty series), which a study URL must not denoise again. Its DerivationDescription names
 * lowdose; `lowdose simulate:` marks a simulated reduced-dose series, an input to denoise, not an
 * output. A PACS may leave a long value out of its query answers (Orthanc answers nothing for one
 * over 256 characters, which a diffusion run with consistency writes), so without a
 * DerivationDescription the SeriesDescription's suffix decides.
 */
export function isDenoiseOutput(series: Pick<RemoteSeries, 'description'>, derivationDescription: string): boolean {
  const derivation = derivationDescription.trim();
  if (derivation !== '') return /\blowdose /.test(derivation) && !derivation.startsWith('lowdose simulate:');
  return DENOISE_SUFFIX.test(series.description.trim());
}
