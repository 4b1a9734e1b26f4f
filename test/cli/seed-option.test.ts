/**
 * `--seed` is a decimal integer in [0, 2^32 - 1] (the random generator's seed is 32-bit) or text
 * hashed to one. A larger decimal is refused (exit 2) by every command that takes a seed: read
 * modulo 2^32, `--seed 4294967296` would silently have run as seed 0.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

const lowDoseDir = fileURLToPath(new URL('../../fixtures/body/dose25', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'lowdose-seed-option-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const refusal = (seed: string) => `--seed must be an integer in [0, 4294967295] (or text, hashed to one), got "${seed}" [E_USAGE]`;

describe('--seed above 2^32 - 1 is refused, not wrapped', () => {
  it.each([
    ['denoise', [lowDoseDir, '-o', join(root, 'denoise-out'), '--method', 'gaussian']],
    ['batch', [lowDoseDir, '-o', join(root, 'batch-out'), '--redis', 'redis://127.0.0.1:1']],
    ['qa', ['-o', join(root, 'qa-out'), '--method', 'gaussian']],
    ['simulate', [lowDoseDir, '-o', join(root, 'sim-out'), '--dose', '0.5']],
    ['phantom', ['water', '-o', join(root, 'phantom-out')]],
    ['trace', [lowDoseDir, '-o', join(root, 'trace.png')]],
    ['bench', ['--device', 'cpu']],
  ])('%s --seed 4294967296 exits 2 naming the range', async (command, args) => {
    const { code, stderr } = await runCli(command, ...args, '--seed', '4294967296');
    expect(code).toBe(2);
    expect(stderr).toContain(refusal('4294967296'));
  });

  it('the largest seed, 4294967295, is taken', async () => {
    const out = join(root, 'phantom-max');
    const { code, stdout } = await runCli('phantom', 'water', '-o', out, '--size', '32', '--slices', '1', '--seed', '4294967295', '--json');
    expect(code).toBe(0);
    expect((JSON.parse(stdout) as { seed: number }).seed).toBe(4294967295);
  });
});
