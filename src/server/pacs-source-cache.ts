/**
 * The PACS series `serve` has pulled, kept across server sessions in `<work>/pacs-cache/`, so that
 * opening a series again (the low-dose source of another PACS run's output, the same source after a
 * restart, a series opened from the PACS browser again) asks the PACS only for its instance list
 * and retrieves none of the instances already here.
 *
 * Layout: `<work>/pacs-cache/<hash of the PACS address>/<hash of the SeriesInstanceUID>/<SOPInstanceUID>.dcm`
 * (../util/pull-cache.ts seriesCacheDir): keyed by PACS and series. Each open lists the series'
 * instances on the PACS first and removes the cached files it no longer lists (removeUnlisted), so
 * an instance deleted or replaced under another UID is not shown; the instances listed and not here
 * are retrieved. Each file is then hard-linked (copied where links cannot be made) into the server
 * session's own pull folder (./pull-sessions.ts), which the data index reads and which goes when the
 * session ends, as before: what is evicted from the cache stays readable for the session using it.
 *
 * Bounded on disk: after each open the least recently opened series are removed until the cache
 * holds at most `maxBytes` (the series just opened always stays). One server at a time uses the
 * cache (the lock `<work>/.pacs-cache.lock`, ../util/folder-lock.ts, held from its first open of the
 * cache until it closes): a second server on the same work folder pulls into its session folder
 * only, as without a cache, while the first runs, and takes the cache up at its first open after
 * that server has ended (each open tries the lock again: one exclusive create and a read of the
 * lock file while another server holds it). Temporaries
 * a killed pull left in a series' folder are removed before it is pulled again (../util/fs.ts
 * removeTemporaries: the lock says no other process writes there).
 */
import { createHash } from 'node:crypto';
import { copyFile, link, readdir, rm, stat, unlink, utimes } from 'node:fs/promises';
import path from 'node:path';
import type { PulledSeries } from '../dicomweb/study.js';
import { LowdoseError } from '../errors.js';
import { acquireFolderLock, type FolderLock } from '../util/folder-lock.js';
import { makeOutputFolder, removeTemporaries } from '../util/fs.js';
import { instancesOnDisk, seriesCacheDir } from '../util/pull-cache.js';

const hash16 = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 16);

/** Pulls one series into a folder (PacsSource.pull with its UIDs bound). */
export type PullInto = (root: string) => Promise<PulledSeries>;

export class PulledSourceCache {
  /** This server's hold on the cache; null while another server holds it. */
  private lock: FolderLock | null = null;
  /** A try to take the lock under way: opens at once share it. */
  private taking: Promise<FolderLock | null> | null = null;
  /** Whether the log has said since the cache was last held that another server holds it. */
  private toldInUse = false;
  private released = false;

  private constructor(
    /** This PACS's folder in the cache: the root the series are pulled into. */
    private readonly root: string,
    private readonly cacheDir: string,
    private readonly maxBytes: number,
    private readonly log: (message: string) => void,
  ) {}

  /**
   * The cache of `address` under `cacheDir`, its lock taken when no other live server holds it
   * (else `log` says so, and each open tries again: `held` says which).
   */
  static async open(cacheDir: string, address: string, maxBytes: number, log: (message: string) => void): Promise<PulledSourceCache> {
    const cache = new PulledSourceCache(path.join(cacheDir, hash16(address.replace(/\/+$/, ''))), cacheDir, maxBytes, log);
    await cache.take();
    return cache;
  }

  /** Whether this server holds the cache now (another server on the work folder may). */
  get held(): boolean {
    return this.lock !== null;
  }

  /** The lock, taken now where no other live server holds it; null while one does. */
  private take(): Promise<FolderLock | null> {
    if (this.lock || this.released) return Promise.resolve(this.lock);
    this.taking ??= this.tryLock().finally(() => (this.taking = null));
    return this.taking;
  }

  private async tryLock(): Promise<FolderLock | null> {
    try {
      const lock = await acquireFolderLock(this.cacheDir, { log: this.log });
      await makeOutputFolder(this.root);
      if (this.toldInUse) this.log(`the PACS cache ${this.cacheDir} is this server's now: the server that held it has ended`);
      this.toldInUse = false;
      this.lock = lock;
      return lock;
    } catch (error) {
      if (!(error instanceof LowdoseError) || error.code !== 'E_LOCKED') throw error;
      if (!this.toldInUse) this.log(`the PACS cache ${this.cacheDir} is in use by another server on this work folder: this server pulls each series it opens anew until that server ends (${error.message})`);
      this.toldInUse = true;
      return null;
    }
  }

