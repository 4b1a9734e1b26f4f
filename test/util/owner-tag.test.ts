/**
 * Owner tags name the process that made a folder or marker (host, pid, start time), so a later
 * process can tell from the name whether its maker may still run: the server's PACS pull folders
 * and the claims of `denoise <URL>` runs on their pull folder rest on it.
 */
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LOCK_HEARTBEAT_MS, LOCK_HEARTBEAT_TIMEOUT_MS, lockPathFor, processStartTime } from '../../src/util/folder-lock.js';
import { entryOwnerMayRun, hostTag, lockedEntryOf, ownerTag, parseOwnerTag } from '../../src/util/owner-tag.js';
import { endedPid } from '../helpers/processes.js';

describe('owner tags', () => {
  it('name the host (file-name safe), the pid and its start time, and parse back', () => {
    const tag = ownerTag(process.pid, hostTag('ct-scanner 3/a'));
    const start = processStartTime(process.pid);
    expect(tag).toMatch(new RegExp(`^ct-scanner_3_a-${process.pid}-${start ?? 'x'}-[0-9a-f]{8}$`));
    expect(parseOwnerTag(tag)).toEqual({ host: 'ct-scanner_3_a', pid: process.pid, processStart: start });
    expect(parseOwnerTag('ws-1-2-x-0123abcd')).toEqual({ host: 'ws-1', pid: 2, processStart: null });
    expect(parseOwnerTag('0bbbf58522bf4a77')).toBeNull();
  });

  it('say a maker may run when it is this process or on another host, not when it ended or its pid was reused', async () => {
    const dead = await endedPid();
    // No entry is needed on this host (the tag says it all), nor for another host's without a lock.
    const parent = os.tmpdir();
    expect(await entryOwnerMayRun(parent, ownerTag())).toBe(true);
    expect(await entryOwnerMayRun(parent, ownerTag(dead))).toBe(false);
    expect(await entryOwnerMayRun(parent, ownerTag(dead, 'another-host'))).toBe(true);
    expect(await entryOwnerMayRun(parent, `${hostTag()}-${process.pid}-${processStartTime(process.pid)! + 1}-0123abcd`)).toBe(false);
    expect(await entryOwnerMayRun(parent, 'legacy-folder')).toBe(false);
  });

  it("judge another host's entry by the heartbeat of the lock beside it: fresh runs, stopped ended, none (an older lowdose) runs", async () => {
    const parent = mkdtempSync(path.join(os.tmpdir(), 'lowdose-owner-entry-'));
    try {
      const tag = ownerTag(4242, 'there.example-org');
      mkdirSync(path.join(parent, tag));
      expect(await entryOwnerMayRun(parent, tag)).toBe(true);
      writeFileSync(lockPathFor(path.join(parent, tag)), JSON.stringify({ pid: 4242, host: 'there.example.org', startedAt: 'then', processStart: 1, token: 'x', heartbeatMs: LOCK_HEARTBEAT_MS }));
      expect(await entryOwnerMayRun(parent, tag)).toBe(true);
      const old = new Date(Date.now() - LOCK_HEARTBEAT_TIMEOUT_MS - 60_000);
      utimesSync(lockPathFor(path.join(parent, tag)), old, old);
      expect(await entryOwnerMayRun(parent, tag)).toBe(false);
      // This host's entries stay judged by their pid; a name that is no tag has no owner.
      expect(await entryOwnerMayRun(parent, ownerTag(await endedPid()))).toBe(false);
      expect(await entryOwnerMayRun(parent, ownerTag())).toBe(true);
      expect(await entryOwnerMayRun(parent, 'legacy-folder')).toBe(false);
      expect(lockedEntryOf(`.${tag}.lock`)).toBe(tag);
      expect(lockedEntryOf(`.${tag}.lock.takeover`)).toBe(tag);
      expect(lockedEntryOf('.legacy.lock')).toBeNull();
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });
});
