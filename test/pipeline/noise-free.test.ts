/**
 * A series without measurable noise (a constant image: every local patch has variance 0). The
 * Gaussian filter's width is in mm, so it must denoise it; the fuzzer (scripts/fuzz) found it
 * failing with E_USAGE from a noise estimate the Gaussian never uses. The edge-preserving filters
 * do scale with the noise, and say so.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeVolumeSeries } from '../../src/dicom/write-volume.js';
import type { DenoiseReport } from '../../src/pipeline/types.js';
import { runCli } from '../helpers/cli.js';

const root = mkdtempSync(join(tmpdir(), 'lowdose-noise-free-'));
const input = join(root, 'flat');

beforeAll(async () => {
  const slice = new Float32Array(32 * 32).fill(40);
  await writeVolumeSeries(
    { modality: 'CT', units: 'HU', rows: 32, columns: 32, slices: [slice, slice.slice()], spacing: [0.7, 0.7, 2], description: 'flat' },
    input,
    { uidSeed: 'noise-free' },
  );
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('a series without measurable noise', () => {
  it('is denoised by the Gaussian filter, values unchanged', async () => {
    const { code, stdout, stderr } = await runCli('denoise', input, '-o', join(root, 'out-gaussian'), '--method', 'gaussian', '--json', '--no-progress');
    expect(code, stderr).toBe(0);
    const report = JSON.parse(stdout) as DenoiseReport;
    expect(report.errors).toEqual([]);
    expect(report.series[0]!.output.files).toHaveLength(2);
    const info = await runCli('info', report.series[0]!.output.dir, '--stats', '--json');
    const stats = (JSON.parse(info.stdout) as { series: Array<{ stats: Array<{ min: number; max: number }> }> }).series[0]!.stats;
    for (const s of stats) expect([s.min, s.max]).toEqual([40, 40]);
  });

  it('is a series error for non-local means, which sets its strength from the noise (the only series: nothing done, exit 2)', async () => {
    const { code, stdout } = await runCli('denoise', input, '-o', join(root, 'out-nlm'), '--method', 'nlm', '--json', '--no-progress');
    expect(code).toBe(2);
    const report = JSON.parse(stdout) as DenoiseReport;
    expect(report.errors[0]!.message).toContain('cannot estimate the noise');
  });
});
