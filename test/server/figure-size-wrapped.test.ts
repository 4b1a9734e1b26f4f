/**
 * The figure's pixel bound (`GET /api/figure.png`, limits.imagePixels) counts the figure as it is
 * drawn: a narrow slice's footer ("Im 1/2 · Loc … mm · W … L … HU") wraps onto several lines and
 * makes the figure taller than the one-line bars the route can count from the headers alone, and
 * a figure over the bound is refused (413) with its real size, not drawn.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeVolumeSeries } from '../../src/dicom/write-volume.js';
import type { ApiError, StudiesResponse } from '../../src/server/api-types.js';
import { figureLayout } from '../../src/server/figure-render.js';
import { serverOver } from '../helpers/server-app.js';

/** 64 rows, 8 columns: drawn at zoom 8 (figureLayout), a pane 64 px wide whose footer wraps. */
const ROWS = 64;
const COLUMNS = 8;

describe('figure size bound with wrapped text', () => {
  let root: string;
  let data: string;
  const apps: FastifyInstance[] = [];
  const serve = async (imagePixels: number) => {
    const app = await serverOver(root, data, { workDir: path.join(root, `work-${apps.length}`), limits: { imagePixels } });
    apps.push(app);
    const series = ((await app.inject({ url: '/api/studies' })).json() as StudiesResponse).studies[0]!.series[0]!;
    return { app, url: `/api/figure.png?series=${series.id}&index=0` };
  };

  beforeAll(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-figure-size-'));
    data = path.join(root, 'data');
    const slices = [0, 1].map((k) => Float32Array.from({ length: ROWS * COLUMNS }, (_, i) => ((i * 37 + k * 11) % 200) - 100));
    await writeVolumeSeries({ modality: 'CT', units: 'HU', rows: ROWS, columns: COLUMNS, slices, spacing: [0.7, 0.7, 5], description: 'narrow strip' }, data, { uidSeed: 'figure-size-wrapped', seriesNumber: 1 });
  });

  afterAll(async () => {
    for (const app of apps) await app.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('refuses a figure whose wrapped footer takes it over the bound that its one-line estimate is within', async () => {
    const oneLine = figureLayout([{ image: { rows: ROWS, columns: COLUMNS } }], { scale: 1 });
    // The figure as drawn, from a server with room for it.
    const roomy = await serve(10_000_000);
    const drawn = await roomy.app.inject({ url: roomy.url });
    expect(drawn.statusCode).toBe(200);
    const png = PNG.sync.read(drawn.rawPayload);
    expect(png.width).toBe(oneLine.width);
    // The footer wraps: the figure is taller than its one-line estimate.
    expect(png.height).toBeGreaterThan(oneLine.height + 10);

    // A bound the one-line estimate meets exactly: the figure as drawn is over it.
    const tight = await serve(oneLine.width * oneLine.height);
    const refused = await tight.app.inject({ url: tight.url });
    expect(refused.statusCode).toBe(413);
    const body = refused.json() as ApiError;
    expect(body.code).toBe('E_USAGE');
    expect(body.message).toContain(`the figure would be ${png.width} x ${png.height} px`);

    // Room for the figure as drawn: served.
    const exact = await serve(png.width * png.height);
    expect((await exact.app.inject({ url: exact.url })).statusCode).toBe(200);
  });
});
