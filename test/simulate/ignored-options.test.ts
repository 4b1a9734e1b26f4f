/**
 * `simulate` says when a series' simulation does not use an option given: the PET options on a CT
 * series, the CT physics options on a PET series, `--with-reference` in CT noise insertion. They
 * were dropped without a word: `simulate fixtures/iec/dose100 --kernel sharp --tcm 0` wrote the
 * default PET simulation, `--with-reference` on a CT scan wrote no reference series.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ignoredOptionWarnings } from '../../src/pipeline/simulate-option-scope.js';
import type { SimulateResult } from '../../src/pipeline/simulate.js';
import { runCli } from '../helpers/cli.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'lowdose-simulate-ignored-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('ignoredOptionWarnings', () => {
  it('names the other modality’s options given, and nothing at the defaults', () => {
    expect(ignoredOptionWarnings('PT', { kernel: 'sharp', tcm: 0, bowtie: 'head', i0: 'auto' })).toEqual([
      '--kernel sharp, --i0 auto, --bowtie head, --tcm 0: CT option(s), not used for this PET series (count reduction and OSEM; its options are --iterations, --subsets, --post-filter)',
    ]);
    expect(ignoredOptionWarnings('PT', { mode: 'insert', kernel: 'auto', bowtie: 'body', withReference: true, iterations: 4 })).toEqual([]);
    expect(ignoredOptionWarnings('CT', { iterations: 10, subsets: 6, postFilterMm: 8 })).toEqual(['--iterations 10, --subsets 6, --post-filter 8: PET option(s), not used for this CT series']);
    expect(ignoredOptionWarnings('CT', { mode: 'truth', withReference: true, tcm: 0 })).toEqual([]);
    expect(ignoredOptionWarnings('CT', { withReference: true })).toEqual([expect.stringMatching(/^--with-reference: no full-dose reconstruction is written for CT noise insertion/)]);
  });
});

describe('lowdose simulate', () => {
  it('warns on the PET series that --kernel, --bowtie and --tcm are not used', async () => {
    const run = await runCli('simulate', join(ROOT, 'fixtures/iec/dose100'), '--dose', '0.25', '--kernel', 'sharp', '--bowtie', 'head', '--tcm', '0', '-o', join(tmp, 'pet'), '--json');
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as SimulateResult;
    expect(result.series[0]!.warnings).toContain(
      '--kernel sharp, --bowtie head, --tcm 0: CT option(s), not used for this PET series (count reduction and OSEM; its options are --iterations, --subsets, --post-filter)',
    );
  });

  it('warns on the CT series that --iterations and --with-reference are not used, and writes no reference', async () => {
    const run = await runCli('simulate', join(ROOT, 'fixtures/water/dose100'), '--dose', '0.25', '--iterations', '10', '--with-reference', '-o', join(tmp, 'ct'));
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/warning: --iterations 10: PET option\(s\), not used for this CT series/);
    expect(run.stdout).toMatch(/warning: --with-reference: no full-dose reconstruction is written for CT noise insertion/);
    expect(run.stdout).not.toMatch(/full-dose reference ->/);
  });
});
