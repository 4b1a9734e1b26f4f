/**
 * One rule for "one pixel grid" in the scores and in the difference pane, on a real series: the
 * Mayo L192 B30f full dose (../shared/ldct-mayo) copied as another series with each slice's
 * ImagePositionPatient moved along the rows by 0.05 pixel (within SAME_GRID_TOLERANCE_PX, 0.1)
 * or by 0.5 pixel, its pixels as stored. The scores (`lowdose metrics`, `denoise --reference`, the
 * server's metrics API: pairingGridMismatch) and the difference pane (the viewer's
 * differenceSlices, the server's figure: differenceRefusal) both compare pixel i with pixel i and
 * decide by one function, sliceGridMismatch: the 0.05-pixel copy is scored and differenced, the
 * 0.5-pixel one neither.
 */
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanPaths, type Series } from '../../src/dicom/index.js';
import { pairingGridMismatch, pairSlices } from '../../src/metrics/slice-pairing.js';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import { runMetrics } from '../../src/pipeline/metrics.js';
import type { ComparisonDetail, ComparisonMetrics, SeriesDetail } from '../../src/server/api-types.js';
import { figureLayout, renderFigure, type FigureLayout } from '../../src/server/figure-render.js';
import { unscoredText } from '../../src/server/pane-text.js';
import { comparisonFigureLayout } from '../helpers/figure-panes.js';
import { textWidth } from '../../src/trace/font.js';
import { differenceSlices, pairAlongNormal } from '../../viewer/src/pane-geometry.js';
import { writeRowShiftedCopy } from '../helpers/mutate-dicom.js';
import { listedComparisons, serverOver } from '../helpers/server-app.js';

const MAYO_L192_B30F = path.resolve(import.meta.dirname, '../../../shared/ldct-mayo/L192/B30f');
const available = existsSync(MAYO_L192_B30F);
if (!available) console.warn('sub-pixel shifted reference test skipped: ../shared/ldct-mayo missing');

type Shift = 'within' | 'beyond';
/** Each copy's shift along the rows (pixels) and the change to its UIDs' last digit that makes it a series of its own. */
const SHIFTS: Record<Shift, { pixels: number; uidShift: number }> = { within: { pixels: 0.05, uidShift: 1 }, beyond: { pixels: 0.5, uidShift: 2 } };
/** The low-dose slice drawn in the figure (0-based; all 7 are paired). */
const INDEX = 4;
/** Why the 0.5-pixel copy is not scored, in the words of `lowdose metrics` (sliceGridMismatch). */
const HALF_PIXEL = 'the in-plane origins (ImagePositionPatient) differ by 0.50 pixels';

