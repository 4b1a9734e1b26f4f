/**
 * A denoised series its run did not finish is shown as such by the server, not as a shorter
 * finished result: a `denoise` stopped half way (whole slice files, no completion marker, E_CANCELLED
 * in report.json), a series whose marker was removed (a run killed before writing it), and one
 * whose marker lists files that are gone. Its comparison says `incomplete` (k of n slices) and its
 * series means are refused (E_OUTPUT_INCOMPLETE); the slices present still score one by one. A
 * finished series is not flagged.
 */
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, unlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeVolumeSeries } from '../../src/dicom/write-volume.js';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import type { ComparisonDetail, ComparisonSummary } from '../../src/server/api-types.js';
import { listedComparisons, serverOver } from '../helpers/server-app.js';

const SLICES = 7;
const SIZE = 32;
let root: string;
const apps: FastifyInstance[] = [];

/** A 7-slice CT series: a disc of 60 HU in 0 HU with seeded noise (sd 20 HU). */
async function writeLowDose(dir: string): Promise<void> {
  let state = 20261207;
  const noise = () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return (state / 2147483648 - 0.5) * 69.3;
  };
  const slices = Array.from({ length: SLICES }, () => {
    const data = new Float32Array(SIZE * SIZE);
    for (let r = 0; r < SIZE; r++) for (let c = 0; c < SIZE; c++) data[r * SIZE + c] = ((r - 16) ** 2 + (c - 16) ** 2 < 64 ? 60 : 0) + noise();
    return data;
  });
  await writeVolumeSeries({ modality: 'CT', units: 'HU', rows: SIZE, columns: SIZE, slices, spacing: [0.8, 0.8, 2], description: 'low dose' }, dir, { uidSeed: 'incomplete-low', seriesNumber: 1 });
}

/** The denoised series folder in `data/denoised` (the one folder beside report.json and previews). */
function seriesFolder(data: string): string {
  const out = path.join(data, 'denoised');
  const name = readdirSync(out, { withFileTypes: true }).find((e) => e.isDirectory() && e.name !== 'previews' && !e.name.startsWith('.'))!.name;
  return path.join(out, name);
}

async function only(data: string): Promise<{ app: FastifyInstance; summary: ComparisonSummary; detail: ComparisonDetail }> {
  const app = await serverOver(path.join(root, `${path.basename(data)}-server`), data);
  apps.push(app);
  const listed = await listedComparisons(app);
  expect(listed).toHaveLength(1);
  const detail = (await app.inject({ url: `/api/comparisons/${listed[0]!.id}` })).json() as ComparisonDetail;
  return { app, summary: listed[0]!, detail };
}

let finished: string;
let stopped: string;
let stoppedSlices: number;

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-incomplete-output-'));
  finished = path.join(root, 'finished');
  await writeLowDose(path.join(finished, 'low'));
  await denoisePaths([path.join(finished, 'low')], { outDir: path.join(finished, 'denoised'), method: 'gaussian' });
  // A run stopped as SIGINT stops it (src/cli/stop-on-signal.ts aborts the run's signal): once the third slice is written.
  stopped = path.join(root, 'stopped');
  cpSync(path.join(finished, 'low'), path.join(stopped, 'low'), { recursive: true });
  const controller = new AbortController();
  const run = denoisePaths([path.join(stopped, 'low')], {
    outDir: path.join(stopped, 'denoised'),
    method: 'gaussian',
    batch: 1,
    signal: controller.signal,
    onProgress: (p) => {
      if (p.slicesDone >= 3) controller.abort(new Error('interrupted by SIGINT'));
    },
  });
  await expect(run).rejects.toMatchObject({ code: 'E_CANCELLED' });
  stoppedSlices = readdirSync(seriesFolder(stopped)).filter((f) => f.endsWith('.dcm')).length;
}, 120_000);

afterAll(async () => {
  for (const app of apps) await app.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('a denoised series its run did not finish', () => {
  it('is paired with incomplete: k of n slices when its run was stopped (E_CANCELLED), and its series means are refused', async () => {
    expect(stoppedSlices).toBeGreaterThan(0);
    expect(stoppedSlices).toBeLessThan(SLICES);
    const { app, summary, detail } = await only(stopped);
    expect(summary.incomplete).toMatchObject({ slices: stoppedSlices, expected: SLICES });
    expect(summary.incomplete!.message).toContain(`incomplete output: ${stoppedSlices} of ${SLICES} slices; the run was stopped or failed`);
    expect(detail.incomplete).toEqual(summary.incomplete);
    const means = await app.inject({ url: `/api/comparisons/${summary.id}/metrics` });
    expect(means.statusCode).toBe(409);
    expect(means.json()).toMatchObject({ code: 'E_OUTPUT_INCOMPLETE' });
    expect((await app.inject({ url: `/api/comparisons/${summary.id}/metrics.csv` })).statusCode).toBe(409);
    // A slice that is there still scores on its own.
    expect((await app.inject({ url: `/api/comparisons/${summary.id}/metrics/slices/0` })).statusCode).toBe(200);
  });

  it('is incomplete when its completion marker was removed and slices are gone (a run killed)', async () => {
    const data = path.join(root, 'killed');
    cpSync(finished, data, { recursive: true });
    const dir = seriesFolder(data);
    unlinkSync(path.join(dir, '.lowdose-complete.json'));
    for (const f of readdirSync(dir).filter((f) => f.endsWith('.dcm')).sort().slice(3)) unlinkSync(path.join(dir, f));
    const { app, summary } = await only(data);
    expect(summary.incomplete).toMatchObject({ slices: 3, expected: SLICES });
    expect(summary.incomplete!.message).toContain('.lowdose-complete.json');
    expect((await app.inject({ url: `/api/comparisons/${summary.id}/metrics` })).statusCode).toBe(409);
  });

  it('is incomplete when its marker lists files that are no longer there', async () => {
    const data = path.join(root, 'trimmed');
    cpSync(finished, data, { recursive: true });
    const dir = seriesFolder(data);
    expect(existsSync(path.join(dir, '.lowdose-complete.json'))).toBe(true);
    for (const f of readdirSync(dir).filter((f) => f.endsWith('.dcm')).sort().slice(3)) unlinkSync(path.join(dir, f));
    const { summary } = await only(data);
    expect(summary.incomplete).toMatchObject({ slices: 3, expected: SLICES });
    expect(summary.incomplete!.message).toContain(`lists ${SLICES} file(s), 3 were read`);
  });

  it('is not flagged, and scored, when finished', async () => {
    const { app, summary } = await only(finished);
    expect(summary.incomplete).toBeNull();
    const means = await app.inject({ url: `/api/comparisons/${summary.id}/metrics` });
    expect(means.statusCode).toBe(200);
  });
});
