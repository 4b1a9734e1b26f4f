/**
 * A PACS address's query string (a QIDO-RS search's `?PatientID=…`, keys written into a dimse://
 * address) names the patient; what `info`, `denoise` and `batch` print, write (report.json) and
 * keep shows the address without it (src/util/url-query.ts): a stop on SIGINT, a PACS that refuses
 * the connection or answers 404, a dimse:// address refused. The study's UIDs in the path stay.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { runUntil } from '../helpers/signal-run.js';
import { findOrthanc, type RunningOrthanc, startOrthanc } from '../helpers/orthanc.js';
import { startStalledHttp, type StalledHttp } from '../helpers/stalled-http.js';
import { hasRedis, startRedis, type TestRedis } from '../queue/redis-server.js';

const SECRET = 'SECRET123';

interface Answer {
  errors: Array<{ code: string; message: string; path: string | null }>;
}

let dir: string;
let stalled: StalledHttp;
let notFound: http.Server;
let notFoundBase: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'lowdose-pacs-keys-'));
  stalled = await startStalledHttp();
  notFound = http.createServer((_req, res) => res.writeHead(404).end());
  await new Promise<void>((resolve) => notFound.listen(0, '127.0.0.1', resolve));
  notFoundBase = `http://127.0.0.1:${(notFound.address() as AddressInfo).port}/dicom-web`;
});
afterAll(async () => {
  await stalled.close();
  await new Promise<void>((resolve) => notFound.close(() => resolve()));
  await rm(dir, { recursive: true, force: true });
});

describe('info and batch stopped by a signal while a PACS query is held', () => {
  it('SIGINT during `info <DICOMweb base> --patient-id`: E_CANCELLED, and the patient ID is nowhere in stdout or stderr', async () => {
    const base = `${stalled.base}/dicom-web`;
    const result = await runUntil(['info', base, '--patient-id', SECRET, '--json'], {}, stalled.nextHeld(), 'SIGINT');
    expect(result.code, result.stderr).toBe(130);
    // The request that was held did carry it: the PACS needs it, the messages do not.
    expect(stalled.requests.at(-1)?.url).toContain(`PatientID=${SECRET}`);
    const answer = JSON.parse(result.stdout) as Answer;
    expect(answer.errors).toEqual([expect.objectContaining({ code: 'E_CANCELLED', message: expect.stringContaining(`GET ${base}/studies?… stopped`) })]);
    expect(result.stdout + result.stderr).not.toContain(SECRET);
  }, 30_000);

  it('SIGINT during `info <base>/studies?PatientID=…`: the address is shown without its query', async () => {
    const given = `${stalled.base}/dicom-web/studies?PatientID=${SECRET}`;
    const result = await runUntil(['info', given, '--json'], {}, stalled.nextHeld(), 'SIGINT');
    expect(result.code, result.stderr).toBe(130);
    const answer = JSON.parse(result.stdout) as Answer;
    expect(answer.errors).toEqual([expect.objectContaining({ code: 'E_CANCELLED', path: `${stalled.base}/dicom-web/studies` })]);
    expect(result.stdout + result.stderr).not.toContain(SECRET);
  }, 30_000);
});

describe.skipIf(!hasRedis)('batch stopped by a signal while its study query is held', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('SIGINT during `batch <DICOMweb base> --patient-id`: nothing queued, and the patient ID is nowhere in stdout or stderr', async () => {
    const result = await runUntil(['batch', `${stalled.base}/dicom-web`, '--patient-id', SECRET, '-o', path.join(dir, 'out-batch'), '--redis', redis.url, '--json'], {}, stalled.nextHeld(), 'SIGINT');
    expect(result.code, result.stderr).toBe(130);
    expect((JSON.parse(result.stdout) as Answer).errors).toEqual([expect.objectContaining({ code: 'E_CANCELLED' })]);
    expect(result.stdout + result.stderr).not.toContain(SECRET);
  }, 30_000);
});

describe('a PACS that fails the query', () => {
  it('`info <DICOMweb base> --patient-id` on a server answering 404: E_NOT_FOUND names the search without the patient ID', async () => {
    const result = await runCli('info', notFoundBase, '--patient-id', SECRET, '--dicomweb-retries', '0', '--json');
    expect(result.code).not.toBe(0);
    expect(result.stdout + result.stderr).toContain(`${notFoundBase}/studies?…: HTTP 404`);
    expect(result.stdout + result.stderr).not.toContain(SECRET);
  });

  it('`denoise <DICOMweb base> --patient-id` on a server answering 404: the failed study query is named without the patient ID', async () => {
    const result = await runCli('denoise', notFoundBase, '--patient-id', SECRET, '-o', path.join(dir, 'denoise-404'), '--method', 'gaussian', '--no-progress', '--dicomweb-retries', '0', '--json');
    expect(result.code).not.toBe(0);
    expect(result.stdout + result.stderr).toContain(`${notFoundBase}/studies?…: HTTP 404`);
    expect(result.stdout + result.stderr).not.toContain(SECRET);
  });

  it('a dimse:// address with a query string is refused (E_USAGE) without repeating its query', async () => {
    const result = await runCli('info', `dimse://PACS@127.0.0.1:104?patient-id=${SECRET}`, '--json');
    expect(result.code).not.toBe(0);
    expect(result.stdout + result.stderr).toContain('a dimse:// address takes no query string');
    expect(result.stdout + result.stderr).not.toContain(SECRET);
  });
});

const CT_DIR = path.resolve('../shared/dicom/QIICR__dcmqi/data/segmentations/ct-3slice');
const installed = findOrthanc();

describe.skipIf(!installed)('denoise a DICOMweb study URL given with a query string (Orthanc)', () => {
  let orthanc: RunningOrthanc;
  let studyUrl: string;
  const savedTmp = process.env.TMPDIR;
  beforeAll(async () => {
    process.env.TMPDIR = dir; // pulled instances go under the test's folder
    orthanc = await startOrthanc(await mkdtemp(path.join(dir, 'orthanc-')));
    for (const file of (await readdir(CT_DIR)).filter((f) => f.endsWith('.dcm')).sort()) {
      expect((await orthanc.rest('/instances', { method: 'POST', body: await readFile(path.join(CT_DIR, file)) })).ok).toBe(true);
    }
    const studies = (await (await orthanc.rest('/studies?expand')).json()) as Array<{ MainDicomTags: { StudyInstanceUID: string } }>;
    studyUrl = `${orthanc.dicomweb}/studies/${studies[0]!.MainDicomTags.StudyInstanceUID}`;
  }, 60_000);
  afterAll(async () => {
    await orthanc?.stop();
    if (savedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmp;
  });

  it('the study is denoised; stdout, stderr, report.json and every marker name the study URL without its query', async () => {
    const out = path.join(dir, 'denoise-orthanc');
    const result = await runCli('denoise', `${studyUrl}?PatientID=${SECRET}`, '-o', out, '--method', 'gaussian', '--no-progress', '--dicomweb-auth', `basic:${orthanc.user}:${orthanc.password}`, '--json');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(studyUrl);
    expect(result.stdout + result.stderr).not.toContain(SECRET);
    const written = (await readdir(out, { recursive: true })).filter((f) => /\.(json|tsv)$/.test(f) || path.basename(f).startsWith('.'));
    expect(written).toContain('report.json');
    for (const file of written) expect(await readFile(path.join(out, file), 'utf8').catch(() => ''), file).not.toContain(SECRET);
  }, 120_000);
});
