/**
 * `batch cancel` on a PACS batch whose jobs no worker has taken: the jobs are removed, and each of
 * their studies is still in the batch's `studies[]` (BatchSnapshot.studies, what the batch's
 * report.json lists), as not run with E_CANCELLED, the query that listed it kept; their jobs in
 * `batch status` have no error and no error counts (they are counted in series.cancelled). A real Redis
 * (no persistence) and no worker: no PACS is contacted for study addresses given as such.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchStatus, openQueue } from '../../src/queue/batch.js';
import { parseRedisUrl } from '../../src/queue/connection.js';
import { runCli } from '../helpers/cli.js';
import { hasRedis, startRedis, type TestRedis } from './redis-server.js';

const root = mkdtempSync(path.join(tmpdir(), 'lowdose-batch-cancel-studies-'));

describe.skipIf(!hasRedis)('batch cancel of a PACS batch', () => {
  let redis: TestRedis;

  beforeAll(async () => {
    redis = await startRedis();
  }, 60_000);

  afterAll(async () => {
    await redis?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('the studies of the jobs it removed stay in studies[], not run (E_CANCELLED)', async () => {
    const pacs = 'dimse://NOSUCHPACS@127.0.0.1:9';
    const sources = [`${pacs}/1.2.826.0.1.3680043.2.1125.71`, `${pacs}/1.2.826.0.1.3680043.2.1125.72`];
    const run = await runCli('batch', ...sources, '-o', path.join(root, 'out'), '--redis', redis.url, '--method', 'gaussian', '--json', '--no-progress');
    expect(run.code, run.stderr).toBe(0);
    const { id } = JSON.parse(run.stdout) as { id: string };
    const cancel = await runCli('batch', 'cancel', id, '--redis', redis.url, '--json');
    expect(cancel.code, cancel.stderr).toBe(0);
    expect(JSON.parse(cancel.stdout)).toMatchObject({ cancelled: true, removed: 2 });

    const queue = await openQueue(parseRedisUrl(redis.url));
    try {
      const snapshot = await batchStatus(queue, id);
      expect(snapshot.status).toMatchObject({ cancelled: true, finished: true, series: { total: 2, cancelled: 2 } });
      // No worker ran their studies: not errors, so no counts of them (docs/contract.md, batch status).
      expect(snapshot.status.jobs.map((j) => [j.state, j.error, 'errorCount' in j, 'errorsByCode' in j, 'unreadableList' in j])).toEqual(sources.map(() => ['cancelled', null, false, false, false]));
      expect(snapshot.studies).toEqual(
        sources.map((source) => ({
          source,
          studyInstanceUid: source.slice(pacs.length + 1),
          outcome: 'failed',
          series: [],
          errors: [{ code: 'E_CANCELLED', message: `study ${source} was not run: batch ${id} was cancelled before a worker took its job`, path: source }],
        })),
      );
    } finally {
      await queue.close();
    }
  }, 90_000);
});
