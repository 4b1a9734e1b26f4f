/// <reference lib="dom" />
/**
 * The output of a PACS run in real headless Chromium (./harness.ts) against a real Orthanc: `serve
 * --data <out> --dicomweb <the same PACS>` holds the denoised series but not its low-dose source
 * (the run removed its pull folder). The series list says the source is on the PACS; the viewer,
 * opening the denoised series (the first series, with no comparison), retrieves the source through
 * the PACS and shows the comparison of the two, asking the server nothing more of the series before
 * (the list says where its source is); with a list older than the server's index it opens what the
 * server has now.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ComparisonDetail, StudiesResponse } from '../../src/server/api-types.js';
import { runCli } from '../helpers/cli.js';
import { findOrthanc, startOrthanc, type RunningOrthanc } from '../helpers/orthanc.js';
import { hasChromium, POLL, REPO, startViewer, type ViewerSession } from './harness.js';

const CT_DIR = path.resolve(REPO, '../shared/dicom/QIICR__dcmqi/data/segmentations/ct-3slice');
const CT_STUDY = '1.2.392.200103.20080913.113635.0.2009.6.22.21.43.10.22941.1';
const installed = findOrthanc();
if (!hasChromium || !installed) console.warn('viewer PACS low-dose source test skipped: needs /usr/bin/chromium and Orthanc with its DICOMweb plugin');

describe.skipIf(!hasChromium || !installed)('the viewer on a PACS run\'s output (headless Chromium, Orthanc)', () => {
  let root: string;
  let orthanc: RunningOrthanc;
  let session: ViewerSession;
  const savedTmp = process.env.TMPDIR;

  beforeAll(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-e2e-pacs-source-'));
    process.env.TMPDIR = root; // the run's pull folder goes under the test's folder
    orthanc = await startOrthanc(root);
    for (const file of readdirSync(CT_DIR).filter((f) => f.endsWith('.dcm'))) {
      expect((await orthanc.rest('/instances', { method: 'POST', body: readFileSync(path.join(CT_DIR, file)) })).ok).toBe(true);
    }
    const out = path.join(root, 'out');
    const auth = `basic:${orthanc.user}:${orthanc.password}`;
    const run = await runCli('denoise', `${orthanc.dicomweb}/studies/${CT_STUDY}`, '-o', out, '--method', 'gaussian', '--dicomweb-auth', auth, '--no-progress', '--json');
    expect(run.code, run.stderr).toBe(0);
    session = await startViewer({ data: [out], root, dicomweb: { base: orthanc.dicomweb, client: { auth, retries: 0 } } });
  }, 120_000);

  afterAll(async () => {
    if (savedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmp;
    await session?.close();
    await orthanc?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('lists the denoised series with its source on the PACS, then opens it with that source retrieved: the comparison of the two', async () => {
    const { page, app } = session;
    const denoised = session.studies.studies.flatMap((s) => s.series).filter((s) => s.role === 'denoised');
    expect(denoised).toHaveLength(1);
    expect(session.studies.studies.flatMap((s) => s.comparisons)).toEqual([]);
    const id = denoised[0]!.id;
    // The retrieve is held until the list has been read: the list then still shows the unopened source.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let opens = 0;
    await page.route('**/api/series/*/low-dose-source/open', async (route) => {
      opens += 1;
      await held;
      await route.continue();
    });
    // The series list already says where the source is: the viewer asks the server no more before it opens it.
    const asked: string[] = [];
    const listen = (request: { method(): string; url(): string }) => void asked.push(`${request.method()} ${new URL(request.url()).pathname}`);
    page.on('request', listen);
    await page.goto(session.url);
    await expect.poll(() => opens, POLL).toBe(1);
    page.off('request', listen);
    expect(asked).toContain(`POST /api/series/${id}/low-dose-source/open`);
    expect(asked).not.toContain(`GET /api/series/${id}`);
    const entry = await page.$eval(`#view-select option[value="s:${id}"]`, (o) => ({ text: o.textContent ?? '', title: (o as HTMLOptionElement).title }));
    expect(entry.text).toMatch(/^Series: .* \(denoised, 3 slices\) · source on PACS$/);
    expect(entry.title).toContain(`low-dose source: ${orthanc.dicomweb}/studies/${CT_STUDY}/series/`);
    release();

    await page.waitForFunction(() => document.body.dataset.view?.startsWith('c:'), undefined, POLL);
    const view = await page.evaluate(() => document.body.dataset.view!);
    const comparison = (await app.inject({ url: `/api/comparisons/${view.slice(2)}` })).json<ComparisonDetail>();
    expect(comparison.denoised).toBe(id);
    const studies = (await app.inject({ url: '/api/studies' })).json<StudiesResponse>();
    const lowDose = studies.studies.flatMap((s) => s.series).find((s) => s.id === comparison.lowDose)!;
    expect(lowDose.role).not.toBe('denoised');
    // Paired now: the list holds the comparison, and the denoised series no longer names a source.
    await expect.poll(() => page.$eval('#view-select', (s) => (s as HTMLSelectElement).value), POLL).toBe(view);
    expect(await page.$eval(`#view-select option[value="s:${id}"]`, (o) => o.textContent ?? '')).not.toContain('source on PACS');
    expect(opens).toBe(1);
    expect(session.pageErrors).toEqual([]);
  });

  it('with a series list read before the source was opened elsewhere, opens the comparison the server has now', async () => {
    const { page, app } = session;
    // The list as it was before the first test opened the source: it still names the source as openable.
    const stale = session.studies;
    const id = stale.studies.flatMap((s) => s.series).find((s) => s.role === 'denoised')!.id;
    expect(stale.studies.flatMap((s) => s.series).find((s) => s.id === id)!.lowDoseSource?.openable).toBe(true);
    // Opened elsewhere (by the test above, else here): the server now pairs the two.
    const pairedNow = async () => (await app.inject({ url: '/api/studies' })).json<StudiesResponse>().studies.flatMap((s) => s.comparisons).find((c) => c.denoised === id)?.id;
    if ((await pairedNow()) === undefined) expect((await app.inject({ method: 'POST', url: `/api/series/${id}/low-dose-source/open` })).statusCode).toBe(200);
    const paired = (await pairedNow())!;
    expect(paired).toBeDefined();
    let served = 0;
    await page.route('**/api/studies', async (route) => {
      if (served++ === 0) await route.fulfill({ json: stale });
      else await route.continue();
    });
    await page.goto(`${session.url}/`);
    await page.waitForFunction((view) => document.body.dataset.view === view, `c:${paired}`, POLL);
    expect(served).toBeGreaterThanOrEqual(2);
    await page.unroute('**/api/studies');
    expect(session.pageErrors).toEqual([]);
  });
});
