/**
 * `batch status` of a PACS batch counts a study's series and slices from the progress its worker
 * reports once it has listed them: a running job's slices written so far, a completed one's all,
 * and for a job that failed or waits for its retry only the series it finished (on disk with their
 * completion markers), which the batch's report lists too. A job not listed yet keeps its
 * placeholders ('' and 0) and has no seriesCount. The queue is a stand-in holding one job per state.
 */
import { describe, expect, it } from 'vitest';
import { batchStatus } from '../../src/queue/batch.js';
import { batchReport, encodeFailure, type BatchRecord, type JobProgress } from '../../src/queue/jobs.js';
import { standInQueue } from './stand-in-queue.js';

const BATCH = 'pacs-batch';
type State = 'completed' | 'failed' | 'active' | 'delayed' | 'waiting';

/** A study of a 4-slice CT series and a 6-slice PT series, the CT one finished, the PT one at `ptDone`. */
function listed(ptDone: number, finished = false): JobProgress {
  const series = [
    { seriesInstanceUid: '1.2.1', modality: 'CT', slices: 4, slicesDone: 4 },
    { seriesInstanceUid: '1.2.2', modality: 'PT', slices: 6, slicesDone: ptDone },
  ];
  const ct = { input: { seriesInstanceUid: '1.2.1' }, output: { dir: '/tmp/out/ct', files: ['a', 'b', 'c', 'd'] } };
  return { slicesDone: 4 + ptDone, slicesTotal: 10, series, ...(finished ? { finished: [ct as never] } : {}) };
}

function queueOf(jobs: ReadonlyArray<{ state: State; progress: JobProgress | number }>) {
  const ids = jobs.map((_, i) => `${BATCH}-${String(i).padStart(5, '0')}`);
  const record = {
    id: BATCH,
    createdAt: '2026-12-07T00:00:00.000Z',
    outDir: '/tmp/out',
    attempts: 3,
    jobs: ids.map((id, i) => ({ id, seriesInstanceUid: '', modality: '', slices: 0, source: `dimse://PACS@h:104/1.3.${i}`, studyInstanceUid: `1.3.${i}` })),
    queries: [],
    errors: [{ path: 'dimse://PACS@h:104', code: 'E_NOT_FOUND', message: 'no study with AccessionNumber NOSUCH' }],
  } satisfies BatchRecord;
  return standInQueue(
    record,
    jobs.map((job) => ({
      state: job.state,
      progress: job.progress,
      attemptsMade: job.state === 'failed' ? 3 : job.state === 'delayed' ? 1 : 0,
      ...(job.state === 'failed' ? { failedReason: encodeFailure({ code: 'E_EXISTS', message: 'made otherwise', path: '/tmp/out/pt' }) } : {}),
      returnvalue: job.state === 'completed' ? { study: { source: 'x' }, series: [] } : null,
    })),
  );
}

