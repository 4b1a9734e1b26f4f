/**
 * `denoise study/ -o study/denoised/` run twice: the rerun skips the finished series, as a rerun
 * does (README). Before, the second run found the first one's output under study/ and refused it
 * as input files inside -o (exit 2, E_USAGE). An -o inside an input folder is left out of the
 * input; an -o that is itself an input folder is still refused.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { DenoiseReport } from '../../src/pipeline/types.js';
import { runCli } from '../helpers/cli.js';

const LOW = path.resolve(import.meta.dirname, '../../fixtures/body/dose25');
const root = mkdtempSync(path.join(tmpdir(), 'lowdose-output-inside-input-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const study = path.join(root, 'study');
mkdirSync(study);
for (const name of readdirSync(LOW)) symlinkSync(path.join(LOW, name), path.join(study, name));

async function denoise(out: string) {
  const run = await runCli('denoise', study, '-o', out, '--method', 'gaussian', '--json', '--no-progress');
  return { code: run.code, report: JSON.parse(run.stdout) as DenoiseReport };
}

describe('denoise with -o inside the input folder', () => {
  it('reruns: the finished series is skipped, its output is not taken for input', async () => {
    const out = path.join(study, 'denoised');
    const first = await denoise(out);
    expect(first.code).toBe(0);
    expect(first.report.series).toHaveLength(1);
    const again = await denoise(out);
    expect(again.code).toBe(0);
    expect(again.report.errors).toEqual([]);
    expect(again.report.series).toHaveLength(1);
    expect(again.report.series[0]!.skipped).toBe(true);
    expect(again.report.series[0]!.input.seriesInstanceUid).toBe(first.report.series[0]!.input.seriesInstanceUid);
  });

  it('refuses an -o that is the input folder itself', async () => {
    const run = await denoise(study);
    expect(run.code).toBe(2);
    expect(run.report.errors[0]).toMatchObject({ code: 'E_USAGE', message: expect.stringMatching(/contains input files/) });
  });
});
