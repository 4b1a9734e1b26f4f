/**
 * The C-MOVE storage SCP (src/dimse/store-scp.ts) against hostile callers, no PACS needed: a
 * connection from an address that is not the PACS's is closed unread; a PDU whose header announces
 * more than the maximum we take (4 GiB of P-DATA-TF, 1 MiB of association request) is closed at its
 * header, before dcmjs-dimse gathers it; an instance over the instance limit aborts the association
 * and fails with E_IO, keeping nothing, while one under it is kept byte for byte; an instance is
 * written to disk as it arrives, so the SCP holds a small part of it in memory; associations past
 * the limit are refused with A-ASSOCIATE-RJ (local limit exceeded).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { splitPart10 } from '../../src/dicom/part10.js';
import { seriesUidOf } from '../../src/dimse/receive.js';
import { DEFAULT_MAX_ASSOCIATIONS, startStoreScp, type StoreScp, type StoreScpLimits } from '../../src/dimse/store-scp.js';
import { cacheStore } from '../../src/dimse/study.js';
import { LowdoseError } from '../../src/errors.js';
import { seriesCacheDir } from '../../src/util/pull-cache.js';
import { startCuttingProxy, type CuttingProxy } from '../helpers/cutting-proxy.js';
import { freePort } from '../helpers/ports.js';
import { holdAssociation, storeInstance } from '../helpers/store-sender.js';

const AET = 'LOWDOSE';
/** The series test/helpers/store-sender.ts sends. */
const SENT_SERIES = '1.2.3.4';
const running: StoreScp[] = [];
const folders: string[] = [];
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((scp) => scp.close()));
  await Promise.all(cleanups.splice(0).map((c) => c()));
  for (const f of folders.splice(0)) rmSync(f, { recursive: true, force: true });
});

/** A pull folder as denoise has it before a C-MOVE: the folder of each series asked for made. */
function pullFolder(...series: string[]): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-scp-test-'));
  folders.push(root);
  for (const s of [SENT_SERIES, ...series]) mkdirSync(seriesCacheDir(root, s));
  return root;
}

/** Every file under `root`: the kept instances and anything left beside them. */
const filesUnder = (root: string): string[] =>
  readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)));

