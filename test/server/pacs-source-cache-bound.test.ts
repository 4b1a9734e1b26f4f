/**
 * The PACS cache of `serve` (src/server/pacs-source-cache.ts) on its own, with a stand-in for the
 * PACS that writes each instance it is asked for: its bound (the least recently opened series go,
 * never the one just opened), one server at a time (a second one taking it up once the first has ended), the temporaries of a killed pull, and the
 * session folder holding exactly the series' current instances, linked to the cached files.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PulledSourceCache, type PullInto } from '../../src/server/pacs-source-cache.js';
import { instancesOnDisk, removeUnlisted, seriesCacheDir } from '../../src/util/pull-cache.js';
import type { PulledSeries } from '../../src/util/remote-series.js';

const KB = 1024;
/** Opens a few ms apart: the cache orders series by their folders' modification times (ms). */
const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

/** A PACS stand-in holding `instances` of 1 KiB each for a series: it writes those not on disk, as a pull does, and counts them. */
function pacsSeries(seriesInstanceUid: string, instances: string[], retrieved: string[]): PullInto {
  return async (root: string): Promise<PulledSeries> => {
    const dir = seriesCacheDir(root, seriesInstanceUid);
    await mkdir(dir, { recursive: true });
    await removeUnlisted(dir, seriesInstanceUid, instances, () => {});
    const here = await instancesOnDisk(dir);
    const missing = instances.filter((uid) => !here.has(uid));
    for (const uid of missing) await writeFile(path.join(dir, `${uid}.dcm`), Buffer.alloc(KB, 1));
    retrieved.push(...missing);
    return { seriesInstanceUid, url: `http://pacs/series/${seriesInstanceUid}`, modality: 'CT', instances: instances.length, retrieved: missing.length, dir };
  };
}

