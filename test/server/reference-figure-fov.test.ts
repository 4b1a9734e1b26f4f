/**
 * The figure (`GET /api/figure.png`) draws a reference of another field of view (one frame of
 * reference: another in-plane origin, or a cropped matrix) as the live viewer shows it: its slice on
 * the low-dose slice's grid through patient coordinates (followView's mapping), so the same anatomy
 * lies at the same point of its box at the low-dose pane's size, and the part outside its field is
 * empty. Before, the figure drew the reference's own pixels centred in the cell (a 64² crop at its
 * own zoom, a shifted field with its anatomy moved).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { writeVolumeSeries } from '../../src/dicom/write-volume.js';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import type { ComparisonDetail } from '../../src/server/api-types.js';
import type { FigureLayout } from '../../src/server/figure-render.js';
import { wrapText } from '../../src/trace/font.js';
import { comparisonFigureLayout } from '../helpers/figure-panes.js';
import { drawnTextMismatches } from './figure-text.js';
import { LOW_GRID, sampled, type Grid } from './resampled-reference.js';
import { firstComparison } from '../helpers/server-app.js';

const roots: string[] = [];
const apps: FastifyInstance[] = [];

/** A study whose reference is `grid` (same frame as the low-dose LOW_GRID), denoised with --reference, served. */
async function studyWith(grid: Grid, name: string): Promise<{ app: FastifyInstance; comparison: ComparisonDetail }> {
  const root = mkdtempSync(path.join(os.tmpdir(), `lowdose-figure-fov-${name}-`));
  roots.push(root);
  const data = path.join(root, 'data');
  const shared = { studyInstanceUid: `2.25.70080${roots.length}1`, frameOfReferenceUid: `2.25.70080${roots.length}2`, patientName: 'PHANTOM^FOV' };
  await writeVolumeSeries(sampled(LOW_GRID, 'low dose'), path.join(data, 'low'), { ...shared, uidSeed: `${name}-low`, origin: LOW_GRID.origin, seriesNumber: 1 });
  await writeVolumeSeries(sampled(grid, 'reference'), path.join(data, 'reference'), { ...shared, uidSeed: `${name}-reference`, origin: grid.origin, seriesNumber: 2 });
  await denoisePaths([path.join(data, 'low')], { outDir: path.join(data, 'denoised'), method: 'gaussian', reference: [path.join(data, 'reference')] });
  const served = await firstComparison(root, data);
  apps.push(served.app);
  return served;
}

