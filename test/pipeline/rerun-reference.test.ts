/**
 * A rerun that skips a finished series scores it against this run's --reference, from the files
 * the first run wrote: 'denoise low -o out' then 'denoise low -o out --reference full' gave no
 * metrics at all (exit 0, nothing said), and a rerun with another reference handed back the
 * first reference's scores. The scores match what a fresh run with that reference reports, within
 * the stored series' quantisation, and the finished files stay as they were.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { DenoiseReport } from '../../src/pipeline/types.js';
import { runCli } from '../helpers/cli.js';

const fixture = (name: string) => fileURLToPath(new URL(`../../fixtures/body/${name}`, import.meta.url));
const LOW = fixture('dose25');
const FULL = fixture('dose100');
const TRUTH = fixture('truth');
const root = mkdtempSync(join(tmpdir(), 'lowdose-rerun-reference-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const hashes = (dir: string) =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.dcm'))
    .map((e) => createHash('sha256').update(readFileSync(join(e.parentPath, e.name))).digest('hex'))
    .sort();

async function denoise(out: string, ...options: string[]) {
  const run = await runCli('denoise', LOW, '-o', out, '--json', '--no-progress', '--method', 'gaussian', ...options);
  return { code: run.code, report: JSON.parse(run.stdout) as DenoiseReport };
}

describe('denoise rerun with --reference over a finished series', () => {
  it('scores the finished output against the reference named now', async () => {
    const fresh = await denoise(join(root, 'fresh'), '--reference', FULL);
    expect(fresh.code).toBe(0);
    const expected = fresh.report.series[0]!.metrics!;
    expect(expected.reference.files).toBeGreaterThan(0);

    const out = join(root, 'rerun');
    const first = await denoise(out);
    expect(first.code).toBe(0);
    expect(first.report.series[0]!.metrics).toBeUndefined();
    const before = hashes(out);

    const rerun = await denoise(out, '--reference', FULL);
    expect(rerun.code).toBe(0);
    const series = rerun.report.series[0]!;
    expect(series.skipped).toBe(true);
    expect(series.metrics?.reference).toEqual(expected.reference);
    expect(series.metrics?.range).toEqual(expected.range);
    // The input is the same, so its scores are the same; the output's within its quantisation.
    expect(series.metrics?.input).toEqual(expected.input);
    expect(series.metrics!.psnr).toBeCloseTo(expected.psnr!, 2);
    expect(series.metrics!.ssim).toBeCloseTo(expected.ssim, 4);
    expect(series.metrics!.rmse).toBeCloseTo(expected.rmse, 2);
    expect(hashes(out)).toEqual(before);
    const saved = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as DenoiseReport;
    expect(saved.series[0]!.metrics).toEqual(series.metrics);

    // Another reference now: its own scores, not the previous run's.
    const truth = await denoise(out, '--reference', TRUTH);
    expect(truth.code).toBe(0);
    expect(truth.report.series[0]!.metrics?.reference.seriesInstanceUid).not.toBe(expected.reference.seriesInstanceUid);
    expect(truth.report.series[0]!.metrics?.psnr).not.toBe(series.metrics!.psnr);

    // Without --reference the rerun keeps what was recorded with the series (its first run's).
    const plain = await denoise(out);
    expect(plain.report.series[0]!.metrics).toBeUndefined();
  });
});
