/**
 * The storage SCP that C-MOVE needs: the PACS opens an association to us (it must know our AE
 * title at this machine's address and `port`) and sends the instances with C-STORE. Only used
 * with `--move-port`; C-GET needs no inbound port.
 *
 * Bounds, since anyone who can reach the port can call it (dcmjs-dimse gathers each PDU and each
 * instance whole in memory, and its Server takes any connection):
 * - only connections from `peerAddresses` (the PACS's host, resolved) are kept; any other is
 *   closed before a byte of it is read;
 * - the maximum PDU length we receive is `maxPduBytes`, said in the A-ASSOCIATE-AC (dcmjs-dimse
 *   would say the smaller of its own and the caller's, and a caller's 0 means unlimited); a PDU
 *   whose header announces more (a PDU other than P-DATA-TF: more than 64 KiB) closes the
 *   connection at its header, before dcmjs-dimse gathers it;
 * - an instance past `maxInstanceBytes` aborts the association (A-ABORT) and fails the retrieve
 *   with E_IO naming the limit; nothing of it is kept.
 */
import type { Socket } from 'node:net';
import { Writable } from 'node:stream';
import { dicomParser } from '../dicom/dicom-parser.js';
import { LowdoseError } from '../errors.js';
import { formatBytes } from '../util/bytes.js';
import { dimse, STATUS_SUCCESS, type InstanceSink } from './association.js';

type Scp = InstanceType<(typeof dimse)['Scp']>;
type ScpAssociation = Parameters<Scp['associationRequested']>[0];
type StoreRequest = Parameters<Scp['cStoreRequest']>[0];
type StoreCallback = Parameters<Scp['cStoreRequest']>[1];
type Accepted = Parameters<Scp['createDatasetFromStoreWritableStream']>[1];
type DatasetCallback = Parameters<Scp['createDatasetFromStoreWritableStream']>[2];

const { TransferSyntax, PresentationContextResult, RejectResult, RejectSource, RejectReason, AbortSource, AbortReason } = dimse.constants;
const STATUS_OUT_OF_RESOURCES = 0xa700;
/** PDU type of P-DATA-TF (PS3.8 9.3.5): the only one that carries instance bytes. */
const P_DATA_TF = 0x04;
/** Any other PDU (association request, release, abort) is far smaller: 128 presentation contexts fit many times over. */
const MAX_CONTROL_PDU_BYTES = 64 * 1024;
/** The largest P-DATA-TF we receive, unless told otherwise: dcmjs-dimse's own default (256 KiB). */
export const DEFAULT_MAX_PDU_BYTES = 256 * 1024;
/** The largest instance we keep, unless told otherwise: the DICOMweb client's bound (src/dicomweb/client.ts). */
export const DEFAULT_MAX_INSTANCE_BYTES = 1024 * 1024 * 1024;
/** How a refusal of a caller from another address than the PACS's begins (`StoreScp.refused[].why`). */
export const NOT_PACS_ADDRESS = 'not an address of the PACS';

export interface StoreScpLimits {
  /** Addresses the PACS may call from (IPv4 / IPv6, as resolved); null takes a call from anywhere. */
  readonly peerAddresses: readonly string[] | null;
  /** Largest P-DATA-TF PDU (its variable field), bytes; default DEFAULT_MAX_PDU_BYTES. */
  readonly maxPduBytes?: number;
  /** Largest instance (its data set as sent), bytes; default DEFAULT_MAX_INSTANCE_BYTES. */
  readonly maxInstanceBytes?: number;
}

export interface StoreScp {
  /** Instances received and kept, and those that could not be kept. */
  readonly counts: { received: number; failed: number };
  /** The first failure of the sink, or an instance over the limit, if any. */
  readonly failure: LowdoseError | null;
  /** Connections closed: from an address not in `peerAddresses`, or announcing a PDU over the limit. */
  readonly refused: ReadonlyArray<{ address: string; why: string }>;
  close(): Promise<void>;
}

/** An address as a socket gives it, an IPv4-mapped IPv6 one ("::ffff:127.0.0.1") as IPv4. */
export function plainAddress(address: string): string {
  return address.toLowerCase().replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');
}

