/**
 * A cohort named by StudyInstanceUIDs (`--studies-from`) is asked with UID list matching: one
 * QIDO-RS `StudyInstanceUID=a,b,c` or one C-FIND whose StudyInstanceUID holds the UIDs as values
 * (PS3.4 C.2.2.2.2), STUDY_UID_BATCH at a time, not one query per study; a UID the list's answer
 * lacks is asked on its own before it counts as matching nothing. A PACS that refuses the list
 * (HTTP 400) or ignores it (answers studies it does not name) is asked one UID at a time. Each UID
 * is still its own entry in `queries[]`. Against a real Orthanc behind an HTTP proxy that records
 * every request (DICOMweb) and a TCP proxy that counts associations (DIMSE: one per C-FIND).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DICOMWEB_AUTH_ENV } from '../../src/dicomweb/client.js';
import { runCli } from '../helpers/cli.js';
import { startCuttingProxy, type CuttingProxy } from '../helpers/cutting-proxy.js';
import { startProxy, type Proxy } from '../helpers/http-proxy.js';
import { findOrthanc, freePort, ORTHANC_AET, readInstances, startOrthanc, uploadCohort, type RunningOrthanc } from '../helpers/orthanc.js';
import { keepEnv } from '../helpers/env.js';

const CT_DIR = path.resolve('../shared/dicom/QIICR__dcmqi/data/segmentations/ct-3slice');
const CALLING_AET = 'LOWDOSE';
const UNKNOWN = '1.2.826.0.1.3680043.99.1';
const installed = findOrthanc();
if (!installed) console.warn('skipping UID list matching tests: Orthanc is not installed (apt-get install orthanc orthanc-dicomweb)');

interface Queries {
  studies: Array<{ studyInstanceUid: string }>;
  queries: Array<{ studyInstanceUid?: string; studies: string[] }>;
  errors: Array<{ code: string; message: string }>;
}

/** A QIDO-RS study search (not a study's series or instance list), its first page (a later page has `offset`). */
const isStudySearch = (r: { method: string; url: string }) => r.method === 'GET' && /\/dicom-web\/studies\?/.test(r.url) && !/[?&]offset=/.test(r.url);

