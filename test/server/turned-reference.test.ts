/**
 * A reference that stores the low-dose field turned a quarter (./resampled-reference.ts,
 * writeTurnedReferenceStudy: rows run posterior, the first pixel at the other corner, one frame of
 * reference). Its ImagePositionPatient lies 66.5 mm from the low-dose one's in-plane, so only the
 * pairing along the slice normal finds its slices: `denoise --reference` links it as
 * unscoredReference, and the server measures ROIs over the same anatomy in it.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanPaths } from '../../src/dicom/index.js';
import type { ComparisonDetail } from '../../src/server/api-types.js';
import { comparisonFigureLayout } from '../helpers/figure-panes.js';
import { PNG } from 'pngjs';
import { INSERT_A, INSERT_B, LOW_GRID, lowDoseEllipse, TURNED_ORIENTATION, writeTurnedReferenceStudy } from './resampled-reference.js';
import { firstComparison } from '../helpers/server-app.js';

let root: string;
let app: FastifyInstance;
let comparison: ComparisonDetail;
let dirs: Awaited<ReturnType<typeof writeTurnedReferenceStudy>>;

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-turned-reference-'));
  const data = path.join(root, 'data');
  dirs = await writeTurnedReferenceStudy(data);
  ({ app, comparison } = await firstComparison(root, data));
}, 120_000);

afterAll(async () => {
  await app?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('a reference stored turned a quarter', () => {
  it('is written with the turned orientation and linked by denoise --reference as unscoredReference, flipped or turned', async () => {
    const [reference] = (await scanPaths([dirs.referenceDir])).series;
    expect(reference!.orientation).toEqual([...TURNED_ORIENTATION]);
    const report = JSON.parse(readFileSync(path.join(dirs.denoisedDir, 'report.json'), 'utf8')) as {
      series: Array<{ metrics?: unknown; unscoredReference?: { files: number; reason: string } }>;
    };
    expect(report.series[0]!.metrics).toBeUndefined();
    expect(report.series[0]!.unscoredReference).toMatchObject({ files: LOW_GRID.slices, reason: 'the slices are flipped or turned against each other (ImageOrientationPatient)' });
    expect(comparison.reference).not.toBeNull();
    expect(comparison.alignment.reference).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('reads insert A as 100 + 10·z HU and insert B as 300 HU in the reference pane, over the same area as in the low-dose pane', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/api/measurements.csv',
      payload: {
        comparisons: [comparison.id],
        index: 2,
        measurements: [{ shape: { kind: 'ellipse', ellipse: lowDoseEllipse(INSERT_A.x, INSERT_A.y, 5) } }, { shape: { kind: 'ellipse', ellipse: lowDoseEllipse(INSERT_B.x, INSERT_B.y, 4) } }],
      },
    });
    expect(response.statusCode, response.body).toBe(200);
    const rows = response.body.trim().split('\n\n')[0]!.split('\n').slice(1).map((line) => line.split(','));
    const at = (name: string, pane: string) => rows.find((r) => r[0] === name && r[2] === pane)!;
    for (const pane of ['lowDose', 'reference']) {
      expect(Number(at('R1', pane)[5]), pane).toBeCloseTo(INSERT_A.hu(4), 1);
      expect(Number(at('R2', pane)[5]), pane).toBeCloseTo(INSERT_B.hu, 1);
    }
    expect(at('R1', 'reference')[9]).toBe(at('R1', 'lowDose')[9]);
  });

  it('is drawn in the figure turned back as the viewer shows it: the same picture and outline as the low-dose pane', async () => {
    const ellipse = lowDoseEllipse(INSERT_B.x, INSERT_B.y, 4);
    const response = await app.inject({
      method: 'POST',
      url: '/api/figure.png',
      payload: { comparisons: [comparison.id], index: 2, window: 400, level: 100, measurements: [{ shape: { kind: 'ellipse', ellipse } }] },
    });
    expect(response.statusCode, response.body).toBe(200);
    const png = PNG.sync.read(response.rawPayload);
    // Low-dose, denoised, reference, and the difference pane without an image (another grid).
    const image = { rows: 96, columns: 96, data: new Float32Array(96 * 96), pixelSpacing: [0.7, 0.7] as [number, number] };
    const layout = await comparisonFigureLayout(app, comparison.id, [image, image, image, null]);
    const box = (k: number) => {
      const { x, y, zoom } = layout.images[k]!;
      const pixels: number[] = [];
      for (let r = 0; r < 96 * zoom; r++) for (let c = 0; c < 96 * zoom; c++) pixels.push(...png.data.subarray(4 * ((y + r) * png.width + x + c), 4 * ((y + r) * png.width + x + c) + 3));
      return pixels;
    };
    const low = box(0);
    const reference = box(2);
    // The phantom is sampled at the same patient points in both (the reference a quarter turn of the low-dose grid).
    const differing = low.filter((v, i) => v !== reference[i]).length;
    expect(differing).toBe(0);
    // The outline is there (light blue) in both.
    const outlined = (pixels: number[]) => pixels.some((_, i) => i % 3 === 0 && pixels[i] === 0x7f && pixels[i + 1] === 0xd3 && pixels[i + 2] === 0xff);
    expect(outlined(low)).toBe(true);
    expect(outlined(reference)).toBe(true);
  });
});
