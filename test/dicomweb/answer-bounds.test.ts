/**
 * A PACS answer is read into memory whole, so the client bounds it (src/dicomweb/client.ts): a
 * DICOM JSON answer (QIDO-RS, STOW-RS) at MAX_JSON_ANSWER_BYTES, one instance (WADO-RS) at
 * `maxInstanceBytes`. Past the bound the request fails with E_IO once, without a retry and without
 * reading the rest; an answer that is not JSON is E_MALFORMED naming the URL. A local HTTP server
 * plays the PACS.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DicomwebClient, MAX_JSON_ANSWER_BYTES } from '../../src/dicomweb/client.js';
import { failure } from '../helpers/lowdose-failure.js';

type Answer = (response: http.ServerResponse) => void;

let server: http.Server;
let base: string;
/** What the server answers next, and how many requests it has had. */
let answer: Answer = (response) => response.end();
let requests = 0;
/** Bytes the server had written when the client went away (or finished). */
let written = 0;

beforeAll(async () => {
  server = http.createServer((_request, response) => {
    requests++;
    answer(response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** Streams `total` bytes of `fill` in 1 MiB chunks, without a Content-Length; stops when the client goes. */
function stream(total: number, fill: number, contentType: string): Answer {
  return (response) => {
    written = 0;
    response.writeHead(200, { 'content-type': contentType });
    const chunk = Buffer.alloc(1 << 20, fill);
    const pump = (): void => {
      while (written < total && !response.destroyed) {
        const piece = chunk.subarray(0, Math.min(chunk.length, total - written));
        written += piece.length;
        if (!response.write(piece)) {
          response.once('drain', pump);
          return;
        }
      }
      response.end();
    };
    response.on('close', () => response.destroy());
    pump();
  };
}

const multipartType = 'multipart/related; type="application/dicom"; boundary=b';

/** One instance as WADO-RS sends it: a multipart body of one part. */
function instanceBody(bytes: Buffer): Buffer {
  return Buffer.concat([Buffer.from('--b\r\nContent-Type: application/dicom\r\n\r\n'), bytes, Buffer.from('\r\n--b--\r\n')]);
}

const client = (maxInstanceBytes?: number) => new DicomwebClient({ retries: 3, retryDelayMs: 1, ...(maxInstanceBytes ? { maxInstanceBytes } : {}) });

describe('PACS answers larger than their bound', () => {
  it('refuse a QIDO-RS answer past MAX_JSON_ANSWER_BYTES with E_IO, once, without reading the rest', async () => {
    requests = 0;
    const total = MAX_JSON_ANSWER_BYTES + 16 * 1024 * 1024;
    answer = stream(total, 0x20, 'application/dicom+json');
    const error = await failure(client().qido(`${base}/studies`));
    expect(error.code).toBe('E_IO');
    expect(error.message).toContain(`${base}/studies: the server's answer is larger than the 64 MiB a DICOM JSON answer may be`);
    expect(requests).toBe(1);
    expect(written).toBeLessThan(total);
  });

  it('refuse an instance whose Content-Length is past maxInstanceBytes before reading it', async () => {
    requests = 0;
    const body = instanceBody(Buffer.alloc(2 << 20, 1));
    answer = (response) => {
      response.writeHead(200, { 'content-type': multipartType, 'content-length': String(body.length) });
      response.end(body);
    };
    const error = await failure(client(1 << 20).retrieveInstance(`${base}/studies/1/series/2/instances/3`));
    expect(error.code).toBe('E_IO');
    expect(error.message).toMatch(/the server's answer is 2(\.0)? MiB \(its Content-Length\), more than the 1 MiB one instance may be$/);
    expect(requests).toBe(1);
  });

  it('refuse an instance streamed past maxInstanceBytes, and take one within it', async () => {
    answer = stream(8 << 20, 0, multipartType);
    const error = await failure(client(1 << 20).retrieveInstance(`${base}/studies/1/series/2/instances/3`));
    expect(error.code).toBe('E_IO');
    expect(error.message).toContain('is larger than the 1 MiB one instance may be');
    const bytes = Buffer.alloc(1000, 7);
    answer = (response) => {
      response.writeHead(200, { 'content-type': multipartType });
      response.end(instanceBody(bytes));
    };
    expect(await client(1 << 20).retrieveInstance(`${base}/studies/1/series/2/instances/3`)).toEqual(bytes);
  });

  it('call a QIDO-RS answer that is not a JSON array E_MALFORMED naming the URL', async () => {
    answer = (response) => {
      response.writeHead(200, { 'content-type': 'application/dicom+json' });
      response.end('<html>login</html>');
    };
    const notJson = await failure(client().qido(`${base}/studies`));
    expect(notJson).toMatchObject({ code: 'E_MALFORMED' });
    expect(notJson.message).toContain(`${base}/studies: the server's answer is not JSON`);
    answer = (response) => {
      response.writeHead(200, { 'content-type': 'application/dicom+json' });
      response.end('{"00080018": {"vr": "UI"}}');
    };
    expect(await failure(client().qido(`${base}/studies`))).toMatchObject({ code: 'E_MALFORMED', message: `${base}/studies: the server's QIDO-RS answer is not a JSON array` });
  });
});
