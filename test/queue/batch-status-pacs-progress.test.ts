/**
 * `batch status` of a PACS batch counts a study's series and slices from the progress its worker
 * reports once it has listed them: a running job's slices written so far, a completed one's all,
 * and for a job that failed or waits for its retry only the series it finished (on disk with their
 * completion markers), which the batch's report lists too. A job not listed yet keeps its
 * placeholders ('' and 0) and has no seriesCount. The queue is a stand-in holding one job per state.
 */
import { describe, expect, it } from 'vitest';
import { batchStatus } from '../../src/queue/batch.js';
import { encodeFailure, type BatchRecord, type JobProgress } from '../../src/queue/jobs.js';
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
});
