/**
 * bench --low-band with only PET models: low-band denoising is CT only (denoise refuses it on
 * PET), so it would change nothing; the bench refuses it rather than report runs that ignored it.
 */
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

describe('bench --low-band', () => {
  it('with no CT model exits 2 naming the models', async () => {
    const run = await runCli('bench', '--model', 'lowdose-pet', '--low-band', '1', '--size', '32', '--steps', '1', '--batch', '1', '--repeats', '1', '--device', 'cpu', '--threads', '1');
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toContain('low-band denoising is for CT only, and no CT model is benched (lowdose-pet): leave out --low-band [E_USAGE]');
  });
});
