/**
 * The storage SCP that C-MOVE needs: the PACS opens an association to us (it must know our AE
 * title at this machine's address and `port`) and sends the instances with C-STORE. Only used
 * with `--move-port`; C-GET needs no inbound port.
 *
 * Bounds, since anyone who can reach the port can call it (dcmjs-dimse's Server takes any
 * connection and gathers each PDU whole):
 * - only connections from `peerAddresses` (the PACS's host, resolved) are kept; any other is
 *   closed before a byte of it is read;
 * - at most `maxAssociations` associations at once (default DEFAULT_MAX_ASSOCIATIONS: the one a
 *   C-MOVE needs and a margin); a further A-ASSOCIATE-RQ is answered A-ASSOCIATE-RJ (transient,
 *   service provider, local limit exceeded), and past MAX_WAITING_CONNECTIONS more connections a
 *   connection is closed unread;
 * - the maximum PDU length we receive is `maxPduBytes`, said in the A-ASSOCIATE-AC (dcmjs-dimse
 *   would say the smaller of its own and the caller's, and a caller's 0 means unlimited); a PDU
 *   whose header announces more (a PDU other than P-DATA-TF: more than 64 KiB) closes the
 *   connection at its header, before dcmjs-dimse gathers it;
 * - each instance goes to a temporary file fragment by fragment as it arrives (receive.ts), so an
 *   association holds about a PDU and a MiB of an instance in memory, whatever its size;
 * - an instance past `maxInstanceBytes` aborts the association (A-ABORT) and fails the retrieve
 *   with E_IO naming the limit; nothing of it is kept.
 *
 * With `limits.tls` (--dimse-tls) it listens with DICOM TLS, presenting our certificate: the
 * address check runs on the raw connection before the handshake, a failed handshake, a client
 * certificate that does not chain to the system store or --dimse-ca, and with `requireClientCert`
 * a caller presenting none are refused (TLS_REFUSAL), and
 * the bounds above act on the decrypted stream.
 */
import type { Server as NetServer, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Writable } from 'node:stream';
import { LowdoseError } from '../errors.js';
import { formatBytes } from '../util/bytes.js';
import { dimse, STATUS_SUCCESS } from './association.js';
import { serverSecurityOptions, untrustedClient, type DimseTls } from './tls.js';
import { DEFAULT_MAX_INSTANCE_BYTES, DEFAULT_MAX_PDU_BYTES, InstanceReceiver, MAX_CONTROL_PDU_BYTES, P_DATA_TF, watchPduLengths, type InstanceStore } from './receive.js';

type Scp = InstanceType<(typeof dimse)['Scp']>;
type ScpAssociation = Parameters<Scp['associationRequested']>[0];
type StoreRequest = Parameters<Scp['cStoreRequest']>[0];
type StoreCallback = Parameters<Scp['cStoreRequest']>[1];
type Accepted = Parameters<Scp['createDatasetFromStoreWritableStream']>[1];
type DatasetCallback = Parameters<Scp['createDatasetFromStoreWritableStream']>[2];

const { TransferSyntax, PresentationContextResult, RejectResult, RejectSource, RejectReason, AbortSource, AbortReason } = dimse.constants;
const STATUS_OUT_OF_RESOURCES = 0xa700;
export { DEFAULT_MAX_INSTANCE_BYTES, DEFAULT_MAX_PDU_BYTES };
/**
 * Associations taken at once unless told otherwise: a C-MOVE's instances come on one association
 * (Orthanc, dcmtk, dcm4chee send the sub-operations of a C-MOVE one after another on one), and
 * lowdose sends its C-MOVE requests one at a time; the rest is a margin, for a PACS that opens a
 * new association before the last one is seen closed.
 */