  /**
   * Pulls series `seriesInstanceUid` into the cache (only what the cache lacks; `pull` lists the
   * series first), links its files into `sessionRoot`'s folder of the series, and answers what was
   * pulled with `dir` that session folder. While another server holds the cache, pulls into
   * `sessionRoot` alone, as without a cache.
   */
  async pull(seriesInstanceUid: string, sessionRoot: string, pull: PullInto): Promise<PulledSeries> {
    const lock = await this.take();
    if (!lock) return pull(sessionRoot);
    try {
      await lock.assertHeld();
    } catch (error) {
      if (!(error instanceof LowdoseError) || error.code !== 'E_LOCKED') throw error;
      // Another server judged this one dead and took the cache over: this one goes without, as a second server does.
      this.lock = null;
      await lock.release();
      this.log(`the PACS cache ${this.cacheDir} was taken over by another server: this server pulls each series it opens anew until that server ends (${error.message})`);
      this.toldInUse = true;
      return pull(sessionRoot);
    }
    const cached = seriesCacheDir(this.root, seriesInstanceUid);
    // This server holds the cache's lock and one pull per series runs at a time (PacsService.open): a temporary here is a killed pull's.
    await removeTemporaries(cached, (final) => final.endsWith('.dcm'));
    const pulled = await pull(this.root);
    const now = new Date();
    await utimes(cached, now, now);
    const dir = seriesCacheDir(sessionRoot, seriesInstanceUid);
    await linkInstances(cached, dir);
    await this.evict(cached);
    return { ...pulled, dir };
  }

  /** Releases the cache's lock (where this server holds it) and tries it no more; the series stay for the next server. */
  async release(): Promise<void> {
    this.released = true;
    await this.taking;
    await this.lock?.release();
    this.lock = null;
  }

  /** Removes the least recently opened series until the cache holds at most maxBytes; `keep` stays. */
  private async evict(keep: string): Promise<void> {
    const entries: Array<{ dir: string; bytes: number; used: number }> = [];
    for (const pacs of await readdir(this.cacheDir, { withFileTypes: true })) {
      if (!pacs.isDirectory()) continue;
      for (const series of await readdir(path.join(this.cacheDir, pacs.name), { withFileTypes: true })) {
        if (!series.isDirectory()) continue;
        const dir = path.join(this.cacheDir, pacs.name, series.name);
        const info = await stat(dir).catch(() => null);
        if (info) entries.push({ dir, bytes: await folderBytes(dir), used: info.mtimeMs });
      }
    }
    let total = entries.reduce((sum, e) => sum + e.bytes, 0);
    for (const entry of entries.filter((e) => e.dir !== keep).sort((a, b) => a.used - b.used)) {
      if (total <= this.maxBytes) break;
      await rm(entry.dir, { recursive: true, force: true });
      total -= entry.bytes;
    }
  }
}

/** The bytes of the files directly in `dir`. */
async function folderBytes(dir: string): Promise<number> {
  let bytes = 0;
  for (const name of await readdir(dir).catch(() => [] as string[])) bytes += (await stat(path.join(dir, name)).catch(() => null))?.size ?? 0;
  return bytes;
}

/**
 * Makes `to` hold exactly the instance files of `from`: each linked (copied where the file system
 * cannot link), those `from` no longer has removed.
 */
async function linkInstances(from: string, to: string): Promise<void> {
  await makeOutputFolder(to);
  const wanted = await instancesOnDisk(from);
  const present = await instancesOnDisk(to);
  for (const uid of present) if (!wanted.has(uid)) await unlink(path.join(to, `${uid}.dcm`)).catch(() => {});
  for (const uid of wanted) {
    const source = path.join(from, `${uid}.dcm`);
    const target = path.join(to, `${uid}.dcm`);
    if (present.has(uid)) {
      const [a, b] = await Promise.all([stat(source), stat(target)]);
      if (a.ino === b.ino && a.dev === b.dev) continue;
      await unlink(target);
    }
    await link(source, target).catch(() => copyFile(source, target));
  }
}
