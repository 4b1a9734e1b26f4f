/**
 * `lowdose batch --skip-by-uid` over PACS studies, against a real Orthanc (DICOMweb behind
 * test/helpers/http-proxy.ts, which records every request) and a real Redis: a finished batch
 * resubmitted with the option is judged by each study's SOP Instance UIDs in the worker
 * (src/pipeline/finished-by-uid.ts) and retrieves no instance; the jobs complete with their studies
 * reported not pulled (job status `skipped`, the study entry's `skipped` / `notPulled`, the series'
 * `skippedBy`), counted as the finished series they are. Without the option the same resubmission
 * pulls every instance again.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DICOMWEB_AUTH_ENV } from '../../src/dicomweb/client.js';
import { openQueue } from '../../src/queue/batch.js';
import { parseRedisUrl } from '../../src/queue/connection.js';
import { runCli } from '../helpers/cli.js';
import { startProxy, type Proxy } from '../helpers/http-proxy.js';
import { copyAsOtherStudy } from '../helpers/mutate-dicom.js';
import { findOrthanc, readInstances, type RunningOrthanc, startOrthanc, uploadInstances } from '../helpers/orthanc.js';
import { hasRedis, spawnWorker, startRedis, stopWorker, type TestRedis, type WorkerProcess } from './redis-server.js';
import { keepEnv } from '../helpers/env.js';

const CT_DIR = path.resolve('../shared/dicom/QIICR__dcmqi/data/segmentations/ct-3slice');
const installed = findOrthanc();
if (!installed) console.warn('skipping batch --skip-by-uid tests: Orthanc is not installed (apt-get install orthanc orthanc-dicomweb)');

interface WaitResult {
  id: string;
  jobs: Array<{ id: string; studyInstanceUid?: string }>;
  status: {
    series: { total: number; done: number; failed: number };
    slices: { total: number; done: number; jobsNotListed?: number };
    jobs: Array<{ state: string; skipped?: boolean; countsKnown?: boolean; modality: string; slices: number; slicesDone: number; seriesCount?: number; seriesDone?: number; outputs?: string[] }>;
  };
  report: {
    series: Array<{ input: { seriesInstanceUid: string }; output: { dir: string }; skipped?: boolean; skippedBy?: string }>;
    errors: unknown[];
    studies: Array<{ studyInstanceUid: string; outcome: string; skipped?: boolean; series: string[]; dicomweb?: { pulled: unknown[]; notPulled?: string } }>;
  };
}

/** A WADO-RS retrieve of one instance (not a QIDO-RS instance list). */
const isRetrieve = (r: { method: string; url: string }) => r.method === 'GET' && /\/series\/[^/]+\/instances\/[^/?]+$/.test(r.url);

