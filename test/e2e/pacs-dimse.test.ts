/// <reference lib="dom" />
/**
 * The PACS browser in real headless Chromium (./harness.ts) on `serve --dimse` against a real
 * Orthanc's DICOM port: the same dialog as with DICOMweb lists the studies (C-FIND), opens a
 * series (C-GET through the lowdose server) that shows the real
 * CT, and a denoise job with "Store the result in the PACS" stores the new series with C-STORE.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findOrthanc, ORTHANC_AET, seriesInStudy, startOrthanc, uploadCohort, type RunningOrthanc } from '../helpers/orthanc.js';
import { hasChromium, paneProbes, POLL, REPO, startViewer, type ViewerSession } from './harness.js';

const CT_DIR = path.resolve(REPO, '../shared/dicom/QIICR__dcmqi/data/segmentations/ct-3slice');
const installed = findOrthanc();
if (!hasChromium || !installed) console.warn('viewer DIMSE PACS test skipped: needs /usr/bin/chromium and Orthanc');

describe.skipIf(!hasChromium || !installed)('the PACS browser in the viewer on serve --dimse (headless Chromium, Orthanc)', () => {
  let root: string;
  let orthanc: RunningOrthanc;
  let session: ViewerSession;
  const study = { A: '', B: '', C: '' };

  beforeAll(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-e2e-pacs-dimse-'));
    orthanc = await startOrthanc(root, { dicomModalities: { lowdose: { aet: 'LOWDOSE', host: '127.0.0.1', port: 9 } } });
    const originals = readdirSync(CT_DIR).filter((f) => f.endsWith('.dcm')).sort().map((f) => new Uint8Array(readFileSync(path.join(CT_DIR, f))));
    Object.assign(study, await uploadCohort(orthanc, originals, 51));
    const empty = path.join(root, 'data');
    mkdirSync(empty);
    session = await startViewer({ data: [empty], root, dimse: { peer: { aet: ORTHANC_AET, host: '127.0.0.1', port: orthanc.dicomPort }, options: { callingAet: 'LOWDOSE', timeoutMs: 20_000 } } });
  }, 90_000);

  afterAll(async () => {
    await session?.close();
    await orthanc?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('lists the studies (C-FIND), opens a series with C-GET and stores a denoised series back with C-STORE', async () => {
    const { page } = session;
    const probes = paneProbes(page);
    await page.goto(session.url);
    await page.waitForSelector('#pacs-dialog[open] #pacs-studies tbody tr');
    expect(await page.textContent('#pacs-server')).toBe(`dimse://${ORTHANC_AET}@127.0.0.1:${orthanc.dicomPort}`);
    const rows = () => page.$$eval('#pacs-studies tbody tr', (trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td'), (td) => td.textContent ?? '')));
    expect((await rows()).map((r) => [r[1], r[2]])).toEqual([
      ['99017', '2019-03-05'],
      [expect.any(String), '2003-04-17'],
      [expect.any(String), '2003-04-17'],
    ]);
    await expect.poll(() => page.textContent('#pacs-status'), POLL).toBe('3 studies. Click one for its series.');

    await page.fill('#pacs-patient', '99000');
    await page.click('#pacs-search-button');
    await expect.poll(async () => (await rows()).map((r) => r[1]), POLL).toEqual(['99000']);
    await page.click(`#pacs-studies tr[data-study="${study.A}"]`);
    await page.waitForSelector('#pacs-series:not([hidden]) tbody tr');
    await page.click('#pacs-series button[data-open]');
    await page.waitForSelector('body[data-view^="s:"]', { timeout: 30_000 });
    await probes.expectRealPixels('lowDose');
    expect(await page.textContent('#slice-label')).toMatch(/ \/ 3$/);

    await page.click('#denoise-button');
    await page.waitForSelector('#denoise-dialog[open]');
    await page.selectOption('#denoise-method', 'gaussian');
    await page.check('#denoise-store');
    await page.click('#denoise-start');
    await page.waitForSelector('body[data-view^="c:"]', { timeout: 30_000 });
    await expect.poll(() => page.textContent('#toast'), POLL).toMatch(/stored 1 series \(3 images\) in the PACS/);
    expect((await seriesInStudy(orthanc, study.A)).length).toBe(2);
    expect(session.pageErrors).toEqual([]);
  });
});
