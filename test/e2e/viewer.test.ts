/// <reference lib="dom" />
/**
 * The viewer in real headless Chromium (Debian's /usr/bin/chromium through playwright-core),
 * served by the real app on a 127.0.0.1 port, on a study written for the test: every pane draws
 * real pixels, panes follow each other, metrics are on the page, and a file upload plus a denoise
 * job run from the page. Skipped, with a message, only where /usr/bin/chromium is absent.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeVolumeSeries } from '../../src/dicom/write-volume.js';
import { generateWater } from '../../src/phantoms/water.js';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import type { ComparisonMetrics, SliceMetrics, StudiesResponse } from '../../src/server/api-types.js';
import { buildApp } from '../../src/server/app.js';
import { packageVersion } from '../../src/util/package-root.js';
import { formatValue } from '../../src/server/pane-text.js';
import { writeFixtureStudy, type FixtureStudy } from '../server/fixture-study.js';
import { CHROMIUM, hasChromium, paneProbes, POLL, REPO } from './harness.js';
import { referenceUptake, type ReferenceEllipse } from './pet-roi-reference.js';

const TEST_MODELS = path.join(REPO, 'test/fixtures-models');
if (!hasChromium) {
  console.warn(`viewer end-to-end tests skipped: ${CHROMIUM} not found (Debian's chromium package; .ci/run installs it)`);
}

let root: string;
let study: FixtureStudy;
let app: FastifyInstance;
let url: string;
let browser: BrowserContext;
let page: Page;
let studies: StudiesResponse;
const pageErrors: string[] = [];
/** The pane probes of ./harness.ts, on `page` once it is open. */
let probes: ReturnType<typeof paneProbes>;

