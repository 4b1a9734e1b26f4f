/**
 * Several denoised versions of one low-dose series through the HTTP API: the per-slice metrics
 * CSV of one comparison and of several methods side by side, equal to the metrics route and to
 * `lowdose metrics` on the same pair; requests naming comparisons of different sources are refused.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSliceImage, scanPaths } from '../../src/dicom/index.js';
import { getString, readDatasetWithoutPixels } from '../../src/dicom/write-dcmjs.js';
import { PNG } from 'pngjs';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import { windowToGray } from '../../src/pipeline/preview.js';
import { figureLayout, renderFigure, type FigurePane } from '../../src/server/figure-render.js';
import { differenceColours } from '../../src/server/difference-pane.js';
import { uncertaintyColours, uncertaintyWindow } from '../../src/server/uncertainty-pane.js';
import { fixtureModel } from '../diffusion/helpers.js';
import type { Image2D } from '../../src/image.js';
import { runMetrics } from '../../src/pipeline/metrics.js';
import { estimateNoise, SOFT_TISSUE_HU } from '../../src/metrics/index.js';
import type { ComparisonDetail, ComparisonMetrics, ComparisonSummary, SliceMetrics, StudiesResponse } from '../../src/server/api-types.js';
import { scoresLine } from '../../src/server/pane-text.js';
import { textPlaces } from './figure-text.js';
import { buildApp } from '../../src/server/app.js';
import { listedComparisons, serverOver } from '../helpers/server-app.js';
import { METRICS_CSV_HEADER } from '../../src/server/metrics-csv.js';
import { writeFixtureStudy, type FixtureStudy } from './fixture-study.js';

let root: string;
let study: FixtureStudy;
let app: FastifyInstance;
let comparisons: ComparisonSummary[];

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-metrics-export-'));
  const data = path.join(root, 'data');
  // NLM (the fixture's own), and a Gaussian of the same low-dose series; a Gaussian of the full-dose series has another source.
  study = await writeFixtureStudy(data, { size: 48, slices: 3 });
  await denoisePaths([study.lowDoseDir], { outDir: path.join(data, 'gaussian'), method: 'gaussian', reference: [study.fullDoseDir] });
  await denoisePaths([study.fullDoseDir], { outDir: path.join(data, 'full-gaussian'), method: 'gaussian' });
  app = await serverOver(root, data);
  comparisons = await listedComparisons(app);
});

afterAll(async () => {
  await app?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

/** The comparisons of the simulated low-dose series (the NLM and the Gaussian). */
const sameSource = () => comparisons.filter((c) => c.lowDose === comparisons.find((d) => comparisons.filter((e) => e.lowDose === d.lowDose).length === 2)!.lowDose);

const parse = (csv: string) => {
  const [header, ...lines] = csv.trim().split('\n');
  return { header, rows: lines.map((line) => line.split(',')) };
};

