/**
 * The `errors` of a run over several PACS studies is capped over the run, not per study: each
 * study's list keeps its first 100 unreadable instances of each code, the run's list the first 100
 * of each code over all studies, while every study's own errors (a series that failed, a study not
 * run) stay listed and every error is counted (src/pipeline/pacs-studies.ts `runErrors`).
 */
import { describe, expect, it } from 'vitest';
import { errorKey, runErrors, type PacsStudyReport } from '../../src/pipeline/pacs-studies.js';
import { CodeSample, LISTED_PER_CODE } from '../../src/util/code-sample.js';
import { Rng } from '../../src/util/random.js';

type Entry = PacsStudyReport['errors'][number];

/** A study of `truncated` unreadable instances (E_TRUNCATED) and `notDicom` (E_NOT_DICOM), listed as a study run lists them, and a failed series. */
function study(n: number, truncated: number, notDicom: number): { report: PacsStudyReport; unreadable: Set<string> } {
  const rng = new Rng(n);
  const listed = new CodeSample<Entry>();
  const seen = new CodeSample<{ code: string; key: string }>();
  for (let i = 0; i < truncated + notDicom; i++) {
    const code = i < truncated ? 'E_TRUNCATED' : 'E_NOT_DICOM';
    const sop = `1.2.826.0.1.${n}.${rng.nextUint32()}`;
    const entry = { path: `/tmp/pull-${n}/${sop}.dcm`, code, message: `instance ${sop} of https://pacs/studies/${n}/series/1: cut short` };
    listed.add(entry);
    seen.add({ code, key: errorKey(entry) });
  }
  listed.keep({ path: `/out/series-${n}`, code: 'E_LOCKED', message: `series ${n} was taken over by another run` });
  const report: PacsStudyReport = {
    source: `https://pacs/studies/${n}`,
    studyInstanceUid: `${n}`,
    outcome: 'failed',
    series: [],
    errors: listed.items,
    ...listed.counted(),
  };
  return { report, unreadable: new Set(seen.items.map((e) => e.key)) };
}

describe('a several-study run caps its errors over the run', () => {
  it('three studies of 150 truncated instances list 100 of them in all, every failed series, and count all 450', () => {
    const studies = [study(1, 150, 3), study(2, 150, 0), study(3, 150, 2)];
    const queryError = { path: 'https://pacs', code: 'E_NOT_FOUND', message: 'accession A1 matched no study' };
    const run = runErrors([queryError], studies.map((s) => s.report), (i) => studies[i]!.unreadable);
    const listedOf = (code: string) => run.errors.filter((e) => e.code === code);
    expect(listedOf('E_TRUNCATED')).toHaveLength(LISTED_PER_CODE);
    // The first 100 in study order: all of them from the first study.
    expect(listedOf('E_TRUNCATED')).toEqual(studies[0]!.report.errors.filter((e) => e.code === 'E_TRUNCATED'));
    expect(listedOf('E_NOT_DICOM')).toHaveLength(5);
    expect(listedOf('E_LOCKED').map((e) => e.path)).toEqual(['/out/series-1', '/out/series-2', '/out/series-3']);
    expect(run.errors[0]).toEqual(queryError);
    expect(run.errorCount).toBe(1 + 450 + 5 + 3);
    expect(run.errorsByCode).toEqual({ E_NOT_FOUND: 1, E_TRUNCATED: 450, E_NOT_DICOM: 5, E_LOCKED: 3 });
    // Each study keeps its own capped list.
    expect(studies.map((s) => s.report.errors.filter((e) => e.code === 'E_TRUNCATED').length)).toEqual([100, 100, 100]);
  });

  it('a run of many studies lists no more unreadable instances than one study does', () => {
    const studies = Array.from({ length: 40 }, (_, i) => study(i + 10, 120, 0));
    const run = runErrors([], studies.map((s) => s.report), (i) => studies[i]!.unreadable);
    expect(run.errors).toHaveLength(LISTED_PER_CODE + 40);
    expect(run.errorCount).toBe(40 * 121);
  });
});