describe('the PACS cache of serve', () => {
  let dir: string;
  const log: string[] = [];
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lowdose-pacs-cache-'));
    log.length = 0;
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const open = (maxBytes: number) => PulledSourceCache.open(path.join(dir, 'pacs-cache'), 'http://pacs/dicom-web', maxBytes, (m) => log.push(m));

  it('retrieves only what it lacks, and the session folder holds links to exactly the instances the PACS lists', async () => {
    const cache = (await open(100 * KB));
    const retrieved: string[] = [];
    const session = path.join(dir, 'session');
    const first = await cache.pull('1.2.3', session, pacsSeries('1.2.3', ['a', 'b', 'c'], retrieved));
    expect(first).toMatchObject({ instances: 3, retrieved: 3, dir: seriesCacheDir(session, '1.2.3') });
    // The PACS now lists b, c and d: a goes from the cache and the session folder, only d is retrieved.
    const second = await cache.pull('1.2.3', session, pacsSeries('1.2.3', ['b', 'c', 'd'], retrieved));
    expect(second.retrieved).toBe(1);
    expect(retrieved).toEqual(['a', 'b', 'c', 'd']);
    expect(readdirSync(second.dir).sort()).toEqual(['b.dcm', 'c.dcm', 'd.dcm']);
    const cached = seriesCacheDir(path.join(dir, 'pacs-cache', readdirSync(path.join(dir, 'pacs-cache'))[0]!), '1.2.3');
    for (const name of ['b.dcm', 'c.dcm', 'd.dcm']) expect(statSync(path.join(second.dir, name)).ino).toBe(statSync(path.join(cached, name)).ino);
    await cache.release();
  });

  it('keeps at most its bound: the least recently opened series go, never the one just opened, and what a session linked stays readable', async () => {
    const cache = (await open(5 * KB));
    const session = path.join(dir, 'session');
    const retrieved: string[] = [];
    const a = await cache.pull('1.1', session, pacsSeries('1.1', ['a1', 'a2'], retrieved));
    await tick();
    await cache.pull('1.2', session, pacsSeries('1.2', ['b1', 'b2'], retrieved));
    await tick();
    // 1.1 opened again: now the most recently opened of the two.
    await cache.pull('1.1', session, pacsSeries('1.1', ['a1', 'a2'], retrieved));
    await tick();
    // 4 KiB cached; 1.3 brings 6 KiB in all, over the 5 KiB bound: 1.2, the least recently opened, goes.
    await cache.pull('1.3', session, pacsSeries('1.3', ['c1', 'c2'], retrieved));
    const root = path.join(dir, 'pacs-cache', readdirSync(path.join(dir, 'pacs-cache'))[0]!);
    expect(existsSync(seriesCacheDir(root, '1.1'))).toBe(true);
    expect(existsSync(seriesCacheDir(root, '1.2'))).toBe(false);
    expect(existsSync(seriesCacheDir(root, '1.3'))).toBe(true);
    expect(readdirSync(seriesCacheDir(session, '1.2')).sort()).toEqual(['b1.dcm', 'b2.dcm']);
    await cache.release();
    // With no room at all, only the series just opened stays; the session's links stay readable.
    const none = (await open(0));
    await none.pull('1.4', session, pacsSeries('1.4', ['d1', 'd2', 'd3'], retrieved));
    expect(readdirSync(root)).toEqual([path.basename(seriesCacheDir(root, '1.4'))]);
    expect(readdirSync(a.dir).sort()).toEqual(['a1.dcm', 'a2.dcm']);
    await none.release();
  });

  it('is used by one server at a time: a second one on the same work folder goes without while the first runs, says so, and takes it up once the first has ended', async () => {
    const first = await open(100 * KB);
    expect(first.held).toBe(true);
    // Another live process holds it: acquireFolderLock judges this process's own lock live too.
    const second = await open(100 * KB);
    expect(second.held).toBe(false);
    expect(log.join('\n')).toMatch(/the PACS cache .* is in use by another server on this work folder/);
    const root = path.join(dir, 'pacs-cache', readdirSync(path.join(dir, 'pacs-cache')).find((name) => !name.startsWith('.'))!);
    const session = path.join(dir, 'session-2');
    const retrieved: string[] = [];
    const alone = await second.pull('2.1', session, pacsSeries('2.1', ['x1', 'x2'], retrieved));
    expect(alone).toMatchObject({ retrieved: 2, dir: seriesCacheDir(session, '2.1') });
    expect(existsSync(seriesCacheDir(root, '2.1'))).toBe(false);
    await first.release();
    // The first server has ended: the second's next open takes the cache, and the one after retrieves nothing.
    const taken = await second.pull('2.1', session, pacsSeries('2.1', ['x1', 'x2'], retrieved));
    expect(second.held).toBe(true);
    expect(log.join('\n')).toMatch(/the PACS cache .* is this server's now: the server that held it has ended/);
    expect(readdirSync(seriesCacheDir(root, '2.1')).sort()).toEqual(['x1.dcm', 'x2.dcm']);
    for (const name of ['x1.dcm', 'x2.dcm']) expect(statSync(path.join(taken.dir, name)).ino).toBe(statSync(path.join(seriesCacheDir(root, '2.1'), name)).ino);
    expect((await second.pull('2.1', session, pacsSeries('2.1', ['x1', 'x2'], retrieved))).retrieved).toBe(0);
    // A third server now finds it in use by the second.
    const third = await open(100 * KB);
    expect(third.held).toBe(false);
    await third.release();
    await second.release();
    expect(existsSync(path.join(dir, '.pacs-cache.lock'))).toBe(false);
  });

  it('goes without the cache, as a second server does, once another server has taken its lock over (judged this one dead)', async () => {
    const cache = await open(100 * KB);
    const lockFile = path.join(dir, '.pacs-cache.lock');
    const owner = JSON.parse(await readFile(lockFile, 'utf8')) as Record<string, unknown>;
    // The lock file now names another owner: a server that found this one's heartbeat stopped.
    await writeFile(lockFile, `${JSON.stringify({ ...owner, token: 'another-server' })}\n`);
    const session = path.join(dir, 'session-3');
    const pulled = await cache.pull('3.1', session, pacsSeries('3.1', ['y1'], []));
    expect(pulled.dir).toBe(seriesCacheDir(session, '3.1'));
    expect(cache.held).toBe(false);
    expect(log.join('\n')).toMatch(/the PACS cache .* was taken over by another server: this server pulls each series it opens anew/);
    await cache.release();
    // The other server's lock stays.
    expect(await readFile(lockFile, 'utf8')).toContain('another-server');
  });

  it('removes the temporaries a killed pull left in a series\' folder before pulling it again', async () => {
    const cache = (await open(100 * KB));
    const session = path.join(dir, 'session');
    const pulled = await cache.pull('1.5', session, pacsSeries('1.5', ['e1'], []));
    const root = path.join(dir, 'pacs-cache', readdirSync(path.join(dir, 'pacs-cache'))[0]!);
    const leftover = path.join(seriesCacheDir(root, '1.5'), '.e2.dcm.0123abcd.tmp');
    await writeFile(leftover, 'half an instance');
    await cache.pull('1.5', session, pacsSeries('1.5', ['e1', 'e2'], []));
    expect(existsSync(leftover)).toBe(false);
    expect((await readdir(pulled.dir)).sort()).toEqual(['e1.dcm', 'e2.dcm']);
    await cache.release();
  });
});
