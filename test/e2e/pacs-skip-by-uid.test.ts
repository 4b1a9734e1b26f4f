/**
 * `denoise --skip-by-uid`: a rerun of a finished PACS cohort judges each study from the PACS's
 * instance lists (QIDO-RS / C-FIND IMAGE level) against the completion markers in -o and does not
 * pull a study whose series are all finished with exactly its SOP Instance UIDs; it still stores
 * their derived series again (--stow / --store) as the pulled rerun does. A study whose instances
 * differ (one removed on the PACS), or that was made with other settings, is pulled and checked as
 * without the option. What it cannot see: a header corrected under the same UIDs, which the
 * default (pulled) rerun refuses. Against a real Orthanc over DICOMweb (behind
 * test/helpers/http-proxy.ts, which records every request) and DIMSE.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DICOMWEB_AUTH_ENV } from '../../src/dicomweb/client.js';
import { Denoiser } from '../../src/models/denoiser.js';
import { runCli } from '../helpers/cli.js';
import { startProxy, type Proxy } from '../helpers/http-proxy.js';
import { copyAsOtherStudy, withSameLengthText } from '../helpers/mutate-dicom.js';
import { deleteInstance, findOrthanc, freePort, ORTHANC_AET, readInstances, startOrthanc, uploadInstances, type RunningOrthanc } from '../helpers/orthanc.js';
import { keepEnv } from '../helpers/env.js';

const CT_DIR = path.resolve('../shared/dicom/QIICR__dcmqi/data/segmentations/ct-3slice');
const CALLING_AET = 'LOWDOSE';
const installed = findOrthanc();
if (!installed) console.warn('skipping --skip-by-uid tests: Orthanc is not installed (apt-get install orthanc orthanc-dicomweb)');

interface Section {
  pulled: Array<{ retrieved: number }>;
  stored: Array<{ seriesInstanceUid: string }>;
  notPulled?: string;
}
interface Report {
  series: Array<{ input: { seriesInstanceUid: string; files: string[]; url?: string }; skipped?: boolean; skippedBy?: string }>;
  errors: Array<{ code: string; message: string }>;
  studies: Array<{ studyInstanceUid: string; outcome: string; skipped?: boolean; series: string[]; dicomweb?: Section; dimse?: Section }>;
}

/** A WADO-RS retrieve of one instance (not a QIDO-RS instance list). */
const isRetrieve = (r: { method: string; url: string }) => r.method === 'GET' && /\/series\/[^/]+\/instances\/[^/?]+$/.test(r.url);

