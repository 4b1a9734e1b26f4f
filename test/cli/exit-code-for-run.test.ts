import { describe, expect, it } from 'vitest';
import { exitCodeForRun } from '../../src/cli/output.js';

describe('exitCodeForRun: the exit code of a run with per-series errors (docs/contract.md)', () => {
  it('is 0 without errors, 1 for a partial failure, 2 when the settings left nothing done', () => {
    expect(exitCodeForRun(3, [])).toBe(0);
    expect(exitCodeForRun(2, [{ code: 'E_NOT_FOUND' }])).toBe(1);
    expect(exitCodeForRun(0, [{ code: 'E_NOT_FOUND' }, { code: 'E_DEVICE_UNAVAILABLE' }])).toBe(2);
    // A file that could not be read is a failed input, not bad settings, even when nothing was made.
    expect(exitCodeForRun(0, [{ code: 'E_NOT_FOUND' }, { code: 'E_DECODE' }])).toBe(1);
    // An existing output of other settings is a per-series failure (contract: E_EXISTS, exit 1).
    expect(exitCodeForRun(0, [{ code: 'E_EXISTS' }])).toBe(1);
  });
});
