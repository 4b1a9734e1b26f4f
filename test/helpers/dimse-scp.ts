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
