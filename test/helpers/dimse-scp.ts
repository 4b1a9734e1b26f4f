/**
 * A PACS played by a dcmjs-dimse SCP on loopback, for the DIMSE tests that need one behaving as
 * they tell it (hostile, or opening many associations): `AcceptingScp` accepts every presentation
 * context (explicit VR little endian) and every release; `listenScp` serves a subclass of it.
 */
import { dimse } from '../../src/dimse/association.js';
import { freePort } from './ports.js';

type Scp = InstanceType<(typeof dimse)['Scp']>;
export type ScpAssociation = Parameters<Scp['associationRequested']>[0];

export class AcceptingScp extends dimse.Scp {
  override associationRequested(association: ScpAssociation): void {
    for (const { id } of association.getPresentationContexts() as Array<{ id: number }>) {
      association.getPresentationContext(id).setResult(dimse.constants.PresentationContextResult.Accept, dimse.constants.TransferSyntax.ExplicitVRLittleEndian);
    }
    this.sendAssociationAccept();
  }

  override associationReleaseRequested(): void {
    this.sendAssociationReleaseResponse();
  }
}

/** Serves `Pacs` on a free loopback port; resolves with the port and the server (close it after the test). */
export async function listenScp(Pacs: typeof AcceptingScp): Promise<{ port: number; server: { close(): void } }> {
  const port = await freePort();
  const server = new dimse.Server(Pacs);
  await new Promise<void>((resolve) => {
    server.on('listening', () => resolve());
    server.listen(port);
  });
  return { port, server };
}

/** What a silentPacs saw: the C-ECHOs, C-FINDs and C-STOREs it never answered, the C-CANCELs it never answered, the A-ABORTs it received and the connections that closed. */
export interface SilentPacsLog {
  echoes: number;
  finds: number;
  stores: number;
  cancels: number;
  aborts: number;
  closed: number;
  /** Called as each C-FIND, or C-ECHO, arrives. */
  onFind: (() => void) | null;
  onEcho: (() => void) | null;
  onStore: (() => void) | null;
  /** Resolves once `closed` reaches `count`. */
  closedAt(count: number): Promise<void>;
}

/**
 * A PACS that accepts the association and then never answers: no C-ECHO, C-FIND or C-STORE response,
 * nothing to a C-CANCEL (as a hung or overloaded PACS), on a free loopback port.
 */
export async function silentPacs(): Promise<{ port: number; log: SilentPacsLog; server: { close(): void } }> {
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  const log: SilentPacsLog = {
    echoes: 0,
    finds: 0,
    stores: 0,
    cancels: 0,
    aborts: 0,
    closed: 0,
    onFind: null,
    onEcho: null,
    onStore: null,
    closedAt: (count) => (log.closed >= count ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ count, resolve }))),
  };
  class Silent extends AcceptingScp {
    constructor(socket: import('node:net').Socket, options: ConstructorParameters<typeof dimse.Scp>[1]) {
      super(socket, options);
      socket.on('close', () => {
        log.closed++;
        for (const w of waiters.filter((w) => log.closed >= w.count)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve();
        }
      });
    }
    override cFindRequest(): void {
      log.finds++;
      log.onFind?.();
    }
    override cEchoRequest(): void {
      log.echoes++;
      log.onEcho?.();
    }
    override cStoreRequest(): void {
      log.stores++;
      log.onStore?.();
    }
    override cCancelRequest(): void {
      log.cancels++;
    }
    override abort(): void {
      log.aborts++;
    }
  }
  const { port, server } = await listenScp(Silent);
  return { port, log, server };
}
