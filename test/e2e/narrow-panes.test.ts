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
 * none cut without a tooltip (a corner's lines wrap between their parts; a part wider than a line, a
 * 45-character patient ID, cut on one line with the whole line in its tooltip). The series list in
 * the top bar takes the room the buttons leave, its entry whole in its tooltip. A comparison whose
 * numbers are as wide as they get (a PSNR over 100 dB, a noise σ over 1000 HU) moves no image when
 * its numbers arrive.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSliceImage } from '../../src/dicom/index.js';
import { frameTimingLine } from '../../src/dicom/pet-frame-text.js';
import { createDerivedSeriesWriter } from '../../src/dicom/write-derived.js';
import { writeVolumeSeries } from '../../src/dicom/write-volume.js';
import { generateBody } from '../../src/phantoms/body/index.js';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import type { ComparisonMetrics, ComparisonSummary, SliceMetrics } from '../../src/server/api-types.js';
import { formatValue, scoresLine } from '../../src/server/pane-text.js';
import { hasPydicom, makePetTiming } from '../helpers/pet-timing.js';
import { onlySeries, writeFixtureStudy } from '../server/fixture-study.js';
import { Rng } from '../../src/util/random.js';
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

/** The width a bar needs for its items on one line, whole (`withMetrics`: the scores too): padding, items, gaps. */
function titleNeeds(bar: TitleBar, withMetrics = true): number {
  const items = bar.items.filter((i) => withMetrics || i.kind !== 'pane-metrics');
  return 16 + items.reduce((sum, i) => sum + i.right - i.left + i.scrollWidth - i.clientWidth, 0) + 8 * (items.length - 1);
}

/** Every shown pane's image box, on screen. */
const imageBoxes = (page: Page) => page.$$eval('.pane:not([hidden]) .pane-image', (boxes) => boxes.map((b) => JSON.stringify(b.getBoundingClientRect())));

/**
 * The series list in the top bar: the entry shown, its width as written and the room the list gives
 * it, the list's tooltip, its width and its width unconstrained (as wide as its longest entry), the
 * spacer's width after it, and what runs out of the bar.
 */
function listFit(page: Page) {
  return page.$eval('.topbar', (top) => {
    const select = top.querySelector<HTMLSelectElement>('#view-select')!;
    const style = getComputedStyle(select);
    const context = document.createElement('canvas').getContext('2d')!;
    context.font = style.font;
    const text = select.selectedOptions[0]!.text;
    const box = top.getBoundingClientRect();
    const width = select.getBoundingClientRect().width;
    const saved = select.getAttribute('style');
    select.style.cssText = 'flex: none; max-width: none; width: auto';
    const natural = select.getBoundingClientRect().width;
    if (saved === null) select.removeAttribute('style');
    else select.setAttribute('style', saved);
    const out = Array.from(top.children).filter((c) => !(c as HTMLElement).hidden && (c.getBoundingClientRect().right > box.right + 0.5 || c.getBoundingClientRect().left < box.left - 0.5));
    return {
      text,
      title: select.title,
      textWidth: context.measureText(text).width,
      room: select.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight),
      width,
      natural,
      spacer: top.querySelector('.spacer')!.getBoundingClientRect().width,
      out: out.map((c) => c.id || c.className),
    };
  });
}

/** A patient name and ID longer than a corner's line in a 200-px pane, and a long series description. */
const LONG_NAME = 'WOLFESCHLEGELSTEINHAUSENBERGERDORFFVONALTENBURG^HUBERT';
const LONG_ID = 'PATIENT-0123456789-0123456789-0123456789-XYZ';
const LONG_DESCRIPTION = 'Chest abdomen pelvis portal venous phase 1.0 mm soft tissue kernel';

/**
 * A CT study whose numbers are as wide as the pane lines write them: the full-dose series with white
 * noise of 1500 HU (a noise σ of four figures), a low-dose copy with more, and a "denoised" series
 * that is the full-dose one with two pixels a slice 1 HU off (a PSNR over 100 dB); the patient's
 * name and ID and the series description too long for a narrow pane.
 */