describe('per-slice metrics CSV', () => {
  it('lists the low-dose row and one row per method for every slice, with the metrics route numbers unrounded', async () => {
    const methods = sameSource();
    expect(methods.length).toBe(2);
    const names = await Promise.all(methods.map(async (m) => ((await app.inject({ url: `/api/comparisons/${m.id}` })).json() as ComparisonDetail).report!.method!));
    expect([...names].sort()).toEqual(['gaussian', 'nlm']);
    const response = await app.inject({ url: `/api/metrics.csv?comparisons=${methods.map((m) => m.id).join(',')}` });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/csv/);
    expect(response.headers['content-disposition']).toBe('attachment; filename="lowdose-metrics.csv"');
    const { header, rows } = parse(response.body);
    expect(header).toBe(METRICS_CSV_HEADER);
    expect(rows.length).toBe(study.lowDose.slices.length * 3);
    for (const [k, method] of methods.entries()) {
      const metrics = (await app.inject({ url: `/api/comparisons/${method.id}/metrics` })).json() as ComparisonMetrics;
      expect(metrics.against).toBe('reference');
      for (const slice of metrics.slices) {
        const lowDose = rows[3 * slice.index]!;
        const denoised = rows[3 * slice.index + 1 + k]!;
        expect(lowDose.slice(0, 3)).toEqual([String(slice.index), String(study.lowDose.slices[slice.index]!.location), 'low-dose']);
        expect(denoised.slice(0, 5)).toEqual([String(slice.index), lowDose[1], 'denoised', method.id, names[k]]);
        expect(denoised.slice(8, 12).map(Number)).toEqual([slice.denoised!.psnr, slice.denoised!.ssim, slice.denoised!.rmse, slice.noise.denoised]);
        if (k === 0) expect(lowDose.slice(8, 11).map(Number)).toEqual([slice.lowDose!.psnr, slice.lowDose!.ssim, slice.lowDose!.rmse]);
      }
      // The same pair through `lowdose metrics`: the same PSNR and SSIM per slice.
      const cli = await runMetrics({ reference: study.fullDoseDir, test: path.join(root, 'data', names[k] === 'nlm' ? 'denoised' : 'gaussian') });
      const column = (c: number) => rows.filter((r) => r[3] === method.id && r[2] === 'denoised').map((r) => Number(r[c]));
      expect(column(8)).toEqual(cli.result.slices.map((s) => s.psnr));
      expect(column(9)).toEqual(cli.result.slices.map((s) => s.ssim));
    }
  });

  it("ends every row with the noise σ of the reference slice it is scored against: the metrics route's, that of the full-dose file's slice", async () => {
    const methods = sameSource();
    const { header, rows } = parse((await app.inject({ url: `/api/metrics.csv?comparisons=${methods.map((m) => m.id).join(',')}` })).body);
    // reference_noise_sd, then pairing_warnings (added after it: test/server/pairing-warnings.test.ts).
    expect(header!.split(',').slice(-2)).toEqual(['reference_noise_sd', 'pairing_warnings']);
    const column = header!.split(',').length - 2;
    for (const [k, method] of methods.entries()) {
      const metrics = (await app.inject({ url: `/api/comparisons/${method.id}/metrics` })).json() as ComparisonMetrics;
      for (const slice of metrics.slices) {
        // The full-dose slice at this location, read from its file, through the same estimator (CT: soft tissue).
        const own = estimateNoise(await readSliceImage(study.fullDose, slice.index), { valueRange: SOFT_TISSUE_HU }).std;
        expect(slice.noise.reference).toBe(own);
        expect(rows[3 * slice.index + 1 + k]![column]).toBe(String(own));
        if (k === 0) expect(rows[3 * slice.index]![column]).toBe(String(own));
      }
    }
    // The full-dose series' own Gaussian has no reference: its cells are empty.
    const alone = comparisons.find((c) => !methods.includes(c))!;
    const lone = parse((await app.inject({ url: `/api/comparisons/${alone.id}/metrics.csv` })).body);
    expect(lone.rows.length).toBe(2 * study.fullDose.slices.length);
    for (const row of lone.rows) {
      expect(row.length).toBe(column + 2);
      expect(row[column]).toBe('');
      expect(row[11]).not.toBe('');
    }
  });

  it('gives one comparison its own CSV, the several-method CSV of that one comparison', async () => {
    const one = sameSource()[0]!;
    const single = await app.inject({ url: `/api/comparisons/${one.id}/metrics.csv` });
    const listed = await app.inject({ url: `/api/metrics.csv?comparisons=${one.id}` });
    expect(single.statusCode).toBe(200);
    expect(single.body).toBe(listed.body);
    expect(parse(single.body).rows.length).toBe(2 * study.lowDose.slices.length);
  });

  it('refuses methods of different low-dose series, bad ids and unknown comparisons', async () => {
    const bySource = new Map(comparisons.map((c) => [c.lowDose, c]));
    expect(bySource.size).toBe(2);
    const [a, b] = [...bySource.values()];
    const mixed = await app.inject({ url: `/api/metrics.csv?comparisons=${a!.id},${b!.id}` });
    expect(mixed.statusCode).toBe(400);
    expect(mixed.json()).toMatchObject({ code: 'E_USAGE' });
    expect(mixed.json().message).toMatch(/must share their low-dose series/);
    expect((await app.inject({ url: '/api/metrics.csv?comparisons=../../etc' })).statusCode).toBe(400);
    expect((await app.inject({ url: '/api/metrics.csv?comparisons=' })).statusCode).toBe(400);
    expect((await app.inject({ url: '/api/metrics.csv?comparisons=AAAAAAAAAAAA' })).statusCode).toBe(404);
    expect((await app.inject({ url: '/api/comparisons/AAAAAAAAAAAA/metrics.csv' })).statusCode).toBe(404);
  });
});

