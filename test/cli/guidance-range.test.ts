/**
 * `--guidance` takes the range the server's job API takes (GUIDANCE_MAX, src/choices.ts): a scale
 * the CLI runs is one a job may ask for, and one the job API refuses the CLI refuses too. The CLI
 * took 0..50 while a job took 0..20.
 */
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Value } from 'typebox/value';
import { afterAll, describe, expect, it } from 'vitest';
import { GUIDANCE_MAX } from '../../src/choices.js';
import { GuidedModel } from '../../src/diffusion/guidance.js';
import type { DiffusionModel } from '../../src/diffusion/model.js';
import { jobOptions } from '../../src/server/schemas.js';
import { runCli } from '../helpers/cli.js';

const lowDoseDir = fileURLToPath(new URL('../../fixtures/body/dose25', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'lowdose-guidance-range-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('--guidance and a job\'s guidance take one range', () => {
  it('the job API takes 0 and GUIDANCE_MAX and refuses just above', () => {
    expect(Value.Check(jobOptions, { guidance: 0 })).toBe(true);
    expect(Value.Check(jobOptions, { guidance: GUIDANCE_MAX })).toBe(true);
    expect(Value.Check(jobOptions, { guidance: GUIDANCE_MAX + 0.5 })).toBe(false);
  });

  it.each([
    ['denoise', '25'],
    ['batch', '25'],
    ['trace', '25'],
    ['denoise', String(GUIDANCE_MAX + 0.5)],
  ])('%s --guidance %s exits 2 at the option, naming the job API\'s range', async (command, g) => {
    const out = join(root, `${command}-${g}`);
    // A model that is not there: without the range check the run would stop at it, not at --guidance.
    const extra = command === 'batch' ? ['--redis', 'redis://127.0.0.1:1'] : [];
    const { code, stderr } = await runCli(command, lowDoseDir, '-o', command === 'trace' ? `${out}.png` : out, '--model', 'no-such-model', '--guidance', g, ...extra);
    expect(code).toBe(2);
    expect(stderr).toContain(`--guidance must be a number in [0, ${GUIDANCE_MAX}], got "${g}" [E_USAGE]`);
  });

  it('the library refuses a scale outside it too', () => {
    const inner = { conditionChannels: 1, supportsConditionMask: true } as unknown as DiffusionModel;
    expect(() => new GuidedModel(inner, GUIDANCE_MAX)).not.toThrow();
    expect(() => new GuidedModel(inner, GUIDANCE_MAX + 1)).toThrow(/guidance scale must be in \[0, 20\]/);
    expect(() => new GuidedModel(inner, -0.5)).toThrow(/guidance scale must be in \[0, 20\]/);
  });
});
