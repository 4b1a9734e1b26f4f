/** A stand-in for the BullMQ queue `batchStatus` reads: a batch record and each job's state and fields. */
import type { Queue } from 'bullmq';
import { batchKey, type BatchRecord, type SeriesJobData, type SeriesJobResult } from '../../src/queue/jobs.js';

export interface StandInJob {
  readonly state: 'completed' | 'failed' | 'active' | 'delayed' | 'waiting';
  readonly progress: unknown;
  readonly attemptsMade: number;
  readonly failedReason?: string;
  readonly returnvalue: unknown;
}

/** `record.jobs[i]` is `jobs[i]`. */
export function standInQueue(record: BatchRecord, jobs: readonly StandInJob[]): Queue<SeriesJobData, SeriesJobResult> {
  const of = (id: string) => jobs[record.jobs.findIndex((j) => j.id === id)]!;
  const fake = {
    client: Promise.resolve({ get: async (key: string) => (key === batchKey(record.id) ? JSON.stringify(record) : null) }),
    getJobState: async (id: string) => of(id).state,
    getJob: async (id: string) => ({ id, ...of(id) }),
  };
  return fake as unknown as Queue<SeriesJobData, SeriesJobResult>;
}
