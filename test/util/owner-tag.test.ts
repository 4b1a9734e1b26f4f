/**
 * Owner tags name the process that made a folder or marker (host, pid, start time), so a later
 * process can tell from the name whether its maker may still run: the server's PACS pull folders
 * and the claims of `denoise <URL>` runs on their pull folder rest on it.
 */
import { describe, expect, it } from 'vitest';
import { processStartTime } from '../../src/util/folder-lock.js';
import { hostTag, ownerMayRun, ownerTag, parseOwnerTag } from '../../src/util/owner-tag.js';
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
    expect(ownerMayRun(ownerTag())).toBe(true);
    expect(ownerMayRun(ownerTag(dead))).toBe(false);
    expect(ownerMayRun(ownerTag(dead, 'another-host'))).toBe(true);
    expect(ownerMayRun(`${hostTag()}-${process.pid}-${processStartTime(process.pid)! + 1}-0123abcd`)).toBe(false);
    expect(ownerMayRun('legacy-folder')).toBe(false);
  });
});