/** Our SCP on a fresh port (again on another when a port from freePort was taken meanwhile), keeping instances under `root`. */
async function scpWith(limits: StoreScpLimits, root = pullFolder()): Promise<{ scp: StoreScp; port: number; root: string }> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    try {
      const scp = await startStoreScp(port, AET, cacheStore(root), 10_000, limits);
      running.push(scp);
      return { scp, port, root };
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
    const { scp, port, root } = await scpWith({ peerAddresses: ['127.0.0.1'], maxInstanceBytes: 2 ** 20 });
    const under = await store(port, 512 * 1024, '1.2.3.4.1');
    expect(under).toBe(0);
    const keptFile = path.join(path.basename(seriesCacheDir(root, SENT_SERIES)), '1.2.3.4.1.dcm');
    expect(filesUnder(root)).toEqual([keptFile]);
    const kept = splitPart10(new Uint8Array(readFileSync(path.join(root, keptFile))), keptFile);
    expect(kept).toMatchObject({ sopClassUid: '1.2.840.10008.5.1.4.1.1.2', sopInstanceUid: '1.2.3.4.1', transferSyntaxUid: '1.2.840.10008.1.2.1' });
    expect(kept.dataset.length).toBeGreaterThan(512 * 1024);
    expect(kept.dataset.length).toBeLessThan(2 ** 20);
    expect(kept.dataset.subarray(-512 * 1024).every((b) => b === 7)).toBe(true);
    expect(scp.failure).toBeNull();

    const over = await store(port, 8 * 2 ** 20, '1.2.3.4.2');
    expect(over).toBeNull(); // no answer: the association was aborted
    // Nothing of it stays, not even its temporary (removed once the connection closed).
    await vi.waitFor(() => expect(filesUnder(root)).toEqual([keptFile]));
    expect(scp.failure).toMatchObject({ code: 'E_IO', message: expect.stringMatching(/^the PACS sent our storage SCP an instance of more than 1 MiB \(1(\.\d+)? MiB had come\): the association was aborted and the instance not kept$/) });
    expect(scp.counts).toEqual({ received: 1, failed: 1 });

    // An instance one byte over the limit passes it in its last fragment, which also ends it: counted once, kept nowhere.
    const { scp: tight, port: tightPort, root: tightRoot } = await scpWith({ peerAddresses: ['127.0.0.1'], maxInstanceBytes: kept.dataset.length - 1 });
    expect(await store(tightPort, 512 * 1024, '1.2.3.4.3')).toBeNull();
    await vi.waitFor(() => expect(filesUnder(tightRoot)).toEqual([]));
    // Its temporary is removed before the end of the instance is taken: let that run.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(tight.counts).toEqual({ received: 0, failed: 1 });
  });

  it('leaves nothing of an instance whose connection breaks off halfway, and takes the next one whole', async () => {
    const { scp, port, root } = await scpWith({ peerAddresses: ['127.0.0.1'] });
    const proxy: CuttingProxy = await startCuttingProxy(port, 'client');
    cleanups.push(() => proxy.close());
    proxy.cutAfter = 4 * 2 ** 20;
    expect(await store(proxy.port, 16 * 2 ** 20, '1.2.3.4.1')).toBeNull();
    expect(proxy.cuts).toBe(1);
    await vi.waitFor(() => expect(filesUnder(root)).toEqual([]));
    proxy.cutAfter = null;
    expect(await store(proxy.port, 16 * 2 ** 20, '1.2.3.4.2')).toBe(0);
    expect(filesUnder(root)).toEqual([path.join(path.basename(seriesCacheDir(root, SENT_SERIES)), '1.2.3.4.2.dcm')]);
    expect(scp.counts).toEqual({ received: 1, failed: 0 });
  });

  it('holds less than half of a 256 MiB instance in memory while it arrives (it goes to disk fragment by fragment)', async () => {
    // The memory script: our SCP in a process of its own, the instance sent from another, the SCP's resident memory sampled.
    const script = path.resolve(import.meta.dirname, '../../scripts/bench/store-scp-memory.ts');
    const run = spawn(process.execPath, ['--import', 'tsx', script, '--attack', 'instance', '--mib', '256'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    run.stdout.on('data', (d) => (out += String(d)));
    const code = await new Promise((resolve) => run.on('exit', resolve));
    expect(code).toBe(0);
    const result = JSON.parse(out) as { rssBeforeMiB: number; rssPeakMiB: number; sender: string; keptBytes: number[]; leftBehind: string[] };
    expect(result.sender).toBe('C-STORE answered 0x0000');
    expect(result.keptBytes).toHaveLength(1);
    expect(result.keptBytes[0]).toBeGreaterThan(256 * 2 ** 20);
    expect(result.leftBehind).toEqual([]);
    // Measured 21 to 57 MiB above the start (PDUs dcmjs-dimse gathered, not yet collected), whatever the instance's size; held whole it was 3.2 times the instance.
    expect(result.rssPeakMiB - result.rssBeforeMiB).toBeLessThan(128);
  }, 120_000);

  /** dcmtk's storescu sending `file` to our SCP: its exit status and what it printed. */
  const storescu = (port: number, file: string): Promise<{ code: number | null; output: string }> =>
    new Promise((resolve) => {
      const run = spawn('storescu', ['-aet', 'PACS', '-aec', AET, '127.0.0.1', String(port), file], { stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      run.stdout.on('data', (d) => (output += String(d)));
      run.stderr.on('data', (d) => (output += String(d)));
      run.on('exit', (code) => resolve({ code, output }));
    });

  it(`refuses an association past ${DEFAULT_MAX_ASSOCIATIONS} open at once from the PACS with A-ASSOCIATE-RJ (local limit exceeded), and takes one again once one closed`, async () => {
    // A real CT file, sent by dcmtk's storescu as a PACS would; its series' folder made as pullSeries does.
    const file = path.resolve(import.meta.dirname, '../../../shared/dicom/QIICR__dcmqi/data/segmentations/ct-3slice/01.dcm');
    const part10 = splitPart10(new Uint8Array(readFileSync(file)), file);
    const series = seriesUidOf(part10.dataset, part10.transferSyntaxUid !== '1.2.840.10008.1.2')!;
    const { scp, port, root } = await scpWith({ peerAddresses: ['127.0.0.1'] }, pullFolder(series));
    const held = Array.from({ length: DEFAULT_MAX_ASSOCIATIONS }, (_, i) => holdAssociation(port, { sopInstanceUid: `1.2.3.4.${i + 1}`, callingAet: 'PACS', calledAet: AET }));
    cleanups.push(() => Promise.all(held.map((h) => h.close())));
    expect(await Promise.all(held.map((h) => h.stored))).toEqual(held.map(() => 0));
    expect(scp.associations).toBe(DEFAULT_MAX_ASSOCIATIONS);

    const refused = await storescu(port, file);
    expect(refused.code).not.toBe(0);
    expect(refused.output).toMatch(/Association Rejected:\s+F: Result: Rejected Transient, Source: Service Provider \(Presentation Related\)\s+F: Reason: Local Limit Exceeded/);
    expect(scp.refused).toEqual([{ address: '127.0.0.1', why: `over the limit of ${DEFAULT_MAX_ASSOCIATIONS} associations at once: A-ASSOCIATE-RJ (local limit exceeded)` }]);
    const keptFile = path.join(path.basename(seriesCacheDir(root, series)), `${part10.sopInstanceUid}.dcm`);
    expect(filesUnder(root)).not.toContain(keptFile);

    await held[0]!.close();
    await vi.waitFor(() => expect(scp.associations).toBe(DEFAULT_MAX_ASSOCIATIONS - 1));
    const taken = await storescu(port, file);
    expect(taken.code, taken.output).toBe(0);
    expect(filesUnder(root)).toContain(keptFile);
    expect(splitPart10(new Uint8Array(readFileSync(path.join(root, keptFile))), keptFile).dataset).toEqual(part10.dataset);
  }, 60_000);

  it(`closes unread a connection past ${DEFAULT_MAX_ASSOCIATIONS} + 8 open at once from the PACS (none of them associated yet)`, async () => {
    const { scp, port } = await scpWith({ peerAddresses: ['127.0.0.1'] });
    const open = (): Promise<net.Socket> =>
      new Promise((resolve) => {
        const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
        socket.on('error', () => {});
      });
    const idle: net.Socket[] = [];
    cleanups.push(() => idle.forEach((s) => s.destroy()));
    for (let i = 0; i < DEFAULT_MAX_ASSOCIATIONS + 8; i++) idle.push(await open());
    const extra = await open();
    idle.push(extra);
    await new Promise((resolve) => extra.once('close', resolve));
    expect(scp.refused).toEqual([{ address: '127.0.0.1', why: `over the limit of ${DEFAULT_MAX_ASSOCIATIONS} associations at once, with ${DEFAULT_MAX_ASSOCIATIONS + 8} connections open: closed unread` }]);
    expect(idle.slice(0, -1).every((s) => !s.destroyed)).toBe(true);
  });
});
