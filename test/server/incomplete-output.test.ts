/**
 * A denoised series its run did not finish is shown as such by the server, not as a shorter
 * finished result: a `denoise` stopped half way (whole slice files, no completion marker, E_CANCELLED
 * in report.json), a series whose marker was removed (a run killed before writing it), and one
 * whose marker lists files that are gone. Its comparison says `incomplete` (k of n slices) and its
 * series means are refused (E_OUTPUT_INCOMPLETE); the slices present still score one by one. A
 * finished series is not flagged.
 *
 * Its files name their completion marker (SoftwareVersions `completion marker .lowdose-complete.json`)
 * and state how many files the whole series has (`series of 7 files numbered 1-7`), so a series
 * folder copied alone without its hidden marker (no report.json, no run lock beside it; as a PACS
 * gives a series back, test/server/pacs-output-complete.test.ts) is judged by that count: whole when
 * all 7 files numbered 1-7 are there, else incomplete "k of n". Files that name a marker but state no
 * count are incomplete without the marker; files that name no marker (an older lowdose's) are judged
 * as before: only where their run wrote them. Where report.json is beside it, the message carries
 * the run's own reason (E_CANCELLED: "stopped after k of n slices").
 */
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readDicomFile } from '../../src/dicom/index.js';
import { lowdoseCompletionMarker, lowdoseStatedCount } from '../../src/dicom/read-contributing-equipment.js';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import type { ComparisonDetail, ComparisonSummary } from '../../src/server/api-types.js';
import { seriesFolderIn, writeDiscCt } from '../helpers/disc-ct.js';
import { copiedDenoisedDynamic, withoutTimePoint } from '../helpers/denoised-dynamic.js';
import { hasPydicom } from '../helpers/pet-timing.js';
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

