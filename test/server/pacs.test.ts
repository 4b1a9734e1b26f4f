/**
 * `serve --dicomweb` against a real Orthanc (test/helpers/orthanc.ts): the viewer's API lists and
 * searches the server's studies, opens a series (pulled with WADO-RS, then served as any local
 * series), runs a job whose result is stored back with STOW-RS, keeps the credentials out of
 * every response and log line, and says clearly when the server refuses them or cannot be reached.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { readSliceImage, scanPaths } from '../../src/dicom/index.js';
import type { ApiError, JobView, PacsInfo, PacsOpened, PacsSeriesList, PacsStudies, SeriesDetail, UploadResponse } from '../../src/server/api-types.js';
import { buildApp } from '../../src/server/app.js';
import { decodeSlice } from '../../src/server/slice-encoding.js';
import { DICOMWEB_AUTH_ENV } from '../../src/dicomweb/client.js';
import { runCli } from '../helpers/cli.js';
import { startServe } from '../helpers/serve-process.js';
import { startProxy } from '../helpers/http-proxy.js';
import { closedPort, findOrthanc, readInstances, type RunningOrthanc, startOrthanc, uploadAsOtherStudy, uploadWithUnreadableInstance } from '../helpers/orthanc.js';
import { copyAsOtherSeries, copyAsOtherStudy } from '../helpers/mutate-dicom.js';
import { multipart } from './http.js';
import { writeBedSeries } from '../dicom/helpers/pet-beds.js';
import { hasPydicom, imageIndexes, uploadDynamicPet } from '../helpers/pet-timing.js';

const CT_DIR = path.resolve('../shared/dicom/QIICR__dcmqi/data/segmentations/ct-3slice');
const PET_FILE = path.resolve('../shared/dicom/suyashkumar__dicom/testdata/1.dcm');
const CT_STUDY = '1.2.392.200103.20080913.113635.0.2009.6.22.21.43.10.22941.1';
const FIXTURE_SERIES = path.resolve('fixtures/water/dose25');
/**
 * The patient ID the searches use, as a whole number: digits alone occur in timestamps, byte counts
 * and response times (a responseTime of 44.030999000000065 ms holds "99000").
 */
const SEARCHED_ID = /(?<![\d.])99000(?![\d.])/;
const installed = findOrthanc();
if (!installed) console.warn('skipping serve --dicomweb tests: Orthanc with its DICOMweb plugin is not installed (apt-get install orthanc orthanc-dicomweb)');

