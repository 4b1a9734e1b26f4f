/**
 * bench reports the median repeat (docs/benchmarks.md): for an even --repeats the mean of the two
 * middle runs, not the lower middle one, which with --repeats 2 is the faster run.
 */
import { describe, expect, it } from 'vitest';
import { medianRepeat } from '../../src/bench/run.js';
import { medianOf } from '../../src/util/select.js';

describe('bench medians', () => {
  it('two repeats: the mean of both, not the faster one', () => {
    expect(medianRepeat([{ totalMs: 30, modelMs: 20 }, { totalMs: 10, modelMs: 8 }])).toEqual({ totalMs: 20, modelMs: 14 });
    expect(medianOf([30, 10])).toBe(20);
  });

  it('an odd count: the middle repeat, its own network time', () => {
    expect(medianRepeat([{ totalMs: 50, modelMs: 1 }, { totalMs: 10, modelMs: 2 }, { totalMs: 30, modelMs: 3 }])).toEqual({ totalMs: 30, modelMs: 3 });
    expect(medianOf([5, 1, 3])).toBe(3);
  });

  it('four repeats: the mean of the second and third fastest', () => {
    expect(medianRepeat([40, 10, 20, 100].map((totalMs) => ({ totalMs, modelMs: totalMs / 2 })))).toEqual({ totalMs: 30, modelMs: 15 });
  });
});
