/**
 * A classical filter's derived series says in its DerivationDescription, from the first file on,
 * the settings it was made with, the same as report.json's `settings`: the noise SD estimated on
 * that series (not "given", and not the previous series' in a run over several). Two real series
 * of the body fixture (25 % and 10 % dose), NLM and bilateral.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import dicomParser from 'dicom-parser';
import { afterAll, describe, expect, it } from 'vitest';
import type { DenoiseReport } from '../../src/pipeline/types.js';
import { runCli } from '../helpers/cli.js';

const dose25 = fileURLToPath(new URL('../../fixtures/body/dose25', import.meta.url));
const dose10 = fileURLToPath(new URL('../../fixtures/body/dose10', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'lowdose-filter-derivation-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const derivationOf = (file: string) => dicomParser.parseDicom(new Uint8Array(readFileSync(file))).string('x00082111');

describe('classical filters: DerivationDescription', () => {
  it.each(['nlm', 'bilateral'])('%s: every file of each series names its own series-estimated noise SD, as report.json does', async (method) => {
    const out = join(root, method);
    const { code, stdout } = await runCli('denoise', dose25, dose10, '-o', out, '--method', method, '--json', '--no-progress');
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as DenoiseReport;
    expect(report.series).toHaveLength(2);
    const settings = report.series.map((s) => s.settings);
    expect(settings[0]).not.toBe(settings[1]); // 25 % and 10 % dose: different noise
    for (const s of report.series) {
      expect(s.settings).toMatch(new RegExp(`^lowdose ${method} filter: .*noise SD [0-9.]+ HU.*estimated on the series`));
      for (const file of s.output.files) expect(derivationOf(file)).toBe(s.settings);
    }
  });
});
