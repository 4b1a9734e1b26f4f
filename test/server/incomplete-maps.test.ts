/**
 * The uncertainty series and hallucination maps the server shows with a denoised series say on their
 * own whether their run finished them: their files name the completion marker that vouches for them
 * (denoise: the denoised series' `.lowdose-complete.json`, `../` from `uncertainty/`, `../../` from
 * `hallucination/map/`; `metrics --hallucination`: `.lowdose-map.json` in `map/`) and state how many
 * files their series has (judged by where the marker is not beside them), and the server
 * flags them (`uncertaintyIncomplete`, `hallucinationIncomplete`) when it is not there or lists
 * other files, with the run's own reason from report.json. A `metrics --hallucination` stopped by a
 * signal leaves no empty map folder. Real runs: the shipped CT model's 2-sample ensemble, one step,
 * on a generated 5-slice 64x64 CT, one run finished and one stopped after 2 slices.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDicomFile } from '../../src/dicom/index.js';
import { lowdoseCompletionMarker } from '../../src/dicom/read-contributing-equipment.js';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import { runMetrics } from '../../src/pipeline/metrics.js';
import type { ComparisonDetail, ComparisonSummary } from '../../src/server/api-types.js';
import { seriesFolderIn, writeDiscCt } from '../helpers/disc-ct.js';
import { listedComparisons, serverOver } from '../helpers/server-app.js';
import { textPlaces } from './figure-text.js';

const SLICES = 5;
const SIZE = 64;
const STOP_AFTER = 2;
const ENSEMBLE = { samples: 2, steps: 1, device: 'cpu', seed: 3, threads: 1, uncertainty: true, hallucination: true } as const;
let root: string;
const apps: FastifyInstance[] = [];

/** A 5-slice 64x64 CT series (../helpers/disc-ct.ts). */
const writeLowDose = (dir: string) => writeDiscCt(dir, { slices: SLICES, size: SIZE, uidSeed: 'incomplete-maps-low' });
const seriesFolder = seriesFolderIn;

const dicoms = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.dcm')).sort();
const namedMarker = async (file: string) => lowdoseCompletionMarker((await readDicomFile(file)).dataSet);

async function only(data: string): Promise<ComparisonSummary> {
  return (await onlyServed(data)).summary;
}

async function onlyServed(data: string): Promise<{ app: FastifyInstance; summary: ComparisonSummary }> {
  const app = await serverOver(path.join(root, `${path.basename(data)}-server`), data);
  apps.push(app);
  const listed = await listedComparisons(app);
  expect(listed).toHaveLength(1);
  return { app, summary: listed[0]! };
}

/** The figure's metrics-line and footer colours (src/server/figure-render.ts). */
const METRICS_INK: [number, number, number] = [255, 213, 74];
const FOOTER_INK: [number, number, number] = [150, 160, 172];

let finished: string;
let stopped: string;

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-incomplete-maps-'));
  finished = path.join(root, 'finished');
  await writeLowDose(path.join(finished, 'low'));
  await denoisePaths([path.join(finished, 'low')], { outDir: path.join(finished, 'denoised'), ...ENSEMBLE });
  stopped = path.join(root, 'stopped');
  cpSync(path.join(finished, 'low'), path.join(stopped, 'low'), { recursive: true });
  // Stopped as SIGINT stops a run (src/cli/stop-on-signal.ts aborts its signal), once 2 slices are written.
  const controller = new AbortController();
  const run = denoisePaths([path.join(stopped, 'low')], {
    outDir: path.join(stopped, 'denoised'),
    ...ENSEMBLE,
    batch: 1,
    signal: controller.signal,
    onProgress: (p) => {
      if (p.slicesDone >= STOP_AFTER) controller.abort(new Error('interrupted by SIGINT'));
    },
  });
  await expect(run).rejects.toMatchObject({ code: 'E_CANCELLED' });
}, 180_000);