describe('measurement table CSV', () => {
  it('measures a rectangle and a length on one series as the pixel values say, named R1 and L1', async () => {
    const series = ((await app.inject({ url: '/api/studies' })).json() as StudiesResponse).studies[0]!.series.find((s) => s.role === 'low-dose')!;
    const response = await app.inject({
      method: 'POST',
      url: '/api/measurements.csv',
      payload: { series: series.id, index: 1, measurements: [{ shape: { kind: 'rectangle', from: { x: 10, y: 12 }, to: { x: 14, y: 15 } } }, { shape: { kind: 'length', from: { x: 0, y: 0 }, to: { x: 3, y: 4 } } }] },
    });
    expect(response.statusCode, response.body).toBe(200);
    const { header, rows } = parse(response.body);
    expect(header).toBe('measurement,kind,pane,slice,units,mean,sd,min,max,pixels,area_mm2,length_mm,note');
    const image = await readSliceImage(study.lowDose, 1);
    const values: number[] = [];
    for (let y = 12; y < 15; y++) for (let x = 10; x < 14; x++) values.push(image.data[y * image.columns + x]!);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const [rectangle, length] = rows as [string[], string[]];
    expect(rectangle.slice(0, 5)).toEqual(['R1', 'rectangle', 'lowDose', '2', 'HU']);
    expect(Number(rectangle[5])).toBeCloseTo(mean, 6);
    expect([Number(rectangle[7]), Number(rectangle[8]), Number(rectangle[9])]).toEqual([Math.min(...values), Math.max(...values), 12]);
    expect(Number(rectangle[10])).toBeCloseTo(12 * image.pixelSpacing[0] * image.pixelSpacing[1], 6);
    expect(length.slice(0, 3)).toEqual(['L1', 'length', 'lowDose']);
    expect(Number(length[11])).toBeCloseTo(Math.hypot(3 * image.pixelSpacing[1], 4 * image.pixelSpacing[0]), 6);
  });

  it('refuses a body naming both or neither of comparisons and series, unknown shapes and slices past the end', async () => {
    const c = sameSource()[0]!;
    const post = (payload: object) => app.inject({ method: 'POST', url: '/api/measurements.csv', payload });
    const rectangle = { shape: { kind: 'rectangle', from: { x: 1, y: 1 }, to: { x: 5, y: 5 } } };
    expect((await post({ comparisons: [c.id], series: c.lowDose, index: 0, measurements: [rectangle] })).statusCode).toBe(400);
    expect((await post({ index: 0, measurements: [rectangle] })).statusCode).toBe(400);
    expect((await post({ comparisons: [c.id], index: 0, measurements: [{ shape: { kind: 'polygon', points: [] } }] })).statusCode).toBe(400);
    expect((await post({ comparisons: ['../x'], index: 0, measurements: [rectangle] })).statusCode).toBe(400);
    expect((await post({ comparisons: [c.id], index: 99, measurements: [rectangle] })).statusCode).toBe(404);
    // The hanging's panes: source, each method, reference.
    const ok = await post({ comparisons: sameSource().map((m) => m.id), index: 0, measurements: [rectangle] });
    expect(parse(ok.body).rows.map((r) => r[2])).toEqual(['lowDose', 'denoised', 'denoised-2', 'reference']);
  });
});

