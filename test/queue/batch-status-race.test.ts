/**
 * `batch status` (and `batch --wait`'s last report) read each job's state and its record in two
 * Redis reads. A job that ends between them must not be reported ended without its outcome: a
 * failed job with no reason read as E_INTERNAL with an empty message (seen on CI: a series that
 * failed with E_LOCKED was reported E_INTERNAL), a completed one without its result. The queue here
 * is a stand-in whose one job ends after a set number of reads, so the interleaving is exact.
 */
import type { Queue } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { batchStatus } from '../../src/queue/batch.js';
import { batchKey, encodeFailure, type BatchRecord, type SeriesJobData, type SeriesJobResult } from '../../src/queue/jobs.js';

const BATCH = 'race-batch';
const JOB = `${BATCH}-00000`;

interface Outcome {
  readonly state: 'completed' | 'failed';
  readonly failedReason?: string;
  readonly returnvalue?: unknown;
}

/** A queue holding one active job that reaches `outcome` once `readsBeforeEnd` job reads were answered. */
function queueEndingAfter(readsBeforeEnd: number, outcome: Outcome): Queue<SeriesJobData, SeriesJobResult> {
  let reads = 0;
  const ended = () => reads > readsBeforeEnd;
  const record = {
    id: BATCH,
    createdAt: '2026-12-06T00:00:00.000Z',
    outDir: '/tmp/out',
    jobs: [{ id: JOB, seriesInstanceUid: '1.2.3', modality: 'CT', slices: 3 }],
  } as unknown as BatchRecord;
  const snapshot = () => {
    const done = ended();
    return {
      id: JOB,
      progress: { slicesDone: 1, slicesTotal: 3 },
      attemptsMade: done ? 1 : 0,
      failedReason: done ? outcome.failedReason : undefined,
      returnvalue: done ? (outcome.returnvalue ?? null) : null,
      getState: async () => (reads++, ended() ? outcome.state : 'active'),
    };
  };
  const fake = {
    client: Promise.resolve({ get: async (key: string) => (key === batchKey(BATCH) ? JSON.stringify(record) : null) }),
    getJob: async () => (reads++, snapshot()),
    getJobState: async () => (reads++, ended() ? outcome.state : 'active'),
  };
  return fake as unknown as Queue<SeriesJobData, SeriesJobResult>;
}

describe('batch status of a job that ends while it is being read', () => {
  const locked = encodeFailure({ code: 'E_LOCKED', message: 'output folder /tmp/out/x is being written by another lowdose run', path: '/tmp/out/.x.lock' });

  it('a job that fails between the reads is reported running or failed with its own error, never E_INTERNAL', async () => {
    for (const readsBeforeEnd of [0, 1, 2]) {
      const { status } = await batchStatus(queueEndingAfter(readsBeforeEnd, { state: 'failed', failedReason: locked }), BATCH);
      const job = status.jobs[0]!;
      if (job.state === 'failed') {
        expect(job.error, `ends after ${readsBeforeEnd} read(s)`).toEqual({ code: 'E_LOCKED', message: 'output folder /tmp/out/x is being written by another lowdose run', path: '/tmp/out/.x.lock' });
      } else {
        expect(job.state, `ends after ${readsBeforeEnd} read(s)`).toBe('active');
        expect(status.finished).toBe(false);
      }
    }
  });

  it('a job that completes between the reads is reported running or completed with its result', async () => {
    const result = { output: { dir: '/tmp/out/x' } };
    for (const readsBeforeEnd of [0, 1, 2]) {
      const snapshot = await batchStatus(queueEndingAfter(readsBeforeEnd, { state: 'completed', returnvalue: result }), BATCH);
      const job = snapshot.status.jobs[0]!;
      if (job.state === 'completed') {
        expect(job.output, `ends after ${readsBeforeEnd} read(s)`).toBe('/tmp/out/x');
        expect(snapshot.results).toEqual([result]);
      } else {
        expect(job.state, `ends after ${readsBeforeEnd} read(s)`).toBe('active');
      }
    }
  });
});