describe('batch status of PACS jobs', () => {
  it("counts a listed study's series and slices: all of a completed one, a running one's written, only the finished series of a failed or retrying one", async () => {
    const { status, failedJobSeries, studies } = await batchStatus(
      queueOf([
        { state: 'completed', progress: listed(6) },
        { state: 'active', progress: listed(2) },
        { state: 'failed', progress: listed(0, true) },
        { state: 'delayed', progress: listed(0, true) },
        { state: 'waiting', progress: 0 },
      ]),
      BATCH,
    );
    expect(status.jobs.map((j) => [j.state, j.modality, j.slices, j.slicesDone, j.seriesCount, j.seriesDone])).toEqual([
      ['completed', 'CT/PT', 10, 10, 2, 2],
      ['active', 'CT/PT', 10, 6, 2, 1],
      ['failed', 'CT/PT', 10, 4, 2, 1],
      ['delayed', 'CT/PT', 10, 4, 2, 1],
      ['waiting', '', 0, 0, undefined, undefined],
    ]);
    // The waiting job's study is not listed yet: its slices are unknown, not 0, and not in the total.
    expect(status.slices).toEqual({ total: 40, done: 24, jobsNotListed: 1 });
    expect(status.jobs.map((j) => j.countsKnown)).toEqual([true, true, true, true, false]);
    // The failed job's finished series go to the batch's report; a retrying job's will be in its result.
    expect(failedJobSeries.map((s) => s.input.seriesInstanceUid)).toEqual(['1.2.1']);
    // The completed job's study as its worker reported it, the failed job's with its finished series and error.
    expect(studies).toEqual([
      { source: 'x' },
      { source: 'dimse://PACS@h:104/1.3.2', studyInstanceUid: '1.3.2', outcome: 'failed', series: ['1.2.1'], errors: [{ code: 'E_EXISTS', message: 'made otherwise', path: '/tmp/out/pt' }] },
    ]);
    expect(status.errors).toEqual([expect.objectContaining({ code: 'E_NOT_FOUND' })]);
  });

  it("counts a failed study's errors as its worker counted them (each unreadable instance one) where they hold the job's error, names the joined list while a job not completed has one, and the report adds them up", async () => {
    const truncated = encodeFailure({ code: 'E_TRUNCATED', message: 'instance 1.2.9 of dimse://PACS@h:104/1.3.0/1.2.1: cut short', path: '/pull/1.2.9.dcm' });
    const stopped = encodeFailure({ code: 'E_CANCELLED', message: 'batch pacs-batch was cancelled' });
    const counted = (byCode: Record<string, number>, unreadable: number): JobProgress => ({ ...listed(0, true), errorCount: Object.values(byCode).reduce((a, b) => a + b, 0), errorsByCode: byCode, unreadable });
    const job = (state: State, progress: JobProgress, failedReason?: string) => ({
      state,
      progress,
      attemptsMade: 1,
      ...(failedReason ? { failedReason } : {}),
      returnvalue: state === 'completed' ? { study: { source: 'x' }, series: [] } : null,
    });
    const record = (n: number): BatchRecord => ({
      id: BATCH,
      createdAt: '2026-12-07T00:00:00.000Z',
      outDir: '/tmp/out',
      attempts: 1,
      jobs: Array.from({ length: n }, (_, i) => ({ id: `${BATCH}-${String(i).padStart(5, '0')}`, seriesInstanceUid: '', modality: '', slices: 0, source: `dimse://PACS@h:104/1.3.${i}`, studyInstanceUid: `1.3.${i}` })),
      queries: [],
    });
    const { status, results, failedJobSeries, studies } = await batchStatus(
      standInQueue(record(4), [
        job('failed', counted({ E_TRUNCATED: 3, E_EXISTS: 1 }, 3), truncated),
        // Stopped after its study ran: the study's counts do not hold its error.
        job('failed', counted({ E_TRUNCATED: 2 }, 2), stopped),
        // Completed on a retry whose progress kept an earlier attempt's counts.
        job('completed', counted({ E_TRUNCATED: 5 }, 5)),
        job('delayed', counted({ E_TRUNCATED: 1 }, 1), truncated),
      ]),
      BATCH,
    );
    expect(status.jobs.map((j) => [j.state, j.errorCount, j.errorsByCode])).toEqual([
      ['failed', 4, { E_TRUNCATED: 3, E_EXISTS: 1 }],
      ['failed', undefined, undefined],
      ['completed', undefined, undefined],
      ['delayed', undefined, undefined],
    ]);
    expect(status.errorsFile).toBe('/tmp/out/unreadable.tsv');
    // The failed studies (in batch order), then the completed one's entry as its worker reported it.
    expect(studies.map((s) => [s.outcome, s.errorCount, s.errorsByCode])).toEqual([
      ['failed', 4, { E_TRUNCATED: 3, E_EXISTS: 1 }],
      ['failed', undefined, undefined],
      [undefined, undefined, undefined],
    ]);
    const report = batchReport(results, status, [], [], failedJobSeries, studies);
    expect(report.errors.map((e) => e.code)).toEqual(['E_TRUNCATED', 'E_CANCELLED']);
    expect(report).toMatchObject({ errorCount: 5, errorsByCode: { E_TRUNCATED: 3, E_EXISTS: 1, E_CANCELLED: 1 }, errorsFile: '/tmp/out/unreadable.tsv' });

    // No job with a list (a completed one's earlier attempt does not count): no errorsFile.
    const none = await batchStatus(standInQueue(record(2), [job('completed', counted({ E_TRUNCATED: 5 }, 5)), job('failed', listed(0, true), truncated)]), BATCH);
    expect(none.status.errorsFile).toBeUndefined();
    expect(none.status.jobs[1]!.errorCount).toBeUndefined();
  });
});
