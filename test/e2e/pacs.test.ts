/// <reference lib="dom" />
/**
 * The PACS browser in real headless Chromium (./harness.ts) against a real Orthanc
 * (test/helpers/orthanc.ts): with nothing local, the viewer opens the DICOMweb server's study list;
 * a patient-ID search, a study's series, Open (WADO-RS through the lowdose server) shows the real CT,
 * and a denoise job with "Store the result in the PACS" ends in the comparison while Orthanc holds
 * the new series; an instance it cannot read is named in a toast. The page never sees the credentials.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/server/app.js';
import { startProxy } from '../helpers/http-proxy.js';
import { findOrthanc, startOrthanc, uploadWithUnreadableInstance, type RunningOrthanc } from '../helpers/orthanc.js';
import { hasChromium, paneProbes, POLL, REPO, startViewer, type ViewerSession } from './harness.js';

const CT_DIR = path.resolve(REPO, '../shared/dicom/QIICR__dcmqi/data/segmentations/ct-3slice');
const PET_FILE = path.resolve(REPO, '../shared/dicom/suyashkumar__dicom/testdata/1.dcm');
const CT_STUDY = '1.2.392.200103.20080913.113635.0.2009.6.22.21.43.10.22941.1';
const installed = findOrthanc();
if (!hasChromium || !installed) console.warn('viewer PACS test skipped: needs /usr/bin/chromium and Orthanc with its DICOMweb plugin');

describe.skipIf(!hasChromium || !installed)('the PACS browser in the viewer (headless Chromium, Orthanc)', () => {
  let root: string;
  let orthanc: RunningOrthanc;
  let session: ViewerSession;
  /** Every response body the page received. */
  const bodies: string[] = [];

  beforeAll(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-e2e-pacs-'));
    orthanc = await startOrthanc(root);
    for (const file of [...readdirSync(CT_DIR).map((f) => path.join(CT_DIR, f)), PET_FILE]) {
      expect((await orthanc.rest('/instances', { method: 'POST', body: readFileSync(file) })).ok).toBe(true);
    }
    const empty = path.join(root, 'data');
    mkdirSync(empty);
    session = await startViewer({
      data: [empty],
      root,
      dicomweb: { base: orthanc.dicomweb, client: { auth: `basic:${orthanc.user}:${orthanc.password}`, retries: 0 } },
    });
    session.page.on('response', (response) => {
      if (response.url().includes('/api/')) void response.text().then((text) => bodies.push(text, JSON.stringify(response.headers())), () => {});
    });
  }, 90_000);

  afterAll(async () => {
    await session?.close();
    await orthanc?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('browses the study list, searches by patient ID, opens a series and denoises it with store-back to Orthanc', async () => {
    const { page } = session;
    const probes = paneProbes(page);
    await page.goto(session.url);
    // Nothing local: the PACS browser opens with the server's studies, newest first.
    await page.waitForSelector('#pacs-dialog[open] #pacs-studies tbody tr');
    expect(await page.isVisible('#pacs-button')).toBe(true);
    const rows = () => page.$$eval('#pacs-studies tbody tr', (trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td'), (td) => td.textContent ?? '')));
    expect(await rows()).toEqual([
      ['JANCT000', '99000', '2003-04-17', '03086212', '', 'CT', '1'],
      ['ACRIN-FLT-Breast_029', 'ACRIN-FLT-Breast_029', '1960-06-14', '', 'PET-CT STUDY', 'PT', '1'],
    ]);
    // Every match is listed: the status line says no more than the count.
    await expect.poll(() => page.textContent('#pacs-status'), POLL).toBe('2 studies. Click one for its series.');

    await page.fill('#pacs-patient', '99000');
    await page.click('#pacs-search-button');
    await expect.poll(async () => (await rows()).length, POLL).toBe(1);
    await page.fill('#pacs-patient', '');
    await page.fill('#pacs-accession', '03086212');
    await page.click('#pacs-search-button');
    await expect.poll(async () => (await rows()).map((r) => r[1]), POLL).toEqual(['99000']);
    await page.fill('#pacs-accession', '');
    await page.fill('#pacs-from', '1950-01-01');
    await page.fill('#pacs-to', '1970-12-31');
    await page.click('#pacs-search-button');
    await expect.poll(async () => (await rows()).map((r) => r[1]), POLL).toEqual(['ACRIN-FLT-Breast_029']);
    await page.fill('#pacs-from', '');
    await page.fill('#pacs-to', '');
    await page.fill('#pacs-patient', '99000');
    await page.click('#pacs-search-button');
    await expect.poll(async () => (await rows()).map((r) => r[1]), POLL).toEqual(['99000']);

    await page.click(`#pacs-studies tr[data-study="${CT_STUDY}"]`);
    await page.waitForSelector('#pacs-series:not([hidden]) tbody tr');
    expect(await page.$$eval('#pacs-series tbody tr td', (tds) => tds.slice(1, 4).map((td) => td.textContent))).toEqual(['CT', expect.any(String), '3']);
    await page.click('#pacs-series button[data-open]');
    await page.waitForSelector('body[data-view^="s:"]', { timeout: 30_000 });
    expect(await page.isVisible('#pacs-dialog')).toBe(false);
    expect(await page.isVisible('#empty')).toBe(false);
    await probes.expectRealPixels('lowDose');
    expect(await page.textContent('#slice-label')).toMatch(/ \/ 3$/);
    // A whole series: no shortfall warning in the status bar.
    expect(await page.isVisible('#series-incomplete')).toBe(false);

    await page.click('#denoise-button');
    await page.waitForSelector('#denoise-dialog[open]');
    expect(await page.isVisible('#denoise-store')).toBe(true);
    await page.selectOption('#denoise-method', 'gaussian');
    await page.check('#denoise-store');
    const posted = page.waitForRequest((request) => request.url().endsWith('/api/jobs') && request.method() === 'POST');
    await page.click('#denoise-start');
    expect((await posted).postDataJSON()).toMatchObject({ options: { method: 'gaussian' }, store: true });
    await page.waitForSelector('body[data-view^="c:"]', { timeout: 30_000 });
    await expect.poll(() => page.textContent('#toast'), POLL).toMatch(/stored 1 series \(3 images\) in the PACS/);
    for (const key of await probes.paneKeys()) await probes.expectRealPixels(key);

    // Orthanc now holds the derived series in the study, 3 instances.
    const series = (await (
      await orthanc.rest('/tools/find', { method: 'POST', body: Buffer.from(JSON.stringify({ Level: 'Series', Query: { StudyInstanceUID: CT_STUDY }, Expand: true })) })
    ).json()) as Array<{ Instances: string[]; MainDicomTags: { SeriesDescription?: string } }>;
    expect(series.map((s) => s.Instances.length).sort()).toEqual([3, 3]);

    // The page never received the credentials.
    expect(bodies.length).toBeGreaterThan(5);
    for (const body of bodies) {
      expect(body).not.toContain(orthanc.password);
      expect(body).not.toContain(Buffer.from(`${orthanc.user}:${orthanc.password}`).toString('base64'));
    }
    expect(session.pageErrors).toEqual([]);
  });

  it('says which instance could not be read when an opened series has one (an error toast naming its SOP Instance UID)', async () => {
    const { page } = session;
    const originals = [1, 2, 3].map((n) => new Uint8Array(readFileSync(path.join(CT_DIR, `0${n}.dcm`))));
    const { study, series, unreadableSop: bad } = await uploadWithUnreadableInstance(orthanc, originals);
    await page.click('#pacs-button');
    await page.waitForSelector('#pacs-dialog[open]');
    await page.fill('#pacs-patient', '99000');
    await page.click('#pacs-search-button');
    await page.click(`#pacs-studies tr[data-study="${study}"]`);
    await page.waitForSelector('#pacs-series:not([hidden]) tbody tr');
    await page.click('#pacs-series button[data-open]');
    await expect.poll(() => page.textContent('#slice-label'), POLL).toMatch(/ \/ 2$/);
    await expect.poll(() => page.textContent('#toast'), POLL).toContain(`1 of 3 image(s) could not be read and are left out: instance ${bad} of ${orthanc.dicomweb}/studies/${study}/series/${series}: `);
    expect(session.pageErrors).toEqual([]);
  });

  it('warns in the status bar while a series the PACS gave short of its instances is shown (2 of 3); a denoise job on it is refused with the reason unless "Denoise the incomplete series as it came" is ticked', async () => {
    // The same Orthanc behind a proxy that caps QIDO-RS instance lists at 2 and refuses offset.
    const proxy = await startProxy(orthanc.http);
    proxy.rewrite = (method, url) => (method === 'GET' && /\/instances(\?|$)/.test(url) ? `${url}${url.includes('?') ? '&' : '?'}limit=2` : url);
    proxy.fail = (method, url) => (method === 'GET' && /[?&]offset=/.test(url) ? 400 : false);
    const capped = await buildApp({
      data: [path.join(root, 'data')],
      workDir: path.join(root, 'work-capped'),
      viewerDir: path.join(root, 'viewer'),
      dicomweb: { base: `${proxy.base}/dicom-web`, client: { auth: `basic:${orthanc.user}:${orthanc.password}`, retries: 0 } },
    });
    try {
      const found = (await (
        await orthanc.rest('/tools/find', { method: 'POST', body: Buffer.from(JSON.stringify({ Level: 'Series', Query: { StudyInstanceUID: CT_STUDY }, Expand: true })) })
      ).json()) as Array<{ MainDicomTags: { SeriesInstanceUID: string; SeriesDescription?: string } }>;
      const source = found.find((s) => !(s.MainDicomTags.SeriesDescription ?? '').includes('lowdose'))!.MainDicomTags.SeriesInstanceUID;
      const { page } = session;
      await page.goto(await capped.listen({ host: '127.0.0.1', port: 0 }));
      await page.waitForSelector('#pacs-dialog[open] #pacs-studies tbody tr');
      await page.click(`#pacs-studies tr[data-study="${CT_STUDY}"]`);
      await page.waitForSelector(`#pacs-series:not([hidden]) tr[data-series="${source}"]`);
      await page.click(`#pacs-series tr[data-series="${source}"] button[data-open]`);
      await expect.poll(() => page.textContent('#slice-label'), POLL).toMatch(/ \/ 2$/);
      expect(await page.isVisible('#series-incomplete')).toBe(true);
      expect(await page.textContent('#series-incomplete')).toBe('Incomplete series: 2 of the 3 images the PACS holds (1 missing).');

      // A denoise job on it is refused, and the toast says why and what denoises it all the same.
      const denoise = async (allowIncomplete: boolean) => {
        await page.click('#denoise-button');
        await page.waitForSelector('#denoise-dialog[open]');
        expect(await page.isVisible('#denoise-allow-incomplete')).toBe(true);
        await page.selectOption('#denoise-method', 'gaussian');
        await page.check('#denoise-store');
        if (allowIncomplete) await page.check('#denoise-allow-incomplete');
        const posted = page.waitForRequest((request) => request.url().endsWith('/api/jobs') && request.method() === 'POST');
        await page.click('#denoise-start');
        return (await posted).postDataJSON() as Record<string, unknown>;
      };
      const seriesInStudy = async () =>
        ((await (
          await orthanc.rest('/tools/find', { method: 'POST', body: Buffer.from(JSON.stringify({ Level: 'Series', Query: { StudyInstanceUID: CT_STUDY }, Expand: true })) })
        ).json()) as Array<{ Instances: string[] }>).map((s) => s.Instances.length).sort();
      const before = await seriesInStudy();
      expect(await denoise(false)).not.toHaveProperty('allowIncomplete');
      await expect.poll(() => page.textContent('#toast'), POLL).toBe(
        'Denoising refused: the PACS sent 2 of the 3 images of this series, so the denoised series would lack 1; nothing was denoised. ' +
          'Tick "Denoise the incomplete series as it came" in the Denoise dialog to denoise the 2 that came [E_IO]',
      );
      expect(await seriesInStudy()).toEqual(before);
      // Ticked: denoised and stored as it came, and the toast says the result is partial.
      expect(await denoise(true)).toMatchObject({ store: true, allowIncomplete: true });
      await page.waitForSelector('body[data-view^="c:"]', { timeout: 30_000 });
      await expect.poll(() => page.textContent('#toast'), POLL).toBe(
        'Denoising finished; stored 1 series (2 images) in the PACS; incomplete input: 2 of the 3 images, the denoised series lacks 1',
      );
      expect(await seriesInStudy()).toEqual([...before, 2].sort());
      expect(session.pageErrors).toEqual([]);
    } finally {
      // Off this server first: its close waits for the page's open connections.
      await session.page.goto('about:blank');
      await capped.close();
      await proxy.close();
    }
  });

  it('shows the server\'s refusal of a wrong password in the PACS browser', async () => {
    const wrong = await buildApp({
      data: [path.join(root, 'data')],
      workDir: path.join(root, 'work-wrong'),
      viewerDir: path.join(root, 'viewer'),
      dicomweb: { base: orthanc.dicomweb, client: { auth: `basic:${orthanc.user}:not-the-password`, retries: 0 } },
    });
    try {
      const url = await wrong.listen({ host: '127.0.0.1', port: 0 });
      const { page } = session;
      await page.goto(url);
      await page.waitForSelector('#pacs-dialog[open] #pacs-error:not([hidden])');
      expect(await page.textContent('#pacs-error')).toMatch(/HTTP 401 .*refused the credentials .*\[E_USAGE\]$/);
      expect(await page.textContent('#pacs-error')).not.toContain('not-the-password');
    } finally {
      await wrong.close();
    }
  });
});
