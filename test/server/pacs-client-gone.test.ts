/**
 * The viewer's PACS work stops once nobody waits for it: a browser that closes its request for a
 * study's series list, or for opening a series, has the PACS request behind it aborted (QIDO-RS /
 * WADO-RS connection closed, C-FIND cancelled with C-CANCEL), unless another open of the same
 * series still waits for that pull. The PACS never answers (test/helpers/stalled-http.ts,
 * test/helpers/dimse-scp.ts: silentPacs), so only the abort ends each request.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CANCEL_ANSWER_TIMEOUT_MS } from '../../src/dimse/association.js';
import { buildApp } from '../../src/server/app.js';
import { DicomwebSource } from '../../src/server/pacs-dicomweb.js';
import { DimseSource } from '../../src/server/pacs-dimse.js';
import { PacsService } from '../../src/server/pacs.js';
import { silentPacs } from '../helpers/dimse-scp.js';
import { startStalledHttp, type StalledHttp } from '../helpers/stalled-http.js';

const STUDY = '1.2.826.0.1.3680043.8.498.1';
const SERIES = '1.2.826.0.1.3680043.8.498.2';

let dir: string;
let web: StalledHttp;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'lowdose-pacs-gone-'));
  web = await startStalledHttp();
});
afterAll(async () => {
  await web.close();
  await rm(dir, { recursive: true, force: true });
});

describe('serve --dicomweb: a browser that leaves stops the PACS request behind its request', () => {
  let app: FastifyInstance;
  let port: number;
  beforeAll(async () => {
    app = await buildApp({ data: [], workDir: path.join(dir, 'work'), viewerDir: null, logger: { level: 'silent' }, dicomweb: { base: `${web.base}/dicom-web`, client: { retries: 0, timeoutMs: 600_000 } } });
    await app.listen({ port: 0, host: '127.0.0.1' });
    port = (app.server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await app.close();
  });

  /** Sends the request and closes it (as a browser leaving) once the PACS holds the request made for it. */
  async function leaveOnceHeld(method: string, url: string): Promise<void> {
    const held = web.nextHeld();
    const request = http.request({ host: '127.0.0.1', port, method, path: url });
    request.on('error', () => {});
    request.end();
    await held;
    request.destroy();
  }

  // A study of its own per case: a request of one case cannot pass for another's.
  for (const [what, method, study, url] of [
    ["a study's series list", 'GET', `${STUDY}.1`, (study: string) => `/api/pacs/studies/${study}/series`],
    ['opening a series', 'POST', `${STUDY}.2`, (study: string) => `/api/pacs/studies/${study}/series/${SERIES}/open`],
  ] as const) {
    it(`${what}: the QIDO-RS request is aborted when the browser closes its request`, async () => {
      const before = web.abandoned.length;
      await leaveOnceHeld(method, url(study));
      await web.abandonedAt(before + 1);
      expect(web.abandoned.slice(before)).toEqual([{ method: 'GET', url: expect.stringMatching(new RegExp(`^/dicom-web/studies/${study.replaceAll('.', '\\.')}/series`)) }]);
    }, 30_000);
  }
});

describe('serve --dicomweb stopping (SIGINT / SIGTERM: app.close)', () => {
  it('aborts the PACS requests in flight instead of waiting for a PACS that does not answer; the browser gets an answer', async () => {
    const stopping = await buildApp({ data: [], workDir: path.join(dir, 'work-stop'), viewerDir: null, logger: { level: 'silent' }, dicomweb: { base: `${web.base}/dicom-web`, client: { retries: 0, timeoutMs: 600_000 } } });
    await stopping.listen({ port: 0, host: '127.0.0.1' });
    const at = (stopping.server.address() as AddressInfo).port;
    const before = web.abandoned.length;
    const held = web.nextHeld();
    const answered = new Promise<number>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: at, path: `/api/pacs/studies/${STUDY}.3/series` }, (res) => resolve(res.statusCode ?? 0)).on('error', reject);
    });
    await held;
    await stopping.close();
    await web.abandonedAt(before + 1);
    expect(web.abandoned.slice(before)).toEqual([{ method: 'GET', url: expect.stringMatching(/^\/dicom-web\/studies\/[\d.]+\.3\/series/) }]);
    expect(await answered).toBeGreaterThanOrEqual(400);
  }, 30_000);
});

describe('PacsService.open shares one pull between the opens of a series', () => {
  /** Two opens of one series (one pull, held at the PACS), and the service, closed after `body`. */
  async function twoOpens(body: (opens: { gone: AbortController[]; opened: Array<Promise<unknown>> }) => Promise<void>): Promise<void> {
    const service = new PacsService({ source: new DicomwebSource(`${web.base}/dicom-web`, { retries: 0, timeoutMs: 600_000 }), pullDir: path.join(dir, 'pull') });
    try {
      const gone = [new AbortController(), new AbortController()];
      const held = web.nextHeld();
      const opened = gone.map((g) => service.open(STUDY, SERIES, g.signal));
      for (const open of opened) open.catch(() => {});
      await held;
      await body({ gone, opened });
    } finally {
      await service.close();
    }
  }

  it('goes on while one of two opens has gone: the other gets what the PACS answers', async () => {
    const before = web.requests.length;
    await twoOpens(async ({ gone, opened }) => {
      gone[0]!.abort();
      // The PACS lists no such series: the open still waiting gets that, not E_CANCELLED.
      web.answerHeld([]);
      await expect(opened[1]).rejects.toMatchObject({ code: 'E_NOT_FOUND' });
      expect(web.requests.length - before).toBe(1);
    });
  }, 30_000);

  it('stops once both have gone: its one request is closed unanswered', async () => {
    const before = { requests: web.requests.length, abandoned: web.abandoned.length };
    await twoOpens(async ({ gone, opened }) => {
      for (const g of gone) g.abort();
      await web.abandonedAt(before.abandoned + 1);
      for (const open of opened) await expect(open).rejects.toMatchObject({ code: 'E_CANCELLED' });
      expect(web.requests.length - before.requests).toBe(1);
    });
  }, 30_000);
});

describe('serve --dimse: a series list nobody waits for', () => {
  it('is cancelled with C-CANCEL, and the association aborted when the PACS does not answer the C-CANCEL', async () => {
    const { port, log, server } = await silentPacs();
    const service = new PacsService({ source: new DimseSource({ aet: 'SILENT', host: '127.0.0.1', port }, { callingAet: 'LOWDOSETEST', timeoutMs: 600_000 }), pullDir: path.join(dir, 'pull-dimse') });
    try {
      const gone = new AbortController();
      log.onFind = () => gone.abort(new Error('the browser went away'));
      await expect(service.series(STUDY, gone.signal)).rejects.toMatchObject({ code: 'E_CANCELLED', message: expect.stringMatching(/^C-FIND of .* stopped \(the browser went away\): C-CANCEL sent, the PACS did not answer it within 5 s, so the association was aborted/) });
      await log.closedAt(1);
      expect(log).toMatchObject({ finds: 1, cancels: 1, aborts: 1, closed: 1 });
    } finally {
      server.close();
      await service.close();
    }
  }, CANCEL_ANSWER_TIMEOUT_MS + 15_000);
});
