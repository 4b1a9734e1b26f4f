/**
 * A DICOMweb request waiting out its retry back-off (the server answered 503) is stopped by the
 * client's signal at once, not after the back-off: the next attempt is not sent and the request
 * rejects E_CANCELLED. With --dicomweb-retries 10 the last back-off is 256 s (500 ms doubled per
 * attempt); here one of 60 s, which the test's bound does not allow for.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DicomwebClient } from '../../src/dicomweb/client.js';
import { LowdoseError } from '../../src/errors.js';

let server: http.Server;
let base: string;
const requests: string[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    requests.push(req.url ?? '');
    res.writeHead(503, { 'retry-after': '1' }).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/dicom-web`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('a DICOMweb request in its retry back-off', () => {
  it('SIGINT during a 60 s back-off after a 503 rejects E_CANCELLED at once, with no second attempt', async () => {
    const controller = new AbortController();
    const logged: string[] = [];
    // Stopped once the client has logged its back-off after the first 503.
    const log = (message: string) => {
      logged.push(message);
      setImmediate(() => controller.abort(new LowdoseError('E_CANCELLED', 'interrupted by SIGINT')));
    };
    const client = new DicomwebClient({ retries: 5, retryDelayMs: 60_000, signal: controller.signal, log });
    const url = `${base}/studies?PatientID=P1`;
    try {
      await expect(client.qido(url)).rejects.toMatchObject({ code: 'E_CANCELLED', message: `GET ${base}/studies?… stopped (interrupted by SIGINT)` });
    } finally {
      await client.close();
    }
    expect(requests).toEqual(['/dicom-web/studies?PatientID=P1']);
    expect(logged).toEqual([expect.stringMatching(/HTTP 503 .*; retrying in 60000 ms \(1\/5\)$/)]);
  }, 10_000);
});
