/**
 * A C-CANCEL the PACS never answers does not hold a stopped run for its --dimse-timeout: after
 * CANCEL_ANSWER_TIMEOUT_MS without the final answer the association is aborted (A-ABORT, connection
 * closed) and the C-FIND rejects E_CANCELLED saying so; a held C-ECHO (a --store check) has its
 * association aborted at once. The PACS is a dcmjs-dimse SCP on loopback
 * that accepts the association and answers nothing (test/helpers/dimse-scp.ts: silentPacs).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CANCEL_ANSWER_TIMEOUT_MS } from '../../src/dimse/association.js';
import { checkStoreDestination, findStudies } from '../../src/dimse/study.js';
import { LowdoseError } from '../../src/errors.js';
import { silentPacs } from '../helpers/dimse-scp.js';

const servers: Array<{ close(): void }> = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

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
});
