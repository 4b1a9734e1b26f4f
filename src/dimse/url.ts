/**
 * DIMSE addresses as `info` and `denoise` accept them:
 * `dimse://<AE title>@host:port[/<StudyInstanceUID>[/<SeriesInstanceUID>]]`. The AE title is the
 * PACS's own (the called AE title); ours (the calling AE title) is an option, as it is configured
 * once on the PACS for the machine lowdose runs on.
 */
import { LowdoseError } from '../errors.js';
import { withoutQueries } from '../util/url-query.js';

export interface DimsePeer {
  /** Called AE title: the PACS's. */
  readonly aet: string;
  readonly host: string;
  readonly port: number;
}

export interface DimseTarget extends DimsePeer {
  readonly studyInstanceUid: string | null;
  readonly seriesInstanceUid: string | null;
}

const UID = /^[0-9]+(\.[0-9]+)*$/;

export function isDimseUrl(text: string): boolean {
  return /^dimse:\/\//i.test(text);
}

/**
 * An AE title: 1 to 16 characters of the default repertoire, no backslash, not all spaces
 * (PS3.5 6.2, AE). Leading and trailing spaces are not significant and are refused here to keep
 * the title on the command line what the PACS compares.
 */
export function checkAeTitle(aet: string, what: string): string {
  if (!/^[\x21-\x5b\x5d-\x7e]([\x20-\x5b\x5d-\x7e]{0,14}[\x21-\x5b\x5d-\x7e])?$/.test(aet)) {
    throw new LowdoseError('E_USAGE', `${what} "${aet}" is not a DICOM AE title (1 to 16 printable ASCII characters, no backslash, no leading or trailing space)`);
  }
  return aet;
}

export function parseDimseUrl(text: string): DimseTarget {
  if (/[?#]/.test(text)) {
    // Shown without it: a query names patient keys (util/url-query.ts).
    throw new LowdoseError('E_USAGE', `${withoutQueries(text)}: a dimse:// address takes no query string; narrow a study list with --patient-id, --from, --to, --accession or --studies-from`);
  }
  const match = /^dimse:\/\/([^@/]+)@(\[[^\]]+\]|[^:/]+):([0-9]+)(?:\/([^/]+)(?:\/([^/]+))?)?\/?$/i.exec(text);
  if (!match) {
    throw new LowdoseError('E_USAGE', `${text} is not a DIMSE address (dimse://<AE title>@host:port[/<StudyInstanceUID>[/<SeriesInstanceUID>]])`);
  }
  const [, aet, host, portText, study, series] = match;
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new LowdoseError('E_USAGE', `${text}: port ${portText} is not 1..65535`);
  for (const uid of [study, series]) {
    if (uid !== undefined && !UID.test(uid)) throw new LowdoseError('E_USAGE', `${text}: "${uid}" is not a DICOM UID`);
  }
  return {
    aet: checkAeTitle(decodeURIComponent(aet!), 'called AE title'),
    host: host!.replace(/^\[|\]$/g, ''),
    port,
    studyInstanceUid: study ?? null,
    seriesInstanceUid: series ?? null,
  };
}

/** A DIMSE peer given on its own (`--store`): no UIDs. */
export function parseDimsePeer(text: string): DimsePeer {
  const target = parseDimseUrl(text);
  if (target.studyInstanceUid !== null) throw new LowdoseError('E_USAGE', `${text}: a C-STORE destination is dimse://<AE title>@host:port, without UIDs`);
  return { aet: target.aet, host: target.host, port: target.port };
}

/** The address of a peer, a study or a series, as reports print it. */
export function dimseUrl(peer: DimsePeer, studyInstanceUid?: string, seriesInstanceUid?: string): string {
  const host = peer.host.includes(':') ? `[${peer.host}]` : peer.host;
  return `dimse://${encodeURIComponent(peer.aet)}@${host}:${peer.port}${studyInstanceUid ? `/${studyInstanceUid}` : ''}${seriesInstanceUid ? `/${seriesInstanceUid}` : ''}`;
}
