/**
 * serve's DICOMweb source (src/server/pacs-dicomweb.ts) names no searched patient ID: a study
 * search's QIDO-RS URL carries it in its query string, and neither the log lines the source writes
 * (each retry) nor the error it throws keep it, with a log that cuts nothing itself (serve's own
 * log also cuts queries: src/server/http-errors.ts redactForLog). The cut is the client's
 * (src/dicomweb/client.ts); a server that answers HTTP 500, one that drops the connection.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LowdoseError } from '../../src/errors.js';
import { DicomwebSource } from '../../src/server/pacs-dicomweb.js';

const PATIENT = 'PAT-4417-SECRET';

describe('serve --dicomweb: a study search by patient ID', () => {
  let server: Server;
  let base: string;
  const asked: string[] = [];

  beforeAll(async () => {
    server = createServer((request, response) => {
      asked.push(request.url ?? '');
      if (request.url?.includes('drop')) request.socket.destroy();
      else response.writeHead(500, 'Internal Server Error').end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  for (const [what, prefix] of [
    ['answered HTTP 500', '/dicom-web'],
    ['whose connection drops', '/drop/dicom-web'],
  ] as const) {
    it(`a server ${what}: the retry's log line and the error name the search without the patient ID`, async () => {
      const lines: string[] = [];
      const source = new DicomwebSource(`${base}${prefix}`, { retries: 1, retryDelayMs: 1 }, (line) => lines.push(line));
      try {
        const error = await source.studies({ patientId: PATIENT, limit: 5 }).then(
          () => null,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(LowdoseError);
        // The search was asked for with the patient ID: the request carried it, nothing shown does.
        expect(asked.some((url) => url.startsWith(`${prefix}/studies?`) && url.includes(PATIENT))).toBe(true);
        expect(lines).toHaveLength(1);
        expect(lines[0]).toContain(`${base}${prefix}/studies?…`);
        const e = error as LowdoseError;
        expect(e.message).toContain(`${base}${prefix}`);
        for (const text of [...lines, e.message, String(e.path), JSON.stringify(e.toJSON())]) expect(text).not.toContain(PATIENT);
      } finally {
        await source.close();
      }
    });
  }
});
