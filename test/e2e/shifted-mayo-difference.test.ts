/// <reference lib="dom" />
/**
 * The difference pane against a real reference on another pixel grid, in headless Chromium
 * (./harness.ts): the Mayo L192 B30f quarter dose (../shared/ldct-mayo, copied to a scratch folder)
 * denoised, against its full dose reconstructed with a field of view 3 columns and 2 rows further
 * on (ImagePositionPatient moved with the pixels, 2.11 / 1.41 mm). The full dose keeps its own
 * FrameOfReferenceUID, which is not the quarter dose's (Mayo's files as written), so the slices are
 * paired by 3-D position (the in-plane origins 2.5 mm apart, within a quarter of the sparse slices'
 * spacing), not along the normal. The scores refuse such a pair (pairingGridMismatch) and so does
 * the figure; the viewer's difference pane subtracted it pixel by pixel (3.6 pixels off) and now
 * shows the figure's reason instead (differenceRefusal of src/server/difference-pane.ts). A copy of
 * the full dose whose ImagePositionPatient alone lies 0.05 pixel further along the rows is scored
 * (within SAME_GRID_TOLERANCE_PX) and so has its difference image too: one rule, sliceGridMismatch.
 * The quarter dose is an original scan: its pane, its scores and the series means say "Original".
 */
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSliceImage, scanPaths, type Series } from '../../src/dicom/index.js';
import { writeVolumeSeries } from '../../src/dicom/write-volume.js';
import { pairingGridMismatch, pairSlices } from '../../src/metrics/slice-pairing.js';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import { comparisonFigureLayout } from '../helpers/figure-panes.js';
import { writeRowShiftedCopy } from '../helpers/mutate-dicom.js';
import { hasChromium, paneProbes, POLL, REPO, startViewer, type ViewerSession } from './harness.js';

const MAYO_L192_B30F = path.resolve(REPO, '../shared/ldct-mayo/L192/B30f');
const SHIFT_COLUMNS = 3;
const SHIFT_ROWS = 2;
/** The low-dose slice shown (0-based; Im 5/7, Loc −206.6 mm). */
const INDEX = 4;
/** Why the scores refuse the shifted reference (sliceGridMismatch), which the difference pane's footer and the metrics name too. */
const REASON = `the in-plane origins (ImagePositionPatient) differ by ${Math.hypot(SHIFT_COLUMNS, SHIFT_ROWS).toFixed(2)} pixels`;
const SHIFTED_DESCRIPTION = 'full dose, FOV shifted 3 x 2 px';
/** The other copy's offset along the rows, pixels: within SAME_GRID_TOLERANCE_PX (0.1). */
const SUBPIXEL = 0.05;

const available = hasChromium && existsSync(MAYO_L192_B30F);
if (!available) console.warn('shifted Mayo reference difference test skipped: /usr/bin/chromium or ../shared/ldct-mayo missing');

/**
 * The full dose as a reconstruction whose first pixel lies SHIFT_COLUMNS x SHIFT_ROWS pixels further
 * on: whole pixels moved, no interpolation, each slice at its ImagePositionPatient moved by as many
 * millimetres, its own frame of reference kept; air (−1000 HU) past the original field.
 */
async function writeShiftedFullDose(full: Series, dir: string): Promise<void> {
  const [rowMm, columnMm] = full.spacing;
  const { rows, columns } = full;
  for (let k = 0; k < full.slices.length; k++) {
    const image = await readSliceImage(full, k);
    const moved = new Float32Array(rows * columns).fill(-1000);
    for (let r = 0; r + SHIFT_ROWS < rows; r++) {
      for (let c = 0; c + SHIFT_COLUMNS < columns; c++) moved[r * columns + c] = image.data[(r + SHIFT_ROWS) * columns + c + SHIFT_COLUMNS]!;
    }
    const [x, y, z] = full.slices[k]!.position!;
    await writeVolumeSeries({ modality: 'CT', units: 'HU', rows, columns, slices: [moved], spacing: [rowMm, columnMm, 3], description: SHIFTED_DESCRIPTION }, dir, {
      uidSeed: `diffpane-shifted-${k}`,
      seriesInstanceUid: '2.25.7201',
      studyInstanceUid: full.studyInstanceUid,
      frameOfReferenceUid: full.frameOfReferenceUid!,
      origin: [x + SHIFT_COLUMNS * columnMm, y + SHIFT_ROWS * rowMm, z],
      filePrefix: `S${k}_`,
      patientName: 'Anonymous',
    });
  }
}

