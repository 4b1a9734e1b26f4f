/**
 * `lowdose metrics` says when a pair that lines up is still suspect: a test reconstructed with
 * another kernel than its reference (W_KERNEL_MISMATCH) or slice thickness (W_THICKNESS_MISMATCH),
 * or the reference itself given as the test
 * (W_TEST_IS_REFERENCE). Both scored silently: the real L192 B30f full dose against its quarter
 * dose written with ConvolutionKernel D45f read 40.319 dB, the numbers of the B30f pair, with
 * nothing to say that the kernels differ; the same folder twice read PSNR inf, SSIM 1, exit 0.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MetricsResult } from '../../src/pipeline/metrics.js';
import type { DenoiseReport } from '../../src/pipeline/types.js';
import { runCli } from '../helpers/cli.js';
import { copyAsOtherSeries, encodeElement, withElement } from '../helpers/mutate-dicom.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const L192 = fileURLToPath(new URL('../../../shared/ldct-mayo/L192/B30f/', import.meta.url));
const WATER_FULL = join(ROOT, 'fixtures/water/dose100');
const WATER_25 = join(ROOT, 'fixtures/water/dose25');

describe('lowdose metrics warnings', () => {
  it('says W_TEST_IS_REFERENCE, in --json and in the text, when the same folder is given twice', async () => {
    const json = await runCli('metrics', '--reference', WATER_FULL, '--test', WATER_FULL, '--json');
    expect(json.code).toBe(0);
    const result = JSON.parse(json.stdout) as MetricsResult;
    expect(result.mean.ssim).toBe(1);
    expect(result.warnings).toEqual([
      { path: join(WATER_FULL, 'REF0001.dcm'), code: 'W_TEST_IS_REFERENCE', message: expect.stringMatching(/^the test is the reference series itself/) as unknown },
    ]);
    const text = await runCli('metrics', '--reference', WATER_FULL, '--test', WATER_FULL);
    expect(text.stdout).toMatch(/warning \[W_TEST_IS_REFERENCE\] the test is the reference series itself/);
    expect(text.stderr).toMatch(/warning \[W_TEST_IS_REFERENCE\]/);
  });

  it('has no warning for a test of the reference kernel (fixture pair, no ConvolutionKernel)', async () => {
    const run = await runCli('metrics', '--reference', WATER_FULL, '--test', WATER_25, '--json');
    expect(run.code).toBe(0);
    expect((JSON.parse(run.stdout) as MetricsResult).warnings).toEqual([]);
  });
});

/** The L192 B30f quarter dose as another series with one element replaced in every file. */
function relabelledQuarter(root: string, name: string, tag: string, vr: string, value: string): string {
  const dir = join(root, name);
  const names = readdirSync(join(L192, 'quarter')).sort();
  const copies = copyAsOtherSeries(names.map((n) => readFileSync(join(L192, 'quarter', n))), 3);
  mkdirSync(dir);
  for (const [k, bytes] of copies.entries()) writeFileSync(join(dir, names[k]!), withElement(bytes, tag, encodeElement(tag, vr, value)));
  return dir;
}

describe.runIf(existsSync(L192))('the real L192 B30f pair with the quarter dose labelled D45f, or 1 mm thick', () => {
  let root: string;
  let relabelled: string;
  let thin: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'lowdose-kernel-warning-'));
    relabelled = relabelledQuarter(root, 'quarter-d45f', 'x00181210', 'SH', 'D45f');
    thin = relabelledQuarter(root, 'quarter-1mm', 'x00180050', 'DS', '1');
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('scores it and warns W_KERNEL_MISMATCH naming both kernels', async () => {
    const plain = JSON.parse((await runCli('metrics', '--reference', join(L192, 'full'), '--test', join(L192, 'quarter'), '--json')).stdout) as MetricsResult;
    expect(plain.warnings).toEqual([]);
    const run = await runCli('metrics', '--reference', join(L192, 'full'), '--test', relabelled, '--json');
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as MetricsResult;
    expect(result.mean).toEqual(plain.mean);
    expect(result.warnings).toEqual([
      {
        path: expect.stringContaining('quarter-d45f') as unknown,
        code: 'W_KERNEL_MISMATCH',
        message: expect.stringMatching(/^the reference was reconstructed with kernel B30f and the test with D45f/) as unknown,
      },
    ]);
  });

  it('denoise --reference warns W_KERNEL_MISMATCH in the series report, and a rerun against another reference drops it', async () => {
    const out = join(root, 'denoised');
    const run = await runCli('denoise', relabelled, '-o', out, '--method', 'gaussian', '--reference', join(L192, 'full'), '--json', '--no-progress');
    expect(run.code, run.stderr).toBe(0);
    const first = (JSON.parse(run.stdout) as DenoiseReport).series[0]!;
    expect(first.metrics).toBeDefined();
    expect(first.warnings.filter((w) => w.code.startsWith('W_'))).toEqual([
      { path: expect.stringContaining('quarter-d45f') as unknown, code: 'W_KERNEL_MISMATCH', message: expect.stringMatching(/^the reference was reconstructed with kernel B30f and the input with D45f/) as unknown },
    ]);
    // The rerun scores the finished files against the input itself: no kernel difference any more.
    const rerun = await runCli('denoise', relabelled, '-o', out, '--method', 'gaussian', '--reference', relabelled, '--json', '--no-progress');
    expect(rerun.code, rerun.stderr).toBe(0);
    const again = (JSON.parse(rerun.stdout) as DenoiseReport).series[0]!;
    expect(again.skipped).toBe(true);
    expect(again.warnings.map((w) => w.code)).not.toContain('W_KERNEL_MISMATCH');
  });

  it('scores the 1 mm test and warns W_THICKNESS_MISMATCH naming both thicknesses', async () => {
    const run = await runCli('metrics', '--reference', join(L192, 'full'), '--test', thin, '--json');
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as MetricsResult;
    expect(result.slices).toHaveLength(7);
    expect(result.warnings).toEqual([
      {
        path: expect.stringContaining('quarter-1mm') as unknown,
        code: 'W_THICKNESS_MISMATCH',
        message: expect.stringMatching(/^the reference slices are 3 mm thick and the test slices 1 mm/) as unknown,
      },
    ]);
  });
});
