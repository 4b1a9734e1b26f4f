/**
 * A folder batch over a folder of hundreds of files that are not DICOM (and a few truncated
 * slices) beside one real series keeps a bounded record in Redis: at most LISTED_PER_CODE unreadable
 * files of each code, listed in file order, with their exact count in all and by code. `batch
 * status --json`, `batch --json` and the batch's report.json carry the same. A real Redis (no
 * persistence), no worker: the record is what the submission wrote.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPhantom } from '../../src/pipeline/phantom.js';
import { batchStatus, openQueue, submitBatch } from '../../src/queue/batch.js';
import { parseRedisUrl } from '../../src/queue/connection.js';
import { batchKey, batchReport, type BatchRecord } from '../../src/queue/jobs.js';
import { LISTED_PER_CODE } from '../../src/util/code-sample.js';
import { ERRORS_FILE, parseErrorList } from '../../src/util/error-list-file.js';
import { runCli } from '../helpers/cli.js';
import { writeJunkFolder } from '../helpers/junk-folder.js';
import { hasRedis, startRedis, type TestRedis } from './redis-server.js';

const root = mkdtempSync(path.join(tmpdir(), 'lowdose-batch-bounded-'));
const input = path.join(root, 'in');
const NOT_DICOM = 3 * LISTED_PER_CODE + 17;
const TRUNCATED = 3;

describe.skipIf(!hasRedis)('a batch over a folder of unreadable files keeps a sample of their errors and their exact counts', () => {
  let redis: TestRedis;

  beforeAll(async () => {
    redis = await startRedis();
    const series = path.join(input, 'series');
    await runPhantom('water', { outDir: series, size: 32, slices: 2, uidSeed: 'batch-bounded' });
    const first = path.join(series, readdirSync(series).sort()[0]!);
    writeJunkFolder(path.join(input, 'junk'), { notDicom: NOT_DICOM, truncatedOf: first, truncated: TRUNCATED, seed: 11 });
  }, 60_000);

  afterAll(async () => {
    await redis?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('the Redis record, batch status and report.json list 100 per code and count them all', async () => {
    const queue = await openQueue(parseRedisUrl(redis.url));
    try {
      const submitted = await submitBatch(queue, [input], { outDir: path.join(root, 'out'), settings: { method: 'gaussian' } });
      const byCode = { E_NOT_DICOM: NOT_DICOM, E_TRUNCATED: TRUNCATED };
      expect(submitted.errorCount).toBe(NOT_DICOM + TRUNCATED);
      expect(submitted.errorsByCode).toEqual(byCode);
      expect(submitted.errors).toHaveLength(LISTED_PER_CODE + TRUNCATED);
      // File order: the first 100 junk files, then every truncated one (a rare code is not crowded out).
      expect(submitted.errors[0]!.path).toBe(path.join(input, 'junk', 'junk000000.dcm'));
      expect(submitted.errors[LISTED_PER_CODE - 1]!.path).toBe(path.join(input, 'junk', `junk${String(LISTED_PER_CODE - 1).padStart(6, '0')}.dcm`));
      expect(submitted.errors.filter((e) => e.code === 'E_TRUNCATED')).toHaveLength(TRUNCATED);

      const client = await queue.client;
      const text = (await client.get(batchKey(submitted.batch.id)))!;
      const record = JSON.parse(text) as BatchRecord;
      expect(record.errors).toHaveLength(LISTED_PER_CODE + TRUNCATED);
      expect(record.errorCount).toBe(NOT_DICOM + TRUNCATED);
      expect(record.errorsByCode).toEqual(byCode);
      // A few hundred bytes per listed error, whatever the number of files: not one entry per file.
      expect(text.length).toBeLessThan(300 * (LISTED_PER_CODE + TRUNCATED));

      const { status, results, failedJobSeries } = await batchStatus(queue, submitted.batch.id);
      expect(status.errors).toHaveLength(LISTED_PER_CODE + TRUNCATED);
      expect(status.errorCount).toBe(NOT_DICOM + TRUNCATED);
      expect(status.errorsByCode).toEqual(byCode);

      const report = batchReport(results, status, submitted.errors, submitted.skipped, failedJobSeries);
      expect(report.errors).toHaveLength(LISTED_PER_CODE + TRUNCATED);
      expect(report.errorCount).toBe(NOT_DICOM + TRUNCATED);
      expect(report.errorsByCode).toEqual(byCode);

      // The whole list: written by the submitting client into the batch's output folder, named
      // by the record, the status and report.json; Redis keeps the sample only.
      const errorsFile = path.join(root, 'out', ERRORS_FILE);
      expect(submitted.errorsFile).toBe(errorsFile);
      expect(record.errorsFile).toBe(errorsFile);
      expect(status.errorsFile).toBe(errorsFile);
      expect(report.errorsFile).toBe(errorsFile);
      const entries = parseErrorList(readFileSync(errorsFile, 'utf8'));
      expect(entries).toHaveLength(NOT_DICOM + TRUNCATED);
      expect(entries.filter((e) => e.code === 'E_TRUNCATED')).toHaveLength(TRUNCATED);
      expect(entries.slice(0, LISTED_PER_CODE)).toEqual(submitted.errors.slice(0, LISTED_PER_CODE));
    } finally {
      await queue.close();
    }
  }, 60_000);

  it('batch status prints the listed errors and a line that counts the rest by code', async () => {
    const outDir = path.join(root, 'out-cli');
    const queued = await runCli('batch', input, '-o', outDir, '--redis', redis.url, '--method', 'gaussian', '--json');
    expect(queued.code, queued.stderr).toBe(0);
    const submitted = JSON.parse(queued.stdout) as { id: string; errors: unknown[]; errorCount: number; errorsByCode: Record<string, number>; errorsFile?: string };
    expect(submitted.errors).toHaveLength(LISTED_PER_CODE + TRUNCATED);
    expect(submitted.errorCount).toBe(NOT_DICOM + TRUNCATED);
    expect(submitted.errorsFile).toBe(path.join(outDir, ERRORS_FILE));
    const status = await runCli('batch', 'status', submitted.id, '--redis', redis.url);
    const lines = status.stdout.trim().split('\n');
    expect(lines.filter((l) => l.startsWith('error '))).toHaveLength(LISTED_PER_CODE + TRUNCATED);
    expect(lines.at(-1)).toBe(
      `... and ${NOT_DICOM - LISTED_PER_CODE} more error(s) not listed; ${NOT_DICOM + TRUNCATED} in all: ${NOT_DICOM} E_NOT_DICOM, ${TRUNCATED} E_TRUNCATED; see ${path.join(outDir, ERRORS_FILE)}`,
    );
  }, 60_000);
});
