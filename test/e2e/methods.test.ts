/// <reference lib="dom" />
/**
 * Several denoised versions of one series side by side, in real headless Chromium (./harness.ts):
 * the low-dose input, NLM, Gaussian and a diffusion run of the same simulated low-dose series and
 * its reference, each method's pane with its own PSNR / SSIM (equal to `lowdose metrics` on the
 * same pair), chosen from the list and the methods picker; the per-slice plot goes to the slice
 * clicked; its CSV is the API's.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import { runMetrics, type MetricsResult } from '../../src/pipeline/metrics.js';
import type { ComparisonSummary } from '../../src/server/api-types.js';
import { writeFixtureStudy, type FixtureStudy } from '../server/fixture-study.js';
import { hasChromium, paneProbes, POLL, REPO, startViewer, type ViewerSession } from './harness.js';

const TEST_MODELS = path.join(REPO, 'test/fixtures-models');
/**
 * LOWDOSE_UPDATE_SCREENSHOT=1 also writes docs/viewer.png, from the shipped CT model on a 512 x 512
 * body phantom (0.84 mm pixels, within the model's training range) scanned with the CT physics at
 * full and 25 % dose, as `lowdose demo` does. The fast study of the tests (64 x 64, white noise) is
 * no picture of the methods: on white noise NLM beats the CT model (models/README.md).
 */
const UPDATE_SCREENSHOT = process.env.LOWDOSE_UPDATE_SCREENSHOT === '1';
const CLASSICAL = UPDATE_SCREENSHOT ? 'bilateral' : 'gaussian';

if (!hasChromium) console.warn('viewer multi-method tests skipped: /usr/bin/chromium not found');

