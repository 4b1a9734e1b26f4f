/**
 * Replacing `map/` and `overlays/` through a hidden sibling (src/util/staged-folders.ts): the
 * earlier folders are kept until the new ones are complete, and whatever point a run is killed at,
 * the next run's recovery leaves either the earlier folders whole (the new ones were not complete)
 * or the new ones whole (they were), never a mix and never neither.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { recoverStagedFolders, stageFolders } from '../../src/util/staged-folders.js';

const NAMES = ['map', 'overlays'] as const;
const root = mkdtempSync(path.join(tmpdir(), 'lowdose-staged-folders-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A folder holding an earlier map/ and overlays/ (files saying "old"). */
function earlier(name: string): string {
  const dir = path.join(root, name);
  for (const sub of NAMES) {
    mkdirSync(path.join(dir, sub), { recursive: true });
    writeFileSync(path.join(dir, sub, 'a'), `old ${sub}`);
  }
  return dir;
}

/** The folder's visible entries and what each of map/ and overlays/ holds. */
function state(dir: string): Record<string, string[]> {
  const out: Record<string, string[]> = { entries: readdirSync(dir).sort() };
  for (const sub of NAMES) {
    const folder = path.join(dir, sub);
    out[sub] = existsSync(folder) ? readdirSync(folder).sort().map((n) => `${n}=${readFileSync(path.join(folder, n), 'utf8')}`) : [];
  }
  return out;
}

const OLD = { entries: ['map', 'overlays'], map: ['a=old map'], overlays: ['a=old overlays'] };
const NEW = { entries: ['map', 'overlays'], map: ['b=new map'], overlays: ['b=new overlays'] };

/** Stages new contents (files "new"); `complete` writes the marker commit writes first. */
async function staged(dir: string, complete: boolean) {
  const s = await stageFolders(dir, NAMES);
  for (const sub of NAMES) writeFileSync(path.join(s.dir, sub, 'b'), `new ${sub}`);
  if (complete) writeFileSync(path.join(s.dir, '.complete'), '');
  return { ...s, token: path.basename(s.dir).slice('.lowdose-new-'.length) };
}

describe('staged folders', () => {
  it('commit puts the new folders in place of the earlier ones; abandon keeps the earlier ones; paths map to their final place', async () => {
    const kept = earlier('abandon');
    const a = await staged(kept, false);
    expect(state(kept).map).toEqual(['a=old map']);
    await a.abandon();
    expect(state(kept)).toEqual(OLD);

    const replaced = earlier('commit');
    const c = await staged(replaced, false);
    expect(c.finalPath(path.join(c.dir, 'map', 'b'))).toBe(path.join(replaced, 'map', 'b'));
    expect(c.finalPath('/elsewhere/x')).toBe('/elsewhere/x');
    await c.commit();
    expect(state(replaced)).toEqual(NEW);
  });

  it('an empty new folder is left out: the earlier overlays do not stay beside a new map that has none', async () => {
    const dir = earlier('empty-overlays');
    const s = await stageFolders(dir, NAMES);
    writeFileSync(path.join(s.dir, 'map', 'b'), 'new map');
    await s.commit();
    expect(state(dir)).toEqual({ entries: ['map'], map: ['b=new map'], overlays: [] });
  });

  it('killed while computing (not complete): recovery removes the new folders and keeps the earlier ones', async () => {
    const dir = earlier('killed-computing');
    await staged(dir, false);
    expect(await recoverStagedFolders(dir, NAMES)).toBe(1);
    expect(state(dir)).toEqual(OLD);
  });

  it('killed at each step of the swap after completing: recovery finishes it, the new folders whole', async () => {
    // Nothing moved yet.
    const none = earlier('killed-before-move');
    await staged(none, true);
    await recoverStagedFolders(none, NAMES);
    expect(state(none)).toEqual(NEW);

    // The earlier map moved aside, the new one not yet in.
    const aside = earlier('killed-map-aside');
    const s1 = await staged(aside, true);
    mkdirSync(path.join(aside, `.lowdose-old-${s1.token}`));
    renameSync(path.join(aside, 'map'), path.join(aside, `.lowdose-old-${s1.token}`, 'map'));
    await recoverStagedFolders(aside, NAMES);
    expect(state(aside)).toEqual(NEW);

    // The new map in, the earlier overlays still in place.
    const half = earlier('killed-half-swapped');
    const s2 = await staged(half, true);
    mkdirSync(path.join(half, `.lowdose-old-${s2.token}`));
    renameSync(path.join(half, 'map'), path.join(half, `.lowdose-old-${s2.token}`, 'map'));
    renameSync(path.join(s2.dir, 'map'), path.join(half, 'map'));
    await recoverStagedFolders(half, NAMES);
    expect(state(half)).toEqual(NEW);

    // Swapped, killed before removing the earlier folders.
    const cleanup = earlier('killed-cleanup');
    const s3 = await staged(cleanup, true);
    mkdirSync(path.join(cleanup, `.lowdose-old-${s3.token}`));
    for (const sub of NAMES) {
      renameSync(path.join(cleanup, sub), path.join(cleanup, `.lowdose-old-${s3.token}`, sub));
      renameSync(path.join(s3.dir, sub), path.join(cleanup, sub));
    }
    rmSync(s3.dir, { recursive: true });
    await recoverStagedFolders(cleanup, NAMES);
    expect(state(cleanup)).toEqual(NEW);
  });
});
