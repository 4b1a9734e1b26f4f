/// <reference lib="dom" />
/**
 * Pane title bars in a narrow window, in real headless Chromium (./harness.ts): four panes in an
 * 800-pixel-wide window have no room for a name, the link button and the PSNR / SSIM side by side,
 * so every pane's scores move to a line of their own under its name; nothing in a title bar
 * overlaps anything else, runs out of its pane, or is cut without its whole text in a tooltip, and
 * every bar is as tall as the others. In a wide window the bars keep one line. The same for a time
 * point of make-pet-timing.py's dynamic PET series (its frame label beside the name), denoised in
 * the test with the Gaussian filter. The overlay over each image likewise: no text on another (the
 * scale bar goes up above the bottom corners where it would touch them), none out of the image,
 * none cut without a tooltip (a corner's lines wrap between their parts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { frameTimingLine } from '../../src/dicom/pet-frame-text.js';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import type { ComparisonMetrics, SliceMetrics } from '../../src/server/api-types.js';
import { formatValue, scoresLine } from '../../src/server/pane-text.js';
import { hasPydicom, makePetTiming } from '../helpers/pet-timing.js';
import { writeFixtureStudy } from '../server/fixture-study.js';
import { hasChromium, paneProbes, POLL, startViewer, type ViewerSession } from './harness.js';

interface Item {
  readonly pane: string;
  readonly kind: string;
  readonly text: string;
  /** The element's tooltip, or its frame label's for the label's parts. */
  readonly tooltip: string;
  readonly left: number;
  readonly right: number;
  readonly top: number;
  readonly bottom: number;
  /** Its whole text's width, and the width it shows. */
  readonly scrollWidth: number;
  readonly clientWidth: number;
}

interface TitleBar {
  readonly pane: string;
  readonly left: number;
  readonly right: number;
  readonly height: number;
  readonly items: Item[];
}

/** Every shown pane's title bar and the boxes of what it writes (name, frame number and timing, link, metrics), on screen. */
function titleBars(page: Page): Promise<TitleBar[]> {
  return page.$$eval('.pane:not([hidden])', (panes) =>
    panes.map((pane) => {
      const bar = pane.querySelector<HTMLElement>('.pane-title')!;
      const key = (pane as HTMLElement).dataset.pane!;
      const elements = Array.from(bar.querySelectorAll<HTMLElement>('.pane-name, .pane-frame-number, .pane-frame-timing, .pane-link, .pane-metrics'));
      const items = elements
        .filter((e) => !e.closest('[hidden]') && (e.textContent ?? '').trim() !== '')
        .map((e) => {
          const r = e.getBoundingClientRect();
          const tooltip = e.title || ((e.closest('.pane-frame') as HTMLElement | null)?.title ?? '');
          return { pane: key, kind: e.className, text: e.textContent ?? '', tooltip, left: r.left, right: r.right, top: r.top, bottom: r.bottom, scrollWidth: e.scrollWidth, clientWidth: e.clientWidth };
        });
      const box = pane.getBoundingClientRect();
      return { pane: key, left: box.left, right: box.right, height: bar.getBoundingClientRect().height, items };
    }),
  );
}

/** Pairs of items of one bar whose boxes overlap (by more than half a pixel each way). */
function overlaps(bar: TitleBar): string[] {
  const found: string[] = [];
  for (const [i, a] of bar.items.entries()) {
    for (const b of bar.items.slice(i + 1)) {
      const x = Math.min(a.right, b.right) - Math.max(a.left, b.left);
      const y = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
      if (x > 0.5 && y > 0.5) found.push(`${bar.pane}: "${a.text}" and "${b.text}"`);
    }
  }
  return found;
}

/**
 * What a reader cannot read in a bar: an item outside its pane, an item with no room at all, or a
 * cut text without its whole text in the tooltip. A frame's timing gives way first, down to nothing,
 * its tooltip the timing in words (the test of the frame label checks those words).
 */
function unreadable(bar: TitleBar): string[] {
  const found: string[] = [];
  for (const item of bar.items) {
    const timing = item.kind === 'pane-frame-timing';
    if (item.left < bar.left - 0.5 || item.right > bar.right + 0.5) found.push(`${bar.pane}: "${item.text}" runs out of its pane`);
    if (item.clientWidth === 0 && !timing) found.push(`${bar.pane}: "${item.text}" has no room at all`);
    if (item.scrollWidth > item.clientWidth && !(timing ? item.tooltip !== '' : item.tooltip.includes(item.text))) found.push(`${bar.pane}: "${item.text}" is cut and its tooltip does not say it`);
  }
  return found;
}

const cut = (bar: TitleBar) => bar.items.filter((i) => i.scrollWidth > i.clientWidth).map((i) => i.text);