/**
 * Watches the PDU headers of a connection as they arrive (6 bytes: type, reserved, 32-bit
 * length; PS3.8 9.3.1) and calls `tooLong` at the first one whose length is over its limit. It
 * runs before dcmjs-dimse's own reader (a listener put first), which then gets no more than the
 * chunk at hand.
 */
function watchPduLengths(socket: Socket, limitOf: (type: number) => number, tooLong: (type: number, length: number) => void): void {
  const header = Buffer.alloc(6);
  let headerBytes = 0;
  let bodyLeft = 0;
  let stopped = false;
  socket.prependListener('data', (chunk: Buffer) => {
    let at = 0;
    while (!stopped && at < chunk.length) {
      if (bodyLeft > 0) {
        const skip = Math.min(bodyLeft, chunk.length - at);
        bodyLeft -= skip;
        at += skip;
        continue;
      }
      const take = Math.min(6 - headerBytes, chunk.length - at);
      chunk.copy(header, headerBytes, at, at + take);
      headerBytes += take;
      at += take;
      if (headerBytes < 6) return;
      headerBytes = 0;
      const type = header.readUInt8(0);
      const length = header.readUInt32BE(2);
      if (length > limitOf(type)) {
        stopped = true;
        tooLong(type, length);
        return;
      }
      bodyLeft = length;
    }
  });
}

/**
 * Listens on `port` (all interfaces) for associations called `aet` from `limits.peerAddresses`;
 * each storage presentation context is accepted in explicit or implicit VR little endian (the
 * PACS converts what it holds), each received instance goes to `sink` with its bytes as sent.
 */
