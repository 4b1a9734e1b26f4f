/**
 * oneAtATime: the tasks of one key run one after another in the order they came (a worker's
 * concurrent C-MOVEs on its one --move-port); a failed task does not stop the next; other keys run
 * alongside.
 */
import { describe, expect, it } from 'vitest';
import { oneAtATime } from '../../src/util/one-at-a-time.js';

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (error: Error) => void } {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every settled promise's callbacks run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('oneAtATime', () => {
  it('starts the second task of a key only once the first has ended, and a task of another key at once', async () => {
    const events: string[] = [];
    const first = deferred();
    const a = oneAtATime('port:1', async () => {
      events.push('a start');
      await first.promise;
      events.push('a end');
      return 'a';
    });
    const b = oneAtATime('port:1', async () => {
      events.push('b start');
      return 'b';
    });
    const c = oneAtATime('port:2', async () => {
      events.push('c start');
      return 'c';
    });
    await settle();
    expect(events).toEqual(['a start', 'c start']);
    first.resolve();
    expect(await Promise.all([a, b, c])).toEqual(['a', 'b', 'c']);
    expect(events).toEqual(['a start', 'c start', 'a end', 'b start']);
  });

  it('a task that fails gives its error to its caller and the next task of the key still runs', async () => {
    const first = deferred();
    const a = oneAtATime('port:3', async () => {
      await first.promise;
    });
    const b = oneAtATime('port:3', async () => 'b');
    first.reject(new Error('cannot listen'));
    await expect(a).rejects.toThrow('cannot listen');
    expect(await b).toBe('b');
  });
});
