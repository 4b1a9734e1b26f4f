/// <reference lib="dom" />
/**
 * The viewer, in real headless Chromium (./harness.ts), says beside the series means that the
 * reference is another reconstruction kernel, and gives the whole W_KERNEL_MISMATCH messages in the
 * warning bar above the panes: the comparison API's `pairingWarnings` for a study found by its
 * headers alone (./../server/fixture-study.ts, the full-dose files relabelled B30f, the low-dose and
 * denoised D45f).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { relabelFiles } from '../helpers/mutate-dicom.js';
import { writeFixtureStudy } from '../server/fixture-study.js';
import { hasChromium, POLL, startViewer, type ViewerSession } from './harness.js';

if (!hasChromium) console.warn('viewer pairing warning tests skipped: /usr/bin/chromium not found');

describe.skipIf(!hasChromium)('pairing warnings in the viewer (headless Chromium)', () => {
  let root: string;
  let session: ViewerSession;

  beforeAll(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-e2e-pairing-warnings-'));
    const study = await writeFixtureStudy(path.join(root, 'data'), { size: 32, slices: 3, denoised: 'headers' });
    relabelFiles(study.fullDoseDir, 'x00181210', 'SH', 'B30f');
    for (const dir of [study.lowDoseDir, study.denoisedDir!]) relabelFiles(dir, 'x00181210', 'SH', 'D45f');
    session = await startViewer({ data: [study.root], root });
  }, 120_000);

  afterAll(async () => {
    await session?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('shows "reference is a different reconstruction kernel" beside the series means and both messages in the warning bar', async () => {
    const { page } = session;
    const comparison = session.studies.studies.flatMap((s) => s.comparisons)[0]!;
    await page.goto(`${session.url}/#c=${comparison.id}&i=1`);
    await page.waitForSelector(`body[data-view="c:${comparison.id}"]`);
    const caveat = page.locator('#series-header [data-testid="pairing-caveat"]');
    await expect.poll(async () => caveat.isVisible(), POLL).toBe(true);
    expect(await caveat.textContent()).toBe('⚠ Scores not like for like: reference is a different reconstruction kernel');
    const lines = await page.$$eval('#series-warnings [data-code="W_KERNEL_MISMATCH"]', (els) => els.map((e) => e.textContent));
    expect(lines).toEqual([
      expect.stringMatching(/^W_KERNEL_MISMATCH: the reference was reconstructed with kernel B30f and the low-dose with D45f: /),
      expect.stringMatching(/^W_KERNEL_MISMATCH: the reference was reconstructed with kernel B30f and the denoised with D45f: /),
    ]);
    expect(await page.isVisible('#series-warnings')).toBe(true);
    expect(session.pageErrors).toEqual([]);
  });
});
