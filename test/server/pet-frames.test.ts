/**
 * The API says which time point of a dynamic PET series, or which gate of a gated one, a series
 * is: make-pet-timing.py's dynamic (3 time points) and gated (6 gates) series, denoised in the
 * test with the Gaussian filter, served, and each series' `petFrame` read in the study list and in
 * `GET /api/series/:id` against what `lowdose info --json` (runInfo) prints for the same series;
 * a static PET series (its `midnight` slice) has none. Each denoised frame is paired with the same
 * frame of its source, from report.json and from the DICOM headers alone, and by a viewer's job on
 * one time point. Skipped without the Python with pydicom the generator needs.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import { runInfo } from '../../src/pipeline/info.js';
import type { ComparisonDetail, JobView, SeriesDetail, SeriesSummary, StudiesResponse } from '../../src/server/api-types.js';
import { buildApp } from '../../src/server/app.js';
import { shortId } from '../../src/server/ids.js';
import { PNG } from 'pngjs';
import { petFrameLabel } from '../../src/dicom/pet-frame-text.js';
import { hasPydicom, makePetTiming } from '../helpers/pet-timing.js';
import { textPlaces } from './figure-text.js';

describe.skipIf(!hasPydicom)('dynamic and gated PET frames in the API', () => {
  let root: string;
  let input: string;
  let out: string;

  beforeAll(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-api-pet-frames-'));
    input = path.join(root, 'in');
    makePetTiming(input);
    out = path.join(root, 'out');
    await denoisePaths([path.join(input, 'dynamic'), path.join(input, 'gated')], { outDir: out, method: 'gaussian' });
  });

  afterAll(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  async function withApp<T>(data: string[], work: string, run: (app: FastifyInstance) => Promise<T>): Promise<T> {
    const app = await buildApp({ data, workDir: path.join(root, work), viewerDir: null });
    try {
      return await run(app);
    } finally {
      await app.close();
    }
  }

  async function studies(app: FastifyInstance): Promise<StudiesResponse> {
    const response = await app.inject({ url: '/api/studies' });
    expect(response.statusCode).toBe(200);
    return response.json() as StudiesResponse;
  }

  /** Each compared pair of the list as [low-dose tag, denoised tag], and how it was paired. */
  function pairs(list: StudiesResponse): Array<[string | undefined, string | undefined, string]> {
    const byId = new Map(list.studies.flatMap((s) => s.series).map((s) => [s.id, s]));
    // Each frame's own completion marker vouches for its files: no finished frame reads as incomplete.
    for (const c of list.studies.flatMap((s) => s.comparisons)) expect(c.incomplete, c.id).toBeNull();
    return list.studies
      .flatMap((s) => s.comparisons)
      .map((c): [string | undefined, string | undefined, string] => [byId.get(c.lowDose)?.petFrame?.tag, byId.get(c.denoised)?.petFrame?.tag, c.pairedBy])
      .sort((a, b) => String(a[0]).localeCompare(String(b[0])));
  }

  const TAGS = ['g01', 'g02', 'g03', 'g04', 'g05', 'g06', 't01', 't02', 't03'];

  it("gives each time point and gate its frame, kind and timing as `lowdose info --json` does, and a static series none", async () => {
    const sources = ['dynamic', 'gated', 'midnight'].map((f) => path.join(input, f));
    const { result: info } = await runInfo(sources);
    expect(info.series).toHaveLength(10);
    await withApp(sources, 'work-sources', async (app) => {
      const listed = (await studies(app)).studies.flatMap((s) => s.series);
      const byId = new Map(listed.map((s) => [s.id, s]));
      expect(listed).toHaveLength(10);
      for (const s of info.series) {
        const summary = byId.get(shortId('series', s.key))!;
        const detail = (await app.inject({ url: `/api/series/${summary.id}` })).json() as SeriesDetail;
        if (!s.petFrame) {
          expect(summary).not.toHaveProperty('petFrame');
          expect(detail).not.toHaveProperty('petFrame');
          continue;
        }
        const { acquisitionKey, ...frame } = s.petFrame;
        expect(acquisitionKey).toBe(s.key.replace(/#[tg]\d+$/, ''));
        expect(summary.petFrame).toEqual(frame);
        expect(detail.petFrame).toEqual(frame);
      }
      // What make-pet-timing.py wrote, in the info's names and units (ms from the SeriesTime).
      const frameOf = (tag: string): SeriesSummary['petFrame'] => listed.find((s) => s.petFrame?.tag === tag)?.petFrame;
      expect(frameOf('t02')).toEqual({
        kind: 'dynamic', frame: 2, frames: 3, tag: 't02',
        timing: { startMs: 60000, durationMs: 120000, midMs: 120000, referenceMs: 120000, acquisitionDateTime: '19600614152416.921000' },
      });
      expect(frameOf('g05')).toEqual({ kind: 'gated', frame: 5, frames: 6, tag: 'g05', gating: { triggerTimeMs: 250, frameTimeMs: 250, lowRRMs: 1000, highRRMs: 1400 } });
      expect(listed.map((s) => s.petFrame?.tag ?? 'static').sort()).toEqual([...TAGS, 'static'].sort());
    });
  });

  it('pairs each denoised time point and gate with the same frame of its source, by report.json', async () => {
    await withApp([path.join(input, 'dynamic'), path.join(input, 'gated'), out], 'work-report', async (app) => {
      const list = await studies(app);
      expect(pairs(list)).toEqual(TAGS.map((tag) => [tag, tag, 'report']));
      // The denoised series carry their frames too: one derived series per acquisition, read back frame by frame.
      const denoised = list.studies.flatMap((s) => s.series).filter((s) => s.role === 'denoised');
      expect(denoised.map((s) => s.petFrame?.tag).sort()).toEqual(TAGS);
    });
  });

  it('pairs each denoised time point and gate with the same frame of its source by the DICOM headers alone', async () => {
    const folders = readdirSync(out, { withFileTypes: true }).filter((d) => d.isDirectory() && d.name !== 'previews').map((d) => path.join(out, d.name));
    expect(folders).toHaveLength(2);
    await withApp([path.join(input, 'dynamic'), path.join(input, 'gated'), ...folders], 'work-headers', async (app) => {
      expect(pairs(await studies(app))).toEqual(TAGS.map((tag) => [tag, tag, 'headers']));
    });
  });

  it("leads every pane footer of a time point's figure with that time point, each pane's from its own series", async () => {
    await withApp([path.join(input, 'dynamic'), out], 'work-figure', async (app) => {
      const list = await studies(app);
      const series = new Map(list.studies.flatMap((s) => s.series).map((s) => [s.id, s]));
      const t2 = list.studies.flatMap((s) => s.comparisons).find((c) => series.get(c.lowDose)?.petFrame?.tag === 't02')!;
      expect(series.get(t2.denoised)?.petFrame?.tag).toBe('t02');
      const response = await app.inject({ url: `/api/figure.png?comparisons=${t2.id}&index=0` });
      expect(response.statusCode).toBe(200);
      const png = PNG.sync.read(response.rawPayload);
      const label = petFrameLabel(series.get(t2.lowDose)!.petFrame!);
      expect(label).toBe('t2 / 3 · 60–180 s (mid 120 s)');
      // Low-dose, denoised and difference panes, each footer starting with it (in the footer's grey), on one line.
      const footers = textPlaces(png, `${label} ·`, [150, 160, 172]);
      expect(footers).toHaveLength(3);
      expect(new Set(footers.map(([, y]) => y)).size).toBe(1);
      expect(textPlaces(png, 't1 / 3', [150, 160, 172])).toEqual([]);
    });
  });

  it("denoises the time point on screen in a viewer's job, its comparison paired with that time point", async () => {
    await withApp([path.join(input, 'dynamic')], 'work-job', async (app) => {
      const t2 = (await studies(app)).studies.flatMap((s) => s.series).find((s) => s.petFrame?.tag === 't02')!;
      const started = await app.inject({ method: 'POST', url: '/api/jobs', payload: { series: [t2.id], options: { method: 'gaussian' } } });
      expect(started.statusCode).toBe(202);
      const job = await app.jobs.settled((started.json() as JobView).id);
      expect(job.status).toBe('done');
      expect(job.result!.comparisons).toHaveLength(1);
      const comparison = (await app.inject({ url: `/api/comparisons/${job.result!.comparisons[0]}` })).json() as ComparisonDetail;
      expect(comparison.lowDose).toBe(t2.id);
      const denoised = (await app.inject({ url: `/api/series/${comparison.denoised}` })).json() as SeriesDetail;
      expect([denoised.role, denoised.petFrame]).toEqual(['denoised', t2.petFrame]);
    });
  });
});