export async function startStoreScp(port: number, aet: string, sink: InstanceSink, timeoutMs: number, limits: StoreScpLimits): Promise<StoreScp> {
  const state: { counts: { received: number; failed: number }; failure: LowdoseError | null; refused: Array<{ address: string; why: string }> } = {
    counts: { received: 0, failed: 0 },
    failure: null,
    refused: [],
  };
  const allowed = limits.peerAddresses === null ? null : new Set(limits.peerAddresses.map(plainAddress));
  const maxPduBytes = limits.maxPduBytes ?? DEFAULT_MAX_PDU_BYTES;
  const maxInstanceBytes = limits.maxInstanceBytes ?? DEFAULT_MAX_INSTANCE_BYTES;
  const limitOf = (type: number) => (type === P_DATA_TF ? maxPduBytes : MAX_CONTROL_PDU_BYTES);

  class Receiver extends dimse.Scp {
    private readonly raw: Array<{ bytes: Uint8Array; transferSyntaxUid: string }> = [];
    private readonly connection: Socket;

    constructor(socket: Socket, options: ConstructorParameters<typeof dimse.Scp>[1]) {
      super(socket, options);
      this.connection = socket;
      const address = plainAddress(socket.remoteAddress ?? '');
      if (allowed && !allowed.has(address)) {
        state.refused.push({ address, why: `${NOT_PACS_ADDRESS} (${[...allowed].join(', ')})` });
        socket.destroy();
        return;
      }
      watchPduLengths(socket, limitOf, (type, length) => {
        state.refused.push({ address, why: `a PDU of type ${type} announced ${length} bytes, over the ${limitOf(type)} taken` });
        socket.destroy();
      });
    }

    override associationRequested(association: ScpAssociation): void {
      if (association.getCalledAeTitle().trim() !== aet) {
        this.sendAssociationReject(RejectResult.Permanent, RejectSource.ServiceUser, RejectReason.CalledAeNotRecognized);
        return;
      }
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

    override createStoreWritableStream(): Writable {
      return new InstanceBuffer(maxInstanceBytes, (received) => {
        state.counts.failed++;
        state.failure ??= new LowdoseError(
          'E_IO',
          `the PACS sent our storage SCP an instance of more than ${formatBytes(maxInstanceBytes)} (${formatBytes(received)} had come): the association was aborted and the instance not kept`,
        );
        this.sendAbort(AbortSource.ServiceProvider, AbortReason.NotSpecified);
        this.connection.destroy();
      });
    }

    override createDatasetFromStoreWritableStream(writable: Writable, accepted: Accepted, callback: DatasetCallback): void {
      const bytes = (writable as InstanceBuffer).toBuffer();
      this.raw.push({ bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), transferSyntaxUid: accepted.getAcceptedTransferSyntaxUid() ?? '' });
      // cStoreRequest needs the SeriesInstanceUID only: read from the header, not a decoding of the whole instance.
      const seriesInstanceUid = seriesUidOf(bytes, accepted.getAcceptedTransferSyntaxUid() !== TransferSyntax.ImplicitVRLittleEndian);
      callback(new dimse.Dataset(seriesInstanceUid === null ? {} : { SeriesInstanceUID: seriesInstanceUid }));
    }

    override cStoreRequest(request: StoreRequest, callback: StoreCallback): void {
      const received = this.raw.shift();
      const response = dimse.responses.CStoreResponse.fromRequest(request);
      const seriesInstanceUid = request.getDataset()?.getElement('SeriesInstanceUID');
      if (!received || typeof seriesInstanceUid !== 'string') {
        state.counts.failed++;
        response.setStatus(STATUS_OUT_OF_RESOURCES);
        callback(response);
        return;
      }
      sink({
        sopClassUid: request.getAffectedSopClassUid(),
        sopInstanceUid: request.getAffectedSopInstanceUid(),
        seriesInstanceUid,
        transferSyntaxUid: received.transferSyntaxUid,
        dataset: received.bytes,
      })
        .then(
          () => {
            state.counts.received++;
            response.setStatus(STATUS_SUCCESS);
          },
          (error: unknown) => {
            state.counts.failed++;
            state.failure ??= error instanceof LowdoseError ? error : new LowdoseError('E_IO', String(error));
            response.setStatus(STATUS_OUT_OF_RESOURCES);
          },
        )
        .finally(() => callback(response));
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
  server.listen(port, { connectTimeout: timeoutMs, associationTimeout: timeoutMs, pduTimeout: timeoutMs });
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
    close: async () => {
      server.close();
    },
  };
}

/**
 * The SeriesInstanceUID of a received data set (little endian, explicit or implicit VR), read up
 * to its pixel data without copying; null when the header cannot be read or has none.
 */
export function seriesUidOf(bytes: Uint8Array, explicitVr: boolean): string | null {
  const parser = dicomParser.littleEndianByteArrayParser;
  const dataSet = new dicomParser.DataSet(parser, bytes, {});
  try {
    const stream = new dicomParser.ByteStream(parser, bytes, 0);
    const options = { untilTag: 'x7fe00010' };
    if (explicitVr) dicomParser.parseDicomDataSetExplicit(dataSet, stream, bytes.length, options);
    else dicomParser.parseDicomDataSetImplicit(dataSet, stream, bytes.length, options);
  } catch {
    // What was read before the failure may still hold the UID.
  }
  const uid = dataSet.string('x0020000e')?.replace(/[\0\s]+$/g, '');
  return uid ? uid : null;
}

/**
 * One instance's bytes as they arrive (what dcmjs-dimse's own memory stream does), up to `limit`:
 * past it the chunks are dropped, nothing more is kept and `over` is called once.
 */
class InstanceBuffer extends Writable {
  private chunks: Buffer[] = [];
  private received = 0;
  private overLimit = false;

  constructor(
    private readonly limit: number,
    private readonly over: (received: number) => void,
  ) {
    super();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.received += chunk.length;
    if (!this.overLimit && this.received > this.limit) {
      this.overLimit = true;
      this.chunks = [];
      this.over(this.received);
    }
    if (!this.overLimit) this.chunks.push(chunk);
    done();
  }

  /** The instance's bytes (none once it went over the limit); the chunks are let go. */
  toBuffer(): Buffer {
    const whole = Buffer.concat(this.chunks, this.overLimit ? 0 : this.received);
    this.chunks = [];
    return whole;
  }
}
