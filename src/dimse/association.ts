/**
 * One DIMSE association through dcmjs-dimse, as a promise: open it, send the requests, take the
 * C-STORE sub-operations of a C-GET, and settle when the association closes. Every way a PACS
 * says no becomes a LowdoseError with a stable code: a rejected association, a refused
 * presentation context and an abort before the first answer are E_USAGE (the PACS's configuration
 * does not allow us; exit 2), a transient rejection, a timeout or a broken connection are E_IO.
 */
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { Writable } from 'node:stream';
import { LowdoseError } from '../errors.js';
import { abortReason } from '../util/abort-reason.js';
import { formatBytes } from '../util/bytes.js';
import { DEFAULT_MAX_INSTANCE_BYTES, InstanceReceiver, MAX_CONTROL_PDU_BYTES, P_DATA_TF, watchPduLengths, type AcceptedContext, type InstanceStore, type StoreCommand } from './receive.js';
import { securityOptions, tlsFailure, type DimseTls } from './tls.js';
import { dimseUrl, type DimsePeer } from './url.js';

export type DimseModule = typeof import('dcmjs-dimse');
export type DimseRequest = InstanceType<DimseModule['requests']['Request']>;
type DimseDataset = InstanceType<DimseModule['Dataset']>;
type StoreRequest = InstanceType<DimseModule['requests']['CStoreRequest']>;
type StoreResponse = InstanceType<DimseModule['responses']['CStoreResponse']>;

const require = createRequire(import.meta.url);
export const dimse = require('dcmjs-dimse') as DimseModule;
// dcmjs-dimse logs every PDU on the console at info level, and the dcmjs it bundles warns about
// the VRs of received datasets it decodes; our messages say what matters.
dimse.log.setLevel('silent');
const bundledDcmjs = createRequire(require.resolve('dcmjs-dimse'))('dcmjs') as {
  log: { setLevel(level: string): void; getLogger(name: string): { setLevel(level: string): void } };
};
bundledDcmjs.log.setLevel('silent');
bundledDcmjs.log.getLogger('validation.dcmjs').setLevel('silent');

export const STATUS_SUCCESS = 0x0000;
const STATUS_PENDING = new Set([0xff00, 0xff01]);
/** C-STORE warnings (PS3.4 B.2.3): coerced, elements discarded, not matching the SOP class. The instance is stored. */
export const STORE_WARNINGS = new Set([0xb000, 0xb007, 0xb006]);
/** C-STORE sub-operation answer when our side cannot keep a received instance: "out of resources". */
const STATUS_OUT_OF_RESOURCES = 0xa700;

export const isPending = (status: number): boolean => STATUS_PENDING.has(status);
/** C-FIND / C-GET / C-MOVE final status "terminated due to cancel" (and a C-FIND's cap: study.ts). */
export const STATUS_CANCEL = 0xfe00;
export const statusHex = (status: number): string => `0x${status.toString(16).padStart(4, '0')}`;

export interface DimseClientOptions {
  /** Our AE title, as the PACS knows this machine. */
  readonly callingAet: string;
  /**
   * Stops the C-FIND, C-GET and C-MOVE of an association once aborted (SIGINT / SIGTERM): a
   * C-CANCEL is sent for the request outstanding, nothing more is kept, and the association ends
   * as the PACS answers it (associate), or is aborted when no final answer came within
   * CANCEL_ANSWER_TIMEOUT_MS. A C-ECHO's or C-STORE's association is aborted (C-STORE has no
   * C-CANCEL): a PACS that never answers does not hold a stopped run; the instances it confirmed are
   * stored, a rerun stores the rest.
   */
  readonly signal?: AbortSignal;
  /** Connect, association and per-PDU timeout. */
  readonly timeoutMs: number;
  /** DICOM TLS (--dimse-tls): every association of the run is opened over TLS, the server certificate verified. */
  readonly tls?: DimseTls;
}

export interface AssociationOptions extends DimseClientOptions {
  /** What the association is for, in messages: "C-FIND", "C-GET", "C-STORE". */
  readonly purpose: string;
  /** Receives the C-STORE sub-operations of a C-GET. */
  readonly store?: InstanceStore;
  /** Largest instance a C-GET takes, bytes (default DEFAULT_MAX_INSTANCE_BYTES); a larger one aborts the association. */
  readonly maxInstanceBytes?: number;
  /**
   * After a C-CANCEL: the pending answers, and the sub-operations that begin, that are taken (and
   * dropped) before the association is aborted; default 2 (AFTER_CANCEL). A C-FIND's answers come
   * without waiting for us, so a C-FIND cancelled at a limit takes more.
   */
  readonly afterCancel?: number;
  /**
   * Told when the C-CANCEL is sent (a C-MOVE's storage SCP stops keeping instances), with
   * `started` to call as each later sub-operation begins there.
   */
  readonly onCancel?: (started: () => void) => void;
}

