/**
 * `batch` says what `denoise` says. In text mode: the files the scan could not read (each makes
 * the batch exit 1) and, with --wait, each finished series' warnings; the `batch` id alone stays on
 * stdout without --wait (scripts read it). In JSON: the series left out (a series lowdose derived,
 * here an earlier denoised output under the walked folder) in `skipped`, in `batch --json` and in
 * `batch --wait`'s report.json. A rerun that fails on every series keeps the finished series in
 * report.json (`earlierRun`). A real Redis (no persistence) and one real worker.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import { runPhantom } from '../../src/pipeline/phantom.js';
import type { DenoiseReport } from '../../src/pipeline/types.js';
import { runCli } from '../helpers/cli.js';
import { hasRedis, spawnWorker, startRedis, stopWorker, type TestRedis, type WorkerProcess } from './redis-server.js';

const root = mkdtempSync(path.join(tmpdir(), 'lowdose-batch-text-'));

describe.skipIf(!hasRedis)('batch output names unreadable files, series warnings and the series it left out', () => {
  let redis: TestRedis;
  let worker: WorkerProcess | undefined;
  const input = path.join(root, 'in');
  const bad = path.join(input, 'bad.dcm');
  const withDerived = path.join(root, 'with-derived');
  let derivedUid = '';

  beforeAll(async () => {
    redis = await startRedis();
    await runPhantom('water', { outDir: input, size: 32, slices: 1, uidSeed: 'batch-text' });
    writeFileSync(bad, 'not a DICOM file\n');
    await runPhantom('water', { outDir: path.join(withDerived, 'water'), size: 32, slices: 1, uidSeed: 'batch-skipped' });
    const earlier = await denoisePaths([path.join(withDerived, 'water')], { outDir: path.join(withDerived, 'earlier'), method: 'gaussian' });
    derivedUid = earlier.series[0]!.output.seriesInstanceUid;
    worker = spawnWorker(redis.url);
    await worker.ready;
  }, 60_000);

  afterAll(async () => {
    if (worker) await stopWorker(worker);
    await redis?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('--wait: the summary, then the series warnings and the unreadable file, exit 1', async () => {
    const run = await runCli('batch', input, '-o', path.join(root, 'out-wait'), '--redis', redis.url, '--method', 'gaussian', '--wait', '--no-progress');
    expect(run.code, run.stderr).toBe(1);
    expect(run.stdout).toMatch(/1\/1 series done, 0 failed/);
    expect(run.stdout).toContain(`error E_NOT_DICOM: ${bad}: not DICOM`);
    // A 32-pixel phantom has pixels far wider than the gaussian filter's sigma: denoise warns.
    expect(run.stdout).toMatch(/^ {2}warning \[E_FILTER_WIDTH\] /m);
  }, 90_000);

  it('without --wait: stdout is the batch id alone, the unreadable file is named on stderr', async () => {
    const run = await runCli('batch', input, '-o', path.join(root, 'out-queued'), '--redis', redis.url, '--method', 'gaussian');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim()).toMatch(/^\d{14}-[0-9a-f]{6}$/);
    expect(run.stderr).toContain(`error E_NOT_DICOM: ${bad}: not DICOM`);
  }, 90_000);

  it('--json lists the derived series in skipped, and --wait writes it into report.json', async () => {
    const queued = await runCli('batch', withDerived, '-o', path.join(root, 'skipped-queued'), '--redis', redis.url, '--method', 'gaussian', '--json');
    expect(queued.code, queued.stderr).toBe(0);
    const submitted = JSON.parse(queued.stdout) as { jobs: unknown[]; skipped?: Array<{ seriesInstanceUid: string; reason: string }> };
    expect(submitted.jobs).toHaveLength(1);
    expect(submitted.skipped).toEqual([expect.objectContaining({ seriesInstanceUid: derivedUid, reason: 'derived' })]);

    const out = path.join(root, 'skipped-wait');
    const waited = await runCli('batch', withDerived, '-o', out, '--redis', redis.url, '--method', 'gaussian', '--wait', '--json', '--no-progress');
    expect(waited.code, waited.stderr).toBe(0);
    const report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8')) as DenoiseReport;
    expect(report.series).toHaveLength(1);
    expect(report.skipped).toEqual([expect.objectContaining({ seriesInstanceUid: derivedUid, reason: 'derived' })]);
    expect((JSON.parse(waited.stdout) as { skipped?: unknown[] }).skipped).toHaveLength(1);
  }, 90_000);

  it('--wait rerun with other settings that fails on every series (E_EXISTS) keeps the finished series in report.json', async () => {
    const rerunInput = path.join(root, 'rerun-in');
    await runPhantom('water', { outDir: rerunInput, size: 32, slices: 1, uidSeed: 'batch-rerun' });
    const out = path.join(root, 'rerun-out');
    const first = await runCli('batch', rerunInput, '-o', out, '--redis', redis.url, '--method', 'gaussian', '--wait', '--json', '--no-progress');
    expect(first.code, first.stderr).toBe(0);
    const made = (JSON.parse(first.stdout) as { report: DenoiseReport }).report.series;
    expect(made).toHaveLength(1);
    const rerun = await runCli('batch', rerunInput, '-o', out, '--redis', redis.url, '--method', 'bilateral', '--wait', '--json', '--no-progress');
    expect(rerun.code, rerun.stderr).toBe(1);
    // The rerun's own report: no series, its E_EXISTS.
    const own = (JSON.parse(rerun.stdout) as { report: DenoiseReport }).report;
    expect(own.series).toEqual([]);
    expect(own.errors.map((e) => e.code)).toEqual(['E_EXISTS']);
    // report.json: the same errors, and the series the folder holds as the first batch recorded it.
    const written = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8')) as DenoiseReport;
    expect(written.errors.map((e) => e.code)).toEqual(['E_EXISTS']);
    expect(written.series.map(({ earlierRun, ...series }) => [earlierRun, series])).toEqual([[true, made[0]]]);
  }, 90_000);
});
