/**
 * A reference of the same frame reconstructed on a smaller field of view (another matrix: 64² of
 * the low-dose 96² pixels, its first pixel 11.2 mm further in) is linked by `denoise --reference`
 * as unscoredReference with its reason, and the server hangs it: the measurement table reads the
 * same anatomy in it through patient coordinates, the figure draws it (no difference image).
 * Before, `denoise --reference` considered only references of the input's matrix and linked none.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeVolumeSeries } from '../../src/dicom/write-volume.js';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import type { ComparisonDetail } from '../../src/server/api-types.js';
import { INSERT_A, INSERT_B, LOW_GRID, lowDoseEllipse, sampled, type Grid } from './resampled-reference.js';
import { firstComparison } from '../helpers/server-app.js';

const CROPPED: Grid = { ...LOW_GRID, size: 64, origin: [LOW_GRID.origin[0] + 16 * LOW_GRID.pixelMm, LOW_GRID.origin[1] + 16 * LOW_GRID.pixelMm, 0] };

let root: string;
let app: FastifyInstance;
let comparison: ComparisonDetail;
let denoisedDir: string;

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-cropped-reference-'));
  const data = path.join(root, 'data');
  const lowDir = path.join(data, 'low');
  const referenceDir = path.join(data, 'reference');
  denoisedDir = path.join(data, 'denoised');
  const shared = { studyInstanceUid: '2.25.7006001', frameOfReferenceUid: '2.25.7006002', patientName: 'PHANTOM^CROP' };
  await writeVolumeSeries(sampled(LOW_GRID, 'low dose'), lowDir, { ...shared, uidSeed: 'crop-low', origin: LOW_GRID.origin, seriesNumber: 1 });
  await writeVolumeSeries(sampled(CROPPED, 'reference 64 px'), referenceDir, { ...shared, uidSeed: 'crop-reference', origin: CROPPED.origin, seriesNumber: 2 });
  await denoisePaths([lowDir], { outDir: denoisedDir, method: 'gaussian', reference: [referenceDir] });
  ({ app, comparison } = await firstComparison(root, data));
}, 120_000);

afterAll(async () => {
  await app?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('a reference of a smaller matrix (cropped field of view, same frame)', () => {
  it('is linked by denoise --reference as unscoredReference naming the matrix, and hung by the server unscored', async () => {
    const report = JSON.parse(readFileSync(path.join(denoisedDir, 'report.json'), 'utf8')) as { series: Array<{ metrics?: unknown; unscoredReference?: unknown }> };
    expect(report.series[0]!.metrics).toBeUndefined();
    expect(report.series[0]!.unscoredReference).toMatchObject({ files: LOW_GRID.slices, reason: 'matrix 64 x 64 against 96 x 96' });
    expect(comparison.reference).not.toBeNull();
    expect(comparison.alignment.reference).toEqual([0, 1, 2, 3, 4, 5]);
    const metrics = (await app.inject({ url: `/api/comparisons/${comparison.id}/metrics/slices/2` })).json() as { lowDose: unknown };
    expect(metrics.lowDose).toBeNull();
  });

  it('reads the inserts over the same anatomy in it, and its figure has the reference pane without a difference image', async () => {
    const measurements = [{ shape: { kind: 'ellipse', ellipse: lowDoseEllipse(INSERT_A.x, INSERT_A.y, 5) } }, { shape: { kind: 'ellipse', ellipse: lowDoseEllipse(INSERT_B.x, INSERT_B.y, 4) } }];
    const response = await app.inject({ method: 'POST', url: '/api/measurements.csv', payload: { comparisons: [comparison.id], index: 2, measurements } });
    expect(response.statusCode, response.body).toBe(200);
    const rows = response.body.trim().split('\n\n')[0]!.split('\n').slice(1).map((line) => line.split(','));
    const at = (name: string, pane: string) => rows.find((r) => r[0] === name && r[2] === pane)!;
    for (const pane of ['lowDose', 'reference']) {
      expect(Number(at('R1', pane)[5]), pane).toBeCloseTo(INSERT_A.hu(4), 1);
      expect(Number(at('R2', pane)[5]), pane).toBeCloseTo(INSERT_B.hu, 1);
    }
    expect(at('R2', 'reference')[9]).toBe(at('R2', 'lowDose')[9]);
    const figure = await app.inject({ method: 'POST', url: '/api/figure.png', payload: { comparisons: [comparison.id], index: 2, measurements } });
    expect(figure.statusCode, figure.body).toBe(200);
  });
});
