/**
 * DICOMweb round trip against a real Orthanc: `info <url>` lists the study, `denoise <url> --stow`
 * pulls a real CT series (WADO-RS), denoises it and stores the derived series back (STOW-RS);
 * faults (wrong password, missing study, a server failing mid-retrieve and mid-store) and reruns.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import dicomParser from 'dicom-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DICOMWEB_AUTH_ENV } from '../../src/dicomweb/client.js';
import { pullCacheDir } from '../../src/util/pull-cache.js';
import { runCli } from '../helpers/cli.js';
import { startProxy } from '../helpers/http-proxy.js';
import { deleteTheOnePulled, expectStaleRemoved, findOrthanc, readInstances, type RunningOrthanc, seriesInStudy, startOrthanc, uploadAsOtherStudy, uploadWithUnreadableInstance } from '../helpers/orthanc.js';
import { copyAsOtherSeries, copyAsOtherStudy } from '../helpers/mutate-dicom.js';
import { hasPydicom, imageIndexes, uploadDynamicPet } from '../helpers/pet-timing.js';

const CT_DIR = path.resolve('../shared/dicom/QIICR__dcmqi/data/segmentations/ct-3slice');
const PET_FILE = path.resolve('../shared/dicom/suyashkumar__dicom/testdata/1.dcm');
/** Another real PET slice (TCIA ACRIN-FLT-Breast), in a study of its own. */
const PET_FILE_2 = path.resolve('../shared/dicom/suyashkumar__dicom/testdata/2.dcm');
const OPENSSL = '/usr/bin/openssl';
const installed = findOrthanc();
if (!installed) console.warn('skipping DICOMweb tests: Orthanc with its DICOMweb plugin is not installed (apt-get install orthanc orthanc-dicomweb)');

interface DicomwebJsonReport {
  series: Array<{ input: { key: string; files: string[]; url?: string }; output: { seriesInstanceUid: string; files: string[] } }>;
  errors: Array<{ code: string; message: string; path: string | null }>;
  dicomweb: {
    pulled: Array<{ seriesInstanceUid: string; instances: number; retrieved: number }>;
    stored: Array<{ kind: string; seriesInstanceUid: string; studyInstanceUid: string; instances: number }>;
  };
}

