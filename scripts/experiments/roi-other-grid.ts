/**
 * Real-data check of ROIs carried to a reference on another pixel grid (src/metrics/grid-mapping.ts,
 * docs/viewer.md "Measurements").
 *
 *   npx tsx scripts/experiments/roi-other-grid.ts --low <quarter dir> --original <full dir> \
 *     --resampled <full dir resampled to other pixels> --denoised <denoise -o dir with report.json>
 *
 * The resampled reference: the full-dose series resampled (bilinear) to 0.9 mm pixels from the same
 * first pixel (`/usr/bin/python3 scripts/experiments/resample-reference.py <full dir> <out> 0.9`),
 * then `lowdose denoise <quarter dir> --method gaussian --reference <out> -o <denoised>` so the
 * server hangs it as the reference. On every low-dose slice, ellipses of 8 mm radius on a 20 mm
 * grid where the original full-dose slice is soft tissue (mean −50..150 HU, SD < 25 HU) go through
 * `POST /api/measurements.csv`; the reference row is compared with the original full-dose slice's
 * mean over the same ellipse (the truth: the original is on the low-dose grid), and so is what the
 * same pixel indices of the resampled slice read (the viewer before grid mapping).
 *
 *   npx tsx scripts/experiments/roi-other-grid.ts --headers <dir>
 *
 * With real headers: for every pair of series under <dir> with parallel planes, 50 points of one
 * mapped into the other's pixels land at the same patient position (src/dicom/geometry.ts'
 * `patientPosition`, independent of the mapping) within 1e-6 mm in the plane.
 */
import { parseArgs } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { readSliceImage, scanPaths, type Series } from '../../src/dicom/index.js';
import { patientPosition } from '../../src/dicom/geometry.js';
import { gridMapping, mapPoint, type SliceGrid } from '../../src/metrics/grid-mapping.js';
import { regionStats, type Shape } from '../../src/metrics/roi-shapes.js';
import type { StudiesResponse } from '../../src/server/api-types.js';
import { buildApp } from '../../src/server/app.js';
import { Rng } from '../../src/util/random.js';

const { values } = parseArgs({
  options: { low: { type: 'string' }, original: { type: 'string' }, resampled: { type: 'string' }, denoised: { type: 'string' }, headers: { type: 'string' } },
});

if (values.headers) await headersCheck(values.headers);
else await resampledCheck(values.low!, values.original!, values.resampled!, values.denoised!);

async function only(dir: string): Promise<Series> {
  const { series } = await scanPaths([dir]);
  if (series.length !== 1) throw new Error(`${dir}: ${series.length} series`);
  return series[0]!;
}

function grid(series: Series, slice: number): SliceGrid {
  return { rows: series.rows, columns: series.columns, pixelSpacing: [series.spacing[0], series.spacing[1]], orientation: series.orientation, position: series.slices[slice]?.position ?? null };
}

