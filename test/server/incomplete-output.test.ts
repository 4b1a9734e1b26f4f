/**
 * A denoised series its run did not finish is shown as such by the server, not as a shorter
 * finished result: a `denoise` stopped half way (whole slice files, no completion marker, E_CANCELLED
 * in report.json), a series whose marker was removed (a run killed before writing it), and one
 * whose marker lists files that are gone. Its comparison says `incomplete` (k of n slices) and its
 * series means are refused (E_OUTPUT_INCOMPLETE); the slices present still score one by one. A
 * finished series is not flagged.
 *
 * Its files name their completion marker (SoftwareVersions `completion marker .lowdose-complete.json`),
 * so a series folder copied alone or pulled from a PACS (no report.json, no run lock beside it) is
 * judged by it too: without the marker it is incomplete. One that names no marker (an older
 * lowdose's) is judged as before: only where its run wrote it. Where report.json is beside it, the
 * message carries the run's own reason (E_CANCELLED: "stopped after k of n slices").
 */
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, unlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readDicomFile } from '../../src/dicom/index.js';
import { lowdoseCompletionMarker } from '../../src/dicom/read-contributing-equipment.js';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import type { ComparisonDetail, ComparisonSummary } from '../../src/server/api-types.js';
import { seriesFolderIn, writeDiscCt } from '../helpers/disc-ct.js';
import { hasPydicom, makePetTiming } from '../helpers/pet-timing.js';
import { listedComparisons, serverOver } from '../helpers/server-app.js';

const PYTHON = '/usr/bin/python3';
const SLICES = 7;
const SIZE = 32;
let root: string;
const apps: FastifyInstance[] = [];

/** A 7-slice 32x32 CT series (./helpers/disc-ct.ts). */
const writeLowDose = (dir: string) => writeDiscCt(dir, { slices: SLICES, size: SIZE, uidSeed: 'incomplete-low' });

