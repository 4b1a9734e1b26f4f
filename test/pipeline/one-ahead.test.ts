/**
 * runOneAhead (src/pipeline/one-ahead.ts): the next task starts once the current one is past its
 * gate, never two ahead; the gated parts run one after another in order; a task that ends before
 * its gate lets the next start only once the one before it has ended; once stopped, no task starts.
 */
import { describe, expect, it } from 'vitest';
import { runOneAhead } from '../../src/pipeline/one-ahead.js';

/** Lets queued promise callbacks run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('runOneAhead', () => {
  it('starts task i+1 while task i is in its gated part, never task i+2; the gated parts run in order', async () => {
    const events: string[] = [];
    const pulled = [deferred(), deferred(), deferred()];
    const finished = [deferred(), deferred(), deferred()];
    const runs = runOneAhead(
      3,
      async (i, gate) => {
        events.push(`pull ${i}`);
        await pulled[i]!.promise;
        await gate();
        events.push(`denoise ${i}`);
        await finished[i]!.promise;
        events.push(`end ${i}`);
        return i;
      },
      () => false,
    );
    await settle();
    expect(events).toEqual(['pull 0']);
    pulled[0]!.resolve();
    await settle();
    expect(events).toEqual(['pull 0', 'denoise 0', 'pull 1']);
    // Task 1 pulled while task 0 is denoised: it waits at its gate, and task 2 does not start.
    pulled[1]!.resolve();
    pulled[2]!.resolve();
    await settle();
    expect(events).toEqual(['pull 0', 'denoise 0', 'pull 1']);
    finished[0]!.resolve();
    await settle();
    expect(events).toEqual(['pull 0', 'denoise 0', 'pull 1', 'end 0', 'denoise 1', 'pull 2']);
    finished[1]!.resolve();
    finished[2]!.resolve();
    expect(await Promise.all(runs)).toEqual([0, 1, 2]);
    expect(events.slice(6)).toEqual(['end 1', 'denoise 2', 'end 2']);
  });

  it('a task that ends before its gate starts the next only once the task before it has ended', async () => {
    const events: string[] = [];
    const finished0 = deferred();
    const runs = runOneAhead(
      3,
      async (i, gate) => {
        events.push(`pull ${i}`);
        if (i === 1) return 'failed';
        await gate();
        events.push(`denoise ${i}`);
        if (i === 0) await finished0.promise;
        events.push(`end ${i}`);
        return 'done';
      },
      () => false,
    );
    await settle();
    // Task 1 failed at once (its pull), task 0 is still denoising: task 2 waits.
    expect(events).toEqual(['pull 0', 'denoise 0', 'pull 1']);
    finished0.resolve();
    expect(await Promise.all(runs)).toEqual(['done', 'failed', 'done']);
    expect(events).toEqual(['pull 0', 'denoise 0', 'pull 1', 'end 0', 'pull 2', 'denoise 2', 'end 2']);
  });

  it('once stopped, the tasks not started resolve to null', async () => {
    let stopped = false;
    const started: number[] = [];
    const runs = runOneAhead(
      3,
      async (i, gate) => {
        started.push(i);
        stopped = true;
        await gate();
        return i;
      },
      () => stopped,
    );
    expect(await Promise.all(runs)).toEqual([0, null, null]);
    expect(started).toEqual([0]);
  });
});
