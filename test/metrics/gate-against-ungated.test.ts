/**
 * `lowdose metrics` scores one gate of a gated PET acquisition against an ungated series at the
 * same positions (each of the gate's slices against the ungated slice there), and says so:
 * W_GATE_AGAINST_UNGATED in `warnings`, either way round, and so does `denoise --reference` in the
 * series report; a gate against the same gate of a gated reference has no such warning. make-pet-timing.py's gated set (2 R-R intervals x 3 time slots x
 * 2 slices): the test is gate 2's two files (TriggerTime 250 ms) as a series of their own, the
 * ungated reference gate 1's two files rewritten with pydicom as a STATIC series of their own. Skipped without the Python with
 * pydicom the generator needs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import { runMetrics } from '../../src/pipeline/metrics.js';
import { hasPydicom, makeGateAndUngated, makePetTiming } from '../helpers/pet-timing.js';

describe.skipIf(!hasPydicom)('a gate scored against an ungated series', () => {
  let dir = '';
  let gated = '';
  let gate2 = '';
  let ungated = '';

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'lowdose-gate-against-ungated-'));
    makePetTiming(path.join(dir, 'in'));
    gated = path.join(dir, 'in', 'gated');
    ({ gate2, ungated } = makeGateAndUngated(gated, dir));
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('scores gate 2 against the ungated reference slice by slice and warns W_GATE_AGAINST_UNGATED naming the gate', async () => {
    const progress: string[] = [];
    const { result, exitCode } = await runMetrics({ reference: ungated, test: gate2, progress: (m) => progress.push(m) });
    expect(exitCode).toBe(0);
    expect([result.matchedBy, result.slices.length, result.frames?.map((f) => f.tag)]).toEqual(['position', 2, ['g02']]);
    expect(result.warnings).toEqual([
      {
        path: expect.stringMatching(/rr1-slot2-s[12]\.dcm$/) as unknown,
        code: 'W_GATE_AGAINST_UNGATED',
        message: expect.stringMatching(/^the test is gate 2 of 6 \(TriggerTime 250 ms\) of a gated acquisition and the reference .* is not gated: each of the test's slices is scored against the ungated slice at its position/) as unknown,
      },
    ]);
    expect(progress.some((m) => m.startsWith('warning [W_GATE_AGAINST_UNGATED]'))).toBe(true);
  });

  it('warns the other way round: an ungated test against one gate', async () => {
    const { result } = await runMetrics({ reference: gate2, test: ungated });
    expect(result.warnings.map((w) => [w.code, /^the reference is gate 2 of 6 \(TriggerTime 250 ms\) of a gated acquisition/.test(w.message)])).toEqual([['W_GATE_AGAINST_UNGATED', true]]);
  });

  it('denoise --reference warns W_GATE_AGAINST_UNGATED in the series report when it scores gate 2 against the ungated reference', async () => {
    const report = await denoisePaths([gate2], { outDir: path.join(dir, 'denoised'), method: 'gaussian', reference: [ungated] });
    const series = report.series[0]!;
    expect(series.metrics).toBeDefined();
    expect(series.warnings.filter((w) => w.code.startsWith('W_')).map((w) => [w.code, /^the input is gate 2 of 6 \(TriggerTime 250 ms\) of a gated acquisition/.test(w.message)])).toEqual([
      ['W_GATE_AGAINST_UNGATED', true],
    ]);
  });

  it('has no such warning for gate 2 against the same gate of a gated reference', async () => {
    const { result } = await runMetrics({ reference: gated, test: gate2 });
    expect(result.frames?.map((f) => [f.tag, f.reference.key.endsWith('#g2')])).toEqual([['g02', true]]);
    expect(result.warnings).toEqual([]);
  });
});
