/**
 * The PACS queries of `info`, of `denoise <one DICOMweb study>` and of `batch` stop on SIGINT /
 * SIGTERM (src/cli/stop-on-signal.ts): the request in flight is aborted (its connection closed), a
 * C-FIND cancelled with C-CANCEL, and the command ends with the signal's status (130 / 143) and a
 * stop in place of a listing (--json: `{ "errors": [ E_CANCELLED ] }`), writing or queuing nothing.
 * The PACS is one that never answers: an HTTP server holding every request
 * (test/helpers/stalled-http.ts), a DIMSE SCP that accepts the association and answers nothing, not
 * even the C-CANCEL (test/helpers/dimse-scp.ts); the CLI is signalled once the query has reached it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CANCEL_ANSWER_TIMEOUT_MS } from '../../src/dimse/association.js';
import { silentPacs } from '../helpers/dimse-scp.js';
import { listAll, runUntil } from '../helpers/signal-run.js';
import { startStalledHttp, type StalledHttp } from '../helpers/stalled-http.js';
import { hasRedis, startRedis, type TestRedis } from '../queue/redis-server.js';

const STUDY = '1.2.826.0.1.3680043.8.498.1';

interface Stopped {
  errors: Array<{ code: string; message: string; path: string | null }>;
  series?: unknown[];
}

let dir: string;
let web: StalledHttp;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'lowdose-pacs-signal-'));
  web = await startStalledHttp();
});
afterAll(async () => {
  await web.close();
  await rm(dir, { recursive: true, force: true });
});

describe('info on a PACS that does not answer', () => {
  it('SIGINT while the C-FIND of a study list is held: C-CANCEL sent, the association aborted once the C-CANCEL is not answered, exit 130, --json says the query was stopped', async () => {
    const { port, log, server } = await silentPacs();
    try {
      const atFind = new Promise<void>((resolve) => (log.onFind = resolve));
      const pacs = `dimse://SILENT@127.0.0.1:${port}`;
      // A --dimse-timeout far over the test's: only the C-CANCEL's own bound ends the association in time.
      const result = await runUntil(['info', pacs, '--calling-aet', 'LOWDOSETEST', '--dimse-timeout', '600', '--json'], {}, atFind, 'SIGINT');
      expect(result.code, result.stderr).toBe(130);
      expect(result.stderr).toContain('stopping the PACS query (SIGINT)');
      const stopped = JSON.parse(result.stdout) as Stopped;
      expect(stopped).toEqual({
        errors: [
          expect.objectContaining({
            code: 'E_CANCELLED',
            path: pacs,
            message: `the query of ${pacs} was stopped: C-FIND of ${pacs} stopped (interrupted by SIGINT): C-CANCEL sent, the PACS did not answer it within ${CANCEL_ANSWER_TIMEOUT_MS / 1000} s, so the association was aborted; nothing more was kept; nothing was listed`,
          }),
        ],
      });
      await log.closedAt(1);
      expect(log).toMatchObject({ finds: 1, cancels: 1, aborts: 1, closed: 1 });
    } finally {
      server.close();
    }
  }, CANCEL_ANSWER_TIMEOUT_MS + 30_000);

  it('SIGTERM while a DICOMweb study search (--patient-id) is held: the QIDO-RS request is aborted, exit 143, --json says the query was stopped', async () => {
    const base = `${web.base}/dicom-web`;
    const before = web.abandoned.length;
    const result = await runUntil(['info', base, '--patient-id', 'P1', '--json'], {}, web.nextHeld(), 'SIGTERM');
    expect(result.code, result.stderr).toBe(143);
    await web.abandonedAt(before + 1);
    expect(web.abandoned.slice(before)).toEqual([{ method: 'GET', url: expect.stringMatching(/^\/dicom-web\/studies\?.*PatientID=P1/) }]);
    expect(JSON.parse(result.stdout)).toEqual({
      errors: [expect.objectContaining({ code: 'E_CANCELLED', path: base, message: expect.stringMatching(/^the query of .* was stopped: GET .* stopped \(interrupted by SIGTERM\); nothing was listed$/) })],
    });
  }, 30_000);

  it("SIGINT while one DICOMweb study's series list is held: the QIDO-RS request is aborted, exit 130, nothing listed", async () => {
    const study = `${web.base}/dicom-web/studies/${STUDY}`;
    const before = web.abandoned.length;
    const result = await runUntil(['info', study, '--json'], {}, web.nextHeld(), 'SIGINT');
    expect(result.code, result.stderr).toBe(130);
    await web.abandonedAt(before + 1);
    expect(web.abandoned.slice(before)).toEqual([{ method: 'GET', url: expect.stringMatching(new RegExp(`^/dicom-web/studies/${STUDY.replaceAll('.', '\\.')}/series`)) }]);
    expect(JSON.parse(result.stdout)).toEqual({ errors: [expect.objectContaining({ code: 'E_CANCELLED', path: study })] });
  }, 30_000);
});

describe('denoise <one DICOMweb study> on a server that does not answer', () => {
  it("SIGINT while the study's series list is held: the request is aborted (not waited out for its 60 s timeout and retries), exit 130, E_CANCELLED, nothing in -o", async () => {
    const study = `${web.base}/dicom-web/studies/${STUDY}`;
    const out = path.join(dir, 'out-denoise');
    const before = web.abandoned.length;
    const result = await runUntil(['denoise', study, '-o', out, '--no-progress', '--json'], { TMPDIR: dir }, web.nextHeld(), 'SIGINT');
    expect(result.code, result.stderr).toBe(130);
    await web.abandonedAt(before + 1);
    const report = JSON.parse(result.stdout) as Stopped;
    expect(report.series).toEqual([]);
    expect(report.errors).toEqual([expect.objectContaining({ code: 'E_CANCELLED', message: expect.stringMatching(/^GET .*\/series.* stopped \(interrupted by SIGINT\)$/) })]);
    expect(listAll(out)).toEqual([]);
  }, 30_000);
});

describe.skipIf(!hasRedis)('batch <PACS address> on a PACS that does not answer', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('SIGINT while the study query is held: the QIDO-RS request is aborted, exit 130, --json says nothing was queued, Redis holds no batch or job', async () => {
    const base = `${web.base}/dicom-web`;
    const before = web.abandoned.length;
    const result = await runUntil(['batch', base, '--patient-id', 'P1', '-o', path.join(dir, 'out-batch'), '--redis', redis.url, '--json'], {}, web.nextHeld(), 'SIGINT');
    expect(result.code, result.stderr).toBe(130);
    await web.abandonedAt(before + 1);
    expect(JSON.parse(result.stdout)).toEqual({
      errors: [expect.objectContaining({ code: 'E_CANCELLED', message: expect.stringMatching(/^the batch was not submitted: the study query on .* was stopped: .*; nothing was queued$/) })],
    });
    const client = new Redis(redis.url);
    try {
      // Only the queue's own metadata, which BullMQ writes as the queue opens: no batch record, no job.
      expect(await client.keys('*')).toEqual(['lowdose:denoise:meta']);
    } finally {
      client.disconnect();
    }
  }, 30_000);
});