export const DEFAULT_MAX_ASSOCIATIONS = 4;
/** Connections from the PACS's addresses beyond the associations taken that may wait for their A-ASSOCIATE-RJ; more are closed unread. */
export const MAX_WAITING_CONNECTIONS = 8;
/** How a refusal of a caller from another address than the PACS's begins (`StoreScp.refused[].why`). */
export const NOT_PACS_ADDRESS = 'not an address of the PACS';
/** How a refusal at TLS begins (`StoreScp.refused[].why`, --dimse-tls): a failed handshake or a client certificate not trusted. */
export const TLS_REFUSAL = 'TLS ';
/** How a refusal of an association over the limit begins (`StoreScp.refused[].why`). */
export const OVER_ASSOCIATION_LIMIT = 'over the limit of';

export interface StoreScpLimits {
  /** Addresses the PACS may call from (IPv4 / IPv6, as resolved); null takes a call from anywhere. */
  readonly peerAddresses: readonly string[] | null;
  /** Largest P-DATA-TF PDU (its variable field), bytes; default DEFAULT_MAX_PDU_BYTES. */
  readonly maxPduBytes?: number;
  /** Largest instance (its data set as sent), bytes; default DEFAULT_MAX_INSTANCE_BYTES. */
  readonly maxInstanceBytes?: number;
  /** Associations taken at once; default DEFAULT_MAX_ASSOCIATIONS. */
  readonly maxAssociations?: number;
  /** Listen with DICOM TLS (`--dimse-tls`): our certificate and key are required; a client certificate the PACS presents must be trusted. */
  readonly tls?: DimseTls;
  /** With `tls`: refuse a caller that presents no client certificate (`--move-require-cert`); by default it is taken, its address checked. */
  readonly requireClientCert?: boolean;
}

export interface StoreScp {
  /** Instances received and kept, and those that could not be kept. */
  readonly counts: { received: number; failed: number };
  /** The first failure of the store, or an instance over the limit, if any. */
  readonly failure: LowdoseError | null;
  /** Connections closed: from an address not in `peerAddresses`, announcing a PDU over the limit, or over the association limit. */
  readonly refused: ReadonlyArray<{ address: string; why: string }>;
  /** Associations open now. */
  readonly associations: number;
  /**
   * Keeps nothing more (the C-MOVE was cancelled): an instance arriving is removed, later ones are
   * read and dropped, and `started` is called as each later one begins.
   */
  stop(started: () => void): void;
  /** Stops listening, closes the connections, and resolves once every instance file is kept or removed. */
  close(): Promise<void>;
}

/** An address as a socket gives it, an IPv4-mapped IPv6 one ("::ffff:127.0.0.1") as IPv4. */
export function plainAddress(address: string): string {
  return address.toLowerCase().replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');
}

/**
 * Listens on `port` (all interfaces) for associations called `aet` from `limits.peerAddresses`;
 * each storage presentation context is accepted in explicit or implicit VR little endian (the
 * PACS converts what it holds), each received instance goes to `store` as a file with its data
 * set as sent.
 */