describe('figure PNG', () => {
  it('draws the source, each method, the reference and the difference at one slice, each image windowed where the layout puts it', async () => {
    const methods = sameSource();
    const response = await app.inject({ url: `/api/figure.png?comparisons=${methods.map((m) => m.id).join(',')}&index=1&window=400&level=40` });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.headers['content-type']).toBe('image/png');
    const png = PNG.sync.read(response.rawPayload);
    const image = await readSliceImage(study.lowDose, 1);
    const panes = [image, null, null, null, null];
    const layout = figureLayout(
      panes.map(() => ({ title: '', metrics: '', footer: '', image })),
      { window: { lo: -160, hi: 240 }, scale: 1 },
    );
    expect([png.width, png.height]).toEqual([layout.width, layout.height]);
    // The source pane's pixels are the slice's values through W 400 / L 40, enlarged by whole pixels.
    const { x, y, zoom } = layout.images[0]!;
    for (const [row, column] of [[10, 10], [24, 30], [40, 17]] as const) {
      const expected = windowToGray(new Float32Array([image.data[row * image.columns + column]!]), { lo: -160, hi: 240 })[0]!;
      const o = 4 * ((y + row * zoom + 1) * png.width + x + column * zoom + 1);
      expect([png.data[o], png.data[o + 1], png.data[o + 2]]).toEqual([expected, expected, expected]);
    }
    // Title bars written: bright text pixels in the first pane's bar.
    let lit = 0;
    for (let yy = 0; yy < y; yy++) for (let xx = 0; xx < layout.imageWidth; xx++) if (png.data[4 * (yy * png.width + xx)]! > 150) lit++;
    expect(lit).toBeGreaterThan(30);
    // Twice the size at scale 2.
    const twice = PNG.sync.read((await app.inject({ url: `/api/figure.png?comparisons=${methods.map((m) => m.id).join(',')}&index=1&scale=2` })).rawPayload);
    expect([twice.width, twice.height]).toEqual([2 * png.width, 2 * png.height]);
  });

  it('says what the scores of a method without a reference are against: its source', async () => {
    const alone = comparisons.find((c) => !sameSource().includes(c))!;
    const slice = (await app.inject({ url: `/api/comparisons/${alone.id}/metrics/slices/1` })).json() as SliceMetrics;
    const png = PNG.sync.read((await app.inject({ url: `/api/figure.png?comparisons=${alone.id}&index=1` })).rawPayload);
    // The Gaussian of the full-dose series, scored against that series, a denoising's source: its "Original" pane.
    expect(textPlaces(png, `${scoresLine(slice.denoised)} (vs original)`, [255, 213, 74])).toHaveLength(1);
  });

  it('refuses a figure of nothing, of both, and of a slice past the end', async () => {
    const c = sameSource()[0]!;
    expect((await app.inject({ url: '/api/figure.png' })).statusCode).toBe(400);
    expect((await app.inject({ url: `/api/figure.png?comparisons=${c.id}&series=${c.lowDose}` })).statusCode).toBe(400);
    expect((await app.inject({ url: `/api/figure.png?series=${c.lowDose}&index=99` })).statusCode).toBe(404);
    expect((await app.inject({ url: `/api/figure.png?series=${c.lowDose}&scale=3` })).statusCode).toBe(400);
    expect((await app.inject({ url: `/api/figure.png?series=${c.lowDose}` })).statusCode).toBe(200);
  });

  it('draws the difference pane as the viewer does: denoised − reference through the difference window and colour map', async () => {
    const nlm = (await Promise.all(sameSource().map(async (m) => ({ m, d: (await app.inject({ url: `/api/comparisons/${m.id}` })).json() as ComparisonDetail })))).find((x) => x.d.report?.method === 'nlm')!.m;
    const response = await app.inject({ url: `/api/figure.png?comparisons=${nlm.id}&index=1&differenceWindow=120&differenceLevel=10` });
    expect(response.statusCode, response.body).toBe(200);
    const png = PNG.sync.read(response.rawPayload);
    const denoised = await readSliceImage((await scanPaths([study.denoisedDir!])).series[0]!, 1);
    const reference = await readSliceImage(study.fullDose, 1);
    // Source, denoised, reference, difference.
    const layout = figureLayout([denoised, denoised, denoised, denoised].map((image) => ({ title: '', metrics: '', footer: '', image })), { window: { lo: -160, hi: 240 }, scale: 1 });
    expect([png.width, png.height]).toEqual([layout.width, layout.height]);
    const colours = differenceColours();
    const { x, y, zoom } = layout.images[3]!;
    let coloured = 0;
    for (let row = 2; row < denoised.rows; row += 5) {
      for (let column = 3; column < denoised.columns; column += 5) {
        const i = row * denoised.columns + column;
        const padded = denoised.padding?.[i] || reference.padding?.[i];
        const d = padded ? 0 : denoised.data[i]! - reference.data[i]!;
        // The grey level of W 120 L 10; where it falls on a rounding tie (x.5) the int16 grid of the
        // viewer's difference code may land either side, so both neighbours of a tie are accepted.
        const level = ((d - (10 - 60)) * 255) / 120;
        const grey = (v: number) => windowToGray(new Float32Array([(v * 120) / 255 + 10 - 60]), { lo: 10 - 60, hi: 10 + 60 })[0]!;
        const candidates = [...new Set([grey(level - 1e-3), grey(level + 1e-3)])].map((g) => colours[g]!);
        const expected = candidates[0]!;
        const o = 4 * ((y + row * zoom + 1) * png.width + x + column * zoom + 1);
        expect(candidates, `pixel (${column}, ${row}), difference ${d}`).toContainEqual([png.data[o], png.data[o + 1], png.data[o + 2]]);
        if (expected[0] !== expected[1] || expected[1] !== expected[2]) coloured++;
      }
    }
    // A colour map, not grey: most sampled differences are off the window's centre.
    expect(coloured).toBeGreaterThan(20);
  });

  it('draws ROI and length outlines given in the body at their image coordinates, on every pane', async () => {
    const c = sameSource()[0]!;
    const response = await app.inject({
      method: 'POST',
      url: '/api/figure.png',
      payload: { comparisons: [c.id], index: 1, measurements: [{ shape: { kind: 'rectangle', from: { x: 10, y: 12 }, to: { x: 30, y: 36 } } }, { name: 'gap', shape: { kind: 'length', from: { x: 5, y: 40 }, to: { x: 40, y: 40 } } }] },
    });
    expect(response.statusCode, response.body).toBe(200);
    const png = PNG.sync.read(response.rawPayload);
    const image = await readSliceImage(study.lowDose, 1);
    const layout = figureLayout([image, image, image, image].map((im) => ({ title: '', metrics: '', footer: '', image: im })), { window: { lo: 0, hi: 1 }, scale: 1 });
    expect([png.width, png.height]).toEqual([layout.width, layout.height]);
    const at = (px: number, py: number) => [png.data[4 * (py * png.width + px)], png.data[4 * (py * png.width + px) + 1], png.data[4 * (py * png.width + px) + 2]];
    for (const { x, y, zoom } of layout.images) {
      // The rectangle's top and left edges, mid-way along, and the length's line, in the viewer's colours.
      expect(at(x + 20 * zoom, y + 12 * zoom)).toEqual([0x7f, 0xd3, 0xff]);
      expect(at(x + 10 * zoom, y + 24 * zoom)).toEqual([0x7f, 0xd3, 0xff]);
      expect(at(x + 20 * zoom, y + 40 * zoom)).toEqual([0x9b, 0xe2, 0x9b]);
      // Inside the rectangle: the image, not outline.
      expect(at(x + 20 * zoom, y + 24 * zoom)).not.toEqual([0x7f, 0xd3, 0xff]);
    }
    // Without measurements the POST draws the GET's figure.
    const plain = await app.inject({ method: 'POST', url: '/api/figure.png', payload: { comparisons: [c.id], index: 1 } });
    expect(plain.rawPayload.equals((await app.inject({ url: `/api/figure.png?comparisons=${c.id}&index=1` })).rawPayload)).toBe(true);
  });

  it('refuses a figure body naming both or neither source, unknown shapes and a bad difference window', async () => {
    const c = sameSource()[0]!;
    const post = (payload: object) => app.inject({ method: 'POST', url: '/api/figure.png', payload });
    const both = await post({ comparisons: [c.id], series: c.lowDose });
    expect(both.statusCode).toBe(400);
    expect(both.json()).toMatchObject({ code: 'E_USAGE' });
    expect((await post({ index: 0 })).statusCode).toBe(400);
    expect((await post({ comparisons: [c.id], measurements: [{ shape: { kind: 'polygon', points: [] } }] })).statusCode).toBe(400);
    expect((await app.inject({ url: `/api/figure.png?comparisons=${c.id}&differenceWindow=0` })).statusCode).toBe(400);
  });
});

