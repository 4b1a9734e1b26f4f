/**
 * A cohort named study by study, against a real Orthanc holding three copies of a real CT study
 * (ct-3slice): A (patient 99000, 2003-04-17, accession ACC00001), B (patient 99017, 2003-04-17,
 * accession ACC00002) and C (patient 99017, 2019-03-05, accession ACC00002 too). `--accession`
 * (C-FIND AccessionNumber at STUDY level, QIDO-RS AccessionNumber) alone or with the other keys,
 * `--studies-from <file>` (accession numbers and StudyInstanceUIDs, one a line), and `info` on a
 * DICOMweb base URL with the same keys as on a dimse:// address.
 */
import { readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { closedPort } from '../helpers/ports.js';
import { withSameLengthText } from '../helpers/mutate-dicom.js';
import { findOrthanc, freePort, ORTHANC_AET, readInstances, type RunningOrthanc, startOrthanc, uploadCohort } from '../helpers/orthanc.js';

const CT_DIR = path.resolve('../shared/dicom/QIICR__dcmqi/data/segmentations/ct-3slice');
const CALLING_AET = 'LOWDOSE';
const installed = findOrthanc();
if (!installed) console.warn('skipping accession-number PACS tests: Orthanc is not installed (apt-get install orthanc orthanc-dicomweb)');

interface Report {
  series: Array<{ input: { seriesInstanceUid: string }; output: { files: string[] } }>;
  errors: Array<{ code: string; message: string; path: string | null }>;
  studies: Array<{ source: string; studyInstanceUid: string; query?: string; outcome: string; series: string[] }>;
  queries: Array<{ source: string; patientId?: string; from?: string; to?: string; accessionNumber?: string; studyInstanceUid?: string; studies: string[]; notDenoised: unknown[] }>;
}

interface StudyList {
  source: string;
  studies: Array<{ studyInstanceUid: string; patientId: string; patientName: string; studyDate: string; accessionNumber: string; description: string; modalities: string[]; series: number | null; instances: number | null; url: string }>;
  errors: Array<{ code: string; message: string; path: string | null }>;
  queries?: Array<{ accessionNumber?: string; patientId?: string; studies: string[] }>;
}

describe.skipIf(!installed)('studies named by accession number or StudyInstanceUID (Orthanc)', () => {
  let dir: string;
  let orthanc: RunningOrthanc;
  let pacs: string;
  let auth: string;
  const study: Record<'A' | 'B' | 'C', string> = { A: '', B: '', C: '' };
  const savedTmp = process.env.TMPDIR;
  const common = () => ['--method', 'gaussian', '--calling-aet', CALLING_AET, '--no-progress', '--json'];
  const parse = (stdout: string) => JSON.parse(stdout) as Report;
  const studiesOf = (report: { studies: Array<{ studyInstanceUid: string }> }) => report.studies.map((s) => s.studyInstanceUid).sort();

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lowdose-accession-'));
    process.env.TMPDIR = dir;
    orthanc = await startOrthanc(dir, { dicomModalities: { lowdose: { aet: CALLING_AET, host: '127.0.0.1', port: await freePort() } } });
    pacs = `dimse://${ORTHANC_AET}@127.0.0.1:${orthanc.dicomPort}`;
    auth = `basic:${orthanc.user}:${orthanc.password}`;
    const originals = await readInstances(CT_DIR);
    // AccessionNumber 03086212 in the originals; replaced by values of the same length.
    const accessions = { A: 'ACC00001', B: 'ACC00002', C: 'ACC00002' };
    Object.assign(study, await uploadCohort(orthanc, originals, 31, (name, file) => withSameLengthText(file, 'x00080050', accessions[name])));
    expect(new Set(Object.values(study)).size).toBe(3);
  });

  afterAll(async () => {
    if (savedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmp;
    await orthanc?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('denoise dimse://PACS --accession (repeated): each accession is its own C-FIND; one matching two studies denoises both and says so, one matching none is an error of the run (exit 1) while the others are denoised', async () => {
    const out = path.join(dir, 'by-accession');
    const run = await runCli('denoise', pacs, '--accession', 'ACC00001', '--accession', 'ACC00002', '--accession', 'NOSUCH01', '-o', out, ...common());
    expect(run.code, run.stderr).toBe(1);
    const report = parse(run.stdout);
    expect(studiesOf(report)).toEqual([study.A, study.B, study.C].sort());
    expect(report.studies.every((s) => s.outcome === 'done' && s.query === pacs)).toBe(true);
    expect(report.series).toHaveLength(3);
    expect(report.queries.map((q) => ({ ...q, studies: [...q.studies].sort() }))).toEqual([
      { source: pacs, accessionNumber: 'ACC00001', studies: [study.A], notDenoised: [] },
      { source: pacs, accessionNumber: 'ACC00002', studies: [study.B, study.C].sort(), notDenoised: [] },
      { source: pacs, accessionNumber: 'NOSUCH01', studies: [], notDenoised: [] },
    ]);
    expect(report.errors).toEqual([{ code: 'E_NOT_FOUND', message: `no study on ${pacs} matches accession number NOSUCH01`, path: pacs }]);
    expect(run.stderr).toContain(`warning: no study on ${pacs} matches accession number NOSUCH01`);
    expect(run.stderr).toMatch(/--accession ACC00002\): 2 studies match, 2 with CT or PT: .*every one is denoised/);
    expect(JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8'))).toEqual(report);

    // with the other keys: ACC00002 of 2019 only
    const narrowed = await runCli('denoise', pacs, '--accession', 'ACC00002', '--from', '20190101', '-o', path.join(dir, 'accession-and-date'), ...common());
    expect(narrowed.code, narrowed.stderr).toBe(0);
    expect(studiesOf(parse(narrowed.stdout))).toEqual([study.C]);
    // nothing matches at all: E_NOT_FOUND, nothing done
    const none = await runCli('denoise', pacs, '--accession', 'ACC00001', '--patient-id', '99017', '-o', path.join(dir, 'none'), ...common());
    expect(none.code).toBe(2);
    expect(none.stdout).toContain(`no study with CT or PET matches --accession ACC00001 with --patient-id 99017 on ${pacs}; nothing was done`);
    expect(readdirSync(dir)).not.toContain('none');
  });

  it('a DICOMweb base URL with --accession denoises exactly the matching studies (QIDO-RS AccessionNumber)', async () => {
    const run = await runCli('denoise', orthanc.dicomweb, '--accession', 'ACC00002', '--to', '20031231', '-o', path.join(dir, 'qido-accession'), '--method', 'gaussian', '--dicomweb-auth', auth, '--no-progress', '--json');
    expect(run.code, run.stderr).toBe(0);
    const report = parse(run.stdout);
    expect(report.studies).toEqual([expect.objectContaining({ source: `${orthanc.dicomweb}/studies/${study.B}`, studyInstanceUid: study.B, query: orthanc.dicomweb, outcome: 'done' })]);
    expect(report.queries).toEqual([{ source: orthanc.dicomweb, accessionNumber: 'ACC00002', to: '20031231', studies: [study.B], notDenoised: [] }]);
    const missing = await runCli('denoise', orthanc.dicomweb, '--accession', 'ACC00001', '--accession', 'NOSUCH02', '-o', path.join(dir, 'qido-missing'), '--method', 'gaussian', '--dicomweb-auth', auth, '--no-progress', '--json');
    expect(missing.code, missing.stderr).toBe(1);
    expect(studiesOf(parse(missing.stdout))).toEqual([study.A]);
    expect(parse(missing.stdout).errors).toEqual([{ code: 'E_NOT_FOUND', message: `no study on ${orthanc.dicomweb} matches accession number NOSUCH02`, path: orthanc.dicomweb }]);
  });

  it('--studies-from: accession numbers and StudyInstanceUIDs one a line (header, blank and # lines skipped), each its own query, a study named twice run once; a UID on no study is reported, the others denoised', async () => {
    const list = path.join(dir, 'cohort.csv');
    await writeFile(list, `AccessionNumber\r\n# trial 7, arm B\r\n\r\n"ACC00002"\r\n${study.A}\r\n1.2.3.4.5.6.7.8.9\r\nACC00001\r\n`);
    const out = path.join(dir, 'from-file');
    const run = await runCli('denoise', pacs, '--studies-from', list, '-o', out, ...common());
    expect(run.code, run.stderr).toBe(1);
    const report = parse(run.stdout);
    expect(studiesOf(report)).toEqual([study.A, study.B, study.C].sort());
    expect(report.queries.map((q) => [q.accessionNumber ?? q.studyInstanceUid, q.studies.length])).toEqual([['ACC00002', 2], ['ACC00001', 1], [study.A, 1], ['1.2.3.4.5.6.7.8.9', 0]]);
    expect(report.studies).toHaveLength(3); // A, named twice, runs once
    expect(report.errors).toEqual([{ code: 'E_NOT_FOUND', message: `no study on ${pacs} matches StudyInstanceUID 1.2.3.4.5.6.7.8.9`, path: pacs }]);
    expect(report.series.every((s) => s.output.files.length === 3)).toBe(true);
  });

  it('--studies-from with a malformed line is E_USAGE naming the line, before any query; without a PACS address, or a file that cannot be read, E_USAGE too', async () => {
    const list = path.join(dir, 'bad.csv');
    await writeFile(list, `accession\nACC00001\nACC00002,99017\n`);
    const message = (stdout: string) => (JSON.parse(stdout) as { errors: Array<{ code: string; message: string }> }).errors.map((e) => `${e.code} ${e.message}`).join('\n');
    // a PACS that is not listening: a query would be E_IO, exit 1
    const held = await closedPort();
    const nowhere = `dimse://${ORTHANC_AET}@127.0.0.1:${held.port}`;
    const bad = await runCli('denoise', nowhere, '--studies-from', list, '-o', path.join(dir, 'bad-out'), ...common());
    const good = await runCli('denoise', nowhere, '--accession', 'ACC00001', '-o', path.join(dir, 'bad-out'), ...common());
    await held.release();
    expect(good.code).toBe(1);
    expect(message(good.stdout)).toMatch(/^E_IO /);
    expect(bad.code).toBe(2);
    expect(message(bad.stdout)).toContain(`E_USAGE ${list} line 3: "ACC00002,99017" is not one accession number or StudyInstanceUID`);
    const uid = path.join(dir, 'bad-uid.txt');
    await writeFile(uid, `1.2.03.4\n`);
    const badUid = await runCli('denoise', pacs, '--studies-from', uid, '-o', path.join(dir, 'bad-out'), ...common());
    expect(badUid.code).toBe(2);
    expect(message(badUid.stdout)).toContain(`E_USAGE ${uid} line 1: "1.2.03.4" is digits and dots, so a StudyInstanceUID, but not a valid one`);
    const long = await runCli('denoise', pacs, '--accession', 'A2345678901234567', '-o', path.join(dir, 'bad-out'), ...common());
    expect(long.code).toBe(2);
    expect(message(long.stdout)).toContain('E_USAGE --accession "A2345678901234567" is not an accession number: it is 17 characters long');
    const noPacs = await runCli('denoise', `${pacs}/${study.A}`, '--accession', 'ACC00001', '-o', path.join(dir, 'bad-out'), ...common());
    expect(noPacs.code).toBe(2);
    expect(message(noPacs.stdout)).toContain('E_USAGE --patient-id, --from, --to, --accession and --studies-from narrow the study list of a PACS address');
    const unreadable = await runCli('denoise', pacs, '--studies-from', path.join(dir, 'absent.csv'), '-o', path.join(dir, 'bad-out'), ...common());
    expect(unreadable.code).toBe(2);
    expect(message(unreadable.stdout)).toMatch(/^E_USAGE --studies-from .*absent\.csv: cannot read it: ENOENT/);
    expect(readdirSync(dir)).not.toContain('bad-out');
  });

  it('info lists the studies of --accession on a dimse:// address and on a DICOMweb base URL alike (same --json shape); an accession on no study is exit 1', async () => {
    const dimse = await runCli('info', pacs, '--accession', 'ACC00002', '--calling-aet', CALLING_AET, '--json');
    expect(dimse.code, dimse.stderr).toBe(0);
    const viaDimse = JSON.parse(dimse.stdout) as StudyList;
    expect(studiesOf(viaDimse)).toEqual([study.B, study.C].sort());
    expect(viaDimse.queries).toEqual([{ accessionNumber: 'ACC00002', studies: [study.C, study.B] }]);
    const web = await runCli('info', orthanc.dicomweb, '--accession', 'ACC00002', '--dicomweb-auth', auth, '--json');
    expect(web.code, web.stderr).toBe(0);
    const viaWeb = JSON.parse(web.stdout) as StudyList;
    expect(viaWeb.source).toBe(orthanc.dicomweb);
    const withoutUrl = (list: StudyList) => list.studies.map(({ url: _url, ...rest }) => rest);
    expect(withoutUrl(viaWeb)).toEqual(withoutUrl(viaDimse));
    expect(viaWeb.studies.map((s) => s.url)).toEqual([study.C, study.B].map((uid) => `${orthanc.dicomweb}/studies/${uid}`));
    expect(viaWeb.studies[0]).toMatchObject({ studyInstanceUid: study.C, patientId: '99017', studyDate: '20190305', accessionNumber: 'ACC00002', modalities: ['CT'], series: 1, instances: 3 });
    expect(viaWeb.errors).toEqual([]);

    const byPatient = await runCli('info', orthanc.dicomweb, '--patient-id', '99000', '--dicomweb-auth', auth, '--json');
    expect(byPatient.code, byPatient.stderr).toBe(0);
    expect(JSON.parse(byPatient.stdout)).toEqual({ source: orthanc.dicomweb, studies: [expect.objectContaining({ studyInstanceUid: study.A, accessionNumber: 'ACC00001' })], errors: [] });

    const missing = await runCli('info', orthanc.dicomweb, '--accession', 'ACC00001', '--accession', 'NOSUCH03', '--dicomweb-auth', auth, '--json');
    expect(missing.code).toBe(1);
    const result = JSON.parse(missing.stdout) as StudyList;
    expect(studiesOf(result)).toEqual([study.A]);
    expect(result.errors).toEqual([{ code: 'E_NOT_FOUND', message: `no study on ${orthanc.dicomweb} matches accession number NOSUCH03`, path: orthanc.dicomweb }]);
    expect(missing.stderr).toContain(`warning: no study on ${orthanc.dicomweb} matches accession number NOSUCH03`);

    // --studies-from reads the file as denoise does: the cohort listed before anything is pulled.
    const list = path.join(dir, 'info-cohort.csv');
    await writeFile(list, `StudyInstanceUID\n${study.A}\nACC00002\n1.2.3.4.5.6.7.8.9\n`);
    const fromFile = await runCli('info', pacs, '--studies-from', list, '--calling-aet', CALLING_AET, '--json');
    expect(fromFile.code, fromFile.stderr).toBe(1);
    const cohort = JSON.parse(fromFile.stdout) as StudyList;
    expect(studiesOf(cohort)).toEqual([study.A, study.B, study.C].sort());
    expect(cohort.errors).toEqual([{ code: 'E_NOT_FOUND', message: `no study on ${pacs} matches StudyInstanceUID 1.2.3.4.5.6.7.8.9`, path: pacs }]);
  });
});
