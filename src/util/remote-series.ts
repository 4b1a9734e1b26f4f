/**
 * A series on a remote DICOM server as both protocols see it: found on it (QIDO-RS or C-FIND),
 * pulled from it into a folder (WADO-RS or C-GET / C-MOVE) and stored back to it (STOW-RS or
 * C-STORE). One set of shapes, so `denoise <url>`, `denoise dimse://...` and `serve --dicomweb`
 * report pulls and stores alike (src/dicomweb/study.ts, src/dimse/study.ts).
 */
import { CLASSICAL_METHODS } from '../choices.js';
import { LowdoseError } from '../errors.js';

/** What a study search matches on, over either protocol (QIDO-RS or C-FIND at STUDY level). */
export interface StudyKeys {
  /** PatientID; `*` and `?` are wildcards. */
  readonly patientId?: string;
  /** First and last StudyDate, DICOM DA (YYYYMMDD), inclusive; either may be left open. */
  readonly from?: string;
  readonly to?: string;
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
}

export interface StoredSeries {
  readonly kind: 'denoised' | 'uncertainty';
  readonly studyInstanceUid: string;
  readonly seriesInstanceUid: string;
  readonly url: string;
  readonly instances: number;
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