/** The denoised series folder in `data/denoised` (the one folder beside report.json and previews). */
const seriesFolder = (data: string) => seriesFolderIn(path.join(data, 'denoised'));

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

  it("carries its run's own reason from the report.json beside it: stopped after k of n slices [E_CANCELLED]", async () => {
    const { summary } = await only(stopped);
    expect(summary.incomplete!.message).toMatch(
      new RegExp(`; its report\\.json says: CT series [0-9.]+ was stopped after ${stoppedSlices} of ${SLICES} slices \\(interrupted by SIGINT\\): it is not finished .* \\[E_CANCELLED\\]$`),
    );
  });

  it('names its completion marker in its files (SoftwareVersions of its Contributing Equipment item)', async () => {
    for (const data of [finished, stopped]) {
      const dir = seriesFolder(data);
      const first = readdirSync(dir).filter((f) => f.endsWith('.dcm')).sort()[0]!;
      expect(lowdoseCompletionMarker((await readDicomFile(path.join(dir, first))).dataSet)).toBe('.lowdose-complete.json');
    }
  });

  it('copied alone after its run was stopped (no report.json, no lock beside it): incomplete, as it names a marker it lacks', async () => {
    const data = path.join(root, 'stopped-alone');
    cpSync(path.join(stopped, 'low'), path.join(data, 'low'), { recursive: true });
    cpSync(seriesFolder(stopped), path.join(data, 'copied', path.basename(seriesFolder(stopped))), { recursive: true });
    const { app, summary } = await only(data);
    expect(summary.incomplete).toMatchObject({ slices: stoppedSlices, expected: SLICES });
    expect(summary.incomplete!.message).toContain('has no .lowdose-complete.json, the completion marker lowdose denoise writes once the series is finished (or the series was copied or pulled from a PACS without it)');
    expect((await app.inject({ url: `/api/comparisons/${summary.id}/metrics` })).statusCode).toBe(409);
  });

  it('copied alone when finished: not flagged with its marker, incomplete without it (as a PACS gives a series back)', async () => {
    const data = path.join(root, 'finished-alone');
    cpSync(path.join(finished, 'low'), path.join(data, 'low'), { recursive: true });
    const copy = path.join(data, 'copied', path.basename(seriesFolder(finished)));
    cpSync(seriesFolder(finished), copy, { recursive: true });
    expect((await only(data)).summary.incomplete).toBeNull();
    unlinkSync(path.join(copy, '.lowdose-complete.json'));
    const { summary } = await only(data);
    expect(summary.incomplete).toMatchObject({ slices: SLICES, expected: SLICES });
  });

  it.skipIf(!hasPydicom)("naming no marker (an older lowdose's files): judged only where its run wrote it, as before", async () => {
    // The stopped run's files as an older lowdose wrote them: SoftwareVersions without the marker's name (pydicom).
    const older = path.join(root, 'older');
    cpSync(stopped, older, { recursive: true });
    const dir = seriesFolder(older);
    const strip = [
      'import pydicom, sys',
      'for f in sys.argv[1:]:',
      '    d = pydicom.dcmread(f)',
      '    item = d.ContributingEquipmentSequence[-1]',
      "    item.SoftwareVersions = [v for v in item.SoftwareVersions if not v.startswith('completion marker ')]",
      '    d.save_as(f)',
    ].join('\n');
    const files = readdirSync(dir).filter((f) => f.endsWith('.dcm')).map((f) => path.join(dir, f));
    const run = spawnSync(PYTHON, ['-c', strip, ...files], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    expect(lowdoseCompletionMarker((await readDicomFile(files[0]!)).dataSet)).toBeNull();
    // Beside its report.json: judged (as before).
    expect((await only(older)).summary.incomplete).toMatchObject({ slices: stoppedSlices, expected: SLICES });
    // Copied alone: names no marker and no run beside it, so not judged (as before).
    const alone = path.join(root, 'older-alone');
    cpSync(path.join(older, 'low'), path.join(alone, 'low'), { recursive: true });
    cpSync(dir, path.join(alone, 'copied', path.basename(dir)), { recursive: true });
    expect((await only(alone)).summary.incomplete).toBeNull();
  });

  it('is not flagged, and scored, when finished', async () => {
    const { app, summary } = await only(finished);
    expect(summary.incomplete).toBeNull();
    const means = await app.inject({ url: `/api/comparisons/${summary.id}/metrics` });
    expect(means.statusCode).toBe(200);
  });
});

describe.skipIf(!hasPydicom)('a time point of a dynamic PET acquisition', () => {
  it('names its own marker, and is judged by it on its own in a folder copied alone', async () => {
    const data = path.join(root, 'dynamic');
    makePetTiming(path.join(data, 'source'));
    const run = path.join(root, 'dynamic-run');
    await denoisePaths([path.join(data, 'source', 'dynamic')], { outDir: run, method: 'gaussian' });
    const dir = seriesFolderIn(run);
    expect(lowdoseCompletionMarker((await readDicomFile(path.join(dir, 't02-IM0001.dcm'))).dataSet)).toBe('.lowdose-complete-t02.json');
    // The acquisition's folder copied alone, time point 2's marker left behind.
    cpSync(dir, path.join(data, 'copied', path.basename(dir)), { recursive: true });
    unlinkSync(path.join(data, 'copied', path.basename(dir), '.lowdose-complete-t02.json'));
    const app = await serverOver(path.join(root, 'dynamic-server'), data);
    apps.push(app);
    const listed = await listedComparisons(app);
    expect(listed).toHaveLength(3);
    const frames = await Promise.all(
      listed.map(async (c) => {
        const denoised = (await app.inject({ url: `/api/series/${c.denoised}` })).json() as { petFrame?: { tag: string } };
        return [denoised.petFrame?.tag, c.incomplete === null ? null : c.incomplete!.slices] as const;
      }),
    );
    expect(frames.sort()).toEqual([['t01', null], ['t02', 2], ['t03', null]]);
    expect(listed.find((c) => c.incomplete)!.incomplete!.message).toContain('has no .lowdose-complete-t02.json');
  });
});
