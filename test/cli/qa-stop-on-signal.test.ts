/**
 * `qa` stops cleanly on SIGINT (src/cli/stop-on-signal.ts): the CLI is spawned on the water fixture
 * with the diffusion model (seconds a slice on CPU) and signalled as the fixture's series starts (its
 * log line): exit 130, `{ errors: [E_CANCELLED] }` and no verdict (no qa.json, no qa-report.html);
 * the series being denoised is E_CANCELLED in its folder's report.json, no lock or temporary left.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAll, runUntil } from '../helpers/signal-run.js';

describe('qa stopped by a signal', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lowdose-stop-qa-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('SIGINT while a fixture is denoised: exit 130, E_CANCELLED and no verdict; the series E_CANCELLED in its report.json, no lock or temporary left', async () => {
    const out = path.join(dir, 'out');
    const args = ['qa', '--phantoms', 'water', '--doses', '0.25', '--method', 'diffusion', '--steps', '10', '-o', out, '--no-progress', '--json'];
    const stopped = await runUntil(args, {}, (stderr) => stderr.includes('CT series "WATER'));
    expect(stopped.code, stopped.stderr).toBe(130);
    expect(JSON.parse(stopped.stdout)).toEqual({
      errors: [{ code: 'E_CANCELLED', path: out, message: expect.stringContaining('qa stopped (interrupted by SIGINT) before its checks: no verdict, no qa.json') }],
    });
    expect(existsSync(path.join(out, 'qa.json'))).toBe(false);
    expect(existsSync(path.join(out, 'qa-report.html'))).toBe(false);
    const left = listAll(out);
    const reports = left.filter((f) => path.basename(f) === 'report.json');
    expect(reports).toHaveLength(1);
    const report = JSON.parse(readFileSync(path.join(out, reports[0]!), 'utf8')) as { series: unknown[]; errors: Array<{ code: string; message: string }> };
    expect(report.series).toEqual([]);
    expect(report.errors).toEqual([expect.objectContaining({ code: 'E_CANCELLED', message: expect.stringMatching(/was stopped after [01] of 2 slices/) })]);
    expect(left.filter((f) => f.endsWith('.lock') || f.endsWith('.tmp') || f.endsWith('.lowdose-complete.json'))).toEqual([]);
  }, 180_000);
});
