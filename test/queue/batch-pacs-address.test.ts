/**
 * `batch` given PACS addresses: what it refuses before anything is queued (exit 2, E_USAGE): PACS
 * addresses mixed with files, a PACS address without a study and without --patient-id / --from /
 * --to (it would queue the whole PACS), those keys without a PACS address, --include-derived and
 * --allow-incomplete where they do not apply, credentials in a DICOMweb URL (a job's data is in
 * Redis: the workers use their own). A real Redis (no persistence).
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

describe.skipIf(!hasRedis)('batch given PACS addresses: usage errors', () => {
  let redis: TestRedis;

  beforeAll(async () => {
    redis = await startRedis();
  }, 60_000);

  afterAll(async () => {
    await redis?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it.each([
    [['http://pacs.example.org:8042/dicom-web/studies/1.2.3', path.join(root, 'folder')], 'are not mixed'],
    [['dimse://PACS@pacs.example.org:104'], 'names no study'],
    [['http://pacs.example.org:8042/dicom-web'], 'names no study'],
    [[path.join(root, 'folder'), '--patient-id', '99017'], 'no input is one'],
    [['dimse://PACS@pacs.example.org:104/1.2.3', '--include-derived'], '--include-derived is for files and folders'],
    [[path.join(root, 'folder'), '--allow-incomplete'], '--allow-incomplete needs'],
    [['http://user:secret@pacs.example.org:8042/dicom-web/studies/1.2.3'], 'credentials in the URL are not accepted'],
    [['dimse://PACS@pacs.example.org:104/1.2.3', '--stow', 'http://pacs.example.org/dicom-web'], '--stow needs a DICOMweb URL'],
  ])('%j is refused as usage (exit 2, E_USAGE: %s) and nothing is queued', async (args, message) => {
    const run = await runCli('batch', ...args, '-o', path.join(root, 'out'), '--redis', redis.url, '--json');
    expect(run.code, run.stderr).toBe(2);
    const { errors } = JSON.parse(run.stdout) as { errors: Array<{ code: string; message: string }> };
    expect(errors).toEqual([expect.objectContaining({ code: 'E_USAGE', message: expect.stringContaining(message) })]);
    const queue = await openQueue(parseRedisUrl(redis.url));
    try {
      expect(Object.values(await queue.getJobCounts()).every((n) => n === 0)).toBe(true);
    } finally {
      await queue.close();
    }
  });
});
