/**
 * The viewer and a PACS run's report: `denoise <DICOMweb study URL>` removes its pull folder when it
 * succeeds, so its report names the low-dose source by its PACS address (`input.url`) and no file.
 * `serve` on the output folder says so for the denoised series (`lowDoseSource`): with the same
 * `--dicomweb` it opens that source through the PACS and the pair becomes a comparison; without a
 * PACS, or with another one, it says why the source cannot be shown.
 */
import { readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ComparisonDetail, SeriesDetail, StudiesResponse } from '../../src/server/api-types.js';
import { buildApp } from '../../src/server/app.js';
import { runCli } from '../helpers/cli.js';
import { startProxy } from '../helpers/http-proxy.js';
import { findOrthanc, type RunningOrthanc, startOrthanc } from '../helpers/orthanc.js';

const CT_DIR = path.resolve('../shared/dicom/QIICR__dcmqi/data/segmentations/ct-3slice');
const CT_STUDY = '1.2.392.200103.20080913.113635.0.2009.6.22.21.43.10.22941.1';
const installed = findOrthanc();
if (!installed) console.warn('skipping the PACS low-dose source tests: Orthanc with its DICOMweb plugin is not installed (apt-get install orthanc orthanc-dicomweb)');

describe.skipIf(!installed)('serve on a DICOMweb run\'s output: the low-dose source through the PACS', () => {
  let dir: string;
  let orthanc: RunningOrthanc;
  let out: string;
  let sourceSeriesUid: string;
  let sourceUrl: string;
  const savedTmp = process.env.TMPDIR;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lowdose-serve-pacs-source-'));
    process.env.TMPDIR = dir; // the run's pull folder goes under the test's folder
    orthanc = await startOrthanc(dir);
    for (const file of readdirSync(CT_DIR).filter((f) => f.endsWith('.dcm')).sort()) {
      expect((await orthanc.rest('/instances', { method: 'POST', body: await readFile(path.join(CT_DIR, file)) })).ok).toBe(true);
    }
    out = path.join(dir, 'out');
    const run = await runCli('denoise', `${orthanc.dicomweb}/studies/${CT_STUDY}`, '-o', out, '--method', 'gaussian', '--dicomweb-auth', `basic:${orthanc.user}:${orthanc.password}`, '--no-progress', '--json');
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as { series: Array<{ input: { seriesInstanceUid: string; files: string[]; url?: string } }> };
    sourceSeriesUid = report.series[0]!.input.seriesInstanceUid;
    sourceUrl = `${orthanc.dicomweb}/studies/${CT_STUDY}/series/${sourceSeriesUid}`;
    expect(report.series[0]!.input).toMatchObject({ files: [], url: sourceUrl });
  }, 120_000);

  afterAll(async () => {
    if (savedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmp;
    await orthanc?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function serve(name: string, dicomweb?: string): Promise<FastifyInstance> {
    return buildApp({
      data: [out],
      workDir: path.join(dir, name),
      viewerDir: null,
      ...(dicomweb ? { dicomweb: { base: dicomweb, client: { auth: `basic:${orthanc.user}:${orthanc.password}`, retries: 0 } } } : {}),
    });
  }

  /** The one denoised series the output folder holds, and the comparisons indexed. */
  async function denoisedOf(app: FastifyInstance): Promise<{ id: string; comparisons: number }> {
    const { studies } = (await app.inject({ url: '/api/studies' })).json<StudiesResponse>();
    const denoised = studies.flatMap((s) => s.series).filter((s) => s.role === 'denoised');
    expect(denoised).toHaveLength(1);
    return { id: denoised[0]!.id, comparisons: studies.flatMap((s) => s.comparisons).length };
  }

  it('with the same --dicomweb: the denoised series names its source as openable; opening it pulls the source through the PACS and pairs them', async () => {
    const app = await serve('work-same', orthanc.dicomweb);
    try {
      const { id, comparisons } = await denoisedOf(app);
      expect(comparisons).toBe(0);
      const detail = (await app.inject({ url: `/api/series/${id}` })).json<SeriesDetail>();
      expect(detail.lowDoseSource).toEqual({ url: sourceUrl, studyInstanceUid: CT_STUDY, seriesInstanceUid: sourceSeriesUid, openable: true, reason: null });
      const opened = await app.inject({ method: 'POST', url: `/api/series/${id}/low-dose-source/open` });
      expect(opened.statusCode, opened.body).toBe(200);
      const body = opened.json<{ comparison: string | null; series: Array<{ id: string }>; instances: number; retrieved: number }>();
      expect(body).toMatchObject({ instances: 3, retrieved: 3 });
      expect(body.comparison).not.toBeNull();
      const comparison = (await app.inject({ url: `/api/comparisons/${body.comparison}` })).json<ComparisonDetail>();
      expect([comparison.lowDose, comparison.denoised]).toEqual([body.series[0]!.id, id]);
      // Paired now: the series no longer names a source that is not here.
      expect((await app.inject({ url: `/api/series/${id}` })).json<SeriesDetail>().lowDoseSource).toBeUndefined();
    } finally {
      await app.close();
    }
  });

  it('without a PACS, or with another one: the series says why its source cannot be shown, and opening it is refused with that reason', async () => {
    const proxy = await startProxy(orthanc.http);
    const cases: Array<[string, string | undefined, RegExp]> = [
      ['work-none', undefined, /this server has no PACS to open it from: start lowdose serve with --dicomweb http:\/\/127\.0\.0\.1:\d+\/dicom-web$/],
      ['work-other', `${proxy.base}/dicom-web`, /this server's PACS is http:\/\/127\.0\.0\.1:\d+\/dicom-web, not http:\/\/127\.0\.0\.1:\d+\/dicom-web: start lowdose serve with --dicomweb/],
    ];
    try {
      for (const [name, dicomweb, why] of cases) {
        const app = await serve(name, dicomweb);
        try {
          const { id } = await denoisedOf(app);
          const source = (await app.inject({ url: `/api/series/${id}` })).json<SeriesDetail>().lowDoseSource;
          expect(source).toMatchObject({ url: sourceUrl, openable: false });
          expect(source!.reason).toMatch(new RegExp(`^the low-dose series was pulled from ${sourceUrl.replace(/[.]/g, '\\.')} and the run removed its copy; `));
          expect(source!.reason).toMatch(why);
          const refused = await app.inject({ method: 'POST', url: `/api/series/${id}/low-dose-source/open` });
          expect(refused.statusCode).toBe(404);
          expect(refused.json<{ message: string }>().message).toBe(`series ${id}: ${source!.reason}`);
          expect(proxy.served).toEqual([]);
        } finally {
          await app.close();
        }
      }
    } finally {
      await proxy.close();
    }
  });
});