describe.runIf(available)('the difference pane against a shifted real Mayo reference (headless Chromium)', () => {
  let root: string;
  let session: ViewerSession;
  let low: Series;
  let reference: Series;

  beforeAll(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-e2e-shifted-mayo-'));
    const data = path.join(root, 'data');
    const lowDir = path.join(data, 'quarter');
    const referenceDir = path.join(data, 'full-shifted');
    cpSync(path.join(MAYO_L192_B30F, 'quarter'), lowDir, { recursive: true });
    const [full] = (await scanPaths([path.join(MAYO_L192_B30F, 'full')])).series as [Series];
    await writeShiftedFullDose(full, referenceDir);
    [low] = (await scanPaths([lowDir])).series as [Series];
    [reference] = (await scanPaths([referenceDir])).series as [Series];
    await denoisePaths([lowDir], { outDir: path.join(data, 'denoised'), method: 'gaussian', reference: [referenceDir] });
    // The full dose as Mayo wrote it: its own frame too, on the quarter dose's very grid.
    cpSync(path.join(MAYO_L192_B30F, 'full'), path.join(data, 'full'), { recursive: true });
    await denoisePaths([lowDir], { outDir: path.join(data, 'denoised-plain'), method: 'gaussian', reference: [path.join(data, 'full')] });
    // The full dose as written but for ImagePositionPatient, 0.05 pixel further along the rows (its own UIDs).
    const subpixelDir = path.join(data, 'full-subpixel');
    writeRowShiftedCopy(path.join(MAYO_L192_B30F, 'full'), subpixelDir, SUBPIXEL, 1);
    await denoisePaths([lowDir], { outDir: path.join(data, 'denoised-subpixel'), method: 'gaussian', reference: [subpixelDir] });
    session = await startViewer({ data: [data], root });
  }, 240_000);

  /** The comparison against the reference whose first pixel lies `columns` pixels further along the rows (each denoising of the quarter dose has its own). */
  const comparisonAgainst = async (columns: number) => {
    for (const c of session.studies.studies.flatMap((s) => s.comparisons)) {
      if (c.reference === null) continue;
      const reference = (await session.app.inject({ url: `/api/series/${c.reference}` })).json() as { positions: Array<[number, number, number]> };
      if (Math.abs((reference.positions[0]![0] - low.slices[0]!.position![0]) / low.spacing[1] - columns) < 1e-6) return c;
    }
    throw new Error(`no comparison against a reference ${columns} pixels off`);
  };

  afterAll(async () => {
    await session?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('is paired by 3-D position across two frames of reference and refused by the scores for its in-plane origin', () => {
    expect(low.frameOfReferenceUid).not.toBe(reference.frameOfReferenceUid);
    const pairing = pairSlices(reference, low);
    expect(pairing).toMatchObject({ matchedBy: 'position', along: '3d' });
    expect(pairing.pairs.map(([, t]) => t)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(pairingGridMismatch(reference, low, pairing)).toBe(REASON);
  });

  it('shows the reference but no difference image, and says why in the scores\' words as the figure does', async () => {
    const { page } = session;
    const probes = paneProbes(page);
    const comparison = await comparisonAgainst(SHIFT_COLUMNS);
    await page.goto(`${session.url}/#c=${comparison.id}&i=${INDEX}`);
    await page.waitForSelector(`body[data-view="c:${comparison.id}"]`);
    for (const key of ['lowDose', 'denoised', 'reference']) await probes.expectRealPixels(key);
    await expect.poll(() => probes.paneText('difference', '.pane-slice'), POLL).toBe(`no difference: ${REASON}`);
    // Wrapped over lines, not cut with an ellipsis: the whole reason is on screen.
    expect(await page.$eval('.pane[data-pane="difference"] .pane-slice', (e) => e.scrollWidth <= e.clientWidth && getComputedStyle(e).whiteSpace === 'normal')).toBe(true);
    // The metrics say that the reference is not scored, and why in the same words (the line's title, the header).
    await expect.poll(() => page.textContent('[data-metrics="denoised"]'), POLL).toBe('not scored');
    expect(await page.getAttribute('[data-metrics="denoised"]', 'title')).toContain(`not scored: ${REASON}`);
    expect(await page.textContent('[data-metrics="lowDose"]')).toBe('not scored');
    await expect.poll(() => page.textContent('[data-testid="unscored-reason"]').catch(() => null), POLL).toBe(`not scored: ${REASON}`);
    // A blank slot: the colour map's black at 0 everywhere (before: denoised − a reference 3.6 pixels off, edges lit).
    const stats = await probes.canvasStats('difference');
    expect(stats.nonBlack).toBe(0);
    // The figure of the same slice: its difference box has no coloured pixel either.
    const response = await session.app.inject({ url: `/api/figure.png?comparisons=${comparison.id}&index=${INDEX}` });
    expect(response.statusCode).toBe(200);
    const png = PNG.sync.read(response.rawPayload);
    const { x, y, zoom } = (await comparisonFigureLayout(session.app, comparison.id, [low, low, low, low])).images[3]!;
    let coloured = 0;
    for (let r = y; r < y + low.rows * zoom; r++) {
      for (let c = x; c < x + low.columns * zoom; c++) {
        const o = (r * png.width + c) * 4;
        // The colour map's hues (blue to cyan, red to yellow); the scale bar and black are grey.
        const channels = [png.data[o]!, png.data[o + 1]!, png.data[o + 2]!];
        if (Math.max(...channels) - Math.min(...channels) > 24) coloured++;
      }
    }
    expect(coloured).toBe(0);
    expect(session.pageErrors).toEqual([]);
  });

  it('still subtracts the full dose as Mayo wrote it: another frame, paired by 3-D position on the very pixel grid', async () => {
    const { page } = session;
    const probes = paneProbes(page);
    const [full] = (await scanPaths([path.join(MAYO_L192_B30F, 'full')])).series as [Series];
    expect(pairingGridMismatch(full, low, pairSlices(full, low))).toBeNull();
    const comparison = await comparisonAgainst(0);
    await page.goto('about:blank');
    await page.goto(`${session.url}/#c=${comparison.id}&i=${INDEX}`);
    await page.waitForSelector(`body[data-view="c:${comparison.id}"]`);
    await probes.expectRealPixels('difference');
    expect(await probes.paneText('difference', '.ov-bl')).not.toContain('no difference');
    expect(session.pageErrors).toEqual([]);
  });

  it('labels the quarter dose\'s scores "Original", as its pane is titled, in the series means and the pane\'s tooltip', async () => {
    // Mayo's quarter dose is an original scan (ImageType ORIGINAL), denoised against its full dose.
    const { page } = session;
    const probes = paneProbes(page);
    const comparison = await comparisonAgainst(0);
    await page.goto('about:blank');
    await page.goto(`${session.url}/#c=${comparison.id}&i=${INDEX}`);
    await page.waitForSelector(`body[data-view="c:${comparison.id}"]`);
    expect(await probes.paneText('lowDose', '.pane-name')).toBe('Original');
    await expect.poll(() => page.textContent('[data-testid="mean-low-dose"]').catch(() => null), POLL).toMatch(/^Original PSNR \d+\.\d\d dB · SSIM /);
    expect(await page.textContent('#series-header')).not.toContain('Low-dose');
    await expect.poll(() => page.textContent('[data-metrics="lowDose"]'), POLL).toMatch(/^PSNR /);
    expect(await page.getAttribute('[data-metrics="lowDose"]', 'title')).toContain('Original vs reference; ');
    expect(session.pageErrors).toEqual([]);
  });

  it('subtracts the full dose whose ImagePositionPatient lies 0.05 pixel off, as the metrics line scores it', async () => {
    const { page } = session;
    const probes = paneProbes(page);
    const [subpixel] = (await scanPaths([path.join(root, 'data', 'full-subpixel')])).series as [Series];
    expect(pairingGridMismatch(subpixel, low, pairSlices(subpixel, low))).toBeNull();
    const comparison = await comparisonAgainst(SUBPIXEL);
    await page.goto('about:blank');
    await page.goto(`${session.url}/#c=${comparison.id}&i=${INDEX}`);
    await page.waitForSelector(`body[data-view="c:${comparison.id}"]`);
    // Scored (the denoised pane's metrics line) and subtracted, where the pane had said 'no difference'.
    await expect.poll(() => page.textContent('[data-metrics="denoised"]'), POLL).toMatch(/^PSNR \d/);
    await probes.expectRealPixels('difference');
    expect(await probes.paneText('difference', '.ov-bl')).not.toContain('no difference');
    expect(session.pageErrors).toEqual([]);
  });
});
