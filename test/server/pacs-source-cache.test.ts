/**
 * The low-dose source of a PACS run's output as `serve` opens it again: the studies list names it
 * for each denoised series (`lowDoseSource`, without opening the series); the first open retrieves
 * its instances through the PACS into the work folder's PACS cache, and a later server session on
 * the same work folder asks the PACS for the series' instance list only and retrieves none of them
 * (DICOMweb: counted at a proxy in front of Orthanc; DIMSE, `serve --dimse`: `retrieved` and the
 * cached files). Two opens at once share one retrieve. The run's completion marker names the source
 * by its PACS address, not by the removed pull folder's files.
 */
import { readdirSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SeriesDetail, StudiesResponse } from '../../src/server/api-types.js';
import { buildApp } from '../../src/server/app.js';
import { runCli } from '../helpers/cli.js';
import { startServe } from '../helpers/serve-process.js';
import { type Proxy, startProxy } from '../helpers/http-proxy.js';
import { findOrthanc, freePort, ORTHANC_AET, type RunningOrthanc, startOrthanc } from '../helpers/orthanc.js';

const CT_DIR = path.resolve('../shared/dicom/QIICR__dcmqi/data/segmentations/ct-3slice');
const CT_STUDY = '1.2.392.200103.20080913.113635.0.2009.6.22.21.43.10.22941.1';
const CALLING_AET = 'LOWDOSE';
const installed = findOrthanc();
if (!installed) console.warn('skipping the PACS source cache tests: Orthanc with its DICOMweb plugin is not installed (apt-get install orthanc orthanc-dicomweb)');

interface Opened {
  comparison: string | null;
  series: Array<{ id: string }>;
  instances: number;
  retrieved: number;
}

/** The cached instance files of the work folder's PACS cache (`<work>/pacs-cache/<pacs>/<series>/`). */
function cachedFiles(workDir: string): string[] {
  const root = path.join(workDir, 'pacs-cache');
  return readdirSync(root).flatMap((pacs) => readdirSync(path.join(root, pacs)).flatMap((series) => readdirSync(path.join(root, pacs, series)).map((f) => path.join(root, pacs, series, f))));
}