describe.skipIf(!installed)('serve --dicomweb against Orthanc', () => {
  let dir: string;
  let orthanc: RunningOrthanc;
  let app: FastifyInstance;
  let log = '';
  /** Every response body and header the API gave in this file, to look for the credentials in. */
  const seen: string[] = [];

  async function call(app: FastifyInstance, options: InjectOptions): Promise<LightMyRequestResponse> {
    const response = await app.inject(options);
    seen.push(response.body, JSON.stringify(response.headers));
    return response;
  }
  const get = (url: string) => call(app, { url });

  async function orthancSeries(studyUid: string): Promise<Array<{ ID: string; Instances: string[]; MainDicomTags: { SeriesInstanceUID: string } }>> {
    const response = await orthanc.rest('/tools/find', { method: 'POST', body: Buffer.from(JSON.stringify({ Level: 'Series', Query: { StudyInstanceUID: studyUid }, Expand: true })) });
    return (await response.json()) as Array<{ ID: string; Instances: string[]; MainDicomTags: { SeriesInstanceUID: string } }>;
  }

  /**
   * A lowdose server on the same Orthanc behind a proxy that caps QIDO-RS instance lists at 2 and
   * refuses offset: 2 of a 3-instance series come.
   */
  async function cappedInstanceLists(workDir: string): Promise<{ server: FastifyInstance; close: () => Promise<void> }> {
    const proxy = await startProxy(orthanc.http);
    proxy.rewrite = (method, url) => (method === 'GET' && /\/instances(\?|$)/.test(url) ? `${url}${url.includes('?') ? '&' : '?'}limit=2` : url);
    proxy.fail = (method, url) => (method === 'GET' && /[?&]offset=/.test(url) ? 400 : false);
    const server = await buildApp({
      data: [],
      workDir: path.join(dir, workDir),
      viewerDir: null,
      dicomweb: { base: `${proxy.base}/dicom-web`, client: { auth: `basic:${orthanc.user}:${orthanc.password}`, retries: 0 } },
    });
    return { server, close: async () => (await server.close(), await proxy.close()) };
  }

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lowdose-serve-pacs-'));
    orthanc = await startOrthanc(dir);
    for (const file of [...readdirSync(CT_DIR).filter((f) => f.endsWith('.dcm')).map((f) => path.join(CT_DIR, f)), PET_FILE]) {
      expect((await orthanc.rest('/instances', { method: 'POST', body: await readFile(file) })).ok).toBe(true);
    }
    app = await buildApp({
      data: [FIXTURE_SERIES],
      workDir: path.join(dir, 'work'),
      viewerDir: null,
      dicomweb: { base: orthanc.dicomweb, client: { auth: `basic:${orthanc.user}:${orthanc.password}`, retries: 0 } },
      logger: { level: 'info', stream: { write: (line: string) => void (log += line) } },
    });
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await orthanc?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('lists the studies of the server: patient, date, description, modalities, number of series, newest first', async () => {
    expect((await get('/api/pacs')).json<PacsInfo>()).toEqual({ server: orthanc.dicomweb, protocol: 'dicomweb' });
    const response = await get('/api/pacs/studies');
    expect(response.statusCode).toBe(200);
    const { server, studies } = response.json<PacsStudies>();
    expect(server).toBe(orthanc.dicomweb);
    expect(studies.map((s) => [s.patientId, s.patientName, s.date, s.accessionNumber, s.description, s.modalities, s.series])).toEqual([
      ['99000', 'JANCT000', '20030417', '03086212', '', ['CT'], 1],
      ['ACRIN-FLT-Breast_029', 'ACRIN-FLT-Breast_029', '19600614', '', 'PET-CT STUDY', ['PT'], 1],
    ]);
    expect(studies[0]!.studyInstanceUid).toBe(CT_STUDY);
    expect(studies[0]!.instances).toBe(3);
  });

  it('searches by patient ID (wildcards too), by accession number and by a study date range', async () => {
    const ids = async (query: string) => (await get(`/api/pacs/studies?${query}`)).json<PacsStudies>().studies.map((s) => s.patientId);
    expect(await ids('patientId=99000')).toEqual(['99000']);
    expect(await ids('accessionNumber=03086212')).toEqual(['99000']);
    expect(await ids('accessionNumber=0308*')).toEqual(['99000']);
    expect(await ids('accessionNumber=03086213')).toEqual([]);
    expect((await get('/api/pacs/studies?accessionNumber=12345678901234567')).statusCode).toBe(400);
    expect(await ids('patientId=ACRIN*')).toEqual(['ACRIN-FLT-Breast_029']);
    expect(await ids('patientId=nobody')).toEqual([]);
    expect(await ids('from=20000101&to=20101231')).toEqual(['99000']);
    expect(await ids('to=19701231')).toEqual(['ACRIN-FLT-Breast_029']);
    expect(await ids('from=20030417&to=20030417')).toEqual(['99000']);
    expect(await ids('from=20200101')).toEqual([]);
    expect(await ids('patientId=99000&from=19500101&to=19701231')).toEqual([]);
    const empty = await get('/api/pacs/studies?from=20101231&to=20000101');
    expect(empty.statusCode).toBe(400);
    expect(empty.json<ApiError>().message).toMatch(/date range is empty/);
    expect((await get('/api/pacs/studies?from=2003-04-17')).statusCode).toBe(400);
  });

  it('lists a study\'s series and opens one: retrieved into the work folder and served like a local series', async () => {
    const list = (await get(`/api/pacs/studies/${CT_STUDY}/series`)).json<PacsSeriesList>();
    expect(list.series).toHaveLength(1);
    expect(list.series[0]).toMatchObject({ modality: 'CT', instances: 3, denoisable: true });
    const seriesUid = list.series[0]!.seriesInstanceUid;

    const opened = await call(app, { method: 'POST', url: `/api/pacs/studies/${CT_STUDY}/series/${seriesUid}/open` });
    expect(opened.statusCode).toBe(200);
    const body = opened.json<PacsOpened>();
    expect(body).toMatchObject({ instances: 3, retrieved: 3 });
    expect(body.series.map((s) => [s.modality, s.slices])).toEqual([['CT', 3]]);
    const id = body.series[0]!.id;
    const detail = (await get(`/api/series/${id}`)).json<SeriesDetail>();
    expect(detail.pacs).toBe(true);
    expect(detail.patientId).toBe('99000');

    // The pixels the viewer gets are those of the original files.
    const [local] = (await scanPaths([CT_DIR])).series;
    for (const index of [0, 2]) {
      const slice = await call(app, { url: `/api/series/${id}/slices/${index}?dtype=float32` });
      expect(slice.statusCode).toBe(200);
      expect(decodeSlice(slice.rawPayload).values).toEqual((await readSliceImage(local!, index)).data);
    }
    // Opening it again retrieves nothing, and serve's log says so as denoise <url> says it on stderr.
    expect((await call(app, { method: 'POST', url: `/api/pacs/studies/${CT_STUDY}/series/${seriesUid}/open` })).json<PacsOpened>()).toMatchObject({ instances: 3, retrieved: 0 });
    expect(log).toContain(`series ${seriesUid}: 3 of 3 instance(s) already retrieved`);
    // A series the server does not have.
    const missing = await call(app, { method: 'POST', url: `/api/pacs/studies/${CT_STUDY}/series/1.2.3.4/open` });
    expect(missing.statusCode).toBe(404);
  });

  it('runs a job with store-back: a new DERIVED series in the same study on the server, with as many instances', async () => {
    const studies = (await get('/api/pacs/studies?patientId=99000')).json<PacsStudies>();
    expect(studies.studies).toHaveLength(1);
    const [source] = (await get(`/api/pacs/studies/${CT_STUDY}/series`)).json<PacsSeriesList>().series;
    const opened = (await call(app, { method: 'POST', url: `/api/pacs/studies/${CT_STUDY}/series/${source!.seriesInstanceUid}/open` })).json<PacsOpened>();
    const before = await orthancSeries(CT_STUDY);
    const originals = new Map(await Promise.all(before[0]!.Instances.map(async (i) => [i, await (await orthanc.rest(`/instances/${i}/md5`)).text()] as const)));

    const started = await call(app, { method: 'POST', url: '/api/jobs', payload: { series: [opened.series[0]!.id], options: { method: 'gaussian' }, store: true } });
    expect(started.statusCode).toBe(202);
    expect(started.json<JobView>().store).toBe(true);
    const job = await app.jobs.settled(started.json<JobView>().id);
    seen.push(JSON.stringify(job));
    expect(job.error).toBeNull();
    expect(job.status).toBe('done');
    expect(job.progress?.stage).toBe('store');
    expect(job.result!.comparisons).toHaveLength(1);
    const stored = job.result!.stored!;
    expect(stored.map((s) => [s.kind, s.studyInstanceUid, s.instances])).toEqual([['denoised', CT_STUDY, 3]]);
    expect(job.allowIncomplete).toBe(false);
    expect(job.result).not.toHaveProperty('incomplete');

    const after = await orthancSeries(CT_STUDY);
    expect(after).toHaveLength(2);
    const derived = after.find((s) => s.MainDicomTags.SeriesInstanceUID === stored[0]!.seriesInstanceUid)!;
    expect(derived.Instances).toHaveLength(3);
    const tags = (await (await orthanc.rest(`/instances/${derived.Instances[0]}/simplified-tags`)).json()) as { ImageType: string };
    expect(tags.ImageType).toMatch(/^DERIVED/);
    // The original instances are untouched.
    for (const [instance, md5] of originals) expect(await (await orthanc.rest(`/instances/${instance}/md5`)).text()).toBe(md5);
    // The comparison opens on this server, and the study list now counts two series.
    expect((await get(`/api/comparisons/${job.result!.comparisons[0]}`)).statusCode).toBe(200);
    expect((await get('/api/pacs/studies?patientId=99000')).json<PacsStudies>().studies[0]!.series).toBe(2);
    // The derived series is denoisable on the list but a study URL would skip it; the list shows it.
    expect((await get(`/api/pacs/studies/${CT_STUDY}/series`)).json<PacsSeriesList>().series).toHaveLength(2);
  });

  it('a series the server gives short of its instances opens with the shortfall in the open answer and in the series detail', async () => {
    const { server: capped, close } = await cappedInstanceLists('work-short-series');
    try {
      const [source] = (await call(capped, { url: `/api/pacs/studies/${CT_STUDY}/series` })).json<PacsSeriesList>().series;
      expect(source).toMatchObject({ instances: 3 });
      const opened = await call(capped, { method: 'POST', url: `/api/pacs/studies/${CT_STUDY}/series/${source!.seriesInstanceUid}/open` });
      expect(opened.statusCode).toBe(200);
      const body = opened.json<PacsOpened>();
      expect(body).toMatchObject({ instances: 2, retrieved: 2, incomplete: { expected: 3, received: 2 } });
      expect(body.series.map((s) => s.slices)).toEqual([2]);
      const detail = (await call(capped, { url: `/api/series/${body.series[0]!.id}` })).json<SeriesDetail>();
      expect(detail.pacs).toBe(true);
      expect(detail.incomplete).toEqual({ expected: 3, received: 2 });
    } finally {
      await close();
    }
    // A whole series has neither (the first test opened it through the plain server).
    const [whole] = (await get(`/api/pacs/studies/${CT_STUDY}/series`)).json<PacsSeriesList>().series;
    const opened = (await call(app, { method: 'POST', url: `/api/pacs/studies/${CT_STUDY}/series/${whole!.seriesInstanceUid}/open` })).json<PacsOpened>();
    expect(opened).not.toHaveProperty('incomplete');
    expect((await get(`/api/series/${opened.series[0]!.id}`)).json<SeriesDetail>()).not.toHaveProperty('incomplete');
  });

  it('a job whose store-back fails is failed with the STOW error, nothing stored, and its comparison still opens', async () => {
    // The same Orthanc behind a proxy that answers every STOW-RS POST with HTTP 500.
    const proxy = await startProxy(orthanc.http);
    const failing = await buildApp({
      data: [],
      workDir: path.join(dir, 'work-stow-fails'),
      viewerDir: null,
      dicomweb: { base: `${proxy.base}/dicom-web`, client: { auth: `basic:${orthanc.user}:${orthanc.password}`, retries: 0 } },
    });
    try {
      const [source] = (await call(failing, { url: `/api/pacs/studies/${CT_STUDY}/series` })).json<PacsSeriesList>().series;
      const opened = (await call(failing, { method: 'POST', url: `/api/pacs/studies/${CT_STUDY}/series/${source!.seriesInstanceUid}/open` })).json<PacsOpened>();
      const before = (await orthancSeries(CT_STUDY)).map((s) => s.MainDicomTags.SeriesInstanceUID).sort();
      proxy.fail = (method) => method === 'POST';
      const started = await call(failing, { method: 'POST', url: '/api/jobs', payload: { series: [opened.series[0]!.id], options: { method: 'gaussian' }, store: true } });
      expect(started.statusCode).toBe(202);
      const job = await failing.jobs.settled(started.json<JobView>().id);
      seen.push(JSON.stringify(job));
      expect(job.status).toBe('failed');
      expect(job.progress?.stage).toBe('store');
      expect(job.error).toMatchObject({ code: 'E_IO', message: expect.stringMatching(/storing denoised series [0-9.]+ .*failed after 0 of 3 instance\(s\).*HTTP 500.*run again/) });
      expect(job.result!.stored).toEqual([]);
      expect(job.result!.errors).toEqual([job.error]);
      expect((await orthancSeries(CT_STUDY)).map((s) => s.MainDicomTags.SeriesInstanceUID).sort()).toEqual(before);
      // The denoised series is on this server: its comparison opens.
      expect(job.result!.comparisons).toHaveLength(1);
      expect((await call(failing, { url: `/api/comparisons/${job.result!.comparisons[0]}` })).statusCode).toBe(200);
    } finally {
      await failing.close();
      await proxy.close();
    }
  });

  it('refuses store-back for a series that did not come from the DICOMweb server', async () => {
    const [local] = app.data.index.seriesUnder(FIXTURE_SERIES);
    expect((await get(`/api/series/${local!.id}`)).json<SeriesDetail>().pacs).toBe(false);
    const refused = await call(app, { method: 'POST', url: '/api/jobs', payload: { series: [local!.id], options: { method: 'gaussian' }, store: true } });
    expect(refused.statusCode).toBe(400);
    expect(refused.json<ApiError>().message).toMatch(/only for series opened from it/);
  });

  it('refuses allowIncomplete for a series that did not come from the DICOMweb server (400 E_USAGE), as the CLI refuses --allow-incomplete on a folder', async () => {
    const [local] = app.data.index.seriesUnder(FIXTURE_SERIES);
    const before = app.jobs.list().length;
    const refused = await call(app, { method: 'POST', url: '/api/jobs', payload: { series: [local!.id], options: { method: 'gaussian' }, allowIncomplete: true } });
    expect(refused.statusCode).toBe(400);
    expect(refused.json<ApiError>()).toMatchObject({ code: 'E_USAGE', message: expect.stringMatching(new RegExp(`^"allowIncomplete" .* only for series opened from it; series ${local!.id} did not come from it`)) });
    expect(app.jobs.list()).toHaveLength(before);
  });

  it('never shows the credentials: no response body or header and no log line has them', async () => {
    const secrets = [orthanc.password, Buffer.from(`${orthanc.user}:${orthanc.password}`).toString('base64'), 'Basic '];
    expect(seen.length).toBeGreaterThan(20);
    for (const text of [...seen, log]) for (const secret of secrets) expect(text).not.toContain(secret);
    // Nor does the log carry a searched patient ID (query strings are not logged).
    expect(log).toContain('/api/pacs/studies');
    expect(log).not.toMatch(/patientId=/);
    expect(log).not.toMatch(SEARCHED_ID);
  });

  it('says clearly when the server refuses the credentials or cannot be reached', async () => {
    const wrong = await buildApp({
      data: [FIXTURE_SERIES],
      workDir: path.join(dir, 'work-wrong'),
      viewerDir: null,
      dicomweb: { base: orthanc.dicomweb, client: { auth: `basic:${orthanc.user}:not-the-password`, retries: 0 } },
    });
    const nothing = await closedPort(); // held: no other test's server can take it and answer
    const { port } = nothing;
    const gone = await buildApp({
      data: [FIXTURE_SERIES],
      workDir: path.join(dir, 'work-gone'),
      viewerDir: null,
      dicomweb: { base: `http://127.0.0.1:${port}/dicom-web`, client: { auth: `basic:${orthanc.user}:${orthanc.password}`, retries: 1, retryDelayMs: 10 } },
    });
    try {
      const refused = await call(wrong, { url: '/api/pacs/studies?patientId=99000' });
      expect(refused.statusCode).toBe(400);
      expect(refused.json<ApiError>()).toMatchObject({ code: 'E_USAGE' });
      expect(refused.json<ApiError>().message).toMatch(/HTTP 401 .*refused the credentials/);
      expect(refused.body).not.toContain('not-the-password');
      expect(refused.body).not.toMatch(SEARCHED_ID);
      const unreachable = await call(gone, { url: `/api/pacs/studies/${CT_STUDY}/series` });
      expect(unreachable.statusCode).toBe(502);
      expect(unreachable.json<ApiError>().code).toBe('E_IO');
      expect(unreachable.json<ApiError>().message).toMatch(new RegExp(`DICOMweb server http://127.0.0.1:${port}/dicom-web could not be reached: .*ECONNREFUSED`));
    } finally {
      await wrong.close();
      await gone.close();
      await nothing.release();
    }
  });

  it('lowdose serve --dicomweb takes the password from the environment and never prints it', async () => {
    const { child, url, log, exited } = await startServe(['--data', FIXTURE_SERIES, '--work', path.join(dir, 'work-cli'), '--dicomweb', orthanc.dicomweb], {
      ...process.env,
      [DICOMWEB_AUTH_ENV]: `basic:${orthanc.user}:${orthanc.password}`,
    });
    try {
      const response = await fetch(`${url}/api/pacs/studies?patientId=99000`);
      const text = await response.text();
      expect(response.status).toBe(200);
      expect((JSON.parse(text) as PacsStudies).studies.map((s) => s.patientId)).toEqual(['99000']);
      expect(text).not.toContain(orthanc.password);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(143);
    expect(log.stderr).toContain(`studies from the DICOMweb server ${orthanc.dicomweb}`);
    expect(log.stderr).not.toContain(orthanc.password);
    // The searched patient ID is not logged.
    expect(log.stderr).not.toMatch(/patientId=/);
    expect(log.stderr).not.toMatch(SEARCHED_ID);
    // Credentials without a server to use them on are a usage error.
    expect((await runCli('serve', '--dicomweb-auth', 'basic:a:b', '--port', '0')).code).toBe(2);
  }, 60_000);

  it('opening a series with an unreadable instance names it by SOP Instance UID and series URL, as denoise <url> does, and a job denoises the rest', async () => {
    // The real CT series as another study, its second instance's PixelData cut to half: Orthanc
    // stores it, lowdose cannot read its pixels.
    const originals = await readInstances(CT_DIR);
    const { study, series, unreadableSop: bad } = await uploadWithUnreadableInstance(orthanc, originals);
    expect(study).not.toBe(CT_STUDY);
    const response = await call(app, { method: 'POST', url: `/api/pacs/studies/${study}/series/${series}/open` });
    expect(response.statusCode).toBe(200);
    const opened = response.json<PacsOpened>();
    expect(opened).toMatchObject({ instances: 3, retrieved: 3, unreadableCount: 1 });
    expect(opened.series.map((s) => s.slices)).toEqual([2]);
    expect(opened.unreadable).toEqual([
      { code: 'E_TRUNCATED', message: expect.stringContaining(`instance ${bad} of ${orthanc.dicomweb}/studies/${study}/series/${series}: `) },
    ]);
    expect(opened.unreadable[0]!.message).toMatch(/pixel data holds 262144 bytes but 1 frame\(s\) of 512 x 512 x 16 bits need 524288/);
    // No server folder in it (the pull folder is under the work folder, shown as its label).
    expect(opened.unreadable[0]!.message).not.toContain(dir);
    // A readable series reports none.
    const [source] = (await get(`/api/pacs/studies/${CT_STUDY}/series`)).json<PacsSeriesList>().series;
    expect((await call(app, { method: 'POST', url: `/api/pacs/studies/${CT_STUDY}/series/${source!.seriesInstanceUid}/open` })).json<PacsOpened>().unreadable).toEqual([]);
    // A job on the opened series denoises its two readable instances.
    const started = await call(app, { method: 'POST', url: '/api/jobs', payload: { series: [opened.series[0]!.id], options: { method: 'gaussian' } } });
    expect(started.statusCode).toBe(202);
    const job = await app.jobs.settled(started.json<JobView>().id);
    seen.push(JSON.stringify(job));
    expect(job.status).toBe('done');
    expect(job.progress).toMatchObject({ slicesDone: 2, slicesTotal: 2 });
    // Its result names the instance it did not denoise, as the open did (and `denoise <url>` does in its errors).
    expect(job.result!.errors).toEqual(opened.unreadable);
  });

  it("a job's reference series with an unreadable instance: the job is done and its result.errors names that instance with role \"reference\" (as an input series, without a role)", async () => {
    const originals = await readInstances(CT_DIR);
    // The reference: the real CT series as a study of its own (UIDs 9 on, which no other test's
    // copies use), its second instance's PixelData cut to half: Orthanc stores it, lowdose cannot read its pixels.
    const uploaded = await uploadAsOtherStudy(orthanc, originals, new Set([1]), 9);
    const study = uploaded[0]!['StudyInstanceUID']!;
    const referenceUid = uploaded[0]!['SeriesInstanceUID']!;
    const bad = uploaded[1]!['SOPInstanceUID']!;
    // The input: the whole series as another series of that study.
    for (const bytes of copyAsOtherSeries(copyAsOtherStudy(originals, new Set(), 9), 7)) expect((await orthanc.rest('/instances', { method: 'POST', body: Buffer.from(bytes) })).ok).toBe(true);
    const inputUid = (await orthancSeries(study)).map((s) => s.MainDicomTags.SeriesInstanceUID).find((uid) => uid !== referenceUid)!;
    const open = async (uid: string) => (await call(app, { method: 'POST', url: `/api/pacs/studies/${study}/series/${uid}/open` })).json<PacsOpened>();
    const input = await open(inputUid);
    expect(input.unreadable).toEqual([]);
    const reference = await open(referenceUid);
    expect(reference.unreadable).toEqual([{ code: 'E_TRUNCATED', message: expect.stringContaining(`instance ${bad} of ${orthanc.dicomweb}/studies/${study}/series/${referenceUid}: `) }]);
    const run = async (series: string, against: string) => {
      const started = await call(app, { method: 'POST', url: '/api/jobs', payload: { series: [series], reference: against, options: { method: 'gaussian' } } });
      expect(started.statusCode).toBe(202);
      const job = await app.jobs.settled(started.json<JobView>().id);
      seen.push(JSON.stringify(job));
      return job;
    };
    // Scored against the reference's two readable instances, the job is done, and its result says which instance it left out of the reference.
    const scored = await run(input.series[0]!.id, reference.series[0]!.id);
    expect(scored.status).toBe('done');
    expect(scored.result!.errors).toEqual(reference.unreadable.map((e) => ({ ...e, role: 'reference' })));
    // The same series as the job's input: its unreadable instance is listed without a role, as before.
    const denoised = await run(reference.series[0]!.id, input.series[0]!.id);
    expect(denoised.status).toBe('done');
    expect(denoised.result!.errors).toEqual(reference.unreadable);
  });

  it('two servers on one work folder keep each other\'s opened series: the second starting and closing leaves the first\'s pulls, which it still denoises', async () => {
    // The original CT series (the study also holds the series stored back by the job above).
    const [original] = (await scanPaths([CT_DIR])).series;
    const openOn = async (server: FastifyInstance) =>
      (await call(server, { method: 'POST', url: `/api/pacs/studies/${CT_STUDY}/series/${original!.seriesInstanceUid}/open` })).json<PacsOpened>();
    const first = await openOn(app);
    const pulledByFirst = readdirSync(app.pacs!.pullDir, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.dcm'))
      .map((f) => path.join(app.pacs!.pullDir, f));
    expect(pulledByFirst.length).toBeGreaterThanOrEqual(3);

    const second = await buildApp({
      data: [],
      workDir: path.join(dir, 'work'),
      viewerDir: null,
      dicomweb: { base: orthanc.dicomweb, client: { auth: `basic:${orthanc.user}:${orthanc.password}`, retries: 0 } },
    });
    try {
      expect(pulledByFirst.filter((f) => !existsSync(f))).toEqual([]);
      // The second server pulls into a folder of its own and lists only its own pulls as PACS series.
      expect(second.pacs!.pullDir).not.toBe(app.pacs!.pullDir);
      expect(second.data.index.seriesUnder(app.pacs!.pullDir)).toEqual([]);
      const again = await openOn(second);
      expect(again).toMatchObject({ instances: 3, retrieved: 3 });
      expect((await call(second, { url: `/api/series/${again.series[0]!.id}` })).json<SeriesDetail>().pacs).toBe(true);
    } finally {
      await second.close();
    }
    // Closing removes only the second server's own pulls.
    expect(existsSync(second.pacs!.pullDir)).toBe(false);
    expect(pulledByFirst.filter((f) => !existsSync(f))).toEqual([]);
    const started = await call(app, { method: 'POST', url: '/api/jobs', payload: { series: [first.series[0]!.id], options: { method: 'gaussian' } } });
    const job = await app.jobs.settled(started.json<JobView>().id);
    seen.push(JSON.stringify(job));
    expect(job.status).toBe('done');
    expect(job.result!.errors).toEqual([]);
  });

  it('two requests opening one series at once share one pull: both answer the same series and each instance is retrieved once', async () => {
    const [original] = (await scanPaths([CT_DIR])).series;
    const proxy = await startProxy(orthanc.dicomweb);
    const retrieved: string[] = [];
    proxy.fail = (method, url) => {
      if (method === 'GET' && /\/instances\/[0-9.]+$/.test(url)) retrieved.push(url);
      return false;
    };
    const server = await buildApp({
      data: [],
      workDir: path.join(dir, 'work-concurrent'),
      viewerDir: null,
      dicomweb: { base: proxy.base, client: { auth: `basic:${orthanc.user}:${orthanc.password}`, retries: 0 } },
    });
    try {
      const url = `/api/pacs/studies/${CT_STUDY}/series/${original!.seriesInstanceUid}/open`;
      const answers = await Promise.all([call(server, { method: 'POST', url }), call(server, { method: 'POST', url })]);
      expect(answers.map((a) => a.statusCode)).toEqual([200, 200]);
      const [a, b] = answers.map((a) => a.json<PacsOpened>());
      expect(a!.series.map((s) => [s.id, s.slices])).toEqual(b!.series.map((s) => [s.id, s.slices]));
      expect(a!.series.map((s) => s.slices)).toEqual([3]);
      expect(retrieved).toHaveLength(3);
      expect(new Set(retrieved).size).toBe(3);
      // Only whole instance files in the pull folder: no temporary of a write is left.
      const files = readdirSync(server.pacs!.pullDir, { recursive: true, encoding: 'utf8' }).filter((f) => f.includes(path.sep));
      expect(files.map((f) => path.basename(f)).sort()).toEqual(retrieved.map((u) => `${u.slice(u.lastIndexOf('/') + 1)}.dcm`).sort());
    } finally {
      await server.close();
      await proxy.close();
    }
  });

  it('a server that refuses offset (HTTP 400): the series list is what it answers, marked truncated with the count it lacks when it caps the answer', async () => {
    const originals = await readInstances(CT_DIR);
    const study = (await uploadAsOtherStudy(orthanc, originals, new Set(), 21))[0]!['StudyInstanceUID']!;
    for (const bytes of copyAsOtherSeries(copyAsOtherStudy(originals, new Set(), 21), 1)) expect((await orthanc.rest('/instances', { method: 'POST', body: Buffer.from(bytes) })).ok).toBe(true);
    const proxy = await startProxy(orthanc.http);
    proxy.fail = (method, url) => (method === 'GET' && /[?&]offset=/.test(url) ? 400 : false);
    const server = await buildApp({
      data: [],
      workDir: path.join(dir, 'work-offset-refused'),
      viewerDir: null,
      dicomweb: { base: `${proxy.base}/dicom-web`, client: { auth: `basic:${orthanc.user}:${orthanc.password}`, retries: 0 } },
    });
    try {
      const whole = await call(server, { url: `/api/pacs/studies/${study}/series` });
      expect(whole.statusCode).toBe(200);
      expect(whole.json<PacsSeriesList>()).toMatchObject({ truncated: false, truncation: null });
      expect(whole.json<PacsSeriesList>().series).toHaveLength(2);

      // Capped at 1 series per answer.
      proxy.rewrite = (method, url) => (method === 'GET' && /\/series(\?|$)/.test(url) ? `${url}${url.includes('?') ? '&' : '?'}limit=1` : url);
      const capped = await call(server, { url: `/api/pacs/studies/${study}/series` });
      expect(capped.statusCode).toBe(200);
      const list = capped.json<PacsSeriesList>();
      expect(list.series).toHaveLength(1);
      expect(list.truncated).toBe(true);
      expect(list.truncation).toBe(`the server lists 1 of the 2 series of study ${study}: the server refused to page its answer (HTTP 400 to the offset parameter), so a capped answer cannot be completed`);
    } finally {
      await server.close();
      await proxy.close();
    }
  });

  it('the study search lists at most `limit` and says when more match; through a server that caps each answer at 1 study it pages up to `limit`, and says so when the server refuses offset', async () => {
    const originals = await readInstances(CT_DIR);
    await uploadAsOtherStudy(orthanc, originals, new Set(), 31);
    const total = ((await (await orthanc.rest('/studies')).json()) as string[]).length;
    expect(total).toBeGreaterThanOrEqual(3);
    const search = async (app: FastifyInstance, query: string) => {
      const response = await call(app, { url: `/api/pacs/studies?${query}` });
      expect(response.statusCode).toBe(200);
      return response.json<PacsStudies>();
    };
    const all = await search(app, 'limit=100');
    expect([all.studies.length, all.truncated, all.truncation]).toEqual([total, false, null]);
    const two = await search(app, 'limit=2');
    expect(two.studies).toHaveLength(2);
    expect(two.truncated).toBe(true);
    expect(two.truncation).toBe('more than 2 studies match: these are 2 of them, newest first, not necessarily the newest 2 on the server; narrow the search');
    // Exactly `limit` matches: all of them, no word of more.
    expect(await search(app, `limit=${total}`)).toMatchObject({ truncated: false, truncation: null });

    // The same Orthanc capping every studies answer at 1 match.
    const proxy = await startProxy(orthanc.http);
    proxy.rewrite = (method, url) => (method === 'GET' && /\/studies\?/.test(url) ? url.replace(/limit=\d+/, 'limit=1') : url);
    const capped = await buildApp({
      data: [],
      workDir: path.join(dir, 'work-capped-search'),
      viewerDir: null,
      dicomweb: { base: `${proxy.base}/dicom-web`, client: { auth: `basic:${orthanc.user}:${orthanc.password}`, retries: 0 } },
    });
    try {
      const paged = await search(capped, 'limit=100');
      expect(paged.studies.map((s) => s.studyInstanceUid)).toEqual(all.studies.map((s) => s.studyInstanceUid));
      expect(paged.truncated).toBe(false);
      expect(await search(capped, 'limit=2')).toMatchObject({ truncated: true, truncation: expect.stringMatching(/^more than 2 studies match/) });

      proxy.fail = (method, url) => (method === 'GET' && /[?&]offset=/.test(url) ? 400 : false);
      const refused = await search(capped, 'limit=100');
      expect(refused.studies).toHaveLength(1);
      expect(refused.truncated).toBe(true);
      expect(refused.truncation).toBe('the server refused to page its answer (HTTP 400 to the offset parameter): it may hold more matching studies than the 1 it listed; narrow the search');
    } finally {
      await capped.close();
      await proxy.close();
    }
  });

  it('a study search whose browser goes away (the request\'s connection closed) aborts its QIDO-RS request', async () => {
    // The QIDO-RS study search is held at a proxy until it is given up: the search is in flight when the browser leaves.
    const proxy = await startProxy(orthanc.http);
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let held!: () => void;
    const atHold = new Promise<void>((resolve) => (held = resolve));
    proxy.hold = async (method, url) => {
      if (method === 'GET' && /\/studies\?/.test(url)) {
        held();
        await released;
      }
    };
    const server = await buildApp({
      data: [],
      workDir: path.join(dir, 'work-gone'),
      viewerDir: null,
      dicomweb: { base: `${proxy.base}/dicom-web`, client: { auth: `basic:${orthanc.user}:${orthanc.password}`, retries: 0 } },
    });
    try {
      await server.listen({ port: 0, host: '127.0.0.1' });
      const { port } = server.server.address() as AddressInfo;
      const browser = http.get({ host: '127.0.0.1', port, path: '/api/pacs/studies?patientId=99000' });
      browser.on('error', () => {}); // destroyed below
      await atHold;
      expect(proxy.abandoned).toEqual([]);
      browser.destroy();
      // Until lowdose's request to the PACS is closed unanswered (a generous bound on a loaded machine: no time is asserted).
      await vi.waitFor(() => expect(proxy.abandoned.map((r) => r.url)).toEqual([expect.stringMatching(/^\/dicom-web\/studies\?.*PatientID=99000/)]), { timeout: 60_000, interval: 20 });
    } finally {
      release();
      await server.close();
      await proxy.close();
    }
  });

  it('a job on a series the server gives short of its instances is refused as denoise <url> refuses it (E_IO, incomplete) unless it allows incomplete input; then its result records the counts of the partial series it stored', async () => {
    // The CT series as a study of its own (its derived series stored there), 2 of its 3 instances coming.
    const originals = await readInstances(CT_DIR);
    const uploaded = await uploadAsOtherStudy(orthanc, originals, new Set(), 7);
    const study = uploaded[0]!['StudyInstanceUID']!;
    const seriesUid = uploaded[0]!['SeriesInstanceUID']!;
    const { server: capped, close } = await cappedInstanceLists('work-short-job');
    try {
      const opened = (await call(capped, { method: 'POST', url: `/api/pacs/studies/${study}/series/${seriesUid}/open` })).json<PacsOpened>();
      expect(opened.incomplete).toEqual({ expected: 3, received: 2 });
      const id = opened.series[0]!.id;
      const seriesOnServer = async () => (await orthancSeries(study)).map((s) => s.MainDicomTags.SeriesInstanceUID).sort();
      expect(await seriesOnServer()).toEqual([seriesUid]);
      const run = async (payload: Record<string, unknown>) => {
        const started = await call(capped, { method: 'POST', url: '/api/jobs', payload: { series: [id], options: { method: 'gaussian' }, ...payload } });
        expect(started.statusCode).toBe(202);
        const job = await capped.jobs.settled(started.json<JobView>().id);
        seen.push(JSON.stringify(job));
        return job;
      };

      // Refused, with store-back or without: nothing denoised, nothing stored, the counts in the error as denoise <url> gives them.
      for (const store of [true, false]) {
        const refused = await run({ store });
        expect(refused.status).toBe('failed');
        expect(refused.allowIncomplete).toBe(false);
        expect(refused.error).toEqual({
          code: 'E_IO',
          message: expect.stringMatching(/^series [0-9.]+ is incomplete: the server says it holds 3 instance\(s\) and .*lack 1 slice\(s\); nothing was denoised\. allowIncomplete denoises the 2 that came and records the counts in the job's result$/),
          incomplete: { seriesInstanceUid: seriesUid, expected: 3, received: 2 },
        });
        expect(refused.result).toBeNull();
        expect(refused.startedAt).toBeNull();
      }
      expect(await seriesOnServer()).toEqual([seriesUid]);

      // Allowed: the 2 that came are denoised and stored, and the result says the series was partial.
      const allowed = await run({ store: true, allowIncomplete: true });
      expect(allowed.error).toBeNull();
      expect(allowed.status).toBe('done');
      expect(allowed.allowIncomplete).toBe(true);
      expect(allowed.result!.incomplete).toEqual([{ series: id, seriesInstanceUid: seriesUid, expected: 3, received: 2 }]);
      const stored = allowed.result!.stored!;
      expect(stored.map((s) => [s.kind, s.studyInstanceUid, s.instances])).toEqual([['denoised', study, 2]]);
      expect(await seriesOnServer()).toEqual([seriesUid, stored[0]!.seriesInstanceUid].sort());
    } finally {
      await close();
    }
  });

  it('a job whose reference series the server gave short of its instances is refused (E_IO, incomplete) unless it allows incomplete input; then its result records the reference\'s counts', async () => {
    const originals = await readInstances(CT_DIR);
    // The reference: the CT series as a study of its own, 2 of its 3 instances coming through the capped server.
    const uploaded = await uploadAsOtherStudy(orthanc, originals, new Set(), 8);
    const study = uploaded[0]!['StudyInstanceUID']!;
    const referenceUid = uploaded[0]!['SeriesInstanceUID']!;
    // The input: two of those slices as another series of the study, whole (2 of 2 come). Its UIDs
    // (and the upload's below) end 3 and 4 digits on from the originals': no other test's copies do.
    const inputFiles = copyAsOtherSeries(copyAsOtherStudy(originals.slice(0, 2), new Set(), 8), 5);
    for (const bytes of inputFiles) expect((await orthanc.rest('/instances', { method: 'POST', body: Buffer.from(bytes) })).ok).toBe(true);
    const inputUid = (await orthancSeries(study)).map((s) => s.MainDicomTags.SeriesInstanceUID).find((uid) => uid !== referenceUid)!;
    const { server: capped, close } = await cappedInstanceLists('work-short-reference');
    try {
      const open = async (uid: string) => (await call(capped, { method: 'POST', url: `/api/pacs/studies/${study}/series/${uid}/open` })).json<PacsOpened>();
      const input = await open(inputUid);
      expect(input).not.toHaveProperty('incomplete');
      const reference = await open(referenceUid);
      expect(reference.incomplete).toEqual({ expected: 3, received: 2 });
      const run = async (series: string, allowIncomplete?: boolean) => {
        const started = await call(capped, { method: 'POST', url: '/api/jobs', payload: { series: [series], reference: reference.series[0]!.id, options: { method: 'gaussian' }, ...(allowIncomplete ? { allowIncomplete } : {}) } });
        expect(started.statusCode).toBe(202);
        const job = await capped.jobs.settled(started.json<JobView>().id);
        seen.push(JSON.stringify(job));
        return job;
      };

      const refused = await run(input.series[0]!.id);
      expect(refused.status).toBe('failed');
      expect(refused.error).toEqual({
        code: 'E_IO',
        message: `reference series ${referenceUid} is incomplete: the server says it holds 3 instance(s) and 2 came when it was opened, so the job's scores would be against part of it; nothing was denoised. allowIncomplete scores against the 2 that came and records the counts in the job's result`,
        incomplete: { seriesInstanceUid: referenceUid, expected: 3, received: 2 },
      });
      expect(refused.startedAt).toBeNull();

      const referenceIncomplete = { series: reference.series[0]!.id, seriesInstanceUid: referenceUid, expected: 3, received: 2 };
      const allowed = await run(input.series[0]!.id, true);
      expect(allowed.error).toBeNull();
      expect(allowed.status).toBe('done');
      expect(allowed.result!.referenceIncomplete).toEqual(referenceIncomplete);
      expect(allowed.result).not.toHaveProperty('incomplete');

      // An input on this server (an upload) with that reference: allowIncomplete is for the reference then.
      const upload = await call(capped, { method: 'POST', url: '/api/uploads', ...multipart(copyAsOtherSeries(inputFiles, 1).map((data, i) => ({ name: `${i}.dcm`, data }))) });
      expect(upload.statusCode).toBe(200);
      const uploadedId = upload.json<UploadResponse>().series[0]!.id;
      expect((await run(uploadedId)).error?.incomplete).toEqual({ seriesInstanceUid: referenceUid, expected: 3, received: 2 });
      const local = await run(uploadedId, true);
      expect(local.status).toBe('done');
      expect(local.result!.referenceIncomplete).toEqual(referenceIncomplete);
    } finally {
      await close();
    }
  });

  it('a multi-bed PET series the server gives short of its instances carries its SUV note: in the open answer, the series warnings the viewer shows, and the result of a job allowed to denoise it', async () => {
    // Six slices of three beds (SeriesTime after every AcquisitionTime, NumberOfSlices 6) as a study of their own; 2 come.
    const beds = writeBedSeries(6);
    try {
      const uploaded = await uploadAsOtherStudy(orthanc, beds.files.map((f) => new Uint8Array(readFileSync(f))), new Set(), 3);
      const study = uploaded[0]!['StudyInstanceUID']!;
      const seriesUid = uploaded[0]!['SeriesInstanceUID']!;
      const { server: capped, close } = await cappedInstanceLists('work-short-pet');
      try {
        const opened = (await call(capped, { method: 'POST', url: `/api/pacs/studies/${study}/series/${seriesUid}/open` })).json<PacsOpened>();
        const note = /^SUVbw is decayed to the earliest AcquisitionTime of the 2 file\(s\) read \(\d{8} 15\d{4}\.\d+\), SeriesTime being later, .*the series holds 6 slice\(s\) \(NumberOfSlices\) and 2 were read: /;
        expect(opened.incomplete).toEqual({ expected: 6, received: 2, suvNote: expect.stringMatching(note) });
        const suvNote = opened.incomplete!.suvNote!;
        // The series' reading warnings, which the viewer's warning bar shows (showSeriesWarnings), say the same.
        const id = opened.series[0]!.id;
        const detail = (await call(capped, { url: `/api/series/${id}` })).json<SeriesDetail>();
        expect(detail.incomplete).toEqual({ expected: 6, received: 2 });
        expect(detail.warnings.filter((w) => w.code === 'W_SUV_PARTIAL_SERIES').map((w) => w.message)).toEqual([expect.stringMatching(/^\S+: /)]);
        expect(detail.warnings.find((w) => w.code === 'W_SUV_PARTIAL_SERIES')!.message.endsWith(`: ${suvNote}`)).toBe(true);

        const started = await call(capped, { method: 'POST', url: '/api/jobs', payload: { series: [id], options: { method: 'gaussian' }, allowIncomplete: true } });
        expect(started.statusCode).toBe(202);
        const job = await capped.jobs.settled(started.json<JobView>().id);
        seen.push(JSON.stringify(job));
        expect(job.error).toBeNull();
        expect(job.result!.incomplete).toEqual([{ series: id, seriesInstanceUid: seriesUid, expected: 6, received: 2, suvNote }]);
      } finally {
        await close();
      }
    } finally {
      beds.remove();
    }
  });

  it.skipIf(!hasPydicom)('runs a job with store-back on a dynamic PET series: ONE new derived series of its 6 instances, each with its source image\'s ImageIndex', async () => {
    const { study, series: source } = await uploadDynamicPet(orthanc, path.join(dir, 'pet-timing'));
    const opened = (await call(app, { method: 'POST', url: `/api/pacs/studies/${study}/series/${source}/open` })).json<PacsOpened>();
    expect(opened.series.map((s) => [s.modality, s.slices])).toEqual([['PT', 2], ['PT', 2], ['PT', 2]]);
    const before = (await orthancSeries(study)).map((s) => s.MainDicomTags.SeriesInstanceUID);

    const started = await call(app, { method: 'POST', url: '/api/jobs', payload: { series: opened.series.map((s) => s.id), options: { method: 'gaussian' }, store: true } });
    expect(started.statusCode).toBe(202);
    const job = await app.jobs.settled(started.json<JobView>().id);
    expect(job.error).toBeNull();
    expect(job.status).toBe('done');
    expect(job.result!.comparisons).toHaveLength(3);
    const stored = job.result!.stored!;
    expect(stored.map((s) => [s.kind, s.studyInstanceUid, s.instances])).toEqual([['denoised', study, 6]]);

    // On the server: exactly one new series, holding every time point's instances with the source's frame structure.
    const after = await orthancSeries(study);
    expect(after.map((s) => s.MainDicomTags.SeriesInstanceUID).sort()).toEqual([...before, stored[0]!.seriesInstanceUid].sort());
    const derived = after.find((s) => s.MainDicomTags.SeriesInstanceUID === stored[0]!.seriesInstanceUid)!;
    expect(await imageIndexes(orthanc, derived.Instances)).toEqual([1, 2, 3, 4, 5, 6].map((i) => [i, 3]));
  });

  it('has no PACS routes to speak of without --dicomweb', async () => {
    const plain = await buildApp({ data: [FIXTURE_SERIES], workDir: path.join(dir, 'work-plain'), viewerDir: null });
    try {
      expect((await plain.inject({ url: '/api/pacs' })).json<PacsInfo>()).toEqual({ server: null, protocol: null });
      const none = await plain.inject({ url: '/api/pacs/studies' });
      expect(none.statusCode).toBe(404);
      expect(none.json<ApiError>().message).toMatch(/--dicomweb/);
      const series = (await plain.inject({ url: '/api/studies' })).json<{ studies: Array<{ series: Array<{ id: string }> }> }>().studies[0]!.series[0]!;
      const job = await plain.inject({ method: 'POST', url: '/api/jobs', payload: { series: [series.id], store: true } });
      expect(job.statusCode).toBe(400);
      expect(job.json<ApiError>().message).toMatch(/--dicomweb/);
    } finally {
      await plain.close();
    }
  });
});