export async function startStoreScp(port: number, aet: string, store: InstanceStore, timeoutMs: number, limits: StoreScpLimits): Promise<StoreScp> {
  const state: { counts: { received: number; failed: number }; failure: LowdoseError | null; refused: Array<{ address: string; why: string }>; connections: number; associations: number } = {
    counts: { received: 0, failed: 0 },
    failure: null,
    refused: [],
    connections: 0,
    associations: 0,
  };
  const allowed = limits.peerAddresses === null ? null : new Set(limits.peerAddresses.map(plainAddress));
  const maxPduBytes = limits.maxPduBytes ?? DEFAULT_MAX_PDU_BYTES;
  const maxInstanceBytes = limits.maxInstanceBytes ?? DEFAULT_MAX_INSTANCE_BYTES;
  const maxAssociations = limits.maxAssociations ?? DEFAULT_MAX_ASSOCIATIONS;
  const limitOf = (type: number) => (type === P_DATA_TF ? maxPduBytes : MAX_CONTROL_PDU_BYTES);
  // Every association's instances, for stop() and close(); `stopped`: stop()'s callback, for those that come later.
  const receivers = new Set<InstanceReceiver>();
  let stopped: (() => void) | null = null;

  class Receiver extends dimse.Scp {
    private readonly connection: Socket;
    private readonly address: string;
    private receiver: InstanceReceiver | null = null;
    private associated = false;
    /** Set when an instance passed the limit: the association is aborted, what dcmjs-dimse still raises is not answered. */
    private aborted = false;

    constructor(socket: Socket, options: ConstructorParameters<typeof dimse.Scp>[1]) {
      super(socket, options);
      this.connection = socket;
      const address = plainAddress(socket.remoteAddress ?? '');
      this.address = address;
      if (allowed && !allowed.has(address)) {
        state.refused.push({ address, why: `${NOT_PACS_ADDRESS} (${[...allowed].join(', ')})` });
        socket.destroy();
        return;
      }
      const untrusted = limits.tls ? untrustedClient(socket as TLSSocket, limits.requireClientCert ?? false) : null;
      if (untrusted !== null) {
        state.refused.push({ address, why: untrusted });
        socket.destroy();
        return;
      }
      if (state.connections >= maxAssociations + MAX_WAITING_CONNECTIONS) {
        state.refused.push({ address, why: `${OVER_ASSOCIATION_LIMIT} ${maxAssociations} associations at once, with ${state.connections} connections open: closed unread` });
        socket.destroy();
        return;
      }
      state.connections++;
      socket.once('close', () => {
        state.connections--;
        if (this.associated) state.associations--;
      });
      watchPduLengths(socket, limitOf, (type, length) => {
        state.refused.push({ address, why: `a PDU of type ${type} announced ${length} bytes, over the ${limitOf(type)} taken` });
        socket.destroy();
      });
      this.receiver = new InstanceReceiver(store, socket, maxInstanceBytes, (received) => {
        this.aborted = true;
        state.counts.failed++;
        state.failure ??= new LowdoseError(
          'E_IO',
          `the PACS sent our storage SCP an instance of more than ${formatBytes(maxInstanceBytes)} (${formatBytes(received)} had come): the association was aborted and the instance not kept`,
        );
        this.sendAbort(AbortSource.ServiceProvider, AbortReason.NotSpecified);
        this.connection.destroy();
      });
      receivers.add(this.receiver);
      if (stopped) this.receiver.stop(stopped);
    }

    override associationRequested(association: ScpAssociation): void {
      if (association.getCalledAeTitle().trim() !== aet) {
        this.sendAssociationReject(RejectResult.Permanent, RejectSource.ServiceUser, RejectReason.CalledAeNotRecognized);
        return;
      }
      if (state.associations >= maxAssociations) {
        state.refused.push({ address: this.address, why: `${OVER_ASSOCIATION_LIMIT} ${maxAssociations} associations at once: A-ASSOCIATE-RJ (local limit exceeded)` });
        this.sendAssociationReject(RejectResult.Transient, RejectSource.ServiceProviderPresentation, RejectReason.LocalLimitExceeded);
        this.connection.end();
        return;
      }
      state.associations++;
      this.associated = true;
      for (const { id } of association.getPresentationContexts() as Array<{ id: number }>) {
        const context = association.getPresentationContext(id);
        const offered = context.getTransferSyntaxUids();
        const chosen = [TransferSyntax.ExplicitVRLittleEndian, TransferSyntax.ImplicitVRLittleEndian].find((ts) => offered.includes(ts));
        if (chosen) context.setResult(PresentationContextResult.Accept, chosen);
        else context.setResult(PresentationContextResult.RejectTransferSyntaxesNotSupported);
      }
      // The A-ASSOCIATE-AC says the smaller of this and dcmjs-dimse's own maximum: our limit, whatever the caller asked.
      association.setMaxPduLength(maxPduBytes);
      this.sendAssociationAccept();
    }

    override createStoreWritableStream(context: Accepted, request: StoreRequest): Writable {
      return this.receiver!.open(context, request);
    }

    override createDatasetFromStoreWritableStream(writable: Writable, _accepted: Accepted, callback: DatasetCallback): void {
      this.receiver!.finish(writable);
      // cStoreRequest reads what it needs from the file: dcmjs-dimse decodes nothing.
      callback(new dimse.Dataset({}));
    }

    override cStoreRequest(request: StoreRequest, callback: StoreCallback): void {
      const response = dimse.responses.CStoreResponse.fromRequest(request);
      void this.receiver!.take().then((taken) => {
        if (taken.kept) {
          state.counts.received++;
          response.setStatus(STATUS_SUCCESS);
        } else {
          // The rest of the chunk that passed the instance limit may end that instance: it was counted, and the association is gone.
          if (this.aborted) return;
          state.counts.failed++;
          if (taken.error) state.failure ??= taken.error;
          response.setStatus(STATUS_OUT_OF_RESOURCES);
        }
        callback(response);
      });
    }

    override associationReleaseRequested(): void {
      this.sendAssociationReleaseResponse();
    }
  }

  const server = new dimse.Server(Receiver);
  const listening = new Promise<void>((resolve, reject) => {
    server.on('listening', () => resolve());
    server.on('networkError', (error: Error) => reject(error));
  });
  const securityOptions = limits.tls ? serverSecurityOptions(limits.tls) : undefined;
  server.listen(port, { connectTimeout: timeoutMs, associationTimeout: timeoutMs, pduTimeout: timeoutMs, ...(securityOptions ? { securityOptions } : {}) });
  if (securityOptions) {
    const tlsServer = (server as unknown as { server: NetServer }).server;
    // The SCP's count sees a connection once it has it, after its TLS handshake: connections still in
    // their handshake (Node allows 120 s) are capped by the listening socket itself, at what the SCP
    // would keep open; Node closes the rest at once ('drop').
    tlsServer.maxConnections = maxAssociations + MAX_WAITING_CONNECTIONS;
    tlsServer.on('drop', (data?: { remoteAddress?: string }) => {
      state.refused.push({ address: plainAddress(data?.remoteAddress ?? ''), why: `${OVER_ASSOCIATION_LIMIT} ${maxAssociations} associations at once, with ${tlsServer.maxConnections} connections open or in their TLS handshake: closed unread` });
    });
    // dcmjs-dimse hands the SCP a connection after its TLS handshake: refuse other addresses before
    // the handshake, and record a handshake that failed (it never reaches the SCP).
    tlsServer.prependListener('connection', (socket: Socket) => {
      const address = plainAddress(socket.remoteAddress ?? '');
      if (allowed && !allowed.has(address)) {
        state.refused.push({ address, why: `${NOT_PACS_ADDRESS} (${[...allowed].join(', ')})` });
        socket.destroy();
      }
    });
    tlsServer.on('tlsClientError', (error: Error & { code?: string }, socket: Socket) => {
      state.refused.push({ address: plainAddress(socket.remoteAddress ?? ''), why: `${TLS_REFUSAL}handshake failed (${error.code ?? error.message})` });
    });
  }
  try {
    await listening;
  } catch (error) {
    server.close();
    throw new LowdoseError('E_USAGE', `--move-port ${port}: cannot listen (${(error as Error).message})`, { cause: error });
  }
  return {
    counts: state.counts,
    get failure() {
      return state.failure;
    },
    refused: state.refused,
    get associations() {
      return state.associations;
    },
    stop: (started) => {
      stopped ??= started;
      for (const receiver of receivers) receiver.stop(started);
    },
    close: async () => {
      server.close();
      await Promise.all([...receivers].map((r) => r.settled()));
    },
  };
}