describe.runIf(available)('a real reference shifted by a fraction of a pixel: scored and differenced by one rule', () => {
  let root: string;
  let app: FastifyInstance;
  let lowDir: string;
  let low: Series;
  const dirs = {} as Record<Shift, string>;
  const references = {} as Record<Shift, Series>;

  beforeAll(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-subpixel-reference-'));
    const data = path.join(root, 'data');
    lowDir = path.join(data, 'quarter');
    cpSync(path.join(MAYO_L192_B30F, 'quarter'), lowDir, { recursive: true });
    [low] = (await scanPaths([lowDir])).series as [Series];
    for (const shift of ['within', 'beyond'] as const) {
      dirs[shift] = path.join(data, `full-${shift}`);
      writeRowShiftedCopy(path.join(MAYO_L192_B30F, 'full'), dirs[shift], SHIFTS[shift].pixels, SHIFTS[shift].uidShift);
      [references[shift]] = (await scanPaths([dirs[shift]])).series as [Series];
      await denoisePaths([lowDir], { outDir: path.join(data, `denoised-${shift}`), method: 'gaussian', reference: [dirs[shift]] });
    }
    // The full dose as Mayo wrote it, on the quarter dose's very grid (another frame, too): the figure's difference as it should be.
    cpSync(path.join(MAYO_L192_B30F, 'full'), path.join(data, 'full'), { recursive: true });
    await denoisePaths([lowDir], { outDir: path.join(data, 'denoised-unshifted'), method: 'gaussian', reference: [path.join(data, 'full')] });
    app = await serverOver(root, data);
  }, 240_000);

  afterAll(async () => {
    await app?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  const get = async <T>(url: string): Promise<T> => (await app.inject({ url })).json() as T;

  /** The server's comparison whose reference is the copy shifted by `shift`, told apart by the reference's first position. */
  async function comparisonAgainst(shift: Shift | 'unshifted'): Promise<{ comparison: ComparisonDetail; denoised: SeriesDetail; reference: SeriesDetail }> {
    for (const summary of await listedComparisons(app)) {
      if (!summary.reference) continue;
      const reference = await get<SeriesDetail>(`/api/series/${summary.reference}`);
      const offsetPixels = (reference.positions[0]![0] - low.slices[0]!.position![0]) / low.spacing[1];
      if (Math.abs(offsetPixels - (shift === 'unshifted' ? 0 : SHIFTS[shift].pixels)) > 1e-6) continue;
      return { comparison: await get<ComparisonDetail>(`/api/comparisons/${summary.id}`), denoised: await get<SeriesDetail>(`/api/series/${summary.denoised}`), reference };
    }
    throw new Error(`no comparison against the ${shift} full dose`);
  }

  /** The figure's layout for comparison `id` (four panes of the low-dose matrix). */
  const figureLayoutOf = (id: string): Promise<FigureLayout> => comparisonFigureLayout(app, id, [low, low, low, low]);

  /** The figure's difference box of slice INDEX, RGBA row by row. */
  async function figureDifferenceBox(comparisonId: string): Promise<Uint8Array> {
    const response = await app.inject({ url: `/api/figure.png?comparisons=${comparisonId}&index=${INDEX}` });
    expect(response.statusCode, response.body).toBe(200);
    const png = PNG.sync.read(response.rawPayload);
    const { x, y, zoom } = (await figureLayoutOf(comparisonId)).images[3]!;
    const width = low.columns * zoom;
    const box = new Uint8Array(low.rows * zoom * width * 4);
    for (let r = 0; r < low.rows * zoom; r++) box.set(png.data.subarray(((y + r) * png.width + x) * 4, ((y + r) * png.width + x + width) * 4), r * width * 4);
    return box;
  }

  /**
   * The figure's footer bar under the difference pane of slice INDEX (RGBA row by row) and the same
   * bar drawn by renderFigure with `footer` as its only text: equal when the figure says `footer`.
   */
  async function figureDifferenceFooter(comparisonId: string, footer: string): Promise<{ drawn: Buffer; expected: Buffer }> {
    const response = await app.inject({ url: `/api/figure.png?comparisons=${comparisonId}&index=${INDEX}` });
    expect(response.statusCode, response.body).toBe(200);
    const png = PNG.sync.read(response.rawPayload);
    const layout = await figureLayoutOf(comparisonId);
    const { x, y } = layout.images[3]!;
    expect(png.height).toBe(y + layout.imageHeight + layout.footerHeight);
    // One pane without an image (no scale bar) of the same width, only the footer written.
    const alonePane = { title: '', metrics: '', footer, image: null };
    const alone = PNG.sync.read(renderFigure([alonePane], { window: { lo: 0, hi: 1 }, scale: 1 }));
    const aloneLayout = figureLayout([alonePane], { window: { lo: 0, hi: 1 }, scale: 1 });
    // Its cell as wide and its image box as high as the Mayo panes' (512 pixels at zoom 1): title bar, box, footer bar of one line.
    expect([alone.width, alone.height - aloneLayout.titleHeight - aloneLayout.footerHeight]).toEqual([layout.imageWidth, layout.imageHeight]);
    expect(aloneLayout.footerHeight).toBe(layout.footerHeight);
    const bar = layout.footerHeight;
    const rows = (from: PNG, left: number, top: number) => {
      const out: Buffer[] = [];
      for (let r = top; r < top + bar; r++) out.push(Buffer.from(from.data.subarray((r * from.width + left) * 4, (r * from.width + left + layout.imageWidth) * 4)));
      return Buffer.concat(out);
    };
    return { drawn: rows(png, x, y + layout.imageHeight), expected: rows(alone, 0, alone.height - bar) };
  }

  /** Pixels of the difference map's hues (blue to cyan, red to yellow); black and the grey scale bar are not. */
  function coloured(box: Uint8Array): number {
    let n = 0;
    for (let o = 0; o < box.length; o += 4) if (Math.max(box[o]!, box[o + 1]!, box[o + 2]!) - Math.min(box[o]!, box[o + 1]!, box[o + 2]!) > 24) n++;
    return n;
  }

  it('is paired by 3-D position with every slice, the 0.05-pixel copy on the low dose\'s grid for the scores and the 0.5-pixel one not', () => {
    for (const shift of ['within', 'beyond'] as const) {
      const pairing = pairSlices(references[shift], low);
      expect(pairing).toMatchObject({ matchedBy: 'position', along: '3d' });
      expect(pairing.pairs.map(([, t]) => t)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    }
    expect(pairingGridMismatch(references.within, low, pairSlices(references.within, low))).toBeNull();
    expect(pairingGridMismatch(references.beyond, low, pairSlices(references.beyond, low))).toBe(HALF_PIXEL);
  });

  it('lowdose metrics scores the 0.05-pixel copy as the full dose it was copied from, and refuses the 0.5-pixel one', async () => {
    const shifted = await runMetrics({ reference: dirs.within, test: lowDir });
    const original = await runMetrics({ reference: path.join(MAYO_L192_B30F, 'full'), test: lowDir });
    expect(shifted.result.slices.map((s) => s.psnr)).toEqual(original.result.slices.map((s) => s.psnr));
    expect(shifted.result.slices.every((s) => Number.isFinite(s.psnr))).toBe(true);
    await expect(runMetrics({ reference: dirs.beyond, test: lowDir })).rejects.toThrow(/in-plane origins \(ImagePositionPatient\) differ by 0\.50 pixels/);
  });

  it('the 0.05-pixel copy: the server scores it', async () => {
    const { comparison } = await comparisonAgainst('within');
    const metrics = await get<ComparisonMetrics>(`/api/comparisons/${comparison.id}/metrics`);
    expect(metrics.against).toBe('reference');
    expect(metrics.slices[INDEX]!.lowDose?.psnr).toEqual(expect.any(Number));
    expect(metrics.unscoredReason).toBeNull();
    expect(comparison.unscoredReason).toBeNull();
  });

  it('the 0.05-pixel copy: the viewer\'s difference pane subtracts it on every slice', async () => {
    const { comparison, denoised, reference } = await comparisonAgainst('within');
    // The viewer's pairing: across two frames of reference none along the normal, so the server's.
    expect(pairAlongNormal(denoised, reference)).toBeNull();
    const pane = differenceSlices(denoised, comparison.alignment.denoised, reference, { map: comparison.alignment.reference, offsetMm: null, matchedBy: comparison.alignment.matchedBy?.reference ?? undefined });
    expect(pane).toEqual({ slices: [0, 1, 2, 3, 4, 5, 6], notes: [null, null, null, null, null, null, null] });
  });

  it('the 0.05-pixel copy: the figure subtracts it, pixel i minus pixel i as scored', async () => {
    const { comparison } = await comparisonAgainst('within');
    // The very difference box of the full dose as Mayo wrote it (the same stored pixels).
    const box = await figureDifferenceBox(comparison.id);
    expect(coloured(box)).toBeGreaterThan(1000);
    expect(Buffer.from(box).equals(Buffer.from(await figureDifferenceBox((await comparisonAgainst('unshifted')).comparison.id)))).toBe(true);
  });

  it('the 0.5-pixel copy: shown but not scored, and neither the viewer\'s difference pane nor the figure subtracts it', async () => {
    const { comparison, denoised, reference } = await comparisonAgainst('beyond');
    const metrics = await get<ComparisonMetrics>(`/api/comparisons/${comparison.id}/metrics`);
    expect(metrics.slices[INDEX]!.lowDose).toBeNull();
    const pane = differenceSlices(denoised, comparison.alignment.denoised, reference, { map: comparison.alignment.reference, offsetMm: null, matchedBy: comparison.alignment.matchedBy?.reference ?? undefined });
    expect(pane?.slices).toEqual(Array(7).fill(-1));
    expect(coloured(await figureDifferenceBox(comparison.id))).toBe(0);
  });

  it('the 0.5-pixel copy: the difference pane\'s footer and the metrics say why in the words lowdose metrics uses, "0.50 pixels"', async () => {
    const { comparison, denoised, reference } = await comparisonAgainst('beyond');
    const metrics = await get<ComparisonMetrics>(`/api/comparisons/${comparison.id}/metrics`);
    expect(comparison.unscoredReason).toBe(HALF_PIXEL);
    expect(metrics.unscoredReason).toBe(HALF_PIXEL);
    expect(unscoredText(comparison)).toBe(`not scored: ${HALF_PIXEL}`);
    const pane = differenceSlices(denoised, comparison.alignment.denoised, reference, { map: comparison.alignment.reference, offsetMm: null, matchedBy: comparison.alignment.matchedBy?.reference ?? undefined });
    expect(pane?.notes).toEqual(Array(7).fill(`no difference: ${HALF_PIXEL}`));
    // The figure's difference pane writes the same words under it, whole.
    const { drawn, expected } = await figureDifferenceFooter(comparison.id, `no difference: ${HALF_PIXEL}`);
    expect(drawn.equals(expected)).toBe(true);
    expect(drawn.equals((await figureDifferenceFooter(comparison.id, `no difference: ${HALF_PIXEL.replace('0.50', '0.51')}`)).expected)).toBe(false);
    expect(textWidth(`no difference: ${HALF_PIXEL}`, 1)).toBeLessThanOrEqual(low.columns - 8);
  });
});
