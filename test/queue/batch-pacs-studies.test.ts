/**
 * `lowdose batch` over PACS studies, against a real Orthanc and a real Redis: a study query
 * (QIDO-RS on a DICOMweb base with --patient-id) is answered at submission and queues one job per
 * matching study; a `lowdose worker` pulls each with its own credentials ($LOWDOSE_DICOMWEB_AUTH,
 * never in the job data) and denoises it into the shared -o. Over DIMSE, a study the PACS does not
 * hold fails its job (E_NOT_FOUND) while the other study's job completes; a worker with --move-port
 * pulls with C-MOVE to its own storage SCP.
 */
import { readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DICOMWEB_AUTH_ENV } from '../../src/dicomweb/client.js';
import { ERRORS_FILE, parseErrorList } from '../../src/util/error-list-file.js';
import { openQueue } from '../../src/queue/batch.js';
import { parseRedisUrl } from '../../src/queue/connection.js';
import { runCli } from '../helpers/cli.js';
import { copyAsOtherSeries, copyAsOtherStudy, withSameLengthText } from '../helpers/mutate-dicom.js';
import { findOrthanc, freePort, ORTHANC_AET, readInstances, type RunningOrthanc, startOrthanc, uploadInstances } from '../helpers/orthanc.js';
import { onFreshPort } from '../helpers/ports.js';
import { hasRedis, spawnWorker, startRedis, stopWorker, type TestRedis, type WorkerProcess } from './redis-server.js';
import { keepEnv } from '../helpers/env.js';

const CT_DIR = path.resolve('../shared/dicom/QIICR__dcmqi/data/segmentations/ct-3slice');
const CALLING_AET = 'LOWDOSE';
const installed = findOrthanc();
if (!installed) console.warn('skipping batch PACS tests: Orthanc is not installed (apt-get install orthanc orthanc-dicomweb)');

interface BatchWaitResult {
  jobs: Array<{ id: string; source?: string; studyInstanceUid?: string }>;
  queries?: Array<{ source: string; patientId?: string; studies: string[] }>;
  status: {
    series: { total: number; done: number; failed: number };
    slices: { total: number; done: number };
    jobs: Array<{
      id: string;
      source?: string;
      state: string;
      error: { code: string; path: string | null } | null;
      outputs?: string[];
      modality: string;
      slices: number;
      slicesDone: number;
      seriesCount?: number;
      seriesDone?: number;
    }>;
  };
  report: {
    series: Array<{ input: { seriesInstanceUid: string }; output: { dir: string; files: string[] } }>;
    errors: Array<{ code: string; path: string | null }>;
    studies?: Array<{ source: string; studyInstanceUid: string; query?: string; outcome: string; series: string[]; errors: Array<{ code: string; path: string | null }> }>;
  };
}

