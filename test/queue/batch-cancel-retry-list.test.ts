/**
 * `batch cancel` while a PACS job waits for its retry (BullMQ `delayed` after a failed attempt):
 * the job is removed, but the list of unreadable instances its failed attempt left stays in the
 * batch's folder and in its unreadable.tsv, so `batch status` still names the file and the job's
 * list. Before, the list went with the job's progress and `errorsFile` vanished from the status.
 * A real Redis (no persistence); the attempt is a BullMQ worker that writes the progress as
 * lowdose's worker does (studyProgress) and fails, with a retry delay long enough to cancel in.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchStatus, cancelBatch, openQueue, submitPacsBatch } from '../../src/queue/batch.js';
import { connectionOptions, parseRedisUrl } from '../../src/queue/connection.js';
import { QUEUE_NAME, QUEUE_PREFIX, encodeFailure, type JobProgress, type SeriesJobData, type SeriesJobResult } from '../../src/queue/jobs.js';
import { studyProgress } from '../../src/queue/study-progress.js';
import { ERRORS_FILE } from '../../src/util/error-list-file.js';
import { hasRedis, startRedis, type TestRedis } from './redis-server.js';

const root = mkdtempSync(path.join(tmpdir(), 'lowdose-batch-cancel-retry-list-'));
const PACS = 'dimse://NOSUCHPACS@127.0.0.1:9';

describe.skipIf(!hasRedis)('batch cancel of a PACS job waiting for its retry', () => {
  let redis: TestRedis;

  beforeAll(async () => {
    redis = await startRedis();
  }, 60_000);

  afterAll(async () => {
    await redis?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it("keeps naming the unreadable.tsv its failed attempt left, and the job's list", async () => {
    const target = parseRedisUrl(redis.url);
    const queue = await openQueue(target);
    try {
      const outDir = path.join(root, 'out');
      const sources = [`${PACS}/1.2.826.0.1.3680043.2.1125.81`];
      // A retry ten minutes after the failure: the job is still delayed when the batch is cancelled.
      const { batch } = await submitPacsBatch(queue, sources, { outDir, settings: { method: 'gaussian' }, keys: {}, backoffMs: 600_000 });
      const worker = new Worker<SeriesJobData, SeriesJobResult>(
        QUEUE_NAME,
        async (job) => {
          const attempt = studyProgress((p: JobProgress) => job.updateProgress(p), { attempt: job.attemptsMade + 1, previous: job.progress });
          attempt.list([{ seriesInstanceUid: '1.2.3', modality: 'CT', slices: 3 }]);
          await attempt.failed([], { errorCount: 2, errorsByCode: { E_TRUNCATED: 2 } }, 2);
          throw new Error(encodeFailure({ code: 'E_TRUNCATED', message: 'cut short', path: '/pull/a.dcm' }));
        },
        { connection: connectionOptions(target), prefix: QUEUE_PREFIX, concurrency: 1 },
      );
      worker.on('error', () => {});
      await new Promise<void>((resolve) => worker.on('failed', () => resolve()));
      await worker.close();
      const failing = batch.jobs[0]!.id;
      expect(await queue.getJobState(failing)).toBe('delayed');
      const waiting = (await batchStatus(queue, batch.id)).status;
      expect(waiting.errorsFile).toBe(path.join(outDir, ERRORS_FILE));

      expect(await cancelBatch(queue, batch.id)).toEqual({ cancelled: true, removed: 1 });
      const { status } = await batchStatus(queue, batch.id);
      expect(status).toMatchObject({ cancelled: true, finished: true, series: { total: 1, cancelled: 1 } });
      expect(status.errorsFile).toBe(path.join(outDir, ERRORS_FILE));
      expect(status.jobs.map((j) => [j.state, j.unreadableList])).toEqual([['cancelled', { entries: 2, attempt: 1 }]]);
    } finally {
      await queue.close();
    }
  }, 90_000);
});