/**
 * Pending answers and sub-operations a retrieve may still bring after its C-CANCEL before the PACS
 * is taken to go on regardless (and the association is aborted): the sub-operation in flight when
 * the C-CANCEL reached it, and the next one it began before reading it. Orthanc 1.10.1 answers a
 * C-GET cancelled during a sub-operation with 0xFE00 right after that sub-operation; a C-MOVE
 * cancelled so sent two more pending answers before its final one (0xC000: our storage SCP answers
 * the sub-operations after the C-CANCEL "not kept"), test/cli/denoise-stop-on-signal.test.ts.
 */
export const AFTER_CANCEL = 2;

/**
 * How long, ms, the final answer to a C-CANCEL is waited for (less when --dimse-timeout is shorter)
 * before the association is aborted (A-ABORT, connection closed): a PACS that never answers the
 * C-CANCEL does not keep a stopped run (SIGINT / SIGTERM, a browser gone) for its whole
 * --dimse-timeout. Orthanc 1.10.1 answers within one sub-operation (AFTER_CANCEL).
 */
export const CANCEL_ANSWER_TIMEOUT_MS = 5_000;

/** The requests C-CANCEL applies to (PS3.7 9.3.2.3, 9.3.3.3, 9.3.4.3). */
function isCancellable(request: DimseRequest): boolean {
  const { CFindRequest, CGetRequest, CMoveRequest } = dimse.requests;
  return request instanceof CFindRequest || request instanceof CGetRequest || request instanceof CMoveRequest;
}

/**
 * The requests a signal stops: those C-CANCEL applies to, and a C-ECHO or C-STORE (its association
 * aborted: a C-ECHO changes nothing on the PACS; a C-STORE stopped mid-series leaves the instances
 * the PACS confirmed, which the caller reports, and a rerun sends the series again).
 */
function isStoppable(request: DimseRequest): boolean {
  return isCancellable(request) || request instanceof dimse.requests.CEchoRequest || request instanceof dimse.requests.CStoreRequest;
}



/** The parts of dcmjs-dimse's Network the typings do not show: its A-ABORT event, socket and store hooks. */
interface NetworkInternals {
  on(event: 'abort', listener: (info: { source: number; reason: number }) => void): void;
  socket?: Socket;
  /** Requests sent and not finally answered; requests not sent yet (sent one at a time). */
  pending: DimseRequest[];
  requests: DimseRequest[];
  sendAbort(source: number, reason: number): void;
  createStoreWritableStream(context: AcceptedContext, command: StoreCommand): Writable;
  createDatasetFromStoreWritableStream(writable: Writable, context: AcceptedContext, callback: (dataset: DimseDataset) => void): void;
}

const REJECT_REASONS: Record<number, Record<number, string>> = {
  1: { 1: 'no reason given', 2: 'application context not supported', 3: 'calling AE title not recognized', 7: 'called AE title not recognized' },
  2: { 1: 'no reason given', 2: 'protocol version not supported' },
  3: { 1: 'temporary congestion', 2: 'local limit exceeded' },
};

function rejection(peer: DimsePeer, callingAet: string, info: { result: number; source: number; reason: number }): LowdoseError {
  const url = dimseUrl(peer);
  const reason = REJECT_REASONS[info.source]?.[info.reason] ?? `source ${info.source}, reason ${info.reason}`;
  const hint =
    info.source === 1 && info.reason === 7
      ? `; "${peer.aet}" (before the @) must be the PACS's own AE title`
      : info.source === 1 && info.reason === 3
        ? `; the PACS must list "${callingAet}" (--calling-aet) among its known peers`
        : '';
  // A transient rejection (busy PACS) is worth retrying later; a permanent one needs a configuration change.
  return new LowdoseError(info.result === 2 ? 'E_IO' : 'E_USAGE', `${url} rejected the association from "${callingAet}": ${reason}${hint}`, { path: url });
}

