/**
 * `--dose` is a fraction in (0, 1]: 0 and a blank value are refused (exit 2) by every command that
 * takes it. The model reads a dose of 0 as "unknown", so `--dose 0` used to run silently as if no
 * dose had been given, while the server's job API refuses 0; `--dose ""` read as 0 too.
 */
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

const lowDoseDir = fileURLToPath(new URL('../../fixtures/body/dose25', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'lowdose-dose-option-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('--dose must be a fraction in (0, 1]', () => {
  it.each([
    ['denoise', '0'],
    ['denoise', ''],
    ['denoise', ' '],
    ['trace', '0'],
    ['batch', '0'],
  ])('%s --dose "%s" exits 2 before any work, saying to leave it out when unknown', async (command, dose) => {
    const out = join(root, `${command}-out`);
    const extra = command === 'batch' ? ['--redis', 'redis://127.0.0.1:1'] : command === 'trace' ? [] : ['--method', 'gaussian'];
    const { code, stderr } = await runCli(command, lowDoseDir, '-o', command === 'trace' ? `${out}.png` : out, '--dose', dose, ...extra);
    expect(code).toBe(2);
    expect(stderr).toContain(`--dose must be a fraction in (0, 1] (leave it out when the dose is unknown), got "${dose}" [E_USAGE]`);
  });

  it('simulate --dose 0 exits 2 at the option', async () => {
    const { code, stderr } = await runCli('simulate', lowDoseDir, '--dose', '0', '-o', join(root, 'sim'));
    expect(code).toBe(2);
    expect(stderr).toContain('--dose must be a fraction in (0, 1], got "0" [E_USAGE]');
  });

  it('a blank number is not read as 0 by the other numeric options either', async () => {
    const { code, stderr } = await runCli('denoise', lowDoseDir, '-o', join(root, 'guidance'), '--guidance', '');
    expect(code).toBe(2);
    expect(stderr).toMatch(/--guidance must be a number in .*, got "" \[E_USAGE\]/);
  });
});
