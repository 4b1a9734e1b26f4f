/**
 * `batch --wait` follows a batch until it finishes or an interrupt comes (followBatch). A read
 * under way when the signal came may carry Redis' answer from before the batch finished; only a
 * read begun after the signal may end an unfinished wait. Seen on CI: `batch --wait` stopped with
 * SIGSTOP mid-read, the batch finished meanwhile, SIGINT and SIGCONT: it reported the batch as still
 * waiting (exit 130) instead of finished (exit 0). The reads and the signal here are stand-ins, so
 * the interleaving is exact.
 */
import { describe, expect, it } from 'vitest';
import { followBatch, type BatchSnapshot, type WaitInterrupt } from '../../src/queue/batch.js';
import type { BatchStatus } from '../../src/queue/jobs.js';

const snapshot = (finished: boolean): BatchSnapshot => ({ status: { finished } as BatchStatus, results: [], failedJobSeries: [], studies: [] });

function interruptible(): WaitInterrupt & { fire(): void } {
  let signal: string | null = null;
  return {
    get signal() {
      return signal;
    },
    sleep: async () => {},
    fire: () => {
      signal = 'SIGINT';
    },
  };
}

describe('followBatch', () => {
  it('reads again when the interrupt came during a read, so a batch that finished meanwhile is reported finished', async () => {
    const interrupt = interruptible();
    // Read 1: still waiting. Read 2: the signal arrives while it is under way and its answer is
    // from before the batch finished. Read 3, begun after the signal: finished.
    const answers = [false, false, true];
    let reads = 0;
    const read = async () => {
      const finished = answers[reads++]!;
      if (reads === 2) interrupt.fire();
      return snapshot(finished);
    };
    const last = await followBatch(read, interrupt, 1);
    expect(reads).toBe(3);
    expect(last.status.finished).toBe(true);
  });

  it('stops after one read begun after the interrupt when the batch is still going', async () => {
    const interrupt = interruptible();
    let reads = 0;
    const read = async () => {
      reads++;
      if (reads === 2) interrupt.fire();
      return snapshot(false);
    };
    const last = await followBatch(read, interrupt, 1);
    expect(reads).toBe(3);
    expect(last.status.finished).toBe(false);
  });

  it('returns the first finished read without waiting for a signal', async () => {
    const interrupt = interruptible();
    let reads = 0;
    const last = await followBatch(async () => snapshot(++reads === 4), interrupt, 1);
    expect(reads).toBe(4);
    expect(last.status.finished).toBe(true);
  });
});