/**
 * Every shown pane's overlay over its image, as TitleBar: each line of a corner, each edge letter
 * and the scale bar (its label and line), on screen; `left`/`right` the image box's. `parts`: the
 * tallest part of a bottom-corner line (a part wrapped inside itself is taller than a line).
 */
function overlays(page: Page): Promise<Array<TitleBar & { top: number; bottom: number; partHeight: number }>> {
  return page.$$eval('.pane:not([hidden])', (panes) =>
    panes.map((pane) => {
      const key = (pane as HTMLElement).dataset.pane!;
      const image = pane.querySelector<HTMLElement>('.pane-image')!.getBoundingClientRect();
      const elements = Array.from(pane.querySelectorAll<HTMLElement>('.ov-corner > div:not(.ov-tr-lines), .ov-tr-lines > div, .ov-edge, .ov-scale'));
      // The series description's tooltip is the pane name's (an overlay line takes no pointer).
      const name = pane.querySelector<HTMLElement>('.pane-name')!.title;
      const items = elements
        .filter((e) => !e.closest('[hidden]') && (e.textContent ?? '').trim() !== '')
        .map((e) => {
          const r = e.getBoundingClientRect();
          const tooltip = e.parentElement?.classList.contains('ov-tr-lines') ? name : e.title;
          return { pane: key, kind: e.className, text: e.textContent ?? '', tooltip, left: r.left, right: r.right, top: r.top, bottom: r.bottom, scrollWidth: e.scrollWidth, clientWidth: e.clientWidth };
        });
      const parts = Array.from(pane.querySelectorAll<HTMLElement>('.ov-bl .ov-part, .ov-br .ov-part')).map((p) => p.getBoundingClientRect().height);
      return { pane: key, left: image.left, right: image.right, top: image.top, bottom: image.bottom, height: image.height, items, partHeight: Math.max(0, ...parts) };
    }),
  );
}

/** What cannot be read in a pane's overlay: an item out of the image box, or cut without its whole text in a tooltip. */
function overlayUnreadable(pane: TitleBar & { top: number; bottom: number }): string[] {
  const found: string[] = [];
  for (const item of pane.items) {
    if (item.left < pane.left - 0.5 || item.right > pane.right + 0.5 || item.top < pane.top - 0.5 || item.bottom > pane.bottom + 0.5) found.push(`${pane.pane}: "${item.text}" runs out of its image`);
    if (item.scrollWidth > item.clientWidth && !item.tooltip.includes(item.text)) found.push(`${pane.pane}: "${item.text}" is cut and its tooltip does not say it`);
  }
  return found;
}
const item = (bar: TitleBar, kind: string) => bar.items.find((i) => i.kind === kind)!;

