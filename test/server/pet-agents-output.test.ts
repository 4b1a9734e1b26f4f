/**
 * A multi-frame PET source whose frames name two radiopharmaceuticals is denoised into one classic
 * PET series per agent, both in one output folder under one completion marker
 * (`output.seriesInstanceUids`; src/dicom/derived-pet-series.ts). The server pairs each with the
 * source and shows both as finished: the marker vouches for each series' own files, not for all
 * of them being one series, and each series' files state its own count (2), which tells one that
 * lost a file short although the marker is there. Each agent's comparison shows and scores only
 * its own agent's source frames (src/pipeline/agent-reference.ts, as `lowdose metrics`). The source
 * comes from test/dicom/data/make-enhanced-pet.py (pydicom).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import { readDicomFile, scanPaths } from '../../src/dicom/index.js';
import { runMetrics } from '../../src/pipeline/metrics.js';
import type { ComparisonDetail, ComparisonMetrics, SeriesDetail } from '../../src/server/api-types.js';
import { CORPUS } from '../dicom/helpers/corpus.js';
import { listedComparisons, serverOver } from '../helpers/server-app.js';

const PYTHON = '/usr/bin/python3';
const GENERATOR = fileURLToPath(new URL('../dicom/data/make-enhanced-pet.py', import.meta.url));
const hasPydicom = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import pydicom, numpy'], { encoding: 'utf8' }).status === 0;

let root = '';
const seriesUidOf = async (file: string) => (await readDicomFile(file)).dataSet.string('x0020000e');
let app: FastifyInstance | undefined;

afterAll(async () => {
  await app?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe.skipIf(!hasPydicom)('the per-agent series of a two-radiopharmaceutical PET source in the server', () => {
  // The source (two-agents-split: agents 1, 2, 1, 2 by position) denoised, and the server over both.
  beforeAll(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-pet-agents-'));
    const generated = path.join(root, 'generated');
    const run = spawnSync(PYTHON, [GENERATOR, CORPUS, generated], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    const data = path.join(root, 'data');
    cpSync(path.join(generated, 'two-agents-split'), path.join(data, 'low'), { recursive: true });
    const report = await denoisePaths([path.join(data, 'low')], { outDir: path.join(data, 'denoised'), method: 'gaussian' });
    expect(report.errors).toEqual([]);
    expect(report.series[0]!.output.seriesInstanceUids).toHaveLength(2);
    app = await serverOver(path.join(root, 'server'), data);
  }, 120_000);

  it('pairs each agent series with the source and shows neither as incomplete; one that lost a file is, by its own count', async () => {
    const data = path.join(root, 'data');
    const listed = await listedComparisons(app!);
    expect(listed).toHaveLength(2);
    expect(new Set(listed.map((c) => JSON.stringify(c.denoised))).size).toBe(2);
    for (const comparison of listed) expect(comparison.incomplete).toBeNull();
    // One file of one agent's series gone, the folder's marker still there: the marker lists both
    // series' files together, and the files' own count (2 each) tells that series short.
    const copy = path.join(root, 'short');
    cpSync(data, copy, { recursive: true });
    const [dir] = readdirSync(path.join(copy, 'denoised'), { withFileTypes: true }).filter((e) => e.isDirectory() && e.name !== 'previews').map((e) => path.join(copy, 'denoised', e.name));
    const files = readdirSync(dir!).filter((f) => f.endsWith('.dcm')).sort();
    const uids = await Promise.all(files.map((f) => seriesUidOf(path.join(dir!, f))));
    const lost = files.find((f, k) => k > 0 && uids[k] === uids[0])!;
    unlinkSync(path.join(dir!, lost));
    const shortApp = await serverOver(path.join(root, 'short-server'), copy);
    try {
      const judged = (await listedComparisons(shortApp)).map((c) => c.incomplete).sort((a, b) => (a === null ? -1 : b === null ? 1 : 0));
      expect(judged[0]).toBeNull();
      expect(judged[1]).toMatchObject({ slices: 1, expected: 2 });
      expect(judged[1]!.message).toContain('lists the files of several series together, and its files say the series has 2 files numbered 1-2: 1 is here');
    } finally {
      await shortApp.close();
    }
  }, 120_000);

  it('shows and scores each agent series beside its own agent\'s source frames only: the low-dose pane, its pairing and the PET range, as lowdose metrics scores it', async () => {
    const data = path.join(root, 'data');
    const source = path.join(data, 'low');
    // Each source frame's z and Radiopharmaceutical Agent Number, as pydicom reads them.
    const read = spawnSync(
      PYTHON,
      ['-c', 'import sys, json, pydicom\nd = pydicom.dcmread(sys.argv[1])\nprint(json.dumps([[float(f.PlanePositionSequence[0].ImagePositionPatient[2]), int(f.RadiopharmaceuticalUsageSequence[0].RadiopharmaceuticalAgentNumber)] for f in d.PerFrameFunctionalGroupsSequence]))', path.join(source, 'two-agents-split.dcm')],
      { encoding: 'utf8' },
    );
    expect(read.status, read.stderr).toBe(0);
    const frames = JSON.parse(read.stdout) as [number, number][];
    const expected = JSON.parse(readFileSync(path.join(root, 'generated', 'expected.json'), 'utf8')) as { twoAgents: { factors: number[]; bqmlMax: number[] } };
    const zs = (d: SeriesDetail) => d.positions.map((p) => p![2]).sort((a, b) => a - b);
    const written = (await scanPaths([path.join(data, 'denoised')])).series;
    const agents = new Set<number>();
    for (const summary of await listedComparisons(app!)) {
      const comparison = (await app!.inject({ url: `/api/comparisons/${summary.id}` })).json() as ComparisonDetail;
      const lowDose = (await app!.inject({ url: `/api/series/${comparison.lowDose}` })).json() as SeriesDetail;
      const denoised = (await app!.inject({ url: `/api/series/${comparison.denoised}` })).json() as SeriesDetail;
      const agent = frames.find(([z]) => z === zs(denoised)[0])![1];
      agents.add(agent);
      // The low-dose pane: the source's frames of this agent, at the denoised series' positions, each paired with its own.
      const own = frames.filter(([, a]) => a === agent).map(([z]) => z).sort((a, b) => a - b);
      expect(zs(denoised)).toEqual(own);
      expect(lowDose.slices).toBe(own.length);
      expect(zs(lowDose)).toEqual(own);
      expect(comparison.alignment.matchedBy?.denoised).toBe('position');
      expect(comparison.alignment.denoised.map((k, i) => denoised.positions[k]![2] - lowDose.positions[i]![2])).toEqual(own.map(() => 0));
      const slice = await app!.inject({ url: `/api/series/${comparison.lowDose}/slices/${own.length - 1}` });
      expect(slice.statusCode).toBe(200);
      // Its metrics: the PET range is its agent's frames' maximum in SUVbw (the generator's pydicom factors), every slice scored.
      const metrics = (await app!.inject({ url: `/api/comparisons/${summary.id}/metrics` })).json() as ComparisonMetrics;
      expect(Math.abs(metrics.range[1] / (expected.twoAgents.bqmlMax[0]! * expected.twoAgents.factors[agent - 1]!) - 1)).toBeLessThan(1e-6);
      expect(metrics.slices).toHaveLength(own.length);
      // The same scores as lowdose metrics gives that agent's series against the source.
      const mine = written.find((s) => s.slices.every((x) => own.includes(x.position![2])))!;
      const folder = path.join(root, `agent-${agent}`);
      cpSync(path.dirname(mine.slices[0]!.file), folder, { recursive: true, filter: (f) => !f.endsWith('.dcm') || mine.slices.some((x) => path.basename(x.file) === path.basename(f)) });
      const { result } = await runMetrics({ reference: source, test: folder });
      expect(metrics.range[1]).toBeCloseTo(result.range![1], 9);
      expect(metrics.mean.denoised!.psnr!).toBeCloseTo(result.mean.psnr!, 9);
      expect(metrics.mean.denoised!.ssim).toBeCloseTo(result.mean.ssim, 9);
      expect(metrics.mean.denoised!.rmse).toBeCloseTo(result.mean.rmse, 9);
    }
    expect([...agents].sort()).toEqual([1, 2]);
  }, 120_000);
});