describe('figure rendering of panes of different matrices', () => {
  const image = (rows: number, columns: number, value: number): Image2D => ({ data: new Float32Array(rows * columns).fill(value), rows, columns, pixelSpacing: [0.7, 0.7] });

  it('enlarges each pane by its own whole factor and centres it in the common cell', () => {
    const panes: FigurePane[] = [
      { title: 'a', metrics: '', footer: '', image: image(64, 64, 100) },
      { title: 'b', metrics: '', footer: '', image: image(128, 96, 200) },
    ];
    const options = { window: { lo: 0, hi: 255 }, scale: 1 } as const;
    const layout = figureLayout(panes, options);
    // 64 → ×8 = 512; 128 rows → ×4 = 512 by 384 columns, centred across the 512 px cell.
    expect(layout.images.map((i) => i.zoom)).toEqual([8, 4]);
    expect([layout.imageWidth, layout.imageHeight]).toEqual([512, 512]);
    expect(layout.images[1]!.x - (512 + 2)).toBe(64);
    const png = PNG.sync.read(renderFigure(panes, options));
    const at = (x: number, y: number) => png.data[4 * (y * png.width + x)];
    const second = layout.images[1]!;
    expect(at(second.x, second.y)).toBe(200);
    expect(at(second.x + 383, second.y + 511)).toBe(200);
    expect(at(second.x - 1, second.y + 100)).toBe(0);
    expect(at(layout.images[0]!.x + 511, layout.images[0]!.y + 511)).toBe(100);
  });
});


