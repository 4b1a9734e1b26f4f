/**
 * `serve --dimse dimse://AET@host:port` against a real Orthanc's DICOM port: the viewer's PACS API
 * (the routes and answers of `serve --dicomweb`) searches the studies with C-FIND (at most `limit`,
 * newest first, the C-FIND cancelled once more match, and says when more match or the PACS caps its
 * answer), lists a study's series, opens
 * a series with C-GET or with C-MOVE to our storage SCP, shares one retrieve between two opens of
 * one series, reports a series that came short of its instances and an unreadable instance, stores
 * a job's result back with C-STORE, answers 502 when the PACS fails; and `serve` refuses options
 * that do not go together (exit 2).
 */
import { readdirSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { readSliceImage, scanPaths } from '../../src/dicom/index.js';
import type { ApiError, JobView, PacsInfo, PacsOpened, PacsSeriesList, PacsStudies, SeriesDetail, StudiesResponse } from '../../src/server/api-types.js';
import { buildApp } from '../../src/server/app.js';
import type { DimseServeOptions } from '../../src/server/pacs-dimse.js';
import { decodeSlice } from '../../src/server/slice-encoding.js';
import { runCli } from '../helpers/cli.js';
import { commandElement, startCuttingProxy, withSomeSubOperationsFailed } from '../helpers/cutting-proxy.js';
import { copyAsOtherSeries, withSameLengthText } from '../helpers/mutate-dicom.js';
import { closedPort, findOrthanc, freePort, ORTHANC_AET, readInstances, type RunningOrthanc, seriesInStudy, startOrthanc, uploadCohort, uploadInstances, uploadWithUnreadableInstance } from '../helpers/orthanc.js';

const CT_DIR = path.resolve('../shared/dicom/QIICR__dcmqi/data/segmentations/ct-3slice');
const CALLING_AET = 'LOWDOSE';
const installed = findOrthanc();
if (!installed) console.warn('skipping serve --dimse tests: Orthanc is not installed (apt-get install orthanc orthanc-dicomweb)');

/** The bytes of a C-GET-RQ's CommandField (0000,0100) = 0x0010, implicit VR little endian, as our requests carry it. */
const C_GET_RQ = Buffer.from([0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x10, 0x00]);

async function readOriginals(): Promise<Uint8Array[]> {
  return readInstances(CT_DIR);
}

describe.skipIf(!installed)('serve --dimse against Orthanc', () => {
  let dir: string;
  let orthanc: RunningOrthanc;
  let movePort: number;
  let app: FastifyInstance;
  let originals: Uint8Array[];
  const study = { A: '', B: '', C: '' };
  let pacs: string;
  const options: DimseServeOptions = { callingAet: CALLING_AET, timeoutMs: 20_000 };
  const peer = (port: number) => ({ aet: ORTHANC_AET, host: '127.0.0.1', port });
  const servers: FastifyInstance[] = [];
  /** Another lowdose server on the same Orthanc (or a proxy in front of it), closed after the file. */
  async function serverOn(port: number, name: string, more: Partial<DimseServeOptions> = {}): Promise<FastifyInstance> {
    const server = await buildApp({ data: [], workDir: path.join(dir, name), viewerDir: null, dimse: { peer: peer(port), options: { ...options, ...more } } });
    servers.push(server);
    return server;
  }
  const post = (server: FastifyInstance, url: string) => server.inject({ method: 'POST', url });

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lowdose-serve-dimse-'));
    movePort = await freePort();
    orthanc = await startOrthanc(dir, { dicomModalities: { lowdose: { aet: CALLING_AET, host: '127.0.0.1', port: movePort } } });
    pacs = `dimse://${ORTHANC_AET}@127.0.0.1:${orthanc.dicomPort}`;
    originals = await readOriginals();
    // B gets an accession number of its own (A and C keep the original's 03086212).
    Object.assign(study, await uploadCohort(orthanc, originals, 31, (name, file) => (name === 'B' ? withSameLengthText(file, 'x00080050', '03086299') : file)));
    app = await serverOn(orthanc.dicomPort, 'work');
  }, 60_000);

  afterAll(async () => {
    for (const server of servers) await server.close();
    await orthanc?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('says which PACS it browses, and searches its studies with C-FIND: newest first, by patient ID (wildcards too), accession number and study date range', async () => {
    expect((await app.inject({ url: '/api/pacs' })).json<PacsInfo>()).toEqual({ server: pacs, protocol: 'dimse' });
    const all = await app.inject({ url: '/api/pacs/studies' });
    expect(all.statusCode).toBe(200);
    const body = all.json<PacsStudies>();
    expect(body).toMatchObject({ server: pacs, limit: 100, truncated: false, truncation: null });
    // C (2019) first; A and B share their date.
    expect(body.studies.map((s) => s.studyInstanceUid)).toEqual([study.C, ...[study.A, study.B].sort()]);
    expect(body.studies[0]).toEqual({ studyInstanceUid: study.C, patientName: 'JANCT000', patientId: '99017', date: '20190305', accessionNumber: '03086212', description: '', modalities: ['CT'], series: 1, instances: 3 });
    const ids = async (query: string) => (await app.inject({ url: `/api/pacs/studies?${query}` })).json<PacsStudies>().studies.map((s) => s.studyInstanceUid);
    expect(await ids('patientId=99000')).toEqual([study.A]);
    expect(await ids('patientId=9901*')).toEqual([study.C, study.B]);
    expect(await ids('from=20190101')).toEqual([study.C]);
    expect(await ids('to=20031231&patientId=99017')).toEqual([study.B]);
    expect(await ids('patientId=nobody')).toEqual([]);
    expect(await ids('accessionNumber=03086299')).toEqual([study.B]);
    expect(await ids('accessionNumber=0308629?')).toEqual([study.B]);
    expect(await ids('accessionNumber=03086212&patientId=99017')).toEqual([study.C]);
    const empty = await app.inject({ url: '/api/pacs/studies?from=20101231&to=20000101' });
    expect(empty.statusCode).toBe(400);
    expect(empty.json<ApiError>().message).toMatch(/date range is empty/);
  });

  it('a search that matches more than `limit` cancels its C-FIND (C-CANCEL) once `limit` + 1 have come, lists `limit` of them newest first and says more match', async () => {
    // A server on a proxy in front of Orthanc, which counts the C-CANCEL commands we send.
    const proxy = await startCuttingProxy(orthanc.dicomPort);
    const cancel = commandElement(0x0100, 0x0fff);
    let cancels = 0;
    proxy.watch = (chunk) => void (chunk.includes(cancel) && cancels++);
    try {
      const server = await serverOn(proxy.port, 'work-cancel');
      const studies = async (query: string) => (await server.inject({ url: `/api/pacs/studies?${query}` })).json<PacsStudies>();
      const more = (limit: number) => `more than ${limit} studies match: these are ${limit} of them, newest first, not necessarily the newest ${limit} on the PACS (its C-FIND was cancelled once ${limit + 1} had come); narrow the search`;
      // limit 2: cancelled at the third match, which is every study: the newest 2 of all.
      const two = await studies('limit=2');
      expect(two.studies.map((s) => s.studyInstanceUid)).toEqual([study.C, [study.A, study.B].sort()[0]]);
      expect(two).toMatchObject({ limit: 2, truncated: true, truncation: more(2) });
      expect(cancels).toBe(1);
      // limit 1: the newer of the first two that came (newest first among them).
      const one = await studies('limit=1');
      expect(one).toMatchObject({ truncated: true, truncation: more(1) });
      expect(one.studies).toHaveLength(1);
      expect([study.A, study.B, study.C]).toContain(one.studies[0]!.studyInstanceUid);
      expect(cancels).toBe(2);
      const patient = await studies('limit=1&patientId=99017');
      expect(patient).toMatchObject({ truncated: true, truncation: more(1) });
      expect([study.B, study.C]).toContain(patient.studies[0]!.studyInstanceUid);
      expect(cancels).toBe(3);
      // limit 3: every match came and no more: not truncated, nothing cancelled.
      expect(await studies('limit=3')).toMatchObject({ truncated: false, truncation: null });
      expect(cancels).toBe(3);
    } finally {
      await proxy.close();
    }
  });

  it('a study search whose browser goes away (the request\'s connection closed) cancels its C-FIND with C-CANCEL', async () => {
    // The PACS's first C-FIND-RSP is held at a proxy until the C-CANCEL has come: the search is in flight when the browser leaves.
    const proxy = await startCuttingProxy(orthanc.dicomPort);
    const cancel = commandElement(0x0100, 0x0fff);
    let cancels = 0;
    proxy.watch = (chunk) => void (chunk.includes(cancel) && cancels++);
    proxy.holdWhen = (chunk) => chunk.includes(commandElement(0x0100, 0x8020));
    const held = new Promise<void>((resolve) => (proxy.onHold = resolve));
    try {
      const server = await serverOn(proxy.port, 'work-gone');
      await server.listen({ port: 0, host: '127.0.0.1' });
      const { port } = server.server.address() as AddressInfo;
      const browser = http.get({ host: '127.0.0.1', port, path: '/api/pacs/studies?patientId=99017' });
      browser.on('error', () => {}); // destroyed below
      await held;
      expect(cancels).toBe(0);
      browser.destroy();
      // Until the C-CANCEL reaches the PACS (a generous bound on a loaded machine: no time is asserted).
      await vi.waitFor(() => expect(cancels).toBe(1), { timeout: 60_000, interval: 20 });
    } finally {
      proxy.release();
      await proxy.close();
    }
  });

  it("lists a study's series and opens one with C-GET: retrieved into the work folder and served like a local series; opened again, nothing is retrieved", async () => {
    const list = await app.inject({ url: `/api/pacs/studies/${study.A}/series` });
    expect(list.statusCode).toBe(200);
    const { series, truncated, truncation } = list.json<PacsSeriesList>();
    expect({ truncated, truncation }).toEqual({ truncated: false, truncation: null });
    expect(series).toEqual([expect.objectContaining({ modality: 'CT', instances: 3, denoisable: true })]);
    const url = `/api/pacs/studies/${study.A}/series/${series[0]!.seriesInstanceUid}/open`;
    const opened = await post(app, url);
    expect(opened.statusCode, opened.body).toBe(200);
    const body = opened.json<PacsOpened>();
    expect(body).toMatchObject({ instances: 3, retrieved: 3, unreadable: [] });
    expect(body).not.toHaveProperty('incomplete');
    expect(body.series.map((s) => [s.modality, s.slices])).toEqual([['CT', 3]]);
    const detail = (await app.inject({ url: `/api/series/${body.series[0]!.id}` })).json<SeriesDetail>();
    expect(detail.pacs).toBe(true);
    expect(detail.patientId).toBe('99000');
    // The pixels the viewer gets are those of the original files.
    const [local] = (await scanPaths([CT_DIR])).series;
    for (const index of [0, 2]) {
      const slice = await app.inject({ url: `/api/series/${body.series[0]!.id}/slices/${index}?dtype=float32` });
      expect(decodeSlice(slice.rawPayload).values).toEqual((await readSliceImage(local!, index)).data);
    }
    expect((await post(app, url)).json<PacsOpened>()).toMatchObject({ instances: 3, retrieved: 0 });
    // A series or a study the PACS does not have.
    expect((await post(app, `/api/pacs/studies/${study.A}/series/1.2.3.4/open`)).statusCode).toBe(404);
    expect((await app.inject({ url: '/api/pacs/studies/1.2.3.4/series' })).statusCode).toBe(404);
  });

  it('opens a series with C-MOVE to our storage SCP on --move-port', async () => {
    const server = await serverOn(orthanc.dicomPort, 'work-move', { movePort });
    const [series] = (await server.inject({ url: `/api/pacs/studies/${study.B}/series` })).json<PacsSeriesList>().series;
    const opened = await post(server, `/api/pacs/studies/${study.B}/series/${series!.seriesInstanceUid}/open`);
    expect(opened.statusCode, opened.body).toBe(200);
    expect(opened.json<PacsOpened>()).toMatchObject({ instances: 3, retrieved: 3, unreadable: [] });
    expect(opened.json<PacsOpened>().series.map((s) => s.slices)).toEqual([3]);
    // The instances are in this server's own pull folder.
    const files = readdirSync(server.pacs!.pullDir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.dcm'));
    expect(files).toHaveLength(3);
  });

  it('two requests opening one series at once share one C-GET', async () => {
    const proxy = await startCuttingProxy(orthanc.dicomPort, 'client');
    let gets = 0;
    proxy.rewrite = (chunk) => {
      if (chunk.includes(C_GET_RQ)) gets++;
      return chunk;
    };
    try {
      const server = await serverOn(proxy.port, 'work-concurrent');
      const [series] = (await server.inject({ url: `/api/pacs/studies/${study.C}/series` })).json<PacsSeriesList>().series;
      const url = `/api/pacs/studies/${study.C}/series/${series!.seriesInstanceUid}/open`;
      const answers = await Promise.all([post(server, url), post(server, url)]);
      expect(answers.map((a) => a.statusCode)).toEqual([200, 200]);
      const [a, b] = answers.map((a) => a.json<PacsOpened>());
      expect(a!.series.map((s) => [s.id, s.slices])).toEqual(b!.series.map((s) => [s.id, s.slices]));
      expect(gets).toBe(1);
    } finally {
      await proxy.close();
    }
  });

  it('a series the PACS gives short of its instances (C-GET answered 0xB000, 3 completed, 1 failed) opens with the shortfall in the open answer and the series detail', async () => {
    const proxy = await startCuttingProxy(orthanc.dicomPort);
    const changed = { count: 0 };
    proxy.rewrite = withSomeSubOperationsFailed(1, changed);
    try {
      const server = await serverOn(proxy.port, 'work-short');
      const [series] = (await server.inject({ url: `/api/pacs/studies/${study.A}/series` })).json<PacsSeriesList>().series;
      const opened = await post(server, `/api/pacs/studies/${study.A}/series/${series!.seriesInstanceUid}/open`);
      expect(opened.statusCode, opened.body).toBe(200);
      expect(changed.count).toBe(1);
      const body = opened.json<PacsOpened>();
      expect(body).toMatchObject({ instances: 3, incomplete: { expected: 4, received: 3 } });
      const detail = (await server.inject({ url: `/api/series/${body.series[0]!.id}` })).json<SeriesDetail>();
      expect(detail.incomplete).toEqual({ expected: 4, received: 3 });
      // A job on it fails as denoise dimse://... refuses it, unless it allows incomplete input.
      const run = async (allowIncomplete: boolean) => {
        const started = await server.inject({ method: 'POST', url: '/api/jobs', payload: { series: [body.series[0]!.id], options: { method: 'gaussian' }, allowIncomplete } });
        expect(started.statusCode, started.body).toBe(202);
        return server.jobs.settled(started.json<JobView>().id);
      };
      const refused = await run(false);
      expect(refused.status).toBe('failed');
      expect(refused.error).toMatchObject({ code: 'E_IO', incomplete: { seriesInstanceUid: series!.seriesInstanceUid, expected: 4, received: 3 } });
      const allowed = await run(true);
      expect(allowed.status).toBe('done');
      expect(allowed.result!.incomplete).toEqual([expect.objectContaining({ seriesInstanceUid: series!.seriesInstanceUid, expected: 4, received: 3 })]);
    } finally {
      await proxy.close();
    }
  });

  it('an unreadable instance is named by SOP Instance UID and the series address; a job with store-back denoises the rest and stores it with C-STORE into the same study', async () => {
    const { study: uid, series, unreadableSop } = await uploadWithUnreadableInstance(orthanc, originals.slice(0, 3), 1);
    const opened = await post(app, `/api/pacs/studies/${uid}/series/${series}/open`);
    expect(opened.statusCode, opened.body).toBe(200);
    const body = opened.json<PacsOpened>();
    expect(body.series.map((s) => s.slices)).toEqual([2]);
    expect(body.unreadable).toEqual([{ code: 'E_TRUNCATED', message: expect.stringContaining(`instance ${unreadableSop} of ${pacs}/${uid}/${series}: `) }]);
    expect(body.unreadable[0]!.message).not.toContain(dir);

    const started = await app.inject({ method: 'POST', url: '/api/jobs', payload: { series: [body.series[0]!.id], options: { method: 'gaussian' }, store: true } });
    expect(started.statusCode, started.body).toBe(202);
    const job = await app.jobs.settled(started.json<JobView>().id);
    expect(job.error).toBeNull();
    expect(job.status).toBe('done');
    expect(job.result!.errors).toEqual(body.unreadable);
    const stored = job.result!.stored!;
    expect(stored.map((s) => [s.kind, s.studyInstanceUid, s.instances])).toEqual([['denoised', uid, 2]]);
    expect(stored[0]!.url).toBe(`${pacs}/${uid}/${stored[0]!.seriesInstanceUid}`);
    const after = await seriesInStudy(orthanc, uid);
    expect(after.map((s) => s.MainDicomTags.SeriesInstanceUID).sort()).toEqual([series, stored[0]!.seriesInstanceUid].sort());
    // Opened again from the PACS by another server (the job's completion marker stays in the first
    // server's work folder): whole by the count its files state, with its series means.
    const reader = await serverOn(orthanc.dicomPort, 'work-reopen');
    for (const s of [series, stored[0]!.seriesInstanceUid]) expect((await post(reader, `/api/pacs/studies/${uid}/series/${s}/open`)).statusCode).toBe(200);
    const comparisons = (await reader.inject({ url: '/api/studies' })).json<StudiesResponse>().studies.flatMap((st) => st.comparisons);
    expect(comparisons).toHaveLength(1);
    expect(comparisons[0]!.incomplete).toBeNull();
    expect((await reader.inject({ url: `/api/comparisons/${comparisons[0]!.id}/metrics` })).statusCode).toBe(200);
  });

  it('a PACS that cannot be reached, or does not know our AE title, answers 502 naming it', async () => {
    const nothing = await closedPort();
    try {
      const down = await serverOn(nothing.port, 'work-down');
      const unreachable = await down.inject({ url: '/api/pacs/studies' });
      expect(unreachable.statusCode).toBe(502);
      expect(unreachable.json<ApiError>()).toMatchObject({ code: 'E_IO', message: expect.stringContaining(`dimse://${ORTHANC_AET}@127.0.0.1:${nothing.port}: connection refused`) });
      await expect(down.pacs!.check()).rejects.toThrow(/connection refused/);
    } finally {
      await nothing.release();
    }
    const stranger = await serverOn(orthanc.dicomPort, 'work-stranger', { callingAet: 'STRANGER' });
    const refused = await stranger.inject({ url: '/api/pacs/studies' });
    expect(refused.statusCode).toBe(502);
    expect(refused.json<ApiError>().message).toContain(pacs);
  });
});

describe.skipIf(!installed)('serve --dimse against an Orthanc that caps C-FIND answers', () => {
  let dir: string;
  let orthanc: RunningOrthanc;
  let app: FastifyInstance;
  const study = { A: '', B: '', C: '' };
  let twoSeries: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lowdose-serve-dimse-cap-'));
    orthanc = await startOrthanc(dir, { dicomModalities: { lowdose: { aet: CALLING_AET, host: '127.0.0.1', port: 9 } }, config: { LimitFindResults: 1 } });
    const originals = await readOriginals();
    Object.assign(study, await uploadCohort(orthanc, originals, 41));
    // The originals' own study, with a second series (an OT copy): two series, over the cap of 1.
    const uploaded = await uploadInstances(orthanc, [...originals, ...copyAsOtherSeries(originals, 3).map((b) => withSameLengthText(b, 'x00080060', 'OT'))]);
    twoSeries = uploaded[0]!['StudyInstanceUID']!;
    app = await buildApp({ data: [], workDir: path.join(dir, 'work'), viewerDir: null, dimse: { peer: { aet: ORTHANC_AET, host: '127.0.0.1', port: orthanc.dicomPort }, options: { callingAet: CALLING_AET, timeoutMs: 20_000 } } });
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await orthanc?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a study search the PACS stops at its cap is marked truncated, naming the cap', async () => {
    const answer = await app.inject({ url: '/api/pacs/studies' });
    expect(answer.statusCode).toBe(200);
    const body = answer.json<PacsStudies>();
    expect(body.studies).toHaveLength(1);
    expect(body).toMatchObject({
      truncated: true,
      truncation: 'the PACS stopped its answer after 1 matching studies (it caps C-FIND answers: status 0xfe00; Orthanc: LimitFindResults), so it may hold more; narrow the search',
    });
    // A search narrow enough to stay under the cap is whole.
    expect((await app.inject({ url: '/api/pacs/studies?patientId=99017&from=20190101' })).json<PacsStudies>()).toMatchObject({ studies: [expect.objectContaining({ studyInstanceUid: study.C })], truncated: false, truncation: null });
  });

  it("a study's series list the PACS stops at its cap is marked truncated with the study's series count; a study under the cap is whole", async () => {
    const answer = await app.inject({ url: `/api/pacs/studies/${twoSeries}/series` });
    expect(answer.statusCode, answer.body).toBe(200);
    const body = answer.json<PacsSeriesList>();
    expect(body.series).toHaveLength(1);
    expect(body).toMatchObject({
      truncated: true,
      truncation: `the PACS lists 1 of the 2 series of study ${twoSeries}: it stopped the C-FIND at its cap (status 0xfe00; Orthanc: LimitFindResults), and C-FIND cannot ask for the rest`,
    });
    expect((await app.inject({ url: `/api/pacs/studies/${study.B}/series` })).json<PacsSeriesList>()).toMatchObject({ series: [expect.objectContaining({ instances: 3 })], truncated: false, truncation: null });
  });
});

