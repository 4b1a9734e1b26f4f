/**
 * A small DICOMweb client (QIDO-RS, WADO-RS, STOW-RS) on undici: authentication, an extra CA,
 * a timeout per request and retries with exponential back-off for what a retry can fix
 * (network errors, timeouts, 408 / 429 / 5xx). 401 / 403 and 404 are answered at once, as
 * usage errors (exit 2): a wrong password or a study that is not there does not get better.
 */
import { readFileSync } from 'node:fs';
import { Agent, fetch, type Dispatcher } from 'undici';
import { LowdoseError } from '../errors.js';
import { boundaryOf, buildMultipart, parseMultipart } from './multipart.js';
import { scalarText } from '../util/text.js';

/** Environment variable read when --dicomweb-auth is not given (keeps a password out of `ps`). */
export const DICOMWEB_AUTH_ENV = 'LOWDOSE_DICOMWEB_AUTH';

export interface DicomwebClientOptions {
  /** `basic:<user>:<password>` or `bearer:<token>`; default $LOWDOSE_DICOMWEB_AUTH, else none. */
  readonly auth?: string;
  /** PEM file of extra CA certificates (trusted besides the system's). */
  readonly caFile?: string;
  /** Per request, ms (default 60 000). */
  readonly timeoutMs?: number;
  /** Further attempts after a failed one (default 3); waits 0.5 s, 1 s, 2 s, ... between them. */
  readonly retries?: number;
  readonly retryDelayMs?: number;
  readonly log?: (message: string) => void;
}

/** A DICOM JSON dataset (PS3.18 F.2): tag -> { vr, Value }. */
export type DicomJson = Record<string, { vr: string; Value?: unknown[] }>;

export interface StowResult {
  readonly stored: string[];
  readonly failed: Array<{ sopInstanceUid: string; reason: number | null }>;
}

export function parseAuth(text: string | undefined): string | null {
  if (!text) return null;
  if (text.startsWith('basic:')) {
    const rest = text.slice('basic:'.length);
    const colon = rest.indexOf(':');
    if (colon <= 0) throw new LowdoseError('E_USAGE', 'DICOMweb auth must be basic:<user>:<password> or bearer:<token>');
    return `Basic ${Buffer.from(rest).toString('base64')}`;
  }
  if (text.startsWith('bearer:') && text.length > 'bearer:'.length) return `Bearer ${text.slice('bearer:'.length)}`;
  throw new LowdoseError('E_USAGE', 'DICOMweb auth must be basic:<user>:<password> or bearer:<token>');
}

class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504]);

export class DicomwebClient {
  private readonly authorization: string | null;
  private readonly dispatcher: Dispatcher | undefined;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly retryDelayMs: number;
  private readonly log: (message: string) => void;

  constructor(options: DicomwebClientOptions = {}) {
    this.authorization = parseAuth(options.auth ?? process.env[DICOMWEB_AUTH_ENV]);
    if (options.caFile) {
      let ca: string;
      try {
        ca = readFileSync(options.caFile, 'utf8');
      } catch (error) {
        throw new LowdoseError('E_USAGE', `--dicomweb-ca ${options.caFile}: ${(error as Error).message}`);
      }
      this.dispatcher = new Agent({ connect: { ca } });
    }
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.retries = options.retries ?? 3;
    this.retryDelayMs = options.retryDelayMs ?? 500;
    this.log = options.log ?? (() => {});
  }

  async close(): Promise<void> {
    await this.dispatcher?.close();
  }

  /** QIDO-RS: a JSON array of datasets (an empty answer, 204, is an empty list). */
  async qido(url: string): Promise<DicomJson[]> {
    const { body } = await this.request(url, { accept: 'application/dicom+json' });
    if (body.length === 0) return [];
    return JSON.parse(body.toString('utf8')) as DicomJson[];
  }

  /** WADO-RS of one instance, in its stored transfer syntax (`transfer-syntax=*`). */
  async retrieveInstance(url: string): Promise<Buffer> {
    const { body, contentType } = await this.request(url, { accept: 'multipart/related; type="application/dicom"; transfer-syntax=*' });
    const parts = parseMultipart(body, boundaryOf(contentType));
    if (parts.length !== 1) throw new LowdoseError('E_MALFORMED', `${url}: expected 1 instance, got ${parts.length}`);
    return parts[0]!.body;
  }

