/**
 * The low-dose source of a denoised series that a PACS run made (`denoise <DICOMweb URL>`,
 * `denoise dimse://...`): its report names the series' address on the PACS (`input.url`) and no
 * file (the pull folder is removed when the run succeeds, docs/contract.md). Whether this server
 * can open it: only through the same PACS it was started with (`serve --dicomweb` / `--dimse`).
 * Pure: the address parsed and compared, nothing fetched.
 */
import { parseDicomwebUrl } from '../../dicomweb/url.js';
import { dimseUrl, parseDimseUrl } from '../../dimse/url.js';

export interface PacsInputSource {
  /** The series' address on the PACS, as the report gives it (`input.url`). */
  readonly url: string;
  readonly studyInstanceUid: string;
  readonly seriesInstanceUid: string;
  /** Whether this server's PACS is the one the series was pulled from (then it can be opened). */
  readonly openable: boolean;
  /** Why it cannot be opened; null when it can. */
  readonly reason: string | null;
}

/** This server's PACS (`PacsService.base` / `protocol`), or null without one. */
export interface ServerPacs {
  readonly base: string;
  readonly protocol: 'dicomweb' | 'dimse';
}

/** `serve`'s PacsService (or none) as the comparison here needs it. */
export function serverPacs(pacs: ServerPacs | null | undefined): ServerPacs | null {
  return pacs ? { base: pacs.base, protocol: pacs.protocol } : null;
}

/** The PACS and UIDs a report's `input.url` names; null when it is neither a DICOMweb series URL nor a dimse:// series address. */
export function parsePacsInputUrl(url: string): { protocol: 'dicomweb' | 'dimse'; base: string; studyInstanceUid: string; seriesInstanceUid: string } | null {
  try {
    if (/^dimse:\/\//i.test(url)) {
      const t = parseDimseUrl(url);
      if (t.studyInstanceUid === null || t.seriesInstanceUid === null) return null;
      return { protocol: 'dimse', base: dimseUrl(t), studyInstanceUid: t.studyInstanceUid, seriesInstanceUid: t.seriesInstanceUid };
    }
    const t = parseDicomwebUrl(url);
    if (t.seriesInstanceUid === null) return null;
    return { protocol: 'dicomweb', base: t.base, studyInstanceUid: t.studyInstanceUid, seriesInstanceUid: t.seriesInstanceUid };
  } catch {
    return null;
  }
}

/**
 * The source a report names by `url` as this server sees it: openable through `pacs` when it is
 * the same PACS (same protocol and address), else the reason it cannot be shown. Null when `url`
 * names no PACS series.
 */
export function pacsInputSource(url: string, pacs: ServerPacs | null): PacsInputSource | null {
  const target = parsePacsInputUrl(url);
  if (!target) return null;
  const { studyInstanceUid, seriesInstanceUid } = target;
  const option = target.protocol === 'dicomweb' ? `--dicomweb ${target.base}` : `--dimse ${target.base}`;
  const pulled = `the low-dose series was pulled from ${url} and the run removed its copy`;
  const reason =
    pacs === null
      ? `${pulled}; this server has no PACS to open it from: start lowdose serve with ${option}`
      : pacs.protocol !== target.protocol || !samePacs(pacs.base, target.base)
        ? `${pulled}; this server's PACS is ${pacs.base}, not ${target.base}: start lowdose serve with ${option}`
        : null;
  return { url, studyInstanceUid, seriesInstanceUid, openable: reason === null, reason };
}

function samePacs(a: string, b: string): boolean {
  const norm = (s: string) => s.replace(/\/+$/, '');
  return norm(a) === norm(b);
}

/**
 * `summary` (a series of the index) with the low-dose source its report names on a PACS
 * (`url`, DataIndex.pacsInputOf) as this server sees it (`lowDoseSource`); `summary` itself when
 * there is none.
 */
export function withLowDoseSource<T extends object>(summary: T, url: string | null, pacs: ServerPacs | null): T & { lowDoseSource?: PacsInputSource } {
  const source = url === null ? null : pacsInputSource(url, pacs);
  return source ? { ...summary, lowDoseSource: source } : summary;
}
