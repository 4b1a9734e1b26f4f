/**
 * A TCP proxy for the DIMSE tests: in front of Orthanc's DICOM port (or of our storage SCP) it can
 * cut an association after a given number of bytes, as a PACS killed or a network dropped
 * mid-transfer would, or change what the PACS sends (a PACS answering other values).
 */
import net from 'node:net';

export interface CuttingProxy {
  readonly port: number;
  /** Bytes in the `from` direction after which the next connection is cut (both sockets destroyed); null forwards everything. */
  cutAfter: number | null;
  /** Connections cut so far. */
  cuts: number;
  /** Changes each chunk the PACS sends (in the `from` direction) before it is forwarded; null forwards it as it came. */
  rewrite: ((chunk: Buffer) => Buffer) | null;
  close(): Promise<void>;
}

/**
 * A TCP proxy in front of Orthanc's DICOM port that can cut an association after a given number
 * of bytes from the PACS, as a PACS killed or a network dropped mid-transfer would: deterministic,
 * unlike killing the server at the right moment.
 */
export async function startCuttingProxy(targetPort: number, from: 'server' | 'client' = 'server'): Promise<CuttingProxy> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => sockets.delete(s));
    }
    const limit = proxy.cutAfter;
    let sent = 0;
    const forward = (source: net.Socket, sink: net.Socket, counted: boolean) =>
      source.on('data', (chunk: Buffer) => {
        if (counted && limit !== null && sent + chunk.length > limit) {
          proxy.cuts++;
          client.destroy();
          upstream.destroy();
          return;
        }
        if (counted) sent += chunk.length;
        sink.write(counted && proxy.rewrite ? proxy.rewrite(chunk) : chunk);
      });
    forward(client, upstream, from === 'client');
    forward(upstream, client, from === 'server');
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const proxy: CuttingProxy = {
    port: (server.address() as net.AddressInfo).port,
    cutAfter: null,
    cuts: 0,
    rewrite: null,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  return proxy;
}