describe.skipIf(!hasChromium)('pane title bars in a narrow window (headless Chromium)', () => {
  let root: string;
  let session: ViewerSession;
  let probes: ReturnType<typeof paneProbes>;

  beforeAll(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-e2e-narrow-'));
    const data = [path.join(root, 'ct')];
    await writeFixtureStudy(data[0]!, { size: 64, slices: 3 });
    if (hasPydicom) {
      const input = path.join(root, 'pet');
      makePetTiming(input);
      await denoisePaths([path.join(input, 'dynamic')], { outDir: path.join(root, 'pet-denoised'), method: 'gaussian' });
      data.push(path.join(input, 'dynamic'), path.join(root, 'pet-denoised'));
    }
    session = await startViewer({ data, root, viewport: { width: 800, height: 600 } });
    probes = paneProbes(session.page);
  });

  afterAll(async () => {
    await session?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  const comparisons = () => session.studies.studies.flatMap((s) => s.comparisons);
  const ctComparison = () => comparisons().find((c) => session.studies.studies.some((s) => s.modalities.includes('CT') && s.comparisons.includes(c)))!;

  it('moves the scores under the name in every pane of four, overlapping and cutting nothing; one line again in a wide window', async () => {
    const { page, app } = session;
    const comparison = ctComparison();
    const expected = (await app.inject({ url: `/api/comparisons/${comparison.id}/metrics/slices/1` })).json() as SliceMetrics;
    await page.goto(`${session.url}/#c=${comparison.id}&i=1`);
    await page.waitForSelector('body[data-first-slice-ms]');
    expect(await probes.paneKeys()).toEqual(['lowDose', 'denoised', 'reference', 'difference']);
    await expect.poll(() => page.textContent('[data-metrics="denoised"]'), POLL).toBe(scoresLine(expected.denoised));
    await expect.poll(() => page.textContent('[data-metrics="reference"]'), POLL).toMatch(/^noise σ /);

    const narrow = await titleBars(page);
    expect(narrow.flatMap(overlaps)).toEqual([]);
    expect(narrow.flatMap(unreadable)).toEqual([]);
    // The scores whole, on a line under the name, in both scored panes.
    for (const bar of narrow.filter((b) => b.pane === 'lowDose' || b.pane === 'denoised')) {
      const metrics = item(bar, 'pane-metrics');
      expect(metrics.text).toBe(scoresLine(bar.pane === 'lowDose' ? expected.lowDose : expected.denoised));
      expect(metrics.scrollWidth).toBeLessThanOrEqual(metrics.clientWidth);
      expect(metrics.top).toBeGreaterThanOrEqual(item(bar, 'pane-name').bottom - 0.5);
      expect(metrics.tooltip.startsWith(`${metrics.text}\n`)).toBe(true);
    }
    // Names too: only the difference pane's long one gives way, its whole text in its tooltip.
    expect(narrow.flatMap(cut)).toEqual(['Difference (denoised − reference)']);
    expect(new Set(narrow.map((b) => b.height)).size).toBe(1);
    expect(await page.getAttribute('#panes', 'data-title-lines')).toBe('2');

    // The overlay over each 200-px image: no text on another (the scale bar over "Thk" and "Zoom",
    // the edge letters), none cut without a tooltip ("W 400 L 40…"), every part of the bottom lines on one line.
    const over = await overlays(page);
    expect(over.map((o) => o.pane)).toEqual(['lowDose', 'denoised', 'reference', 'difference']);
    expect(over.flatMap(overlaps)).toEqual([]);
    expect(over.flatMap(overlayUnreadable)).toEqual([]);
    for (const o of over) expect(o.partHeight, o.pane).toBeLessThan(20);
    expect(await page.textContent('.pane[data-pane="lowDose"] .pane-window')).toMatch(/^W \d+ L \d+(\.\d+)? HU$/);

    // Twice as wide: room for one line in every pane, nothing cut.
    await page.setViewportSize({ width: 1600, height: 600 });
    await expect.poll(() => page.getAttribute('#panes', 'data-title-lines'), POLL).toBeNull();
    const wide = await titleBars(page);
    expect(wide.flatMap(overlaps)).toEqual([]);
    expect(wide.flatMap(cut)).toEqual([]);
    for (const bar of wide) for (const i of bar.items) expect(Math.abs(i.top - item(bar, 'pane-name').top), `${bar.pane}: ${i.text}`).toBeLessThan(4);
    expect(new Set(wide.map((b) => b.height)).size).toBe(1);
    expect(wide[0]!.height).toBeLessThan(narrow[0]!.height);
    const wideOver = await overlays(page);
    expect(wideOver.flatMap(overlaps)).toEqual([]);
    expect(wideOver.flatMap(overlayUnreadable)).toEqual([]);
    // Room at the foot between the corners: the scale bar stays there.
    expect(await page.$$eval('.pane:not([hidden]) .ov-scale', (bars) => bars.map((b) => (b as HTMLElement).style.bottom))).toEqual(['', '', '', '']);
    await page.setViewportSize({ width: 800, height: 600 });
    await expect.poll(() => page.getAttribute('#panes', 'data-title-lines'), POLL).toBe('2');
    expect(session.pageErrors).toEqual([]);
  });

  it('makes room for the scores before they arrive, so no image box moves when they do', async () => {
    const { page } = session;
    const comparison = ctComparison();
    // Two panes side by side, as wide as their names, link buttons and gaps need and short of what the scores add.
    await page.click('[data-layout="1x2"]');
    await expect.poll(() => probes.paneKeys(), POLL).toEqual(['lowDose', 'denoised']);
    const natural = (i: Item) => i.right - i.left + i.scrollWidth - i.clientWidth;
    const needs = (bar: TitleBar, withMetrics: boolean) => {
      const items = bar.items.filter((i) => withMetrics || i.kind !== 'pane-metrics');
      return 16 + items.reduce((sum, i) => sum + natural(i), 0) + 8 * (items.length - 1);
    };
    const bars = await titleBars(page);
    const names = Math.max(...bars.map((b) => needs(b, false)));
    const all = Math.max(...bars.map((b) => needs(b, true)));
    expect(all - names).toBeGreaterThan(100);
    const width = Math.round((names + all) / 2);
    await page.setViewportSize({ width: 2 * width + 2, height: 600 });
    // The view opened again with its numbers (the slice's, the series') held back until its images are drawn.
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const metricsUrl = (url: URL) => /\/metrics(\/|$)/.test(url.pathname);
    await page.route(metricsUrl, async (route) => {
      await held;
      await route.continue();
    });
    await probes.openFromList(`s:${comparison.lowDose}`);
    await probes.openFromList(`c:${comparison.id}`);
    for (const key of ['lowDose', 'denoised']) await probes.expectRealPixels(key);
    const imageBoxes = () => page.$$eval('.pane:not([hidden]) .pane-image', (boxes) => boxes.map((b) => JSON.stringify(b.getBoundingClientRect())));
    const before = await imageBoxes();
    expect(await page.textContent('[data-metrics="denoised"]')).not.toMatch(/^PSNR/);
    expect(await page.getAttribute('#panes', 'data-title-lines')).toBe('2');
    release();
    await expect.poll(() => page.textContent('[data-metrics="denoised"]'), POLL).toMatch(/^PSNR \d+\.\d dB · SSIM \d\.\d{3}$/);
    await page.unroute(metricsUrl);
    expect(await imageBoxes()).toEqual(before);
    const after = await titleBars(page);
    expect(after.flatMap(overlaps)).toEqual([]);
    expect(after.flatMap(cut)).toEqual([]);
    await page.click('[data-layout="auto"]');
    await page.setViewportSize({ width: 800, height: 600 });
  });

  it("writes the series means whole on as many lines as they need, laid out before the images so none moves when they arrive", async () => {
    const { page, app } = session;
    const comparison = ctComparison();
    const series = (await app.inject({ url: `/api/comparisons/${comparison.id}/metrics` })).json() as ComparisonMetrics;
    // The series' numbers held back until the images are drawn.
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const seriesMetrics = (url: URL) => /\/metrics$/.test(url.pathname);
    await page.route(seriesMetrics, async (route) => {
      await held;
      await route.continue();
    });
    await probes.openFromList(`s:${comparison.lowDose}`);
    await probes.openFromList(`c:${comparison.id}`);
    await probes.expectRealPixels('denoised');
    const panesBox = () => page.$eval('#panes', (e) => JSON.stringify(e.getBoundingClientRect()));
    const before = await panesBox();
    expect(await page.textContent('#series-header')).toContain('computing…');
    release();
    const noise = series.mean.noise;
    await expect.poll(() => page.textContent('[data-testid="mean-noise"]'), POLL).toBe(`Noise σ ${formatValue(noise.lowDose!)} → ${formatValue(noise.denoised!)} HU (reference ${formatValue(noise.reference!)} HU)`);
    const header = await page.$eval('#series-header', (h) => {
      const box = h.getBoundingClientRect();
      const parts = Array.from(h.querySelectorAll<HTMLElement>('.series-part')).map((p) => {
        const r = p.getBoundingClientRect();
        return { text: p.textContent ?? '', whole: r.left >= box.left && r.right <= box.right + 0.5 && r.bottom <= box.bottom + 0.5 && p.scrollWidth <= p.clientWidth + 0.5 };
      });
      return { parts, visible: getComputedStyle(h.querySelector('#series-metrics')!).visibility };
    });
    expect(header.visible).toBe('visible');
    expect(header.parts.map((p) => p.text.split(' ')[0])).toEqual(['Denoised', 'Low-dose', 'Noise']);
    expect(header.parts.filter((p) => !p.whole).map((p) => p.text)).toEqual([]);
    expect(await panesBox()).toBe(before);
    await page.unroute(seriesMetrics);
  });

  it.skipIf(!hasPydicom)('keeps a time point\'s number and the scores whole beside a frame label in a narrow pane', async () => {
    const { page, app } = session;
    const t2 = session.studies.studies.flatMap((s) => s.series).find((s) => s.role === 'original' && s.petFrame?.tag === 't02')!;
    const comparison = comparisons().find((c) => c.lowDose === t2.id)!;
    const expected = (await app.inject({ url: `/api/comparisons/${comparison.id}/metrics/slices/0` })).json() as SliceMetrics;
    await probes.openFromList(`c:${comparison.id}`);
    await probes.expectRealPixels('denoised');
    await expect.poll(() => page.textContent('[data-metrics="denoised"]'), POLL).toBe(`${scoresLine(expected.denoised)}  (vs original)`);
    const bars = await titleBars(page);
    expect(bars.map((b) => b.pane)).toEqual(['lowDose', 'denoised', 'difference']);
    expect(bars.flatMap(overlaps)).toEqual([]);
    expect(bars.flatMap(unreadable)).toEqual([]);
    for (const bar of bars) {
      const number = item(bar, 'pane-frame-number');
      expect(number.text).toBe('t2 / 3');
      expect(number.scrollWidth).toBeLessThanOrEqual(number.clientWidth);
      // The timing, where it gives way, whole in the label's tooltip: `lowdose info`'s line.
      expect(item(bar, 'pane-frame-timing').tooltip).toBe(frameTimingLine(t2.petFrame!));
    }
    const metrics = item(bars[1]!, 'pane-metrics');
    expect(metrics.scrollWidth).toBeLessThanOrEqual(metrics.clientWidth);
    const over = await overlays(page);
    expect(over.flatMap(overlaps)).toEqual([]);
    expect(over.flatMap(overlayUnreadable)).toEqual([]);
    expect(new Set(bars.map((b) => b.height)).size).toBe(1);
    expect(session.pageErrors).toEqual([]);
  });
});
