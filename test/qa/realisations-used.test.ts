/**
 * `--realisations` is a limit: a fixture with fewer uses all it has. The QA JSON's settings keep the
 * limit asked (`realisations`) and say per phantom how many realisations were used
 * (`realisationsUsed`), the count its averaged checks' `measured.realisations` show, so that
 * `--realisations 99` does not read as 99 realisations averaged.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { fixtureRealisations, readFixtureInfo } from '../../src/qa/fixtures.js';
import { runCli } from '../helpers/cli.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'lowdose-qa-realisations-used-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface QaJson {
  settings: { realisations: number | null; realisationsUsed?: Record<string, number> };
  checks: Array<{ phantom?: string; name: string; measured: Record<string, number | null> }>;
}

describe('qa --realisations above what a fixture has', () => {
  it('records the limit asked and, per phantom, the realisations used', async () => {
    const out = join(root, 'qa');
    const run = await runCli('qa', '--phantoms', 'acr,water', '--doses', '0.25', '--method', 'gaussian', '--realisations', '99', '-o', out, '--json', '--no-progress');
    expect(run.stderr).not.toMatch(/E_USAGE/);
    const result = JSON.parse(run.stdout) as QaJson;
    const acr = fixtureRealisations(readFixtureInfo(FIXTURES, 'acr')).length;
    expect(acr).toBeGreaterThan(1);
    expect(acr).toBeLessThan(99);
    expect(result.settings.realisations).toBe(99);
    expect(result.settings.realisationsUsed).toEqual({ acr, water: 1 });
    const averaged = result.checks.filter((c) => c.name.startsWith('acr/') && c.measured.realisations !== undefined);
    expect(averaged.length).toBeGreaterThan(0);
    for (const c of averaged) expect(c.measured.realisations).toBe(acr);
    expect(readFileSync(join(out, 'qa-report.html'), 'utf8')).toContain(`at most 99 per fixture (bias checks: mean over them); used: acr ${acr}, water 1`);
  });
});
