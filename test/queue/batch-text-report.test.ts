/**
 * `batch` in text mode says what `denoise` says: the files the scan could not read (each makes the
 * batch exit 1) and, with --wait, each finished series' warnings. The `batch` id alone stays on
 * stdout without --wait (scripts read it). A real Redis (no persistence) and one real worker.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPhantom } from '../../src/pipeline/phantom.js';
import { runCli } from '../helpers/cli.js';
import { hasRedis, spawnWorker, startRedis, stopWorker, type TestRedis, type WorkerProcess } from './redis-server.js';

const root = mkdtempSync(path.join(tmpdir(), 'lowdose-batch-text-'));

describe.skipIf(!hasRedis)('batch text output names unreadable files and series warnings', () => {
  let redis: TestRedis;
  let worker: WorkerProcess | undefined;
  const input = path.join(root, 'in');
  const bad = path.join(input, 'bad.dcm');

  beforeAll(async () => {
    redis = await startRedis();
    await runPhantom('water', { outDir: input, size: 32, slices: 1, uidSeed: 'batch-text' });
    writeFileSync(bad, 'not a DICOM file\n');
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
});
