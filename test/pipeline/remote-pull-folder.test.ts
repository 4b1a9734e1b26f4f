/**
 * Two `denoise <URL>` runs of one source pull into the same folder (util/pull-cache.ts). The first
 * to succeed must not remove it while the other still reads from it; the last one removes it; a
 * claim left by a run that was killed does not keep it. Real CT files (fixtures/water), the real
 * folder pipeline (gaussian), and a pull step that copies them as a PACS pull would write them.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { denoiseRemote, type PulledFolder, type RemoteSteps } from '../../src/pipeline/remote-denoise.js';
import type { DenoiseReport } from '../../src/pipeline/types.js';
import { ownerTag } from '../../src/util/owner-tag.js';
import { endedPid } from '../helpers/processes.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const FIXTURE = path.join(REPO, 'fixtures/water/dose25');
const root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-pull-folder-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

type Report = Pick<DenoiseReport, 'series' | 'errors'>;

/** The steps of a run of one source whose pull copies the fixture series into `pullDir` (then calls `afterPull`). */
function steps(pullDir: string, afterPull: () => Promise<void> = async () => {}): RemoteSteps<Report> {
  return {
    source: 'http://pacs/dicom-web/studies/1.2.3',
    pullDir,
    pull: async (): Promise<PulledFolder[]> => {
      const dir = path.join(pullDir, 'series-a');
      cpSync(FIXTURE, dir, { recursive: true });
      await afterPull();
      return [{ dir, url: 'http://pacs/dicom-web/studies/1.2.3/series/4.5.6' }];
    },
    report: (series, errors) => ({ series, ...errors }),
  };
}

describe('the pull folder of two runs of one source', () => {
  it('stays while another run still uses it, and the last run to finish removes it', async () => {
    const pullDir = path.join(root, 'shared');
    // Run B pulls, then waits before denoising until run A (which finds the files there) has finished.
    let pulled!: () => void;
    const bPulled = new Promise<void>((resolve) => (pulled = resolve));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const b = denoiseRemote(
      { outDir: path.join(root, 'out-b'), method: 'gaussian' },
      steps(pullDir, async () => {
        pulled();
        await gate;
      }),
    );
    await bPulled;

    const logA: string[] = [];
    const a = await denoiseRemote({ outDir: path.join(root, 'out-a'), method: 'gaussian', log: (m) => logA.push(m) }, steps(pullDir));
    expect(a.errors).toEqual([]);
    expect(a.series).toHaveLength(1);
    expect(existsSync(path.join(pullDir, 'series-a'))).toBe(true);
    expect(logA).toContain(`kept ${pullDir} for another run of this source that is still using it`);

    release();
    const done = await b;
    expect(done.errors).toEqual([]);
    expect(done.series.map((s) => s.output.files.length)).toEqual([a.series[0]!.output.files.length]);
    expect(existsSync(pullDir)).toBe(false);
  });

  it('is removed by a run that succeeds when the only other claim is a killed run\'s', async () => {
    const pullDir = path.join(root, 'left-behind');
    mkdirSync(path.join(pullDir, '.claims', ownerTag(await endedPid())), { recursive: true });
    const result = await denoiseRemote({ outDir: path.join(root, 'out-c'), method: 'gaussian' }, steps(pullDir));
    expect(result.errors).toEqual([]);
    expect(existsSync(pullDir)).toBe(false);
  });
});
