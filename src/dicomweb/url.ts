/**
 * DICOMweb study / series URLs as `denoise` and `info` accept them:
 * `http(s)://host[:port]/<prefix>/studies/<StudyInstanceUID>[/series/<SeriesInstanceUID>]`.
 * The service base (what QIDO / WADO / STOW paths are appended to) is everything before `/studies/`.
 */
import { LowdoseError } from '../errors.js';
import { withoutQueries, withoutQuery } from '../util/url-query.js';

export interface DicomwebTarget {
  /** Service root without a trailing slash, e.g. http://pacs:8042/dicom-web */
  readonly base: string;
  readonly studyInstanceUid: string;
  readonly seriesInstanceUid: string | null;
}

const UID = /^[0-9]+(\.[0-9]+)*$/;

export function isDicomwebUrl(text: string): boolean {
  return /^https?:\/\//i.test(text);
}

/**
 * An input as commands keep it (messages, report.json, markers, batch records): an http(s) address
 * without its query string, which may carry patient identifiers (util/url-query.ts) and which
 * nothing reads (parseDicomwebUrl and parseDicomwebBase take the path); anything else as given.
 */
export function withoutDicomwebQuery(text: string): string {
  return isDicomwebUrl(text) ? withoutQuery(text) : text;
}

export function parseDicomwebUrl(text: string): DicomwebTarget {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new LowdoseError('E_USAGE', `not a URL: ${withoutQueries(text)}`);
  }
  if (url.username || url.password) {
    throw new LowdoseError('E_USAGE', `credentials in the URL are not accepted (they would show in the process list); use --dicomweb-auth or $LOWDOSE_DICOMWEB_AUTH`);
  }
  const match = /^(.*?)\/studies\/([^/]+)(?:\/series\/([^/]+))?\/?$/.exec(url.pathname);
  if (!match) {
    throw new LowdoseError('E_USAGE', `${withoutQueries(text)} is not a DICOMweb study or series URL (…/studies/<StudyInstanceUID>[/series/<SeriesInstanceUID>])`);
  }
  const [, prefix, study, series] = match;
  for (const uid of [study, series]) {
    if (uid !== undefined && !UID.test(decodeURIComponent(uid))) throw new LowdoseError('E_USAGE', `${withoutQueries(text)}: "${uid}" is not a DICOM UID`);
  }
  return {
    base: `${url.protocol}//${url.host}${prefix ?? ''}`,
    studyInstanceUid: decodeURIComponent(study!),
    seriesInstanceUid: series === undefined ? null : decodeURIComponent(series),
  };
}

/**
 * Whether an http(s) address names a study or series (`.../studies/<uid>...`), as `denoise` and
 * `info` take it; false for a service base given alone (a PACS address to search).
 */
export function isDicomwebStudyUrl(text: string): boolean {
  try {
    return /\/studies\/[^/]/.test(new URL(text).pathname);
  } catch {
    return true; // not a URL: parseDicomwebUrl says why
  }
}

/** A DICOMweb service base given on its own (`--stow`, `serve --dicomweb`): no trailing slash. */
export function parseDicomwebBase(text: string): string {
  if (!isDicomwebUrl(text)) throw new LowdoseError('E_USAGE', `DICOMweb base must be an http(s) URL, got "${withoutQueries(text)}"`);
  const url = new URL(text);
  if (url.username || url.password) throw new LowdoseError('E_USAGE', 'credentials in the URL are not accepted; use --dicomweb-auth');
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
}
