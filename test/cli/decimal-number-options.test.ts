/**
 * Number options take decimal notation only: `0x1`, `0b1`, `0o1`, a blank value and `Infinity` are
 * refused (exit 2, E_USAGE with the option's name), where Number() would have read them as 1, 0 or
 * Infinity. Decimal forms (`.5`, `1e-1`, `+0.5`) are still numbers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { decimalNumber } from '../../src/cli/output.js';
import { runCli } from '../helpers/cli.js';

const lowDoseDir = fileURLToPath(new URL('../../fixtures/body/dose25', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'lowdose-decimal-options-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('decimalNumber', () => {
  it.each(['0x1', '0b1', '0o1', '', ' ', 'Infinity', '-Infinity', '1_000', '1e', '.', '1,5'])('reads "%s" as no number', (text) => {
    expect(decimalNumber(text)).toBeNaN();
  });
  it.each([['12', 12], ['-0.5', -0.5], ['.5', 0.5], ['5.', 5], ['+0.25', 0.25], ['1e-3', 0.001], [' 2 ', 2]])('reads "%s" as %d', (text, value) => {
    expect(decimalNumber(text)).toBe(value);
  });
});

describe('number options refuse what is not decimal', () => {
  const denoise = (...extra: string[]) => runCli('denoise', lowDoseDir, '-o', join(root, 'denoised'), '--method', 'gaussian', ...extra);

  it.each([
    ['--dose', '0x1', /--dose must be a fraction in \(0, 1\]/],
    ['--batch', '0x2', /--batch must be an integer in \[1, 256\]/],
    ['--orientations', '0x2', /--orientations must be 1, 2, 4 or 8/],
  ])('denoise %s %s exits 2', async (flag, value, message) => {
    const { code, stderr } = await denoise(flag, value);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
    expect(stderr).toContain(`got "${value}" [E_USAGE]`);
  });

  it('metrics --range with a hex or blank bound exits 2', async () => {
    for (const range of ['0x0,100', ' ,100']) {
      const { code, stderr } = await runCli('metrics', '--reference', lowDoseDir, '--test', lowDoseDir, '--range', range);
      expect(code).toBe(2);
      expect(stderr).toContain(`--range must be "lo,hi" with lo < hi, got "${range}" [E_USAGE]`);
    }
  });

  it('trace --window with a hex bound exits 2', async () => {
    const { code, stderr } = await runCli('trace', lowDoseDir, '-o', join(root, 'trace.png'), '--window', '0x0,100');
    expect(code).toBe(2);
    expect(stderr).toContain('--window must be lo,hi with lo < hi, got "0x0,100" [E_USAGE]');
  });

  it.each(['0x1', '0.5,,1', ''])('trace --fractions "%s" exits 2', async (fractions) => {
    const { code, stderr } = await runCli('trace', lowDoseDir, '-o', join(root, 'trace.png'), '--fractions', fractions);
    expect(code).toBe(2);
    expect(stderr).toContain(`--fractions must be comma-separated numbers in [0, 1], got "${fractions}" [E_USAGE]`);
  });

  it('qa --doses 0.254 exits 2: the fixtures are in whole percent, and dose25 is not 0.254', async () => {
    const run = await runCli('qa', '-o', join(root, 'qa-254'), '--method', 'gaussian', '--phantoms', 'water', '--doses', '0.254', '--no-progress');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("doses must be fractions in (0, 1) in whole percent, as the fixtures' dose folders are (0.25 is dose25), got 0.254 [E_USAGE]");
  });

  it('qa --doses and --realisations in hex exit 2', async () => {
    const doses = await runCli('qa', '-o', join(root, 'qa1'), '--doses', '0x0.4');
    expect(doses.code).toBe(2);
    expect(doses.stderr).toContain('--doses must be fractions in (0, 1)');
    const realisations = await runCli('qa', '-o', join(root, 'qa2'), '--realisations', '0x2');
    expect(realisations.code).toBe(2);
    expect(realisations.stderr).toContain('--realisations must be an integer >= 1, got "0x2" [E_USAGE]');
  });

  it('phantom --size 0x20 exits 2, --size 32 is taken', async () => {
    const hex = await runCli('phantom', 'water', '-o', join(root, 'p-hex'), '--size', '0x20', '--slices', '1');
    expect(hex.code).toBe(2);
    expect(hex.stderr).toContain('--size must be an integer in [16, 2048], got "0x20" [E_USAGE]');
    const decimal = await runCli('phantom', 'water', '-o', join(root, 'p-dec'), '--size', '32', '--slices', '1');
    expect(decimal.code).toBe(0);
  });
});
