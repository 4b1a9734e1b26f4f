/**
 * `metrics --hallucination <dir>` whose folder lock another run took over while it computed (it
 * judged this one dead) does not put its map in place: it fails with E_LOCKED naming the new
 * owner, removes only its own unfinished map, and the folder stays as the new owner has it. On the
 * IEC fixture (fixtures/iec, dose25 against dose100); the takeover is simulated by rewriting the
 * lock file as another host's run at the first progress message after the lock was taken.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runMetrics, type MetricsOptions } from '../../src/pipeline/metrics.js';
import { LOCK_HEARTBEAT_MS, lockPathFor } from '../../src/util/folder-lock.js';
import { folderContents } from '../helpers/folder-contents.js';

const IEC = path.resolve(import.meta.dirname, '../../fixtures/iec');
const SFRC = { noiseCompensation: false, patchSize: 16, stride: 8 };
const TAKER = { pid: 4242, host: 'elsewhere.example', startedAt: 'now', processStart: 1, token: 'taker', heartbeatMs: LOCK_HEARTBEAT_MS };

const root = mkdtempSync(path.join(tmpdir(), 'lowdose-hallucination-lock-taken-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('metrics --hallucination under a lock taken over', () => {
  it('does not replace the map: E_LOCKED naming the new owner, the folder as it was, the taker\'s lock kept', async () => {
    const dir = path.join(root, 'map-folder');
    const base: MetricsOptions = { reference: path.join(IEC, 'dose100'), test: path.join(IEC, 'dose25'), hallucination: { dir, options: SFRC } };
    await runMetrics(base);
    const before = folderContents(dir);
    // The map's 4 slices and its completion marker.
    expect([...before.keys()].filter((k) => k.startsWith('map/')).sort()).toEqual(['map/.lowdose-map.json', 'map/IM0001.dcm', 'map/IM0002.dcm', 'map/IM0003.dcm', 'map/IM0004.dcm']);

    const lock = lockPathFor(dir);
    let taken = false;
    const progress = () => {
      if (taken || !existsSync(lock)) return;
      writeFileSync(lock, JSON.stringify(TAKER));
      taken = true;
    };
    const error = await runMetrics({ ...base, hallucination: { dir, options: SFRC, overwrite: true }, progress }).then(
      () => null,
      (e: unknown) => e as Error & { code?: string },
    );
    expect(taken).toBe(true);
    expect(error?.code).toBe('E_LOCKED');
    expect(error?.message).toContain('it was taken over by pid 4242 on elsewhere.example');
    expect(folderContents(dir)).toEqual(before);
    expect(readdirSync(dir).sort()).toEqual(['map', 'overlays']);
    expect(JSON.parse(readFileSync(lock, 'utf8'))).toMatchObject({ token: 'taker' });
  });
});
