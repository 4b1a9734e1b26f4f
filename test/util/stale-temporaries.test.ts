/**
 * What killed runs left of the lists of unreadable files goes only where nothing can still use it
 * (src/util/stale-temporaries.ts): a temporary naming a dead process of this host; one naming no
 * owner (an older lowdose's `.unreadable.tsv.<8 hex>.tmp`) once unmodified for
 * LOCK_HEARTBEAT_TIMEOUT_MS; an older lowdose's scratch folder in the temporary folder once old and
 * holding no file a process has open. A live process's, another host's, a fresh one and one held
 * open stay.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ERRORS_FILE, ErrorListFile, removeStaleErrorLists } from '../../src/util/error-list-file.js';
import { LOCK_HEARTBEAT_TIMEOUT_MS } from '../../src/util/folder-lock.js';
import { ownerTag } from '../../src/util/owner-tag.js';
import { removeStaleScratchFolders, removeStaleTemporaries, SCRATCH_PREFIX } from '../../src/util/stale-temporaries.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const root = mkdtempSync(path.join(tmpdir(), 'lowdose-stale-temporaries-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A pid that ran and is gone: a child that has exited. */
const gonePid = () => spawnSync(process.execPath, ['-e', '']).pid!;

/** `file` (made) last modified `ms` ago. */
function madeAgo(file: string, ms: number, folder = false): string {
  if (folder) mkdirSync(file, { recursive: true });
  else writeFileSync(file, 'path\tcode\tmessage\n');
  const at = (Date.now() - ms) / 1000;
  utimesSync(file, at, at);
  return file;
}

const OLD = LOCK_HEARTBEAT_TIMEOUT_MS + 60_000;

describe('stale temporaries of the lists of unreadable files', () => {
  it("beside unreadable.tsv: a dead process's and an owner-less one unmodified past the timeout go; a live process's, another host's, a fresh owner-less one and other files stay", async () => {
    const dir = path.join(root, 'out');
    mkdirSync(dir);
    const names = {
      dead: `.${ERRORS_FILE}.${ownerTag(gonePid())}.tmp`,
      // A host name with dots, as hostTag keeps them.
      deadDotted: `.${ERRORS_FILE}.${ownerTag(gonePid(), 'node-3.cluster.example')}.tmp`,
      live: `.${ERRORS_FILE}.${ownerTag()}.tmp`,
      otherHost: `.${ERRORS_FILE}.${ownerTag(1, 'another-host')}.tmp`,
      ownerlessOld: `.${ERRORS_FILE}.0a1b2c3d.tmp`,
      ownerlessFresh: `.${ERRORS_FILE}.4e5f6a7b.tmp`,
      otherFinal: '.report.json.0a1b2c3d.tmp',
    };
    for (const [key, name] of Object.entries(names)) madeAgo(path.join(dir, name), key === 'ownerlessFresh' ? 0 : OLD);
    // On this host (as a publish or a join does): this host's dead process's, and the old owner-less one.
    expect(await removeStaleErrorLists(dir)).toBe(2);
    expect(existsSync(path.join(dir, names.dead))).toBe(false);
    expect(existsSync(path.join(dir, names.ownerlessOld))).toBe(false);
    // As seen on host node-3.cluster.example: its dead process's.
    expect(await removeStaleTemporaries(dir, ERRORS_FILE, 'node-3.cluster.example')).toBe(1);
    expect(readdirSync(dir).sort()).toEqual([names.live, names.otherHost, names.ownerlessFresh, names.otherFinal].sort());
  });

  it("writeTo removes its target's temporaries a killed writer left (a dead owner, an old owner-less one), names its own by its owner and leaves none", async () => {
    const dir = path.join(root, 'jobs');
    mkdirSync(dir);
    const target = path.join(dir, '20261207120000-abcdef-00001.tsv');
    const dead = madeAgo(path.join(dir, `.${path.basename(target)}.${ownerTag(gonePid())}.tmp`), 0);
    const ownerless = madeAgo(path.join(dir, `.${path.basename(target)}.89abcdef.tmp`), OLD);
    const otherJob = madeAgo(path.join(dir, `.20261207120000-abcdef-00002.tsv.${ownerTag(gonePid())}.tmp`), 0);
    const list = ErrorListFile.open();
    try {
      list.add({ path: '/pull/1.dcm', code: 'E_TRUNCATED', message: 'cut short' });
      await list.writeTo(target);
    } finally {
      await list.discard();
    }
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(ownerless)).toBe(false);
    // Another target's temporary is that target's writer's to remove.
    expect(existsSync(otherJob)).toBe(true);
    expect(readdirSync(dir).sort()).toEqual([path.basename(otherJob), path.basename(target)].sort());
  });

  it("an older lowdose's scratch folders in the temporary folder: one old and held by no process goes; one a process holds open, a fresh one and other folders stay", async () => {
    const tmp = path.join(root, 'tmp');
    mkdirSync(tmp);
    const deadRun = madeAgo(path.join(tmp, `${SCRATCH_PREFIX}aB3dE9`), 0, true);
    writeFileSync(path.join(deadRun, ERRORS_FILE), 'path\tcode\tmessage\n');
    const liveRun = madeAgo(path.join(tmp, `${SCRATCH_PREFIX}Zz09Qq`), 0, true);
    const held = openSync(path.join(liveRun, ERRORS_FILE), 'w');
    const fresh = path.join(tmp, `${SCRATCH_PREFIX}fResH1`);
    mkdirSync(fresh);
    const other = madeAgo(path.join(tmp, 'lowdose-dimse'), 0, true);
    for (const folder of [deadRun, liveRun, other]) madeAgo(folder, OLD, true);
    try {
      expect(await removeStaleScratchFolders(tmp)).toBe(1);
      expect(existsSync(deadRun)).toBe(false);
      expect(existsSync(liveRun)).toBe(true);
      expect(existsSync(fresh)).toBe(true);
      expect(existsSync(other)).toBe(true);
    } finally {
      closeSync(held);
    }
    // Closed, the run's folder is no longer in use.
    expect(await removeStaleScratchFolders(tmp)).toBe(1);
    expect(existsSync(liveRun)).toBe(false);
  });

  it('a run that opens a list sweeps its temporary folder once, when the list is discarded', () => {
    const tmp = path.join(root, 'run-tmp');
    mkdirSync(tmp);
    const left = madeAgo(path.join(tmp, `${SCRATCH_PREFIX}k1LLed`), 0, true);
    writeFileSync(path.join(left, ERRORS_FILE), 'path\tcode\tmessage\n');
    madeAgo(left, OLD, true);
    const script = ["const { ErrorListFile } = await import('./src/util/error-list-file.ts');", 'await ErrorListFile.open().discard();'].join('\n');
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: REPO, env: { ...process.env, TMPDIR: tmp }, encoding: 'utf8' });
    expect(child.status, child.stderr).toBe(0);
    expect(existsSync(left)).toBe(false);
    // (tsx keeps its cache there too.)
    expect(readdirSync(tmp).filter((name) => name.startsWith(SCRATCH_PREFIX))).toEqual([]);
  });
});
