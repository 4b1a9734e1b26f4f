/**
 * A PACS batch's unreadable instances, against a real Orthanc (DIMSE) and a real Redis with two
 * `lowdose worker`s: each job's worker joins the batch's lists into `<outDir>/unreadable.tsv` when
 * its job ends (src/queue/job-error-lists.ts; a barrier proxy in front of the PACS makes both
 * workers take a job), so a batch submitted without `--wait` has its one
 * complete list by the time `batch status` says it finished; the status and report.json count a
 * failed study's errors as its list holds them (each unreadable instance one), not as the job's one
 * error. `batch --skip-by-uid` over dimse:// does not pull a study finished in -o, and `batch
 * --json` says the option was given.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DICOMWEB_AUTH_ENV } from '../../src/dicomweb/client.js';
import { ERRORS_FILE, parseErrorList } from '../../src/util/error-list-file.js';
import { runCli } from '../helpers/cli.js';
import { copyAsOtherStudy } from '../helpers/mutate-dicom.js';
import { findOrthanc, freePort, ORTHANC_AET, readInstances, type RunningOrthanc, startOrthanc, uploadInstances } from '../helpers/orthanc.js';
import { keepEnv } from '../helpers/env.js';
import { startCuttingProxy } from '../helpers/cutting-proxy.js';
import { hasRedis, spawnWorker, startRedis, stopWorker, type TestRedis, type WorkerProcess } from './redis-server.js';

const CT_DIR = path.resolve('../shared/dicom/QIICR__dcmqi/data/segmentations/ct-3slice');
const installed = findOrthanc();
if (!installed) console.warn('skipping batch unreadable-join tests: Orthanc is not installed (apt-get install orthanc orthanc-dicomweb)');

interface StatusJob {
  id: string;
  source?: string;
  state: string;
  skipped?: boolean;
  error: { code: string; message: string } | null;
  errorCount?: number;
  errorsByCode?: Record<string, number>;
}

interface Status {
  finished: boolean;
  errorsFile?: string;
  series: { total: number; done: number; failed: number };
  jobs: StatusJob[];
}

interface Report {
  errors: Array<{ code: string; path: string | null }>;
  errorCount: number;
  errorsByCode: Record<string, number>;
  errorsFile?: string;
  series: Array<{ output: { dir: string }; skipped?: boolean; skippedBy?: string }>;
  studies: Array<{ studyInstanceUid: string; outcome: string; skipped?: boolean; errorCount?: number; errorsByCode?: Record<string, number>; dimse?: { pulled: unknown[]; notPulled?: string } }>;
}

describe.skipIf(!installed || !hasRedis)("a PACS batch's unreadable instances and counts without --wait (Orthanc DIMSE, Redis, two workers)", () => {
  let dir: string;
  let orthanc: RunningOrthanc;
  let redis: TestRedis;
  let pacs: string;
  const restoreEnv = keepEnv('TMPDIR', DICOMWEB_AUTH_ENV);
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lowdose-batch-unreadable-join-'));
    process.env.TMPDIR = dir; // the workers' pull folders go under the test's folder
    delete process.env[DICOMWEB_AUTH_ENV];
    redis = await startRedis();
    orthanc = await startOrthanc(dir, { dicomModalities: { lowdose: { aet: 'LOWDOSE', host: '127.0.0.1', port: await freePort() } } });
    pacs = `dimse://${ORTHANC_AET}@127.0.0.1:${orthanc.dicomPort}`;
  }, 120_000);

  afterEach(async () => {
    await Promise.all(workers.splice(0).map(stopWorker));
  });

  afterAll(async () => {
    restoreEnv();
    await orthanc?.stop();
    await redis?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const startWorkers = async (n: number): Promise<WorkerProcess[]> => {
    const started = Array.from({ length: n }, () => spawnWorker(redis.url));
    workers.push(...started);
    await Promise.all(started.map((w) => w.ready));
    return started;
  };

  /** `batch status <id> --json` read until the batch has finished. */
  const statusWhenFinished = async (id: string): Promise<Status> => {
    for (;;) {
      const run = await runCli('batch', 'status', id, '--redis', redis.url, '--json');
      const status = JSON.parse(run.stdout) as Status;
      if (status.finished) return status;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  };

  it("submitted without --wait, two workers: unreadable.tsv holds every unreadable instance of both failed studies in batch order, batch status names it and counts each study's as its list does; --wait's report.json counts them too", async () => {
    const originals = await readInstances(CT_DIR);
    // Study E: slices 1 and 3 cut short inside their pixel data; study F: slice 2; study G: whole.
    const storedE = await uploadInstances(orthanc, copyAsOtherStudy(originals, new Set([0, 2]), 51));
    const storedF = await uploadInstances(orthanc, copyAsOtherStudy(originals, new Set([1]), 52));
    const storedG = await uploadInstances(orthanc, copyAsOtherStudy(originals, new Set(), 53));
    const [E, F, G] = [storedE, storedF, storedG].map((s) => s[0]!['StudyInstanceUID']!);
    const [w1, w2] = await startWorkers(2);
    // A barrier in front of the PACS: the first association waits for Orthanc's answer until a
    // second one is open, so each worker holds a job before either can run one (and take the third).
    const barrier = await startCuttingProxy(orthanc.dicomPort);
    barrier.holdAfter = 0;
    barrier.onHold = () => {
      if (barrier.connections >= 2) barrier.release();
    };
    const viaBarrier = `dimse://${ORTHANC_AET}@127.0.0.1:${barrier.port}`;
    const out = path.join(dir, 'no-wait');
    const args = [`${viaBarrier}/${E}`, `${viaBarrier}/${F}`, `${viaBarrier}/${G}`, '--redis', redis.url, '--method', 'gaussian', '--attempts', '1', '--no-progress'];
    const submitted = await runCli('batch', ...args, '-o', out);
    expect(submitted.code, submitted.stderr).toBe(0);
    const id = submitted.stdout.trim();
    const status = await statusWhenFinished(id);
    const ran = [w1!, w2!].map((w) => w.events().filter((e) => e.event === 'started').map((e) => e.job));
    expect(ran.flat().sort(), `${w1!.stderr()}\n${w2!.stderr()}`).toEqual(status.jobs.map((j) => j.id).sort());
    // Both workers ran a job: the barrier let no association through until two were open.
    expect(ran.map((jobs) => jobs.length > 0), JSON.stringify(ran)).toEqual([true, true]);
    expect(status.series, JSON.stringify(status.jobs.map((j) => j.error))).toMatchObject({ total: 3, done: 1, failed: 2 });

    const file = path.join(out, ERRORS_FILE);
    const listed = parseErrorList(await readFile(file, 'utf8'));
    const instance = (t: Record<string, string>) => `${t['SOPInstanceUID']}.dcm`;
    expect(listed.map((e) => [e.code, e.path && path.basename(e.path)])).toEqual([
      ['E_TRUNCATED', instance(storedE[0]!)],
      ['E_TRUNCATED', instance(storedE[2]!)],
      ['E_TRUNCATED', instance(storedF[1]!)],
    ]);
    expect(status.errorsFile).toBe(file);
    const [jobE, jobF, jobG] = status.jobs;
    expect(jobE).toMatchObject({ state: 'failed', error: { code: 'E_TRUNCATED' }, errorCount: 2, errorsByCode: { E_TRUNCATED: 2 } });
    expect(jobF).toMatchObject({ state: 'failed', error: { code: 'E_TRUNCATED' }, errorCount: 1, errorsByCode: { E_TRUNCATED: 1 } });
    expect(jobG).toMatchObject({ state: 'completed', error: null });
    expect(jobG!.errorCount).toBeUndefined();

    const text = await runCli('batch', 'status', id, '--redis', redis.url);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain('[E_TRUNCATED]; 2 errors in the study (2 E_TRUNCATED)');
    expect(text.stdout).toContain(`every unreadable instance the workers met: ${file}`);

    // The same studies with --wait: report.json counts each unreadable instance, lists each job's first.
    const waited = await runCli('batch', ...args, '-o', path.join(dir, 'wait'), '--wait', '--json');
    expect(waited.code, waited.stderr).toBe(1);
    const { report } = JSON.parse(waited.stdout) as { report: Report };
    expect(report.errorCount).toBe(3);
    expect(report.errorsByCode).toEqual({ E_TRUNCATED: 3 });
    expect(report.errors.map((e) => e.code)).toEqual(['E_TRUNCATED', 'E_TRUNCATED']);
    expect(report.errorsFile).toBe(path.join(dir, 'wait', ERRORS_FILE));
    expect(parseErrorList(await readFile(report.errorsFile!, 'utf8'))).toHaveLength(3);
    expect(report.studies.map((s) => [s.studyInstanceUid, s.outcome, s.errorCount])).toEqual([
      [E, 'failed', 2],
      [F, 'failed', 1],
      [G, 'done', 0],
    ]);
    await barrier.close();
  }, 300_000);

  it('batch --skip-by-uid over dimse://: a finished study resubmitted is not pulled (its job skipped, its study notPulled), and batch --json says skipByUid', async () => {
    const originals = await readInstances(CT_DIR);
    const study = (await uploadInstances(orthanc, copyAsOtherStudy(originals, new Set(), 54)))[0]!['StudyInstanceUID']!;
    await startWorkers(1);
    const out = path.join(dir, 'skip-by-uid');
    const args = ['batch', `${pacs}/${study}`, '-o', out, '--redis', redis.url, '--method', 'gaussian', '--wait', '--no-progress', '--json'];
    const first = await runCli(...args);
    expect(first.code, first.stderr).toBe(0);
    const firstResult = JSON.parse(first.stdout) as { skipByUid?: boolean; report: Report };
    expect(firstResult.skipByUid).toBeUndefined();
    expect(firstResult.report.studies[0]!.dimse!.pulled).toHaveLength(1);

    const again = await runCli(...args, '--skip-by-uid');
    expect(again.code, again.stderr).toBe(0);
    const result = JSON.parse(again.stdout) as { skipByUid?: boolean; status: Status; report: Report };
    expect(result.skipByUid).toBe(true);
    expect(result.status.jobs).toEqual([expect.objectContaining({ state: 'completed', skipped: true })]);
    const [entry] = result.report.studies;
    expect(entry).toMatchObject({ studyInstanceUid: study, outcome: 'done', skipped: true });
    expect(entry!.dimse!.pulled).toEqual([]);
    expect(entry!.dimse!.notPulled).toMatch(/SOP Instance UIDs/);
    expect(result.report.series.map((s) => [s.output.dir, s.skipped, s.skippedBy])).toEqual(firstResult.report.series.map((s) => [s.output.dir, true, 'sop-instance-uids']));

    // Without --wait, stdout's JSON says it too.
    const submitted = await runCli('batch', `${pacs}/${study}`, '-o', out, '--redis', redis.url, '--method', 'gaussian', '--skip-by-uid', '--json');
    expect(submitted.code, submitted.stderr).toBe(0);
    expect(JSON.parse(submitted.stdout)).toMatchObject({ skipByUid: true });
    await statusWhenFinished((JSON.parse(submitted.stdout) as { id: string }).id);
  }, 300_000);
});
