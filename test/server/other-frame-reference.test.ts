/**
 * A reference of another FrameOfReferenceUID whose slices happen to lie at the low-dose slices'
 * places along the normal (another scan, in-plane origin 5 / 3 mm off, every other slice) is not
 * one coordinate system with the low-dose series: pairSlices compares whole positions across
 * frames and pairs none, and the server's exports (measurement table, figure) pair the same way
 * (slicesAlongNormal checks the frame as pairSlices does) instead of reading that series' slice
 * at the same place along the normal.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeVolumeSeries } from '../../src/dicom/write-volume.js';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import type { ComparisonDetail, SeriesDetail } from '../../src/server/api-types.js';
import { INSERT_B, LOW_GRID, lowDoseEllipse, sampled } from './resampled-reference.js';
import { firstComparison, linkReferenceByHand } from '../helpers/server-app.js';

let root: string;
let app: FastifyInstance;
let comparison: ComparisonDetail;

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-other-frame-'));
  const data = path.join(root, 'data');
  const lowDir = path.join(data, 'low');
  const referenceDir = path.join(data, 'reference');
  const denoisedDir = path.join(data, 'denoised');
  await writeVolumeSeries(sampled(LOW_GRID, 'low dose'), lowDir, { uidSeed: 'frame-low', frameOfReferenceUid: '2.25.7005001', origin: LOW_GRID.origin, seriesNumber: 1 });
  const every2 = sampled({ ...LOW_GRID, slices: 3, sliceMm: 4 }, 'other scan');
  const shifted = [LOW_GRID.origin[0] + 5, LOW_GRID.origin[1] + 3, LOW_GRID.origin[2]] as const;
  await writeVolumeSeries(every2, referenceDir, { uidSeed: 'frame-reference', frameOfReferenceUid: '2.25.7005002', origin: shifted, seriesNumber: 2 });
  await denoisePaths([lowDir], { outDir: denoisedDir, method: 'gaussian' });
  // Linked by the report (as a hand-edited or older report may): the server shows what it links.
  await linkReferenceByHand(denoisedDir, referenceDir, 3);
  ({ app, comparison } = await firstComparison(root, data));
}, 120_000);

afterAll(async () => {
  await app?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('a reference of another frame of reference', () => {
  it('names its frame in the series facts and is paired with no low-dose slice by the server', async () => {
    const reference = (await app.inject({ url: `/api/series/${comparison.reference!}` })).json() as SeriesDetail;
    expect(reference.frameOfReferenceUid).toBe('2.25.7005002');
    expect(comparison.alignment.reference).toBeNull();
  });

  it('is read in no slice by the measurement table, though a slice lies at the same place along the normal', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/api/measurements.csv',
      payload: { comparisons: [comparison.id], index: 2, measurements: [{ shape: { kind: 'ellipse', ellipse: lowDoseEllipse(INSERT_B.x, INSERT_B.y, 4) } }] },
    });
    expect(response.statusCode, response.body).toBe(200);
    const panes = response.body.trim().split('\n\n')[0]!.split('\n').slice(1).map((line) => line.split(',')[2]);
    expect(panes).toEqual(['lowDose', 'denoised']);
  });
});
