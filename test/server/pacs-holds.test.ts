/**
 * Which series may be stored back: only files in the PACS pull folder, reached by its path or its
 * real path. And a pull folder lasts one server session: a starting server removes those of
 * sessions that have ended (another host's: its lock's heartbeat stopped) and keeps those of
 * servers still running on the same work folder.
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/server/app.js';
import { PacsService } from '../../src/server/pacs.js';
import { DicomwebSource } from '../../src/server/pacs-dicomweb.js';
import { clearEndedPullSessions } from '../../src/server/pull-sessions.js';
import { LOCK_HEARTBEAT_MS, LOCK_HEARTBEAT_TIMEOUT_MS, lockPathFor, processStartTime } from '../../src/util/folder-lock.js';
import { hostTag, ownerTag } from '../../src/util/owner-tag.js';
import { endedPid } from '../helpers/processes.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-pacs-holds-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('PacsService.holds', () => {
  it('accepts files under the pull folder by either path, and refuses files elsewhere or none', async () => {
    const real = path.join(root, 'real-work');
    mkdirSync(path.join(real, 'pacs', 'abc'), { recursive: true });
    symlinkSync(real, path.join(root, 'link-work'));
    const pacs = new PacsService({ source: new DicomwebSource('http://127.0.0.1:1/dicom-web'), pullDir: path.join(root, 'link-work', 'pacs') });
    try {
      expect(pacs.holds([path.join(root, 'link-work', 'pacs', 'abc', '1.dcm')])).toBe(true);
      expect(pacs.holds([path.join(real, 'pacs', 'abc', '1.dcm')])).toBe(true);
      expect(pacs.holds([path.join(real, 'pacs', 'abc', '1.dcm'), path.join(real, 'uploads', '2.dcm')])).toBe(false);
      expect(pacs.holds([path.join(real, 'pacs-other', '1.dcm')])).toBe(false);
      expect(pacs.holds([])).toBe(false);
    } finally {
      await pacs.close();
    }
  });
});

describe('the pull folders', () => {
  it('a starting server removes those of ended sessions, before the index reads the work folder, and keeps a running server\'s; uploads and jobs stay', async () => {
    const work = path.join(root, 'work-restart');
    const body = path.join(REPO, 'fixtures/body');
    // What servers on this work folder left: a series pulled by a session whose process has
    // ended, one in the old one-folder layout, one pulled by a server that still runs (this
    // process), an upload and a job output (all real CT files).
    const ended = ownerTag(await endedPid());
    const running = ownerTag();
    cpSync(path.join(body, 'dose25'), path.join(work, 'pacs', ended, 'series-a'), { recursive: true });
    cpSync(path.join(body, 'dose25'), path.join(work, 'pacs', 'series-old-layout'), { recursive: true });
    cpSync(path.join(body, 'dose25'), path.join(work, 'pacs', running, 'series-b'), { recursive: true });
    cpSync(path.join(body, 'dose10'), path.join(work, 'uploads', 'u1'), { recursive: true });
    cpSync(path.join(body, 'dose100'), path.join(work, 'jobs', 'j1'), { recursive: true });
    const empty = path.join(root, 'no-data');
    mkdirSync(empty);
    const app = await buildApp({ data: [empty], workDir: work, viewerDir: null });
    try {
      // Besides the running server's folder, this server's lock (its heartbeat) only.
      expect(readdirSync(path.join(work, 'pacs')).filter((name) => !name.endsWith('.lock'))).toEqual([running]);
      expect(readdirSync(path.join(work, 'pacs')).filter((name) => name.endsWith('.lock'))).toHaveLength(1);
      // The running server's pulls are its own: this server does not list them.
      const studies = (await app.inject({ url: '/api/studies' })).json<{ studies: Array<{ series: Array<{ description: string }> }> }>().studies;
      const descriptions = studies.flatMap((s) => s.series.map((x) => x.description)).sort();
      expect(descriptions).toEqual(['BODY phantom seed 13 arterial simulated 10% dose', 'BODY phantom seed 13 arterial simulated full dose']);
    } finally {
      await app.close();
    }
    expect(readdirSync(path.join(work, 'pacs'))).toEqual([running]);
  });

  it("clearEndedPullSessions removes another host's session whose lock heartbeat stopped, with its lock, and keeps one whose heartbeat is fresh", async () => {
    const pull = path.join(root, 'pull-heartbeat');
    const stopped = ownerTag(4242, 'there.example-org');
    const beating = ownerTag(4243, 'there.example-org');
    const lockOf = (tag: string, pid: number) => {
      mkdirSync(path.join(pull, tag), { recursive: true });
      writeFileSync(lockPathFor(path.join(pull, tag)), JSON.stringify({ pid, host: 'there.example.org', startedAt: 'then', processStart: 1, token: tag, heartbeatMs: LOCK_HEARTBEAT_MS }));
      return lockPathFor(path.join(pull, tag));
    };
    const old = new Date(Date.now() - LOCK_HEARTBEAT_TIMEOUT_MS - 60_000);
    utimesSync(lockOf(stopped, 4242), old, old);
    lockOf(beating, 4243);
    expect(await clearEndedPullSessions(pull)).toBe(1);
    expect(readdirSync(pull).sort()).toEqual([`.${beating}.lock`, beating].sort());
  });

  it('clearEndedPullSessions keeps folders of running processes and of other hosts, and accepts a root that does not exist', async () => {
    const pull = path.join(root, 'pull-only');
    const dead = await endedPid();
    const names = {
      live: ownerTag(),
      elsewhere: ownerTag(dead, 'there.example-org'),
      dead: ownerTag(dead),
      // This process's pid with another start time: the pid was reused, the session has ended.
      reused: `${hostTag()}-${process.pid}-${processStartTime(process.pid)! + 1}-0123abcd`,
    };
    for (const name of [...Object.values(names), 'legacy']) mkdirSync(path.join(pull, name), { recursive: true });
    expect(await clearEndedPullSessions(pull)).toBe(3);
    expect(readdirSync(pull).sort()).toEqual([names.live, names.elsewhere].sort());
    expect(await clearEndedPullSessions(path.join(root, 'never-made'))).toBe(0);
  });
});
