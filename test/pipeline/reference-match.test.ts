/**
 * `denoise --reference` scores a series only against a reference slice at the same place: a
 * reference of another patient (real AAPM-Mayo scans: L143's full dose for L192's quarter dose,
 * 7 slices each, no slice position in common) gives no metrics instead of pairing slices by order;
 * the right patient's full dose still gives them, also from a study folder that holds the input
 * series itself, which is its own reference only when named alone.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { DenoiseReport } from '../../src/pipeline/types.js';
import { runCli } from '../helpers/cli.js';

const MAYO = fileURLToPath(new URL('../../../shared/ldct-mayo/', import.meta.url));
const quarter = join(MAYO, 'L192/B30f/quarter');
const root = mkdtempSync(join(tmpdir(), 'lowdose-reference-match-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function denoiseAgainst(name: string, reference: string) {
  const run = await runCli('denoise', quarter, '-o', join(root, name), '--method', 'gaussian', '--reference', reference, '--json', '--no-progress');
  expect(run.code, run.stderr).toBe(0);
  return { report: JSON.parse(run.stdout) as DenoiseReport, stderr: run.stderr };
}

describe.runIf(existsSync(MAYO))('denoise --reference pairs slices by position', () => {
  it("another patient's scan with as many slices but none at the same place gives no metrics", async () => {
    const { report, stderr } = await denoiseAgainst('other-patient', join(MAYO, 'L143/B30f/full'));
    expect(report.series).toHaveLength(1);
    expect(report.series[0]!.metrics).toBeUndefined();
    expect(stderr).toMatch(/no reference series matches .*slice positions\); no metrics/);
  });

  it("the same patient's full dose gives metrics for every slice", async () => {
    const { report } = await denoiseAgainst('same-patient', join(MAYO, 'L192/B30f/full'));
    const metrics = report.series[0]!.metrics!;
    expect(metrics.reference.files).toBe(7);
    expect(metrics.input?.psnr).toBeGreaterThan(38); // quarter against full dose of the same slices: about 40 dB
  });

  it('a --reference folder holding the input series too scores against the full dose, not the input itself', async () => {
    // Named so that the input's folder is found first, as 'low' / 'normal' would be.
    const study = join(root, 'study');
    mkdirSync(study);
    symlinkSync(quarter, join(study, 'a-low'));
    symlinkSync(join(MAYO, 'L192/B30f/full'), join(study, 'b-normal'));
    const { report } = await denoiseAgainst('study', study);
    const metrics = report.series[0]!.metrics!;
    expect(metrics.input?.psnr).not.toBeNull(); // null: the input scored against itself (infinite PSNR)
    expect(metrics.input?.ssim).toBeLessThan(1);
    expect(metrics.reference.seriesInstanceUid).not.toBe(report.series[0]!.input.seriesInstanceUid);
  });

  it('the input series named alone as --reference is still its reference (what the denoiser changed)', async () => {
    const { report } = await denoiseAgainst('itself', quarter);
    const metrics = report.series[0]!.metrics!;
    expect(metrics.reference.seriesInstanceUid).toBe(report.series[0]!.input.seriesInstanceUid);
    expect(metrics.input?.ssim).toBe(1);
  });
});

describe.runIf(existsSync(MAYO))('the text output of denoise --reference', () => {
  it('prints the PSNR of an input identical to its reference as inf, as lowdose metrics does (null in report.json)', async () => {
    const run = await runCli('denoise', quarter, '-o', join(root, 'itself-text'), '--method', 'gaussian', '--reference', quarter, '--no-progress');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/\| PSNR inf -> \d+\.\d\d dB, SSIM 1\.000 -> 0\.\d{3}/);
  });
});

describe.runIf(existsSync(MAYO))('metrics between series that share no slice position', () => {
  it("refuses another patient's full dose on another pixel grid (0.82 against 0.70 mm pixels): pixel by pixel it would compare other places", async () => {
    const run = await runCli('metrics', '--reference', join(MAYO, 'L143/B30f/full'), '--test', quarter, '--json');
    expect(run.code, run.stderr).toBe(2);
    const errors = (JSON.parse(run.stdout) as { errors: Array<{ code: string; message: string }> }).errors;
    expect(errors[0]!.code).toBe('E_USAGE');
    expect(errors[0]!.message).toMatch(/not on one pixel grid \(pixel spacing 0\.820 x 0\.820 mm against 0\.703 x 0\.703 mm\)/);
    const same = await runCli('metrics', '--reference', join(MAYO, 'L192/B30f/full'), '--test', quarter, '--json');
    expect(same.code, same.stderr).toBe(0);
    expect(same.stderr).not.toMatch(/warning: no test slice/);
  });
});
