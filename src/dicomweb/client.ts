/**
 * A small DICOMweb client (QIDO-RS, WADO-RS, STOW-RS) on undici: authentication, an extra CA,
 * a timeout per request and retries with exponential back-off for what a retry can fix
 * (network errors, timeouts, 408 / 429 / 5xx). 401 / 403 and 404 are answered at once, as
 * usage errors (exit 2): a wrong password or a study that is not there does not get better.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as wait } from 'node:timers/promises';
import { Agent, fetch, type Dispatcher, type Response } from 'undici';
import { MAX_DICOM_FILE_BYTES } from '../dicom/file-size.js';
import { abortReason } from '../util/abort-reason.js';
import { LowdoseError } from '../errors.js';
import { formatBytes } from '../util/bytes.js';
import { withDefaultCas } from '../util/trusted-cas.js';
import { withoutQueries } from '../util/url-query.js';
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
  /** Most bytes of one instance's WADO-RS answer (default DEFAULT_MAX_INSTANCE_BYTES); a larger one fails with E_IO. */
  readonly maxInstanceBytes?: number;
  /**
   * Stops every request of the client once aborted (SIGINT, a browser gone): the request in flight
   * is aborted (its connection closed) and fails with E_CANCELLED, never retried; a later one is
   * not sent. For queries: a retrieve or store given it would be cut mid-instance.
   */
  readonly signal?: AbortSignal;
}

/** Most bytes of a QIDO-RS or STOW-RS answer (DICOM JSON); a larger one fails with E_IO. */
export const MAX_JSON_ANSWER_BYTES = 64 * 1024 * 1024;
/**
 * Most bytes of one instance's WADO-RS answer unless the client is told otherwise (`serve`: its
 * per-file upload limit): the largest DICOM file lowdose reads whole (MAX_DICOM_FILE_BYTES), as
 * the answer is held in memory until it is parsed.
 */
export const DEFAULT_MAX_INSTANCE_BYTES = MAX_DICOM_FILE_BYTES;

/** An answer that is not JSON (a web page where a DICOMweb service was expected): E_MALFORMED. */
export class NotJsonAnswer extends LowdoseError {}

/** A QIDO-RS answer that is JSON but not an array of datasets: E_MALFORMED. */
export class NotQidoAnswer extends LowdoseError {}

/** A DICOM JSON answer; one that is not JSON is NotJsonAnswer naming the URL (not a SyntaxError). */
function parseJson(body: Buffer, url: string): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new NotJsonAnswer('E_MALFORMED', `${withoutQueries(url)}: the server's answer is not JSON (${(error as Error).message.slice(0, 80)})`, { path: withoutQueries(url), cause: error });
  }
}

/** An answer past its bound: E_IO, not retried (the same request would bring the same answer). */
class AnswerTooLarge extends LowdoseError {}

/**
 * The body of `response`, refused once it passes `max` bytes: at once when its Content-Length
 * says so, else as soon as the bytes read pass it (the rest is not read). A PACS answer is held in
 * memory whole, so without a bound one answer of many gigabytes (a buggy server, a wrong URL)
 * takes the process's memory.
 */
async function readBounded(response: Response, max: number, url: string, what: string): Promise<Buffer> {
  const tooLarge = (size: string) => new AnswerTooLarge('E_IO', `${withoutQueries(url)}: the server's answer is ${size} the ${formatBytes(max)} ${what} may be`, { path: withoutQueries(url) });
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > max) {
    await response.body?.cancel();
    throw tooLarge(`${formatBytes(declared)} (its Content-Length), more than`);
  }
  if (!response.body) return Buffer.alloc(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
    total += chunk.byteLength;
    // Leaving the loop cancels the stream: the rest of the answer is not read.
    if (total > max) throw tooLarge('larger than');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
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

/** The first retry's delay (ms); each later retry waits twice the one before (0.5 s, 1 s, 2 s, ...). */
export const DEFAULT_RETRY_DELAY_MS = 500;
const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504]);

export class DicomwebClient {
  private readonly authorization: string | null;
  private readonly dispatcher: Dispatcher | undefined;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly retryDelayMs: number;
  private readonly log: (message: string) => void;
  private readonly maxInstanceBytes: number;
  private readonly signal: AbortSignal | undefined;

  constructor(options: DicomwebClientOptions = {}) {
    this.authorization = parseAuth(options.auth ?? process.env[DICOMWEB_AUTH_ENV]);
    if (options.caFile) {
      let ca: string;
      try {
        ca = readFileSync(options.caFile, 'utf8');
      } catch (error) {
        throw new LowdoseError('E_USAGE', `--dicomweb-ca ${options.caFile}: ${(error as Error).message}`);
      }
      this.dispatcher = new Agent({ connect: { ca: withDefaultCas(ca) } });
    }
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.retries = options.retries ?? 3;
    this.retryDelayMs = options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
    this.log = options.log ?? (() => {});
    this.maxInstanceBytes = options.maxInstanceBytes ?? DEFAULT_MAX_INSTANCE_BYTES;
    this.signal = options.signal;
  }

  async close(): Promise<void> {
    await this.dispatcher?.close();
  }

  /**
   * This client (its connections, credentials, timeout and retries, shared) whose requests `signal`
   * also stops, as the client's own signal does (DicomwebClientOptions.signal): one request's
   * interest (a browser gone) over a long-lived client. Not to be closed: close the client.
   */
  withSignal(signal: AbortSignal): DicomwebClient {
    const view = Object.create(this) as DicomwebClient;
    Object.defineProperty(view, 'signal', { value: this.signal ? AbortSignal.any([this.signal, signal]) : signal });
    return view;
  }

