/** QA config: the shipped defaults, merging a script's partial file, and strict validation (exit 2). */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LowdoseError } from '../../src/errors.js';
import { CONFIGURED_CHECKS, DEFAULT_CONFIG_PATH, loadQaConfig, parseConfigObject } from '../../src/qa/index.js';
import { runCli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'lowdose-qa-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writeConfig(name: string, content: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

function rejection(content: unknown): LowdoseError {
  try {
    loadQaConfig(writeConfig('bad.json', content));
  } catch (error) {
    return error as LowdoseError;
  }
  throw new Error('config was accepted');
}

describe('QA config', () => {
  it('ships defaults for every check, each with its reason', () => {
    const config = loadQaConfig();
    expect(config.source).toBe(DEFAULT_CONFIG_PATH);
    expect(Object.keys(config.checks).sort()).toEqual([...CONFIGURED_CHECKS].sort());
    for (const check of Object.values(config.checks)) {
      expect(check.enabled).toBe(true);
      expect(check.why.length).toBeGreaterThan(40);
    }
    expect(config.checks['noise-reduction']).toMatchObject({ min: 0.4, max: null });
    expect(config.checks['hu-error']).toMatchObject({ min: -5, max: 5, reference: 'input' });
    expect(config.checks['mtf50-ratio']).toMatchObject({ min: 0.85, max: 1.15 });
    expect(config.checks['cnr-ratio']).toMatchObject({ min: 1 });
    expect(config.checks['suvmean-bias']).toMatchObject({ min: -0.05, max: 0.05, minDiameterMm: 17 });
  });

  it('merges a partial file over the defaults field by field', () => {
    const file = writeConfig('partial.json', { checks: { 'mtf50-ratio': { max: 1.3 }, 'nps-peak-shift': { enabled: false }, 'noise-reduction': { min: null, max: 0.9 } } });
    const config = loadQaConfig(file);
    expect(config.source).toBe(file);
    expect(config.checks['mtf50-ratio']).toMatchObject({ min: 0.85, max: 1.3, enabled: true });
    expect(config.checks['nps-peak-shift'].enabled).toBe(false);
    expect(config.checks['noise-reduction']).toMatchObject({ min: null, max: 0.9 });
    expect(config.checks['hu-error']).toEqual(loadQaConfig().checks['hu-error']);
  });

  it('records the sha256 of the bytes it read: the shipped file alone, or a partial file and the shipped one under it', () => {
    const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
    const defaults = loadQaConfig();
    expect(defaults.sha256).toBe(sha(DEFAULT_CONFIG_PATH));
    expect(defaults.defaultsSha256).toBeUndefined();
    const file = writeConfig('hashed.json', { checks: { 'mtf50-ratio': { max: 1.3 } } });
    const merged = loadQaConfig(file);
    expect(merged.sha256).toBe(sha(file));
    expect(merged.defaultsSha256).toBe(sha(DEFAULT_CONFIG_PATH));
    // A config built in memory was read from no file: nothing to hash.
    expect(parseConfigObject({ checks: { 'mtf50-ratio': { max: 1.3 } } }, 'inline', defaults).sha256).toBeUndefined();
  });

  it.each([
    [{ check: {} }, /unknown key "check"/],
    [{ checks: { 'hu-eror': { max: 4 } } }, /unknown check "hu-eror"/],
    [{ checks: { 'hu-error': { maximum: 4 } } }, /checks\.hu-error: unknown field "maximum"/],
    [{ checks: { 'hu-error': { max: '5' } } }, /checks\.hu-error\.max must be a finite number or null, got "5"/],
    [{ checks: { 'hu-error': { reference: 'truth' } } }, /reference must be one of input, nominal, full-dose/],
    [{ checks: { 'mtf50-ratio': { min: 1.2, max: 1.1 } } }, /min 1\.2 is greater than max 1\.1/],
    [{ checks: { 'noise-reduction': { min: null } } }, /noise-reduction needs "min", "max" or both/],
    [{ checks: { 'cnr-ratio': { minDiameterMm: -1 } } }, /minDiameterMm must be >= 0/],
    [{ checks: { psnr: { enabled: 'yes' } } }, /psnr\.enabled must be true or false/],
    [{ version: 2 }, /version must be 1/],
    [[1, 2], /must be a JSON object/],
    ['{ "checks": ', /is not valid JSON/],
    ['{ "checks": { "noise-reduction": { "min": 1e999 } } }', /noise-reduction\.min must be a finite number or null, got Infinity/],
  ])('rejects %j', (content, message) => {
    const error = rejection(content);
    expect(error.code).toBe('E_USAGE');
    expect(error.message).toMatch(message);
    expect(error.message).toContain(join(dir, 'bad.json'));
  });

  it('requires every field in a base config (the shipped file cannot be partial)', () => {
    expect(() => parseConfigObject({ checks: {} }, 'defaults', null)).toThrow(/checks\.noise-reduction\.min|needs "min", "max"/);
  });

  it('makes `lowdose qa --config` exit 2 with the reason on stderr before denoising anything', async () => {
    const bad = writeConfig('typo.json', { checks: { 'mtf50-ratio': { mn: 0.9 } } });
    const run = await runCli('qa', '--config', bad, '--method', 'gaussian', '-o', join(dir, 'out'), '--json');
    expect(run.code).toBe(2);
    // --json: the thrown usage error is the machine output (docs/contract.md "Every command")
    expect(JSON.parse(run.stdout)).toEqual({ errors: [expect.objectContaining({ code: 'E_USAGE' })] });
    expect(run.stderr).toMatch(/checks\.mtf50-ratio: unknown field "mn"/);
    const missing = await runCli('qa', '--config', join(dir, 'nope.json'), '--method', 'gaussian');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/nope\.json does not exist/);
  });
});
