/**
 * `batch` takes files on storage the workers share: a DICOMweb URL or a dimse:// address (which
 * `denoise` and `info` accept) is a usage error that says what to use instead, before anything is
 * queued, not "no such file or directory". A real Redis (no persistence).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openQueue } from '../../src/queue/batch.js';
import { parseRedisUrl } from '../../src/queue/connection.js';
import { runCli } from '../helpers/cli.js';
import { hasRedis, startRedis, type TestRedis } from './redis-server.js';

const root = mkdtempSync(path.join(tmpdir(), 'lowdose-batch-pacs-'));

describe.skipIf(!hasRedis)('batch given a PACS address', () => {
  let redis: TestRedis;

  beforeAll(async () => {
    redis = await startRedis();
  }, 60_000);

  afterAll(async () => {
    await redis?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it.each([['http://pacs.example.org:8042/dicom-web/studies/1.2.3'], ['dimse://PACS@pacs.example.org:104/1.2.3']])('%s is refused as usage (exit 2, E_USAGE naming denoise <url>) and nothing is queued', async (address) => {
    const run = await runCli('batch', address, '-o', path.join(root, 'out'), '--redis', redis.url, '--json');
    expect(run.code).toBe(2);
    const { errors } = JSON.parse(run.stdout) as { errors: Array<{ code: string; message: string }> };
    expect(errors).toEqual([{ path: null, code: 'E_USAGE', message: expect.stringContaining('use lowdose denoise <url>') }]);
    expect(errors[0]!.message).toContain(address);
    const queue = await openQueue(parseRedisUrl(redis.url));
    try {
      expect(Object.values(await queue.getJobCounts()).every((n) => n === 0)).toBe(true);
    } finally {
      await queue.close();
    }
  });
});
