/// <reference lib="dom" />
/**
 * Reading in the viewer, in real headless Chromium (./harness.ts): what a radiologist does with a
 * comparison beyond the basics of ./viewer.test.ts, and the defects found trying it as one would
 * (each with its test): stale metrics, labels from the slot instead of the series, the difference
 * pane's window label, uploading a series again, compressed slices, padding in the difference pane,
 * a focused list keeping the arrow keys.
 */
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSliceImage, scanPaths } from '../../src/dicom/index.js';
import { createDerivedSeriesWriter } from '../../src/dicom/write-derived.js';
import { writeVolumeSeries } from '../../src/dicom/write-volume.js';
import { generateWater } from '../../src/phantoms/water.js';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import { Rng } from '../../src/util/random.js';
import { writeFixtureStudy } from '../server/fixture-study.js';
import { hasChromium, paneProbes, POLL, REPO, startViewer, type ViewerSession } from './harness.js';

const CT_3SLICE = path.resolve(REPO, '../shared/dicom/QIICR__dcmqi/data/segmentations/ct-3slice');

if (!hasChromium) console.warn('viewer reading tests skipped: /usr/bin/chromium not found');

/**
 * A real scanner CT (3 slices, 512 x 512, out-of-field fill -3024 HU) as the reference, a noisy
 * copy whose out-of-field fill is -2048 HU (as another scanner writes it) as the low-dose series,
 * and its Gaussian-filtered version: denoised − reference is +976 HU outside the field.
 */
async function writePaddedStudy(dir: string): Promise<void> {
  const full = path.join(dir, 'full');
  cpSync(CT_3SLICE, full, { recursive: true });
  const source = (await scanPaths([full])).series[0]!;
  const low = path.join(dir, 'low');
  const writer = createDerivedSeriesWriter(source, {
    outDir: low,
    derivationDescription: 'lowdose simulate: CT noise insertion, dose 0.25, seed 4 (test fixture)',
    seriesDescriptionSuffix: ' simulated 25% dose',
    seriesNumber: 2,
  });
  const rng = new Rng(4);
  for (let i = 0; i < source.slices.length; i++) {
    const { data, padding } = await readSliceImage(source, i);
    const noisy = Float32Array.from(data, (v, k) => (padding?.[k] ? -2048 : v + 40 * rng.normal()));
    await writer.writeSlice(i, noisy);
  }
  await denoisePaths([low], { outDir: path.join(dir, 'denoised'), method: 'gaussian', reference: [full] });
}

