/**
 * `denoise <DICOMweb base> --patient-id ...`: a QIDO-RS study search whose answer may lack matches
 * (the server answers one page and refuses the next, HTTP 400 to `offset`) stops the run before any
 * study is pulled, exit 1 naming why: a cohort is never denoised in part. A local HTTP server plays
 * the PACS.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

let server: http.Server;
let base: string;
let dir: string;
const requests: string[] = [];

const study = (uid: string) => ({
  '0020000D': { vr: 'UI', Value: [uid] },
  '00100020': { vr: 'LO', Value: ['99017'] },
  '00080020': { vr: 'DA', Value: ['20190305'] },
  '00080061': { vr: 'CS', Value: ['CT'] },
});

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'lowdose-query-cap-'));
  server = http.createServer((request, response) => {
    requests.push(request.url ?? '');
    const url = new URL(request.url ?? '/', 'http://x');
    if (url.pathname.endsWith('/studies') && url.searchParams.has('offset')) {
      response.writeHead(400).end();
      return;
    }
    if (url.pathname.endsWith('/studies')) {
      response.writeHead(200, { 'content-type': 'application/dicom+json' }).end(JSON.stringify([study('1.2.3.1')]));
      return;
    }
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/dicom-web`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

describe('denoise over a DICOMweb study query', () => {
  it('a study list the server would not page is an error before any study is pulled (exit 1), not a part of the cohort', async () => {
    const out = path.join(dir, 'out');
    const run = await runCli('denoise', base, '--patient-id', '99017', '-o', out, '--method', 'gaussian', '--dicomweb-retries', '0', '--no-progress', '--json');
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`${base}: the study list is not whole (the server refused to page its answer (HTTP 400 to the offset parameter)`);
    expect(run.stdout).toContain('no study was denoised');
    // Only the study search was asked: page one and the refused page two.
    expect(requests.map((r) => new URL(r, 'http://x').pathname)).toEqual(['/dicom-web/studies', '/dicom-web/studies']);
    expect(new URL(requests[0]!, 'http://x').searchParams.get('PatientID')).toBe('99017');
    expect(existsSync(out)).toBe(false);
  });
});