/** The figure's uncertainty pane at low-dose slice 1 against Hot Iron over `window`: every third pixel, and how many colours it shows. */
async function expectUncertaintyPane(app: FastifyInstance, comparison: ComparisonSummary, sigma: Image2D, window: { lo: number; hi: number }): Promise<number> {
  const response = await app.inject({ url: `/api/figure.png?comparisons=${comparison.id}&index=1` });
  expect(response.statusCode, response.body).toBe(200);
  const png = PNG.sync.read(response.rawPayload);
  // Source, denoised, reference, difference, uncertainty: five panes, three across.
  const layout = figureLayout([0, 1, 2, 3, 4].map(() => ({ title: '', metrics: '', footer: '', image: sigma })), { window: { lo: 0, hi: 1 }, scale: 1 });
  expect([png.width, png.height]).toEqual([layout.width, layout.height]);
  const grey = windowToGray(sigma.data, window);
  const colours = uncertaintyColours();
  const { x, y, zoom } = layout.images[4]!;
  const seen = new Set<string>();
  for (let row = 1; row < sigma.rows; row += 3) {
    for (let column = 2; column < sigma.columns; column += 3) {
      const o = 4 * ((y + row * zoom + 1) * png.width + x + column * zoom + 1);
      const pixel = [png.data[o], png.data[o + 1], png.data[o + 2]];
      expect(pixel, `pixel (${column}, ${row})`).toEqual(colours[grey[row * sigma.columns + column]!]);
      seen.add(pixel.join(','));
    }
  }
  return seen.size;
}

