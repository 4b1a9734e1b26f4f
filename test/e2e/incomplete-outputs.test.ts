/// <reference lib="dom" />
/**
 * The viewer in headless Chromium on a `denoise --uncertainty --hallucination` run stopped after 2
 * of 5 slices (the shipped CT model's 2-sample ensemble, one step, on a generated 64x64 CT): the
 * warning bar above the panes says, first, that the denoised series, its uncertainty series and its
 * hallucination map are incomplete, each with how many slices it has and the run's own reason from
 * report.json, so that a slice without a map overlay is not read as one where nothing was flagged.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import type { ComparisonDetail } from '../../src/server/api-types.js';
import { copiedDenoisedDynamic, withoutTimePoint } from '../helpers/denoised-dynamic.js';
import { writeDiscCt } from '../helpers/disc-ct.js';
import { hasPydicom } from '../helpers/pet-timing.js';
import { hasChromium, startViewer, type ViewerSession } from './harness.js';

const SLICES = 5;
const SIZE = 64;
let root: string;
let session: ViewerSession | undefined;

describe.skipIf(!hasChromium)('viewer on a stopped run with an uncertainty series and a hallucination map', () => {
  beforeAll(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-e2e-incomplete-'));
    const data = path.join(root, 'data');
    const low = path.join(data, 'low');
    await writeDiscCt(low, { slices: SLICES, size: SIZE, uidSeed: 'e2e-incomplete', seed: 11 });
    // Stopped as SIGINT stops a run (its signal aborted), once 2 slices are written.
    const controller = new AbortController();
    const run = denoisePaths([low], {
      outDir: path.join(data, 'denoised'),
      samples: 2,
      steps: 1,
      device: 'cpu',
      seed: 3,
      threads: 1,
      uncertainty: true,
      hallucination: true,
      batch: 1,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.slicesDone >= 2) controller.abort(new Error('interrupted by SIGINT'));
      },
    });
    await expect(run).rejects.toMatchObject({ code: 'E_CANCELLED' });
    session = await startViewer({ data: [data], root });
  }, 240_000);

  afterAll(async () => {
    await session?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('says the denoised series, its uncertainty series and its map are incomplete, with the run\'s reason, first in the warning bar', async () => {
    const { page, studies, url, pageErrors } = session!;
    const comparison = studies.studies.flatMap((s) => s.comparisons)[0]!;
    expect(comparison.uncertainty).not.toBeNull();
    expect(comparison.hallucination).not.toBeNull();
    await page.goto(`${url}/#c=${comparison.id}`);
    await page.waitForSelector(`body[data-view="c:${comparison.id}"]`);
    expect(await page.isVisible('#series-warnings')).toBe(true);
    const lines = await page.$$eval('#series-warnings > div', (divs) => divs.map((d) => ({ code: (d as HTMLElement).dataset.code, text: d.textContent ?? '' })));
    const incomplete = lines.filter((l) => l.code === 'E_OUTPUT_INCOMPLETE');
    expect(lines.slice(0, 3)).toEqual(incomplete);
    expect(incomplete.map((l) => /: (incomplete [a-z ]+): \d of 5 slices/.exec(l.text)?.[1])).toEqual(['incomplete output', 'incomplete uncertainty series', 'incomplete hallucination map']);
    for (const line of incomplete) expect(line.text).toMatch(/its report\.json says: CT series [0-9.]+ was stopped after \d of 5 slices \(interrupted by SIGINT\)/);
    expect(pageErrors).toEqual([]);
  });

  it('draws the uncertainty pane and the map overlay marked incomplete on every slice, and says on a slice they lack that it is theirs that is missing', async () => {
    const { page, studies, url, pageErrors } = session!;
    const summary = studies.studies.flatMap((s) => s.comparisons)[0]!;
    const u = summary.uncertaintyIncomplete!;
    const h = summary.hallucinationIncomplete!;
    expect(u.slices).toBeLessThan(SLICES);
    expect(h.slices).toBeLessThan(SLICES);
    const detail = (await (await fetch(`${url}/api/comparisons/${summary.id}`)).json()) as ComparisonDetail;
    const uncertaintyAt = detail.alignment.uncertainty!;
    const mapAt = detail.alignment.hallucination!;
    await page.goto('about:blank');
    await page.goto(`${url}/#c=${summary.id}&i=0`);
    await page.waitForSelector(`body[data-view="c:${summary.id}"]`);
    const overlayButton = page.locator('[data-toggle="overlay"]');
    await expect.poll(() => overlayButton.textContent()).toBe('Hallucination map (incomplete)');
    expect(await overlayButton.getAttribute('title')).toContain(`The map is incomplete (incomplete: ${h.slices} of ${SLICES} slices): a slice without it shows no overlay, which is not "nothing flagged"`);
    const mark = (key: string) => page.getAttribute(`.pane[data-pane="${key}"]`, 'data-incomplete');
    const shown = (key: string) => page.isVisible(`.pane[data-pane="${key}"] .pane-incomplete`);
    // The overlay off: the denoised pane carries no mark of the map.
    expect(await mark('denoised')).toBeNull();
    await overlayButton.click();
    const seen = { uncertaintyBlank: 0, mapBlank: 0 };
    for (let i = 0; i < SLICES; i++) {
      if (i > 0) await page.keyboard.press('ArrowDown');
      await page.waitForSelector(`.pane[data-pane="lowDose"][data-index="${i}"]`);
      await page.waitForSelector(`.pane[data-pane="uncertainty"][data-index="${i}"]`);
      const uncertaintyMark = `INCOMPLETE uncertainty series: ${u.slices} of ${SLICES} slices`;
      expect(await mark('uncertainty'), `slice ${i}`).toBe(uncertaintyMark);
      expect(await shown('uncertainty')).toBe(true);
      const footer = await page.textContent('.pane[data-pane="uncertainty"] .ov-bl');
      if (uncertaintyAt[i]! < 0) {
        seen.uncertaintyBlank++;
        expect(footer).toContain(`no uncertainty slice here (incomplete uncertainty series: ${u.slices} of ${SLICES} slices)`);
      } else {
        expect(footer).not.toContain('no uncertainty slice here');
      }
      await expect.poll(() => mark('denoised'), { timeout: 10_000 }).toBe(
        mapAt[i]! < 0 ? `no map slice here (incomplete hallucination map: ${h.slices} of ${SLICES} slices)` : `INCOMPLETE hallucination map: ${h.slices} of ${SLICES} slices`,
      );
      if (mapAt[i]! < 0) {
        seen.mapBlank++;
        // Nothing of the map is painted where it has no slice (its blank stand-in is not "all flagged").
        await expect.poll(() => page.getAttribute('.pane[data-pane="denoised"]', 'data-overlay-slice'), { timeout: 10_000 }).toBe(String(i));
        expect(await page.getAttribute('.pane[data-pane="denoised"]', 'data-overlay-pixels')).toBe('0');
      }
      expect(await shown('denoised')).toBe(true);
    }
    expect(seen).toEqual({ uncertaintyBlank: SLICES - u.slices, mapBlank: SLICES - h.slices });
    // The overlay off again: the mark goes with it.
    await overlayButton.click();
    await expect.poll(() => mark('denoised')).toBeNull();
    expect(await shown('denoised')).toBe(false);
    expect(pageErrors).toEqual([]);
  });
});

describe.skipIf(!hasChromium || !hasPydicom)('viewer on a denoised dynamic PET acquisition copied without its time point 2', () => {
  let frameRoot: string;
  let frames: ViewerSession | undefined;

  beforeAll(async () => {
    frameRoot = mkdtempSync(path.join(os.tmpdir(), 'lowdose-e2e-lost-frame-'));
    const { source, copy } = await copiedDenoisedDynamic(frameRoot, path.join(frameRoot, 'run'));
    withoutTimePoint(copy, 't02');
    frames = await startViewer({ data: [source, path.dirname(copy)], root: frameRoot });
  }, 240_000);

  afterAll(async () => {
    await frames?.close();
    if (frameRoot) rmSync(frameRoot, { recursive: true, force: true });
  });

  it('says in the warning bar of a time point that is there that the acquisition lacks time point 2', async () => {
    const { page, studies, url, pageErrors } = frames!;
    const comparisons = studies.studies.flatMap((s) => s.comparisons);
    expect(comparisons).toHaveLength(2);
    const first = comparisons[0]!;
    expect(first.incomplete).toBeNull();
    expect(first.acquisitionIncomplete).toMatchObject({ frames: 2, expected: 3, missing: ['t02'] });
    await page.goto(`${url}/#c=${first.id}`);
    await page.waitForSelector(`body[data-view="c:${first.id}"]`);
    const lines = await page.$$eval('#series-warnings > div', (divs) => divs.map((d) => ({ code: (d as HTMLElement).dataset.code, text: d.textContent ?? '' })));
    expect(lines[0]?.code).toBe('E_OUTPUT_INCOMPLETE');
    expect(lines[0]?.text).toContain(': incomplete acquisition: 2 of 3 time points; t02 is missing whole (its files say the acquisition has 3 time points, NumberOfTimeSlices)');
    expect(pageErrors).toEqual([]);
  });
});
