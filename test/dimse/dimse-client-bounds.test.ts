/**
 * Our DIMSE client (src/dimse/association.ts) against a hostile PACS, a dcmjs-dimse SCP on
 * loopback: a PDU announcing more than the maximum we ask for ends the association at its header,
 * before it is gathered; a C-GET's C-STORE sub-operation over the instance limit aborts the
 * association, keeping nothing, and one under it is kept whole in its file.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { splitPart10 } from '../../src/dicom/part10.js';
import { associate, dimse } from '../../src/dimse/association.js';
import { cacheStore } from '../../src/dimse/study.js';
import { seriesCacheDir } from '../../src/util/pull-cache.js';
import { AcceptingScp, listenScp } from '../helpers/dimse-scp.js';
import { ctDataset } from '../helpers/store-sender.js';

type Scp = InstanceType<(typeof dimse)['Scp']>;
type Request = Parameters<Scp['cFindRequest']>[0];
type Callback = Parameters<Scp['cFindRequest']>[1];

/** The series of test/helpers/store-sender.ts's data sets. */
const SERIES = '1.2.3.4';
const servers: Array<{ close(): void }> = [];
const folders: string[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
  for (const f of folders.splice(0)) rmSync(f, { recursive: true, force: true });
});

/** What the hostile PACS does: answer a C-FIND, or a C-GET (with the C-STORE sub-operations it sends first). */
interface Behaviour {
  find?(socket: Socket): void;
  get?(send: (dataset: InstanceType<(typeof dimse)['Dataset']>) => Promise<void>): Promise<void>;
}

/** A dcmjs-dimse SCP on a free loopback port that accepts every presentation context and behaves as told. */
async function hostilePacs(behaviour: Behaviour): Promise<number> {
  class Pacs extends AcceptingScp {
    private readonly connection: Socket;
    constructor(socket: Socket, options: ConstructorParameters<typeof dimse.Scp>[1]) {
      super(socket, options);
      this.connection = socket;
    }
    override cFindRequest(_request: Request, _callback: Callback): void {
      behaviour.find?.(this.connection);
    }
    override cGetRequest(request: Parameters<Scp['cGetRequest']>[0], callback: Parameters<Scp['cGetRequest']>[1]): void {
      const send = (dataset: InstanceType<(typeof dimse)['Dataset']>) =>
        new Promise<void>((resolve) => {
          const store = new dimse.requests.CStoreRequest(dataset);
          store.on('done', () => resolve());
          this.sendRequests(store);
        });
      void behaviour.get?.(send).then(() => {
        const response = dimse.responses.CGetResponse.fromRequest(request);
        response.setStatus(0);
        callback([response]);
      });
    }
  }
  const { port, server } = await listenScp(Pacs);
  servers.push(server);
  return port;
}

const peer = (port: number) => ({ aet: 'PACS', host: '127.0.0.1', port });
function pullFolder(): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-cget-test-'));
  folders.push(root);
  mkdirSync(seriesCacheDir(root, SERIES));
  return root;
}
const filesUnder = (root: string): string[] =>
  readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)));

describe('our DIMSE client under a hostile PACS', () => {
  it('ends the association at the header of a P-DATA-TF announcing 4 GiB, without waiting for its bytes', async () => {
    const port = await hostilePacs({
      find: (socket) => {
        const header = Buffer.from([0x04, 0, 0xff, 0xff, 0xff, 0xf0]);
        socket.write(header);
        // A few MiB of it, then silence: gathering it would wait for the rest until the timeout.
        for (let i = 0; i < 8; i++) socket.write(Buffer.alloc(2 ** 20));
      },
    });
    const request = dimse.requests.CFindRequest.createStudyFindRequest({ PatientID: '*' });
    await expect(associate(peer(port), [request], { callingAet: 'LOWDOSE', timeoutMs: 60_000, purpose: 'C-FIND' })).rejects.toMatchObject({
      code: 'E_IO',
      message: `dimse://PACS@127.0.0.1:${port} sent a PDU of type 4 announcing 4294967280 bytes, over the 262144 we take: the connection was closed`,
    });
  }, 30_000);

  it('aborts a C-GET whose C-STORE sub-operation passes the instance limit, keeping nothing; one under it is kept whole', async () => {
    const port = await hostilePacs({ get: (send) => send(ctDataset(8 * 2 ** 20, '1.2.3.4.1')) });
    const request = () => dimse.requests.CGetRequest.createSeriesGetRequest('1.2.3', SERIES);
    const over = pullFolder();
    await expect(associate(peer(port), [request()], { callingAet: 'LOWDOSE', timeoutMs: 10_000, purpose: 'C-GET', store: cacheStore(over), maxInstanceBytes: 2 ** 20 })).rejects.toMatchObject({
      code: 'E_IO',
      message: expect.stringMatching(new RegExp(`^dimse://PACS@127\\.0\\.0\\.1:${port} sent an instance of more than 1 MiB \\(1(\\.\\d+)? MiB had come\\): the association was aborted and the instance not kept$`)),
    });
    await vi.waitFor(() => expect(filesUnder(over)).toEqual([]));

    const under = pullFolder();
    await associate(peer(port), [request()], { callingAet: 'LOWDOSE', timeoutMs: 10_000, purpose: 'C-GET', store: cacheStore(under), maxInstanceBytes: 16 * 2 ** 20 });
    const kept = path.join(path.basename(seriesCacheDir(under, SERIES)), '1.2.3.4.1.dcm');
    expect(filesUnder(under)).toEqual([kept]);
    const file = splitPart10(new Uint8Array(readFileSync(path.join(under, kept))), kept);
    expect(file).toMatchObject({ sopClassUid: '1.2.840.10008.5.1.4.1.1.2', sopInstanceUid: '1.2.3.4.1', transferSyntaxUid: '1.2.840.10008.1.2.1' });
    expect(file.dataset.length).toBeGreaterThan(8 * 2 ** 20);
    expect(file.dataset.subarray(-8 * 2 ** 20).every((b) => b === 7)).toBe(true);
  }, 30_000);
});
