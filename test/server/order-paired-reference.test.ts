/**
 * A reference paired with the low-dose series by order (both carry positions, none coincide: it
 * names another FrameOfReferenceUID and another in-plane origin) is scored by the server's
 * metrics API exactly as `lowdose metrics` scores it: paired by order only the pixel spacing is
 * checked (pairingGridMismatch, one rule for both). The server used to run the full grid check
 * through patient coordinates on such pairs and scored nothing. An ROI on its pane reads the
 * pixels scored (gridAsPaired: pixel i is pixel i), not those its other frame's positions name.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeVolumeSeries } from '../../src/dicom/write-volume.js';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import { runMetrics } from '../../src/pipeline/metrics.js';
import type { ComparisonDetail, SliceMetrics } from '../../src/server/api-types.js';
import type { Ellipse } from '../../src/metrics/roi-shapes.js';
import { figureLayout } from '../../src/server/figure-render.js';
import { PNG } from 'pngjs';
import { INSERT_B, LOW_GRID, lowDoseEllipse, phantomHu, sampled } from './resampled-reference.js';
import { firstComparison, linkReferenceByHand } from '../helpers/server-app.js';

let root: string;
let app: FastifyInstance;
let comparison: ComparisonDetail;
let lowDir: string;
let referenceDir: string;

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-order-reference-'));
  const data = path.join(root, 'data');
  lowDir = path.join(data, 'low');
  referenceDir = path.join(data, 'reference');
  const denoisedDir = path.join(data, 'denoised');
  await writeVolumeSeries(sampled(LOW_GRID, 'low dose'), lowDir, { uidSeed: 'order-low', frameOfReferenceUid: '2.25.7003001', origin: LOW_GRID.origin, seriesNumber: 1 });
  // The same pixels 10 HU brighter (finite PSNR), stored 5 mm / 3 mm off in-plane in another frame.
  const reference = sampled(LOW_GRID, 'reference');
  const brighter = { ...reference, slices: reference.slices.map((s) => s.map((v) => v + 10)) };
  const shifted = [LOW_GRID.origin[0] + 5, LOW_GRID.origin[1] + 3, LOW_GRID.origin[2]] as const;
  await writeVolumeSeries(brighter, referenceDir, { uidSeed: 'order-reference', frameOfReferenceUid: '2.25.7003002', origin: shifted, seriesNumber: 2 });
  await denoisePaths([lowDir], { outDir: denoisedDir, method: 'gaussian' });
  // The report links the reference as a report of `denoise --reference` of a series paired by order would (the CLI scores such a pair).
  await linkReferenceByHand(denoisedDir, referenceDir, LOW_GRID.slices);
  ({ app, comparison } = await firstComparison(root, data));
}, 120_000);

afterAll(async () => {
  await app?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('a reference paired by order', () => {
  it('is scored by the metrics API with the scores lowdose metrics gives the same pair', async () => {
    expect(comparison.alignment.reference).toEqual([0, 1, 2, 3, 4, 5]);
    expect(comparison.alignment.matchedBy?.reference).toBe('order');
    const { result } = await runMetrics({ reference: referenceDir, test: lowDir });
    expect(result.slices).toHaveLength(LOW_GRID.slices);
    for (const [k, cli] of result.slices.entries()) {
      const server = (await app.inject({ url: `/api/comparisons/${comparison.id}/metrics/slices/${k}` })).json() as SliceMetrics;
      expect(server.lowDose, `slice ${k}`).not.toBeNull();
      expect(server.lowDose!.psnr!).toBeCloseTo(cli.psnr!, 6);
      expect(server.lowDose!.ssim).toBeCloseTo(cli.ssim, 6);
      expect(server.lowDose!.rmse).toBeCloseTo(cli.rmse, 6);
    }
  });
});

/** Mean, sample SD and count of the reference's values (the phantom + 10 HU at the low-dose pixel centres: its pixels as stored) whose centres lie in `roi`, counted here from the phantom. */
function expectedReferenceStats(roi: Ellipse, z: number): { mean: number; sd: number; pixels: number } {
  const values: number[] = [];
  for (let r = 0; r < LOW_GRID.size; r++) {
    for (let c = 0; c < LOW_GRID.size; c++) {
      if (((c + 0.5 - roi.cx) / roi.rx) ** 2 + ((r + 0.5 - roi.cy) / roi.ry) ** 2 > 1) continue;
      values.push(phantomHu(LOW_GRID.origin[0] + c * LOW_GRID.pixelMm, LOW_GRID.origin[1] + r * LOW_GRID.pixelMm, z) + 10);
    }
  }
  const mean = values.reduce((a, v) => a + v, 0) / values.length;
  const sd = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1));
  return { mean, sd, pixels: values.length };
}

describe('an ROI on the pane of a reference paired by order', () => {
  it('reads the reference pixels the scores compare: the ROI at the same pixel indices, not moved by the other frame\'s positions', async () => {
    // Across insert B's edge: half insert (300 HU), half body (40 HU), so a region moved by the 5 / 3 mm origin reads other values.
    const roi = lowDoseEllipse(INSERT_B.x + 5, INSERT_B.y, 4);
    const response = await app.inject({ method: 'POST', url: '/api/measurements.csv', payload: { comparisons: [comparison.id], index: 2, measurements: [{ shape: { kind: 'ellipse', ellipse: roi } }] } });
    expect(response.statusCode, response.body).toBe(200);
    const rows = response.body.trim().split('\n').slice(1).map((line) => line.split(','));
    const reference = rows.find((r) => r[2] === 'reference')!;
    const expected = expectedReferenceStats(roi, LOW_GRID.origin[2] + 2 * LOW_GRID.sliceMm);
    expect(Number(reference[9])).toBe(expected.pixels);
    expect(Number(reference[5])).toBeCloseTo(expected.mean, 6);
    expect(Number(reference[6])).toBeCloseTo(expected.sd, 6);
    // The low-dose pane reads the same pixels 10 HU darker.
    const lowDose = rows.find((r) => r[2] === 'lowDose')!;
    expect(Number(lowDose[9])).toBe(expected.pixels);
    expect(Number(lowDose[5])).toBeCloseTo(expected.mean - 10, 6);
  });
});

describe('the figure of a reference paired by order', () => {
  it('has a difference image, as the viewer subtracts such a reference pixel by pixel', async () => {
    const response = await app.inject({ url: `/api/figure.png?comparisons=${comparison.id}&index=2` });
    expect(response.statusCode, response.body).toBe(200);
    const png = PNG.sync.read(response.rawPayload);
    const image = { rows: LOW_GRID.size, columns: LOW_GRID.size, data: new Float32Array(LOW_GRID.size ** 2), pixelSpacing: [LOW_GRID.pixelMm, LOW_GRID.pixelMm] as [number, number] };
    const pane = { title: '', metrics: '', footer: '', image };
    const { x, y, zoom } = figureLayout([pane, pane, pane, pane], { window: { lo: 0, hi: 1 }, scale: 1 }).images[3]!;
    // Denoised − reference is about −10 HU over the body: coloured (blue) pixels, where a pane without an image is black.
    let coloured = 0;
    for (let r = 0; r < LOW_GRID.size * zoom; r++) {
      for (let c = 0; c < LOW_GRID.size * zoom; c++) {
        const o = 4 * ((y + r) * png.width + x + c);
        if (png.data[o + 2]! > 0 && png.data[o + 2]! > png.data[o]!) coloured++;
      }
    }
    expect(coloured).toBeGreaterThan(1000);
  });
});
