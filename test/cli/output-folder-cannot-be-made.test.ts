/**
 * An output folder whose parent takes no new folders (`-o /proc/x`: procfs answers ENOENT for a
 * new child of an existing folder) is E_IO at once, naming the folder, for every command that
 * writes one. Node's recursive mkdir read that ENOENT as a missing parent and retried for ever:
 * denoise, simulate, phantom, qa, metrics --hallucination and trace never returned (the sync
 * mkdir spun at full CPU). Each run is its own process with a time limit, so a hang fails the
 * test instead of stopping the suite.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cliArgv, REPO } from '../helpers/cli-process.js';

const lowDoseDir = fileURLToPath(new URL('../../fixtures/body/dose25', import.meta.url));
const fullDoseDir = fileURLToPath(new URL('../../fixtures/body/dose100', import.meta.url));
const MODEL = fileURLToPath(new URL('../fixtures-models/bench-conv.json', import.meta.url));
/** Far above a refusal (about 3 s with tsx's start), far below a hang. */
const LIMIT_MS = 40_000;

/** `lowdose ...args` in a child process (src through tsx), killed after LIMIT_MS. */
function runLowdose(args: readonly string[]): { code: number | null; stderr: string; ms: number } {
  const started = Date.now();
  const child = spawnSync(process.execPath, cliArgv(args), {
    cwd: REPO,
    encoding: 'utf8',
    timeout: LIMIT_MS,
    killSignal: 'SIGKILL',
  });
  return { code: child.status, stderr: child.stderr, ms: Date.now() - started };
}

describe.skipIf(!existsSync('/proc/self'))('-o under /proc (a parent that takes no new folders)', () => {
  const out = '/proc/lowdose-no-such-folder';
  it.each([
    ['denoise', ['denoise', lowDoseDir, '-o', out, '--method', 'gaussian', '--no-progress']],
    ['simulate', ['simulate', lowDoseDir, '--dose', '0.5', '-o', out, '--workers', '1']],
    ['phantom', ['phantom', 'water', '--size', '32', '--slices', '1', '-o', out]],
    ['qa', ['qa', '--phantoms', 'water', '--doses', '0.25', '--realisations', '1', '--method', 'gaussian', '-o', out, '--no-progress']],
    ['metrics --hallucination', ['metrics', '--reference', fullDoseDir, '--test', lowDoseDir, '--hallucination', out]],
    ['trace', ['trace', lowDoseDir, '--model', MODEL, '--steps', '1', '-o', `${out}/trace.png`]],
  ])('%s: exits 1 with E_IO "cannot create output directory" at once', (_command, args) => {
    const { code, stderr, ms } = runLowdose(args);
    expect(code, `${ms} ms: ${stderr}`).toBe(1);
    expect(stderr).toMatch(/\/proc\/lowdose-no-such-folder.*: cannot create output directory: .*no folder can be created in it.*\[E_IO\]/);
    expect(stderr).not.toContain('E_INTERNAL');
    expect(ms).toBeLessThan(LIMIT_MS);
  });
});