describe.skipIf(!installed)('denoise --skip-by-uid: a finished study is judged by its SOP Instance UIDs without pulling it (Orthanc)', () => {
  let dir: string;
  let orthanc: RunningOrthanc;
  let proxy: Proxy;
  let pacs: string;
  let originals: Uint8Array[];
  let shift = 70;
  const restoreEnv = keepEnv('TMPDIR', DICOMWEB_AUTH_ENV);

  /** A new copy of the CT study on Orthanc (`edit` changes its files first): its StudyInstanceUID and its instances' tags. */
  const upload = async (edit: (file: Uint8Array) => Uint8Array = (f) => f) => {
    const tags = await uploadInstances(orthanc, copyAsOtherStudy(originals, new Set(), shift++).map(edit));
    return { study: tags[0]!['StudyInstanceUID']!, tags };
  };
  const web = (study: string) => `${proxy.base}/dicom-web/studies/${study}`;
  const parse = (stdout: string) => JSON.parse(stdout) as Report;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lowdose-skip-by-uid-'));
    process.env.TMPDIR = dir;
    orthanc = await startOrthanc(dir, { dicomModalities: { lowdose: { aet: CALLING_AET, host: '127.0.0.1', port: await freePort() } } });
    pacs = `dimse://${ORTHANC_AET}@127.0.0.1:${orthanc.dicomPort}`;
    proxy = await startProxy(orthanc.http);
    process.env[DICOMWEB_AUTH_ENV] = `basic:${orthanc.user}:${orthanc.password}`;
    originals = await readInstances(CT_DIR);
  }, 120_000);

  afterAll(async () => {
    restoreEnv();
    await proxy?.close();
    await orthanc?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('DICOMweb, 2 studies finished with --stow: the rerun retrieves no instance, reports both studies skipped (not pulled) with their series, and stores the derived series again', async () => {
    const a = await upload();
    const b = await upload();
    const out = path.join(dir, 'web-finished');
    const args = ['denoise', web(a.study), web(b.study), '-o', out, '--method', 'gaussian', '--stow', `${proxy.base}/dicom-web`, '--no-progress', '--json'];
    const first = await runCli(...args);
    expect(first.code, first.stderr).toBe(0);
    proxy.served.length = 0;
    const rerun = await runCli(...args, '--skip-by-uid');
    expect(rerun.code, rerun.stderr).toBe(0);
    const report = parse(rerun.stdout);
    expect(proxy.served.filter(isRetrieve)).toEqual([]);
    expect(report.studies.map((s) => [s.studyInstanceUid, s.outcome, s.skipped])).toEqual([[a.study, 'done', true], [b.study, 'done', true]]);
    for (const s of report.studies) {
      expect(s.dicomweb!.pulled).toEqual([]);
      expect(s.dicomweb!.notPulled).toMatch(/SOP Instance UIDs/);
      // Stored again, as the pulled rerun does: one STOW-RS of its derived series.
      expect(s.dicomweb!.stored).toHaveLength(1);
    }
    expect(proxy.served.filter((r) => r.method === 'POST').length).toBe(2);
    expect(report.series).toHaveLength(2);
    expect(report.series.every((s) => s.skipped === true && s.skippedBy === 'sop-instance-uids')).toBe(true);
    // Without the option the same rerun pulls every instance (3 per study).
    proxy.served.length = 0;
    const pulled = await runCli(...args);
    expect(pulled.code, pulled.stderr).toBe(0);
    expect(proxy.served.filter(isRetrieve)).toHaveLength(6);
    expect(parse(pulled.stdout).studies.every((s) => s.skipped === undefined)).toBe(true);
  }, 180_000);

  it('DICOMweb, diffusion: a rerun whose studies are all finished never loads the model, and its skipped series name no file read, only their PACS address', async () => {
    const a = await upload();
    const b = await upload();
    const out = path.join(dir, 'web-diffusion');
    const args = ['denoise', web(a.study), web(b.study), '-o', out, '--steps', '2', '--no-progress', '--json'];
    const load = vi.spyOn(Denoiser, 'load');
    try {
      const first = await runCli(...args);
      expect(first.code, first.stderr).toBe(0);
      expect(load).toHaveBeenCalled();
      load.mockClear();
      const rerun = await runCli(...args, '--skip-by-uid');
      expect(rerun.code, rerun.stderr).toBe(0);
      expect(load).not.toHaveBeenCalled();
      const report = parse(rerun.stdout);
      expect(report.studies.map((s) => s.skipped)).toEqual([true, true]);
      const seriesUrl = (study: { study: string; tags: Array<Record<string, string>> }) => `${web(study.study)}/series/${study.tags[0]!['SeriesInstanceUID']}`;
      expect(report.series.map((s) => [s.skippedBy, s.input.files, s.input.url])).toEqual([
        ['sop-instance-uids', [], seriesUrl(a)],
        ['sop-instance-uids', [], seriesUrl(b)],
      ]);
      // The folder's record lists them so too; a later run's report.json keeps their PACS address and claims no file.
      const record = JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8')) as Report;
      expect(record.series.map((s) => s.input.files)).toEqual([[], []]);
      const other = await runCli('denoise', web(a.study), '-o', out, '--steps', '2', '--no-progress', '--json');
      expect(other.code, other.stderr).toBe(0);
      const later = JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8')) as { series: Array<Report['series'][number] & { earlierRun?: boolean }> };
      const earlier = later.series.find((s) => s.earlierRun === true)!;
      expect(earlier.input.seriesInstanceUid).toBe(b.tags[0]!['SeriesInstanceUID']);
      // Its files were the first run's pull folder, removed: none is claimed, its PACS address is kept.
      expect(earlier.input.files).toEqual([]);
      expect(earlier.input.url).toBe(seriesUrl(b));
    } finally {
      load.mockRestore();
    }
  }, 240_000);

  it('DICOMweb: a study with an instance removed on the PACS is pulled and checked (the series no longer matches: E_EXISTS as without the option); one made with another method is pulled too', async () => {
    const a = await upload();
    const b = await upload();
    const out = path.join(dir, 'web-changed');
    const args = ['denoise', web(a.study), web(b.study), '-o', out, '--method', 'gaussian', '--no-progress', '--json'];
    expect((await runCli(...args)).code).toBe(0);
    await deleteInstance(orthanc, a.tags[2]!['SOPInstanceUID']!);
    proxy.served.length = 0;
    const rerun = await runCli('denoise', web(a.study), '-o', out, '--method', 'gaussian', '--no-progress', '--json', '--skip-by-uid');
    expect(rerun.code, rerun.stderr).toBe(1);
    expect(proxy.served.filter(isRetrieve)).toHaveLength(2);
    const report = parse(rerun.stdout) as unknown as { dicomweb: Section; errors: Array<{ code: string }> };
    expect(report.dicomweb.notPulled).toBeUndefined();
    expect(report.errors.map((e) => e.code)).toEqual(['E_EXISTS']);
    expect(rerun.stderr).toMatch(/the PACS lists 2 instance\(s\), 0 of them not in the finished output, which has 1 the PACS does not list/);
    proxy.served.length = 0;
    const other = await runCli('denoise', web(b.study), '-o', out, '--method', 'bilateral', '--no-progress', '--json', '--skip-by-uid');
    expect(other.code, other.stderr).toBe(1);
    expect(proxy.served.filter(isRetrieve)).toHaveLength(3);
    expect(other.stderr).toMatch(/--skip-by-uid: pulling the study: .* was made otherwise \(method gaussian, this run bilateral\)/);
  }, 180_000);

  it('a header corrected on the PACS under the same UIDs: --skip-by-uid keeps the old output (the trade-off it states); the default rerun pulls the study and refuses it', async () => {
    const a = await upload();
    const out = path.join(dir, 'web-header');
    const args = ['denoise', web(a.study), '-o', out, '--method', 'gaussian', '--no-progress', '--json'];
    expect((await runCli(...args)).code).toBe(0);
    // The same instances with another PatientName, under the same SOP Instance UIDs.
    const corrected = copyAsOtherStudy(originals, new Set(), shift - 1).map((f) => withSameLengthText(f, 'x00100010', 'CORRECTD'));
    for (const t of a.tags) await deleteInstance(orthanc, t['SOPInstanceUID']!);
    const reuploaded = await uploadInstances(orthanc, corrected);
    expect(reuploaded.map((t) => t['SOPInstanceUID'])).toEqual(a.tags.map((t) => t['SOPInstanceUID']));
    const trusting = await runCli(...args, '--skip-by-uid');
    expect(trusting.code, trusting.stderr).toBe(0);
    expect(parse(trusting.stdout).series.map((s) => s.skippedBy)).toEqual(['sop-instance-uids']);
    // The text output says so too.
    const text = await runCli(...args.filter((a) => a !== '--json'), '--skip-by-uid');
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^not pulled: every series the run would denoise is finished in -o with exactly the SOP Instance UIDs the PACS lists/m);
    expect(text.stdout).toMatch(/\(already done, judged by its SOP Instance UIDs without pulling\)/);
    const checked = await runCli(...args);
    expect(checked.code).toBe(1);
    expect(parse(checked.stdout).errors.map((e) => e.code)).toEqual(['E_EXISTS']);
    expect(parse(checked.stdout).errors[0]!.message).toMatch(/finished from other input/);
  }, 180_000);

  it('DIMSE, 2 studies finished with --store: the rerun retrieves nothing (no C-GET), reports both skipped and C-STOREs the derived series again', async () => {
    const a = await upload();
    const b = await upload();
    const out = path.join(dir, 'dimse-finished');
    const args = ['denoise', `${pacs}/${a.study}`, `${pacs}/${b.study}`, '-o', out, '--method', 'gaussian', '--calling-aet', CALLING_AET, '--store', pacs, '--no-progress', '--json'];
    const first = await runCli(...args);
    expect(first.code, first.stderr).toBe(0);
    const rerun = await runCli(...args, '--skip-by-uid');
    expect(rerun.code, rerun.stderr).toBe(0);
    const report = parse(rerun.stdout);
    expect(report.studies.map((s) => [s.studyInstanceUid, s.outcome, s.skipped])).toEqual([[a.study, 'done', true], [b.study, 'done', true]]);
    for (const s of report.studies) {
      expect(s.dimse!.pulled).toEqual([]);
      expect(s.dimse!.notPulled).toMatch(/SOP Instance UIDs/);
      expect(s.dimse!.stored).toHaveLength(1);
    }
    expect(rerun.stderr).not.toMatch(/retrieving CT series/);
    expect(report.series.every((s) => s.skippedBy === 'sop-instance-uids')).toBe(true);
    expect(report.series.map((s) => [s.input.files, s.input.url])).toEqual([a, b].map((s) => [[], `${pacs}/${s.study}/${s.tags[0]!['SeriesInstanceUID']}`]));
    // The default rerun retrieves them all again.
    const pulled = await runCli(...args);
    expect(pulled.code, pulled.stderr).toBe(0);
    expect(parse(pulled.stdout).studies.map((s) => s.dimse!.pulled.reduce((n, p) => n + p.retrieved, 0))).toEqual([3, 3]);
  }, 180_000);

  it('DIMSE: a study with an instance removed on the PACS is pulled and refused as without the option', async () => {
    const a = await upload();
    const out = path.join(dir, 'dimse-changed');
    const args = ['denoise', `${pacs}/${a.study}`, '-o', out, '--method', 'gaussian', '--calling-aet', CALLING_AET, '--no-progress', '--json'];
    expect((await runCli(...args)).code).toBe(0);
    await deleteInstance(orthanc, a.tags[0]!['SOPInstanceUID']!);
    const rerun = await runCli(...args, '--skip-by-uid');
    expect(rerun.code).toBe(1);
    const report = parse(rerun.stdout) as unknown as { dimse: Section; errors: Array<{ code: string }> };
    expect(report.dimse.notPulled).toBeUndefined();
    expect(report.dimse.pulled.reduce((n, p) => n + p.retrieved, 0)).toBe(2);
    expect(report.errors.map((e) => e.code)).toEqual(['E_EXISTS']);
  }, 180_000);

  it('--skip-by-uid with a folder input is a usage error (exit 2)', async () => {
    const run = await runCli('denoise', CT_DIR, '-o', path.join(dir, 'folder'), '--method', 'gaussian', '--skip-by-uid', '--no-progress');
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--skip-by-uid needs a DICOMweb URL or dimse:\/\/ input/);
  });
});
