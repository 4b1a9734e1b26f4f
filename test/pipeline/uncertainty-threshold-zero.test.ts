/**
 * --uncertainty-threshold 0 is refused (E_USAGE), as the job API refuses it: every pixel has an SD
 * above 0, so the summaries would call all tissue uncertain ("100.0 % of tissue above 0 HU").
 */
import { describe, expect, it } from 'vitest';
import { checkUncertaintyOptions } from '../../src/pipeline/uncertainty-request.js';
import { runCli } from '../helpers/cli.js';

describe('--uncertainty-threshold must be above 0', () => {
  it('0 is E_USAGE; a positive SD is taken', () => {
    expect(() => checkUncertaintyOptions({ uncertainty: true, uncertaintyThreshold: 0 })).toThrow('--uncertainty-threshold must be above 0, got 0');
    expect(() => checkUncertaintyOptions({ hallucination: true, uncertaintyThreshold: 0 })).toThrow(/must be above 0/);
    expect(() => checkUncertaintyOptions({ uncertainty: true, uncertaintyThreshold: 0.5 })).not.toThrow();
  });

  it('denoise --uncertainty --uncertainty-threshold 0 exits 2 before any work', async () => {
    const run = await runCli('denoise', 'fixtures/water/dose25', '-o', '/tmp/lowdose-threshold-zero-never-written', '--uncertainty', '--uncertainty-threshold', '0');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--uncertainty-threshold must be above 0, got 0 [E_USAGE]');
  });
});
