/**
 * An HTTP(S) forwarding proxy for the DICOMweb tests: in front of Orthanc it can answer chosen
 * requests with HTTP 500, as a failing server would, and with `tls` it is an https front end
 * (Debian's Orthanc 1.10.1 exits on its first HTTPS request here).
 */
import http from 'node:http';
import https from 'node:https';

export interface Proxy {
  readonly base: string;
  /**
   * Answers the requests for which it returns true with 500 (counted per method), or with the
   * status it returns (e.g. 400, as a server that does not implement a query parameter).
   */
  fail: ((method: string, url: string, count: number) => boolean | number) | null;
  /** Changes a request's URL (path and query) before it is forwarded, e.g. to cap QIDO-RS answers with `limit`. */
  rewrite: ((method: string, url: string) => string) | null;
  /**
   * Sees every request as it arrives (before `fail` and `rewrite`); a promise it returns holds the
   * request until it settles, as a slow server would, so a test can order events without timing them.
   */
  hold: ((method: string, url: string) => Promise<void> | void) | null;
  /** Every request answered (forwarded or failed), in order: its method, URL and the bytes of the body sent back. */
  readonly served: Array<{ readonly method: string; readonly url: string; readonly bytes: number }>;
  /** Every request whose client went away (closed its connection) before it was answered, in order. */
  readonly abandoned: Array<{ readonly method: string; readonly url: string }>;
  close(): Promise<void>;
}

/**
 * A forwarding proxy in front of Orthanc that can fail chosen requests, as a failing server would;
 * with `tls`, an https front end (Debian's Orthanc 1.10.1 exits on its first HTTPS request here).
 */
export async function startProxy(target: string, tls?: { key: Buffer; cert: Buffer }): Promise<Proxy> {
  const counts = new Map<string, number>();
  const proxy: Proxy = { base: '', fail: null, rewrite: null, hold: null, served: [], abandoned: [], close: async () => {} };
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const method = req.method ?? 'GET';
    const count = (counts.get(method) ?? 0) + 1;
    counts.set(method, count);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    res.on('close', () => {
      if (!res.writableEnded) proxy.abandoned.push({ method, url: req.url ?? '' });
    });
    const forward = async () => {
      await proxy.hold?.(method, req.url ?? '');
      const failure = proxy.fail?.(method, req.url ?? '', count) ?? false;
      if (failure !== false) {
        proxy.served.push({ method, url: req.url ?? '', bytes: 'injected failure'.length });
        res.writeHead(failure === true ? 500 : failure).end('injected failure');
        return;
      }
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && k !== 'host' && k !== 'content-length') headers[k] = v;
      const url = proxy.rewrite ? proxy.rewrite(method, req.url ?? '') : req.url;
      const upstream = await fetch(`${target}${url}`, { method, headers, ...(chunks.length ? { body: Buffer.concat(chunks) } : {}) });
      const body = Buffer.from(await upstream.arrayBuffer());
      proxy.served.push({ method, url: req.url ?? '', bytes: body.length });
      res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/octet-stream' }).end(body);
    };
    req.on('end', () => void forward());
  };
  const server = tls ? https.createServer(tls, handler) : http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return Object.assign(proxy, {
    base: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}
