/**
 * The server over a data folder, as the server tests build it: a stub viewer page (the API tests
 * do not load the viewer's bundle) and a work folder beside the data, both under `root`.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { scanPaths } from '../../src/dicom/index.js';
import type { ComparisonDetail, ComparisonSummary, StudiesResponse } from '../../src/server/api-types.js';
import { buildApp, type BuildAppOptions } from '../../src/server/app.js';

export async function serverOver(root: string, data: string, options: BuildAppOptions = {}): Promise<FastifyInstance> {
  const viewerDir = path.join(root, 'viewer');
  mkdirSync(viewerDir, { recursive: true });
  writeFileSync(path.join(viewerDir, 'index.html'), '<!doctype html><title>viewer</title>');
  return buildApp({ data: [data], workDir: path.join(root, 'work'), viewerDir, logger: { level: 'silent' }, ...options });
}

/** Every comparison the server lists, over all studies. */
export async function listedComparisons(app: FastifyInstance): Promise<ComparisonSummary[]> {
  return ((await app.inject({ url: '/api/studies' })).json() as StudiesResponse).studies.flatMap((s) => s.comparisons);
}

/** The server over `data` and the detail of the first comparison it lists. */
export async function firstComparison(root: string, data: string): Promise<{ app: FastifyInstance; comparison: ComparisonDetail }> {
  const app = await serverOver(root, data);
  const summary = (await listedComparisons(app))[0]!;
  const comparison = (await app.inject({ url: `/api/comparisons/${summary.id}` })).json() as ComparisonDetail;
  return { app, comparison };
}

/**
 * Links `referenceDir`'s series to the first series of `denoisedDir`'s report.json as an
 * unscoredReference of `files` files, as a hand-edited or older report may: for the cases
 * `denoise --reference` itself never links, to test what the server shows of what a report links.
 */
export async function linkReferenceByHand(denoisedDir: string, referenceDir: string, files: number): Promise<void> {
  const [referenceSeries] = (await scanPaths([referenceDir])).series;
  const reportPath = path.join(denoisedDir, 'report.json');
  const report = JSON.parse(readFileSync(reportPath, 'utf8')) as { series: Array<Record<string, unknown>> };
  report.series[0]!.unscoredReference = { seriesInstanceUid: referenceSeries!.seriesInstanceUid, files, reason: 'linked by hand' };
  writeFileSync(reportPath, JSON.stringify(report));
}
