/**
 * `denoise` over several PACS studies in one run, against a real Orthanc holding three copies of a
 * real CT study (ct-3slice) as studies of two patients on two days: a study query (C-FIND at STUDY
 * level, or QIDO-RS for a DICOMweb base) narrowed by --patient-id / --from / --to picks exactly the
 * matching studies; several addresses (DICOMweb and dimse://) run one after another into one -o; a
 * failing study (not found, unreachable, a series short of its instances) is reported for itself and the others are denoised (exit 1); a rerun skips what is done.
 */
import { readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { startProxy } from '../helpers/http-proxy.js';
import { closedPort, findOrthanc, freePort, ORTHANC_AET, readInstances, type RunningOrthanc, startOrthanc, uploadCohort } from '../helpers/orthanc.js';

const CT_DIR = path.resolve('../shared/dicom/QIICR__dcmqi/data/segmentations/ct-3slice');
const CALLING_AET = 'LOWDOSE';
const installed = findOrthanc();
if (!installed) console.warn('skipping several-study PACS tests: Orthanc is not installed (apt-get install orthanc orthanc-dicomweb)');

interface StudiesJsonReport {
  series: Array<{ skipped?: boolean; input: { seriesInstanceUid: string }; output: { dir: string; files: string[] } }>;
  errors: Array<{ code: string; message: string; path: string | null; incomplete?: unknown }>;
  studies: Array<{
    source: string;
    studyInstanceUid: string;
    query?: string;
    outcome: 'done' | 'failed';
    series: string[];
    errors: Array<{ code: string; path: string | null; incomplete?: unknown }>;
    dimse?: { tls: boolean; pulled: Array<{ seriesInstanceUid: string; instances: number }> };
    dicomweb?: { studyInstanceUid: string; pulled: Array<{ seriesInstanceUid: string; instances: number }> };
  }>;
  queries: Array<{ source: string; patientId?: string; from?: string; to?: string; studies: string[] }>;
}

describe.skipIf(!installed)('denoise over several PACS studies (Orthanc)', () => {
  let dir: string;
  let orthanc: RunningOrthanc;
  let pacs: string;
  let auth: string;
  /** StudyInstanceUIDs: A = patient 99000 on 2003-04-17, B = patient 99017 on 2003-04-17, C = patient 99017 on 2019-03-05. */
  const study: Record<'A' | 'B' | 'C', string> = { A: '', B: '', C: '' };
  const savedTmp = process.env.TMPDIR;
  const common = () => ['--method', 'gaussian', '--calling-aet', CALLING_AET, '--no-progress', '--json'];
  const parse = (stdout: string) => JSON.parse(stdout) as StudiesJsonReport;
  const studiesOf = (report: StudiesJsonReport) => report.studies.map((s) => s.studyInstanceUid).sort();
  /** The study of each of the report's series, by the studies' `series` lists, in the report's order. */
  const seriesStudies = (report: StudiesJsonReport) => report.series.map((s) => report.studies.find((st) => st.series.includes(s.input.seriesInstanceUid))?.studyInstanceUid);

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lowdose-many-studies-'));
    process.env.TMPDIR = dir; // pulled instances go under the test's folder
    orthanc = await startOrthanc(dir, { dicomModalities: { lowdose: { aet: CALLING_AET, host: '127.0.0.1', port: await freePort() } } });
    pacs = `dimse://${ORTHANC_AET}@127.0.0.1:${orthanc.dicomPort}`;
    auth = `basic:${orthanc.user}:${orthanc.password}`;
    const originals = await readInstances(CT_DIR);
    Object.assign(study, await uploadCohort(orthanc, originals, 21));
    expect(new Set(Object.values(study)).size).toBe(3);
  });

  afterAll(async () => {
    if (savedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmp;
    await orthanc?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('denoise dimse://PACS --patient-id denoises exactly that patient\'s studies (C-FIND), --from / --to exactly those of the date range, report.json as printed', async () => {
    const out = path.join(dir, 'by-patient');
    const run = await runCli('denoise', pacs, '--patient-id', '99017', '-o', out, ...common());
    expect(run.code, run.stderr).toBe(0);
    const report = parse(run.stdout);
    expect(studiesOf(report)).toEqual([study.B, study.C].sort());
    expect(report.queries).toEqual([{ source: pacs, patientId: '99017', studies: expect.any(Array), notDenoised: [] }]);
    expect([...report.queries[0]!.studies].sort()).toEqual([study.B, study.C].sort());
    expect(report.errors).toEqual([]);
    for (const s of report.studies) {
      expect(s).toMatchObject({ source: `${pacs}/${s.studyInstanceUid}`, query: pacs, outcome: 'done', errors: [] });
      expect(s.dimse!.tls).toBe(false);
      expect(s.dimse!.pulled).toEqual([expect.objectContaining({ instances: 3 })]);
      expect(s.series).toEqual([s.dimse!.pulled[0]!.seriesInstanceUid]);
    }
    expect(seriesStudies(report).sort()).toEqual([study.B, study.C].sort());
    expect(report.series.every((s) => s.output.files.length === 3)).toBe(true);
    expect(JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8'))).toEqual(report);

    const range = await runCli('denoise', pacs, '--from', '20190101', '--to', '20191231', '-o', path.join(dir, 'by-date'), ...common());
    expect(range.code, range.stderr).toBe(0);
    expect(studiesOf(parse(range.stdout))).toEqual([study.C]);
    const before = await runCli('denoise', pacs, '--to', '20031231', '-o', path.join(dir, 'by-date-before'), ...common());
    expect(before.code, before.stderr).toBe(0);
    expect(studiesOf(parse(before.stdout))).toEqual([study.A, study.B].sort());
    const both = await runCli('denoise', pacs, '--patient-id', '99017', '--to', '20031231', '-o', path.join(dir, 'by-both'), ...common());
    expect(both.code, both.stderr).toBe(0);
    expect(studiesOf(parse(both.stdout))).toEqual([study.B]);
  });

  it('a DICOMweb base URL with --patient-id / --from denoises exactly the matching studies (QIDO-RS)', async () => {
    const run = await runCli('denoise', orthanc.dicomweb, '--patient-id', '99017', '--from', '20190101', '-o', path.join(dir, 'qido'), '--method', 'gaussian', '--dicomweb-auth', auth, '--no-progress', '--json');
    expect(run.code, run.stderr).toBe(0);
    const report = parse(run.stdout);
    expect(report.studies).toEqual([expect.objectContaining({ source: `${orthanc.dicomweb}/studies/${study.C}`, studyInstanceUid: study.C, query: orthanc.dicomweb, outcome: 'done' })]);
    expect(report.studies[0]!.dicomweb!.pulled).toEqual([expect.objectContaining({ instances: 3 })]);
    expect(report.series).toHaveLength(1);
  });

  it('a PACS address without a study needs --patient-id, --from or --to (E_USAGE, nothing pulled); the keys need a PACS address; a query that matches nothing is E_NOT_FOUND', async () => {
    const out = path.join(dir, 'refused');
    const whole = await runCli('denoise', pacs, '-o', out, ...common());
    expect(whole.code).toBe(2);
    expect(whole.stdout).toMatch(/E_USAGE/);
    expect(whole.stdout).toContain('would pull every study on the PACS');
    const base = await runCli('denoise', orthanc.dicomweb, '-o', out, '--method', 'gaussian', '--dicomweb-auth', auth, '--no-progress');
    expect(base.code).toBe(2);
    expect(base.stderr).toContain('would pull every study on the PACS');
    const keysOnStudy = await runCli('denoise', `${pacs}/${study.A}`, '--patient-id', '99017', '-o', out, ...common());
    expect(keysOnStudy.code).toBe(2);
    const mixed = await runCli('denoise', `${pacs}/${study.A}`, CT_DIR, '-o', out, ...common());
    expect(mixed.code).toBe(2);
    const nobody = await runCli('denoise', pacs, '--patient-id', 'NOBODY', '-o', out, ...common());
    expect(nobody.code).toBe(2);
    expect(nobody.stdout).toContain(`no study with CT or PET matches --patient-id NOBODY on ${pacs}; nothing was done`);
    expect(readdirSync(dir)).not.toContain('refused');
  });

  it('two addresses (a dimse:// study, a DICOMweb study) in one run into one -o; a rerun of the same command skips both series', async () => {
    const out = path.join(dir, 'two');
    const args = ['denoise', `${pacs}/${study.A}`, `${orthanc.dicomweb}/studies/${study.B}`, '-o', out, ...common(), '--dicomweb-auth', auth];
    const run = await runCli(...args);
    expect(run.code, run.stderr).toBe(0);
    const report = parse(run.stdout);
    expect(report.studies.map((s) => [s.studyInstanceUid, s.outcome, Boolean(s.dimse), Boolean(s.dicomweb)])).toEqual([
      [study.A, 'done', true, false],
      [study.B, 'done', false, true],
    ]);
    expect(report.studies.every((s) => s.query === undefined)).toBe(true);
    expect(seriesStudies(report)).toEqual([study.A, study.B]);
    expect(new Set(report.series.map((s) => s.output.dir)).size).toBe(2);
    expect(report.series.some((s) => s.skipped)).toBe(false);

    const again = await runCli(...args);
    expect(again.code, again.stderr).toBe(0);
    const rerun = parse(again.stdout);
    expect(seriesStudies(rerun)).toEqual([study.A, study.B]);
    expect(rerun.series.map((s) => s.skipped)).toEqual([true, true]);
    expect(rerun.series.map((s) => s.output.dir)).toEqual(report.series.map((s) => s.output.dir));

    // The human report names each study with its outcome, then the series (already done).
    const human = await runCli(...args.filter((a) => a !== '--json'));
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain(`study ${pacs}/${study.A}: done, 1 series\nstudy ${orthanc.dicomweb}/studies/${study.B}: done, 1 series\n`);
    expect(human.stdout.match(/\(already done\)/g)).toHaveLength(2);
  });

  it('a study that fails (not on the PACS, a PACS that does not answer, a series short of its instances) is reported for itself and the run goes on: the others are denoised, exit 1; a rerun skips them', async () => {
    const out = path.join(dir, 'one-fails');
    const missing = `${pacs}/1.2.3.4.5.6.7`;
    const held = await closedPort(); // connecting to it is refused
    const unreachable = `dimse://${ORTHANC_AET}@127.0.0.1:${held.port}/${study.B}`;
    // A DICOMweb front end that caps instance lists at 2 and will not page: study B's series lists 2 of its 3 instances.
    const proxy = await startProxy(orthanc.http);
    proxy.rewrite = (method, url) => (method === 'GET' && /\/instances(\?|$)/.test(url) ? `${url}${url.includes('?') ? '&' : '?'}limit=2` : url);
    proxy.fail = (method, url) => (method === 'GET' && /[?&]offset=/.test(url) ? 400 : false);
    const incomplete = `${proxy.base}/dicom-web/studies/${study.B}`;
    try {
      const args = ['denoise', `${pacs}/${study.A}`, missing, unreachable, incomplete, `${orthanc.dicomweb}/studies/${study.C}`, '-o', out, ...common(), '--dicomweb-auth', auth, '--dimse-timeout', '10'];
      const run = await runCli(...args);
      expect(run.code, run.stderr).toBe(1);
      const report = parse(run.stdout);
      expect(report.studies.map((s) => [s.source, s.outcome])).toEqual([
        [`${pacs}/${study.A}`, 'done'],
        [missing, 'failed'],
        [unreachable, 'failed'],
        [incomplete, 'failed'],
        [`${orthanc.dicomweb}/studies/${study.C}`, 'done'],
      ]);
      expect(report.studies[1]!.errors).toEqual([expect.objectContaining({ code: 'E_NOT_FOUND', path: missing })]);
      expect(report.studies[2]!.errors).toEqual([expect.objectContaining({ code: 'E_IO' })]);
      expect(report.studies[3]!.errors).toEqual([expect.objectContaining({ code: 'E_IO', incomplete: expect.objectContaining({ expected: 3, received: 2 }) })]);
      expect(report.studies[3]!.dicomweb).toMatchObject({ studyInstanceUid: study.B, pulled: [] });
      expect(report.errors).toEqual(report.studies.flatMap((s) => s.errors));
      expect(seriesStudies(report)).toEqual([study.A, study.C]);
      expect(JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8'))).toEqual(report);

      const again = await runCli(...args);
      expect(again.code).toBe(1);
      const rerun = parse(again.stdout);
      expect(seriesStudies(rerun)).toEqual([study.A, study.C]);
      expect(rerun.series.map((s) => s.skipped)).toEqual([true, true]);
      expect(rerun.studies.map((s) => s.outcome)).toEqual(['done', 'failed', 'failed', 'failed', 'done']);
    } finally {
      await proxy.close();
      await held.release();
    }
  });
});
