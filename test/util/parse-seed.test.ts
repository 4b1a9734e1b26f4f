/**
 * parseSeed (src/util/random.ts) is the one reader of seeds, for the CLI's --seed and for library
 * callers: a seed the 32-bit generator cannot take is refused (E_USAGE), never wrapped modulo 2^32
 * into another seed.
 */
import { describe, expect, it } from 'vitest';
import { isLowdoseError } from '../../src/errors.js';
import { MAX_SEED, parseSeed } from '../../src/util/random.js';

function refusal(value: string | number): { code: string; message: string } {
  try {
    parseSeed(value);
  } catch (error) {
    if (isLowdoseError(error)) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error(`parseSeed(${String(value)}) returned instead of refusing`);
}

describe('parseSeed refuses seeds outside [0, 2^32 - 1]', () => {
  it.each([2 ** 32, 2 ** 32 + 7, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('the number %s is E_USAGE', (value) => {
    expect(refusal(value)).toEqual({
      code: 'E_USAGE',
      message: `seed must be an integer in [0, 4294967295] (or text, hashed to one), got "${String(value)}"`,
    });
  });

  it('decimal text above 2^32 - 1 is E_USAGE', () => {
    expect(refusal('4294967296').code).toBe('E_USAGE');
  });

  it('in-range numbers and decimal text are taken as they are', () => {
    expect(parseSeed(0)).toBe(0);
    expect(parseSeed(MAX_SEED)).toBe(4294967295);
    expect(parseSeed('4294967295')).toBe(4294967295);
    expect(parseSeed(' 42 ')).toBe(42);
    expect(parseSeed(undefined, 9)).toBe(9);
  });

  it('other text is hashed, the same text to the same seed', () => {
    expect(parseSeed('-1')).toBe(parseSeed('-1'));
    expect(parseSeed('study-7')).not.toBe(parseSeed('study-8'));
  });
});
