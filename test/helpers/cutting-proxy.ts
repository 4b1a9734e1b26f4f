/**
 * A TCP proxy for the DIMSE tests: in front of Orthanc's DICOM port (or of our storage SCP) it can
 * cut an association after a given number of bytes, as a PACS killed or a network dropped
 * mid-transfer would, or change what the PACS sends (a PACS answering other values).
 */
import net from 'node:net';

export interface CuttingProxy {
  readonly port: number;
  /** Where the next connection goes (127.0.0.1); may be moved between connections. */
  targetPort: number;
  /** Bytes in the `from` direction after which the next connection is cut (both sockets destroyed); null forwards everything. */
  cutAfter: number | null;
  /** Connections cut so far. */
  cuts: number;
  /** Connections taken so far (one per association). */
  connections: number;
  /** Changes each chunk the PACS sends (in the `from` direction) before it is forwarded; null forwards it as it came. */
  rewrite: ((chunk: Buffer) => Buffer) | null;
  /**
   * Bytes in the `from` direction after which the next connection's bytes in that direction wait
   * (the other direction still flows) until release(); `onHold` is called once they start waiting.
   * Null forwards everything.
   */
  holdAfter: number | null;
  /**
   * Holds the next connection's bytes in the `from` direction from the first chunk for which it
   * returns true (e.g. the first C-FIND-RSP: commandElement(0x0100, 0x8020)) until release(), as
   * holdAfter does; null holds nothing this way.
   */
  holdWhen: ((chunk: Buffer) => boolean) | null;
  onHold: (() => void) | null;
  /** Forwards what waits and everything after it. */
  release(): void;
  /** Each chunk of the other direction (the client's, when `from` is 'server') as it is forwarded. */
  watch: ((chunk: Buffer) => void) | null;
  close(): Promise<void>;
}

/**
 * A TCP proxy in front of Orthanc's DICOM port that can cut an association after a given number
 * of bytes from the PACS, as a PACS killed or a network dropped mid-transfer would: deterministic,
 * unlike killing the server at the right moment.
 */
export async function startCuttingProxy(targetPort: number, from: 'server' | 'client' = 'server'): Promise<CuttingProxy> {
  const sockets = new Set<net.Socket>();
  const releases: Array<() => void> = [];
  const server = net.createServer((client) => {
    proxy.connections++;
    const upstream = net.connect(proxy.targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => sockets.delete(s));
    }
    const limit = proxy.cutAfter;
    const holdAt = proxy.holdAfter;
    const holdWhen = proxy.holdWhen;
    let heldWhen = false;
    let sent = 0;
    let waiting: Buffer[] | null = null;
    const forward = (source: net.Socket, sink: net.Socket, counted: boolean) =>
      source.on('data', (chunk: Buffer) => {
        if (counted && limit !== null && sent + chunk.length > limit) {
          proxy.cuts++;
          client.destroy();
          upstream.destroy();
          return;
        }
        if (!counted) proxy.watch?.(chunk);
        const out = counted && proxy.rewrite ? proxy.rewrite(chunk) : chunk;
        if (counted && waiting) return void waiting.push(out);
        /** Forwards the first `now` bytes of `out` and holds the rest, and all after it, until release(). */
        const holdFrom = (now: number) => {
          sink.write(out.subarray(0, now));
          waiting = [out.subarray(now)];
          releases.push(() => {
            for (const rest of waiting ?? []) sink.write(rest);
            waiting = null;
          });
          sent += chunk.length;
          proxy.onHold?.();
        };
        if (counted && !heldWhen && holdWhen?.(out)) {
          heldWhen = true;
          return holdFrom(0);
        }
        if (counted && holdAt !== null && sent <= holdAt && sent + out.length > holdAt) return holdFrom(holdAt - sent);
        if (counted) sent += chunk.length;
        sink.write(out);
      });
    forward(client, upstream, from === 'client');
    forward(upstream, client, from === 'server');
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const proxy: CuttingProxy = {
    port: (server.address() as net.AddressInfo).port,
    targetPort,
    cutAfter: null,
    cuts: 0,
    connections: 0,
    rewrite: null,
    holdAfter: null,
    holdWhen: null,
    onHold: null,
    release: () => {
      proxy.holdAfter = null;
      proxy.holdWhen = null;
      for (const release of releases.splice(0)) release();
    },
    watch: null,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  return proxy;
}

/** The bytes of one command element, implicit VR little endian: tag, 4-byte length 2, a US value. */
export function commandElement(element: number, value: number): Buffer {
  const bytes = Buffer.alloc(10);
  bytes.writeUInt16LE(0x0000, 0);
  bytes.writeUInt16LE(element, 2);
  bytes.writeUInt32LE(2, 4);
  bytes.writeUInt16LE(value, 8);
  return bytes;
}

/**
 * A rewrite (CuttingProxy.rewrite, from the PACS) that turns the final C-GET-RSP / C-MOVE-RSP of
 * success (its CommandField 0x8010 or 0x8021, Status 0x0000) into 0xB000, "sub-operations complete,
 * one or more failures", with `failed` failed sub-operations (NumberOfFailedSuboperations, 0000,1022,
 * from 0): a PACS that went through the series and could not send some instances. The command set
 * is implicit VR little endian and its elements keep their lengths. Counts the answers it changed
 * in `changed`.
 */
export function withSomeSubOperationsFailed(failed: number, changed: { count: number }): (chunk: Buffer) => Buffer {
  const success = commandElement(0x0900, 0x0000);
  const noFailures = commandElement(0x1022, 0);
  return (chunk) => {
    const isRetrieveAnswer = [0x8010, 0x8021].some((field) => chunk.includes(commandElement(0x0100, field)));
    const status = chunk.indexOf(success);
    // After the Status of success: a chunk may hold a pending answer (Status 0xFF00) before the final one.
    const failures = chunk.indexOf(noFailures, status);
    if (!isRetrieveAnswer || status < 0 || failures < 0 || failures - status > 64) return chunk;
    const copy = Buffer.from(chunk);
    copy.writeUInt16LE(0xb000, status + 8);
    copy.writeUInt16LE(failed, failures + 8);
    changed.count++;
    return copy;
  };
}
