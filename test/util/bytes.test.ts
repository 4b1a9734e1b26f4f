import { describe, expect, it } from 'vitest';
import { formatBytes } from '../../src/util/bytes.js';

describe('formatBytes', () => {
  it('writes binary units with one decimal, none when whole', () => {
    expect(formatBytes(512)).toBe('512 bytes');
    expect(formatBytes(64 * 1024)).toBe('64 KiB');
    expect(formatBytes(900 * 2 ** 20)).toBe('900 MiB');
    expect(formatBytes(2 ** 30)).toBe('1 GiB');
    expect(formatBytes(1.5 * 2 ** 30)).toBe('1.5 GiB');
    expect(formatBytes(1.24 * 2 ** 30)).toBe('1.2 GiB');
    expect(formatBytes(3 * 2 ** 40)).toBe('3 TiB');
  });
});
