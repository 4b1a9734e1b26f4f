/**
 * `denoise data/ -o data/run1`, then `denoise data/ -o data/run2` (or `-o` elsewhere): the second
 * run walks data/run1 too. Before, it denoised run1's derived series again (a denoised image
 * denoised, silently); now a folder input skips a series lowdose derived (isDenoiseOutput, the
 * PACS inputs' rule), says so on stderr and lists it in the report's `skipped`, unless
 * --include-derived. A derived series given as the only input is refused the same way.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { DenoiseReport } from '../../src/pipeline/types.js';
import { runCli } from '../helpers/cli.js';

const LOW = path.resolve(import.meta.dirname, '../../fixtures/body/dose25');
const root = mkdtempSync(path.join(tmpdir(), 'lowdose-derived-input-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const data = path.join(root, 'data');
mkdirSync(data);
for (const name of readdirSync(LOW)) symlinkSync(path.join(LOW, name), path.join(data, name));

async function denoise(...args: string[]) {
  const run = await runCli('denoise', ...args, '--method', 'gaussian', '--json', '--no-progress');
  return { code: run.code, stderr: run.stderr, report: JSON.parse(run.stdout) as DenoiseReport };
}

describe('denoise of a folder that holds an earlier run’s output', () => {
  it('skips the derived series with a line and a skipped entry, and denoises only the original', async () => {
    const first = await denoise(data, '-o', path.join(data, 'run1'));
    expect(first.code).toBe(0);
    expect(first.report.skipped).toBeUndefined();
    // run2 lies under data/ too: the run into elsewhere/ skips both earlier outputs.
    const derived = [first.report.series[0]!.output.seriesInstanceUid];
    for (const out of [path.join(data, 'run2'), path.join(root, 'elsewhere')]) {
      const again = await denoise(data, '-o', out);
      expect(again.code).toBe(0);
      expect(again.report.series.map((s) => s.input.seriesInstanceUid)).toEqual([first.report.series[0]!.input.seriesInstanceUid]);
      expect(again.report.skipped?.map((s) => s.seriesInstanceUid).sort()).toEqual([...derived].sort());
      for (const skipped of again.report.skipped ?? []) {
        expect(skipped).toMatchObject({ key: skipped.seriesInstanceUid, modality: 'CT', reason: 'derived', message: expect.stringContaining('lowdose derived it; --include-derived') });
        expect(again.stderr).toContain(`skipping CT series ${skipped.seriesInstanceUid}`);
      }
      derived.push(again.report.series[0]!.output.seriesInstanceUid);
    }
  });

  it('refuses a derived series given alone (E_NOT_FOUND, exit 2) and denoises it with --include-derived', async () => {
    const out = path.join(root, 'alone');
    const first = await denoise(data, '-o', out);
    const derivedDir = first.report.series[0]!.output.dir;
    const refused = await denoise(derivedDir, '-o', path.join(root, 'again'));
    expect(refused.code).toBe(2);
    expect(refused.report.errors[0]).toMatchObject({ code: 'E_NOT_FOUND', message: expect.stringContaining('--include-derived') });
    const included = await denoise(derivedDir, '-o', path.join(root, 'again'), '--include-derived');
    expect(included.code).toBe(0);
    expect(included.report.series.map((s) => s.input.seriesInstanceUid)).toEqual([first.report.series[0]!.output.seriesInstanceUid]);
  });
});
