/**
 * A C-MOVE whose PACS opens more associations to our storage SCP than it takes at once
 * (DEFAULT_MAX_ASSOCIATIONS, src/dimse/store-scp.ts): the one past the limit is refused with
 * A-ASSOCIATE-RJ, its instance does not come, and the E_IO error the user sees says so (not only
 * the log), whether the PACS answers the C-MOVE with a failure status or with 0xB000 (the shortfall
 * rule). The PACS is a dcmjs-dimse SCP on loopback that sends each instance over an association
 * of its own and holds them open until all were tried.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dimse } from '../../src/dimse/association.js';
import { DEFAULT_MAX_ASSOCIATIONS } from '../../src/dimse/store-scp.js';
import { pullSeries } from '../../src/dimse/study.js';
import { AcceptingScp, listenScp } from '../helpers/dimse-scp.js';
import { freePort } from '../helpers/ports.js';
import { holdAssociation } from '../helpers/store-sender.js';

type Scp = InstanceType<(typeof dimse)['Scp']>;

/** The series test/helpers/store-sender.ts's instances belong to. */
const SERIES = '1.2.3.4';
const INSTANCES = DEFAULT_MAX_ASSOCIATIONS + 1;
const servers: Array<{ close(): void }> = [];
const folders: string[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
  for (const f of folders.splice(0)) rmSync(f, { recursive: true, force: true });
});

/**
 * A PACS that answers a C-MOVE to `moveTo` by sending each of INSTANCES instances over its own
 * association, all held open at once, then answers with `status` (completed / failed counts as stored).
 */
async function manyAssociationPacs(moveTo: () => number, status: number): Promise<number> {
  class Pacs extends AcceptingScp {
    override cMoveRequest(request: Parameters<Scp['cMoveRequest']>[0], callback: Parameters<Scp['cMoveRequest']>[1]): void {
      const held = Array.from({ length: INSTANCES }, (_, i) => holdAssociation(moveTo(), { sopInstanceUid: `${SERIES}.${i + 1}`, callingAet: 'PACS', calledAet: 'LOWDOSE' }));
      void Promise.all(held.map((h) => h.stored)).then(async (statuses) => {
        await Promise.all(held.map((h) => h.close()));
        const completed = statuses.filter((s) => s === 0).length;
        const response = dimse.responses.CMoveResponse.fromRequest(request);
        response.setStatus(status);
        response.setCompleted(completed);
        response.setFailures(INSTANCES - completed);
        response.setWarnings(0);
        response.setRemaining(0);
        callback([response]);
      });
    }
  }
  const { port, server } = await listenScp(Pacs);
  servers.push(server);
  return port;
}

async function pullWith(status: number): Promise<Error & { code?: string }> {
  const movePort = await freePort();
  const pacsPort = await manyAssociationPacs(() => movePort, status);
  const root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-move-limit-'));
  folders.push(root);
  const series = { studyInstanceUid: '1.2.3', seriesInstanceUid: SERIES, modality: 'CT', description: '', seriesNumber: 1, instances: INSTANCES, url: `dimse://PACS@127.0.0.1:${pacsPort}/1.2.3/${SERIES}` };
  const listed = { instances: Array.from({ length: INSTANCES }, (_, i) => ({ sopInstanceUid: `${SERIES}.${i + 1}`, derivationDescription: '' })), complete: true, capped: false };
  const logged: string[] = [];
  return pullSeries({ aet: 'PACS', host: '127.0.0.1', port: pacsPort }, series, listed, root, { callingAet: 'LOWDOSE', timeoutMs: 20_000, movePort, log: (m) => logged.push(m) }).then(
    () => {
      throw new Error(`the pull succeeded; log: ${logged.join('\n')}`);
    },
    (error: unknown) => error as Error & { code?: string },
  );
}

const REFUSAL = new RegExp(
  `our storage SCP on port \\d+ refused 1 association\\(s\\) of the PACS \\(127\\.0\\.0\\.1\\), over the limit of ${DEFAULT_MAX_ASSOCIATIONS} associations at once: A-ASSOCIATE-RJ \\(local limit exceeded\\): the instances they carried did not come`,
);

describe('a C-MOVE over more associations than our storage SCP takes at once', () => {
  it('answered with a failure status: the E_IO error names the refused association, not an unknown AE title', async () => {
    const error = await pullWith(0xa702);
    expect(error.code).toBe('E_IO');
    expect(error.message).toContain(`with ${DEFAULT_MAX_ASSOCIATIONS} sub-operation(s) completed, 1 failed`);
    expect(error.message).toMatch(REFUSAL);
    expect(error.message).not.toContain('must know that AE title');
  }, 60_000);

  it('answered with 0xB000 (some sub-operations failed): the incomplete-series error names the refused association', async () => {
    const error = await pullWith(0xb000);
    expect(error.code).toBe('E_IO');
    expect(error.message).toContain(`is incomplete: the server says it holds ${INSTANCES} instance(s) and ${DEFAULT_MAX_ASSOCIATIONS} are on disk`);
    expect(error.message).toMatch(REFUSAL);
  }, 60_000);
});