async function writeWideNumbersStudy(root: string): Promise<void> {
  const { volume, origin } = generateBody({ size: 64, slices: 2, seed: 5 });
  const rng = new Rng(7);
  const noisy = { ...volume, slices: volume.slices.map((slice) => slice.map((v) => v + 1500 * rng.normal())) };
  const fullDoseDir = path.join(root, 'full-dose');
  await writeVolumeSeries(noisy, fullDoseDir, { origin, uidSeed: 'lowdose-wide-numbers', studyDescription: 'wide numbers', patientName: LONG_NAME, patientId: LONG_ID, seriesDescription: LONG_DESCRIPTION, seriesNumber: 1 });
  const fullDose = await onlySeries(fullDoseDir);
  const low = createDerivedSeriesWriter(fullDose, { outDir: path.join(root, 'low-dose'), derivationDescription: 'lowdose simulate: white Gaussian noise, SD 500 HU, seed 7 (test fixture)', seriesDescriptionSuffix: ' + noise', seriesNumber: 2 });
  const images = await Promise.all(fullDose.slices.map((_, i) => readSliceImage(fullDose, i)));
  for (const [i, image] of images.entries()) await low.writeSlice(i, image.data.map((v) => v + 500 * rng.normal()));
  const lowDose = await onlySeries(path.join(root, 'low-dose'));
  const denoised = createDerivedSeriesWriter(lowDose, { outDir: path.join(root, 'denoised'), derivationDescription: 'lowdose gaussian filter: the full-dose series, two pixels 1 HU off (test fixture)', seriesDescriptionSuffix: ' lowdose gaussian', seriesNumber: 3 });
  for (const [i, image] of images.entries()) {
    const data = Float32Array.from(image.data);
    // Two pixels well inside the range PSNR is taken over.
    const inside = data.findIndex((v, k) => k > 2000 && v > -500 && v < 1000);
    data[inside]! += 1;
    data[inside + 1]! += 1;
    await denoised.writeSlice(i, data);
  }
}

