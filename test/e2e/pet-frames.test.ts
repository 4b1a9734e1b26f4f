/// <reference lib="dom" />
/**
 * A dynamic or gated PET acquisition in the viewer, in real headless Chromium (./harness.ts): each
 * time point and gate is labelled with its number and timing in the series list and in the titles
 * of its panes, the denoised pane with its own series' frame (the same as the low-dose pane's), and
 * a static series gets no label. make-pet-timing.py's dynamic (3 time points of 60, 120 and 300 s)
 * and gated (2 R-R windows x 3 trigger times) series, denoised in the test with the Gaussian filter.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import type { ComparisonSummary, SeriesSummary } from '../../src/server/api-types.js';
import { hasPydicom, makePetTiming } from '../helpers/pet-timing.js';
import { hasChromium, paneProbes, POLL, startViewer, type ViewerSession } from './harness.js';

const T2 = 't2 / 3 · 60–180 s (mid 120 s)';
const T2_TOOLTIP = 'time point 2 of 3: start 60 s, duration 120 s, mid 120 s, FrameReferenceTime 120 s (from the SeriesTime), acquired 19600614152416.921000';
const G5 = 'gate 5 / 6 · trigger 250 ms · R-R 1000–1400 ms';

describe.skipIf(!hasChromium || !hasPydicom)('dynamic and gated PET frames in the viewer (headless Chromium)', () => {
  let root: string;
  let session: ViewerSession;
  let probes: ReturnType<typeof paneProbes>;

  beforeAll(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-e2e-pet-frames-'));
    const input = path.join(root, 'in');
    makePetTiming(input);
    const dynamic = path.join(input, 'dynamic');
    const gated = path.join(input, 'gated');
    await denoisePaths([dynamic, gated], { outDir: path.join(root, 'out'), method: 'gaussian' });
    session = await startViewer({ data: [dynamic, gated, path.join(input, 'midnight'), path.join(root, 'out')], root });
    probes = paneProbes(session.page);
  });

  afterAll(async () => {
    await session?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  const allSeries = (): SeriesSummary[] => session.studies.studies.flatMap((s) => s.series);
  const source = (tag: string): SeriesSummary => allSeries().find((s) => s.role === 'original' && s.petFrame?.tag === tag)!;
  const comparisonOf = (tag: string): ComparisonSummary =>
    session.studies.studies.flatMap((s) => s.comparisons).find((c) => c.lowDose === source(tag).id)!;
  const listEntry = (value: string): Promise<{ text: string; title: string }> =>
    session.page.$eval(`#view-select option[value="${value}"]`, (o) => ({ text: o.textContent ?? '', title: (o as HTMLOptionElement).title }));
  const frameText = (key: string): Promise<string | null> =>
    session.page.$eval(`.pane[data-pane="${key}"] .pane-frame`, (e) => ((e as HTMLElement).hidden ? null : e.textContent));

  it('labels each time point and gate in the series list, its timing as the tooltip', async () => {
    const { page } = session;
    await page.goto(session.url);
    await page.waitForSelector('body[data-view]');
    const t2 = await listEntry(`s:${source('t02').id}`);
    expect(t2.text).toMatch(/^Series: .*\(original, 2 slices\) · t2 \/ 3 · 60–180 s \(mid 120 s\)$/);
    expect(t2.title).toBe(T2_TOOLTIP);
    expect((await listEntry(`c:${comparisonOf('t02').id}`)).text).toMatch(new RegExp(`^Compare: .* · ${T2.replace(/[()/]/g, '\\$&')}$`));
    expect((await listEntry(`s:${source('g05').id}`)).text.endsWith(` · ${G5}`)).toBe(true);
    expect((await listEntry(`c:${comparisonOf('g05').id}`)).text.endsWith(` · ${G5}`)).toBe(true);
    // Three time points and six gates, each its own label, for the sources and the denoised series alike.
    const texts = await page.$$eval('#view-select option', (options) => options.map((o) => o.textContent ?? ''));
    expect(texts.filter((t) => / · t\d \/ 3 · /.test(t))).toHaveLength(3 * 3);
    expect(texts.filter((t) => / · gate \d \/ 6 · /.test(t))).toHaveLength(6 * 3);
    // A static series: no label.
    const fixed = allSeries().find((s) => !s.petFrame)!;
    expect((await listEntry(`s:${fixed.id}`)).text).toMatch(/^Series: .*\(original, 1 slices\)$/);
  });

  it('titles every pane of a time point comparison with its frame, the denoised pane from its own series', async () => {
    await probes.openFromList(`c:${comparisonOf('t02').id}`);
    await probes.expectRealPixels('denoised');
    for (const key of ['lowDose', 'denoised', 'difference']) expect(await frameText(key)).toBe(T2);
    expect(await session.page.$eval('.pane[data-pane="denoised"] .pane-frame', (e) => (e as HTMLElement).title)).toBe(T2_TOOLTIP);
    // The role titles and the toolbar's buttons are as for any series.
    expect(await probes.paneText('lowDose', '.pane-name')).toBe('Original');
    expect(await probes.paneText('denoised', '.pane-name')).toBe('Denoised (gaussian)');
    expect(await session.page.textContent('[data-toggle="lowDose"]')).toBe('Original');
    // The Denoise dialog says which time point a job would denoise.
    await session.page.click('#denoise-button');
    await expect.poll(() => session.page.textContent('#denoise-target'), POLL).toMatch(new RegExp(`^PT · .* · ${T2.replace(/[()/]/g, '\\$&')}$`));
    await session.page.keyboard.press('Escape');
  });

  it('titles the panes of a gate with its trigger time and R-R window', async () => {
    await probes.openFromList(`c:${comparisonOf('g05').id}`);
    await probes.expectRealPixels('denoised');
    for (const key of ['lowDose', 'denoised']) expect(await frameText(key)).toBe(G5);
  });

  it('gives a static series no frame label', async () => {
    await probes.openFromList(`s:${allSeries().find((s) => !s.petFrame)!.id}`);
    await probes.expectRealPixels('lowDose');
    expect(await frameText('lowDose')).toBeNull();
    expect(session.pageErrors).toEqual([]);
  });
});