describe.skipIf(!hasChromium)('several methods side by side (headless Chromium)', () => {
  let root: string;
  let study: FixtureStudy;
  let session: ViewerSession;
  let probes: ReturnType<typeof paneProbes>;
  let methods: ComparisonSummary[];
  /** `lowdose metrics` of each method's folder against the full-dose series, by method. */
  const cli = new Map<string, MetricsResult>();
  const folders: Record<string, string> = { nlm: 'denoised', [CLASSICAL]: 'gaussian', diffusion: 'diffusion' };

  beforeAll(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-e2e-methods-'));
    const data = path.join(root, 'data');
    study = await writeFixtureStudy(data, UPDATE_SCREENSHOT ? { size: 512, slices: 6, lowDose: 'physics' } : { size: 64, slices: 6 }); // its NLM
    // The CT Gaussian's default 0.35 mm barely touches a 0.84 mm slice: the screenshot shows the bilateral filter instead.
    await denoisePaths([study.lowDoseDir], { outDir: path.join(data, 'gaussian'), method: CLASSICAL });
    // The per-pixel test model is no denoiser, but a real diffusion run (sampler, report) for a third pane; the screenshot takes the shipped CT model.
    await denoisePaths(
      [study.lowDoseDir],
      UPDATE_SCREENSHOT ? { outDir: path.join(data, 'diffusion'), model: 'lowdose-ct', seed: 1 } : { outDir: path.join(data, 'diffusion'), model: path.join(TEST_MODELS, 'per-pixel.json'), steps: 2, sampler: 'warm-start', seed: 1 },
    );
    for (const [method, folder] of Object.entries(folders)) cli.set(method, (await runMetrics({ reference: study.fullDoseDir, test: path.join(data, folder) })).result);
    session = await startViewer({ data: [data], root, viewport: { width: 1600, height: 900 } });
    probes = paneProbes(session.page);
    methods = session.studies.studies.flatMap((s) => s.comparisons);
  });

  afterAll(async () => {
    await session?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  const methodKeys = ['denoised', 'denoised-2', 'denoised-3'];
  /** The method a pane shows, from its title ("Denoised (diffusion per-pixel, 2 steps)" → "diffusion"). */
  const methodOfPane = async (key: string) => /^Denoised \((\w+)/.exec(await probes.paneText(key, '.pane-name'))![1]!;

  it('shows the low-dose input, three methods and the reference, each method with its own PSNR and SSIM equal to lowdose metrics', async () => {
    const { page } = session;
    expect(methods.length).toBe(3);
    await page.goto(`${session.url}/#c=${methods[0]!.id}&i=2`);
    await page.waitForSelector(`body[data-view="c:${methods[0]!.id}"]`);
    // "Compare all 3 methods" in the list.
    const all = `m:${methods.map((m) => m.id).join(',')}`;
    await probes.openFromList(all);
    expect(await probes.paneKeys()).toEqual(['lowDose', ...methodKeys, 'reference', 'difference']);
    for (const key of ['lowDose', ...methodKeys, 'reference']) await probes.expectRealPixels(key);
    expect(new Set(await Promise.all(methodKeys.map(methodOfPane)))).toEqual(new Set(['nlm', CLASSICAL, 'diffusion']));
    // The viewer writes the hash 250 ms after the last change (main.ts scheduleHash), later under load.
    await expect.poll(() => page.evaluate(() => location.hash), POLL).toMatch(new RegExp(`^#m=${methods.map((m) => m.id).join(',')}&i=2$`));

    const slice = 2;
    for (const key of methodKeys) {
      const expected = cli.get(await methodOfPane(key))!;
      const scores = expected.slices.find((s) => s.index === slice)!;
      // The pane's line at slice 3 of 6, and the series mean in the header: lowdose metrics' numbers at the page's precision.
      await expect.poll(() => page.textContent(`[data-metrics="${key}"]`), POLL).toBe(`PSNR ${scores.psnr!.toFixed(1)} dB · SSIM ${scores.ssim.toFixed(3)}`);
      const testid = key === 'denoised' ? 'mean-denoised' : `mean-${key}`;
      await expect.poll(() => page.textContent(`[data-testid="${testid}-psnr"]`), POLL).toBe(expected.mean.psnr!.toFixed(2));
      expect(await page.textContent(`[data-testid="${testid}-ssim"]`)).toBe(expected.mean.ssim.toFixed(3));
    }
    // The methods differ: three different PSNRs.
    const texts = await Promise.all(methodKeys.map((key) => page.textContent(`[data-metrics="${key}"]`)));
    expect(new Set(texts).size).toBe(3);
  });

  it('plots PSNR, SSIM and noise of every method per slice, goes to the slice clicked, and downloads the API CSV', async () => {
    const { page } = session;
    await page.keyboard.press('s');
    await page.waitForSelector('#metrics-plot:not([hidden])');
    // A line per method and the low-dose line, for each metric.
    for (const metric of ['ssim', 'noise', 'psnr']) {
      await page.click(`#metrics-plot [data-metric="${metric}"]`);
      await expect.poll(() => page.$$eval('#metrics-plot-svg polyline', (lines) => new Set(lines.map((l) => l.getAttribute('data-line'))).size), POLL).toBe(4);
    }
    expect(await page.$$eval('#metrics-plot .plot-key', (keys) => keys.map((k) => (k as HTMLElement).dataset.line))).toEqual(['lowDose', ...methodKeys]);
    // A click over slice 5 (index 4) moves every pane there.
    const box = (await page.locator('#metrics-plot-svg').boundingBox())!;
    const geometry = await page.$eval('#metrics-plot-svg', (svg) => ({ left: Number((svg as SVGElement).dataset.left), right: Number((svg as SVGElement).dataset.right), count: Number((svg as SVGElement).dataset.count) }));
    expect(geometry.count).toBe(6);
    const x = geometry.left + ((geometry.right - geometry.left) * 4) / 5;
    await page.mouse.click(box.x + x, box.y + box.height / 2);
    await expect.poll(() => page.getAttribute('body', 'data-index'), POLL).toBe('4');
    await expect.poll(() => probes.paneIndices(), POLL).toEqual(['4', '4', '4', '4', '4', '4']);

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#metrics-csv')]);
    expect(download.suggestedFilename()).toBe('lowdose-metrics.csv');
    const csv = readFileSync((await download.path())!, 'utf8');
    const route = await session.app.inject({ url: `/api/metrics.csv?comparisons=${methods.map((m) => m.id).join(',')}` });
    expect(csv).toBe(route.body);
    // Its PSNR column is lowdose metrics' per-slice PSNR of each method.
    const rows = csv.trim().split('\n').slice(1).map((line) => line.split(','));
    for (const [method, result] of cli) {
      const psnr = rows.filter((r) => r[4] === method).map((r) => Number(r[8]));
      expect(psnr).toEqual(result.slices.map((s) => s.psnr));
    }
  });

  it('mirrors ROIs into every method pane, with a table row for each', async () => {
    const { page } = session;
    const box = (await page.locator('.pane[data-pane="lowDose"] .pane-image').boundingBox())!;
    const size = Math.min(box.width, box.height);
    const at = (fx: number, fy: number) => ({ x: box.x + box.width / 2 + (fx - 0.5) * size, y: box.y + box.height / 2 + (fy - 0.5) * size });
    const drag = async (from: readonly [number, number], to: readonly [number, number]) => {
      await page.mouse.move(at(...from).x, at(...from).y);
      await page.mouse.down();
      await page.mouse.move(at(...to).x, at(...to).y, { steps: 5 });
      await page.mouse.up();
    };
    await page.keyboard.press('r');
    await drag([0.3, 0.42], [0.42, 0.54]); // R1 in the liver
    await page.keyboard.press('b');
    await drag([0.55, 0.6], [0.65, 0.68]); // R2
    await page.keyboard.press('Escape');
    const panes = await probes.paneKeys();
    await expect.poll(() => page.$$eval('#measurements tbody tr', (rows) => rows.map((r) => `${(r as HTMLElement).dataset.measurement}:${(r as HTMLElement).dataset.pane}`)), POLL).toEqual(
      ['R1', 'R2'].flatMap((name) => panes.map((pane) => `${name}:${pane}`)),
    );
    // The methods smooth: each method's SD in R1 below the low-dose one.
    const sd = (pane: string) => page.$eval(`#measurements tbody tr[data-measurement="R1"][data-pane="${pane}"]`, (tr) => Number(tr.children[3]!.textContent));
    for (const key of methodKeys.slice(0, 1)) expect(await sd(key)).toBeLessThan(await sd('lowDose'));
    // Folded to its header line, the table covers no pane.
    await page.click('#measurements .measure-fold');
    await expect.poll(() => page.isHidden('#measurements table'), POLL).toBe(true);
    await page.mouse.move(5, 5);
    const screenshot = path.join(root, 'viewer.png');
    await page.screenshot({ path: screenshot });
    if (UPDATE_SCREENSHOT) copyFileSync(screenshot, path.join(REPO, 'docs/viewer.png'));
    await page.keyboard.press('Delete');
  });

  it('picks the methods with tick boxes: two of three, then one, recorded in the URL', async () => {
    const { page } = session;
    await page.click('#methods-summary');
    const boxes = page.locator('#methods-list input');
    expect(await boxes.count()).toBe(3);
    await boxes.nth(1).uncheck();
    const two = `m:${[methods[0]!.id, methods[2]!.id].join(',')}`;
    await page.waitForSelector(`body[data-view="${two}"]`);
    expect(await probes.paneKeys()).toEqual(['lowDose', 'denoised', 'denoised-2', 'reference', 'difference']);
    await expect.poll(() => page.evaluate(() => location.hash), POLL).toBe(`#${two.replace(':', '=')}&i=4`);
    // The slice stays; the plot has the two methods.
    await expect.poll(() => page.$$eval('#metrics-plot .plot-key', (keys) => keys.length), POLL).toBe(3);
    // The picker stays open for the next tick.
    await page.locator('#methods-list input').nth(2).uncheck();
    await page.waitForSelector(`body[data-view="c:${methods[0]!.id}"]`);
    expect(await probes.paneKeys()).toEqual(['lowDose', 'denoised', 'reference', 'difference']);
    expect(session.pageErrors).toEqual([]);
  });
});
