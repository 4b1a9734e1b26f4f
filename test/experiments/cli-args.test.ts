import { describe, expect, it } from 'vitest';
import { indexRanges, optionReader } from '../../scripts/experiments/cli-args.js';

describe('experiment script arguments', () => {
  it('expands index lists with ranges, in the order given', () => {
    expect(indexRanges('0-4,20-22')).toEqual([0, 1, 2, 3, 4, 20, 21, 22]);
    expect(indexRanges('7')).toEqual([7]);
    expect(indexRanges('11,12')).toEqual([11, 12]);
  });

  it('refuses lists that are not indices or ranges', () => {
    expect(() => indexRanges('')).toThrow(/not an index/);
    expect(() => indexRanges('a-3')).toThrow(/not an index/);
    expect(() => indexRanges('5-2')).toThrow(/backwards/);
    expect(() => indexRanges('1.5')).toThrow(/not an index/);
  });

  it('reads --name value options and falls back when one is absent or has no value', () => {
    const opt = optionReader(['--threads', '2', '--groups', 'L192/B30f', '--out']);
    expect(opt('threads', '1')).toBe('2');
    expect(opt('groups', '')).toBe('L192/B30f');
    expect(opt('dose', '0.22')).toBe('0.22');
    expect(opt('out', 'default.json')).toBe('default.json');
  });
});