describe.skipIf(!hasChromium)('viewer in headless Chromium', () => {
  beforeAll(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-e2e-'));
    const data = path.join(root, 'data');
    study = await writeFixtureStudy(data, { size: 128, slices: 8 });
    // A second denoising of the same series as a 2-sample ensemble, for the uncertainty pane. The
    // per-pixel test model is no denoiser: this only gives the viewer a real uncertainty series.
    await denoisePaths([study.lowDoseDir], {
      outDir: path.join(data, 'ensemble'),
      model: path.join(TEST_MODELS, 'per-pixel.json'),
      samples: 2,
      steps: 2,
      sampler: 'warm-start',
      seed: 5,
    });
    // A study outside the data folder, uploaded through the page later.
    const { volume, origin } = generateWater({ size: 96, slices: 6, seed: 2 });
    for (const slice of volume.slices) for (let k = 0; k < slice.length; k++) slice[k]! += 40 * Math.sin(k * 12.9898) * Math.cos(k * 0.71);
    // Labelled as a lung-kernel reconstruction: the page must show the E_SHARP_KERNEL warning for it.
    await writeVolumeSeries(volume, path.join(root, 'upload-me'), {
      origin,
      studyDescription: 'uploaded from the page',
      uidSeed: 'e2e-upload',
      convolutionKernel: 'LUNG',
    });

    // A PET study: the IEC fixture at 25 % counts, denoised by the shipped PET model (its card's
    // measured lesion bias gives the run an E_LESION_BIAS warning), against its full-count scan.
    const iec = path.join(REPO, 'fixtures/iec');
    cpSync(path.join(iec, 'dose25'), path.join(data, 'pet', 'low'), { recursive: true });
    cpSync(path.join(iec, 'dose100'), path.join(data, 'pet', 'full'), { recursive: true });
    await denoisePaths([path.join(data, 'pet', 'low')], {
      outDir: path.join(data, 'pet', 'denoised'),
      device: 'cpu',
      threads: 1,
      doseLevel: 0.25,
      reference: [path.join(data, 'pet', 'full')],
    });

    const viewerDir = path.join(root, 'viewer');
    execFileSync(process.execPath, [path.join(REPO, 'scripts/build-viewer.mjs'), '--outdir', viewerDir], { stdio: 'pipe' });
    // The per-pixel test model with a calibration block and a noisy warm start (its ensemble then
    // spreads), for a job with uncertainty from the Denoise dialog; a 1 HU threshold so the overlay has pixels.
    const calibrated = path.join(root, 'models');
    mkdirSync(calibrated);
    const card = JSON.parse(readFileSync(path.join(TEST_MODELS, 'per-pixel.json'), 'utf8')) as { sampler: object };
    const uncertainty = { samples: 2, calibration: [{ samples: 2, spreadScale: 3, noiseScale: 0.5, noiseWindowMm: 12 }], threshold: 1, units: 'HU' };
    writeFileSync(
      path.join(calibrated, 'calibrated.json'),
      JSON.stringify({ ...card, name: 'calibrated', onnx: 'calibrated.onnx', sampler: { ...card.sampler, default: 'warm-start', steps: 2 }, uncertainty }),
    );
    copyFileSync(path.join(TEST_MODELS, 'per-pixel.onnx'), path.join(calibrated, 'calibrated.onnx'));
    app = await buildApp({ data: [data], workDir: path.join(root, 'work'), viewerDir, modelDirs: [TEST_MODELS, calibrated] });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    studies = (await app.inject({ url: '/api/studies' })).json() as StudiesResponse;

    browser = await chromium.launchPersistentContext(path.join(root, 'chromium-profile'), {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1600, height: 760 },
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
    });
    page = browser.pages()[0] ?? (await browser.newPage());
    page.on('pageerror', (error) => pageErrors.push(error.message));
    probes = paneProbes(page);
  });

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  const studyOf = (modality: string) => studies.studies.find((s) => s.modalities.includes(modality) && s.comparisons.length > 0)!;
  const nlmComparison = () => studyOf('CT').comparisons.find((c) => c.uncertainty === null)!;
  const ensembleComparison = () => studyOf('CT').comparisons.find((c) => c.uncertainty !== null)!;

  it('opens on a comparison and draws real pixels in every pane', async () => {
    const comparison = nlmComparison();
    await page.goto(`${url}/#c=${comparison.id}&i=3`);
    await page.waitForSelector('body[data-first-slice-ms]');
    console.info(`first slice on screen ${await page.getAttribute('body', 'data-first-slice-ms')} ms after navigation started`);
    expect(await probes.paneKeys()).toEqual(['lowDose', 'denoised', 'reference', 'difference']);
    for (const key of await probes.paneKeys()) await probes.expectRealPixels(key);
    await expect.poll(probes.paneIndices, POLL).toEqual(['3', '3', '3', '3']);
    // A phantom series without kernel warnings: no warning bar.
    expect(await page.isHidden('#series-warnings')).toBe(true);
    // The panes show different images, not one image four times.
    const hashes = await Promise.all((await probes.paneKeys()).map(async (k) => (await probes.canvasStats(k)).hash));
    expect(new Set(hashes).size).toBe(4);
    // Which software made the denoised series, under its description top right, with the derivation in the tooltip; none on the source.
    const provenance = page.locator('.pane[data-pane="denoised"] .ov-provenance');
    expect(await provenance.textContent()).toBe(`nlm filter · lowdose ${packageVersion()}`);
    expect(await provenance.isVisible()).toBe(true);
    expect(await provenance.getAttribute('title')).toMatch(/\nlowdose nlm filter/);
    expect(await page.isHidden('.pane[data-pane="lowDose"] .ov-provenance')).toBe(true);
  });

  it('scrolls every pane together from the wheel over one pane, the keyboard and the slider', async () => {
    const before = await probes.canvasStats('denoised');
    const centre = await probes.centreOf('reference');
    await page.mouse.move(centre.x, centre.y);
    await page.mouse.wheel(0, 120);
    await expect.poll(probes.paneIndices, POLL).toEqual(['4', '4', '4', '4']);
    await expect.poll(async () => (await probes.canvasStats('denoised')).hash, POLL).not.toBe(before.hash);
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('ArrowUp');
    await expect.poll(probes.paneIndices, POLL).toEqual(['2', '2', '2', '2']);
    await page.keyboard.press('End');
    await expect.poll(probes.paneIndices, POLL).toEqual(['7', '7', '7', '7']);
    await page.locator('#slice-slider').fill('5');
    await expect.poll(probes.paneIndices, POLL).toEqual(['5', '5', '5', '5']);
    expect(await page.textContent('#slice-label')).toBe('6 / 8');
  });

  it('shows per-slice PSNR and SSIM beside the slices and the series means in the header', async () => {
    const comparison = nlmComparison();
    const expected = (await app.inject({ url: `/api/comparisons/${comparison.id}/metrics/slices/5` })).json() as SliceMetrics;
    const text = (key: string) => page.textContent(`[data-metrics="${key}"]`);
    await expect.poll(() => text('denoised'), POLL).toBe(`PSNR ${expected.denoised!.psnr!.toFixed(1)} dB · SSIM ${expected.denoised!.ssim.toFixed(3)}`);
    expect(await text('lowDose')).toBe(`PSNR ${expected.lowDose!.psnr!.toFixed(1)} dB · SSIM ${expected.lowDose!.ssim.toFixed(3)}`);
    const series = (await app.inject({ url: `/api/comparisons/${comparison.id}/metrics` })).json() as ComparisonMetrics;
    await expect.poll(() => page.textContent('[data-testid="mean-denoised-psnr"]'), POLL).toBe(series.mean.denoised!.psnr!.toFixed(2));
    expect(await page.textContent('[data-testid="mean-low-dose-ssim"]')).toBe(series.mean.lowDose!.ssim.toFixed(3));
    // Noise: low-dose → denoised, read against the reference's (the full dose's) own estimate.
    const noise = series.mean.noise;
    expect(await page.textContent('[data-testid="mean-noise"]')).toBe(`Noise σ ${formatValue(noise.lowDose!)} → ${formatValue(noise.denoised!)} HU (reference ${formatValue(noise.reference!)} HU)`);
    expect(await text('reference')).toBe(`noise σ ${formatValue(expected.noise.reference!)} HU`);
  });

  it('keeps window / level, zoom and pan the same in every pane', async () => {
    const footers = () => page.$$eval('.pane:not([hidden]) .pane-window', (els) => els.map((e) => e.textContent));
    await page.keyboard.press('2');
    await expect.poll(footers, POLL).toEqual(['W 1500 L -600 HU', 'W 1500 L -600 HU', 'W 1500 L -600 HU', '±100 HU']);
    // Left drag windows the pane under the mouse; the other anatomy panes follow.
    const centre = await probes.centreOf('denoised');
    await page.mouse.move(centre.x, centre.y);
    await page.mouse.down();
    await page.mouse.move(centre.x + 60, centre.y + 40, { steps: 5 });
    await page.mouse.up();
    // Poll for the change itself: before the drag is applied the panes already agree.
    const windowed = async () => {
      const now = await footers();
      return new Set(now.slice(0, 3)).size === 1 && now[1] !== 'W 1500 L -600 HU';
    };
    await expect.poll(windowed, POLL).toBe(true);
    const after = await footers();
    expect(after[3]).toBe('±100 HU');
    // Right drag zooms; every pane takes the same scale.
    const scales = () => page.$$eval('.pane:not([hidden])', (els) => els.map((e) => (e as HTMLElement).dataset.scale));
    const scaleBefore = (await scales())[0];
    const low = await probes.centreOf('lowDose');
    await page.mouse.move(low.x, low.y);
    await page.mouse.down({ button: 'right' });
    await page.mouse.move(low.x, low.y - 80, { steps: 5 });
    await page.mouse.up({ button: 'right' });
    const zoomed = async () => {
      const now = await scales();
      return new Set(now).size === 1 && now[0] !== scaleBefore;
    };
    await expect.poll(zoomed, POLL).toBe(true);
    await page.keyboard.press('f');
    await page.keyboard.press('1');
  });

  it('draws one ellipse ROI that reports mean ± SD in every pane', async () => {
    await page.keyboard.press('r');
    const centre = await probes.centreOf('lowDose');
    // An ellipse in the liver, left of the image centre.
    await page.mouse.move(centre.x - 100, centre.y - 20);
    await page.mouse.down();
    await page.mouse.move(centre.x - 40, centre.y + 25, { steps: 6 });
    await page.mouse.up();
    const rois = () => page.$$eval('.pane:not([hidden]) .pane-roi', (els) => els.map((e) => e.textContent ?? ''));
    await expect.poll(async () => (await rois()).every((t) => /^mean -?\d+\.\d+ ± \d+\.\d+ HU$/.test(t)), POLL).toBe(true);
    const std = (text: string) => Number(text.match(/± ([\d.]+)/)![1]);
    const [low, denoised] = await rois();
    // The ROI sits in the same place in each pane: the denoised pane shows less noise there.
    expect(std(denoised!)).toBeLessThan(std(low!));
    await page.keyboard.press('Escape');
  });

  it('shows and hides panes, and explains the shortcuts on "?"', async () => {
    await page.keyboard.press('d');
    expect(await probes.paneKeys()).toEqual(['lowDose', 'denoised', 'reference']);
    await page.keyboard.press('d');
    expect(await probes.paneKeys()).toEqual(['lowDose', 'denoised', 'reference', 'difference']);
    await probes.expectRealPixels('difference');
    await page.keyboard.press('?');
    await expect.poll(() => page.isVisible('#help'), POLL).toBe(true);
    expect(await page.textContent('#help')).toContain('next slice');
    const screenshot = path.join(root, 'viewer.png');
    await page.keyboard.press('Escape');
    await expect.poll(() => page.isVisible('#help'), POLL).toBe(false);
    await page.screenshot({ path: screenshot });
  });

  it('shows the ensemble uncertainty in its own pane', async () => {
    const comparison = ensembleComparison();
    await page.selectOption('#view-select', `c:${comparison.id}`);
    await page.waitForSelector(`body[data-view="c:${comparison.id}"]`);
    expect(await probes.paneKeys()).toEqual(['lowDose', 'denoised', 'reference', 'difference', 'uncertainty']);
    await probes.expectRealPixels('uncertainty');
    // A raw spread (no calibration) opens at 0 to the slice's 99th percentile, as its series is written.
    const uncertaintyWindowText = () => page.textContent('.pane[data-pane="uncertainty"] .pane-window');
    await expect.poll(uncertaintyWindowText, POLL).toMatch(/^SD 0\.00–[0-9.]+ HU · not calibrated$/);
    // O overlays the uncertainty above its threshold on the denoised pane, and takes it off again.
    await page.keyboard.press('o');
    await page.waitForSelector('.pane[data-pane="denoised"][data-overlay="uncertainty"][data-overlay-pixels]');
    expect(await page.getAttribute('[data-toggle="overlay"]', 'aria-pressed')).toBe('true');
    await page.keyboard.press('o');
    await page.waitForSelector('.pane[data-pane="denoised"][data-overlay=""]');
  });

  it('reads SUVmean, SUVmax and SUVpeak in the ROI of a PET comparison', async () => {
    const comparison = studyOf('PT').comparisons[0]!;
    await page.selectOption('#view-select', `c:${comparison.id}`);
    await page.waitForSelector(`body[data-view="c:${comparison.id}"]`);
    await probes.expectRealPixels('lowDose');
    // The 37 mm sphere at (-49.5, -28.6) mm: pixel (45.8, 53.3) of 128 at 2.73 mm, on the slices at z = ±1.5 mm.
    await page.keyboard.press('End');
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('ArrowUp');
    // Every pane draws that slice before the ROI goes on it: the readout is of the slice a pane
    // draws, and under load a pane can still draw an earlier one for a while.
    const target = String(Number(await page.getAttribute('#slice-slider', 'max')) - 2);
    await expect.poll(async () => (await probes.paneIndices()).slice(0, 3), POLL).toEqual([target, target, target]);
    const box = (await page.locator('.pane[data-pane="lowDose"] .pane-image').boundingBox())!;
    const size = Math.min(box.width, box.height);
    const at = (column: number, row: number) => ({ x: box.x + box.width / 2 + (column / 128 - 0.5) * size, y: box.y + box.height / 2 + (row / 128 - 0.5) * size });
    await page.keyboard.press('r');
    const from = at(41.8, 49.3);
    const to = at(49.8, 57.3);
    await page.mouse.move(from.x, from.y);
    await page.mouse.down();
    await page.mouse.move(to.x, to.y, { steps: 5 });
    await page.mouse.up();
    // The ROI as drawn, in low-dose pixels: the measurement table's row of it (written on mouse up).
    const drawn = () => page.$$eval('.measure-table tr[data-pane="lowDose"][data-shape]', (rows) => rows.at(-1)?.getAttribute('data-shape') ?? null);
    await expect.poll(drawn, POLL).toMatch(/"kind":"ellipse"/);
    const roi = (JSON.parse((await drawn())!) as { ellipse: ReferenceEllipse }).ellipse;
    for (const [got, want] of [[roi.cx, 45.8], [roi.cy, 53.3], [roi.rx, 4], [roi.ry, 4]] as const) expect(Math.abs(got - want)).toBeLessThan(0.25);
    // What each pane should read there, from its series' DICOM files alone (./pet-roi-reference.ts).
    // SUVpeak is not bounded by SUVmax: its sphere reaches the slices within 6 mm and past the ellipse.
    const lowDoseSeries = (await app.inject({ url: `/api/series/${comparison.lowDose}` })).json() as { locations: Array<number | null> };
    const location = lowDoseSeries.locations[Number(target)]!;
    const pet = path.join(root, 'data', 'pet');
    const dirs = { lowDose: path.join(pet, 'low'), denoised: path.join(pet, 'denoised'), reference: path.join(pet, 'full') };
    const expected = Object.fromEntries(Object.entries(dirs).map(([key, dir]) => [key, referenceUptake(dir, location, roi)]));
    // The IEC fixture is 4 slices of 3 mm (12 mm): every 1 cm³ sphere off its mid-plane reaches past
    // its first or last slice, and the readout says so.
    const pattern = /^SUVmean (\d+\.\d\d) ± (\d+\.\d\d) · SUVmax (\d+\.\d\d) · SUVpeak \(sphere cut by the volume's edge\) (\d+\.\d\d)$/;
    const readouts = async () =>
      new Map(await page.$$eval('.pane:not([hidden])', (panes) => panes.map((p) => [(p as HTMLElement).dataset.pane!, p.querySelector('.pane-roi')?.textContent ?? ''] as const)));
    // The readouts of one moment, each within the printed rounding of the files' numbers. Polled
    // until they are: while the drag's last ellipse is still being measured and drawn a pane may show
    // SUVpeak "…" or the readout of one of the drag's earlier, smaller ellipses.
    const mismatches = async () => {
      const shown = await readouts();
      return Object.entries(expected).flatMap(([key, want]) => {
        const text = shown.get(key) ?? '(pane not shown)';
        const numbers = text.match(pattern)?.slice(1).map(Number);
        if (!numbers) return [`${key}: "${text}"`];
        return (['mean', 'sd', 'max', 'peak'] as const).flatMap((name, k) =>
          Math.abs(numbers[k]! - want[name]) <= 0.01 + 1e-9 ? [] : [`${key} ${name}: page ${numbers[k]!.toFixed(2)}, files ${want[name].toFixed(4)}`],
        );
      });
    };
    await expect.poll(mismatches, POLL).toEqual([]);
    // Denoising lowers the noise-inflated SUVmax of the 25 % scan.
    expect(expected.denoised!.max).toBeLessThan(expected.lowDose!.max);
    // Under the denoised pane's readout, one line of the model's measured lesion bias at 25 % counts; none under the others.
    const caveat = page.locator('.pane[data-pane="denoised"] .pane-caveat');
    expect(await caveat.isVisible()).toBe(true);
    expect(await caveat.textContent()).toMatch(/^lesion bias ≥17 mm at 25 %: SUVmean -\d+\.\d %, SUVmax [+-]\d+\.\d %$/);
    expect(await page.textContent('#series-warnings [data-code="E_LESION_BIAS"]')).toMatch(/lesion SUVs read on this series carry model lowdose-pet's measured bias/);
    expect(await page.isHidden('.pane[data-pane="lowDose"] .pane-caveat')).toBe(true);
    await page.keyboard.press('Escape');
  });

  it('uploads a series and denoises it from the page, with a progress bar, then compares', async () => {
    const files = readdirSync(path.join(root, 'upload-me')).map((f) => path.join(root, 'upload-me', f));
    await page.setInputFiles('#upload-files', files);
    await page.waitForSelector('body[data-view^="s:"]');
    expect(await probes.paneKeys()).toEqual(['lowDose']);
    await probes.expectRealPixels('lowDose');
    expect(await page.isVisible('#series-warnings')).toBe(true);
    expect(await page.textContent('#series-warnings [data-code="E_SHARP_KERNEL"]')).toMatch(/kernel LUNG looks sharp/);

    // Record every progress value the bar shows.
    await page.evaluate(() => {
      const bar = document.getElementById('job-progress')!;
      const seen: string[] = [];
      (window as unknown as { progressSeen: string[] }).progressSeen = seen;
      new MutationObserver(() => seen.push(bar.dataset.fraction ?? '')).observe(bar, { attributes: true, attributeFilter: ['data-fraction'] });
    });
    await page.click('#denoise-button');
    await page.selectOption('#denoise-method', 'nlm');
    await page.click('#denoise-start');
    await page.waitForSelector('body[data-view^="c:"]', { timeout: 30_000 });
    const seen = await page.evaluate(() => (window as unknown as { progressSeen: string[] }).progressSeen.map(Number));
    expect(seen.some((f) => f > 0 && f < 1)).toBe(true);
    expect(await probes.paneKeys()).toEqual(['lowDose', 'denoised', 'difference']);
    for (const key of await probes.paneKeys()) await probes.expectRealPixels(key);
    // Scored against the uploaded scan itself, an original (its pane's title): the line says so.
    expect(await probes.paneText('lowDose', '.pane-name')).toBe('Original');
    await expect.poll(() => page.textContent('[data-metrics="denoised"]'), POLL).toMatch(/^PSNR \d+\.\d dB · SSIM 0\.\d{3} {2}\(vs original\)$/);
    expect(await page.textContent('[data-metrics="lowDose"]')).toMatch(/^noise σ \d+(\.\d+)? HU$/);
    expect(pageErrors).toEqual([]);
  });

  it('denoises with calibrated uncertainty from the Denoise dialog and overlays it on the result with O', async () => {
    const lowDose = await page.evaluate(() => document.body.dataset.view);
    await page.click('#denoise-button');
    await page.selectOption('#denoise-method', 'diffusion');
    await page.selectOption('#denoise-model', 'calibrated');
    expect(await page.inputValue('#denoise-samples')).toBe('1');
    await page.check('#denoise-uncertainty');
    // Ticking it leaves the ensemble size to the card's calibration.
    expect(await page.inputValue('#denoise-samples')).toBe('');
    const posted = page.waitForRequest((request) => request.url().endsWith('/api/jobs') && request.method() === 'POST');
    await page.click('#denoise-start');
    expect((await posted).postDataJSON()).toMatchObject({ options: { method: 'diffusion', model: 'calibrated', uncertainty: true } });
    await page.waitForFunction((before) => document.body.dataset.view?.startsWith('c:') && document.body.dataset.view !== before, lowDose, { timeout: 30_000 });
    expect(await probes.paneKeys()).toEqual(['lowDose', 'denoised', 'difference', 'uncertainty']);
    await probes.expectRealPixels('uncertainty');
    // Calibrated σ opens at 0 to 4 × the card's threshold (1 HU), the threshold a quarter up the scale.
    await expect.poll(() => page.textContent('.pane[data-pane="uncertainty"] .pane-window'), POLL).toBe('σ 0.00–4.00 HU · threshold 1.00 at 25 %');
    await page.keyboard.press('o');
    await page.waitForSelector('.pane[data-pane="denoised"][data-overlay="uncertainty"][data-overlay-pixels]');
    expect(Number(await page.getAttribute('.pane[data-pane="denoised"]', 'data-overlay-pixels'))).toBeGreaterThan(0);
    await page.keyboard.press('o');
    await page.waitForSelector('.pane[data-pane="denoised"][data-overlay=""]');
    expect(pageErrors).toEqual([]);
  });
});