const writtenExplanation = (file: string) => getString(readDatasetWithoutPixels(new Uint8Array(readFileSync(file))).dataset, 'WindowCenterWidthExplanation');

const largest = (data: Float32Array) => data.reduce((m, v) => (Number.isFinite(v) && v > m ? v : m), 0);

describe('figure PNG with an uncertainty series', () => {
  let uRoot: string;
  let uApp: FastifyInstance;
  let uncertaintyDir: string;
  let comparison: ComparisonSummary;

  beforeAll(async () => {
    uRoot = mkdtempSync(path.join(os.tmpdir(), 'lowdose-figure-uncertainty-'));
    const data = path.join(uRoot, 'data');
    const small = await writeFixtureStudy(data, { size: 32, slices: 2, denoised: 'none' });
    // An ensemble of 2 (the per-pixel test model): the per-pixel spread is written as the uncertainty series.
    const report = await denoisePaths([small.lowDoseDir], { outDir: path.join(data, 'ensemble'), model: fixtureModel('per-pixel'), samples: 2, steps: 2, sampler: 'ddpm', seed: 3 });
    uncertaintyDir = report.series[0]!.uncertainty!.dir;
    uApp = await buildApp({ data: [data], workDir: path.join(uRoot, 'work'), viewerDir: null, logger: { level: 'silent' } });
    comparison = (await listedComparisons(uApp))[0]!;
  });

  afterAll(async () => {
    await uApp?.close();
    if (uRoot) rmSync(uRoot, { recursive: true, force: true });
  });

  it('hangs the raw spread last, as the viewer does: Hot Iron from 0 to the slice 99th percentile, as its series is written', async () => {
    expect(comparison.uncertainty).not.toBeNull();
    const series = (await scanPaths([uncertaintyDir])).series[0]!;
    const sigma = await readSliceImage(series, 1);
    const window = uncertaintyWindow(sigma.data, sigma.padding ?? null, null, 'HU');
    // The written slice's own window says the same range.
    expect(window.explanation).toMatch(/^SD 0-[0-9.]+ HU \(SLICE P99\)$/);
    expect(writtenExplanation(series.slices[1]!.file)).toBe(window.explanation);
    // Not the slice's largest value: a few hot pixels no longer set the scale.
    expect(window.hi).toBeGreaterThan(0);
    expect(window.hi).toBeLessThan(largest(sigma.data));
    // A spread of colours, not one flat pane.
    expect(await expectUncertaintyPane(uApp, comparison, sigma, window)).toBeGreaterThan(10);
  });
});