describe('serve --dimse refuses options that do not go together (exit 2)', () => {
  it.each([
    [['--dimse', 'dimse://PACS@127.0.0.1:104', '--dicomweb', 'http://127.0.0.1:1/dicom-web'], '--dicomweb and --dimse: a server browses one PACS; start one server for each'],
    [['--move-port', '11112'], '--move-port goes with --dimse dimse://<AE title>@host:port'],
    [['--calling-aet', 'ME', '--dimse-tls'], '--calling-aet and --dimse-tls go with --dimse dimse://<AE title>@host:port'],
    [['--dimse', 'dimse://PACS@127.0.0.1:104', '--dicomweb-timeout', '5'], '--dicomweb-timeout goes with --dicomweb <url>'],
    [['--dimse', 'dimse://PACS@127.0.0.1:104/1.2.3'], 'give the PACS\'s address (dimse://<AE title>@host:port), without UIDs'],
    [['--dimse', 'http://127.0.0.1:104'], 'is not a DIMSE address'],
    [['--dimse', 'dimse://PACS@127.0.0.1:104', '--dimse-ca', 'ca.pem'], '--dimse-ca needs --dimse-tls'],
    [['--dimse', 'dimse://PACS@127.0.0.1:104', '--move-from', '10.0.0.1'], '--move-from needs --move-port'],
    [['--dimse', 'dimse://PACS@127.0.0.1:104', '--move-port', '11112', '--dimse-tls'], '--move-port with --dimse-tls needs --dimse-cert and --dimse-key'],
  ])('serve %j', async (args, message) => {
    const { code, stderr } = await runCli('serve', '--port', '0', '--data', CT_DIR, ...args);
    expect(code, stderr).toBe(2);
    expect(stderr).toContain(message);
  });

  it('buildApp refuses a DICOMweb server and a DIMSE PACS together', async () => {
    await expect(
      buildApp({ data: [], viewerDir: null, dicomweb: { base: 'http://127.0.0.1:1/dicom-web' }, dimse: { peer: { aet: 'PACS', host: '127.0.0.1', port: 104 }, options: { callingAet: CALLING_AET, timeoutMs: 1000 } } }),
    ).rejects.toThrow(/one PACS/);
  });
});
