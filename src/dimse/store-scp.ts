/**
 * The storage SCP that C-MOVE needs: the PACS opens an association to us (it must know our AE
 * title at this machine's address and `port`) and sends the instances with C-STORE. Only used
 * with `--move-port`; C-GET needs no inbound port.
 */
import type { Writable } from 'node:stream';
import { LowdoseError } from '../errors.js';
import { dimse, STATUS_SUCCESS, type InstanceSink } from './association.js';

type Scp = InstanceType<(typeof dimse)['Scp']>;
type ScpAssociation = Parameters<Scp['associationRequested']>[0];
type StoreRequest = Parameters<Scp['cStoreRequest']>[0];
type StoreCallback = Parameters<Scp['cStoreRequest']>[1];
type Accepted = Parameters<Scp['createDatasetFromStoreWritableStream']>[1];
type DatasetCallback = Parameters<Scp['createDatasetFromStoreWritableStream']>[2];

const { TransferSyntax, PresentationContextResult, RejectResult, RejectSource, RejectReason } = dimse.constants;
const STATUS_OUT_OF_RESOURCES = 0xa700;

export interface StoreScp {
  /** Instances received and kept, and those that could not be kept. */
  readonly counts: { received: number; failed: number };
  /** The first failure of the sink, if any. */
  readonly failure: LowdoseError | null;
  close(): Promise<void>;
}

/**
 * Listens on `port` (all interfaces) for associations called `aet`; each storage presentation
 * context is accepted in explicit or implicit VR little endian (the PACS converts what it holds),
 * each received instance goes to `sink` with its bytes as sent.
 */
export async function startStoreScp(port: number, aet: string, sink: InstanceSink, timeoutMs: number): Promise<StoreScp> {
  const state: { counts: { received: number; failed: number }; failure: LowdoseError | null } = { counts: { received: 0, failed: 0 }, failure: null };

  class Receiver extends dimse.Scp {
    private readonly raw: Array<{ bytes: Uint8Array; transferSyntaxUid: string }> = [];

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
      this.sendAssociationAccept();
    }

    override createDatasetFromStoreWritableStream(writable: Writable, accepted: Accepted, callback: DatasetCallback): void {
      const bytes = (writable as Writable & { toBuffer(): Buffer }).toBuffer();
      this.raw.push({ bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), transferSyntaxUid: accepted.getAcceptedTransferSyntaxUid() ?? '' });
      super.createDatasetFromStoreWritableStream(writable, accepted, callback);
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
    close: async () => {
      server.close();
    },
  };
}
