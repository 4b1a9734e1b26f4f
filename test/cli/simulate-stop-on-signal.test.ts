/**
 * `simulate` stops cleanly on SIGINT (src/cli/stop-on-signal.ts): the CLI is spawned on two
 * generated water-phantom CT series and signalled as it starts the first one (its progress line),
 * so the first is known to be unfinished: exit 130, the stopped series `E_CANCELLED` with the files
 * it wrote removed, the second reported as not run, no lock, temporary or completion marker left,
 * and a rerun without --overwrite simulates both (an unfinished series would refuse it, E_EXISTS).
 */
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPhantom } from '../../src/pipeline/phantom.js';
import { listAll, runUntil } from '../helpers/signal-run.js';

interface SimulateJson {
  series: Array<{ output: { dir: string; files: string[] } }>;
  errors: Array<{ code: string; message: string; path: string | null }>;
}

describe('simulate stopped by a signal', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lowdose-stop-simulate-'));
    for (const name of ['a', 'b']) await runPhantom('water', { outDir: path.join(dir, 'in', name), size: 192, slices: 10, seed: 5, uidSeed: `stop-simulate-${name}` });
  }, 60_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('SIGINT as the first series starts: exit 130, its files removed and E_CANCELLED, the second not run, nothing left; a rerun without --overwrite simulates both', async () => {
    const out = path.join(dir, 'out');
    const args = ['simulate', path.join(dir, 'in'), '--dose', '0.25', '-o', out, '--workers', '1', '--json'];
    const stopped = await runUntil(args, {}, (stderr) => stderr.includes('simulating CT'));
    expect(stopped.code, stopped.stderr).toBe(130);
    const result = JSON.parse(stopped.stdout) as SimulateJson;
    expect(result.series).toEqual([]);
    expect(result.errors).toEqual([
      { code: 'E_CANCELLED', path: expect.any(String), message: expect.stringMatching(/was stopped after \d+ of 10 slices \(interrupted by SIGINT\): the \d+ file\(s\) written were removed/) },
      { code: 'E_CANCELLED', path: expect.any(String), message: expect.stringContaining('was not run: interrupted by SIGINT') },
    ]);
    // Nothing of the stopped series: no slice, lock, temporary or marker.
    const left = listAll(out);
    expect(left.filter((f) => f.endsWith('.dcm') || f.endsWith('.lock') || f.endsWith('.tmp') || f.includes('.lowdose-simulated'))).toEqual([]);

    const rerun = await runUntil(args, {}, null);
    expect(rerun.code, rerun.stderr).toBe(0);
    const again = JSON.parse(rerun.stdout) as SimulateJson;
    expect(again.errors).toEqual([]);
    expect(again.series).toHaveLength(2);
    for (const s of again.series) {
      expect(s.output.files).toHaveLength(10);
      expect(existsSync(s.output.dir) && readdirSync(s.output.dir).filter((f) => f.endsWith('.dcm'))).toHaveLength(10);
    }
  }, 240_000);
});
