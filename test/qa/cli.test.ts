/**
 * `lowdose qa` end to end on a subset of the fixtures (acr + water at 25 %, bilateral filter: a
 * few seconds): the CONTRACT's JSON, qa.json and the HTML report, reuse of denoised outputs, and
 * exit codes 0 / 1 / 2.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureRealisations, readFixtureInfo } from '../../src/qa/fixtures.js';
import { DEFAULT_CONFIG_PATH, type QaCheck, type QaResult } from '../../src/qa/index.js';
import { recordedPath } from '../../src/util/recorded-path.js';
import { toolkitCheckout, toolkitIdentity } from '../../src/util/toolkit.js';
import { runCli, type CliRun } from '../helpers/cli.js';
import { FIXTURES } from './helpers.js';

const MODEL = fileURLToPath(new URL('../fixtures-models/bench-conv.json', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'lowdose-qa-cli-'));
const out = join(root, 'out');
// The bilateral filter, not the Gaussian: the CT Gaussian default (0.35 mm since it was tuned on
// calibrated noise, docs/filters.md) removes only 7 % of the water phantom's noise and keeps its
// texture, so it neither fails the NPS check nor passes a 20 % noise-reduction gate.
const SUBSET = ['--method', 'bilateral', '--phantoms', 'acr,water', '--doses', '0.25', '-o', out, '--no-progress'];
let first: CliRun;
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

beforeAll(async () => {
  first = await runCli('qa', ...SUBSET, '--json');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface QaJson {
  checks: QaCheck[];
  pass: boolean;
  summary: { total: number; passed: number; failed: number; passedNotFirm: number; failedNotFirm: number };
  errors: unknown[];
  report: string;
}

describe('lowdose qa', () => {
  it('prints the CONTRACT JSON and exits 1 when a check fails (a bilateral filter flattens the noise texture)', () => {
    expect(first.code).toBe(1);
    const result = JSON.parse(first.stdout) as QaJson;
    expect(result.pass).toBe(false);
    expect(result.checks.length).toBe(result.summary.total);
    for (const check of result.checks) {
      expect(typeof check.name).toBe('string');
      expect(check.value === null || typeof check.value === 'number').toBe(true);
      expect(typeof check.threshold === 'number' || (Array.isArray(check.threshold) && check.threshold.length === 2)).toBe(true);
      expect(typeof check.pass).toBe('boolean');
    }
    const names = result.checks.map((c) => c.name);
    expect(names).toContain('acr/dose25/hu-error/bone');
    expect(names).toContain('acr/dose25/mtf50-ratio');
    expect(names).toContain('water/dose25/nps-peak-shift');
    expect(names.every((n) => /^(acr|water)\/dose25\//.test(n))).toBe(true);
    expect(result.checks.find((c) => c.name === 'water/dose25/noise-reduction')!.value!).toBeGreaterThan(0.2);
    const texture = result.checks.find((c) => c.name === 'water/dose25/nps-peak-shift')!;
    expect(texture.value!).toBeLessThan(-0.2);
    expect(texture.pass).toBe(false);
    expect(result.checks.filter((c) => c.check === 'hu-error').every((c) => c.pass)).toBe(true);
    expect(JSON.parse(readFileSync(join(out, 'qa.json'), 'utf8'))).toEqual(result);
  });

  it('judges CT numbers and rod contrast on every noise realisation of the ACR fixture, and on the committed one alone with --realisations 1', async () => {
    const all = JSON.parse(first.stdout) as QaJson & { settings: { realisations: number | null } };
    expect(all.settings.realisations).toBeNull();
    const count = fixtureRealisations(readFixtureInfo(FIXTURES, 'acr')).length;
    const averaged = (kind: string) => kind === 'hu-error' || kind === 'contrast-retention';
    expect(all.checks.filter((k) => k.check === 'contrast-retention').map((k) => k.name)).toEqual(['acr/dose25/contrast-retention/25mm']);
    for (const c of all.checks.filter((k) => averaged(k.check))) {
      expect(c.measured.realisations).toBe(count);
      expect(c.measured.standardError).toEqual(expect.any(Number));
      expect(Object.keys(c.measured).filter((k) => /^r\d+$/.test(k))).toHaveLength(count);
    }
    expect(readFileSync(join(out, 'qa-report.html'), 'utf8')).toMatch(/noise realisations<\/th><td>all the fixtures have/);
    // Texture, noise and MTF stay on realisation 0, so they read the same either way.
    const one = await runCli('qa', ...SUBSET, '--realisations', '1', '--json');
    const single = JSON.parse(one.stdout) as QaJson & { settings: { realisations: number | null } };
    expect(single.settings.realisations).toBe(1);
    for (const c of single.checks) {
      const same = all.checks.find((k) => k.name === c.name)!;
      if (averaged(c.check)) {
        expect(c.measured.realisations).toBe(1);
        expect(c.measured.standardError).toBeNull();
        expect(c.measured.limitMarginSe).toBeNull();
        expect(c.firm).toBeNull();
        expect(c.value).toBeCloseTo(same.measured.r0!, 9);
      } else {
        expect(c.value).toBe(same.value);
      }
    }
  });

  it('says of each mean over realisations how many standard errors it lies from its nearest limit, and counts the verdicts that are not firm', () => {
    const result = JSON.parse(first.stdout) as QaJson;
    for (const c of result.checks) {
      if (!('standardError' in c.measured)) {
        expect('limitMarginSe' in c.measured).toBe(false);
        expect(c.firm).toBeNull();
        continue;
      }
      const [lo, hi] = c.op === 'in' ? (c.threshold as [number, number]) : c.op === '>=' ? [c.threshold as number, Infinity] : [-Infinity, c.threshold as number];
      const margin = Math.min(c.value! - lo, hi - c.value!) / c.measured.standardError!;
      expect(c.measured.limitMarginSe).toBeCloseTo(margin, 9);
      expect(Math.sign(margin) >= 0).toBe(c.pass);
      expect(c.firm).toBe(Math.abs(margin) >= 2);
    }
    expect(result.summary.failedNotFirm).toBe(result.checks.filter((c) => !c.pass && c.firm === false).length);
    expect(result.summary.passedNotFirm).toBe(result.checks.filter((c) => c.pass && c.firm === false).length);
  });

  it('writes a self-contained HTML report with the table and the NPS and MTF plots', () => {
    const html = readFileSync(join(out, 'qa-report.html'), 'utf8');
    expect(html).toContain('acr/dose25/hu-error/bone');
    expect(html).toContain('water at 25 % dose: NPS');
    expect(html).toContain('acr at 25 % dose: MTF');
    expect((html.match(/<svg/g) ?? []).length).toBe(3); // NPS, normalised NPS, MTF
    expect(html).not.toMatch(/<script|<link|src="|url\(http|href="http/);
  });

  it('reuses the denoised series on a rerun into the same folder and prints a table', async () => {
    const again = await runCli('qa', ...SUBSET);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already done/);
    expect(again.stdout).toMatch(/^check\s+value\s+threshold\s+result/);
    expect(again.stdout).toMatch(/acr\/dose25\/mtf50-ratio\s+\S+\s+0\.8500 \.\. 1\.150\s+(PASS|FAIL)/);
    expect(again.stdout).toMatch(/FAIL: \d+ of \d+ checks failed/);
    const before = JSON.parse(first.stdout) as QaJson;
    expect(JSON.parse(readFileSync(join(out, 'qa.json'), 'utf8')).checks).toEqual(before.checks);
  });

  it('exits 0 when every configured check passes (a script gating on CT numbers and 20 % noise reduction)', async () => {
    const config = join(root, 'gate.json');
    const off = { enabled: false };
    writeFileSync(
      config,
      JSON.stringify({
        checks: { 'noise-reduction': { min: 0.2 }, 'cnr-ratio': off, 'contrast-retention': off, 'mtf50-ratio': off, 'nps-peak-shift': off, psnr: off, ssim: off, hallucination: off },
      }),
    );
    const run = await runCli('qa', ...SUBSET, '--config', config, '--json');
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as QaJson;
    expect(result.pass).toBe(true);
    expect(result.checks.map((c) => c.check).sort()).toEqual(['hu-error', 'hu-error', 'hu-error', 'hu-error', 'hu-error', 'noise-reduction', 'noise-reduction']);
    // The thresholds as read: the script's file, and the shipped file it was merged over.
    const recorded = (JSON.parse(run.stdout) as { settings: QaResult['settings'] }).settings;
    expect(recorded.config).toBe(config);
    expect(recorded.thresholdsSha256).toBe(sha256(readFileSync(config)));
    expect(recorded.defaultThresholdsSha256).toBe(sha256(readFileSync(DEFAULT_CONFIG_PATH)));
  });

  it('records the lowdose that ran (the version, and the commit and whether tracked files differed where it runs from a git checkout) and the sha256 of the thresholds file', () => {
    const { settings } = JSON.parse(first.stdout) as { settings: QaResult['settings'] };
    const checkout = toolkitCheckout();
    expect(settings.toolkit).toEqual({ version: toolkitIdentity().version, ...(checkout ? { commit: checkout.commit, dirty: expect.any(Boolean) } : {}) });
    // The shipped file, recorded relative to the working directory it lies in (the repository root: qa/thresholds.json).
    expect(settings.config).toBe(recordedPath(DEFAULT_CONFIG_PATH));
    expect(resolve(settings.config)).toBe(DEFAULT_CONFIG_PATH);
    expect(settings.thresholdsSha256).toBe(sha256(readFileSync(DEFAULT_CONFIG_PATH)));
    expect(settings.defaultThresholdsSha256).toBeUndefined();
    // The HTML report's settings say the same, shortened.
    const html = readFileSync(join(out, 'qa-report.html'), 'utf8');
    expect(html).toContain(`<tr><th>lowdose</th><td>${toolkitIdentity().version}${checkout ? `, commit ${checkout.commit.slice(0, 12)}` : '</td>'}`);
    // (The --config run above wrote the last report into the same folder: its own file's hash.)
    expect(html).toMatch(/<tr><th>thresholds<\/th><td>[^<]+ \(sha256 [0-9a-f]{12}\)<\/td><\/tr>/);
  });

  it('fails a case it could not denoise, and refuses (exit 2) when it could denoise none', async () => {
    // bench-conv is a tiny CT test network, not a denoiser: its water checks fail too, as they should.
    const partial = await runCli('qa', '--model', MODEL, '--phantoms', 'water,iec', '--doses', '0.25', '-o', join(root, 'conv'), '--json', '--no-progress');
    expect(partial.code).toBe(1);
    const result = JSON.parse(partial.stdout) as QaJson;
    const failed = result.checks.find((c) => c.name === 'iec/dose25/denoise')!;
    expect(failed).toMatchObject({ pass: false, value: 0, threshold: 1 });
    expect(failed.detail).toMatch(/model bench-conv is for CT, not PT \[E_MODEL\]/);
    // One error per series it could not denoise: each of the IEC fixture's noise realisations.
    expect(result.errors.length).toBe(fixtureRealisations(readFixtureInfo(FIXTURES, 'iec')).length);
    expect(new Set((result.errors as Array<{ code: string }>).map((e) => e.code))).toEqual(new Set(['E_MODEL']));
    expect(result.checks.find((c) => c.name === 'water/dose25/noise-reduction')!.pass).toBe(false);

    const none = await runCli('qa', '--model', MODEL, '--phantoms', 'iec', '--doses', '0.25', '-o', join(root, 'conv'), '--json', '--no-progress');
    expect(none.code).toBe(2);
    // --json: the thrown error is the machine output (docs/contract.md "Every command")
    expect(JSON.parse(none.stdout)).toEqual({ errors: [expect.objectContaining({ code: 'E_MODEL' })] });
    expect(none.stderr).toMatch(/model bench-conv is for CT, not PT/);
  });

  it('leaves the PET phantom out of the default set for a CT-only model, and says why', async () => {
    const run = await runCli('qa', '--model', MODEL, '--doses', '0.25', '-o', join(root, 'ct-only'), '--json', '--no-progress');
    const result = JSON.parse(run.stdout) as QaJson;
    expect(result.errors).toEqual([]);
    const phantoms = new Set(result.checks.map((c) => c.name.split('/')[0]));
    expect([...phantoms].sort()).toEqual(['acr', 'body', 'lcd', 'water']);
    expect(run.stderr).toMatch(/not testing iec \(PT\): no PT model chosen/);
  });

  it('leaves the lcd phantom out of a default single-draw run (--realisations 1), whose observer it cannot train, and says why', async () => {
    const run = await runCli('qa', '--method', 'gaussian', '--doses', '0.25', '--realisations', '1', '-o', join(root, 'single'), '--json', '--no-progress');
    const result = JSON.parse(run.stdout) as QaJson;
    expect(result.errors).toEqual([]);
    expect([...new Set(result.checks.map((c) => c.name.split('/')[0]))].sort()).toEqual(['acr', 'body', 'iec', 'water']);
    expect(run.stderr).toMatch(/not testing lcd: its detectability observer needs at least 2 noise realisations/);
  });

  it('denoises with full-dose texture at each fixture dose, in its own folder, and says so in the settings', async () => {
    const dir = join(root, 'texture');
    const run = await runCli('qa', '--model', MODEL, '--texture', 'full-dose', '--phantoms', 'water', '--doses', '0.25', '-o', dir, '--json', '--no-progress');
    const result = JSON.parse(run.stdout) as QaJson & { settings: { texture: string } };
    expect(result.settings.texture).toBe('full-dose');
    const reports = readdirSync(join(dir, 'denoised'), { recursive: true }).filter((f) => String(f).endsWith('report.json'));
    expect(reports).toHaveLength(1);
    const series = JSON.parse(readFileSync(join(dir, 'denoised', String(reports[0])), 'utf8')).series[0];
    expect(series.texture).toMatchObject({ mode: 'full-dose', dose: 0.25, doseFrom: 'input' });
    expect(readFileSync(result.report, 'utf8')).toContain('<tr><th>texture</th><td>full-dose</td></tr>');
  });

  it('records the sampler and guidance asked for in the settings and the report, null where the card decides', async () => {
    const dir = join(root, 'sampler');
    const run = await runCli('qa', '--model', MODEL, '--sampler', 'ddim', '--steps', '2', '--guidance', '1', '--phantoms', 'water', '--doses', '0.25', '-o', dir, '--json', '--no-progress');
    const result = JSON.parse(run.stdout) as QaJson & { settings: Record<string, unknown> };
    expect(result.settings).toMatchObject({ sampler: 'ddim', guidance: 1, steps: 2, consistencyPilot: null });
    const html = readFileSync(result.report, 'utf8');
    expect(html).toContain('<tr><th>sampler</th><td>ddim</td></tr>');
    expect(html).toContain('<tr><th>guidance</th><td>1</td></tr>');
  });

  it('denoises without telling the model the dose with --dose-unknown, in its own folder, and says so in the settings', async () => {
    const dir = join(root, 'dose-unknown');
    const args = ['--pet-model', 'lowdose-pet', '--phantoms', 'iec', '--doses', '0.1', '--realisations', '1', '--threads', '1', '-o', dir, '--json', '--no-progress'];
    const unknown = JSON.parse((await runCli('qa', ...args, '--dose-unknown')).stdout) as QaJson & { settings: { doseDeclared: boolean } };
    expect(readFileSync(unknown.report, 'utf8')).toContain('<tr><th>dose told to the denoiser</th><td>no (--dose-unknown');
    const declared = JSON.parse((await runCli('qa', ...args)).stdout) as QaJson & { settings: { doseDeclared: boolean } };
    expect([unknown.settings.doseDeclared, declared.settings.doseDeclared]).toEqual([false, true]);
    // Two settings folders: neither run reuses the other's outputs.
    expect(readdirSync(join(dir, 'denoised'))).toHaveLength(2);
    const reports = readdirSync(join(dir, 'denoised'), { recursive: true }).filter((f) => String(f).endsWith('report.json'));
    const picked = reports.map((f) => JSON.parse(readFileSync(join(dir, 'denoised', String(f)), 'utf8')).series[0].warnings.find((w: { code: string }) => w.code === 'E_LESION_BIAS').lesionBias.picked);
    expect(picked.sort()).toEqual(['at or below', 'dose unknown']);
    // The checks still judge the 10 % fixture; the low-count step and the dose condition change its output.
    const value = (r: QaJson) => r.checks.find((c) => c.name === 'iec/dose10/suvmean-bias/17mm')!.value;
    expect(value(unknown)).not.toBe(value(declared));
  });

  it('checks the denoised series of an ensemble, not the uncertainty series written beside it', async () => {
    const dir = join(root, 'ensemble');
    const run = await runCli('qa', '--model', MODEL, '--samples', '2', '--phantoms', 'water', '--doses', '0.25', '-o', dir, '--json', '--no-progress');
    expect(run.stderr).not.toMatch(/E_INCONSISTENT_SERIES/);
    const result = JSON.parse(run.stdout) as QaJson;
    expect(result.errors).toEqual([]);
    const reports = readdirSync(join(dir, 'denoised'), { recursive: true }).filter((f) => String(f).endsWith('report.json'));
    const series = JSON.parse(readFileSync(join(dir, 'denoised', String(reports[0])), 'utf8')).series[0];
    expect(existsSync(series.uncertainty.dir)).toBe(true);
    expect(result.checks.find((c) => c.name === 'water/dose25/noise-reduction')!.value).toEqual(expect.any(Number));
  });

  it.each([
    [['--phantoms', 'acr,catphan'], /unknown phantom "catphan"/],
    [['--doses', '0.5'], /fixture acr has no dose50 series/],
    [['--doses', '25'], /--doses must be fractions in \(0, 1\)/],
    [['--fixtures', '/nonexistent-fixtures'], /no fixture for phantom "acr"/],
    [['--method', 'magic'], /--method must be one of/],
    [['--texture', 'full-dose'], /--texture full-dose needs --method diffusion/],
    [['--realisations', '0'], /--realisations must be an integer >= 1/],
  ])('exits 2 for %j', async (args, message) => {
    // One value per option (a second --phantoms is its own usage error): the case's value replaces the default acr.
    const phantoms = args.includes('--phantoms') ? [] : ['--phantoms', 'acr'];
    const run = await runCli('qa', '--method', 'gaussian', ...phantoms, '-o', join(root, 'bad'), ...args);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(message);
    expect(existsSync(join(root, 'bad', 'denoised'))).toBe(false);
  });
});