describe.skipIf(!installed)('serve opening a PACS run\'s low-dose source again: the PACS cache', () => {
  let dir: string;
  let orthanc: RunningOrthanc;
  let proxy: Proxy;
  let dicomweb: string;
  let dimse: string;
  const out = { dicomweb: '', dimse: '' };
  let sourceSeriesUid: string;
  const savedTmp = process.env.TMPDIR;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lowdose-serve-pacs-cache-'));
    process.env.TMPDIR = dir; // the runs' pull folders go under the test's folder
    orthanc = await startOrthanc(dir, { dicomModalities: { lowdose: { aet: CALLING_AET, host: '127.0.0.1', port: await freePort() } } });
    for (const file of readdirSync(CT_DIR).filter((f) => f.endsWith('.dcm')).sort()) {
      expect((await orthanc.rest('/instances', { method: 'POST', body: await readFile(path.join(CT_DIR, file)) })).ok).toBe(true);
    }
    // Every DICOMweb request of the runs and the servers goes through the proxy, which counts them.
    proxy = await startProxy(orthanc.http);
    dicomweb = `${proxy.base}/dicom-web`;
    dimse = `dimse://${ORTHANC_AET}@127.0.0.1:${orthanc.dicomPort}`;
    out.dicomweb = path.join(dir, 'out-dicomweb');
    out.dimse = path.join(dir, 'out-dimse');
    const auth = `basic:${orthanc.user}:${orthanc.password}`;
    const byWeb = await runCli('denoise', `${dicomweb}/studies/${CT_STUDY}`, '-o', out.dicomweb, '--method', 'gaussian', '--dicomweb-auth', auth, '--no-progress', '--json');
    expect(byWeb.code, byWeb.stderr).toBe(0);
    sourceSeriesUid = (JSON.parse(byWeb.stdout) as { series: Array<{ input: { seriesInstanceUid: string } }> }).series[0]!.input.seriesInstanceUid;
    const byDimse = await runCli('denoise', `${dimse}/${CT_STUDY}`, '-o', out.dimse, '--method', 'gaussian', '--calling-aet', CALLING_AET, '--no-progress', '--json');
    expect(byDimse.code, byDimse.stderr).toBe(0);
  }, 180_000);

  afterAll(async () => {
    if (savedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmp;
    await proxy?.close();
    await orthanc?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  function serveDicomweb(work: string): Promise<FastifyInstance> {
    return buildApp({
      data: [out.dicomweb],
      workDir: path.join(dir, work),
      viewerDir: null,
      logger: { level: 'silent' },
      dicomweb: { base: dicomweb, client: { auth: `basic:${orthanc.user}:${orthanc.password}`, retries: 0 } },
    });
  }

  function serveDimse(work: string): Promise<FastifyInstance> {
    return buildApp({
      data: [out.dimse],
      workDir: path.join(dir, work),
      viewerDir: null,
      logger: { level: 'silent' },
      dimse: { peer: { aet: ORTHANC_AET, host: '127.0.0.1', port: orthanc.dicomPort }, options: { callingAet: CALLING_AET, timeoutMs: 20_000 } },
    });
  }

  /** The one denoised series of the server's data folder, as the studies list gives it. */
  async function listedDenoised(app: FastifyInstance): Promise<StudiesResponse['studies'][number]['series'][number]> {
    const { studies } = (await app.inject({ url: '/api/studies' })).json<StudiesResponse>();
    const denoised = studies.flatMap((s) => s.series).filter((s) => s.role === 'denoised');
    expect(denoised).toHaveLength(1);
    return denoised[0]!;
  }

  async function openSource(app: FastifyInstance, id: string): Promise<Opened> {
    const opened = await app.inject({ method: 'POST', url: `/api/series/${id}/low-dose-source/open` });
    expect(opened.statusCode, opened.body).toBe(200);
    return opened.json<Opened>();
  }

  /** WADO-RS retrieves of one instance (…/instances/<uid>) among the requests from `from` on. */
  const instanceRetrieves = (from: number) => proxy.served.slice(from).filter((r) => r.method === 'GET' && /\/instances\/[0-9.]+$/.test(r.url.split('?')[0]!));

  it('the studies list names each denoised series\' low-dose source on the PACS, as the series\' own answer does', async () => {
    const app = await serveDicomweb('work-list');
    try {
      const listed = await listedDenoised(app);
      const detail = (await app.inject({ url: `/api/series/${listed.id}` })).json<SeriesDetail>();
      expect(detail.lowDoseSource).toMatchObject({ seriesInstanceUid: sourceSeriesUid, openable: true, reason: null });
      expect(listed.lowDoseSource).toEqual(detail.lowDoseSource);
    } finally {
      await app.close();
    }
  });

  it('DICOMweb: two opens at once share one retrieve; a later session on the same work folder lists the series on the PACS and retrieves none of its instances', async () => {
    const first = await serveDicomweb('work-web');
    let firstFiles: string[];
    let pairedIn: string | null;
    const before = proxy.served.length;
    try {
      const { id } = await listedDenoised(first);
      const [a, b] = await Promise.all([openSource(first, id), openSource(first, id)]);
      expect([a.retrieved, b.retrieved]).toEqual([3, 3]);
      expect(instanceRetrieves(before)).toHaveLength(3);
      // The series' and its instances' QIDO-RS listings, once for both opens, and the 3 retrieves.
      expect(proxy.served.length - before).toBe(5);
      expect(a.comparison).not.toBeNull();
      pairedIn = a.comparison;
      firstFiles = cachedFiles(path.join(dir, 'work-web'));
      expect(firstFiles).toHaveLength(3);
    } finally {
      await first.close();
    }
    const second = await serveDicomweb('work-web');
    try {
      const { id, lowDoseSource } = await listedDenoised(second);
      expect(lowDoseSource?.openable).toBe(true);
      const since = proxy.served.length;
      const opened = await openSource(second, id);
      expect(opened).toMatchObject({ instances: 3, retrieved: 0 });
      expect(opened.comparison).toBe(pairedIn);
      expect(instanceRetrieves(since)).toEqual([]);
      // Only the series' QIDO-RS listings: the series, then its instances.
      expect(proxy.served.slice(since).map((r) => r.url.split('?')[0]!.replace(/^.*\/dicom-web/, ''))).toEqual([
        `/studies/${CT_STUDY}/series`,
        `/studies/${CT_STUDY}/series/${sourceSeriesUid}/instances`,
      ]);
      // The same cached files, not retrieved again.
      expect(cachedFiles(path.join(dir, 'work-web')).map((f) => statSync(f).ino)).toEqual(firstFiles.map((f) => statSync(f).ino));
      expect((await second.inject({ url: `/api/comparisons/${opened.comparison}` })).statusCode).toBe(200);
    } finally {
      await second.close();
    }
  });

  it('serve --dimse: the source of a `denoise dimse://` run is openable and opens over C-GET; a later session retrieves none of its instances', async () => {
    const first = await serveDimse('work-dimse');
    let firstFiles: string[];
    try {
      const listed = await listedDenoised(first);
      expect(listed.lowDoseSource).toEqual({ url: `${dimse}/${CT_STUDY}/${sourceSeriesUid}`, studyInstanceUid: CT_STUDY, seriesInstanceUid: sourceSeriesUid, openable: true, reason: null });
      const opened = await openSource(first, listed.id);
      expect(opened).toMatchObject({ instances: 3, retrieved: 3 });
      expect(opened.comparison).not.toBeNull();
      const comparison = (await first.inject({ url: `/api/comparisons/${opened.comparison}` })).json<{ lowDose: string; denoised: string }>();
      expect([comparison.lowDose, comparison.denoised]).toEqual([opened.series[0]!.id, listed.id]);
      firstFiles = cachedFiles(path.join(dir, 'work-dimse'));
      expect(firstFiles).toHaveLength(3);
    } finally {
      await first.close();
    }
    const second = await serveDimse('work-dimse');
    try {
      const opened = await openSource(second, (await listedDenoised(second)).id);
      expect(opened).toMatchObject({ instances: 3, retrieved: 0 });
      expect(opened.comparison).not.toBeNull();
      expect(cachedFiles(path.join(dir, 'work-dimse')).map((f) => statSync(f).ino)).toEqual(firstFiles.map((f) => statSync(f).ino));
    } finally {
      await second.close();
    }
  });

  it('serve --pacs-cache-size 0 keeps no cache (nothing written to <work>/pacs-cache); a size that holds the series lets the next session retrieve none of it', async () => {
    const work = path.join(dir, 'work-no-cache');
    const retrievedBy = async (size: string): Promise<{ retrieved: number; log: string }> => {
      const server = await startServe(['--data', out.dicomweb, '--work', work, '--dicomweb', dicomweb, '--dicomweb-auth', `basic:${orthanc.user}:${orthanc.password}`, '--dicomweb-retries', '0', '--pacs-cache-size', size]);
      try {
        const { studies } = (await (await fetch(`${server.url}/api/studies`)).json()) as StudiesResponse;
        const id = studies.flatMap((s) => s.series).find((s) => s.role === 'denoised')!.id;
        const opened = await fetch(`${server.url}/api/series/${id}/low-dose-source/open`, { method: 'POST', headers: { origin: server.url } });
        expect(opened.status, await opened.clone().text()).toBe(200);
        return { retrieved: ((await opened.json()) as Opened).retrieved, log: server.log.stderr };
      } finally {
        server.child.kill('SIGTERM');
        expect(await server.exited).toBe(143);
      }
    };
    const first = await retrievedBy('0');
    expect(first.retrieved).toBe(3);
    expect(first.log).toContain('(no PACS cache)');
    expect(readdirSync(work).filter((name) => name.includes('pacs-cache'))).toEqual([]);
    // A bound that holds the series: the next session retrieves none of it.
    const sized = await retrievedBy('4M');
    expect(sized.retrieved).toBe(3);
    expect(sized.log).toContain('at most 4 MiB)');
    expect((await retrievedBy('4M')).retrieved).toBe(0);
    expect(cachedFiles(work)).toHaveLength(3);
  });

  it('the completion marker of a PACS run names its source by PACS address, with no file of the removed pull folder', async () => {
    for (const [folder, url] of [
      [out.dicomweb, `${dicomweb}/studies/${CT_STUDY}/series/${sourceSeriesUid}`],
      [out.dimse, `${dimse}/${CT_STUDY}/${sourceSeriesUid}`],
    ] as const) {
      const [series] = readdirSync(folder, { withFileTypes: true }).filter((e) => e.isDirectory() && e.name !== 'previews');
      const marker = JSON.parse(await readFile(path.join(folder, series!.name, '.lowdose-complete.json'), 'utf8')) as { input: { files: string[]; url?: string } };
      expect(marker.input).toMatchObject({ files: [], url });
    }
  });
});
