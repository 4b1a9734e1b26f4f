/**
 * The C-MOVE storage SCP (src/dimse/store-scp.ts) against hostile callers, no PACS needed: a
 * connection from an address that is not the PACS's is closed unread; a PDU whose header announces
 * more than the maximum we take (4 GiB of P-DATA-TF, 1 MiB of association request) is closed at its
 * header, before dcmjs-dimse gathers it; an instance over the instance limit aborts the association
 * and fails with E_IO, keeping nothing, while one under it is kept byte for byte.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ReceivedInstance } from '../../src/dimse/association.js';
import { startStoreScp, type StoreScp, type StoreScpLimits } from '../../src/dimse/store-scp.js';
import { LowdoseError } from '../../src/errors.js';
import { freePort } from '../helpers/ports.js';
import { storeInstance } from '../helpers/store-sender.js';

const AET = 'LOWDOSE';
const running: StoreScp[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((scp) => scp.close()));
});

/** Our SCP on a fresh port (again on another when a port from freePort was taken meanwhile). */
async function scpWith(limits: StoreScpLimits, kept: ReceivedInstance[] = []): Promise<{ scp: StoreScp; port: number }> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    try {
      const scp = await startStoreScp(port, AET, async (instance) => void kept.push(instance), 10_000, limits);
      running.push(scp);
      return { scp, port };
    } catch (error) {
      if (!(error instanceof LowdoseError && /cannot listen/.test(error.message)) || attempt === 3) throw error;
    }
  }
}

/**
 * Writes `header` then zeros in 64 KiB chunks, up to `upTo` bytes, to 127.0.0.1:`port`, as fast as
 * the connection takes them; resolves with the bytes written and whether the SCP closed the
 * connection (within 3 s after the last write).
 */
function flood(port: number, header: Buffer, upTo: number): Promise<{ written: number; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunk = Buffer.alloc(64 * 1024);
    let written = 0;
    let closed = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ written, closed });
    };
    socket.on('error', () => {});
    socket.on('close', () => {
      closed = true;
      finish();
    });
    const pump = () => {
      while (!closed && written < upTo) {
        const ok = socket.write(written === 0 ? header : chunk);
        written += written === 0 ? header.length : chunk.length;
        if (!ok) {
          socket.once('drain', pump);
          return;
        }
      }
      if (!closed) timer = setTimeout(finish, 3_000);
    };
    socket.on('connect', pump);
  });
}

const pduHeader = (type: number, length: number) => {
  const header = Buffer.alloc(6);
  header.writeUInt8(type, 0);
  header.writeUInt32BE(length, 2);
  return header;
};

describe('the C-MOVE storage SCP under hostile callers', () => {
  it('closes a P-DATA-TF announcing 4 GiB at its header, after at most a few MiB in the socket buffers of 64 MiB sent', async () => {
    const { scp, port } = await scpWith({ peerAddresses: ['127.0.0.1'] });
    const sent = await flood(port, pduHeader(0x04, 0xfffffff0), 64 * 2 ** 20);
    expect(sent.closed).toBe(true);
    expect(sent.written).toBeLessThan(16 * 2 ** 20);
    expect(scp.refused).toEqual([{ address: '127.0.0.1', why: 'a PDU of type 4 announced 4294967280 bytes, over the 262144 taken' }]);
  });

  it('closes an association request announcing 1 MiB (the limit for any PDU but P-DATA-TF is 64 KiB)', async () => {
    const { scp, port } = await scpWith({ peerAddresses: ['127.0.0.1'] });
    const sent = await flood(port, pduHeader(0x01, 2 ** 20), 2 ** 20);
    expect(sent.closed).toBe(true);
    expect(scp.refused).toEqual([{ address: '127.0.0.1', why: 'a PDU of type 1 announced 1048576 bytes, over the 65536 taken' }]);
  });

  it('closes a connection from an address that is not the PACS\'s before reading it', async () => {
    const { scp, port } = await scpWith({ peerAddresses: ['192.0.2.7'] });
    const sent = await flood(port, pduHeader(0x01, 100), 64 * 1024);
    expect(sent.closed).toBe(true);
    expect(scp.refused).toEqual([{ address: '127.0.0.1', why: 'not an address of the PACS (192.0.2.7)' }]);
  });

  const store = async (port: number, pixelBytes: number, sopInstanceUid: string) =>
    (await storeInstance(port, pixelBytes, { sopInstanceUid, callingAet: 'HOSTILE', calledAet: AET })).status;

  it('aborts the association when an instance passes the instance limit, keeping nothing; one under it is kept byte for byte', async () => {
    const kept: ReceivedInstance[] = [];
    const { scp, port } = await scpWith({ peerAddresses: ['127.0.0.1'], maxInstanceBytes: 2 ** 20 }, kept);
    const under = await store(port, 512 * 1024, '1.2.3.4.1');
    expect(under).toBe(0);
    expect(kept).toHaveLength(1);
    expect(kept[0]!.dataset.length).toBeGreaterThan(512 * 1024);
    expect(kept[0]!.dataset.length).toBeLessThan(2 ** 20);
    expect(kept[0]!.dataset.subarray(-512 * 1024).every((b) => b === 7)).toBe(true);
    expect(scp.failure).toBeNull();

    const over = await store(port, 8 * 2 ** 20, '1.2.3.4.2');
    expect(over).toBeNull(); // no answer: the association was aborted
    expect(kept).toHaveLength(1);
    expect(scp.failure).toMatchObject({ code: 'E_IO', message: expect.stringMatching(/^the PACS sent our storage SCP an instance of more than 1 MiB \(1(\.\d+)? MiB had come\): the association was aborted and the instance not kept$/) });
    expect(scp.counts).toEqual({ received: 1, failed: 1 });
  });
});
