/**
 * `denoise <url> --stow <base>` checks the STOW base before any work (one QIDO-RS studies query,
 * limit=1, with the run's auth / timeout / retries): a base that is not there (404), not a
 * DICOMweb service or not reachable exits 2 with E_USAGE before anything is pulled or denoised;
 * a transient failure of that query is retried like any other request. Against a real Orthanc.
 */
import { existsSync, readdirSync } from 'node:fs';
import http from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DICOMWEB_AUTH_ENV } from '../../src/dicomweb/client.js';
import { runCli } from '../helpers/cli.js';
import { startProxy, type Proxy } from '../helpers/http-proxy.js';
import { closedPort, findOrthanc, startOrthanc, type RunningOrthanc } from '../helpers/orthanc.js';

const CT_DIR = path.resolve('../shared/dicom/QIICR__dcmqi/data/segmentations/ct-3slice');
const installed = findOrthanc();
if (!installed) console.warn('skipping the --stow check tests: Orthanc with its DICOMweb plugin is not installed');

describe.skipIf(!installed)('denoise --stow checks its destination first', () => {
  let dir: string;
  let orthanc: RunningOrthanc;
  let studyUrl: string;
  /** A web server that is not DICOMweb: every path answers 200 with an HTML page. */
  let webPage: http.Server;
  let webPageBase: string;
  /** Orthanc's REST API where its DICOMweb plugin would be: `studies` answers 200 with a JSON array of Orthanc ids. */
  let restApi: Proxy;
  const savedTmp = process.env.TMPDIR;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lowdose-stow-check-'));
    process.env.TMPDIR = dir; // pulled instances go under the test's folder
    orthanc = await startOrthanc(dir);
    for (const file of readdirSync(CT_DIR).filter((f) => f.endsWith('.dcm')).sort()) {
      expect((await orthanc.rest('/instances', { method: 'POST', body: await readFile(path.join(CT_DIR, file)) })).ok).toBe(true);
    }
    const studies = (await (await orthanc.rest('/studies?expand')).json()) as Array<{ MainDicomTags: { StudyInstanceUID: string } }>;
    studyUrl = `${orthanc.dicomweb}/studies/${studies[0]!.MainDicomTags.StudyInstanceUID}`;
    process.env[DICOMWEB_AUTH_ENV] = `basic:${orthanc.user}:${orthanc.password}`;
    webPage = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>PACS web viewer</body></html>'));
    await new Promise<void>((resolve) => webPage.listen(0, '127.0.0.1', resolve));
    webPageBase = `http://127.0.0.1:${(webPage.address() as { port: number }).port}/dicom-web`;
    restApi = await startProxy(orthanc.http);
    restApi.rewrite = (_method, url) => url.replace(/^\/dicom-web\/studies\?.*$/, '/studies');
  });

  afterAll(async () => {
    await restApi?.close();
    await new Promise((resolve) => webPage?.close(resolve));
    delete process.env[DICOMWEB_AUTH_ENV];
    if (savedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmp;
    await orthanc?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const denoiseTo = (stow: string, out: string, ...extra: string[]) =>
    runCli('denoise', studyUrl, '-o', path.join(dir, out), '--method', 'gaussian', '--stow', stow, '--no-progress', '--json', ...extra);

  it.each([
    ['a path the server does not have (404)', () => `${orthanc.http}/no-dicomweb-here`, /HTTP 404/],
    ["Orthanc's REST API root, which refuses the query (400)", () => orthanc.http, /HTTP 400/],
    ['a web server answering an HTML page', () => webPageBase, /did not answer JSON/],
    ["Orthanc's REST API answering a JSON list of ids", () => `${restApi.base}/dicom-web`, /did not answer a list of DICOM JSON datasets/],
  ])('a --stow base at %s exits 2 with E_USAGE before anything is pulled or denoised', async (what, base, reason) => {
    const out = `out-${what.replace(/\W+/g, '-')}`;
    const run = await denoiseTo(base(), out);
    expect(run.code, run.stderr).toBe(2);
    const { errors } = JSON.parse(run.stdout) as { errors: Array<{ code: string; message: string }> };
    expect(errors).toEqual([expect.objectContaining({ code: 'E_USAGE', message: expect.stringMatching(reason) })]);
    expect(errors[0]!.message).toContain(`--stow ${base()} is not a usable DICOMweb base`);
    expect(run.stderr).not.toContain('retrieving');
    expect(existsSync(path.join(dir, out, 'report.json'))).toBe(false);
  });

  it('an unreachable --stow base exits 2 with E_USAGE after its retries, before anything is pulled', async () => {
    const nothing = await closedPort(); // held: no other test's Orthanc (same credentials) can take it and answer
    const closed = `http://127.0.0.1:${nothing.port}/dicom-web`;
    const run = await denoiseTo(closed, 'out-unreachable', '--dicomweb-retries', '1').finally(() => nothing.release());
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toMatch(/retrying in \d+ ms \(1\/1\)/);
    expect(run.stderr).toContain(`--stow ${closed} is not a usable DICOMweb base`);
    expect(run.stderr).not.toContain('retrieving');
    expect(existsSync(path.join(dir, 'out-unreachable', 'report.json'))).toBe(false);
  });

  it('a transient failure of the check is retried and the run stores its series', async () => {
    const proxy = await startProxy(orthanc.http);
    try {
      let checks = 0;
      proxy.fail = (method, url) => method === 'GET' && url.includes('/studies?limit=1') && ++checks === 1;
      const run = await denoiseTo(`${proxy.base}/dicom-web`, 'out-transient', '--dicomweb-retries', '1');
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toMatch(/studies\?…: HTTP 500.*retrying/);
      const report = JSON.parse(run.stdout) as { dicomweb: { stored: unknown[] } };
      expect(report.dicomweb.stored).toHaveLength(1);
    } finally {
      await proxy.close();
    }
  });
});