async function resampledCheck(lowDir: string, originalDir: string, resampledDir: string, denoisedDir: string): Promise<void> {
  const low = await only(lowDir);
  const original = await only(originalDir);
  const resampled = await only(resampledDir);
  const app: FastifyInstance = await buildApp({ data: [lowDir, resampledDir, denoisedDir], workDir: `${denoisedDir}/.serve-work`, viewerDir: denoisedDir, logger: { level: 'silent' } });
  const comparison = ((await app.inject({ url: '/api/studies' })).json() as StudiesResponse).studies.flatMap((s) => s.comparisons).find((c) => c.reference !== null);
  if (!comparison) throw new Error('no comparison with a reference: run denoise --reference first');
  const mapped: number[] = [];
  const samePixels: number[] = [];
  const lowDose: number[] = [];
  let rois = 0;
  for (let index = 0; index < low.slices.length; index++) {
    const truthSlice = await readSliceImage(original, index);
    const truth = { rows: truthSlice.rows, columns: truthSlice.columns, value: (i: number) => truthSlice.data[i]!, pixelSpacing: truthSlice.pixelSpacing, padding: truthSlice.padding ?? null };
    const radius = 8 / low.spacing[1];
    const step = Math.round(20 / low.spacing[1]);
    const shapes: Shape[] = [];
    for (let y = step; y < low.rows - step; y += step) {
      for (let x = step; x < low.columns - step; x += step) {
        const shape: Shape = { kind: 'ellipse', ellipse: { cx: x, cy: y, rx: radius, ry: radius } };
        const s = regionStats(truth, shape);
        if (s && s.mean > -50 && s.mean < 150 && s.sd < 25 && s.pixels > 0.9 * Math.PI * radius * radius) shapes.push(shape);
      }
    }
    if (shapes.length === 0) continue;
    const response = await app.inject({ method: 'POST', url: '/api/measurements.csv', payload: { comparisons: [comparison.id], index, measurements: shapes.map((shape) => ({ shape })) } });
    if (response.statusCode !== 200) throw new Error(response.body);
    const rows = response.body.trim().split('\n\n')[0]!.split('\n').slice(1).map((line) => line.split(','));
    const resampledSlice = await readSliceImage(resampled, index);
    const before = { rows: resampledSlice.rows, columns: resampledSlice.columns, value: (i: number) => resampledSlice.data[i]!, pixelSpacing: resampledSlice.pixelSpacing, padding: resampledSlice.padding ?? null };
    for (const [k, shape] of shapes.entries()) {
      const name = `R${k + 1}`;
      const reference = rows.find((r) => r[0] === name && r[2] === 'reference');
      const lowRow = rows.find((r) => r[0] === name && r[2] === 'lowDose');
      if (!reference || reference[5] === '' || !lowRow) continue;
      const t = regionStats(truth, shape)!.mean;
      mapped.push(Number(reference[5]) - t);
      samePixels.push((regionStats(before, shape)?.mean ?? NaN) - t);
      lowDose.push(Number(lowRow[5]) - t);
      rois++;
    }
  }
  await app.close();
  const summary = (d: number[]) => {
    const a = d.filter(Number.isFinite).map(Math.abs);
    return `mean |Δ| ${(a.reduce((p, q) => p + q, 0) / a.length).toFixed(2)} HU, max ${Math.max(...a).toFixed(2)} HU`;
  };
  console.log(`${rois} soft-tissue ROIs (8 mm radius) on ${low.slices.length} slices, against the original full-dose mean over the same ellipse:`);
  console.log(`  reference resampled to ${resampled.spacing[1]} mm, through the grid mapping (POST /api/measurements.csv): ${summary(mapped)}`);
  console.log(`  the same pixel indices of the resampled reference (before): ${summary(samePixels)}`);
  console.log(`  the quarter-dose series (noise only, same grid): ${summary(lowDose)}`);
}

async function headersCheck(dir: string): Promise<void> {
  const { series } = await scanPaths([dir]);
  const placed = series.filter((s) => s.orientation && s.slices[0]?.position);
  const rng = new Rng(7);
  let pairs = 0;
  let refused = 0;
  let worst = 0;
  for (const a of placed) {
    for (const b of placed) {
      if (a === b) continue;
      const m = gridMapping(grid(a, 0), grid(b, 0));
      if (m.kind !== 'mapped') {
        refused++;
        continue;
      }
      pairs++;
      for (let k = 0; k < 50; k++) {
        const p = { x: rng.uniform() * a.columns, y: rng.uniform() * a.rows };
        const q = mapPoint(m.affine, p);
        // patientPosition takes pixel-centre indices: corner-based x − 0.5.
        const pa = patientPosition(a, 0, p.y - 0.5, p.x - 0.5);
        const pb = patientPosition(b, 0, q.y - 0.5, q.x - 0.5);
        // In b's plane: the difference along b's row and column directions.
        const o = b.orientation!;
        const d = [0, 1, 2].map((i) => pa[i]! - pb[i]!);
        const along = (u: number[]) => Math.abs(d[0]! * u[0]! + d[1]! * u[1]! + d[2]! * u[2]!);
        worst = Math.max(worst, along(o.slice(0, 3)), along(o.slice(3, 6)));
      }
    }
  }
  console.log(`${placed.length} series with geometry under ${dir}: ${pairs} ordered pairs mapped (parallel planes), ${refused} refused (another orientation); worst in-plane patient-position error ${worst.toExponential(2)} mm`);
}
