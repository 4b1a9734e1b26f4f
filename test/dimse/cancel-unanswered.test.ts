/**
 * A C-CANCEL the PACS never answers does not hold a stopped run for its --dimse-timeout: after
 * CANCEL_ANSWER_TIMEOUT_MS without the final answer the association is aborted (A-ABORT, connection
 * closed) and the C-FIND rejects E_CANCELLED saying so; a held C-ECHO (a --store check) has its
 * association aborted at once, and so has a held C-STORE (a --store upload: C-STORE has no
 * C-CANCEL). The PACS is a dcmjs-dimse SCP on loopback
 * that accepts the association and answers nothing (test/helpers/dimse-scp.ts: silentPacs).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { CANCEL_ANSWER_TIMEOUT_MS } from '../../src/dimse/association.js';
import { checkStoreDestination, findStudies, storeSeries } from '../../src/dimse/study.js';
import { LowdoseError } from '../../src/errors.js';
import { runPhantom } from '../../src/pipeline/phantom.js';
import { silentPacs } from '../helpers/dimse-scp.js';

const servers: Array<{ close(): void }> = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});
const root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-cancel-unanswered-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('a C-CANCEL the PACS never answers', () => {
  it('aborts the association after CANCEL_ANSWER_TIMEOUT_MS, not the 600 s --dimse-timeout, and rejects E_CANCELLED saying the PACS did not answer', async () => {
    const { port, log, server } = await silentPacs();
    servers.push(server);
    const controller = new AbortController();
    // Stopped once the PACS holds the C-FIND: the C-CANCEL goes to an association in the middle of it.
    log.onFind = () => controller.abort(new LowdoseError('E_CANCELLED', 'interrupted by SIGINT'));
    const peer = { aet: 'SILENT', host: '127.0.0.1', port };
    const search = findStudies(peer, { callingAet: 'LOWDOSETEST', timeoutMs: 600_000, signal: controller.signal }, { patientId: 'P1' });
    await expect(search).rejects.toMatchObject({
      code: 'E_CANCELLED',
      message: expect.stringMatching(new RegExp(`^C-FIND of dimse://SILENT@127\\.0\\.0\\.1:${port} stopped \\(interrupted by SIGINT\\): C-CANCEL sent, the PACS did not answer it within ${CANCEL_ANSWER_TIMEOUT_MS / 1000} s, so the association was aborted; nothing more was kept$`)),
    });
    await log.closedAt(1);
    expect(log).toMatchObject({ finds: 1, cancels: 1, aborts: 1, closed: 1 });
  }, CANCEL_ANSWER_TIMEOUT_MS + 15_000);

  it('a C-ECHO (the --store check) the PACS holds is stopped too: its association aborted at once, E_CANCELLED, not "not a usable destination"', async () => {
    const { port, log, server } = await silentPacs();
    servers.push(server);
    const controller = new AbortController();
    log.onEcho = () => controller.abort(new LowdoseError('E_CANCELLED', 'interrupted by SIGTERM'));
    const peer = { aet: 'SILENT', host: '127.0.0.1', port };
    await expect(checkStoreDestination(peer, { callingAet: 'LOWDOSETEST', timeoutMs: 600_000, signal: controller.signal })).rejects.toMatchObject({
      code: 'E_CANCELLED',
      message: `C-ECHO of dimse://SILENT@127.0.0.1:${port} stopped (interrupted by SIGTERM): the association was aborted`,
    });
    await log.closedAt(1);
    expect(log).toMatchObject({ echoes: 1, aborts: 1, closed: 1 });
  }, 15_000);

  it('a C-STORE (a --store upload) the PACS holds is stopped too: its association aborted at once, E_CANCELLED saying 0 of 2 instances were stored, not the 600 s --dimse-timeout', async () => {
    const { port, log, server } = await silentPacs();
    servers.push(server);
    const phantom = await runPhantom('water', { outDir: path.join(root, 'store'), size: 32, slices: 2, uidSeed: 'store-unanswered' });
    const controller = new AbortController();
    log.onStore = () => controller.abort(new LowdoseError('E_CANCELLED', 'interrupted by SIGINT'));
    const peer = { aet: 'SILENT', host: '127.0.0.1', port };
    const meta = { kind: 'denoised' as const, studyInstanceUid: phantom.studyInstanceUid, seriesInstanceUid: phantom.seriesInstanceUid };
    const store = storeSeries(peer, phantom.files, meta, { callingAet: 'LOWDOSETEST', timeoutMs: 600_000, signal: controller.signal });
    const pacs = `dimse://SILENT@127.0.0.1:${port}`;
    await expect(store).rejects.toMatchObject({
      code: 'E_CANCELLED',
      path: pacs,
      message:
        `storing denoised series ${phantom.seriesInstanceUid} to ${pacs} was stopped after 0 of 2 instance(s) were stored: C-STORE of ${pacs} stopped (interrupted by SIGINT): the association was aborted; ` +
        'the destination may have kept some of the 2 instance(s) it had not confirmed; a rerun into the same -o stores the series again',
    });
    await log.closedAt(1);
    expect(log).toMatchObject({ stores: 1, aborts: 1, closed: 1 });
  }, 15_000);
});
