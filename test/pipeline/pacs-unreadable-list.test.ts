/**
 * A PACS run records its unreadable instances as a folder run records its unreadable files: the
 * capped `errors` list with errorCount / errorsByCode, and every one in <out>/unreadable.tsv
 * (errorsFile), each named by its SOP Instance UID and series address. Against a real Orthanc:
 * one DICOMweb study, two DICOMweb studies in one run, one dimse:// study.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERRORS_FILE, parseErrorList } from '../../src/util/error-list-file.js';
import { runCli } from '../helpers/cli.js';
import { copyAsOtherSeries, copyAsOtherStudy } from '../helpers/mutate-dicom.js';
import { findOrthanc, freePort, ORTHANC_AET, readInstances, type RunningOrthanc, startOrthanc, uploadAsOtherStudy, uploadInstances } from '../helpers/orthanc.js';

const CT_DIR = path.resolve('../shared/dicom/QIICR__dcmqi/data/segmentations/ct-3slice');
const CALLING_AET = 'LOWDOSE';
const installed = findOrthanc();

interface CountedReport {
  errors: Array<{ code: string; message: string; path: string | null }>;
  errorCount?: number;
  errorsByCode?: Record<string, number>;
  errorsFile?: string;
  studies?: Array<{ errorCount?: number; errorsByCode?: Record<string, number>; errors: unknown[] }>;
  series?: unknown[];
}

describe.skipIf(!installed)('unreadable instances of a PACS run, counted and listed whole', () => {
  let dir: string;
  let orthanc: RunningOrthanc;
  let originals: Uint8Array[];
  const savedTmp = process.env.TMPDIR;

  /** A copy of the real 3-slice CT as another study (UIDs moved by `shift`), instance `bad` cut short. */
  async function studyWithUnreadable(shift: number, bad: number): Promise<{ study: string; series: string; sop: string }> {
    const tags = await uploadAsOtherStudy(orthanc, originals, new Set([bad]), shift);
    return { study: tags[0]!['StudyInstanceUID']!, series: tags[0]!['SeriesInstanceUID']!, sop: tags[bad]!['SOPInstanceUID']! };
  }

  /** The report on stdout, the same in report.json, and the entries of its unreadable.tsv. */
  async function readRun(out: string, stdout: string): Promise<{ report: CountedReport; listed: ReturnType<typeof parseErrorList> }> {
    const report = JSON.parse(stdout) as CountedReport;
    expect(JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8'))).toMatchObject({ errorCount: report.errorCount, errorsByCode: report.errorsByCode, errorsFile: report.errorsFile });
    expect(report.errorsFile).toBe(path.join(out, ERRORS_FILE));
    return { report, listed: parseErrorList(await readFile(report.errorsFile!, 'utf8')) };
  }

  const named = (s: { sop: string }, seriesAddress: string) =>
    expect.objectContaining({ code: 'E_TRUNCATED', path: expect.stringMatching(new RegExp(`/${s.sop.replace(/\./g, '\\.')}\\.dcm$`)), message: expect.stringContaining(`instance ${s.sop} of ${seriesAddress}: `) });

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lowdose-pacs-unreadable-'));
    process.env.TMPDIR = dir; // pulled instances go under the test's folder
    orthanc = await startOrthanc(dir, { dicomModalities: { lowdose: { aet: CALLING_AET, host: '127.0.0.1', port: await freePort() } } });
    originals = await readInstances(CT_DIR);
  });

  afterAll(async () => {
    if (savedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmp;
    await orthanc?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('denoise <DICOMweb study>: errorCount, errorsByCode and unreadable.tsv naming the instance and its series URL', async () => {
    const a = await studyWithUnreadable(21, 1);
    const out = path.join(dir, 'out-dicomweb');
    const run = await runCli('denoise', `${orthanc.dicomweb}/studies/${a.study}`, '-o', out, '--method', 'gaussian', '--dicomweb-auth', `basic:${orthanc.user}:${orthanc.password}`, '--no-progress', '--json');
    expect(run.code, run.stderr).toBe(1);
    const { report, listed } = await readRun(out, run.stdout);
    const seriesUrl = `${orthanc.dicomweb}/studies/${a.study}/series/${a.series}`;
    expect(report).toMatchObject({ errorCount: 1, errorsByCode: { E_TRUNCATED: 1 } });
    expect(report.errors).toEqual([named(a, seriesUrl)]);
    expect(listed).toEqual([named(a, seriesUrl)]);
  });

  it('denoise with two DICOMweb studies: the run and each study counted, one unreadable.tsv listing both instances', async () => {
    const b = await studyWithUnreadable(22, 1);
    const c = await studyWithUnreadable(23, 2);
    const out = path.join(dir, 'out-studies');
    const run = await runCli(
      'denoise', `${orthanc.dicomweb}/studies/${b.study}`, `${orthanc.dicomweb}/studies/${c.study}`, '-o', out, '--method', 'gaussian',
      '--dicomweb-auth', `basic:${orthanc.user}:${orthanc.password}`, '--no-progress', '--json',
    );
    expect(run.code, run.stderr).toBe(1);
    const { report, listed } = await readRun(out, run.stdout);
    expect(report).toMatchObject({ errorCount: 2, errorsByCode: { E_TRUNCATED: 2 } });
    expect(report.studies).toEqual([
      expect.objectContaining({ errorCount: 1, errorsByCode: { E_TRUNCATED: 1 } }),
      expect.objectContaining({ errorCount: 1, errorsByCode: { E_TRUNCATED: 1 } }),
    ]);
    const urlOf = (s: { study: string; series: string }) => `${orthanc.dicomweb}/studies/${s.study}/series/${s.series}`;
    expect(listed).toEqual([named(b, urlOf(b)), named(c, urlOf(c))]);
  });

  it('denoise dimse://<study>: errorCount, errorsByCode and unreadable.tsv naming the instance and its dimse:// series', async () => {
    const d = await studyWithUnreadable(24, 1);
    const pacs = `dimse://${ORTHANC_AET}@127.0.0.1:${orthanc.dicomPort}`;
    const out = path.join(dir, 'out-dimse');
    const run = await runCli('denoise', `${pacs}/${d.study}`, '-o', out, '--method', 'gaussian', '--calling-aet', CALLING_AET, '--no-progress', '--json');
    expect(run.code, run.stderr).toBe(1);
    const { report, listed } = await readRun(out, run.stdout);
    expect(report).toMatchObject({ errorCount: 1, errorsByCode: { E_TRUNCATED: 1 } });
    expect(listed).toEqual([named(d, `${pacs}/${d.study}/${d.series}`)]);
  });

  it('denoise of two dimse:// studies of 51 unreadable instances each (and one whole series): the run lists 100 of them (the cap is over the run, not per study), counts all 102; each study lists its 51; unreadable.tsv has all 102', async () => {
    // Each study: 17 series of the 3-slice CT with every instance cut short inside its pixel data, and one whole (denoised).
    const upload = async (shift: number) => {
      const cut = Array.from({ length: 17 }, (_, k) => copyAsOtherStudy(copyAsOtherSeries(originals, k + 1), new Set([0, 1, 2]), shift)).flat();
      const tags = await uploadInstances(orthanc, [...cut, ...copyAsOtherStudy(copyAsOtherSeries(originals, 18), new Set(), shift)]);
      expect(new Set(tags.map((t) => t['StudyInstanceUID'])).size).toBe(1);
      expect(new Set(tags.map((t) => t['SOPInstanceUID'])).size).toBe(54);
      return tags[0]!['StudyInstanceUID']!;
    };
    const studies = [await upload(25), await upload(26)];
    const pacs = `dimse://${ORTHANC_AET}@127.0.0.1:${orthanc.dicomPort}`;
    const out = path.join(dir, 'out-capped');
    const run = await runCli('denoise', ...studies.map((s) => `${pacs}/${s}`), '-o', out, '--method', 'gaussian', '--calling-aet', CALLING_AET, '--no-progress', '--json');
    expect(run.code, run.stderr).toBe(1);
    const { report, listed } = await readRun(out, run.stdout);
    expect(report).toMatchObject({ errorCount: 102, errorsByCode: { E_TRUNCATED: 102 } });
    const truncated = report.errors.filter((e) => e.code === 'E_TRUNCATED');
    expect(truncated).toHaveLength(100);
    expect(report.errors).toHaveLength(100);
    // The first 100 in study order: the first study's 51, then 49 of the second's, as unreadable.tsv lists them.
    expect(listed).toHaveLength(102);
    expect(truncated.map((e) => e.path)).toEqual(listed.slice(0, 100).map((e) => e.path));
    const studyOf = (message: string) => studies.findIndex((s) => message.includes(`of ${pacs}/${s}/`));
    expect(listed.map((e) => studyOf(e.message))).toEqual([...Array<number>(51).fill(0), ...Array<number>(51).fill(1)]);
    expect(report.studies).toEqual([
      expect.objectContaining({ errorCount: 51, errorsByCode: { E_TRUNCATED: 51 } }),
      expect.objectContaining({ errorCount: 51, errorsByCode: { E_TRUNCATED: 51 } }),
    ]);
    expect(report.studies!.map((s) => s.errors.length)).toEqual([51, 51]);
    expect(report.series).toHaveLength(2);
  }, 300_000);
});