describe.skipIf(!installed || !hasRedis)('batch over PACS studies (Orthanc, Redis, one worker)', () => {
  let dir: string;
  let orthanc: RunningOrthanc;
  let redis: TestRedis;
  let pacs: string;
  /** A = patient 99000 (accession ACC00001), B and C = patient 99017 (ACC00002, ACC00003). */
  const study: Record<'A' | 'B' | 'C' | 'D', string> = { A: '', B: '', C: '', D: '' };
  /** Study D: series D1 and D2, 3 slices each. */
  const seriesD: Record<'D1' | 'D2', string> = { D1: '', D2: '' };
  const restoreEnv = keepEnv('TMPDIR', DICOMWEB_AUTH_ENV);
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lowdose-batch-pacs-'));
    process.env.TMPDIR = dir; // the workers' pull folders go under the test's folder
    redis = await startRedis();
    orthanc = await startOrthanc(dir, { dicomModalities: { lowdose: { aet: CALLING_AET, host: '127.0.0.1', port: await freePort() } } });
    pacs = `dimse://${ORTHANC_AET}@127.0.0.1:${orthanc.dicomPort}`;
    const originals = await readInstances(CT_DIR);
    // PatientID "99000 " and AccessionNumber 03086212 in the originals; replaced by values of the same length.
    const accession = (files: Uint8Array[], value: string) => files.map((b) => withSameLengthText(b, 'x00080050', value));
    const patient = (files: Uint8Array[]) => files.map((b) => withSameLengthText(b, 'x00100020', '99017 '));
    const copies = {
      A: accession(copyAsOtherStudy(originals, new Set(), 31), 'ACC00001'),
      B: accession(patient(copyAsOtherStudy(originals, new Set(), 32)), 'ACC00002'),
      C: accession(patient(copyAsOtherStudy(originals, new Set(), 33)), 'ACC00003'),
    };
    for (const [name, files] of Object.entries(copies) as Array<['A' | 'B' | 'C', Uint8Array[]]>) study[name] = (await uploadInstances(orthanc, files))[0]!['StudyInstanceUID']!;
    const d1 = copyAsOtherStudy(originals, new Set(), 34);
    const d2 = copyAsOtherSeries(d1, 7);
    const storedD = await uploadInstances(orthanc, [...d1, ...d2]);
    study.D = storedD[0]!['StudyInstanceUID']!;
    seriesD.D1 = storedD[0]!['SeriesInstanceUID']!;
    seriesD.D2 = storedD[3]!['SeriesInstanceUID']!;
    expect(new Set(storedD.map((t) => t['StudyInstanceUID'])).size).toBe(1);
    expect(seriesD.D1).not.toBe(seriesD.D2);
    expect(new Set(Object.values(study)).size).toBe(4);
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

  /** A worker started with the test's environment (TMPDIR, $LOWDOSE_DICOMWEB_AUTH when set). */
  const startWorker = async (): Promise<WorkerProcess> => {
    const worker = spawnWorker(redis.url);
    workers.push(worker);
    await worker.ready;
    return worker;
  };

  it('a DICOMweb base with --patient-id queues one job per matching study; the worker pulls each with its own $LOWDOSE_DICOMWEB_AUTH and denoises both into -o', async () => {
    // The credentials are in the environment of the submitter (for the query) and of the worker
    // (for the pull); the job data in Redis carries none.
    process.env[DICOMWEB_AUTH_ENV] = `basic:${orthanc.user}:${orthanc.password}`;
    const worker = await startWorker();
    const out = path.join(dir, 'by-patient');
    const run = await runCli('batch', orthanc.dicomweb, '--patient-id', '99017', '-o', out, '--redis', redis.url, '--method', 'gaussian', '--wait', '--no-progress', '--json');
    expect(run.code, `${run.stderr}\n${worker.stderr()}`).toBe(0);
    const result = JSON.parse(run.stdout) as BatchWaitResult;
    expect(result.queries).toEqual([{ source: orthanc.dicomweb, patientId: '99017', studies: expect.any(Array), notDenoised: [] }]);
    expect([...result.queries![0]!.studies].sort()).toEqual([study.B, study.C].sort());
    expect(result.jobs.map((j) => j.studyInstanceUid).sort()).toEqual([study.B, study.C].sort());
    expect(result.jobs.every((j) => j.source === `${orthanc.dicomweb}/studies/${j.studyInstanceUid}`)).toBe(true);
    expect(result.status.series).toMatchObject({ total: 2, done: 2, failed: 0 });
    // Each job's study as its worker listed it: one CT series of 3 slices, finished.
    expect(result.status.slices).toEqual({ total: 6, done: 6 });
    for (const job of result.status.jobs) expect(job).toMatchObject({ modality: 'CT', slices: 3, slicesDone: 3, seriesCount: 1, seriesDone: 1 });
    expect(result.report.errors).toEqual([]);
    expect(result.report.studies!.map((s) => s.studyInstanceUid).sort()).toEqual([study.B, study.C].sort());
    expect(result.report.studies!.every((s) => s.outcome === 'done' && s.query === orthanc.dicomweb && s.series.length === 1)).toBe(true);
    // Both series denoised into -o, three slices each, as the status's outputs name them.
    expect(result.report.series).toHaveLength(2);
    for (const s of result.report.series) {
      expect(path.dirname(s.output.dir)).toBe(out);
      expect(s.output.files).toHaveLength(3);
      expect(readdirSync(s.output.dir).filter((f) => f.endsWith('.dcm')).sort()).toEqual(s.output.files.map((f) => path.basename(f)).sort());
    }
    expect(result.status.jobs.flatMap((j) => j.outputs ?? []).sort()).toEqual(result.report.series.map((s) => s.output.dir).sort());
    expect(JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8'))).toMatchObject({ series: expect.any(Array), studies: expect.any(Array) });
    // The jobs in Redis: the study addresses, no credentials.
    const queue = await openQueue(parseRedisUrl(redis.url));
    try {
      for (const job of result.jobs) {
        const data = JSON.stringify((await queue.getJob(job.id))!.data);
        expect(data).toContain(job.studyInstanceUid);
        expect(data).not.toContain(orthanc.password);
      }
    } finally {
      await queue.close();
    }
    // `batch status` shows the PACS jobs as it shows the others.
    const id = (JSON.parse(run.stdout) as { id: string }).id;
    const status = await runCli('batch', 'status', id, '--redis', redis.url);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain('2/2 series done, 0 failed, 0 running, 0 waiting; 6/6 slices');
  }, 240_000);

  it('over DIMSE a study the PACS does not hold fails its job (E_NOT_FOUND) while the other is denoised; exit 1', async () => {
    delete process.env[DICOMWEB_AUTH_ENV];
    const worker = await startWorker();
    const out = path.join(dir, 'missing');
    const missing = `${pacs}/1.2.3.4.5.6.7`;
    const run = await runCli('batch', `${pacs}/${study.A}`, missing, '-o', out, '--redis', redis.url, '--method', 'gaussian', '--attempts', '1', '--wait', '--no-progress', '--json');
    expect(run.code, `${run.stderr}\n${worker.stderr()}`).toBe(1);
    const result = JSON.parse(run.stdout) as BatchWaitResult;
    expect(result.status.series).toMatchObject({ total: 2, done: 1, failed: 1 });
    const [done, failed] = result.status.jobs;
    expect(done).toMatchObject({ source: `${pacs}/${study.A}`, state: 'completed', error: null });
    expect(failed).toMatchObject({ source: missing, state: 'failed', error: { code: 'E_NOT_FOUND' } });
    expect(result.report.errors).toEqual([expect.objectContaining({ code: 'E_NOT_FOUND' })]);
    // Every study of the batch is in `studies`: the missing one as failed, with its job's error.
    expect(result.report.studies).toEqual([
      expect.objectContaining({ source: `${pacs}/${study.A}`, studyInstanceUid: study.A, outcome: 'done' }),
      { source: missing, studyInstanceUid: '1.2.3.4.5.6.7', outcome: 'failed', series: [], errors: result.report.errors, errorCount: 1, errorsByCode: { E_NOT_FOUND: 1 } },
    ]);
    expect(result.report.series).toHaveLength(1);
    expect(result.report.series[0]!.output.files).toHaveLength(3);
    expect(path.dirname(result.report.series[0]!.output.dir)).toBe(out);
    const status = await runCli('batch', 'status', (JSON.parse(run.stdout) as { id: string }).id, '--redis', redis.url);
    expect(status.code).toBe(1);
    expect(status.stdout).toContain(`${missing}: failed after 1 attempt(s)`);
  }, 240_000);

  it('--accession: each accession number is its own query at submission; one matching no study is an error of the batch (exit 1) while the other study is denoised', async () => {
    delete process.env[DICOMWEB_AUTH_ENV];
    const worker = await startWorker();
    const out = path.join(dir, 'by-accession');
    const run = await runCli('batch', pacs, '--accession', 'ACC00001', '--accession', 'NOSUCH01', '-o', out, '--redis', redis.url, '--method', 'gaussian', '--wait', '--no-progress', '--json');
    expect(run.code, `${run.stderr}\n${worker.stderr()}`).toBe(1);
    const result = JSON.parse(run.stdout) as BatchWaitResult & { errors: Array<{ code: string }> };
    expect(result.queries).toEqual([
      { source: pacs, accessionNumber: 'ACC00001', studies: [study.A], notDenoised: [] },
      { source: pacs, accessionNumber: 'NOSUCH01', studies: [], notDenoised: [] },
    ]);
    expect(result.jobs.map((j) => j.studyInstanceUid)).toEqual([study.A]);
    expect(result.errors).toEqual([expect.objectContaining({ code: 'E_NOT_FOUND' })]);
    expect(result.status.series).toMatchObject({ total: 1, done: 1, failed: 0 });
    expect(result.report.errors).toEqual([expect.objectContaining({ code: 'E_NOT_FOUND' })]);
    expect(result.report.series).toHaveLength(1);
    expect(result.report.series[0]!.output.files).toHaveLength(3);
  }, 240_000);

  it("a study job with a failing series fails, and the series of that study that finished are in report.json with the job's error; status counts them", async () => {
    delete process.env[DICOMWEB_AUTH_ENV];
    const worker = await startWorker();
    const out = path.join(dir, 'partial-study');
    // D2 is already in -o, made with another method: the study's run fails it (E_EXISTS) after denoising D1.
    const earlier = await runCli('denoise', `${pacs}/${study.D}/${seriesD.D2}`, '-o', out, '--method', 'bilateral', '--json');
    expect(earlier.code, earlier.stderr).toBe(0);
    const run = await runCli('batch', `${pacs}/${study.D}`, '-o', out, '--redis', redis.url, '--method', 'gaussian', '--attempts', '1', '--wait', '--no-progress', '--json');
    expect(run.code, `${run.stderr}\n${worker.stderr()}`).toBe(1);
    const result = JSON.parse(run.stdout) as BatchWaitResult;
    // D1 finished (3 slices, its completion marker on disk): it is in the report, the job's error too.
    expect(result.report.series.map((s) => s.input.seriesInstanceUid)).toEqual([seriesD.D1]);
    const [d1] = result.report.series;
    expect(d1!.output.files).toHaveLength(3);
    expect(readdirSync(d1!.output.dir).filter((f) => f.endsWith('.dcm'))).toHaveLength(3);
    expect(result.report.errors).toEqual([expect.objectContaining({ code: 'E_EXISTS' })]);
    // The failed study is in `studies` with its outcome, the series of it that finished and its error.
    expect(result.report.studies).toEqual([
      { source: `${pacs}/${study.D}`, studyInstanceUid: study.D, outcome: 'failed', series: [seriesD.D1], errors: result.report.errors, errorCount: 1, errorsByCode: { E_EXISTS: 1 } },
    ]);
    const written = JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8')) as BatchWaitResult['report'];
    // (report.json also lists what earlier runs left finished in -o: D2 made by the bilateral run.)
    expect(written.series.map((s) => s.input.seriesInstanceUid)).toContain(seriesD.D1);
    // The job's figures: the study's 2 series, 6 slices; the finished D1 counted, the failed D2 not.
    const [job] = result.status.jobs;
    expect(job).toMatchObject({ state: 'failed', error: { code: 'E_EXISTS' }, modality: 'CT', seriesCount: 2, seriesDone: 1, slices: 6, slicesDone: 3 });
    expect(result.status.slices).toEqual({ total: 6, done: 3 });
    const status = await runCli('batch', 'status', (JSON.parse(run.stdout) as { id: string }).id, '--redis', redis.url);
    expect(status.code).toBe(1);
    expect(status.stdout).toContain('3/6 slices');
    expect(status.stdout).toContain('[E_EXISTS]; 1/2 series (CT), 3/6 slices finished');
  }, 240_000);

  it("a study job's unreadable instances reach the batch's unreadable.tsv: the worker lists every one, batch --wait joins them and report.json names it", async () => {
    delete process.env[DICOMWEB_AUTH_ENV];
    const worker = await startWorker();
    // Study E: the 3-slice CT with slices 1 and 3 cut short inside their pixel data (Orthanc stores them).
    const originals = await readInstances(CT_DIR);
    const stored = await uploadInstances(orthanc, copyAsOtherStudy(originals, new Set([0, 2]), 35));
    const studyE = stored[0]!['StudyInstanceUID']!;
    const seriesE = stored[0]!['SeriesInstanceUID']!;
    const out = path.join(dir, 'unreadable-study');
    const run = await runCli('batch', `${pacs}/${studyE}`, '-o', out, '--redis', redis.url, '--method', 'gaussian', '--attempts', '1', '--wait', '--no-progress', '--json');
    expect(run.code, `${run.stderr}\n${worker.stderr()}`).toBe(1);
    const result = JSON.parse(run.stdout) as BatchWaitResult & { report: { errorsFile?: string; errorCount?: number } };
    expect(result.status.jobs).toEqual([expect.objectContaining({ state: 'failed', error: expect.objectContaining({ code: 'E_TRUNCATED' }) })]);
    const file = path.join(out, ERRORS_FILE);
    expect(result.report.errorsFile).toBe(file);
    expect((JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8')) as { errorsFile?: string }).errorsFile).toBe(file);
    const listed = parseErrorList(await readFile(file, 'utf8'));
    expect(listed.map((e) => [e.code, e.path && path.basename(e.path)])).toEqual([
      ['E_TRUNCATED', `${stored[0]!['SOPInstanceUID']}.dcm`],
      ['E_TRUNCATED', `${stored[2]!['SOPInstanceUID']}.dcm`],
    ]);
    for (const [i, e] of listed.entries()) expect(e.message).toContain(`instance ${stored[i * 2]!['SOPInstanceUID']} of ${pacs}/${studyE}/${seriesE}: `);
    // The counts agree with the list: each unreadable instance is one error, the job's the first of them.
    expect(result.status.jobs[0]).toMatchObject({ errorCount: 2, errorsByCode: { E_TRUNCATED: 2 } });
    expect(result.report).toMatchObject({ errorCount: 2, errorsByCode: { E_TRUNCATED: 2 } });
  }, 240_000);

  it('a worker with --move-port pulls its dimse:// jobs with C-MOVE to its storage SCP on that port; with --concurrency 2 both jobs complete, their C-MOVEs taking the port in turn', async () => {
    delete process.env[DICOMWEB_AUTH_ENV];
    const out = path.join(dir, 'by-move');
    const logged: string[] = [];
    const run = await onFreshPort(
      async (port) => {
        // Orthanc sends a C-MOVE to "lowdose" at the worker's port.
        const modality = { AET: CALLING_AET, Host: '127.0.0.1', Port: port, AllowGet: true, AllowMove: true, AllowFind: true, AllowStore: true };
        const response = await orthanc.rest('/modalities/lowdose', { method: 'PUT', body: Buffer.from(JSON.stringify(modality)) });
        expect(response.ok, await response.text()).toBe(true);
      },
      async (port) => {
        const worker = spawnWorker(redis.url, '--calling-aet', CALLING_AET, '--move-port', String(port), '--concurrency', '2');
        workers.push(worker);
        await worker.ready;
        const done = await runCli('batch', `${pacs}/${study.B}`, `${pacs}/${study.C}`, '-o', out, '--redis', redis.url, '--method', 'gaussian', '--attempts', '1', '--wait', '--no-progress', '--json');
        await stopWorker(workers.splice(workers.indexOf(worker), 1)[0]!);
        logged.push(`${done.stderr}\n${worker.stderr()}`);
        return done;
      },
      (done, port) => done.stdout.includes(`--move-port ${port}: cannot listen`),
    );
    expect(run.code, logged.join('\n')).toBe(0);
    const result = JSON.parse(run.stdout) as BatchWaitResult & { report: { studies: Array<{ studyInstanceUid: string; dimse?: { retrieve: string; pulled: Array<{ instances: number; retrieved: number }> } }> } };
    expect(result.status.series).toMatchObject({ total: 2, done: 2, failed: 0 });
    expect(result.report.errors).toEqual([]);
    expect(result.report.studies.map((s) => s.studyInstanceUid).sort()).toEqual([study.B, study.C].sort());
    for (const entry of result.report.studies) {
      expect(entry.dimse?.retrieve).toBe('C-MOVE');
      expect(entry.dimse?.pulled.map((p) => [p.instances, p.retrieved])).toEqual([[3, 3]]);
    }
    expect(result.report.series).toHaveLength(2);
    for (const s of result.report.series) expect(s.output.files).toHaveLength(3);
  }, 240_000);

  it("batch --json without a worker: a PACS job's modality and slices are marked unknown (countsKnown false), with the study as the C-FIND / QIDO-RS query answered it; batch status says the slices are not counted", async () => {
    process.env[DICOMWEB_AUTH_ENV] = `basic:${orthanc.user}:${orthanc.password}`;
    for (const [address, label] of [[pacs, 'dimse'], [orthanc.dicomweb, 'dicomweb']] as const) {
      const out = path.join(dir, `unlisted-${label}`);
      // Patient 99017: studies B and C, one CT series of 3 instances each. Study D given by its address: no query answered for it.
      const run = await runCli('batch', address, '--patient-id', '99017', ...(label === 'dimse' ? [`${pacs}/${study.D}`, '--calling-aet', CALLING_AET] : []), '-o', out, '--redis', redis.url, '--method', 'gaussian', '--json');
      expect(run.code, run.stderr).toBe(0);
      const submitted = JSON.parse(run.stdout) as { id: string; jobs: Array<Record<string, unknown>> };
      try {
        const queried = submitted.jobs.filter((j) => j['studyInstanceUid'] !== study.D);
        expect(queried.map((j) => j['studyInstanceUid']).sort()).toEqual([study.B, study.C].sort());
        for (const job of queried) {
          expect(job).toMatchObject({ modality: '', slices: 0, countsKnown: false, pacsStudy: { modalities: ['CT'], series: 1, instances: 3 } });
        }
        if (label === 'dimse') {
          const given = submitted.jobs.find((j) => j['studyInstanceUid'] === study.D)!;
          expect(given).toMatchObject({ countsKnown: false });
          expect(given).not.toHaveProperty('pacsStudy');
        }
        const status = await runCli('batch', 'status', submitted.id, '--redis', redis.url, '--json');
        const parsed = JSON.parse(status.stdout) as { slices: { total: number; jobsNotListed?: number }; jobs: Array<{ countsKnown?: boolean }> };
        expect(parsed.slices).toEqual({ total: 0, done: 0, jobsNotListed: submitted.jobs.length });
        expect(parsed.jobs.every((j) => j.countsKnown === false)).toBe(true);
        const text = await runCli('batch', 'status', submitted.id, '--redis', redis.url);
        expect(text.stdout).toContain(`0/0 slices (not counting ${submitted.jobs.length} PACS studies no worker has listed yet)`);
      } finally {
        // Nothing runs it: no worker here.
        await runCli('batch', 'cancel', submitted.id, '--redis', redis.url);
      }
    }
  }, 120_000);

  it('without --wait, an accession number matching no study is in batch --json errors, and batch status shows it', async () => {
    delete process.env[DICOMWEB_AUTH_ENV];
    const out = path.join(dir, 'accession-no-wait');
    const run = await runCli('batch', pacs, '--accession', 'ACC00002', '--accession', 'NOSUCH02', '-o', out, '--redis', redis.url, '--method', 'gaussian', '--json');
    expect(run.code, run.stderr).toBe(0);
    const submitted = JSON.parse(run.stdout) as { id: string; errors: Array<{ code: string; message: string }> };
    expect(submitted.errors).toEqual([expect.objectContaining({ code: 'E_NOT_FOUND', message: expect.stringContaining('NOSUCH02') })]);
    try {
      const text = await runCli('batch', 'status', submitted.id, '--redis', redis.url);
      expect(text.stdout).toContain(`error E_NOT_FOUND: ${submitted.errors[0]!.message}`);
      const json = await runCli('batch', 'status', submitted.id, '--redis', redis.url, '--json');
      expect((JSON.parse(json.stdout) as { errors?: unknown }).errors).toEqual(submitted.errors);
    } finally {
      // Nothing runs it: no worker here.
      await runCli('batch', 'cancel', submitted.id, '--redis', redis.url);
    }
  }, 120_000);
});
