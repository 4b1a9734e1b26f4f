/**
 * The exports' pixel work runs in the server's exports thread, not on its event loop: every figure
 * (`GET` / `POST /api/figure.png`) and measurement table (`POST /api/measurements.csv`) is one task
 * there, and what the thread draws and measures is, byte for byte, what the same code gives
 * in-process from the same slices (the difference and on-frame panes derived there too, padding,
 * NaN and shape placement crossing the thread intact).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Image2D } from '../../src/image.js';
import { placeWithNote, type SliceGrid } from '../../src/metrics/grid-mapping.js';
import { measurementTable, type Shape } from '../../src/metrics/roi-shapes.js';
import { differenceColours } from '../../src/server/difference-pane.js';
import { differenceImage, type FigurePaneSource } from '../../src/server/export-tasks.js';
import { renderFigure, type FigurePane } from '../../src/server/figure-render.js';
import { paneOnFrame } from '../../src/server/pane-on-frame.js';
import { ServerWorker } from '../../src/server/worker-pool.js';
import { Rng } from '../../src/util/random.js';
import { listedComparisons, serverOver } from '../helpers/server-app.js';
import { writeFixtureStudy } from './fixture-study.js';

const SIDE = 40;
const frame: SliceGrid = { rows: SIDE, columns: SIDE, pixelSpacing: [0.8, 0.8], orientation: [1, 0, 0, 0, 1, 0], position: [0, 0, 0] };
/** A reference field 5 columns further along x, of larger pixels: drawn on the low-dose grid it moves. */
const grid: SliceGrid = { rows: 32, columns: 32, pixelSpacing: [1, 1], orientation: [1, 0, 0, 0, 1, 0], position: [4, 0, 0] };

function slice(rng: Rng, rows: number, columns: number, spacing: number, withPadding: boolean): Image2D {
  const data = Float32Array.from({ length: rows * columns }, () => 40 + 120 * rng.normal());
  const padding = withPadding ? Uint8Array.from({ length: rows * columns }, (_, i) => (i % columns < 3 ? 1 : 0)) : null;
  data[7] = Number.NaN;
  return { rows, columns, data, pixelSpacing: [spacing, spacing], padding };
}

const shapes: Array<{ name: string; shape: Shape }> = [
  { name: 'R1', shape: { kind: 'ellipse', ellipse: { cx: 20, cy: 18, rx: 9, ry: 6 } } },
  { name: 'R2', shape: { kind: 'rectangle', from: { x: 4, y: 25 }, to: { x: 30, y: 36 } } },
  { name: 'L1', shape: { kind: 'length', from: { x: 2, y: 2 }, to: { x: 37, y: 30 } } },
];

let thread: ServerWorker;
let root: string;
let app: FastifyInstance;

beforeAll(async () => {
  thread = new ServerWorker();
  root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-exports-thread-'));
  const data = path.join(root, 'data');
  await writeFixtureStudy(data, { size: 32, slices: 3, denoised: 'headers' });
  app = await serverOver(root, data);
});

afterAll(async () => {
  await thread.close();
  await app.close();
  rmSync(root, { recursive: true, force: true });
});

describe('the exports thread', () => {
  it('draws a figure with derived panes byte for byte as renderFigure draws them in-process', async () => {
    const rng = new Rng(41);
    const low = slice(rng, SIDE, SIDE, 0.8, true);
    const denoised = slice(rng, SIDE, SIDE, 0.8, false);
    const reference = slice(rng, 32, 32, 1, true);
    const difference = { window: { lo: -100, hi: 100 }, colours: differenceColours() };
    const options = { window: { lo: -160, hi: 240 }, scale: 2 as const, shapes };
    const sources: FigurePaneSource[] = [
      { title: 'Low dose', metrics: 'PSNR 30.1 dB', footer: 'Im 2/3 · W 400 L 40 HU', image: low },
      { title: 'Denoised', metrics: '', footer: 'Im 2/3', image: denoised },
      { title: 'Reference', metrics: '', footer: 'Im 1/2', image: { kind: 'onFrame', image: reference, frame, grid }, shapes: [] },
      { title: 'Difference', metrics: '', footer: '', image: { kind: 'difference', denoised, against: low, what: 'source' }, ...difference },
      { title: 'Empty', metrics: '', footer: 'no matching slice', image: null },
    ];
    const inProcess: FigurePane[] = [
      sources[0] as FigurePane,
      sources[1] as FigurePane,
      { ...sources[2]!, image: paneOnFrame(reference, frame, grid).image },
      { ...sources[3]!, image: differenceImage(denoised, low, 'source') },
      sources[4] as FigurePane,
    ];
    const drawn = await thread.run('figure', { panes: sources, options });
    expect(Buffer.from(drawn).equals(renderFigure(inProcess, options))).toBe(true);
  });

  it('measures ROIs byte for byte as measurementTable does in-process, shapes placed on another grid there', async () => {
    const rng = new Rng(42);
    const low = slice(rng, SIDE, SIDE, 0.8, true);
    const reference = slice(rng, 32, 32, 1, false);
    const place = { from: frame, to: grid, toleranceMm: Infinity };
    const table = await thread.run('measureTable', {
      panes: [
        { key: 'lowDose', slice: 2, units: 'HU', image: low },
        { key: 'reference', slice: 1, units: 'HU', image: reference, place },
        { key: 'denoised', slice: 2, units: 'HU', image: null },
      ],
      measurements: shapes,
    });
    const values = (image: Image2D) => ({ rows: image.rows, columns: image.columns, value: (i: number) => image.data[i]!, pixelSpacing: image.pixelSpacing, padding: image.padding ?? null });
    const expected = measurementTable(
      [
        { key: 'lowDose', slice: 2, units: 'HU', values: values(low) },
        { key: 'reference', slice: 1, units: 'HU', values: values(reference), place: placeWithNote(frame, grid, Infinity) },
        { key: 'denoised', slice: 2, units: 'HU', values: null },
      ],
      shapes,
    );
    expect(JSON.stringify(table)).toBe(JSON.stringify(expected));
    expect(table.rows.some((r) => r.pane === 'reference' && r.stats !== null)).toBe(true);
  });

  it('gets one task per figure and per measurement table the server answers', async () => {
    const [c] = await listedComparisons(app);
    const before = app.data.exports.sent;
    const answers = [
      await app.inject({ url: `/api/figure.png?comparisons=${c!.id}&index=1` }),
      await app.inject({ url: `/api/figure.png?series=${c!.lowDose}` }),
      await app.inject({ method: 'POST', url: '/api/figure.png', payload: { comparisons: [c!.id], index: 1, measurements: shapes.map(({ shape }) => ({ shape })) } }),
      await app.inject({ method: 'POST', url: '/api/measurements.csv', payload: { comparisons: [c!.id], index: 1, measurements: shapes.map(({ shape }) => ({ shape })) } }),
    ];
    expect(answers.map((a) => a.statusCode)).toEqual([200, 200, 200, 200]);
    expect(answers.slice(0, 3).every((a) => a.headers['content-type'] === 'image/png')).toBe(true);
    expect(app.data.exports.sent - before).toBe(4);
  });
});
