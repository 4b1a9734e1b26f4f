/**
 * `metrics --hallucination --overwrite` stops cleanly on SIGINT (src/cli/stop-on-signal.ts): the CLI
 * is spawned on the Mayo L192 B30f quarter / full-dose pair (7 slices) and signalled when it starts
 * comparing the slices (its "comparing ... slice pair(s)" line): exit 130, `{ errors: [E_CANCELLED] }`,
 * the earlier map in the folder kept byte for byte, the map being written and the lock removed.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAll, runUntil } from '../helpers/signal-run.js';

const FULL = path.resolve('../shared/ldct-mayo/L192/B30f/full');
const QUARTER = path.resolve('../shared/ldct-mayo/L192/B30f/quarter');
const haveMayo = existsSync(FULL) && existsSync(QUARTER);
if (!haveMayo) console.warn('skipping the metrics stop-on-signal test: ../shared/ldct-mayo is not there');

/** Each file under `dir`, by relative path, with its bytes (base64). */
function snapshot(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    files[path.relative(dir, file)] = readFileSync(file).toString('base64');
  }
  return files;
}

describe.skipIf(!haveMayo)('metrics --hallucination stopped by a signal', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lowdose-stop-metrics-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('SIGINT while an --overwrite map is written: exit 130, E_CANCELLED, the earlier map kept as it was, no new map, lock or temporary left', async () => {
    const maps = path.join(dir, 'map');
    const args = ['metrics', '--reference', FULL, '--test', QUARTER, '--hallucination', maps, '--json'];
    const first = await runUntil(args, {}, null);
    expect(first.code, first.stderr).toBe(0);
    const earlier = snapshot(maps);
    expect(Object.keys(earlier).some((f) => f.endsWith('.dcm'))).toBe(true);

    const stopped = await runUntil([...args, '--overwrite'], {}, (stderr) => stderr.includes('slice pair(s)'));
    expect(stopped.code, stopped.stderr).toBe(130);
    expect(JSON.parse(stopped.stdout)).toEqual({
      errors: [{ code: 'E_CANCELLED', path: maps, message: expect.stringContaining('metrics stopped (interrupted by SIGINT): no result; the hallucination map being written was removed') }],
    });
    expect(snapshot(maps)).toEqual(earlier);
    expect(listAll(dir).filter((f) => f !== 'map' && !f.startsWith(`map${path.sep}`))).toEqual([]);
    expect(listAll(maps).filter((f) => f.endsWith('.tmp') || f.endsWith('.lock'))).toEqual([]);
  }, 180_000);
});