/** What may be wrong when the PACS drops the connection before any answer to the A-ASSOCIATE-RQ. */
function unansweredHint(tls: boolean): string {
  // A port that requires DICOM TLS drops a plain connection without a DICOM answer.
  return tls
    ? 'the PACS may require a client certificate (--dimse-cert, --dimse-key), or not speak DICOM TLS on this port'
    : 'if the PACS requires DICOM TLS on this port, add --dimse-tls';
}

/** `unanswered`: the PACS has not answered the association request yet (a reset then gets unansweredHint). */
function networkFailure(peer: DimsePeer, error: Error, timeoutMs: number, unanswered: { tls: boolean } | null): LowdoseError {
  const url = dimseUrl(peer);
  // dcmjs-dimse wraps socket errors in a new Error: the errno code survives in the message only.
  const code = (error as Error & { code?: string }).code ?? /\b(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ECONNRESET|EHOSTUNREACH)\b/.exec(error.message)?.[1];
  if (/timeout/i.test(error.message)) return new LowdoseError('E_IO', `${url}: no answer within ${timeoutMs / 1000} s (--dimse-timeout)`, { path: url, cause: error });
  if (code === 'ECONNREFUSED') return new LowdoseError('E_IO', `${url}: connection refused (nothing listens on port ${peer.port} of ${peer.host})`, { path: url, cause: error });
  if (code === 'ECONNRESET' && unanswered) {
    return new LowdoseError('E_IO', `${url} reset the connection before answering the association request; ${unansweredHint(unanswered.tls)}`, { path: url, cause: error });
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new LowdoseError('E_USAGE', `${url}: host ${peer.host} not found`, { path: url, cause: error });
  return new LowdoseError('E_IO', `${url}: ${error.message.replace(/^\s*->\s*/, '')}`, { path: url, cause: error });
}

/**
 * Opens an association from `callingAet` to `peer`, sends `requests` (their own 'response'
 * listeners read the answers) and resolves once it is released with a final answer to each.
 */
export function associate(peer: DimsePeer, requests: readonly DimseRequest[], options: AssociationOptions): Promise<void> {
  const url = dimseUrl(peer);
  const signal = requests.some(isStoppable) ? options.signal : undefined;
  if (signal?.aborted) return Promise.reject(new LowdoseError('E_CANCELLED', `${options.purpose} of ${url} was not sent: ${abortReason(signal)}`, { path: url }));
  return new Promise<void>((resolve, reject) => {
    const client = new dimse.Client();
    let failure: LowdoseError | null = null;
    const fail = (error: LowdoseError) => {
      failure ??= error;
    };
    const answered = new Set<DimseRequest>();
    let anyAnswer = false;
    const refused: DimseRequest[] = [];
    // The C-CANCEL (`signal`): when it was sent, the final status answered after it, and how
    // many answers and sub-operations came after it (over options.afterCancel: aborted).
    const cancel = { sent: false, final: null as number | null, after: { answers: 0, started: 0 }, abortedIgnored: false, unanswered: false };
    // Set once the C-CANCEL is sent: aborts the association when its final answer has not come in time.
    let cancelTimer: NodeJS.Timeout | undefined;
    const afterCancel = options.afterCancel ?? AFTER_CANCEL;
    const cancelAnswerMs = Math.min(CANCEL_ANSWER_TIMEOUT_MS, options.timeoutMs);
    let ignoredCancel = () => {};
    for (const request of requests) {
      request.on('response', (response: { getStatus(): number }) => {
        anyAnswer = true;
        if (!isPending(response.getStatus())) {
          answered.add(request);
          if (cancel.sent) cancel.final = response.getStatus();
        } else if (cancel.sent && ++cancel.after.answers > afterCancel) ignoredCancel();
      });
      client.addRequest(request);
    }
    // Whether the PACS answered the A-ASSOCIATE-RQ at all (accepted, rejected or aborted).
    let associationAnswered = false;
    client.on('associationAccepted', (association: { getAcceptedPresentationContextFromRequest(r: DimseRequest): unknown }) => {
      associationAnswered = true;
      for (const request of requests) if (!association.getAcceptedPresentationContextFromRequest(request)) refused.push(request);
    });
    client.on('associationRejected', (info: { result: number; source: number; reason: number }) => {
      associationAnswered = true;
      fail(rejection(peer, options.callingAet, info));
    });
    client.on('networkError', (error: Error) => fail(networkFailure(peer, error, options.timeoutMs, associationAnswered ? null : { tls: options.tls !== undefined })));

    // Set once the network exists (below): the C-STORE sub-operations' instances, each in its file.
    let receiver: InstanceReceiver | null = null;
    // Every instance file kept or removed, every C-STORE answered, before the association settles.
    const settled = () => receiver?.settled() ?? Promise.resolve();
    // Set once the network exists (below): what `signal` does.
    let onAbort = () => {};
    client.on('cStoreRequest', (request: StoreRequest, callback: (response: StoreResponse) => void) => {
      const response = dimse.responses.CStoreResponse.fromRequest(request);
      if (!receiver) {
        response.setStatus(STATUS_OUT_OF_RESOURCES);
        callback(response);
        return;
      }
      void receiver.take().then((taken) => {
        if (!taken.kept && taken.error) fail(taken.error);
        response.setStatus(taken.kept ? STATUS_SUCCESS : STATUS_OUT_OF_RESOURCES);
        callback(response);
      });
    });

    client.on('closed', () => void settled().then(() => {
      clearTimeout(cancelTimer);
      signal?.removeEventListener('abort', onAbort);
      if (cancel.sent || (signal?.aborted && failure?.code === 'E_CANCELLED')) reject(cancelled());
      else if (failure) reject(failure);
      else if (refused.length > 0) {
        reject(new LowdoseError('E_USAGE', `${url} accepted the association from "${options.callingAet}" but not ${options.purpose} (no presentation context for it); the PACS must allow ${options.purpose} for that AE title${options.purpose === 'C-GET' ? ', or fetch with C-MOVE (--move-port)' : ''}`, { path: url }));
      } else if (!associationAnswered) {
        reject(new LowdoseError('E_IO', `${url} closed the connection before answering the association request for ${options.purpose}; ${unansweredHint(options.tls !== undefined)}`, { path: url }));
      } else if (answered.size < requests.length) {
        reject(new LowdoseError('E_IO', `${url}: the association ended before the PACS answered ${requests.length - answered.size} of ${requests.length} ${options.purpose} request(s)`, { path: url }));
      } else resolve();
    }));
    /** The error of an association stopped by `signal`, saying what the PACS made of the C-CANCEL. */
    const cancelled = (): LowdoseError => {
      const reason = abortReason(signal);
      if (!cancel.sent) {
        const how = associationAnswered && refused.length === 0 ? `(${reason}): the association was aborted` : `before the PACS accepted the association (${reason}): the connection was closed`;
        return new LowdoseError('E_CANCELLED', `${options.purpose} of ${url} stopped ${how}`, { path: url });
      }
      const answer = cancel.unanswered
        ? `the PACS did not answer it within ${cancelAnswerMs / 1000} s, so the association was aborted`
        : cancel.abortedIgnored
        ? `the PACS went on after it (${cancel.after.answers} answer(s), ${cancel.after.started} instance(s) begun), so the association was aborted`
        : cancel.final !== null
          ? `the PACS answered ${statusHex(cancel.final)}${cancel.final === STATUS_CANCEL ? ' (terminated due to cancel)' : ''}`
          : `the association ended before the PACS answered it${failure && failure.code !== 'E_CANCELLED' ? ` (${failure.message})` : ''}`;
      return new LowdoseError('E_CANCELLED', `${options.purpose} of ${url} stopped (${reason}): C-CANCEL sent, ${answer}; nothing more was kept`, { path: url });
    };

    client.send(peer.host, peer.port, options.callingAet, peer.aet, {
      connectTimeout: options.timeoutMs,
      associationTimeout: options.timeoutMs,
      pduTimeout: options.timeoutMs,
      associationLingerTimeout: 0,
      ...(options.tls ? { securityOptions: securityOptions(options.tls) } : {}),
    });
    // send() creates the network synchronously. dcmjs-dimse's Client does not pass an A-ABORT on
    // (Orthanc aborts a query from an AE title it does not know): without this the run would wait
    // for the PDU timeout and then report a timeout instead of the refusal.
    const network = (client as unknown as { network?: NetworkInternals }).network;
    if (!network) return;
    network.on('abort', () => {
      associationAnswered = true;
      fail(
        anyAnswer
          ? new LowdoseError('E_IO', `${url} aborted the association during ${options.purpose}`, { path: url })
          : new LowdoseError('E_USAGE', `${url} aborted the association before answering ${options.purpose}: it does not allow ${options.purpose} from "${options.callingAet}" (--calling-aet; the PACS must list that AE title among its known peers)`, { path: url }),
      );
      network.socket?.destroy();
    });
    const socket = network.socket;
    if (!socket) return;
    const abortNow = () => {
      network.sendAbort(dimse.constants.AbortSource.ServiceUser, dimse.constants.AbortReason.NotSpecified);
      socket.destroy();
    };
    // A PACS that goes on after the C-CANCEL (more answers or instances than were on their way) is aborted.
    ignoredCancel = () => {
      if (cancel.abortedIgnored) return;
      cancel.abortedIgnored = true;
      abortNow();
    };
    const startedAfterCancel = () => {
      if (++cancel.after.started > afterCancel) ignoredCancel();
    };
    onAbort = () => {
      if (!associationAnswered || refused.length > 0) {
        // Nothing was asked yet: close the connection.
        fail(new LowdoseError('E_CANCELLED', abortReason(signal)));
        socket.destroy();
        return;
      }
      if (!requests.some(isCancellable)) {
        // A C-ECHO or C-STORE: nothing to cancel, the association is aborted.
        fail(new LowdoseError('E_CANCELLED', abortReason(signal)));
        abortNow();
        return;
      }
      cancel.sent = true;
      // The requests not sent yet are not sent; the one outstanding is cancelled (PS3.7 9.3.2.3 / 9.3.3.3).
      network.requests.length = 0;
      for (const request of network.pending) if (!answered.has(request) && isCancellable(request)) client.cancel(request as Parameters<typeof client.cancel>[0]);
      receiver?.stop(startedAfterCancel);
      options.onCancel?.(startedAfterCancel);
      cancelTimer = setTimeout(() => {
        if (cancel.final !== null || cancel.abortedIgnored) return;
        cancel.unanswered = true;
        ignoredCancel();
      }, cancelAnswerMs);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    // Over TLS (a tls.TLSSocket: what follows reads and writes the decrypted stream, as on a plain
    // one), a certificate or handshake failure is named from Node's error code, which
    // dcmjs-dimse's networkError loses: this runs before its listener.
    const tls = options.tls;
    if (tls) socket.prependListener('error', (error: Error & { code?: string }) => {
      const named = tlsFailure(url, peer.host, error);
      if (named) fail(named);
    });
    // A PDU over the length we ask for in the A-ASSOCIATE-RQ (dcmjs-dimse's own maximum, which the
    // PACS must keep to: PS3.8 D.1) ends the association at its header, before dcmjs-dimse
    // gathers it; any other PDU is far smaller.
    const limitOf = (type: number) => (type === P_DATA_TF ? dimse.Implementation.getMaxPduLength() : MAX_CONTROL_PDU_BYTES);
    watchPduLengths(socket, limitOf, (type, length) => {
      fail(new LowdoseError('E_IO', `${url} sent a PDU of type ${type} announcing ${length} bytes, over the ${limitOf(type)} we take: the connection was closed`, { path: url }));
      socket.destroy();
    });
    const store = options.store;
    if (!store) {
      // No C-STORE is expected here (it is answered 0xA700): its data set is dropped as it comes, not gathered.
      network.createStoreWritableStream = () => new Writable({ write: (_chunk, _encoding, done) => done() });
      network.createDatasetFromStoreWritableStream = (_writable, _context, callback) => callback(new dimse.Dataset({}));
      return;
    }
    const maxInstanceBytes = options.maxInstanceBytes ?? DEFAULT_MAX_INSTANCE_BYTES;
    const taking = new InstanceReceiver(store, socket, maxInstanceBytes, (received) => {
      fail(new LowdoseError('E_IO', `${url} sent an instance of more than ${formatBytes(maxInstanceBytes)} (${formatBytes(received)} had come): the association was aborted and the instance not kept`, { path: url }));
      network.sendAbort(dimse.constants.AbortSource.ServiceUser, dimse.constants.AbortReason.NotSpecified);
      socket.destroy();
    });
    receiver = taking;
    // Each fragment of a C-STORE sub-operation's data set goes to its file as it comes (receive.ts);
    // the C-STORE request reads what it needs from the file, dcmjs-dimse decodes nothing.
    network.createStoreWritableStream = (context, command) => taking.open(context, command);
    network.createDatasetFromStoreWritableStream = (writable, _context, callback) => {
      taking.finish(writable);
      callback(new dimse.Dataset({}));
    };
  });
}