describe.skipIf(!installed || !hasRedis)('batch --skip-by-uid: a resubmitted PACS batch does not pull the studies finished in -o (Orthanc, Redis, one worker)', () => {
  let dir: string;
  let orthanc: RunningOrthanc;
  let proxy: Proxy;
  let redis: TestRedis;
  const restoreEnv = keepEnv('TMPDIR', DICOMWEB_AUTH_ENV);
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lowdose-batch-skip-by-uid-'));
    process.env.TMPDIR = dir; // the worker's pull folders go under the test's folder
    redis = await startRedis();
    orthanc = await startOrthanc(dir);
    proxy = await startProxy(orthanc.http);
    // The submitter's (queries) and the worker's (pulls, instance lists) credentials.
    process.env[DICOMWEB_AUTH_ENV] = `basic:${orthanc.user}:${orthanc.password}`;
  }, 120_000);

  afterEach(async () => {
    await Promise.all(workers.splice(0).map(stopWorker));
  });

  afterAll(async () => {
    restoreEnv();
    await proxy?.close();
    await orthanc?.stop();
    await redis?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a finished 2-study batch resubmitted with --skip-by-uid retrieves no instance and reports both studies not pulled; resubmitted without it, every instance is retrieved again', async () => {
    const originals = await readInstances(CT_DIR);
    const studies: string[] = [];
    for (const shift of [41, 42]) studies.push((await uploadInstances(orthanc, copyAsOtherStudy(originals, new Set(), shift)))[0]!['StudyInstanceUID']!);
    const worker = spawnWorker(redis.url);
    workers.push(worker);
    await worker.ready;
    const out = path.join(dir, 'out');
    const args = ['batch', ...studies.map((s) => `${proxy.base}/dicom-web/studies/${s}`), '-o', out, '--redis', redis.url, '--method', 'gaussian', '--wait', '--no-progress', '--json'];
    const run = async (...extra: string[]) => {
      proxy.served.length = 0;
      const result = await runCli(...args, ...extra);
      expect(result.code, `${result.stderr}\n${worker.stderr()}`).toBe(0);
      return { result: JSON.parse(result.stdout) as WaitResult, retrieves: proxy.served.filter(isRetrieve).length };
    };

    const first = await run();
    expect(first.retrieves).toBe(6);
    expect(first.result.status.jobs.every((j) => j.skipped === undefined)).toBe(true);

    const skipped = await run('--skip-by-uid');
    expect(skipped.retrieves).toBe(0);
    const { status, report } = skipped.result;
    expect(status.series).toMatchObject({ total: 2, done: 2, failed: 0 });
    // Each study counted as the finished series it is: one CT series of 3 slices, done.
    expect(status.slices).toEqual({ total: 6, done: 6 });
    for (const job of status.jobs) {
      expect(job).toMatchObject({ state: 'completed', skipped: true, countsKnown: true, modality: 'CT', slices: 3, slicesDone: 3, seriesCount: 1, seriesDone: 1 });
    }
    expect(report.errors).toEqual([]);
    expect(report.studies.map((s) => [s.studyInstanceUid, s.outcome, s.skipped])).toEqual(studies.map((s) => [s, 'done', true]));
    for (const s of report.studies) {
      expect(s.dicomweb!.pulled).toEqual([]);
      expect(s.dicomweb!.notPulled).toMatch(/SOP Instance UIDs/);
    }
    expect(report.series).toHaveLength(2);
    expect(report.series.every((s) => s.skipped === true && s.skippedBy === 'sop-instance-uids')).toBe(true);
    // The finished series are the first batch's, in the same folders.
    expect(report.series.map((s) => s.output.dir).sort()).toEqual(first.result.report.series.map((s) => s.output.dir).sort());
    // The option travels in the job data, for the worker to apply.
    const queue = await openQueue(parseRedisUrl(redis.url));
    try {
      for (const job of skipped.result.jobs) expect((await queue.getJob(job.id))!.data.pacs).toMatchObject({ skipByUid: true });
    } finally {
      await queue.close();
    }
    const text = await runCli('batch', 'status', skipped.result.id, '--redis', redis.url);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('2/2 series done, 0 failed, 0 running, 0 waiting; 6/6 slices');
    expect(text.stdout).toContain("2 PACS studies not pulled (--skip-by-uid): every series finished in -o with the PACS's SOP Instance UIDs");

    const pulled = await run();
    expect(pulled.retrieves).toBe(6);
    expect(pulled.result.status.jobs.every((j) => j.skipped === undefined && j.state === 'completed')).toBe(true);
    expect(pulled.result.report.studies.every((s) => s.skipped === undefined)).toBe(true);
    const pulledText = await runCli('batch', 'status', pulled.result.id, '--redis', redis.url);
    expect(pulledText.stdout).not.toContain('not pulled');
  }, 240_000);

  it('--skip-by-uid with a folder is refused (E_USAGE, exit 2): a folder is read and compared as it is', async () => {
    const run = await runCli('batch', CT_DIR, '-o', path.join(dir, 'folder'), '--redis', redis.url, '--skip-by-uid', '--json');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--skip-by-uid needs a DICOMweb URL or dimse:// input');
  }, 60_000);
});
