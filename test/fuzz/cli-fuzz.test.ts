/**
 * A short, fixed-seed pass of the CLI fuzzer (scripts/fuzz, `npm run fuzz`): mutated corpus files
 * through `info --stats` and `denoise --method gaussian` in two worker processes. Every case must
 * finish without a crash within 10 s of CPU and 1 GiB of RSS, exit 0 / 1 / 2 with a stable error
 * code (never E_INTERNAL, never a library's own words), and write no file over 4x its input. The
 * long pass and its figures are in docs/robustness.md.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, runFuzz, TEST_PASS } from '../../scripts/fuzz/run.js';

const CORPUS = path.resolve(import.meta.dirname, '../../../shared/dicom');
const { seed: SEED, cases: CASES } = TEST_PASS;

describe('CLI fuzzing', () => {
  it(`${CASES} mutated corpus files (seed ${SEED}) through info and denoise break none of the rules`, { timeout: 300_000 }, async () => {
    const summary = await runFuzz({
      count: CASES,
      seed: SEED,
      jobs: 2,
      corpus: CORPUS,
      limits: DEFAULT_LIMITS,
      timeoutMs: DEFAULT_LIMITS.caseMs,
      // A kill guard only: the CPU-time limit is the rule.
      wallTimeoutMs: 30 * DEFAULT_LIMITS.caseMs,
      killRssMb: 2 * DEFAULT_LIMITS.rssMb,
    });
    const failures = summary.failures.map(
      (f) => `case ${f.index} (${f.file}; ${f.steps.join(' ')}): ${f.failures.map((x) => `${x.kind} [${x.command}] ${x.detail}`).join('; ')}`,
    );
    expect(failures, `replay one with: npm run fuzz -- --seed ${SEED} --only <case>`).toEqual([]);
    expect(summary.cases).toBe(CASES);
    // The pass did exercise both outcomes: files read and written, and files refused with a code.
    expect(summary.exits.denoise?.['0'] ?? 0).toBeGreaterThan(0);
    expect(Object.keys(summary.errorCodes).length).toBeGreaterThan(3);
  });
});