describe.skipIf(!installed)('DICOMweb against Orthanc', () => {
  let dir: string;
  let orthanc: RunningOrthanc;
  let studyUid: string;
  let sourceSeriesUid: string;
  let studyUrl: string;
  const savedTmp = process.env.TMPDIR;

  /** Orthanc id and MD5 of the stored file of every instance of a series (by SeriesInstanceUID). */
  async function seriesInstances(seriesUid: string): Promise<Map<string, { id: string; md5: string }>> {
    const found = (await (
      await orthanc.rest('/tools/find', { method: 'POST', body: Buffer.from(JSON.stringify({ Level: 'Instance', Query: { SeriesInstanceUID: seriesUid }, Expand: true })) })
    ).json()) as Array<{ ID: string; MainDicomTags: { SOPInstanceUID: string } }>;
    const result = new Map<string, { id: string; md5: string }>();
    for (const instance of found) {
      const bytes = Buffer.from(await (await orthanc.rest(`/instances/${instance.ID}/file`)).arrayBuffer());
      result.set(instance.MainDicomTags.SOPInstanceUID, { id: instance.ID, md5: createHash('md5').update(bytes).digest('hex') });
    }
    return result;
  }

  async function studySeries(): Promise<string[]> {
    const found = (await (
      await orthanc.rest('/tools/find', { method: 'POST', body: Buffer.from(JSON.stringify({ Level: 'Series', Query: { StudyInstanceUID: studyUid }, Expand: true })) })
    ).json()) as Array<{ MainDicomTags: { SeriesInstanceUID: string } }>;
    return found.map((s) => s.MainDicomTags.SeriesInstanceUID).sort();
  }

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lowdose-orthanc-'));
    process.env.TMPDIR = dir; // pulled instances go under the test's folder
    orthanc = await startOrthanc(dir);
    for (const file of readdirSync(CT_DIR).filter((f) => f.endsWith('.dcm')).sort()) {
      const response = await orthanc.rest('/instances', { method: 'POST', body: await readFile(path.join(CT_DIR, file)) });
      expect(response.ok).toBe(true);
    }
    const studies = (await (await orthanc.rest('/studies?expand')).json()) as Array<{ MainDicomTags: { StudyInstanceUID: string }; Series: string[] }>;
    studyUid = studies[0]!.MainDicomTags.StudyInstanceUID;
    const series = (await (await orthanc.rest(`/series/${studies[0]!.Series[0]}`)).json()) as { MainDicomTags: { SeriesInstanceUID: string } };
    sourceSeriesUid = series.MainDicomTags.SeriesInstanceUID;
    studyUrl = `${orthanc.dicomweb}/studies/${studyUid}`;
  });

  afterAll(async () => {
    delete process.env[DICOMWEB_AUTH_ENV];
    if (savedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmp;
    await orthanc?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('info <study url> lists the study series from QIDO-RS, with the password from the environment', async () => {
    process.env[DICOMWEB_AUTH_ENV] = `basic:${orthanc.user}:${orthanc.password}`;
    try {
      const run = await runCli('info', studyUrl, '--json');
      expect(run.code).toBe(0);
      const result = JSON.parse(run.stdout) as { studyInstanceUid: string; series: Array<{ seriesInstanceUid: string; modality: string; instances: number }> };
      expect(result.studyInstanceUid).toBe(studyUid);
      expect(result.series).toEqual([expect.objectContaining({ seriesInstanceUid: sourceSeriesUid, modality: 'CT', instances: 3 })]);
      // Its instance list holds its 3: whole, no `incomplete`.
      expect(result.series[0]).not.toHaveProperty('incomplete');
    } finally {
      delete process.env[DICOMWEB_AUTH_ENV];
    }
  });

  it('a wrong password is a clear usage error (exit 2), and so is a study that is not on the server', async () => {
    const wrong = await runCli('info', studyUrl, '--dicomweb-auth', `basic:${orthanc.user}:wrong`, '--dicomweb-retries', '0');
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/HTTP 401.*refused the credentials/);
    const missing = await runCli('denoise', `${orthanc.dicomweb}/studies/1.2.3.4.5.6.7`, '-o', path.join(dir, 'missing'), '--method', 'gaussian', '--dicomweb-auth', `basic:${orthanc.user}:${orthanc.password}`);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/study 1\.2\.3\.4\.5\.6\.7 is not on/);
  });

  it('denoise <study url> --stow stores a derived series in the same study, byte-equal to the local output, originals untouched', async () => {
    const before = await seriesInstances(sourceSeriesUid);
    expect(before.size).toBe(3);
    const out = path.join(dir, 'out-direct');
    const auth = `basic:${orthanc.user}:${orthanc.password}`;
    const run = await runCli('denoise', studyUrl, '-o', out, '--method', 'gaussian', '--stow', orthanc.dicomweb, '--dicomweb-auth', auth, '--no-progress', '--json');
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as DicomwebJsonReport;
    expect(report.errors).toEqual([]);
    expect(report.dicomweb.pulled).toEqual([expect.objectContaining({ seriesInstanceUid: sourceSeriesUid, instances: 3, retrieved: 3 })]);
    const derivedUid = report.series[0]!.output.seriesInstanceUid;
    expect(report.dicomweb.stored).toEqual([{ kind: 'denoised', studyInstanceUid: studyUid, seriesInstanceUid: derivedUid, url: `${studyUrl}/series/${derivedUid}`, instances: 3 }]);
    expect(JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8'))).toEqual(report);
    // The pull folder is removed on success: input.files names no file, input.url where the series is.
    expect(report.series[0]!.input).toEqual(expect.objectContaining({ files: [], url: `${studyUrl}/series/${sourceSeriesUid}` }));
    expect(report).not.toHaveProperty('skipByUid');

    expect(await studySeries()).toEqual([sourceSeriesUid, derivedUid].sort());
    expect(await seriesInstances(sourceSeriesUid)).toEqual(before);
    const stored = await seriesInstances(derivedUid);
    expect(stored.size).toBe(3);
    const localMd5 = await Promise.all(report.series[0]!.output.files.map(async (f) => createHash('md5').update(await readFile(f)).digest('hex')));
    expect([...stored.values()].map((s) => s.md5).sort()).toEqual(localMd5.sort());
    const tags = (await (await orthanc.rest(`/instances/${[...stored.values()][0]!.id}/simplified-tags`)).json()) as Record<string, string>;
    expect(tags.ImageType).toMatch(/^DERIVED\\/);
    expect(tags.StudyInstanceUID).toBe(studyUid);

    // A second run on the study skips the derived series it stored, and stores nothing new.
    const again = await runCli('denoise', studyUrl, '-o', out, '--method', 'gaussian', '--stow', orthanc.dicomweb, '--dicomweb-auth', auth, '--no-progress', '--json');
    expect(again.code, again.stderr).toBe(0);
    const second = JSON.parse(again.stdout) as DicomwebJsonReport;
    expect(second.dicomweb.pulled.map((p) => p.seriesInstanceUid)).toEqual([sourceSeriesUid]);
    expect(await studySeries()).toEqual([sourceSeriesUid, derivedUid].sort());
    expect((await seriesInstances(derivedUid)).size).toBe(3);
    expect(second.series[0]!.input).toEqual(expect.objectContaining({ files: [], url: `${studyUrl}/series/${sourceSeriesUid}` }));

    // --skip-by-uid: --json echoes it (report.json does not); the series judged finished names its PACS address.
    const byUid = await runCli('denoise', studyUrl, '-o', out, '--method', 'gaussian', '--skip-by-uid', '--dicomweb-auth', auth, '--no-progress', '--json');
    expect(byUid.code, byUid.stderr).toBe(0);
    const third = JSON.parse(byUid.stdout) as DicomwebJsonReport & { skipByUid?: boolean };
    expect(third.skipByUid).toBe(true);
    expect(third.dicomweb.pulled).toEqual([]);
    expect(third.series[0]!.input).toEqual(expect.objectContaining({ files: [], url: `${studyUrl}/series/${sourceSeriesUid}` }));
    expect(JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8'))).not.toHaveProperty('skipByUid');
  });

  it('a server failing mid-retrieve and then mid-store leaves no derived series; reruns complete the round trip', async () => {
    const seriesBefore = await studySeries();
    const proxy = await startProxy(orthanc.http);
    try {
      const url = `${proxy.base}/dicom-web/studies/${studyUid}/series/${sourceSeriesUid}`;
      const out = path.join(dir, 'out-proxy');
      const args = ['denoise', url, '-o', out, '--method', 'gaussian', '--stow', `${proxy.base}/dicom-web`, '--dicomweb-retries', '1', '--no-progress', '--json'];
      process.env[DICOMWEB_AUTH_ENV] = `basic:${orthanc.user}:${orthanc.password}`;

      // WADO-RS of the second instance onwards fails (with its retry): the run stops, nothing is stored.
      let retrieves = 0;
      proxy.fail = (method, requestUrl) => method === 'GET' && /\/instances\/[0-9.]+$/.test(requestUrl) && ++retrieves > 1;
      const pullFail = await runCli(...args);
      expect(pullFail.code).toBe(1);
      const pullReport = JSON.parse(pullFail.stdout) as DicomwebJsonReport;
      expect(pullReport.series).toEqual([]);
      expect(pullReport.dicomweb.stored).toEqual([]);
      expect(pullReport.errors).toEqual([expect.objectContaining({ code: 'E_IO', message: expect.stringMatching(/failed with 1 of 3 instance\(s\) on disk.*HTTP 500.*run again/) })]);
      expect(JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8'))).toEqual(pullReport);
      expect(await studySeries()).toEqual(seriesBefore);

      // Retrieval works again but STOW-RS fails: the derived series is written locally, not stored.
      proxy.fail = (method) => method === 'POST';
      const storeFail = await runCli(...args);
      expect(storeFail.code).toBe(1);
      const failed = JSON.parse(storeFail.stdout) as DicomwebJsonReport;
      expect(failed.dicomweb.pulled).toEqual([expect.objectContaining({ instances: 3, retrieved: 2 })]);
      expect(failed.dicomweb.stored).toEqual([]);
      expect(failed.errors).toEqual([expect.objectContaining({ code: 'E_IO', message: expect.stringMatching(/failed after 0 of 3 instance\(s\).*HTTP 500.*run again/) })]);
      expect(await studySeries()).toEqual(seriesBefore);

      // The server is back: the rerun retrieves nothing again, reuses the local output, stores it.
      proxy.fail = null;
      const rerun = await runCli(...args);
      expect(rerun.code, rerun.stderr).toBe(0);
      const done = JSON.parse(rerun.stdout) as DicomwebJsonReport;
      expect(done.dicomweb.pulled).toEqual([expect.objectContaining({ instances: 3, retrieved: 0 })]);
      const derivedUid = failed.series[0]!.output.seriesInstanceUid;
      expect(done.dicomweb.stored).toEqual([expect.objectContaining({ seriesInstanceUid: derivedUid, instances: 3 })]);
      expect(await studySeries()).toEqual([...seriesBefore, derivedUid].sort());
      expect((await seriesInstances(derivedUid)).size).toBe(3);
    } finally {
      delete process.env[DICOMWEB_AUTH_ENV];
      await proxy.close();
    }
  });

  it('an instance deleted on the server after a failed retrieve left it in the pull folder is removed by the rerun, not denoised: the derived series has the 2 slices the server still holds', async () => {
    const uploaded = await uploadAsOtherStudy(orthanc, await readInstances(CT_DIR), new Set(), 13);
    const [study, series] = [uploaded[0]!['StudyInstanceUID']!, uploaded[0]!['SeriesInstanceUID']!];
    const proxy = await startProxy(orthanc.http);
    try {
      const url = `${proxy.base}/dicom-web/studies/${study}/series/${series}`;
      const args = ['denoise', url, '-o', path.join(dir, 'out-stale'), '--method', 'gaussian', '--dicomweb-retries', '1', '--no-progress', '--json'];
      process.env[DICOMWEB_AUTH_ENV] = `basic:${orthanc.user}:${orthanc.password}`;
      let retrieves = 0;
      proxy.fail = (method, requestUrl) => method === 'GET' && /\/instances\/[0-9.]+$/.test(requestUrl) && ++retrieves > 1;
      expect((await runCli(...args)).code).toBe(1);
      const deleted = await deleteTheOnePulled(orthanc, pullCacheDir('dicomweb', url));
      proxy.fail = null;
      await expectStaleRemoved(await runCli(...args), 'dicomweb', uploaded, deleted);
    } finally {
      delete process.env[DICOMWEB_AUTH_ENV];
      await proxy.close();
    }
  });

  it('a series with an unreadable instance: the error names that instance, the other two are denoised and stored (exit 1)', async () => {
    // The real CT series as another study, its second instance's PixelData cut to half: Orthanc
    // stores it, lowdose cannot read its pixels.
    const originals = await readInstances(CT_DIR);
    const { study, series, unreadableSop: bad } = await uploadWithUnreadableInstance(orthanc, originals);
    expect(study).not.toBe(studyUid);
    const seriesUrl = `${orthanc.dicomweb}/studies/${study}/series/${series}`;
    const out = path.join(dir, 'out-unreadable');
    const run = await runCli('denoise', `${orthanc.dicomweb}/studies/${study}`, '-o', out, '--method', 'gaussian', '--stow', orthanc.dicomweb, '--dicomweb-auth', `basic:${orthanc.user}:${orthanc.password}`, '--no-progress', '--json');
    expect(run.code, run.stderr).toBe(1);
    const report = JSON.parse(run.stdout) as DicomwebJsonReport;
    expect(report.dicomweb.pulled).toEqual([expect.objectContaining({ seriesInstanceUid: series, instances: 3, retrieved: 3 })]);
    expect(report.errors).toEqual([
      expect.objectContaining({
        code: 'E_TRUNCATED',
        path: expect.stringMatching(new RegExp(`/${bad.replace(/\./g, '\\.')}\\.dcm$`)),
        message: expect.stringContaining(`instance ${bad} of ${seriesUrl}: `),
      }),
    ]);
    expect(report.errors[0]!.message).toMatch(/pixel data holds 262144 bytes but 1 frame\(s\) of 512 x 512 x 16 bits need 524288/);
    expect(existsSync(report.errors[0]!.path!)).toBe(true); // kept for inspection
    expect(report.series).toHaveLength(1);
    // The run ended with an error: the pull folder stays, and input.files names its files as read.
    expect(report.series[0]!.input.url).toBe(seriesUrl);
    expect(report.series[0]!.input.files).toHaveLength(2);
    expect(report.series[0]!.input.files.every((f) => existsSync(f))).toBe(true);
    expect(report.series[0]!.output.files).toHaveLength(2);
    const derivedUid = report.series[0]!.output.seriesInstanceUid;
    expect(report.dicomweb.stored).toEqual([expect.objectContaining({ kind: 'denoised', studyInstanceUid: study, seriesInstanceUid: derivedUid, instances: 2 })]);
    const stored = await seriesInstances(derivedUid);
    const localMd5 = await Promise.all(report.series[0]!.output.files.map(async (f) => createHash('md5').update(await readFile(f)).digest('hex')));
    expect([...stored.values()].map((s) => s.md5).sort()).toEqual(localMd5.sort());
  });

  it('a PET series URL round-trips: one derived PET instance stored in the source study, byte-equal to the local output', async () => {
    const uploaded = (await (await orthanc.rest('/instances', { method: 'POST', body: await readFile(PET_FILE) })).json()) as { ID: string };
    const tags = (await (await orthanc.rest(`/instances/${uploaded.ID}/simplified-tags`)).json()) as Record<string, string>;
    const url = `${orthanc.dicomweb}/studies/${tags.StudyInstanceUID}/series/${tags.SeriesInstanceUID}`;
    const out = path.join(dir, 'out-pet');
    const run = await runCli('denoise', url, '-o', out, '--method', 'gaussian', '--stow', orthanc.dicomweb, '--dicomweb-auth', `basic:${orthanc.user}:${orthanc.password}`, '--no-progress', '--json');
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as DicomwebJsonReport;
    const derivedUid = report.series[0]!.output.seriesInstanceUid;
    expect(report.dicomweb.stored).toEqual([expect.objectContaining({ kind: 'denoised', studyInstanceUid: tags.StudyInstanceUID, seriesInstanceUid: derivedUid, instances: 1 })]);
    const stored = [...(await seriesInstances(derivedUid)).values()];
    expect(stored).toHaveLength(1);
    expect(stored[0]!.md5).toBe(createHash('md5').update(await readFile(report.series[0]!.output.files[0]!)).digest('hex'));
    const derived = (await (await orthanc.rest(`/instances/${stored[0]!.id}/simplified-tags`)).json()) as Record<string, string>;
    expect([derived.Modality, derived.ImageType?.split('\\')[0]]).toEqual(['PT', 'DERIVED']);
  });

  it.skipIf(!hasPydicom)('a dynamic PET series (3 time points x 2 slices) is stored back as ONE derived series of its 6 instances, which lowdose reads back from the PACS as the same 3 time points', async () => {
    const { study, series: source, files } = await uploadDynamicPet(orthanc, path.join(dir, 'pet-timing'));
    expect(files).toHaveLength(6);
    const seriesOf = async () => (await seriesInStudy(orthanc, study)).map((s) => s.MainDicomTags.SeriesInstanceUID).sort();
    const before = await seriesOf();
    const auth = `basic:${orthanc.user}:${orthanc.password}`;
    const run = await runCli('denoise', `${orthanc.dicomweb}/studies/${study}/series/${source}`, '-o', path.join(dir, 'out-dynamic'), '--method', 'gaussian', '--stow', orthanc.dicomweb, '--dicomweb-auth', auth, '--no-progress', '--json');
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as DicomwebJsonReport;
    expect(report.errors).toEqual([]);
    expect(report.series.map((s) => s.input.key.replace(/^.*#/, '#'))).toEqual(['#t1', '#t2', '#t3']);
    const derivedUid = report.series[0]!.output.seriesInstanceUid;
    expect(report.dicomweb.stored).toEqual([expect.objectContaining({ kind: 'denoised', studyInstanceUid: study, seriesInstanceUid: derivedUid, instances: 6 })]);

    // On the PACS: exactly one new series, holding all 6 frames' instances, byte-equal to the local files.
    expect(await seriesOf()).toEqual([...before, derivedUid].sort());
    const stored = await seriesInstances(derivedUid);
    expect(stored.size).toBe(6);
    const local = report.series.flatMap((s) => s.output.files);
    expect(new Set(local).size).toBe(6);
    const localMd5 = await Promise.all(local.map(async (f) => createHash('md5').update(await readFile(f)).digest('hex')));
    expect([...stored.values()].map((s) => s.md5).sort()).toEqual(localMd5.sort());
    expect(await imageIndexes(orthanc, [...stored.values()].map((s) => s.id))).toEqual([1, 2, 3, 4, 5, 6].map((i) => [i, 3]));

    // Pulled back from the PACS (WADO-RS), lowdose splits the derived series into the same time points again.
    const back = await runCli('denoise', `${orthanc.dicomweb}/studies/${study}/series/${derivedUid}`, '-o', path.join(dir, 'out-dynamic-back'), '--method', 'gaussian', '--dicomweb-auth', auth, '--no-progress', '--json');
    expect(back.code, back.stderr).toBe(0);
    const again = JSON.parse(back.stdout) as DicomwebJsonReport;
    expect(again.dicomweb.pulled).toEqual([expect.objectContaining({ seriesInstanceUid: derivedUid, instances: 6, retrieved: 6 })]);
    expect(again.series.map((s) => [s.input.key, s.output.files.length])).toEqual(['#t1', '#t2', '#t3'].map((k) => [`${derivedUid}${k}`, 2]));
  });

  it('a server that caps QIDO-RS answers at 2 instances: the series is listed page by page with offset and all 3 are pulled and denoised', async () => {
    const proxy = await startProxy(orthanc.http);
    // As a server with a result cap answers: at most 2 matches per instance query (Orthanc's
    // DICOMweb plugin honours limit and offset).
    proxy.rewrite = (method, url) => (method === 'GET' && /\/instances(\?|$)/.test(url) ? `${url}${url.includes('?') ? '&' : '?'}limit=2` : url);
    try {
      const url = `${proxy.base}/dicom-web/studies/${studyUid}/series/${sourceSeriesUid}`;
      const run = await runCli('denoise', url, '-o', path.join(dir, 'out-capped'), '--method', 'gaussian', '--dicomweb-auth', `basic:${orthanc.user}:${orthanc.password}`, '--no-progress', '--json');
      expect(run.code, run.stderr).toBe(0);
      const report = JSON.parse(run.stdout) as DicomwebJsonReport;
      expect(report.dicomweb.pulled).toEqual([expect.objectContaining({ seriesInstanceUid: sourceSeriesUid, instances: 3, retrieved: 3 })]);
      expect(report.series[0]!.output.files).toHaveLength(3);
    } finally {
      await proxy.close();
    }
  });

  it('a server that caps QIDO-RS answers at 2 instances and refuses offset: exit 1 E_IO naming 2 of 3, nothing denoised; --allow-incomplete denoises the 2 and records the counts', async () => {
    const proxy = await startProxy(orthanc.http);
    proxy.rewrite = (method, url) => (method === 'GET' && /\/instances(\?|$)/.test(url) ? `${url}${url.includes('?') ? '&' : '?'}limit=2` : url);
    proxy.fail = (method, url) => (method === 'GET' && /[?&]offset=/.test(url) ? 400 : false);
    try {
      const url = `${proxy.base}/dicom-web/studies/${studyUid}/series/${sourceSeriesUid}`;
      const args = (out: string, ...more: string[]) => ['denoise', url, '-o', path.join(dir, out), '--method', 'gaussian', '--dicomweb-auth', `basic:${orthanc.user}:${orthanc.password}`, '--no-progress', '--json', ...more];
      // info says it before any denoise: the series, with the counts of its instance list (exit 0).
      const info = await runCli('info', url, '--dicomweb-auth', `basic:${orthanc.user}:${orthanc.password}`, '--json');
      expect(info.code, info.stderr).toBe(0);
      expect((JSON.parse(info.stdout) as { series: unknown[] }).series).toEqual([
        expect.objectContaining({ seriesInstanceUid: sourceSeriesUid, instances: 3, incomplete: { expected: 3, received: 2, capped: true } }),
      ]);
      const infoText = await runCli('info', url, '--dicomweb-auth', `basic:${orthanc.user}:${orthanc.password}`);
      expect(infoText.stdout).toContain('warning: incomplete, its instance list holds 2 of the 3 instance(s) the server says the series holds (the server capped the list)');
      const refused = await runCli(...args('out-short'));
      expect(refused.code, refused.stderr).toBe(1);
      const refusedReport = JSON.parse(refused.stdout) as DicomwebJsonReport & { errors: Array<{ incomplete?: unknown }> };
      expect(refusedReport.series).toEqual([]);
      expect(refusedReport.errors).toEqual([
        {
          code: 'E_IO',
          path: url,
          message: expect.stringMatching(new RegExp(`^series ${sourceSeriesUid.replace(/\./g, '\\.')} is incomplete: the server says it holds 3 instance\\(s\\) and its QIDO-RS instance list holds 2 \\(the server refused to page .*nothing was denoised\\. --allow-incomplete denoises the 2`)),
          incomplete: { seriesInstanceUid: sourceSeriesUid, expected: 3, received: 2 },
        },
      ]);
      expect(existsSync(path.join(dir, 'out-short', 'report.json'))).toBe(true);

      const allowed = await runCli(...args('out-short-allowed', '--allow-incomplete'));
      expect(allowed.code, allowed.stderr).toBe(0);
      expect(allowed.stderr).toContain('denoising those 2 (--allow-incomplete): the derived series lacks 1 slice(s)');
      const report = JSON.parse(allowed.stdout) as DicomwebJsonReport & { dicomweb: { pulled: Array<{ incomplete?: unknown }> } };
      expect(report.errors).toEqual([]);
      expect(report.dicomweb.pulled).toEqual([expect.objectContaining({ seriesInstanceUid: sourceSeriesUid, instances: 2, incomplete: { expected: 3, received: 2 } })]);
      expect(report.series[0]!.output.files).toHaveLength(2);
      const written = JSON.parse(await readFile(path.join(dir, 'out-short-allowed', 'report.json'), 'utf8')) as typeof report;
      expect(written.dicomweb.pulled[0]!.incomplete).toEqual({ expected: 3, received: 2 });
      // Not a folder option: a folder is denoised as it is.
      expect((await runCli('denoise', CT_DIR, '-o', path.join(dir, 'out-folder-allow'), '--allow-incomplete')).code).toBe(2);
    } finally {
      await proxy.close();
    }
  });

  it('a server that caps QIDO-RS answers at 1 series: a study URL lists its series page by page with offset and denoises both', async () => {
    // A study of two CT series (copies of the real one, UIDs shifted so no other test's study is touched).
    const originals = await readInstances(CT_DIR);
    const first = copyAsOtherStudy(originals, new Set(), 3);
    const uploaded: Array<Record<string, string>> = [];
    for (const bytes of [...first, ...copyAsOtherSeries(first, 1)]) {
      const response = await orthanc.rest('/instances', { method: 'POST', body: Buffer.from(bytes) });
      expect(response.ok).toBe(true);
      uploaded.push((await (await orthanc.rest(`/instances/${((await response.json()) as { ID: string }).ID}/simplified-tags`)).json()) as Record<string, string>);
    }
    const study = uploaded[0]!['StudyInstanceUID']!;
    const seriesUids = [...new Set(uploaded.map((t) => t['SeriesInstanceUID']!))].sort();
    expect(seriesUids).toHaveLength(2);
    const proxy = await startProxy(orthanc.http);
    // As a server with a result cap answers: at most 1 match per series query.
    proxy.rewrite = (method, url) => (method === 'GET' && /\/series(\?|$)/.test(url) ? `${url}${url.includes('?') ? '&' : '?'}limit=1` : url);
    try {
      const url = `${proxy.base}/dicom-web/studies/${study}`;
      const auth = `basic:${orthanc.user}:${orthanc.password}`;
      const info = await runCli('info', url, '--dicomweb-auth', auth, '--json');
      expect(info.code, info.stderr).toBe(0);
      expect((JSON.parse(info.stdout) as { series: Array<{ seriesInstanceUid: string }> }).series.map((s) => s.seriesInstanceUid).sort()).toEqual(seriesUids);
      const run = await runCli('denoise', url, '-o', path.join(dir, 'out-series-capped'), '--method', 'gaussian', '--dicomweb-auth', auth, '--no-progress', '--json');
      expect(run.code, run.stderr).toBe(0);
      const report = JSON.parse(run.stdout) as DicomwebJsonReport;
      expect(report.dicomweb.pulled.map((p) => [p.seriesInstanceUid, p.instances]).sort()).toEqual(seriesUids.map((uid) => [uid, 3]));
      expect(report.series.map((s) => s.output.files.length)).toEqual([3, 3]);
    } finally {
      await proxy.close();
    }
  });

  it('a server that caps QIDO-RS answers at 1 series and refuses offset (HTTP 400): info lists what it gives and says it lacks 1 of the 2 series; denoise of the study exits 1 E_IO naming 1 of 2, nothing denoised; --allow-incomplete denoises the listed series and records the counts', async () => {
    const originals = await readInstances(CT_DIR);
    // A study of two CT series: the real one under new UIDs, and a copy of it as a second series.
    const study = (await uploadAsOtherStudy(orthanc, originals, new Set(), 11))[0]!['StudyInstanceUID']!;
    for (const bytes of copyAsOtherSeries(copyAsOtherStudy(originals, new Set(), 11), 1)) expect((await orthanc.rest('/instances', { method: 'POST', body: Buffer.from(bytes) })).ok).toBe(true);
    expect(await seriesInStudy(orthanc, study)).toHaveLength(2);
    const proxy = await startProxy(orthanc.http);
    const seriesQuery = (url: string) => /\/series(\?|$)/.test(url);
    proxy.fail = (method, url) => (method === 'GET' && /[?&]offset=/.test(url) ? 400 : false);
    const auth = `basic:${orthanc.user}:${orthanc.password}`;
    const url = `${proxy.base}/dicom-web/studies/${study}`;
    try {
      // Uncapped, the answer without offset is whole and the study's count says so: no word.
      const whole = await runCli('info', url, '--dicomweb-auth', auth, '--json');
      expect(whole.code, whole.stderr).toBe(0);
      const wholeResult = JSON.parse(whole.stdout) as { series: unknown[]; incompleteSeriesList?: string };
      expect(wholeResult.series).toHaveLength(2);
      expect(wholeResult.incompleteSeriesList).toBeUndefined();
      expect(whole.stderr).not.toMatch(/may lack/);

      proxy.rewrite = (method, url) => (method === 'GET' && seriesQuery(url) ? `${url}${url.includes('?') ? '&' : '?'}limit=1` : url);
      const info = await runCli('info', url, '--dicomweb-auth', auth, '--json');
      expect(info.code, info.stderr).toBe(0);
      const listed = JSON.parse(info.stdout) as { series: unknown[]; incompleteSeriesList?: string };
      expect(listed.series).toHaveLength(1);
      expect(listed.incompleteSeriesList).toBe(`the server lists 1 of the 2 series of study ${study}: the server refused to page its answer (HTTP 400 to the offset parameter), so a capped answer cannot be completed`);
      expect(info.stderr).toContain('warning: the list may lack series: the server lists 1 of the 2 series');

      // The same rule as a series short of its instances: refused by default, exit 1, one E_IO entry with the counts.
      const args = (out: string, ...more: string[]) => ['denoise', url, '-o', path.join(dir, out), '--method', 'gaussian', '--dicomweb-auth', auth, '--no-progress', '--json', ...more];
      const refused = await runCli(...args('out-offset-refused'));
      expect(refused.code, refused.stderr).toBe(1);
      expect(refused.stderr).not.toContain('retrieving');
      const refusedReport = JSON.parse(refused.stdout) as DicomwebJsonReport & { dicomweb: { incompleteSeriesList?: string; incompleteSeriesListCounts?: unknown } };
      expect(refusedReport.series).toEqual([]);
      expect(refusedReport.dicomweb.pulled).toEqual([]);
      expect(refusedReport.errors).toEqual([
        {
          code: 'E_IO',
          path: url,
          message: expect.stringMatching(new RegExp(`^study ${study.replace(/\./g, '\\.')} is incomplete: the server lists 1 of the 2 series .*nothing was denoised\\. --allow-incomplete denoises the 1 listed`)),
          incomplete: { studyInstanceUid: study, expected: 2, received: 1 },
        },
      ]);
      expect(refusedReport.dicomweb.incompleteSeriesListCounts).toEqual({ expected: 2, received: 1 });
      expect(existsSync(path.join(dir, 'out-offset-refused', 'report.json'))).toBe(true);

      const run = await runCli(...args('out-offset-allowed', '--allow-incomplete'));
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toContain('the server lists 1 of the 2 series');
      expect(run.stderr).toContain('denoising the 1 listed (--allow-incomplete)');
      const report = JSON.parse(run.stdout) as DicomwebJsonReport & { dicomweb: { incompleteSeriesList?: string; incompleteSeriesListCounts?: unknown } };
      expect(report.errors).toEqual([]);
      expect(report.dicomweb.pulled).toHaveLength(1);
      expect(report.dicomweb.incompleteSeriesList).toBe(listed.incompleteSeriesList);
      expect(report.dicomweb.incompleteSeriesListCounts).toEqual({ expected: 2, received: 1 });
      const written = JSON.parse(await readFile(path.join(dir, 'out-offset-allowed', 'report.json'), 'utf8')) as typeof report;
      expect(written.dicomweb.incompleteSeriesListCounts).toEqual({ expected: 2, received: 1 });

      // A server that does not say how many series the study holds (its studies query answers nothing
      // here): the list is suspected incomplete with no count to compare, and refused alike (docs/pacs.md).
      proxy.rewrite = (method, url) =>
        method === 'GET' && seriesQuery(url) ? `${url}${url.includes('?') ? '&' : '?'}limit=1` : method === 'GET' && /\/studies\?StudyInstanceUID=/.test(url) ? url.replace(/StudyInstanceUID=[^&]*/, 'StudyInstanceUID=1.2.3.4') : url;
      const unknown = await runCli(...args('out-offset-unknown'));
      expect(unknown.code, unknown.stderr).toBe(1);
      const unknownReport = JSON.parse(unknown.stdout) as typeof refusedReport;
      expect(unknownReport.errors).toEqual([expect.objectContaining({ code: 'E_IO', incomplete: { studyInstanceUid: study, expected: null, received: 1 } })]);
      expect(unknownReport.errors[0]!.message).toContain('does not say how many it holds');
    } finally {
      await proxy.close();
    }
  });

  it('--overwrite with --stow while the server still holds the earlier run\'s derived series: exit 2 E_EXISTS before any work; once it is deleted, the redone series is stored', async () => {
    const originals = await readInstances(CT_DIR);
    const study = (await uploadAsOtherStudy(orthanc, originals, new Set(), 7))[0]!['StudyInstanceUID']!;
    const seriesOf = () => seriesInStudy(orthanc, study);
    const out = path.join(dir, 'out-overwrite');
    const args = ['denoise', `${orthanc.dicomweb}/studies/${study}`, '-o', out, '--method', 'gaussian', '--stow', orthanc.dicomweb, '--dicomweb-auth', `basic:${orthanc.user}:${orthanc.password}`, '--no-progress', '--json'];
    const first = await runCli(...args);
    expect(first.code, first.stderr).toBe(0);
    const earlier = (JSON.parse(first.stdout) as DicomwebJsonReport).series[0]!.output.seriesInstanceUid;
    expect(await seriesOf()).toHaveLength(2);

    const refused = await runCli(...args, '--overwrite');
    expect(refused.code, refused.stderr).toBe(2);
    const { errors } = JSON.parse(refused.stdout) as DicomwebJsonReport;
    expect(errors.map((e) => e.code)).toEqual(['E_EXISTS']);
    expect(errors[0]!.message).toContain(`--overwrite with --stow: ${orthanc.dicomweb} still holds denoised series ${earlier}`);
    expect(errors[0]!.message).toMatch(/cannot delete a series from a PACS.*nothing was done/);
    expect(refused.stderr).not.toContain('retrieving');
    expect((await seriesOf()).map((s) => s.MainDicomTags.SeriesInstanceUID)).toContain(earlier);
    expect(await seriesOf()).toHaveLength(2);

    // Deleted on the PACS (Orthanc's REST API: DICOMweb has no delete), the redo is stored: one derived series again.
    const earlierId = (await seriesOf()).find((s) => s.MainDicomTags.SeriesInstanceUID === earlier)!.ID;
    expect((await orthanc.rest(`/series/${earlierId}`, { method: 'DELETE' })).ok).toBe(true);
    const redone = await runCli(...args, '--overwrite');
    expect(redone.code, redone.stderr).toBe(0);
    const report = JSON.parse(redone.stdout) as DicomwebJsonReport;
    const redoneUid = report.series[0]!.output.seriesInstanceUid;
    expect(redoneUid).not.toBe(earlier);
    expect(report.dicomweb.stored.map((s) => [s.seriesInstanceUid, s.instances])).toEqual([[redoneUid, 3]]);
    expect((await seriesOf()).map((s) => s.MainDicomTags.SeriesInstanceUID)).toContain(redoneUid);
    expect(await seriesOf()).toHaveLength(2);
  });

  it('a study URL run again skips the PET series lowdose stored even though Orthanc leaves its 366-character DerivationDescription out of QIDO-RS', async () => {
    const uploaded = (await (await orthanc.rest('/instances', { method: 'POST', body: await readFile(PET_FILE_2) })).json()) as { ID: string };
    const tags = (await (await orthanc.rest(`/instances/${uploaded.ID}/simplified-tags`)).json()) as Record<string, string>;
    const url = `${orthanc.dicomweb}/studies/${tags.StudyInstanceUID}`;
    const out = path.join(dir, 'out-pet-study');
    const auth = `basic:${orthanc.user}:${orthanc.password}`;
    // The diffusion model with its default consistency step writes a DerivationDescription over
    // Orthanc's 256-character limit for query answers.
    const args = ['denoise', url, '-o', out, '--threads', '1', '--stow', orthanc.dicomweb, '--dicomweb-auth', auth, '--no-progress', '--json'];
    const first = await runCli(...args);
    expect(first.code, first.stderr).toBe(0);
    const derivedUid = (JSON.parse(first.stdout) as DicomwebJsonReport).series[0]!.output.seriesInstanceUid;
    const derived = [...(await seriesInstances(derivedUid)).values()];
    expect(derived).toHaveLength(1);
    // What Orthanc stored (its REST and QIDO-RS answers leave the long value out, so read the file).
    const storedFile = Buffer.from(await (await orthanc.rest(`/instances/${derived[0]!.id}/file`)).arrayBuffer());
    expect(dicomParser.parseDicom(new Uint8Array(storedFile)).string('x00082111')?.length).toBeGreaterThan(256);

    const again = await runCli(...args);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain(`skipping series ${derivedUid}: lowdose derived it`);
    const second = JSON.parse(again.stdout) as DicomwebJsonReport;
    expect(second.dicomweb.pulled.map((p) => p.seriesInstanceUid)).toEqual([tags.SeriesInstanceUID]);
    expect(second.dicomweb.stored.map((s) => s.seriesInstanceUid)).toEqual([derivedUid]);
    const found = (await (
      await orthanc.rest('/tools/find', { method: 'POST', body: Buffer.from(JSON.stringify({ Level: 'Series', Query: { StudyInstanceUID: tags.StudyInstanceUID } })) })
    ).json()) as string[];
    expect(found).toHaveLength(2);
  });

  it.skipIf(!existsSync(OPENSSL))('https with a self-signed certificate: refused without --dicomweb-ca (exit 2), read with it', async () => {
    const key = path.join(dir, 'tls-key.pem');
    const cert = path.join(dir, 'tls-cert.pem');
    execFileSync(OPENSSL, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    const proxy = await startProxy(orthanc.http, { key: await readFile(key), cert: await readFile(cert) });
    try {
      const url = `${proxy.base}/dicom-web/studies/${studyUid}`;
      const auth = `basic:${orthanc.user}:${orthanc.password}`;
      const refused = await runCli('info', url, '--dicomweb-auth', auth);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/TLS certificate not trusted.*--dicomweb-ca/);
      const trusted = await runCli('info', url, '--dicomweb-auth', auth, '--dicomweb-ca', cert, '--json');
      expect(trusted.code, trusted.stderr).toBe(0);
      expect((JSON.parse(trusted.stdout) as { series: Array<{ seriesInstanceUid: string }> }).series.map((s) => s.seriesInstanceUid)).toContain(sourceSeriesUid);
    } finally {
      await proxy.close();
    }
  });
});
