/**
 * A PACS job's retry keeps the batch's unreadable.tsv named in `batch status` while it runs: the
 * list of unreadable instances its first attempt left stays in the batch's folder until the retry
 * ends and replaces it, so the retry's progress carries it (src/queue/study-progress.ts). Before,
 * the retry's first progress (its series listed) dropped it and `errorsFile` vanished from the
 * status while the file was still there. The worker's progress is written by studyProgress as the
 * worker writes it; the queue is a stand-in (./stand-in-queue.ts).
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { batchStatus } from '../../src/queue/batch.js';
import { encodeFailure, type BatchRecord, type JobProgress } from '../../src/queue/jobs.js';
import { studyProgress } from '../../src/queue/study-progress.js';
import { ERRORS_FILE } from '../../src/util/error-list-file.js';
import { standInQueue, type StandInJob } from './stand-in-queue.js';

const BATCH = 'retry-list-batch';
const OUT = '/tmp/retry-list-out';
const SOURCE = 'dimse://PACS@127.0.0.1:11112/1.2.826.0.1.3680043.2.1125.9';
const SERIES = [{ seriesInstanceUid: '1.2.3', modality: 'CT', slices: 3 }];

const record = {
  id: BATCH,
  createdAt: '2026-12-07T00:00:00.000Z',
  outDir: OUT,
  attempts: 2,
  jobs: [{ id: `${BATCH}-00000`, seriesInstanceUid: '', modality: '', slices: 0, source: SOURCE, studyInstanceUid: '1.2.826.0.1.3680043.2.1125.9', countsKnown: false }],
} satisfies BatchRecord;

/** The last progress an attempt's studyProgress wrote. */
function recorder(): { write: (p: JobProgress) => Promise<void>; last: () => JobProgress } {
  let last: JobProgress | undefined;
  return {
    write: async (p) => {
      last = p;
    },
    last: () => last!,
  };
}

const statusOf = async (job: StandInJob) => (await batchStatus(standInQueue(record, [job]), BATCH)).status;

describe('batch status while a PACS job is retried', () => {
  it("names the first attempt's unreadable.tsv while the retry runs, with the attempt that met its entries", async () => {
    // Attempt 1: the study's series listed, then two instances cut short fail it.
    const first = recorder();
    const one = studyProgress(first.write, { attempt: 1 });
    one.list(SERIES);
    await one.failed([], { errorCount: 2, errorsByCode: { E_TRUNCATED: 2 } }, 2);
    const failure = encodeFailure({ code: 'E_TRUNCATED', message: 'cut short', path: '/pull/a.dcm' });
    const waiting = await statusOf({ state: 'delayed', progress: first.last(), attemptsMade: 1, failedReason: failure, returnvalue: null });
    expect(waiting.errorsFile).toBe(path.join(OUT, ERRORS_FILE));

    // Attempt 2 runs: its series listed, a slice written. The first attempt's list is still there.
    const second = recorder();
    const two = studyProgress(second.write, { attempt: 2, previous: first.last() });
    two.list(SERIES);
    two.progress({ seriesIndex: 0, seriesCount: 1, seriesKey: '1.2.3', slicesDone: 1, slicesTotal: 3 });
    const running = await statusOf({ state: 'active', progress: second.last(), attemptsMade: 1, returnvalue: null });
    expect(running.jobs[0]).toMatchObject({ state: 'active', slicesDone: 1 });
    expect(running.errorsFile).toBe(path.join(OUT, ERRORS_FILE));
    expect(waiting.jobs[0]!.unreadableList).toEqual({ entries: 2, attempt: 1 });
    expect(running.jobs[0]!.unreadableList).toEqual({ entries: 2, attempt: 1 });

    // Attempt 2 fails too, meeting one: its own list replaces the first's.
    await two.failed([], { errorCount: 1, errorsByCode: { E_TRUNCATED: 1 } }, 1);
    const failed = await statusOf({ state: 'failed', progress: second.last(), attemptsMade: 2, failedReason: failure, returnvalue: null });
    expect(failed.errorsFile).toBe(path.join(OUT, ERRORS_FILE));
    expect(failed.jobs[0]!.unreadableList).toEqual({ entries: 1, attempt: 2 });
  });

  it('a retry after an attempt that left no list names none', async () => {
    const first = recorder();
    const one = studyProgress(first.write, { attempt: 1 });
    one.list(SERIES);
    await one.failed([], { errorCount: 1, errorsByCode: { E_IO: 1 } }, 0);
    const second = recorder();
    const two = studyProgress(second.write, { attempt: 2, previous: first.last() });
    two.list(SERIES);
    const running = await statusOf({ state: 'active', progress: second.last(), attemptsMade: 1, returnvalue: null });
    expect(running.errorsFile).toBeUndefined();
    expect(running.jobs[0]!.unreadableList).toBeUndefined();
  });
});
