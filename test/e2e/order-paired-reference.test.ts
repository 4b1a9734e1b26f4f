/// <reference lib="dom" />
/**
 * An ROI in the viewer, in real headless Chromium (./harness.ts), on the pane of a reference paired
 * with the low-dose series by order: another FrameOfReferenceUID and an in-plane origin 5 / 3 mm
 * off, so no position coincides and the scores compare pixel i with pixel i
 * (pairingGridMismatch). The reference pane reads the ROI over those very pixels (gridAsPaired),
 * as the scores do, not at the place its other frame's positions name. Expected numbers are
 * counted here from the phantom, apart from the viewer's code.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeVolumeSeries } from '../../src/dicom/write-volume.js';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import type { Ellipse } from '../../src/metrics/roi-shapes.js';
import { hasChromium, paneProbes, POLL, startViewer, type ViewerSession } from './harness.js';
import { INSERT_B, LOW_GRID, lowDoseEllipse, phantomHu, sampled } from '../server/resampled-reference.js';
import { linkReferenceByHand } from '../helpers/server-app.js';

if (!hasChromium) console.warn('viewer order-paired reference tests skipped: /usr/bin/chromium not found');

/** The reference's values: the low-dose phantom 10 HU brighter on the same pixels, stored with another frame's origin. */
const BRIGHTER = 10;

/** Mean, sample SD and count of the reference pixels (phantom + 10 HU at the low-dose pixel centres) whose centres lie in `roi`. */
function referenceStats(roi: Ellipse, z: number): { mean: number; sd: number; pixels: number } {
  const values: number[] = [];
  for (let r = 0; r < LOW_GRID.size; r++) {
    for (let c = 0; c < LOW_GRID.size; c++) {
      if (((c + 0.5 - roi.cx) / roi.rx) ** 2 + ((r + 0.5 - roi.cy) / roi.ry) ** 2 > 1) continue;
      values.push(phantomHu(LOW_GRID.origin[0] + c * LOW_GRID.pixelMm, LOW_GRID.origin[1] + r * LOW_GRID.pixelMm, z) + BRIGHTER);
    }
  }
  const mean = values.reduce((a, v) => a + v, 0) / values.length;
  return { mean, sd: Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1)), pixels: values.length };
}

describe.skipIf(!hasChromium)('an ROI on a reference paired by order (headless Chromium)', () => {
  let root: string;
  let session: ViewerSession;

  beforeAll(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-e2e-order-reference-'));
    const data = path.join(root, 'data');
    const lowDir = path.join(data, 'low');
    const referenceDir = path.join(data, 'reference');
    const denoisedDir = path.join(data, 'denoised');
    await writeVolumeSeries(sampled(LOW_GRID, 'low dose'), lowDir, { uidSeed: 'e2e-order-low', frameOfReferenceUid: '2.25.7007001', origin: LOW_GRID.origin, seriesNumber: 1 });
    const reference = sampled(LOW_GRID, 'reference');
    const brighter = { ...reference, slices: reference.slices.map((s) => s.map((v) => v + BRIGHTER)) };
    const shifted = [LOW_GRID.origin[0] + 5, LOW_GRID.origin[1] + 3, LOW_GRID.origin[2]] as const;
    await writeVolumeSeries(brighter, referenceDir, { uidSeed: 'e2e-order-reference', frameOfReferenceUid: '2.25.7007002', origin: shifted, seriesNumber: 2 });
    await denoisePaths([lowDir], { outDir: denoisedDir, method: 'gaussian' });
    await linkReferenceByHand(denoisedDir, referenceDir, LOW_GRID.slices);
    session = await startViewer({ data: [data], root });
  }, 120_000);

  afterAll(async () => {
    await session?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('reads the reference pixels the scores compare, at the low-dose ROI pixel indices, in the pane readout and the table CSV', async () => {
    const { page } = session;
    const probes = paneProbes(page);
    const comparison = session.studies.studies.flatMap((s) => s.comparisons)[0]!;
    await page.goto(`${session.url}/#c=${comparison.id}&i=2`);
    await page.waitForSelector(`body[data-view="c:${comparison.id}"]`);
    for (const key of ['lowDose', 'reference']) await probes.expectRealPixels(key);
    // The same image pixels on screen: the view is not moved by the other frame's 5 / 3 mm.
    const viewOf = async (key: string) => [await page.getAttribute(`.pane[data-pane="${key}"]`, 'data-scale'), await page.getAttribute(`.pane[data-pane="${key}"]`, 'data-translation')];
    expect(await viewOf('reference')).toEqual(await viewOf('lowDose'));
    // An ellipse across insert B's edge (300 HU inside, 40 HU body), drawn with the mouse on the low-dose pane.
    const box = (await page.locator('.pane[data-pane="lowDose"] .pane-image').boundingBox())!;
    const scale = Math.min(box.width, box.height) / LOW_GRID.size;
    const screen = (x: number, y: number) => ({ x: box.x + box.width / 2 + (x - LOW_GRID.size / 2) * scale, y: box.y + box.height / 2 + (y - LOW_GRID.size / 2) * scale });
    const target = lowDoseEllipse(INSERT_B.x + 5, INSERT_B.y, 4);
    await page.mouse.move(screen(target.cx, target.cy).x, screen(target.cx, target.cy).y);
    await page.keyboard.press('r');
    const a = screen(target.cx - target.rx, target.cy - target.ry);
    const b = screen(target.cx + target.rx, target.cy + target.ry);
    await page.mouse.move(a.x, a.y);
    await page.mouse.down();
    await page.mouse.move(b.x, b.y, { steps: 6 });
    await page.mouse.up();
    await page.keyboard.press('Escape');
    await expect.poll(async () => page.$$eval('#measurements tbody tr[data-pane="reference"]', (trs) => trs.length), POLL).toBe(1);
    // The ROI as the viewer keeps it (low-dose pixels, as drawn), and the reference's numbers over those pixels counted here.
    const shape = JSON.parse((await page.getAttribute('#measurements tbody tr[data-pane="reference"]', 'data-shape'))!) as { kind: 'ellipse'; ellipse: Ellipse };
    const expected = referenceStats(shape.ellipse, LOW_GRID.origin[2] + 2 * LOW_GRID.sliceMm);
    // Straddling the edge: neither all insert nor all body, so a region moved by 5 / 3 mm would read otherwise.
    expect(expected.sd).toBeGreaterThan(50);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#measure-csv')]);
    const rows = readFileSync((await download.path())!, 'utf8').trim().split('\n\n')[0]!.split('\n').slice(1).map((line) => line.split(','));
    const row = (pane: string) => rows.find((r) => r[0] === 'R1' && r[2] === pane)!;
    expect(Number(row('reference')[9])).toBe(expected.pixels);
    expect(Number(row('reference')[5])).toBeCloseTo(expected.mean, 6);
    expect(Number(row('reference')[6])).toBeCloseTo(expected.sd, 6);
    expect(Number(row('lowDose')[5])).toBeCloseTo(expected.mean - BRIGHTER, 6);
    // The pane's own readout says the same mean.
    const meanOf = (text: string) => Number(/^mean (-?[\d.]+) ±/.exec(text)?.[1] ?? NaN);
    const decimals = (text: string) => (/^mean -?\d+\.(\d+) ±/.exec(text)?.[1] ?? '').length;
    const readout = await probes.paneText('reference', '.pane-roi');
    expect(meanOf(readout)).toBeCloseTo(expected.mean, Math.max(0, decimals(readout) - 1));
    expect(session.pageErrors).toEqual([]);
  });
});
