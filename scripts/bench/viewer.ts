/**
 * How the viewer feels on a long series, in real headless Chromium.
 *
 *   npx tsx scripts/bench/viewer.ts [--slices 300] [--size 512] [--json]
 *
 * Writes a CT study of N slices (body phantom slices cycled along z, 512 x 512): normal dose, a
 * low-dose copy with 60 HU noise, and its denoised copy (`denoisePaths`, Gaussian filter, so the
 * pairing comes from a real report.json). Serves it with `buildApp` on 127.0.0.1 and opens the
 * comparison (4 panes: low-dose, denoised, reference, difference) in /usr/bin/chromium, then:
 *
 * 1. first slice: navigation start → every pane has drawn its first slice;
 * 2. cold scroll: one wheel step at a time from the middle to the end at once, each step timed from
 *    the wheel event to all four panes showing the new slice (slices still being prefetched);
 * 3. warm scroll: the same back to the start once prefetching has finished (every slice of every
 *    pane in the browser's cache), while the server computes the series metrics;
 * 4. quiet scroll: start to end again once the series metrics are done.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { readSliceImage, scanPaths } from '../../src/dicom/index.js';
import { createDerivedSeriesWriter } from '../../src/dicom/write-derived.js';
import { centredOrigin, writeVolumeSeries } from '../../src/dicom/write-volume.js';
import type { Volume } from '../../src/image.js';
import { generateBody } from '../../src/phantoms/body/index.js';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import type { StudiesResponse } from '../../src/server/api-types.js';
import { buildApp } from '../../src/server/app.js';
import { Rng } from '../../src/util/random.js';
import { roundTo } from '../../src/util/round.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const slices = option('--slices', 300);
const size = option('--size', 512);
const json = args.includes('--json');
const log = (m: string) => process.stderr.write(`${m}\n`);

function summary(values: number[]): { median: number; p95: number; max: number; n: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { median: roundTo(at(0.5), 1), p95: roundTo(at(0.95), 1), max: roundTo(sorted.at(-1)!, 1), n: sorted.length };
}

const root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-bench-viewer-'));
try {
  let t = performance.now();
  const base = generateBody({ size, slices: 4, seed: 1 }).volume;
  const volume: Volume = { ...base, slices: Array.from({ length: slices }, (_, k) => base.slices[k % base.slices.length]!), description: 'bench body' };
  await writeVolumeSeries(volume, path.join(root, 'full'), { origin: centredOrigin(volume), uidSeed: 'bench-viewer' });
  const full = (await scanPaths([path.join(root, 'full')])).series[0]!;
  const low = createDerivedSeriesWriter(full, {
    outDir: path.join(root, 'low'),
    derivationDescription: 'lowdose simulate: CT noise insertion, dose 0.25 (viewer benchmark)',
    seriesDescriptionSuffix: ' simulated 25% dose',
  });
  const rng = new Rng(3);
  for (let i = 0; i < slices; i++) {
    const { data } = await readSliceImage(full, i);
    await low.writeSlice(i, Float32Array.from(data, (v) => v + 60 * rng.normal()));
  }
  await denoisePaths([path.join(root, 'low')], { outDir: path.join(root, 'denoised'), method: 'gaussian' });
  log(`study of ${slices} slices ${size}x${size} written in ${Math.round((performance.now() - t) / 1000)} s`);

  const app = await buildApp({ data: [root], workDir: path.join(root, 'work') });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const studies = (await app.inject({ url: '/api/studies' })).json() as StudiesResponse;
  const comparison = studies.studies[0]!.comparisons[0]!;
  const browser = await chromium.launchPersistentContext(path.join(root, 'profile'), {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1600, height: 800 },
    // Only so the timing code below can be handed to the page as strings.
    bypassCSP: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
  try {
    const page = browser.pages()[0] ?? (await browser.newPage());
    const middle = Math.floor(slices / 2);
    t = performance.now();
    await page.goto(`${url}/#c=${comparison.id}&i=${middle}`);
    await page.waitForFunction(`[...document.querySelectorAll('.pane')].length === 4 && [...document.querySelectorAll('.pane')].every((p) => p.dataset.index === '${middle}')`);
    const firstAllPanesMs = roundTo(performance.now() - t, 1);
    const firstSliceMs = Number(await page.getAttribute('body', 'data-first-slice-ms'));

    // Wheel steps over the low-dose pane, each timed until all panes show the target slice. The
    // page code is a string: tsx's name helpers do not exist in the page.
    const scroll = (direction: 1 | -1, steps: number): Promise<number[]> =>
      page.evaluate(`(async () => {
        const panes = [...document.querySelectorAll('.pane')];
        const target = panes[0].querySelector('.pane-image');
        const latencies = [];
        let index = Number(panes[0].dataset.index);
        for (let s = 0; s < ${steps}; s++) {
          index += ${direction};
          const started = performance.now();
          target.dispatchEvent(new WheelEvent('wheel', { deltaY: ${100 * direction}, bubbles: true, cancelable: true }));
          await new Promise((resolve) => {
            const check = () => (panes.every((p) => Number(p.dataset.index) === index) ? resolve() : requestAnimationFrame(check));
            check();
          });
          latencies.push(performance.now() - started);
        }
        return latencies;
      })()`);
    const cold = await scroll(1, slices - 1 - middle);
    // Let the prefetcher finish: every slice of every pane cached.
    t = performance.now();
    await page.waitForFunction(`document.body.dataset.prefetch === 'done'`, null, { timeout: 300_000 });
    const prefetchRestMs = roundTo(performance.now() - t, 1);
    const warm = await scroll(-1, slices - 1);
    // Again once the server has finished the series metrics (SSIM of every slice in a worker).
    t = performance.now();
    await page.waitForSelector('[data-testid="mean-denoised-psnr"]', { timeout: 600_000 });
    const metricsRestMs = roundTo(performance.now() - t, 1);
    const quiet = await scroll(1, slices - 1);
    const result = {
      machine: `${os.cpus().length} cores, load average ${os.loadavg().map((v) => v.toFixed(1)).join(' ')}`,
      slices,
      size: [size, size],
      panes: 4,
      firstSliceMs,
      firstAllPanesMs,
      prefetchRestMs,
      coldScrollMs: summary(cold),
      warmScrollMs: summary(warm),
      metricsRestMs,
      quietScrollMs: summary(quiet),
    };
    if (json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else {
      log(`machine: ${result.machine}`);
      log(`first slice on screen: ${firstSliceMs} ms after navigation (all 4 panes: ${firstAllPanesMs} ms)`);
      log(`scroll while prefetching (${result.coldScrollMs.n} steps): median ${result.coldScrollMs.median} ms, p95 ${result.coldScrollMs.p95} ms, max ${result.coldScrollMs.max} ms per step`);
      log(`prefetch finished ${Math.round(prefetchRestMs)} ms after the cold scroll`);
      log(`scroll after prefetch (${result.warmScrollMs.n} steps): median ${result.warmScrollMs.median} ms, p95 ${result.warmScrollMs.p95} ms, max ${result.warmScrollMs.max} ms per step`);
      log(`series metrics finished ${Math.round(metricsRestMs / 1000)} s later`);
      log(`scroll after that (${result.quietScrollMs.n} steps): median ${result.quietScrollMs.median} ms, p95 ${result.quietScrollMs.p95} ms, max ${result.quietScrollMs.max} ms per step`);
    }
  } finally {
    await browser.close();
    await app.close();
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
