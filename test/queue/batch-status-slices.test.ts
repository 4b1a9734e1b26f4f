/**
 * `batch status` counts the slices that are finished: every slice of a completed series and those
 * a running one has written so far. A failed series has no completion marker (its slices are not
 * output), and one waiting for its retry starts again from its first slice, so the progress their
 * last attempt reached is not "done". (It was: "27/50 slices" with 14 finished.) The queue is a
 * stand-in holding one job in each state.
 */
import { describe, expect, it } from 'vitest';
import { batchStatus } from '../../src/queue/batch.js';
import { encodeFailure, type BatchRecord } from '../../src/queue/jobs.js';
import { standInQueue } from './stand-in-queue.js';

const BATCH = 'slices-batch';

interface FakeJob {
  readonly state: 'completed' | 'failed' | 'active' | 'delayed' | 'waiting';
  readonly slicesDone: number;
}

function queueOf(jobs: readonly FakeJob[]) {
  const ids = jobs.map((_, i) => `${BATCH}-${String(i).padStart(5, '0')}`);
  const record = {
    id: BATCH,
    createdAt: '2026-12-07T00:00:00.000Z',
    outDir: '/tmp/out',
    attempts: 3,
    jobs: ids.map((id, i) => ({ id, seriesInstanceUid: `1.2.${i}`, modality: 'CT', slices: 10 })),
  } satisfies BatchRecord;
  return standInQueue(
    record,
    jobs.map((job, i) => ({
      state: job.state,
      progress: { slicesDone: job.slicesDone, slicesTotal: 10 },
      attemptsMade: job.state === 'failed' ? 3 : job.state === 'delayed' ? 1 : 0,
      ...(job.state === 'failed' ? { failedReason: encodeFailure({ code: 'E_IO', message: 'disk full', path: '/tmp/out/x' }) } : {}),
      returnvalue: job.state === 'completed' ? { output: { dir: `/tmp/out/${ids[i]}` } } : null,
    })),
  );
}

describe('batch status slices', () => {
  it("counts a completed series' slices and a running one's written so far, not a failed or retrying one's partial progress", async () => {
    const { status } = await batchStatus(
      queueOf([
        { state: 'completed', slicesDone: 10 },
        { state: 'failed', slicesDone: 7 },
        { state: 'active', slicesDone: 4 },
        { state: 'delayed', slicesDone: 6 },
        { state: 'waiting', slicesDone: 0 },
      ]),
      BATCH,
    );
    expect(status.slices).toEqual({ total: 50, done: 14 });
    expect(status.jobs.map((j) => [j.state, j.slicesDone])).toEqual([
      ['completed', 10],
      ['failed', 0],
      ['active', 4],
      ['delayed', 0],
      ['waiting', 0],
    ]);
    expect(status.jobs[1]!.error).toEqual({ code: 'E_IO', message: 'disk full', path: '/tmp/out/x' });
  });
});
