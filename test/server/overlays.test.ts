/**
 * The server pairs a denoised series with its hallucination map and calibrated uncertainty (the
 * viewer's overlay on the denoised pane), by report and, without one, by DICOM headers.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import type { DenoiseReport } from '../../src/pipeline/types.js';
import type { ComparisonDetail, SeriesDetail, StudiesResponse } from '../../src/server/api-types.js';
import { buildApp } from '../../src/server/app.js';
import { writeFixtureStudy } from './fixture-study.js';

let root: string;
let report: DenoiseReport;

async function appOver(data: string): Promise<FastifyInstance> {
  const viewerDir = path.join(root, 'viewer');
  mkdirSync(viewerDir, { recursive: true });
  writeFileSync(path.join(viewerDir, 'index.html'), '<!doctype html><title>viewer</title>');
  return buildApp({ data: [data], workDir: path.join(root, `work-${path.basename(data)}`), viewerDir, logger: { level: 'warn' } });
}

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-overlays-'));
  const study = await writeFixtureStudy(path.join(root, 'data'), { size: 64, slices: 2, denoised: 'none' });
  report = await denoisePaths([study.lowDoseDir], {
    outDir: path.join(root, 'data', 'denoised'),
    device: 'cpu',
    uncertainty: true,
    hallucination: true,
    samples: 2,
  });
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('overlay series', () => {
  it('pairs the hallucination map and the calibrated uncertainty with their denoised series, with the report thresholds', async () => {
    const app = await appOver(path.join(root, 'data'));
    try {
      const { studies } = (await app.inject({ url: '/api/studies' })).json() as StudiesResponse;
      const comparison = (await app.inject({ url: `/api/comparisons/${studies[0]!.comparisons[0]!.id}` })).json() as ComparisonDetail;
      expect(comparison.hallucination).not.toBeNull();
      expect(comparison.uncertainty).not.toBeNull();
      expect(comparison.alignment.hallucination).toEqual([0, 1]);
      expect(comparison.report?.uncertaintyThreshold).toBe(10);
      expect(comparison.report?.hallucinationThreshold).toBe(0.5);
      const map = (await app.inject({ url: `/api/series/${comparison.hallucination}` })).json() as SeriesDetail;
      expect(map.role).toBe('hallucination');
      expect(map.slices).toBe(2);
      // Maps get no entry in the list of comparisons of their own.
      expect(studies[0]!.comparisons).toHaveLength(1);
    } finally {
      await app.close();
    }
  });

  it('finds the map from its headers when there is no report', async () => {
    const series = report.series[0]!;
    // The same files, without report.json: only DICOM headers say what is what.
    const bare = path.join(root, 'bare');
    mkdirSync(bare);
    cpSync(path.join(root, 'data', 'low-dose'), path.join(bare, 'low-dose'), { recursive: true });
    for (const [name, dir] of [['denoised', series.output.dir], ['map', series.hallucination!.map.dir]] as const) {
      mkdirSync(path.join(bare, name));
      for (const file of series.output.files.map((f) => path.basename(f))) cpSync(path.join(dir, file), path.join(bare, name, file));
    }
    const app = await appOver(bare);
    try {
      const { studies } = (await app.inject({ url: '/api/studies' })).json() as StudiesResponse;
      const summary = studies[0]!.comparisons[0]!;
      expect(summary.pairedBy).toBe('headers');
      expect(summary.hallucination).not.toBeNull();
      const roles = studies[0]!.series.map((s) => s.role).sort();
      expect(roles).toContain('hallucination');
    } finally {
      await app.close();
    }
  });
});