describe.skipIf(!hasChromium)('pane title bars in a narrow window (headless Chromium)', () => {
  let root: string;
  let session: ViewerSession;
  let probes: ReturnType<typeof paneProbes>;

  beforeAll(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-e2e-narrow-'));
    const data = [path.join(root, 'ct')];
    await writeFixtureStudy(data[0]!, { size: 64, slices: 3 });
    data.push(path.join(root, 'wide'));
    await writeWideNumbersStudy(data.at(-1)!);
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
  const ctComparison = () => comparisons().find((c) => session.studies.studies.some((s) => s.modalities.includes('CT') && s.description !== 'wide numbers' && s.comparisons.includes(c)))!;
  const wideComparison = () => session.studies.studies.find((s) => s.description === 'wide numbers')!.comparisons[0]!;

  /**
   * Opens the comparison again (from its low-dose series) with its numbers, the slice's and the
   * series', held back until `release`, and waits for its low-dose and denoised images.
   */
  async function openWithMetricsHeld(comparison: ComparisonSummary): Promise<{ release: () => void; unroute: () => Promise<void> }> {
    const { page } = session;
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
    return { release, unroute: () => page.unroute(metricsUrl) };
  }

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
    const bars = await titleBars(page);
    const names = Math.max(...bars.map((b) => titleNeeds(b, false)));
    const all = Math.max(...bars.map((b) => titleNeeds(b)));
    expect(all - names).toBeGreaterThan(100);
    const width = Math.round((names + all) / 2);
    await page.setViewportSize({ width: 2 * width + 2, height: 600 });
    // The view opened again with its numbers (the slice's, the series') held back until its images are drawn.
    const { release, unroute } = await openWithMetricsHeld(comparison);
    const before = await imageBoxes(page);
    expect(await page.textContent('[data-metrics="denoised"]')).not.toMatch(/^PSNR/);
    expect(await page.getAttribute('#panes', 'data-title-lines')).toBe('2');
    release();
    await expect.poll(() => page.textContent('[data-metrics="denoised"]'), POLL).toMatch(/^PSNR \d+\.\d dB · SSIM \d\.\d{3}$/);
    await unroute();
    expect(await imageBoxes(page)).toEqual(before);
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

  it('cuts a patient ID wider than a line and the list entry at 800 px, each whole in its tooltip, the list taking the room the bar has', async () => {
    const { page } = session;
    const comparison = wideComparison();
    await probes.openFromList(`c:${comparison.id}`);
    for (const key of ['lowDose', 'denoised', 'reference']) await probes.expectRealPixels(key);
    expect(await probes.paneKeys()).toEqual(['lowDose', 'denoised', 'reference', 'difference']);
    // Every part of the top-left corner on one line; the ID (and the name) cut with an ellipsis, the whole line in its tooltip.
    const parts = await page.$$eval('.pane:not([hidden]) .ov-tl .ov-part', (spans) =>
      spans.map((e) => ({ text: e.textContent ?? '', height: e.getBoundingClientRect().height, cut: e.scrollWidth > e.clientWidth, title: (e as HTMLElement).title, pointer: getComputedStyle(e).pointerEvents })),
    );
    expect(parts.filter((p) => p.height >= 20).map((p) => p.text)).toEqual([]);
    const ids = parts.filter((p) => p.text === `ID ${LONG_ID}`);
    expect(ids.length).toBe(4);
    for (const id of ids) expect(id).toMatchObject({ cut: true, title: `ID ${LONG_ID}`, pointer: 'auto' });
    expect(parts.filter((p) => p.cut && !p.title.includes(p.text)).map((p) => p.text)).toEqual([]);
    expect(parts.filter((p) => !p.cut).every((p) => p.title === '' && p.pointer === 'none')).toBe(true);
    const over = await overlays(page);
    expect(over.flatMap(overlaps)).toEqual([]);
    expect(over.flatMap(overlayUnreadable)).toEqual([]);

    // The list's entry, too long for the bar: the list takes all the room the buttons leave, the entry whole in its tooltip.
    const narrow = await listFit(page);
    expect(narrow.text).toBe(`Compare: ${comparison.description}`);
    expect(narrow.textWidth).toBeGreaterThan(narrow.room);
    expect(narrow.title.split('\n')[0]).toBe(narrow.text);
    expect(narrow.spacer).toBeLessThan(1);
    expect(narrow.out).toEqual([]);
    // Wider: the list as wide as its longest entry where the bar has the room, never narrower while the bar has room to spare.
    await page.setViewportSize({ width: 1200, height: 600 });
    for (const value of [`c:${comparison.id}`, `s:${comparison.denoised}`]) {
      await probes.openFromList(value);
      const wide = await listFit(page);
      expect(wide.title.split('\n')[0]).toBe(wide.text);
      expect(wide.out).toEqual([]);
      if (wide.width < wide.natural - 0.5) expect(wide.spacer, `${wide.text}: ${wide.width} px of ${wide.natural}`).toBeLessThan(1);
    }
    await page.setViewportSize({ width: 800, height: 600 });
    expect(session.pageErrors).toEqual([]);
  });

  it('makes room for a PSNR over 100 dB and a noise σ over 1000 HU before they arrive, so no image box moves when they do', async () => {
    const { page, app } = session;
    const comparison = wideComparison();
    const expected = (await app.inject({ url: `/api/comparisons/${comparison.id}/metrics/slices/0` })).json() as SliceMetrics;
    expect(expected.denoised!.psnr).toBeGreaterThan(100);
    expect(expected.noise.reference).toBeGreaterThan(1000);
    await probes.openFromList(`c:${comparison.id}`);
    await page.click('[data-layout="1x2"]');
    await expect.poll(() => probes.paneKeys(), POLL).toEqual(['lowDose', 'denoised']);
    await expect.poll(() => page.textContent('[data-metrics="denoised"]'), POLL).toBe(scoresLine(expected.denoised));
    // Panes 3 px narrower than the denoised pane's name, link button, scores and gaps need on one line.
    await page.setViewportSize({ width: 1600, height: 600 });
    await expect.poll(() => page.getAttribute('#panes', 'data-title-lines'), POLL).toBeNull();
    const oneLine = await titleBars(page);
    const pane = Math.ceil(titleNeeds(oneLine.find((b) => b.pane === 'denoised')!)) - 3;
    let viewport = 2 * pane + 2;
    for (let k = 0; k < 3; k++) {
      await page.setViewportSize({ width: viewport, height: 600 });
      const shown = await page.$eval('.pane[data-pane="denoised"]', (e) => e.getBoundingClientRect().width);
      if (Math.abs(shown - pane) < 0.5) break;
      viewport += Math.round(2 * (pane - shown));
    }
    expect(Math.abs((await page.$eval('.pane[data-pane="denoised"]', (e) => e.getBoundingClientRect().width)) - pane)).toBeLessThan(1);
    // The view opened again, its numbers held back until its images are drawn.
    const { release, unroute } = await openWithMetricsHeld(comparison);
    const before = await imageBoxes(page);
    expect(await page.textContent('[data-metrics="denoised"]')).not.toMatch(/^PSNR/);
    release();
    await expect.poll(() => page.textContent('[data-metrics="denoised"]'), POLL).toBe(scoresLine(expected.denoised));
    await expect.poll(() => page.textContent('[data-testid="mean-noise"]'), POLL).toMatch(/^Noise σ \d{3,}/);
    await unroute();
    expect(await imageBoxes(page)).toEqual(before);
    const after = await titleBars(page);
    expect(after.flatMap(overlaps)).toEqual([]);
    expect(after.flatMap(unreadable)).toEqual([]);
    await page.click('[data-layout="auto"]');
    await page.setViewportSize({ width: 800, height: 600 });
    expect(session.pageErrors).toEqual([]);
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