describe('figure PNG with a calibrated uncertainty series', () => {
  let cRoot: string;
  let cApp: FastifyInstance;
  let uncertaintyDir: string;
  let comparison: ComparisonSummary;

  beforeAll(async () => {
    cRoot = mkdtempSync(path.join(os.tmpdir(), 'lowdose-figure-calibrated-'));
    const data = path.join(cRoot, 'data');
    const small = await writeFixtureStudy(data, { size: 32, slices: 2, denoised: 'none' });
    // The per-pixel test model with a calibration block and a noisy warm start, so its ensemble spreads
    // (it is no denoiser: its σ here runs from about 230 HU (p5) to 3900 HU, hence a 200 HU threshold).
    const models = path.join(cRoot, 'models');
    mkdirSync(models);
    const card = JSON.parse(readFileSync(fixtureModel('per-pixel'), 'utf8')) as { sampler: object };
    const uncertainty = { samples: 2, calibration: [{ samples: 2, spreadScale: 3, noiseScale: 0.5, noiseWindowMm: 12 }], threshold: 200, units: 'HU' };
    writeFileSync(path.join(models, 'calibrated.json'), JSON.stringify({ ...card, name: 'calibrated', onnx: 'calibrated.onnx', sampler: { ...card.sampler, default: 'warm-start', steps: 2 }, uncertainty }));
    copyFileSync(fixtureModel('per-pixel').replace(/\.json$/, '.onnx'), path.join(models, 'calibrated.onnx'));
    const report = await denoisePaths([small.lowDoseDir], { outDir: path.join(data, 'calibrated'), model: path.join(models, 'calibrated.json'), samples: 2, uncertainty: true, seed: 3 });
    uncertaintyDir = report.series[0]!.uncertainty!.dir;
    cApp = await buildApp({ data: [data], workDir: path.join(cRoot, 'work'), viewerDir: null, logger: { level: 'silent' } });
    comparison = (await listedComparisons(cApp))[0]!;
  });

  afterAll(async () => {
    await cApp?.close();
    if (cRoot) rmSync(cRoot, { recursive: true, force: true });
  });

  it('draws calibrated sigma from 0 to 4 x the threshold, the written series window, whatever the slice holds', async () => {
    const detail = (await cApp.inject({ url: `/api/comparisons/${comparison.id}` })).json() as ComparisonDetail;
    expect(detail.report?.uncertaintyThreshold).toBe(200);
    const series = (await scanPaths([uncertaintyDir])).series[0]!;
    const sigma = await readSliceImage(series, 1);
    const window = uncertaintyWindow(sigma.data, sigma.padding ?? null, 200, 'HU');
    expect(window).toEqual({ lo: 0, hi: 800, explanation: 'SIGMA 0-800 HU' });
    expect(writtenExplanation(series.slices[1]!.file)).toBe(window.explanation);
    // The slice's largest sigma is not the scale's top, so the slice's own maximum would draw other colours.
    expect(largest(sigma.data)).toBeGreaterThan(1000);
    expect(await expectUncertaintyPane(cApp, comparison, sigma, window)).toBeGreaterThan(3);
    expect(detail.uncertaintyThreshold).toBe(200);
  });

  it('takes calibrated sigma as calibrated from the series own header when the folder has no report.json', async () => {
    const report = path.join(path.dirname(uncertaintyDir), '..', 'report.json');
    const folder = path.dirname(report);
    expect(readFileSync(report, 'utf8')).toContain('"threshold": 200');
    renameSync(report, path.join(cRoot, 'report.json.away'));
    const bare = await buildApp({ data: [path.join(cRoot, 'data')], workDir: path.join(cRoot, 'work-bare'), viewerDir: null, logger: { level: 'silent' } });
    try {
      const [only] = await listedComparisons(bare);
      const detail = (await bare.inject({ url: `/api/comparisons/${only!.id}` })).json() as ComparisonDetail;
      expect(detail.pairedBy, folder).toBe('headers');
      expect(detail.report).toBeNull();
      expect(detail.uncertaintyThreshold).toBe(200);
      const series = (await scanPaths([uncertaintyDir])).series[0]!;
      const sigma = await readSliceImage(series, 1);
      // 0 to 4 x the threshold, not the raw spread's 0 to the slice's p99.
      const window = uncertaintyWindow(sigma.data, sigma.padding ?? null, 200, 'HU');
      expect(uncertaintyWindow(sigma.data, sigma.padding ?? null, null, 'HU').hi).not.toBe(window.hi);
      expect(await expectUncertaintyPane(bare, only!, sigma, window)).toBeGreaterThan(3);
    } finally {
      await bare.close();
      renameSync(path.join(cRoot, 'report.json.away'), report);
    }
  });
});