afterAll(async () => {
  for (const app of apps) await app.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe("denoise's uncertainty series and hallucination map", () => {
  it("name their run's completion marker from their own folders, and are not flagged when finished", async () => {
    const dir = seriesFolder(path.join(finished, 'denoised'));
    expect(await namedMarker(path.join(dir, dicoms(dir)[0]!))).toBe('.lowdose-complete.json');
    expect(await namedMarker(path.join(dir, 'uncertainty', dicoms(path.join(dir, 'uncertainty'))[0]!))).toBe('../.lowdose-complete.json');
    expect(await namedMarker(path.join(dir, 'hallucination/map', dicoms(path.join(dir, 'hallucination/map'))[0]!))).toBe('../../.lowdose-complete.json');
    const summary = await only(finished);
    expect(summary.uncertainty).not.toBeNull();
    expect(summary.hallucination).not.toBeNull();
    expect(summary.incomplete).toBeNull();
    expect(summary.uncertaintyIncomplete).toBeNull();
    expect(summary.hallucinationIncomplete).toBeNull();
  });

  it("are flagged incomplete when their run was stopped, with report.json's own reason", async () => {
    const dir = seriesFolder(path.join(stopped, 'denoised'));
    const written = dicoms(path.join(dir, 'uncertainty')).length;
    expect(written).toBeGreaterThanOrEqual(STOP_AFTER);
    expect(written).toBeLessThan(SLICES);
    const summary = await only(stopped);
    expect(summary.uncertainty).not.toBeNull();
    expect(summary.hallucination).not.toBeNull();
    expect(summary.uncertaintyIncomplete).toMatchObject({ slices: written, expected: SLICES });
    expect(summary.hallucinationIncomplete).toMatchObject({ slices: dicoms(path.join(dir, 'hallucination/map')).length, expected: SLICES });
    expect(summary.uncertaintyIncomplete!.message).toMatch(new RegExp(`^incomplete uncertainty series: ${written} of ${SLICES} slices; the run was stopped or failed \\(.* has no \\.lowdose-complete\\.json`));
    expect(summary.hallucinationIncomplete!.message).toMatch(/^incomplete hallucination map: \d of 5 slices; /);
    for (const incomplete of [summary.incomplete, summary.uncertaintyIncomplete, summary.hallucinationIncomplete]) {
      expect(incomplete!.message).toMatch(/its report\.json says: CT series [0-9.]+ was stopped after \d of 5 slices \(interrupted by SIGINT\).* \[E_CANCELLED\]/);
    }
  });

  it('are flagged incomplete in a stopped series folder copied alone (no report.json, no lock beside it)', async () => {
    const data = path.join(root, 'copied-stopped');
    cpSync(path.join(stopped, 'low'), path.join(data, 'low'), { recursive: true });
    const dir = seriesFolder(path.join(stopped, 'denoised'));
    cpSync(dir, path.join(data, 'elsewhere', path.basename(dir)), { recursive: true });
    const summary = await only(data);
    expect(summary.incomplete).toMatchObject({ expected: SLICES });
    expect(summary.uncertaintyIncomplete).toMatchObject({ expected: SLICES });
    expect(summary.hallucinationIncomplete).toMatchObject({ expected: SLICES });
    // Judged by the count their files state: each names its own missing InstanceNumbers.
    for (const incomplete of [summary.incomplete, summary.uncertaintyIncomplete, summary.hallucinationIncomplete]) {
      expect(incomplete!.message).toContain(`its files say the series has ${SLICES} files numbered 1-${SLICES}: ${incomplete!.slices} are here, InstanceNumbers ${incomplete!.slices + 1}-${SLICES} are missing (or files were lost copying or storing it)`);
    }
  });

  it('are not flagged in a finished series folder copied alone without its hidden marker (as a PACS gives them back): each has the files its files state', async () => {
    const data = path.join(root, 'copied-finished');
    cpSync(path.join(finished, 'low'), path.join(data, 'low'), { recursive: true });
    const dir = seriesFolder(path.join(finished, 'denoised'));
    const copy = path.join(data, 'elsewhere', path.basename(dir));
    cpSync(dir, copy, { recursive: true });
    unlinkSync(path.join(copy, '.lowdose-complete.json'));
    const summary = await only(data);
    expect(summary.uncertainty).not.toBeNull();
    expect(summary.hallucination).not.toBeNull();
    expect(summary.incomplete).toBeNull();
    expect(summary.uncertaintyIncomplete).toBeNull();
    expect(summary.hallucinationIncomplete).toBeNull();
  });
});

describe('a series redone into the same -o', () => {
  it('leaves no map, overlay or uncertainty file of the earlier run beside the new series (a rerun with --overwrite that writes none)', async () => {
    const data = path.join(root, 'redone');
    cpSync(finished, data, { recursive: true });
    const dir = seriesFolder(path.join(data, 'denoised'));
    expect(dicoms(path.join(dir, 'hallucination/map'))).toHaveLength(SLICES);
    // This run flagged no patch (no overlay PNG): the overlay of slice 3 an earlier run that flagged one there would have left.
    expect(existsSync(path.join(dir, 'hallucination/overlays'))).toBe(false);
    mkdirSync(path.join(dir, 'hallucination/overlays'));
    writeFileSync(path.join(dir, 'hallucination/overlays/slice-0003.png'), 'an earlier run\'s overlay');
    await denoisePaths([path.join(data, 'low')], { outDir: path.join(data, 'denoised'), method: 'gaussian', overwrite: true });
    expect(seriesFolder(path.join(data, 'denoised'))).toBe(dir);
    expect(dicoms(dir)).toHaveLength(SLICES);
    const left = (sub: string) => (existsSync(path.join(dir, sub)) ? readdirSync(path.join(dir, sub)).filter((f) => !f.startsWith('.')) : []);
    expect(left('uncertainty').filter((f) => f.endsWith('.dcm'))).toEqual([]);
    expect(left('hallucination/map').filter((f) => f.endsWith('.dcm'))).toEqual([]);
    expect(left('hallucination/overlays').filter((f) => f.endsWith('.png'))).toEqual([]);
    const summary = await only(data);
    expect(summary.incomplete).toBeNull();
    expect(summary.uncertainty).toBeNull();
    expect(summary.hallucination).toBeNull();
  });
});

describe('the server figure of a whole denoised series with an uncertainty series short of a file', () => {
  it('draws the uncertainty pane marked incomplete on every slice, and says where it has no slice that the series is incomplete', async () => {
    const data = path.join(root, 'figure-short-uncertainty');
    cpSync(path.join(finished, 'low'), path.join(data, 'low'), { recursive: true });
    const dir = seriesFolder(path.join(finished, 'denoised'));
    const copy = path.join(data, 'elsewhere', path.basename(dir));
    cpSync(dir, copy, { recursive: true });
    unlinkSync(path.join(copy, '.lowdose-complete.json'));
    unlinkSync(path.join(copy, 'uncertainty', dicoms(path.join(copy, 'uncertainty')).at(-1)!));
    const { app, summary } = await onlyServed(data);
    expect(summary.incomplete).toBeNull();
    expect(summary.uncertaintyIncomplete).toMatchObject({ slices: SLICES - 1, expected: SLICES });
    const detail = (await app.inject({ url: `/api/comparisons/${summary.id}` })).json() as ComparisonDetail;
    const missing = detail.alignment.uncertainty!.indexOf(-1);
    expect(missing).toBeGreaterThanOrEqual(0);
    const present = missing === 0 ? 1 : 0;
    const mark = `INCOMPLETE uncertainty series: ${SLICES - 1} of ${SLICES} slices`;
    for (const index of [present, missing]) {
      const response = await app.inject({ url: `/api/figure.png?comparisons=${summary.id}&index=${index}` });
      expect(response.statusCode).toBe(200);
      const png = PNG.sync.read(response.rawPayload);
      expect(textPlaces(png, mark, METRICS_INK), `slice ${index}`).toHaveLength(1);
      expect(textPlaces(png, 'no uncertainty slice here', FOOTER_INK)).toHaveLength(index === missing ? 1 : 0);
    }
  });
});

describe("metrics --hallucination's map", () => {
  let data: string;
  let maps: string;

  beforeAll(async () => {
    data = path.join(root, 'metrics');
    await writeLowDose(path.join(data, 'low'));
    await denoisePaths([path.join(data, 'low')], { outDir: path.join(data, 'denoised'), method: 'gaussian' });
    maps = path.join(data, 'maps');
    await runMetrics({ reference: path.join(data, 'low'), test: seriesFolder(path.join(data, 'denoised')), hallucination: { dir: maps } });
  }, 120_000);

  it('names its marker, which lists its files, and is not flagged while it is there', async () => {
    const files = dicoms(path.join(maps, 'map'));
    expect(files).toHaveLength(SLICES);
    expect(await namedMarker(path.join(maps, 'map', files[0]!))).toBe('.lowdose-map.json');
    const marker = JSON.parse(readFileSync(path.join(maps, 'map/.lowdose-map.json'), 'utf8')) as { map: { files: string[]; dir: string } };
    expect(marker.map.files.map((f) => path.basename(f))).toEqual(files);
    expect(marker.map.dir).toBe(path.join(maps, 'map'));
    const summary = await only(data);
    expect(summary.hallucination).not.toBeNull();
    expect(summary.hallucinationIncomplete).toBeNull();
  });

  it('without its marker (copied or pulled from a PACS without it) is judged by the count its files state: whole with all of them, incomplete without one', async () => {
    const copy = path.join(root, 'metrics-copied');
    cpSync(data, copy, { recursive: true });
    unlinkSync(path.join(copy, 'maps/map/.lowdose-map.json'));
    expect((await only(copy)).hallucinationIncomplete).toBeNull();
    unlinkSync(path.join(copy, 'maps/map', dicoms(path.join(copy, 'maps/map')).at(-1)!));
    const summary = await only(copy);
    expect(summary.hallucinationIncomplete).toMatchObject({ slices: SLICES - 1, expected: SLICES });
    expect(summary.hallucinationIncomplete!.message).toContain(
      `has no .lowdose-map.json, the completion marker lowdose metrics --hallucination writes once the series is finished, and its files say the series has ${SLICES} files numbered 1-${SLICES}: ${SLICES - 1} are here, InstanceNumber ${SLICES} is missing`,
    );
    // The denoised series itself is whole.
    expect(summary.incomplete).toBeNull();
  });

  it('stopped by a signal on its first run leaves no map folder (nor its lock)', async () => {
    const first = path.join(root, 'metrics-stopped', 'maps');
    const controller = new AbortController();
    const run = runMetrics({
      reference: path.join(data, 'low'),
      test: seriesFolder(path.join(data, 'denoised')),
      hallucination: { dir: first },
      signal: controller.signal,
      progress: (message) => {
        if (message.startsWith('comparing')) controller.abort(new Error('interrupted by SIGINT'));
      },
    });
    await expect(run).rejects.toThrow();
    expect(controller.signal.aborted).toBe(true);
    expect(existsSync(first)).toBe(false);
    expect(readdirSync(path.dirname(first))).toEqual([]);
  });
});