/** The files of `dir` rewritten (pydicom) without the SoftwareVersions values of lowdose's item that start with one of `prefixes`: as an older lowdose wrote them. */
function withoutVersions(dir: string, prefixes: string[]): string[] {
  const strip = [
    'import json, pydicom, sys',
    'prefixes = tuple(json.loads(sys.argv[1]))',
    'for f in sys.argv[2:]:',
    '    d = pydicom.dcmread(f)',
    '    item = d.ContributingEquipmentSequence[-1]',
    '    item.SoftwareVersions = [v for v in item.SoftwareVersions if not v.startswith(prefixes)]',
    '    d.save_as(f)',
  ].join('\n');
  const files = readdirSync(dir).filter((f) => f.endsWith('.dcm')).map((f) => path.join(dir, f));
  const run = spawnSync(PYTHON, ['-c', strip, JSON.stringify(prefixes), ...files], { encoding: 'utf8' });
  expect(run.status, run.stderr).toBe(0);
  return files;
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

  it("does not take the word of a later run that was stopped before the series began (its report.json: 'was not run') for why these files are not finished", async () => {
    const data = path.join(root, 'stopped-then-not-run');
    cpSync(stopped, data, { recursive: true });
    const folder = seriesFolder(data);
    const before = readdirSync(folder).filter((f) => f.endsWith('.dcm')).sort();
    // A second run into the same -o, stopped (SIGINT) before it began the series: it writes nothing of it.
    // Its input: another series first, during which it is stopped, then this one.
    await writeDiscCt(path.join(data, 'another'), { slices: 3, size: SIZE, uidSeed: 'incomplete-another' });
    const controller = new AbortController();
    let order: string[] = [];
    const run = denoisePaths([path.join(data, 'another'), path.join(data, 'low')], {
      outDir: path.join(data, 'denoised'),
      method: 'gaussian',
      batch: 1,
      signal: controller.signal,
      onSeriesList: (list) => {
        order = list.map((s) => String(s.slices));
      },
      onProgress: (p) => {
        if (p.slicesDone >= 1) controller.abort(new Error('interrupted by SIGINT'));
      },
    });
    await expect(run).rejects.toMatchObject({ code: 'E_CANCELLED' });
    expect(order).toEqual(['3', String(SLICES)]);
    expect(readdirSync(folder).filter((f) => f.endsWith('.dcm')).sort()).toEqual(before);
    const report = JSON.parse(readFileSync(path.join(data, 'denoised', 'report.json'), 'utf8')) as { errors: Array<{ message: string }> };
    expect(report.errors.map((e) => e.message)).toEqual([expect.stringMatching(/^CT series [0-9.]+ was stopped after \d of 3 slices/), expect.stringMatching(/^series [0-9.]+ was not run: interrupted by SIGINT$/)]);
    const app = await serverOver(path.join(root, 'stopped-then-not-run-server'), data);
    apps.push(app);
    const listed = await listedComparisons(app);
    expect(listed).toHaveLength(2);
    // The other series: the later run's own word, as before.
    expect(listed.find((c) => c.incomplete?.expected === 3)!.incomplete!.message).toMatch(/its report\.json says: CT series [0-9.]+ was stopped after \d of 3 slices/);
    const summary = listed.find((c) => c.incomplete?.expected === SLICES)!;
    expect(summary.incomplete).toMatchObject({ slices: stoppedSlices, expected: SLICES });
    expect(summary.incomplete!.message).not.toContain('report.json says');
    expect(summary.incomplete!.message).toMatch(/has no \.lowdose-complete\.json, .*\. A rerun of lowdose denoise into the same -o redoes it$/);
  });

  it('names its completion marker and the count of the whole series in every file (SoftwareVersions of its Contributing Equipment item), a stopped run too', async () => {
    for (const data of [finished, stopped]) {
      const dir = seriesFolder(data);
      for (const file of readdirSync(dir).filter((f) => f.endsWith('.dcm'))) {
        const { dataSet } = await readDicomFile(path.join(dir, file));
        expect(lowdoseCompletionMarker(dataSet)).toBe('.lowdose-complete.json');
        expect(lowdoseStatedCount(dataSet)).toEqual({ files: SLICES, frame: false });
      }
    }
  });

  it('copied alone after its run was stopped (no report.json, no lock beside it): incomplete, k of the n files its files state', async () => {
    const data = path.join(root, 'stopped-alone');
    cpSync(path.join(stopped, 'low'), path.join(data, 'low'), { recursive: true });
    cpSync(seriesFolder(stopped), path.join(data, 'copied', path.basename(seriesFolder(stopped))), { recursive: true });
    const { app, summary } = await only(data);
    expect(summary.incomplete).toMatchObject({ slices: stoppedSlices, expected: SLICES });
    expect(summary.incomplete!.message).toContain(`incomplete output: ${stoppedSlices} of ${SLICES} slices`);
    expect(summary.incomplete!.message).toContain(
      `has no .lowdose-complete.json, the completion marker lowdose denoise writes once the series is finished, and its files say the series has ${SLICES} files numbered 1-${SLICES}: ` +
        `${stoppedSlices} are here, InstanceNumbers ${stoppedSlices + 1}-${SLICES} are missing (or files were lost copying or storing it)`,
    );
    expect((await app.inject({ url: `/api/comparisons/${summary.id}/metrics` })).statusCode).toBe(409);
  });

  it('copied alone when finished, without its hidden marker (as a PACS gives a series back): complete by the count its files state, with its series means', async () => {
    const data = path.join(root, 'finished-alone');
    cpSync(path.join(finished, 'low'), path.join(data, 'low'), { recursive: true });
    const copy = path.join(data, 'copied', path.basename(seriesFolder(finished)));
    cpSync(seriesFolder(finished), copy, { recursive: true });
    expect((await only(data)).summary.incomplete).toBeNull();
    unlinkSync(path.join(copy, '.lowdose-complete.json'));
    const { app, summary } = await only(data);
    expect(summary.incomplete).toBeNull();
    expect((await app.inject({ url: `/api/comparisons/${summary.id}/metrics` })).statusCode).toBe(200);
    // One file lost on the way: the one numbered 4 is named.
    unlinkSync(path.join(copy, readdirSync(copy).filter((f) => f.endsWith('.dcm')).sort()[3]!));
    const lost = (await only(data)).summary.incomplete;
    expect(lost).toMatchObject({ slices: SLICES - 1, expected: SLICES });
    expect(lost!.message).toContain(`its files say the series has ${SLICES} files numbered 1-${SLICES}: ${SLICES - 1} are here, InstanceNumber 4 is missing`);
  });

  it.skipIf(!hasPydicom)('whose files disagree about the count of their series (files of two runs mixed under one UID): incomplete with or without its marker', async () => {
    const data = path.join(root, 'mixed-counts');
    cpSync(path.join(finished, 'low'), path.join(data, 'low'), { recursive: true });
    const copy = path.join(data, 'copied', path.basename(seriesFolder(finished)));
    cpSync(seriesFolder(finished), copy, { recursive: true });
    // Files 3 and 4 as a 9-file run of the same series wrote them (its files 8 and 9 not here):
    // every file is here, numbered 1-7, and the marker lists all of them.
    const files = readdirSync(copy).filter((f) => f.endsWith('.dcm')).sort();
    const restate = [
      'import pydicom, sys',
      'for f in sys.argv[1:]:',
      '    d = pydicom.dcmread(f)',
      '    item = d.ContributingEquipmentSequence[-1]',
      "    item.SoftwareVersions = ['series of 9 files numbered 1-9' if v.startswith('series of ') else v for v in item.SoftwareVersions]",
      '    d.save_as(f)',
    ].join('\n');
    const run = spawnSync(PYTHON, ['-c', restate, ...[files[2]!, files[3]!].map((f) => path.join(copy, f))], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    expect(lowdoseStatedCount((await readDicomFile(path.join(copy, files[3]!))).dataSet)).toEqual({ files: 9, frame: false });
    const said = `its files disagree about how many files the series has (5 say 7 files numbered 1-7, 2 say 9 files numbered 1-9): files of different runs mixed under one SeriesInstanceUID`;
    // With its marker beside it, which lists exactly these files.
    const marked = (await only(data)).summary.incomplete;
    expect(marked).toMatchObject({ slices: SLICES, expected: 9 });
    expect(marked!.message).toBe(`incomplete output: ${SLICES} of 9 slices; ${said}. A rerun of lowdose denoise into the same -o redoes it`);
    // Without it: the first file's count alone is not trusted either.
    unlinkSync(path.join(copy, '.lowdose-complete.json'));
    const { app, summary } = await only(data);
    expect(summary.incomplete).toMatchObject({ slices: SLICES, expected: 9 });
    expect(summary.incomplete!.message).toContain(said);
    expect((await app.inject({ url: `/api/comparisons/${summary.id}/metrics` })).statusCode).toBe(409);
  });

  it.skipIf(!hasPydicom)('naming its marker but stating no count (written before counts were): incomplete without the marker, as before', async () => {
    const data = path.join(root, 'uncounted-alone');
    cpSync(path.join(finished, 'low'), path.join(data, 'low'), { recursive: true });
    const copy = path.join(data, 'copied', path.basename(seriesFolder(finished)));
    cpSync(seriesFolder(finished), copy, { recursive: true });
    unlinkSync(path.join(copy, '.lowdose-complete.json'));
    const files = withoutVersions(copy, ['series of ']);
    const { dataSet } = await readDicomFile(files[0]!);
    expect(lowdoseCompletionMarker(dataSet)).toBe('.lowdose-complete.json');
    expect(lowdoseStatedCount(dataSet)).toBeNull();
    const { app, summary } = await only(data);
    expect(summary.incomplete).toMatchObject({ slices: SLICES, expected: SLICES });
    expect(summary.incomplete!.message).toContain('has no .lowdose-complete.json, the completion marker lowdose denoise writes once the series is finished (or the series was copied or pulled from a PACS without it)');
    expect((await app.inject({ url: `/api/comparisons/${summary.id}/metrics` })).statusCode).toBe(409);
  });

  it.skipIf(!hasPydicom)("naming no marker (an older lowdose's files): judged only where its run wrote it, as before", async () => {
    // The stopped run's files as an older lowdose wrote them: SoftwareVersions without the marker's name (pydicom).
    const older = path.join(root, 'older');
    cpSync(stopped, older, { recursive: true });
    const dir = seriesFolder(older);
    const files = withoutVersions(dir, ['completion marker ', 'series of ']);
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
  it('names its own marker and count, and is judged on its own in a folder copied alone: by its marker, or without it by its count', async () => {
    const data = path.join(root, 'dynamic');
    // The acquisition's folder copied alone (then time point 2's marker left behind).
    const { dir, copy } = await copiedDenoisedDynamic(data, path.join(root, 'dynamic-run'));
    const { dataSet } = await readDicomFile(path.join(dir, 't02-IM0001.dcm'));
    expect(lowdoseCompletionMarker(dataSet)).toBe('.lowdose-complete-t02.json');
    // The time point's own count (2 slices), not the acquisition's 6 files.
    expect(lowdoseStatedCount(dataSet)).toEqual({ files: 2, frame: true });
    unlinkSync(path.join(copy, '.lowdose-complete-t02.json'));
    const judged = async (name: string) => {
      const app = await serverOver(path.join(root, name), data);
      apps.push(app);
      const listed = await listedComparisons(app);
      expect(listed).toHaveLength(3);
      const frames = await Promise.all(
        listed.map(async (c) => {
          const denoised = (await app.inject({ url: `/api/series/${c.denoised}` })).json() as { petFrame?: { tag: string } };
          return [denoised.petFrame?.tag, c.incomplete === null ? null : c.incomplete!.slices] as const;
        }),
      );
      return { frames: frames.sort(), listed };
    };
    // Its 2 files, with their own InstanceNumbers: whole.
    expect((await judged('dynamic-server')).frames).toEqual([['t01', null], ['t02', null], ['t03', null]]);
    // Without one of them: 1 of the 2.
    unlinkSync(path.join(copy, 't02-IM0002.dcm'));
    const { frames, listed } = await judged('dynamic-server-short');
    expect(frames).toEqual([['t01', null], ['t02', 1], ['t03', null]]);
    expect(listed.find((c) => c.incomplete)!.incomplete!.message).toContain('has no .lowdose-complete-t02.json, the completion marker lowdose denoise writes once the series is finished, and its files say this time point or gate has 2 files: 1 is here');
    // Every frame there: the acquisition is whole.
    for (const c of (await judged('dynamic-server-whole')).listed) expect(c.acquisitionIncomplete).toBeNull();
  });

  it('missing a whole time point (stored or copied without its files) is flagged on every other time point, each of which stays whole on its own', async () => {
    const data = path.join(root, 'dynamic-lost-frame');
    const { copy } = await copiedDenoisedDynamic(data, path.join(root, 'dynamic-lost-frame-run'));
    withoutTimePoint(copy, 't02');
    const app = await serverOver(path.join(root, 'dynamic-lost-frame-server'), data);
    apps.push(app);
    const listed = await listedComparisons(app);
    expect(listed).toHaveLength(2);
    for (const c of listed) {
      expect(c.incomplete).toBeNull();
      expect(c.acquisitionIncomplete).toMatchObject({ frames: 2, expected: 3, missing: ['t02'] });
      expect(c.acquisitionIncomplete!.message).toBe(
        'incomplete acquisition: 2 of 3 time points; t02 is missing whole (its files say the acquisition has 3 time points, NumberOfTimeSlices): ' +
          'the run was stopped or failed before writing it, or files were lost copying or storing the series. Each time point read is whole on its own; ' +
          'a rerun of lowdose denoise into the same -o writes the missing ones',
      );
      // Each time point read is whole: its series means are given.
      expect((await app.inject({ url: `/api/comparisons/${c.id}/metrics` })).statusCode).toBe(200);
    }
  });
});