  /** QIDO-RS: a JSON array of datasets (an empty answer, 204, is an empty list). */
  async qido(url: string): Promise<DicomJson[]> {
    const { body } = await this.request(url, { accept: 'application/dicom+json' });
    if (body.length === 0) return [];
    const answer = parseJson(body, url);
    if (!Array.isArray(answer)) throw new NotQidoAnswer('E_MALFORMED', `${withoutQueries(url)}: the server's QIDO-RS answer is not a JSON array`, { path: withoutQueries(url) });
    return answer as DicomJson[];
  }

  /** WADO-RS of one instance, in its stored transfer syntax (`transfer-syntax=*`). */
  async retrieveInstance(url: string): Promise<Buffer> {
    const { body, contentType } = await this.request(url, {
      accept: 'multipart/related; type="application/dicom"; transfer-syntax=*',
      maxBytes: this.maxInstanceBytes,
      what: 'one instance',
    });
    const parts = parseMultipart(body, boundaryOf(contentType));
    if (parts.length !== 1) throw new LowdoseError('E_MALFORMED', `${withoutQueries(url)}: expected 1 instance, got ${parts.length}`);
    return parts[0]!.body;
  }

  /** STOW-RS: stores the instances; the server's per-instance answer says which were stored. */
  async stow(url: string, instances: readonly Buffer[]): Promise<StowResult> {
    const { body, contentType } = buildMultipart(instances);
    const response = await this.request(url, { accept: 'application/dicom+json', method: 'POST', body, contentType, okStatus: [200, 202, 409] });
    const answer = response.body.length > 0 ? (parseJson(response.body, url) as DicomJson) : {};
    const stored = sequence(answer['00081199']).map((item) => scalarText(item['00081155']?.Value?.[0]));
    const failed = sequence(answer['00081198']).map((item) => ({
      sopInstanceUid: scalarText(item['00081155']?.Value?.[0]),
      reason: typeof item['00081197']?.Value?.[0] === 'number' ? (item['00081197'].Value[0]) : null,
    }));
    return { stored, failed };
  }

  private async request(
    url: string,
    init: { accept: string; method?: string; body?: Buffer; contentType?: string; okStatus?: number[]; maxBytes?: number; what?: string },
  ): Promise<{ body: Buffer; contentType: string }> {
    const headers: Record<string, string> = { accept: init.accept };
    if (this.authorization) headers.authorization = this.authorization;
    if (init.contentType) headers['content-type'] = init.contentType;
    const timeout = () => AbortSignal.timeout(this.timeoutMs);
    for (let attempt = 0; ; attempt++) {
      this.throwIfStopped(init.method ?? 'GET', url);
      try {
        const response = await fetch(url, {
          method: init.method ?? 'GET',
          headers,
          ...(init.body ? { body: init.body } : {}),
          signal: this.signal ? AbortSignal.any([timeout(), this.signal]) : timeout(),
          ...(this.dispatcher ? { dispatcher: this.dispatcher } : {}),
        });
        const ok = init.okStatus ? init.okStatus.includes(response.status) : response.status >= 200 && response.status < 300;
        if (!ok) {
          await response.body?.cancel();
          throw new HttpStatusError(response.status, `${init.method ?? 'GET'} ${withoutQueries(url)}: HTTP ${response.status} ${response.statusText}`);
        }
        const body = await readBounded(response, init.maxBytes ?? MAX_JSON_ANSWER_BYTES, url, init.what ?? 'a DICOM JSON answer');
        return { body, contentType: response.headers.get('content-type') ?? '' };
      } catch (error) {
        this.throwIfStopped(init.method ?? 'GET', url);
        const final = classify(error, url);
        const retryable = error instanceof HttpStatusError ? RETRYABLE_STATUS.has(error.status) : final.code === 'E_IO' && !(error instanceof AnswerTooLarge);
        if (!retryable || attempt >= this.retries) throw final;
        const delay = this.retryDelayMs * 2 ** attempt;
        this.log(`${final.message}; retrying in ${delay} ms (${attempt + 1}/${this.retries})`);
        // The signal ends the back-off at once (256 s before a 10th retry); the next attempt is
        // then not sent (throwIfStopped).
        await wait(delay, undefined, this.signal ? { signal: this.signal } : {}).catch(() => {});
      }
    }
  }

  /** E_CANCELLED once the client's signal is aborted: the request is not sent, or was aborted. */
  private throwIfStopped(method: string, url: string): void {
    if (this.signal?.aborted) throw new LowdoseError('E_CANCELLED', `${method} ${withoutQueries(url)} stopped (${abortReason(this.signal)})`, { path: withoutQueries(url) });
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
      return new LowdoseError('E_USAGE', `${error.message}: the server refused the credentials (--dicomweb-auth or $${DICOMWEB_AUTH_ENV})`, { path: withoutQueries(url) });
    }
    if (error.status === 404) return new LowdoseError('E_NOT_FOUND', `${error.message}: not on the server`, { path: withoutQueries(url), cause: error });
    return new LowdoseError('E_IO', error.message, { path: withoutQueries(url), cause: error });
  }
  const e = error as Error & { cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return new LowdoseError('E_IO', `${withoutQueries(url)}: no answer within the timeout`, { path: withoutQueries(url), cause: error });
  const cause = e.cause?.code ?? e.cause?.message ?? e.message;
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY/i.test(String(cause))) {
    return new LowdoseError('E_USAGE', `${withoutQueries(url)}: TLS certificate not trusted (${cause}); pass the CA with --dicomweb-ca <pem>`, { path: withoutQueries(url), cause: error });
  }
  return new LowdoseError('E_IO', `${withoutQueries(url)}: ${cause}`, { path: withoutQueries(url), cause: error });
}