afterAll(async () => {
  for (const app of apps) await app.close();
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

/**
 * The figure's low-dose and reference image boxes (RGB per figure pixel), both at the low-dose
 * pane's place and size in their cells, and the zoom.
 */
async function paneBoxes(app: FastifyInstance, comparison: ComparisonDetail): Promise<{ low: number[][]; reference: number[][]; zoom: number; png: PNG; layout: FigureLayout }> {
  const response = await app.inject({ url: `/api/figure.png?comparisons=${comparison.id}&index=2&window=2000&level=0` });
  expect(response.statusCode, response.body).toBe(200);
  const png = PNG.sync.read(response.rawPayload);
  const image = { rows: LOW_GRID.size, columns: LOW_GRID.size, data: new Float32Array(LOW_GRID.size ** 2), pixelSpacing: [LOW_GRID.pixelMm, LOW_GRID.pixelMm] as [number, number] };
  // Low-dose, denoised, reference on the low-dose grid, the difference pane without an image (another grid).
  const layout = await comparisonFigureLayout(app, comparison.id, [image, image, image, null]);
  const box = (k: number) => {
    const { x, y, zoom } = layout.images[k]!;
    const side = LOW_GRID.size * zoom;
    return Array.from({ length: side * side }, (_, i) => {
      const o = 4 * ((y + Math.floor(i / side)) * png.width + x + (i % side));
      return [png.data[o]!, png.data[o + 1]!, png.data[o + 2]!];
    });
  };
  return { low: box(0), reference: box(2), zoom: layout.images[0]!.zoom, png, layout };
}

/**
 * Figure pixels of the reference box that differ from what the viewer shows: inside the reference's
 * field (low-dose pixels [x0, x1) × [y0, y1), where its pixels lie on the low-dose ones) the
 * low-dose pane's grey (both sample the phantom at those patient points), outside it black (but
 * for the scale bar, drawn alike on both).
 */
function differingFromExpected(boxes: { low: number[][]; reference: number[][]; zoom: number }, x0: number, x1: number, y0: number, y1: number): { differing: number; insideLit: number; outsideBody: number } {
  const side = LOW_GRID.size * boxes.zoom;
  let differing = 0;
  let insideLit = 0;
  let outsideBody = 0;
  boxes.reference.forEach((rgb, i) => {
    const x = Math.floor((i % side) / boxes.zoom);
    const y = Math.floor(Math.floor(i / side) / boxes.zoom);
    const inside = x >= x0 && x < x1 && y >= y0 && y < y1;
    // The scale bar and its label (white) lie over the bottom right of both boxes alike.
    const bar = boxes.low[i]!.every((v) => v === 255);
    const expected = inside || bar ? boxes.low[i]! : [0, 0, 0];
    if (rgb.some((v, c) => v !== expected[c])) differing++;
    if (inside && rgb[0]! > 0) insideLit++;
    if (!inside && boxes.low[i]![0]! > 0) outsideBody++;
  });
  return { differing, insideLit, outsideBody };
}

describe('the figure of a reference of another field of view (same frame)', () => {
  it('draws a cropped 64² reference on the low-dose grid at the low-dose pane size, empty outside its field', async () => {
    // 64² pixels of the low-dose 96², its first pixel 16 pixels (11.2 mm) further in along both axes.
    const cropped: Grid = { ...LOW_GRID, size: 64, origin: [LOW_GRID.origin[0] + 16 * LOW_GRID.pixelMm, LOW_GRID.origin[1] + 16 * LOW_GRID.pixelMm, 0] };
    const { app, comparison } = await studyWith(cropped, 'crop');
    const result = differingFromExpected(await paneBoxes(app, comparison), 16, 80, 16, 80);
    // The comparison means something: the body shows inside, and outside the crop the low-dose pane shows body the reference has not.
    expect(result.insideLit).toBeGreaterThan(0);
    expect(result.outsideBody).toBeGreaterThan(0);
    expect(result.differing).toBe(0);
  }, 120_000);

  it('draws a reference of the same matrix whose first pixel lies 7 / 4.2 mm further with its anatomy where the low-dose pane has it', async () => {
    // The low-dose matrix and spacing, the first pixel 10 columns and 6 rows further: a field shifted right and down.
    const shifted: Grid = { ...LOW_GRID, origin: [LOW_GRID.origin[0] + 10 * LOW_GRID.pixelMm, LOW_GRID.origin[1] + 6 * LOW_GRID.pixelMm, 0] };
    const { app, comparison } = await studyWith(shifted, 'shift');
    const boxes = await paneBoxes(app, comparison);
    const result = differingFromExpected(boxes, 10, LOW_GRID.size, 6, LOW_GRID.size);
    expect(result.insideLit).toBeGreaterThan(0);
    expect(result.differing).toBe(0);
    // Not scored (another in-plane origin): the low-dose and denoised panes' metrics line says why, in scoring's words, below the title.
    expect(comparison.unscoredReason).toBe('the in-plane origins (ImagePositionPatient) differ by 11.66 pixels');
    const { png, layout } = boxes;
    for (const k of [0, 1]) {
      const left = k * (layout.imageWidth + 2) + 4;
      expect(drawnTextMismatches(png, left, layout.images[k]!.y - layout.titleHeight + 13, `not scored: ${comparison.unscoredReason}`, [255, 213, 74])).toBe(0);
    }
    // The difference pane's footer says the same, wrapped whole onto two lines (82 characters; a 480-pixel pane holds 78 on one).
    const footer = wrapText(`no difference: ${comparison.unscoredReason}`, layout.imageWidth - 8);
    expect(footer).toEqual(['no difference: the in-plane origins (ImagePositionPatient) differ by 11.66', 'pixels']);
    for (const [line, text] of footer.entries()) {
      expect(drawnTextMismatches(png, 3 * (layout.imageWidth + 2) + 4, layout.images[3]!.y + layout.imageHeight + 3 + 10 * line, text, [150, 160, 172])).toBe(0);
    }
  }, 120_000);
});