describe.skipIf(!installed)('a cohort named by StudyInstanceUIDs is asked with UID list matching (Orthanc)', () => {
  let dir: string;
  let orthanc: RunningOrthanc;
  let proxy: Proxy;
  let tcp: CuttingProxy;
  let cohortFile: string;
  const study: Record<'A' | 'B' | 'C', string> = { A: '', B: '', C: '' };
  const restoreEnv = keepEnv('TMPDIR', DICOMWEB_AUTH_ENV);
  const base = () => `${proxy.base}/dicom-web`;
  const byUid = (report: Queries) => report.queries.map((q) => [q.studyInstanceUid, q.studies]);

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lowdose-uid-list-'));
    process.env.TMPDIR = dir;
    orthanc = await startOrthanc(dir, { dicomModalities: { lowdose: { aet: CALLING_AET, host: '127.0.0.1', port: await freePort() } } });
    proxy = await startProxy(orthanc.http);
    tcp = await startCuttingProxy(orthanc.dicomPort);
    process.env[DICOMWEB_AUTH_ENV] = `basic:${orthanc.user}:${orthanc.password}`;
    const originals = await readInstances(CT_DIR);
    Object.assign(study, await uploadCohort(orthanc, originals, 81));
    cohortFile = path.join(dir, 'cohort.csv');
    await writeFile(cohortFile, `StudyInstanceUID\n${study.A}\n${study.B}\n${study.C}\n${UNKNOWN}\n`);
  }, 120_000);

  afterAll(async () => {
    restoreEnv();
    await tcp?.close();
    await proxy?.close();
    await orthanc?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('denoise <DICOMweb base> --studies-from (3 UIDs on the PACS, 1 not): one QIDO-RS list query and one for the UID it lacked, not 4; every study denoised, queries[] one entry per UID, the unknown one E_NOT_FOUND', async () => {
    proxy.served.length = 0;
    const run = await runCli('denoise', base(), '--studies-from', cohortFile, '-o', path.join(dir, 'out-web'), '--method', 'gaussian', '--no-progress', '--json');
    expect(run.code, run.stderr).toBe(1);
    const report = JSON.parse(run.stdout) as Queries;
    const searches = proxy.served.filter(isStudySearch);
    expect(searches).toHaveLength(2);
    expect(decodeURIComponent(searches[0]!.url)).toContain(`StudyInstanceUID=${study.A},${study.B},${study.C},${UNKNOWN}`);
    expect(decodeURIComponent(searches[1]!.url)).toContain(`StudyInstanceUID=${UNKNOWN}&`);
    expect(report.studies.map((s) => s.studyInstanceUid).sort()).toEqual([study.A, study.B, study.C].sort());
    expect(byUid(report)).toEqual([[study.A, [study.A]], [study.B, [study.B]], [study.C, [study.C]], [UNKNOWN, []]]);
    expect(report.errors.map((e) => e.code)).toEqual(['E_NOT_FOUND']);
  }, 180_000);

  it('a DICOMweb server that refuses the list (HTTP 400) is asked one UID at a time, with the same answer', async () => {
    proxy.served.length = 0;
    proxy.fail = (method, url) => (method === 'GET' && /\/studies\?/.test(url) && /StudyInstanceUID=[^&]*%2C/.test(url) ? 400 : false);
    try {
      const run = await runCli('info', base(), '--studies-from', cohortFile, '--json');
      expect(run.code, run.stderr).toBe(1);
      expect(run.stderr).toMatch(/a query of 4 StudyInstanceUIDs in one list failed .*: asking one StudyInstanceUID at a time/);
      const result = JSON.parse(run.stdout) as Queries;
      expect(result.studies.map((s) => s.studyInstanceUid).sort()).toEqual([study.A, study.B, study.C].sort());
      expect(byUid(result)).toEqual([[study.A, [study.A]], [study.B, [study.B]], [study.C, [study.C]], [UNKNOWN, []]]);
      expect(proxy.served.filter(isStudySearch)).toHaveLength(5);
    } finally {
      proxy.fail = null;
    }
  }, 60_000);

  it('a DICOMweb server that ignores the list (answers a study it does not name) is asked one UID at a time: the study it does not name is not listed', async () => {
    const two = path.join(dir, 'two.csv');
    await writeFile(two, `${study.A}\n${study.B}\n`);
    proxy.served.length = 0;
    // As a server that does not know the key in a list form: it is dropped, every study answers.
    proxy.rewrite = (method, url) => (method === 'GET' ? url.replace(/StudyInstanceUID=[^&]*%2C[^&]*&/, '') : url);
    try {
      const run = await runCli('info', base(), '--studies-from', two, '--json');
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toMatch(/answered study [0-9.]+, which it does not name \(no UID list matching\): asking one StudyInstanceUID at a time/);
      const result = JSON.parse(run.stdout) as Queries;
      expect(result.studies.map((s) => s.studyInstanceUid).sort()).toEqual([study.A, study.B].sort());
      expect(proxy.served.filter(isStudySearch)).toHaveLength(3);
    } finally {
      proxy.rewrite = null;
    }
  }, 60_000);

  it('info dimse://PACS --studies-from: one C-FIND with the UIDs as values and one for the UID it lacked (2 associations, not 4), each UID its own query', async () => {
    tcp.connections = 0;
    const run = await runCli('info', `dimse://${ORTHANC_AET}@127.0.0.1:${tcp.port}`, '--studies-from', cohortFile, '--calling-aet', CALLING_AET, '--json');
    expect(run.code, run.stderr).toBe(1);
    const result = JSON.parse(run.stdout) as Queries;
    expect(tcp.connections).toBe(2);
    expect(result.studies.map((s) => s.studyInstanceUid).sort()).toEqual([study.A, study.B, study.C].sort());
    expect(byUid(result)).toEqual([[study.A, [study.A]], [study.B, [study.B]], [study.C, [study.C]], [UNKNOWN, []]]);
  }, 60_000);
});