describe.skipIf(!hasChromium)('reading in the viewer (headless Chromium)', () => {
  let root: string;
  let session: ViewerSession;
  let probes: ReturnType<typeof paneProbes>;
  let uploadFiles: string[];

  beforeAll(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-e2e-reading-'));
    const data = path.join(root, 'data');
    await writeFixtureStudy(path.join(data, 'body'), { size: 128, slices: 8 });
    await writePaddedStudy(path.join(data, 'padded'));
    const { volume, origin } = generateWater({ size: 64, slices: 3, seed: 6 });
    await writeVolumeSeries(volume, path.join(root, 'upload-me'), { origin, studyDescription: 'uploaded twice', uidSeed: 'e2e-reading-upload' });
    uploadFiles = readdirSync(path.join(root, 'upload-me')).map((f) => path.join(root, 'upload-me', f));
    session = await startViewer({ data: [data], root });
    probes = paneProbes(session.page);
  });

  afterAll(async () => {
    await session?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  const bodyStudy = () => session.studies.studies.find((s) => s.description === 'lowdose server test')!;
  const paddedStudy = () => session.studies.studies.find((s) => s !== bodyStudy() && s.comparisons.length > 0)!;

  it('opens a single series after a comparison without the comparison metrics', async () => {
    const { page } = session;
    const comparison = bodyStudy().comparisons[0]!;
    await page.goto(`${session.url}/#c=${comparison.id}&i=5`);
    await page.waitForSelector(`body[data-view="c:${comparison.id}"]`);
    await expect.poll(() => page.textContent('[data-metrics="lowDose"]'), POLL).toMatch(/^PSNR/);
    await probes.openFromList(`s:${comparison.lowDose}`);
    await probes.expectRealPixels('lowDose');
    expect(await page.textContent('#series-header')).toContain('Single series');
    // Wait past the metrics view's fetch delay: nothing of the comparison may arrive late.
    await page.waitForTimeout(300);
    expect(await page.textContent('[data-metrics="lowDose"]')).toBe('');
  });

  it('labels panes from the series roles: a single original series is not "Low-dose"', async () => {
    const reference = bodyStudy().series.find((s) => s.role === 'original')!;
    await probes.openFromList(`s:${reference.id}`);
    expect(await probes.paneText('lowDose', '.pane-name')).toBe('Original');
    expect(await session.page.textContent('[data-toggle="lowDose"]')).toBe('Original');
    const low = bodyStudy().series.find((s) => s.role === 'low-dose')!;
    await probes.openFromList(`s:${low.id}`);
    expect(await probes.paneText('lowDose', '.pane-name')).toBe('Low-dose');
  });

  it('keeps the arrow keys on the slices after picking from the list', async () => {
    const { page } = session;
    const comparison = bodyStudy().comparisons[0]!;
    await page.focus('#view-select');
    await probes.openFromList(`c:${comparison.id}`);
    await expect.poll(probes.paneIndices, POLL).toEqual(['3', '3', '3', '3']);
    await page.keyboard.press('ArrowDown');
    await expect.poll(probes.paneIndices, POLL).toEqual(['4', '4', '4', '4']);
    expect(await page.getAttribute('body', 'data-view')).toBe(`c:${comparison.id}`);
    expect(await page.$eval('#view-select', (e) => e === document.activeElement)).toBe(false);
  });

  it('labels the difference window by W / L once it is no longer centred on zero', async () => {
    const { page } = session;
    const label = () => probes.paneText('difference', '.pane-window');
    await expect.poll(label, POLL).toBe('±100 HU');
    const centre = await probes.centreOf('difference');
    await page.mouse.move(centre.x, centre.y);
    await page.mouse.down();
    await page.mouse.move(centre.x + 30, centre.y + 50, { steps: 5 });
    await page.mouse.up();
    await expect.poll(label, POLL).toMatch(/^W \d+(\.\d+)? L -?\d+(\.\d+)? HU$/);
    await page.keyboard.press('f');
  });

  it('masks the out-of-field padding in the difference pane', async () => {
    const comparison = paddedStudy().comparisons[0]!;
    await probes.openFromList(`c:${comparison.id}`);
    expect(await probes.paneKeys()).toEqual(['lowDose', 'denoised', 'reference', 'difference']);
    await probes.expectRealPixels('difference');
    // Wait for the difference slice itself (the panes draw one after the other).
    await expect.poll(() => session.page.getAttribute('.pane[data-pane="difference"]', 'data-index'), POLL).toBe('1');
    // The image is square and centred in its pane: a point near the image corner is outside the field.
    const box = (await session.page.locator('.pane[data-pane="difference"] .pane-image').boundingBox())!;
    const side = Math.min(box.width, box.height);
    const fx = 0.5 - (0.46 * side) / box.width;
    const fy = 0.5 - (0.46 * side) / box.height;
    const [r, g, b] = await probes.pixelAt('difference', fx, fy);
    // Unmasked, +976 HU against a ±200 HU window is saturated yellow; masked it is zero: black.
    expect(r + g + b).toBeLessThan(30);
  });

  it('receives slices compressed, to the bytes the server sends uncompressed', async () => {
    const series = paddedStudy().series.find((s) => s.role === 'low-dose')!;
    const url = `/api/series/${series.id}/slices/0`;
    const plain = await session.app.inject({ url, headers: { 'accept-encoding': 'identity' } });
    // The browser's own request (its Accept-Encoding), past its cache.
    const seen = await session.page.evaluate(async (u) => {
      const response = await fetch(u, { cache: 'no-store' });
      return { encoding: response.headers.get('content-encoding'), bytes: (await response.arrayBuffer()).byteLength };
    }, url);
    expect(['br', 'gzip']).toContain(seen.encoding);
    expect(seen.bytes).toBe(plain.rawPayload.length);
  });

  it('says a series uploaded again is already loaded, and opens it', async () => {
    const { page } = session;
    await page.setInputFiles('#upload-files', uploadFiles);
    await page.waitForSelector('body[data-view^="s:"]');
    const opened = await page.getAttribute('body', 'data-view');
    await expect.poll(() => page.textContent('#toast'), POLL).toMatch(/^Uploaded 3 file\(s\): 1 new series/);
    await probes.openFromList(`c:${bodyStudy().comparisons[0]!.id}`);
    await page.setInputFiles('#upload-files', uploadFiles);
    await page.waitForSelector(`body[data-view="${opened}"]`);
    await expect.poll(() => page.textContent('#toast'), POLL).toMatch(/^Already loaded: .* \(1 series, opened\)$/);
    expect(await probes.paneText('lowDose', '.pane-name')).toBe('Original');
  });

  it("labels a job's source by its role, not as low-dose", async () => {
    const { page } = session;
    await page.click('#denoise-button');
    await page.selectOption('#denoise-method', 'gaussian');
    await page.click('#denoise-start');
    await page.waitForSelector('body[data-view^="c:"]', { timeout: 30_000 });
    expect(await probes.paneKeys()).toEqual(['lowDose', 'denoised', 'difference']);
    expect(await probes.paneText('lowDose', '.pane-name')).toBe('Original');
    expect(await probes.paneText('denoised', '.pane-name')).toBe('Denoised (gaussian)');
    expect(await probes.paneText('difference', '.pane-name')).toBe('Difference (denoised − original)');
    expect(session.pageErrors).toEqual([]);
  });
});
