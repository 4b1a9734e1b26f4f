/**
 * The server over a data folder, as the server tests build it: a stub viewer page (the API tests
 * do not load the viewer's bundle) and a work folder beside the data, both under `root`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
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