  /** STOW-RS: stores the instances; the server's per-instance answer says which were stored. */
  async stow(url: string, instances: readonly Buffer[]): Promise<StowResult> {
    const { body, contentType } = buildMultipart(instances);
    const response = await this.request(url, { accept: 'application/dicom+json', method: 'POST', body, contentType, okStatus: [200, 202, 409] });
    const answer = response.body.length > 0 ? (JSON.parse(response.body.toString('utf8')) as DicomJson) : {};
    const stored = sequence(answer['00081199']).map((item) => scalarText(item['00081155']?.Value?.[0]));
    const failed = sequence(answer['00081198']).map((item) => ({
      sopInstanceUid: scalarText(item['00081155']?.Value?.[0]),
      reason: typeof item['00081197']?.Value?.[0] === 'number' ? (item['00081197'].Value[0]) : null,
    }));
    return { stored, failed };
  }

  private async request(
    url: string,
    init: { accept: string; method?: string; body?: Buffer; contentType?: string; okStatus?: number[] },
  ): Promise<{ body: Buffer; contentType: string }> {
    const headers: Record<string, string> = { accept: init.accept };
    if (this.authorization) headers.authorization = this.authorization;
    if (init.contentType) headers['content-type'] = init.contentType;
    for (let attempt = 0; ; attempt++) {
      try {
        const response = await fetch(url, {
          method: init.method ?? 'GET',
          headers,
          ...(init.body ? { body: init.body } : {}),
          signal: AbortSignal.timeout(this.timeoutMs),
          ...(this.dispatcher ? { dispatcher: this.dispatcher } : {}),
        });
        const body = Buffer.from(await response.arrayBuffer());
        const ok = init.okStatus ? init.okStatus.includes(response.status) : response.status >= 200 && response.status < 300;
        if (!ok) throw new HttpStatusError(response.status, `${init.method ?? 'GET'} ${url}: HTTP ${response.status} ${response.statusText}`);
        return { body, contentType: response.headers.get('content-type') ?? '' };
      } catch (error) {
        const final = classify(error, url);
        const retryable = error instanceof HttpStatusError ? RETRYABLE_STATUS.has(error.status) : final.code === 'E_IO';
        if (!retryable || attempt >= this.retries) throw final;
        const delay = this.retryDelayMs * 2 ** attempt;
        this.log(`${final.message}; retrying in ${delay} ms (${attempt + 1}/${this.retries})`);
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }
}

/** The HTTP status a request of this client failed with (its error's cause), or null when it got no answer. */
export function httpStatusOf(error: unknown): number | null {
  const cause = error instanceof LowdoseError ? error.cause : error;
  return cause instanceof HttpStatusError ? cause.status : null;
}

function sequence(element: { Value?: unknown[] } | undefined): DicomJson[] {
  return (element?.Value ?? []) as DicomJson[];
}

/** A failed request as the toolkit's error: what went wrong, with the URL. */
function classify(error: unknown, url: string): LowdoseError {
  if (error instanceof LowdoseError) return error;
  if (error instanceof HttpStatusError) {
    if (error.status === 401 || error.status === 403) {
      return new LowdoseError('E_USAGE', `${error.message}: the server refused the credentials (--dicomweb-auth or $${DICOMWEB_AUTH_ENV})`, { path: url });
    }
    if (error.status === 404) return new LowdoseError('E_NOT_FOUND', `${error.message}: not on the server`, { path: url, cause: error });
    return new LowdoseError('E_IO', error.message, { path: url, cause: error });
  }
  const e = error as Error & { cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return new LowdoseError('E_IO', `${url}: no answer within the timeout`, { path: url, cause: error });
  const cause = e.cause?.code ?? e.cause?.message ?? e.message;
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY/i.test(String(cause))) {
    return new LowdoseError('E_USAGE', `${url}: TLS certificate not trusted (${cause}); pass the CA with --dicomweb-ca <pem>`, { path: url, cause: error });
  }
  return new LowdoseError('E_IO', `${url}: ${cause}`, { path: url, cause: error });
}
