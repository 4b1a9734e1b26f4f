/// <reference lib="dom" />
/**
 * Reading in the viewer, in real headless Chromium (./harness.ts): what a radiologist does with a
 * comparison beyond the basics of ./viewer.test.ts (layouts, a small window, overlay text, reset,
 * unlinked panes, trackpad scrolling, flicker, cine), and the defects found trying it as one would (each with its test): stale metrics, labels from the slot instead of the series, the difference
 * pane's window label, uploading a series again, compressed slices, padding in the difference pane,
 * a focused list keeping the arrow keys.
 */
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSliceImage, scanPaths } from '../../src/dicom/index.js';
import type { SeriesDetail } from '../../src/server/api-types.js';
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

  it('changes the layout from the toolbar and the G key, the panes filling the window', async () => {
    const { page } = session;
    const comparison = bodyStudy().comparisons[0]!;
    await page.goto(`${session.url}/#c=${comparison.id}&i=3`);
    await page.waitForSelector(`body[data-view="c:${comparison.id}"]`);
    const grid = () => page.getAttribute('#panes', 'data-grid');
    await page.click('[data-layout="2x2"]');
    await expect.poll(grid, POLL).toBe('2x2');
    expect(await probes.paneKeys()).toEqual(['lowDose', 'denoised', 'reference', 'difference']);
    // Four panes fill the window: their boxes cover the panes area but for the gaps.
    const coverage = await page.evaluate(() => {
      const area = (e: Element) => e.getBoundingClientRect().width * e.getBoundingClientRect().height;
      const panes = Array.from(document.querySelectorAll('.pane:not([hidden])')).reduce((sum, e) => sum + area(e), 0);
      return panes / area(document.getElementById('panes')!);
    });
    expect(coverage).toBeGreaterThan(0.97);
    for (const key of await probes.paneKeys()) await probes.expectRealPixels(key);
    // 1x1 shows one pane; a pane key chooses which.
    await page.click('[data-layout="1x1"]');
    await expect.poll(probes.paneKeys, POLL).toEqual(['lowDose']);
    await page.keyboard.press('n');
    await expect.poll(probes.paneKeys, POLL).toEqual(['denoised']);
    await probes.expectRealPixels('denoised');
    expect(await page.getAttribute('[data-toggle="lowDose"]', 'data-offscreen')).toBe('true');
    // G: the next layout, 1x2.
    await page.keyboard.press('g');
    await expect.poll(probes.paneKeys, POLL).toEqual(['denoised', 'lowDose']);
    expect(await page.getAttribute('[data-layout="1x2"]', 'aria-pressed')).toBe('true');
    await page.click('[data-layout="row"]');
    await expect.poll(grid, POLL).toBe('4x1');
    await page.click('[data-layout="auto"]');
    await page.keyboard.press('l');
    await page.keyboard.press('l');
  });

  it('stays usable in a 1000 x 700 window', async () => {
    const { page } = session;
    await page.setViewportSize({ width: 1000, height: 700 });
    try {
      await page.click('[data-layout="auto"]');
      await expect.poll(() => page.getAttribute('#panes', 'data-grid'), POLL).toMatch(/^(2x2|4x1)$/);
      const layout = await page.evaluate(() => ({
        scrollWidth: document.documentElement.scrollWidth,
        scrollHeight: document.documentElement.scrollHeight,
        buttonsOutside: Array.from(document.querySelectorAll('button:not([hidden])')).filter((b) => {
          const r = b.getBoundingClientRect();
          return r.width > 0 && (r.right > window.innerWidth || r.bottom > window.innerHeight);
        }).length,
        toolbarHeight: document.querySelector('.toolbar')!.getBoundingClientRect().height,
        smallestPane: Math.min(...Array.from(document.querySelectorAll('.pane:not([hidden]) .pane-image')).map((e) => Math.min(e.clientWidth, e.clientHeight))),
      }));
      expect(layout.scrollWidth).toBeLessThanOrEqual(1000);
      expect(layout.scrollHeight).toBeLessThanOrEqual(700);
      expect(layout.buttonsOutside).toBe(0);
      expect(layout.smallestPane).toBeGreaterThan(180);
      // The toolbar wraps onto two rows at most.
      expect(layout.toolbarHeight).toBeLessThan(80);
      for (const key of await probes.paneKeys()) await probes.expectRealPixels(key);
    } finally {
      await page.setViewportSize({ width: 1600, height: 760 });
    }
  });

  it('writes the overlay text: patient, study, series, slice with location and thickness, window, zoom, orientation, scale bar', async () => {
    const { page, app } = session;
    const comparison = bodyStudy().comparisons[0]!;
    const low = (await app.inject({ url: `/api/series/${comparison.lowDose}` })).json() as SeriesDetail;
    await page.keyboard.press('End');
    await page.keyboard.press('ArrowUp');
    await expect.poll(probes.paneIndices, POLL).toEqual(['6', '6', '6', '6']);
    const corner = (key: string, c: string) => probes.paneText(key, `.ov-${c}`);
    const location = low.locations[6]!;
    const mm = (v: number) => (Math.sign(v) * Math.round(Math.abs(v) * 10) / 10).toFixed(1).replace('-', '−');
    await expect.poll(() => corner('lowDose', 'bl'), POLL).toBe(`Im 7 / 8Loc ${mm(location)} mmThk ${mm(low.sliceThickness!)} mm`);
    const date = `${low.studyDate.slice(0, 4)}-${low.studyDate.slice(4, 6)}-${low.studyDate.slice(6)}`;
    expect(await corner('lowDose', 'tl')).toBe(`DOE, JANEID SECRET-ID-123${date}`);
    expect(await corner('lowDose', 'tr')).toBe(low.description);
    expect(await corner('difference', 'tr')).toBe('denoised − reference');
    const scale = Number(await page.getAttribute('.pane[data-pane="lowDose"]', 'data-scale'));
    const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2));
    expect(await corner('lowDose', 'br')).toBe(`W ${fmt(low.window![1])} L ${fmt(low.window![0])} HUZoom ${scale.toFixed(2)}×`);
    expect(await Promise.all(['left', 'right', 'top', 'bottom'].map((e) => corner('lowDose', e)))).toEqual(['R', 'L', 'A', 'P']);
    const bar = await page.$eval('.pane[data-pane="lowDose"] .ov-scale', (e) => ({ mm: Number((e as HTMLElement).dataset.mm), px: Number((e as HTMLElement).dataset.px), text: e.textContent }));
    expect(bar.px).toBeCloseTo((bar.mm * scale) / low.spacing[1], 0);
    expect(bar.text).toBe(`${bar.mm} mm`);
    // H hides the patient's name and ID, and shows them again.
    await page.keyboard.press('h');
    await expect.poll(() => corner('lowDose', 'tl'), POLL).toBe(date);
    await page.keyboard.press('h');
    await expect.poll(() => corner('lowDose', 'tl'), POLL).toContain('DOE, JANE');
  });

  it("resets zoom, pan and the window to the file's", async () => {
    const { page } = session;
    const state = () => page.$$eval('.pane:not([hidden])', (els) => els.map((e) => `${(e as HTMLElement).dataset.scale} ${e.querySelector('.pane-window')?.textContent}`));
    const opened = await state();
    await page.keyboard.press('2');
    const low = await probes.centreOf('lowDose');
    await page.mouse.move(low.x, low.y);
    await page.mouse.down({ button: 'right' });
    await page.mouse.move(low.x, low.y - 80, { steps: 5 });
    await page.mouse.up({ button: 'right' });
    await expect.poll(state, POLL).not.toEqual(opened);
    await page.click('#reset-button');
    await expect.poll(state, POLL).toEqual(opened);
  });

  it('unlinks a pane: it keeps its slice and window while the others move, and follows again when linked', async () => {
    const { page } = session;
    const windowOf = (key: string) => probes.paneText(key, '.pane-window');
    await page.keyboard.press('Home');
    await expect.poll(probes.paneIndices, POLL).toEqual(['0', '0', '0', '0']);
    await page.click('.pane[data-pane="reference"] .pane-link');
    expect(await page.getAttribute('.pane[data-pane="reference"] .pane-link', 'aria-pressed')).toBe('false');
    const referenceWindow = await windowOf('reference');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('2');
    await expect.poll(probes.paneIndices, POLL).toEqual(['2', '2', '0', '2']);
    await expect.poll(() => windowOf('lowDose'), POLL).toBe('W 1500 L -600 HU');
    expect(await windowOf('reference')).toBe(referenceWindow);
    // The wheel over the unlinked pane moves it alone.
    const centre = await probes.centreOf('reference');
    await page.mouse.move(centre.x, centre.y);
    await page.mouse.wheel(0, 120);
    await expect.poll(probes.paneIndices, POLL).toEqual(['2', '2', '1', '2']);
    await page.click('.pane[data-pane="reference"] .pane-link');
    await expect.poll(probes.paneIndices, POLL).toEqual(['2', '2', '2', '2']);
    await expect.poll(() => windowOf('reference'), POLL).toBe('W 1500 L -600 HU');
    await page.keyboard.press('f');
  });

  it('scrolls by wheel distance: a trackpad flick of small events moves by its travel, not its event count', async () => {
    const { page } = session;
    await page.keyboard.press('Home');
    await expect.poll(probes.paneIndices, POLL).toEqual(['0', '0', '0', '0']);
    // Twenty 10 px events in one go (a trackpad): 200 px = the first slice and one more.
    await page.$eval('.pane[data-pane="denoised"] .pane-image', (element) => {
      for (let k = 0; k < 20; k++) element.dispatchEvent(new WheelEvent('wheel', { deltaY: 10, bubbles: true, cancelable: true }));
    });
    await expect.poll(probes.paneIndices, POLL).toEqual(['2', '2', '2', '2']);
    await page.waitForTimeout(50);
    expect(await probes.paneIndices()).toEqual(['2', '2', '2', '2']);
  });

  it('flickers one viewport between low-dose, denoised and reference on T, and at a set rate on Y', async () => {
    const { page } = session;
    await page.keyboard.press('Home');
    await page.keyboard.press('ArrowDown');
    await expect.poll(probes.paneIndices, POLL).toEqual(['1', '1', '1', '1']);
    const showing = () => page.getAttribute('#panes', 'data-flicker');
    const before = await probes.paneKeys();
    const hashOf = async (key: string) => {
      await expect.poll(() => session.page.getAttribute(`.pane[data-pane="${key}"]`, 'data-index'), POLL).toBe('1');
      await probes.expectRealPixels(key);
      return (await probes.canvasStats(key)).hash;
    };
    await page.keyboard.press('t');
    await expect.poll(showing, POLL).toBe('lowDose');
    expect(await probes.paneKeys()).toEqual(['lowDose']);
    expect(await page.getAttribute('[data-layout="1x1"]', 'aria-pressed')).toBe('true');
    const first = await hashOf('lowDose');
    const scale = await page.getAttribute('.pane[data-pane="lowDose"]', 'data-scale');
    const seen: string[] = [];
    for (const expected of ['denoised', 'reference', 'lowDose']) {
      await page.keyboard.press('t');
      await expect.poll(showing, POLL).toBe(expected);
      expect(await probes.paneKeys()).toEqual([expected]);
      // The same slice at the same zoom in the same box: only the image changes.
      expect(await page.getAttribute(`.pane[data-pane="${expected}"]`, 'data-scale')).toBe(scale);
      seen.push(String(await hashOf(expected)));
    }
    expect(new Set(seen).size).toBe(3);
    expect(seen[2]).toBe(String(first));
    // Y: on its own at the set rate, until Y again.
    await page.fill('#flicker-hz', '10');
    await page.press('#flicker-hz', 'Enter');
    await page.evaluate(() => {
      const panes = document.getElementById('panes')!;
      const log: string[] = [];
      (window as unknown as { flickerLog: string[] }).flickerLog = log;
      new MutationObserver(() => log.push(panes.dataset.flicker ?? '')).observe(panes, { attributes: true, attributeFilter: ['data-flicker'] });
    });
    await page.keyboard.press('y');
    expect(await page.getAttribute('#flicker-auto', 'aria-pressed')).toBe('true');
    const log = () => page.evaluate(() => (window as unknown as { flickerLog: string[] }).flickerLog.filter(Boolean));
    await expect.poll(async () => new Set(await log()).size, POLL).toBe(3);
    await page.keyboard.press('y');
    expect(await page.getAttribute('#flicker-auto', 'aria-pressed')).toBe('false');
    // Esc leaves flicker: the layout and panes from before.
    await page.keyboard.press('Escape');
    await expect.poll(probes.paneKeys, POLL).toEqual(before);
    expect(before).toHaveLength(4);
    expect(await showing()).toBe('');
  });

  it('plays the slices as a cine at the chosen frame rate, looping, until stopped', async () => {
    const { page } = session;
    await page.fill('#cine-fps', '25');
    await page.press('#cine-fps', 'Enter');
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { cineSeen: string[] }).cineSeen = seen;
      new MutationObserver(() => seen.push(document.body.dataset.index ?? '')).observe(document.body, { attributes: true, attributeFilter: ['data-index'] });
    });
    await page.keyboard.press('c');
    expect(await page.getAttribute('#cine-button', 'aria-pressed')).toBe('true');
    const seen = () => page.evaluate(() => (window as unknown as { cineSeen: string[] }).cineSeen.map(Number));
    // Round the 8 slices and back to the start.
    await expect.poll(async () => {
      const s = await seen();
      const end = s.indexOf(7);
      return end >= 0 && s.indexOf(0, end) > end;
    }, POLL).toBe(true);
    await page.keyboard.press('c');
    expect(await page.getAttribute('#cine-button', 'aria-pressed')).toBe('false');
    const steps = await seen();
    // One slice at a time, forward, wrapping from the last to the first.
    for (let k = 1; k < steps.length; k++) expect([(steps[k - 1]! + 1) % 8]).toContain(steps[k]);
    const stopped = await page.getAttribute('body', 'data-index');
    await page.waitForTimeout(200);
    expect(await page.getAttribute('body', 'data-index')).toBe(stopped);
  });

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
