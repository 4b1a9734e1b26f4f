/// <reference lib="dom" />
/**
 * What the viewer's end-to-end test files share: the real app on a 127.0.0.1 port with a freshly
 * built viewer, Debian's Chromium through playwright-core, and page probes (canvas statistics,
 * pane keys and indices, a pane's pixel). Each test file writes its own studies and calls
 * `startViewer`; files skip themselves with `describe.skipIf(!hasChromium)`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { expect } from 'vitest';
import type { DicomwebClientOptions } from '../../src/dicomweb/client.js';
import type { StudiesResponse } from '../../src/server/api-types.js';
import { buildApp, type BuildAppOptions } from '../../src/server/app.js';

export const CHROMIUM = '/usr/bin/chromium';
export const REPO = path.resolve(import.meta.dirname, '../..');
export const hasChromium = existsSync(CHROMIUM);
/** CI machines are slow and shared: a working page answers in well under a second, but allow 45 s. */
export const POLL = { timeout: 45_000, interval: 50 };

export interface ViewerSession {
  readonly app: FastifyInstance;
  readonly url: string;
  readonly page: Page;
  readonly browser: BrowserContext;
  readonly studies: StudiesResponse;
  /** Uncaught errors of the page. */
  readonly pageErrors: string[];
  close(): Promise<void>;
}

export interface StartOptions {
  /** Data folders served. */
  readonly data: string[];
  /** A scratch folder of the test (work dir, viewer build, browser profile go under it). */
  readonly root: string;
  readonly modelDirs?: string[];
  readonly viewport?: { width: number; height: number };
  /** `serve --dicomweb`: the DICOMweb server the viewer browses. */
  readonly dicomweb?: { base: string; client?: DicomwebClientOptions };
  /** `serve --dimse`: the DIMSE PACS the viewer browses. */
  readonly dimse?: BuildAppOptions['dimse'];
}

export async function startViewer(options: StartOptions): Promise<ViewerSession> {
  const viewerDir = path.join(options.root, 'viewer');
  execFileSync(process.execPath, [path.join(REPO, 'scripts/build-viewer.mjs'), '--outdir', viewerDir], { stdio: 'pipe' });
  const app = await buildApp({
    data: options.data,
    workDir: path.join(options.root, 'work'),
    viewerDir,
    ...(options.modelDirs ? { modelDirs: options.modelDirs } : {}),
    ...(options.dicomweb ? { dicomweb: options.dicomweb } : {}),
    ...(options.dimse ? { dimse: options.dimse } : {}),
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const studies = (await app.inject({ url: '/api/studies' })).json() as StudiesResponse;
  const browser = await chromium.launchPersistentContext(path.join(options.root, 'chromium-profile'), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: options.viewport ?? { width: 1600, height: 760 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
  const page = browser.pages()[0] ?? (await browser.newPage());
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.stack ?? error.message));
  return {
    app,
    url,
    page,
    browser,
    studies,
    pageErrors,
    close: async () => {
      await browser.close();
      await app.close();
    },
  };
}

/** Probes of the page's panes. */
export function paneProbes(page: Page) {
  /** Grey-level statistics of a pane's canvas: blank or flat canvases have almost no spread. */
  const canvasStats = (key: string): Promise<{ std: number; nonBlack: number; hash: number }> =>
    page.evaluate((paneKey) => {
      const canvas = document.querySelector<HTMLCanvasElement>(`.pane[data-pane="${paneKey}"] canvas`);
      if (!canvas || canvas.width === 0) return { std: 0, nonBlack: 0, hash: 0 };
      const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
      let n = 0;
      let sum = 0;
      let squares = 0;
      let nonBlack = 0;
      let hash = 0;
      for (let i = 0; i < data.length; i += 4) {
        const v = (data[i]! + data[i + 1]! + data[i + 2]!) / 3;
        n++;
        sum += v;
        squares += v * v;
        if (v > 8) nonBlack++;
        hash = (hash * 31 + data[i]! + 7 * data[i + 1]! + 13 * data[i + 2]!) | 0;
      }
      const mean = sum / n;
      return { std: Math.sqrt(squares / n - mean * mean), nonBlack: nonBlack / n, hash };
    }, key);

  /** RGB of a pane's canvas at (fx, fy), fractions of the canvas size. */
  const pixelAt = (key: string, fx: number, fy: number): Promise<[number, number, number]> =>
    page.evaluate(
      ([paneKey, x, y]) => {
        const canvas = document.querySelector<HTMLCanvasElement>(`.pane[data-pane="${paneKey}"] canvas`)!;
        const d = canvas.getContext('2d')!.getImageData(Math.round(x * (canvas.width - 1)), Math.round(y * (canvas.height - 1)), 1, 1).data;
        return [d[0]!, d[1]!, d[2]!] as [number, number, number];
      },
      [key, fx, fy] as const,
    );

  const paneKeys = (): Promise<string[]> => page.$$eval('.pane:not([hidden])', (panes) => panes.map((p) => (p as HTMLElement).dataset.pane!));
  const paneIndices = (): Promise<string[]> => page.$$eval('.pane:not([hidden])', (panes) => panes.map((p) => (p as HTMLElement).dataset.index ?? ''));
  const paneText = (key: string, selector: string): Promise<string> => page.$eval(`.pane[data-pane="${key}"] ${selector}`, (e) => e.textContent ?? '');

  const centreOf = async (key: string): Promise<{ x: number; y: number }> => {
    const box = (await page.locator(`.pane[data-pane="${key}"] .pane-image`).boundingBox())!;
    return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
  };

  const expectRealPixels = async (key: string): Promise<void> => {
    // Both facts from one read of the canvas: a pane redrawn between two reads (a series replacing a
    // comparison) can show an image to the first and a cleared canvas to the second.
    await expect
      .poll(async () => {
        const stats = await canvasStats(key);
        return { drawsAnImage: stats.std > 4, notMostlyBlack: stats.nonBlack > 0.02 };
      }, { ...POLL, message: `pane ${key} draws an image that is not mostly black` })
      .toEqual({ drawsAnImage: true, notMostlyBlack: true });
  };

  /** Opens a comparison (`c:<id>`) or series (`s:<id>`) from the top-left list and waits for it. */
  const openFromList = async (value: string): Promise<void> => {
    await page.selectOption('#view-select', value);
    await page.waitForSelector(`body[data-view="${value}"]`);
  };

  return { canvasStats, pixelAt, paneKeys, paneIndices, paneText, centreOf, expectRealPixels, openFromList };
}
