/**
 * `batch --json` and `batch --wait`'s report.json list the series left out (a series lowdose
 * derived, here an earlier denoised output under the walked folder) in `skipped`, as `denoise`'s
 * JSON and report.json do. A real Redis (no persistence) and one real worker.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import { runPhantom } from '../../src/pipeline/phantom.js';
import type { DenoiseReport } from '../../src/pipeline/types.js';
import { runCli } from '../helpers/cli.js';
import { hasRedis, spawnWorker, startRedis, stopWorker, type TestRedis, type WorkerProcess } from './redis-server.js';

const root = mkdtempSync(path.join(tmpdir(), 'lowdose-batch-skipped-'));

describe.skipIf(!hasRedis)('batch names the series it did not queue', () => {
  let redis: TestRedis;
  let worker: WorkerProcess | undefined;
  const input = path.join(root, 'in');
  let derivedUid = '';

  beforeAll(async () => {
    redis = await startRedis();
    await runPhantom('water', { outDir: path.join(input, 'water'), size: 32, slices: 1, uidSeed: 'batch-skipped' });
    const earlier = await denoisePaths([path.join(input, 'water')], { outDir: path.join(input, 'earlier'), method: 'gaussian' });
    derivedUid = earlier.series[0]!.output.seriesInstanceUid;
    worker = spawnWorker(redis.url);
    await worker.ready;
  }, 60_000);

  afterAll(async () => {
    if (worker) await stopWorker(worker);
    await redis?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('--json lists the derived series in skipped, and --wait writes it into report.json', async () => {
    const queued = await runCli('batch', input, '-o', path.join(root, 'out-queued'), '--redis', redis.url, '--method', 'gaussian', '--json');
    expect(queued.code, queued.stderr).toBe(0);
    const submitted = JSON.parse(queued.stdout) as { jobs: unknown[]; skipped?: Array<{ seriesInstanceUid: string; reason: string }> };
    expect(submitted.jobs).toHaveLength(1);
    expect(submitted.skipped).toEqual([expect.objectContaining({ seriesInstanceUid: derivedUid, reason: 'derived' })]);

    const out = path.join(root, 'out-wait');
    const waited = await runCli('batch', input, '-o', out, '--redis', redis.url, '--method', 'gaussian', '--wait', '--json', '--no-progress');
    expect(waited.code, waited.stderr).toBe(0);
    const report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8')) as DenoiseReport;
    expect(report.series).toHaveLength(1);
    expect(report.skipped).toEqual([expect.objectContaining({ seriesInstanceUid: derivedUid, reason: 'derived' })]);
    expect((JSON.parse(waited.stdout) as { skipped?: unknown[] }).skipped).toHaveLength(1);
  }, 90_000);
});
