/**
 * An HTTP server that takes requests and never answers them (a hung DICOMweb server behind a
 * load balancer that holds connections) until the test answers them, except those `answer` gives a
 * JSON body (or a RawAnswer: an instance's multipart) at once: the PACS tests that stop a request in
 * flight see which requests came and which the client then abandoned.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** An answer of another content type than DICOM JSON (a WADO-RS instance's multipart/related). */
export class RawAnswer {
  constructor(
    readonly contentType: string,
    readonly body: Buffer,
  ) {}
}

export interface StalledHttp {
  readonly base: string;
  /** Every request that came, in order. */
  readonly requests: Array<{ readonly method: string; readonly url: string }>;
  /** Every held request whose client closed its connection, in order. */
  readonly abandoned: Array<{ readonly method: string; readonly url: string }>;
  /** Resolves as the next request to be held arrives. */
  nextHeld(): Promise<void>;
  /** Answers every request held now (whose client is still there) with `body` as JSON, 200. */
  answerHeld(body: unknown): void;
  /** Resolves once `abandoned` holds `count` requests. */
  abandonedAt(count: number): Promise<void>;
  close(): Promise<void>;
}

/** `answer`: the JSON body (or RawAnswer) a request is answered with at once (200); undefined holds it forever. */
export async function startStalledHttp(answer: (method: string, url: string) => unknown = () => undefined): Promise<StalledHttp> {
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  const onHeld: Array<() => void> = [];
  const held = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    const request = { method: req.method ?? 'GET', url: req.url ?? '' };
    stalled.requests.push(request);
    const body = answer(request.method, request.url);
    if (body instanceof RawAnswer) {
      res.writeHead(200, { 'content-type': body.contentType }).end(body.body);
      return;
    }
    if (body !== undefined) {
      res.writeHead(200, { 'content-type': 'application/dicom+json' }).end(JSON.stringify(body));
      return;
    }
    held.add(res);
    res.on('close', () => {
      held.delete(res);
      if (res.writableEnded) return;
      stalled.abandoned.push(request);
      for (const w of waiters.filter((w) => stalled.abandoned.length >= w.count)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    });
    for (const resolve of onHeld.splice(0)) resolve();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const stalled: StalledHttp = {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: [],
    abandoned: [],
    nextHeld: () => new Promise<void>((resolve) => onHeld.push(resolve)),
    answerHeld: (body) => {
      for (const res of held) res.writeHead(200, { 'content-type': 'application/dicom+json' }).end(JSON.stringify(body));
    },
    abandonedAt: (count) => (stalled.abandoned.length >= count ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ count, resolve }))),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return stalled;
}
