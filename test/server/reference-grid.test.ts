/**
 * `POST /api/measurements.csv` on a hanging whose reference lies on another pixel grid (other
 * pixel spacing, field of view and slice spacing; ./resampled-reference.ts): each ROI is measured
 * over the same anatomy in the reference, at the reference slice of the same position, so a
 * uniform insert reads the same HU in every pane; on a low-dose slice between two reference
 * slices the reference row says how far its nearest slice is instead of a number. The series
 * detail carries each slice's ImagePositionPatient.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ComparisonDetail, SeriesDetail } from '../../src/server/api-types.js';
import { figureLayout } from '../../src/server/figure-render.js';
import { PNG } from 'pngjs';
import { INSERT_A, INSERT_B, LOW_GRID, lowDoseEllipse, phantomHu, REFERENCE_GRID, writeResampledReferenceStudy } from './resampled-reference.js';
import { firstComparison } from '../helpers/server-app.js';

let root: string;
let app: FastifyInstance;
let comparison: ComparisonDetail;

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-reference-grid-'));
  const data = path.join(root, 'data');
  await writeResampledReferenceStudy(data);
  ({ app, comparison } = await firstComparison(root, data));
}, 120_000);

afterAll(async () => {
  await app?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

const measure = async (index: number) => {
  const response = await app.inject({
    method: 'POST',
    url: '/api/measurements.csv',
    payload: {
      comparisons: [comparison.id],
      index,
      measurements: [
        { shape: { kind: 'ellipse', ellipse: lowDoseEllipse(INSERT_A.x, INSERT_A.y, 5) } },
        { shape: { kind: 'ellipse', ellipse: lowDoseEllipse(INSERT_B.x, INSERT_B.y, 4) } },
      ],
    },
  });
  expect(response.statusCode, response.body).toBe(200);
  const lines = response.body.trim().split('\n\n')[0]!.split('\n').slice(1).map((line) => line.split(','));
  return (name: string, pane: string) => {
    const row = lines.find((r) => r[0] === name && r[2] === pane);
    return row ? { mean: row[5] === '' ? null : Number(row[5]), area: Number(row[10]), note: row[12] } : null;
  };
};

describe('measurements on a reference of another pixel grid', () => {
  it('denoise --reference links the 0.9 mm reference for the viewer and scores nothing against it', () => {
    const report = JSON.parse(readFileSync(path.join(root, 'data', 'denoised', 'report.json'), 'utf8')) as {
      series: Array<{ metrics?: unknown; unscoredReference?: { seriesInstanceUid: string; files: number; reason: string } }>;
    };
    expect(report.series).toHaveLength(1);
    // Pixel by pixel, 0.7 mm pixels against 0.9 mm ones from the same first pixel compare other places.
    expect(report.series[0]!.metrics).toBeUndefined();
    expect(report.series[0]!.unscoredReference).toMatchObject({ files: REFERENCE_GRID.slices, reason: 'pixel spacing 0.900 x 0.900 mm against 0.700 x 0.700 mm' });
    expect(comparison.reference).not.toBeNull();
  });

  it('scores no slice against it in the metrics API (pixel by pixel it would compare other places)', async () => {
    const slice = (await app.inject({ url: `/api/comparisons/${comparison.id}/metrics/slices/0` })).json() as { denoised: unknown; lowDose: unknown };
    expect(slice.denoised).toBeNull();
    expect(slice.lowDose).toBeNull();
  });

  it('lists every slice position in the series detail', async () => {
    const low = (await app.inject({ url: `/api/series/${comparison.lowDose}` })).json() as SeriesDetail;
    expect(low.positions).toHaveLength(LOW_GRID.slices);
    expect(low.positions[1]).toEqual([LOW_GRID.origin[0], LOW_GRID.origin[1], 2]);
  });

  it('reads insert A as 100 + 10·z HU and insert B as 300 HU in the low-dose and the reference pane, over the same area', async () => {
    for (const [index, z] of [
      [0, 0],
      [2, 4],
      [4, 8],
    ] as const) {
      const at = await measure(index);
      for (const pane of ['lowDose', 'reference']) {
        expect(at('R1', pane)!.mean, `R1 ${pane} z=${z}`).toBeCloseTo(INSERT_A.hu(z), 1);
        expect(at('R2', pane)!.mean, `R2 ${pane} z=${z}`).toBeCloseTo(INSERT_B.hu, 1);
        expect(at('R1', pane)!.note).toBe('');
      }
      // π·5² mm² on either grid, within its pixelisation.
      for (const pane of ['lowDose', 'reference']) expect(Math.abs(at('R1', pane)!.area - Math.PI * 25) / (Math.PI * 25)).toBeLessThan(0.1);
    }
  });

  it('names the distance to the nearest reference slice at z = 2 and 10 mm, between or past the 4 mm reference slices, instead of a number', async () => {
    for (const index of [1, 5]) {
      const at = await measure(index);
      expect(at('R1', 'lowDose')!.mean).toBeCloseTo(INSERT_A.hu(2 * index), 1);
      expect(at('R1', 'reference')!.mean).toBeNull();
      expect(at('R1', 'reference')!.note).toBe("not measured: this series' nearest slice is 2.0 mm away");
    }
  });

  it('reads other anatomy at the same pixel indices of the reference (what the table did before)', async () => {
    // Insert A's centre in low-dose pixels lies 11 mm away from it at 0.9 mm pixels: the body's 40 HU.
    const e = lowDoseEllipse(INSERT_A.x, INSERT_A.y, 5);
    const x = REFERENCE_GRID.origin[0] + (e.cx - 0.5) * REFERENCE_GRID.pixelMm;
    const y = REFERENCE_GRID.origin[1] + (e.cy - 0.5) * REFERENCE_GRID.pixelMm;
    expect(phantomHu(x, y, 0)).toBe(40);
  });

  it("draws a figure's reference pane on the low-dose grid as the viewer shows it, its outline where the low-dose pane's is", async () => {
    // A rectangle from (0, −10) to (12, 2) mm: low-dose pixels 0.5 + (mm − origin) / 0.7, the reference's / 0.9.
    const px = (mm: number, origin: number, pixel: number) => 0.5 + (mm - origin) / pixel;
    const [ox, oy] = LOW_GRID.origin;
    const from = { x: px(0, ox, 0.7), y: px(-10, oy, 0.7) };
    const to = { x: px(12, ox, 0.7), y: px(2, oy, 0.7) };
    const response = await app.inject({ method: 'POST', url: '/api/figure.png', payload: { comparisons: [comparison.id], index: 2, measurements: [{ shape: { kind: 'rectangle', from, to } }] } });
    expect(response.statusCode, response.body).toBe(200);
    const png = PNG.sync.read(response.rawPayload);
    const blank = { title: '', metrics: '', footer: '', image: { rows: 96, columns: 96, data: new Float32Array(96 * 96), pixelSpacing: [1, 1] as [number, number] } };
    const layout = figureLayout([blank, blank, blank, blank], { window: { lo: 0, hi: 1 }, scale: 1 });
    const outline = (pane: number, ix: number, iy: number) => {
      const { x, y, zoom } = layout.images[pane]!;
      // The outline's figure pixel, within one of where the line falls.
      return [-1, 0, 1].some((d) => {
        const o = 4 * (Math.round(y + iy * zoom) * png.width + Math.round(x + ix * zoom) + d);
        return png.data[o] === 0x7f && png.data[o + 1] === 0xd3 && png.data[o + 2] === 0xff;
      });
    };
    const middle = (a: number, b: number) => (a + b) / 2;
    // Both panes: the left edge at the low-dose pixels (the reference resampled onto them, the same
    // millimetres at the same place of its box), not at the reference's own pixels of that place.
    expect(outline(0, from.x, middle(from.y, to.y))).toBe(true);
    expect(outline(2, from.x, middle(from.y, to.y))).toBe(true);
    expect(outline(2, px(0, ox, 0.9), middle(px(-10, oy, 0.9), px(2, oy, 0.9)))).toBe(false);
  });
});
