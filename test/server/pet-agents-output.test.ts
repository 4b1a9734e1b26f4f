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
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import { readDicomFile, scanPaths } from '../../src/dicom/index.js';
import { runMetrics } from '../../src/pipeline/metrics.js';
import type { ComparisonDetail, ComparisonMetrics, SeriesDetail } from '../../src/server/api-types.js';
import type { Series } from '../../src/dicom/types.js';
import { CORPUS } from '../dicom/helpers/corpus.js';
import { listedComparisons, serverOver } from '../helpers/server-app.js';

const PYTHON = '/usr/bin/python3';
const GENERATOR = fileURLToPath(new URL('../dicom/data/make-enhanced-pet.py', import.meta.url));
const FULL_COUNT = fileURLToPath(new URL('../dicom/data/make-two-agents-full-count.py', import.meta.url));
const hasPydicom = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import pydicom, numpy'], { encoding: 'utf8' }).status === 0;

let root = '';
const seriesUidOf = async (file: string) => (await readDicomFile(file)).dataSet.string('x0020000e');
let app: FastifyInstance | undefined;

/** Each frame's z and Radiopharmaceutical Agent Number of a multi-frame PET file, as pydicom reads them. */
function frameAgents(file: string): [number, number][] {
  const read = spawnSync(
    PYTHON,
    ['-c', 'import sys, json, pydicom\nd = pydicom.dcmread(sys.argv[1])\nprint(json.dumps([[float(f.PlanePositionSequence[0].ImagePositionPatient[2]), int(f.RadiopharmaceuticalUsageSequence[0].RadiopharmaceuticalAgentNumber)] for f in d.PerFrameFunctionalGroupsSequence]))', file],
    { encoding: 'utf8' },
  );
  expect(read.status, read.stderr).toBe(0);
  return JSON.parse(read.stdout) as [number, number][];
}

/** The comparison's scores are those `lowdose metrics --reference <reference> --test <series>` gives (the series' files copied into `folder`). */
async function expectLowdoseMetrics(metrics: ComparisonMetrics, series: Series, folder: string, reference: string): Promise<void> {
  cpSync(path.dirname(series.slices[0]!.file), folder, { recursive: true, filter: (f) => !f.endsWith('.dcm') || series.slices.some((x) => path.basename(x.file) === path.basename(f)) });
  const { result } = await runMetrics({ reference, test: folder });
  expect(metrics.range[1]).toBeCloseTo(result.range![1], 9);
  expect(metrics.mean.denoised!.psnr!).toBeCloseTo(result.mean.psnr!, 9);
  expect(metrics.mean.denoised!.ssim).toBeCloseTo(result.mean.ssim, 9);
  expect(metrics.mean.denoised!.rmse).toBeCloseTo(result.mean.rmse, 9);
}

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
    const frames = frameAgents(path.join(source, 'two-agents-split.dcm'));
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
      await expectLowdoseMetrics(metrics, mine, path.join(root, `agent-${agent}`), source);
    }
    expect([...agents].sort()).toEqual([1, 2]);
  }, 120_000);

  it('shows and scores a reference that is itself a two-radiopharmaceutical source by its agent\'s frames only: the reference pane, its pairing and the PET range its maximum', async () => {
    // denoise low --reference full: both two-agents-split (agents 1, 2, 1, 2 by position), the full-count one smoothed (pydicom).
    const data = path.join(root, 'with-reference');
    const low = path.join(data, 'low');
    const full = path.join(data, 'full');
    cpSync(path.join(root, 'generated', 'two-agents-split'), low, { recursive: true });
    mkdirSync(full, { recursive: true });
    const expected = JSON.parse(readFileSync(path.join(root, 'generated', 'expected.json'), 'utf8')) as { twoAgents: { factors: number[] } };
    const made = spawnSync(PYTHON, [FULL_COUNT, path.join(low, 'two-agents-split.dcm'), path.join(full, 'full.dcm'), JSON.stringify(expected.twoAgents.factors)], { encoding: 'utf8' });
    expect(made.status, made.stderr).toBe(0);
    const wanted = JSON.parse(made.stdout) as Record<string, number>;
    const frames = frameAgents(path.join(full, 'full.dcm'));
    const report = await denoisePaths([low], { outDir: path.join(data, 'denoised'), method: 'gaussian', reference: [full] });
    expect(report.errors).toEqual([]);
    const zs = (d: SeriesDetail) => d.positions.map((p) => p![2]).sort((a, b) => a - b);
    const written = (await scanPaths([path.join(data, 'denoised')])).series;
    const server = await serverOver(path.join(root, 'server-with-reference'), data);
    try {
      let withReference = 0;
      for (const summary of await listedComparisons(server)) {
        const comparison = (await server.inject({ url: `/api/comparisons/${summary.id}` })).json() as ComparisonDetail;
        if (comparison.reference === null) continue;
        withReference++;
        expect(comparison.pairedBy).toBe('report');
        const lowDose = (await server.inject({ url: `/api/series/${comparison.lowDose}` })).json() as SeriesDetail;
        const reference = (await server.inject({ url: `/api/series/${comparison.reference}` })).json() as SeriesDetail;
        const denoised = (await server.inject({ url: `/api/series/${comparison.denoised}` })).json() as SeriesDetail;
        const mine = written.find((s) => s.slices.every((x) => zs(denoised).includes(x.position![2])))!;
        const agent = frames.find(([z]) => z === zs(denoised)[0])![1];
        // The reference pane: the full-count source's frames of this agent, at the denoised series' positions, each paired with its own.
        const own = frames.filter(([, a]) => a === agent).map(([z]) => z).sort((a, b) => a - b);
        expect(zs(denoised)).toEqual(own);
        expect(reference.slices).toBe(own.length);
        expect(zs(reference)).toEqual(own);
        expect(zs(lowDose)).toEqual(zs(denoised));
        expect(comparison.alignment.matchedBy?.reference).toBe('position');
        // Scored against it: the range its agent's full-count maximum in SUVbw (pydicom), as lowdose metrics gives.
        const metrics = (await server.inject({ url: `/api/comparisons/${summary.id}/metrics` })).json() as ComparisonMetrics;
        expect(metrics.against).toBe('reference');
        expect(Math.abs(metrics.range[1] / wanted[String(agent)]! - 1)).toBeLessThan(1e-6);
        await expectLowdoseMetrics(metrics, mine, path.join(data, `agent-${agent}`), full);
      }
      // Both agents' series, each paired through report.json (`output.series`) with its reference.
      expect(withReference).toBe(2);
    } finally {
      await server.close();
    }
  }, 120_000);

  /**
   * two-agents-respiratory: 2 positions x 2 respiratory gates (25, 75 %) x agents 1, 2, the 75 % gate's pixels halved; its full-count copy smoothed (pydicom);
   * denoised with --reference the full-count copy. Made once, for the tests below.
   */
  let respiratory: Promise<{ data: string; low: string; full: string; wanted: { gates: Record<string, number> }; entry: Awaited<ReturnType<typeof denoisePaths>>['series'][number] }> | undefined;
  const respiratoryData = () =>
    (respiratory ??= (async () => {
      const data = path.join(root, 'respiratory');
      const low = path.join(data, 'low');
      const full = path.join(data, 'full');
      cpSync(path.join(root, 'generated', 'two-agents-respiratory'), low, { recursive: true });
      mkdirSync(full, { recursive: true });
      const expected = JSON.parse(readFileSync(path.join(root, 'generated', 'expected.json'), 'utf8')) as { twoAgents: { factors: number[] } };
      const made = spawnSync(PYTHON, [FULL_COUNT, path.join(low, 'two-agents-respiratory.dcm'), path.join(full, 'full.dcm'), JSON.stringify(expected.twoAgents.factors)], { encoding: 'utf8' });
      expect(made.status, made.stderr).toBe(0);
      const wanted = JSON.parse(made.stdout) as { gates: Record<string, number> };
      const report = await denoisePaths([low], { outDir: path.join(data, 'denoised'), method: 'gaussian', reference: [full] });
      expect(report.errors).toEqual([]);
      return { data, low, full, wanted, entry: report.series[0]! };
    })());

  it('pairs each gate of each agent of a respiratory-gated two-radiopharmaceutical source with its own low-dose and reference frames, scored as denoise --reference scored it', async () => {
    const { data, wanted, entry } = await respiratoryData();
    const server = await serverOver(path.join(root, 'server-respiratory'), data);
    try {
      const listed = await listedComparisons(server);
      expect(listed).toHaveLength(4);
      const seen = new Set<string>();
      for (const summary of listed) {
        const comparison = (await server.inject({ url: `/api/comparisons/${summary.id}` })).json() as ComparisonDetail;
        const denoised = (await server.inject({ url: `/api/series/${comparison.denoised}` })).json() as SeriesDetail;
        const lowDose = (await server.inject({ url: `/api/series/${comparison.lowDose}` })).json() as SeriesDetail;
        const reference = (await server.inject({ url: `/api/series/${comparison.reference}` })).json() as SeriesDetail;
        // Which written series it is: its SeriesDescription names its agent and gate (" agent 2 resp gate 1 of 2").
        const output = entry.output.series!.find((o) => denoised.description.endsWith(` agent ${o.agent} resp gate ${o.respiratoryGate!.gate} of 2`))!;
        seen.add(output.seriesInstanceUid);
        expect(comparison.pairedBy).toBe('report');
        // The low-dose and reference panes: this gate of this agent only, one slice per position, each paired with its own.
        expect(lowDose.slices).toBe(2);
        expect(reference.slices).toBe(2);
        expect(comparison.alignment.matchedBy?.denoised).toBe('position');
        expect(comparison.alignment.matchedBy?.reference).toBe('position');
        // Scored against the reference's frames of its agent and gate: the range their maximum (pydicom),
        // the scores those denoise --reference gave it (metrics.series; the written files' quantisation apart).
        const metrics = (await server.inject({ url: `/api/comparisons/${summary.id}/metrics` })).json() as ComparisonMetrics;
        const scored = entry.metrics!.series!.find((m) => m.seriesInstanceUid === output.seriesInstanceUid)!;
        expect(metrics.against).toBe('reference');
        expect(Math.abs(metrics.range[1] / wanted.gates[`${output.agent}/${[25, 75][output.respiratoryGate!.gate - 1]}`]! - 1)).toBeLessThan(1e-6);
        expect(metrics.slices).toHaveLength(2);
        expect(metrics.mean.lowDose!.psnr!).toBeCloseTo(scored.input!.psnr!, 6);
        expect(metrics.mean.denoised!.psnr!).toBeCloseTo(scored.psnr!, 2);
      }
      expect(seen.size).toBe(4);
    } finally {
      await server.close();
    }
  }, 120_000);

  it("pairs each gate of each agent by the DICOM headers alone (no report.json) with its own agent's and gate's low-dose frames, by what its files state", async () => {
    // The denoised series without the report that names their frames: each file's agent (its
    // Radiopharmaceutical Information Sequence) and gate (its Image Comments) restrict the low-dose
    // pane (src/pipeline/agent-reference.ts referenceOfTestAgent); no reference is paired by headers.
    const { low, full, entry } = await respiratoryData();
    const data = path.join(root, 'respiratory-headers');
    mkdirSync(data);
    cpSync(low, path.join(data, 'low'), { recursive: true });
    cpSync(full, path.join(data, 'full'), { recursive: true });
    cpSync(entry.output.dir, path.join(data, 'denoised'), { recursive: true });
    expect(readdirSync(data, { recursive: true }).filter((f) => String(f).endsWith('report.json'))).toEqual([]);
    const server = await serverOver(path.join(root, 'server-respiratory-headers'), data);
    try {
      const listed = await listedComparisons(server);
      expect(listed).toHaveLength(4);
      const seen = new Set<string>();
      const maxima = new Map<string, number>();
      for (const summary of listed) {
        const comparison = (await server.inject({ url: `/api/comparisons/${summary.id}` })).json() as ComparisonDetail;
        const denoised = (await server.inject({ url: `/api/series/${comparison.denoised}` })).json() as SeriesDetail;
        const lowDose = (await server.inject({ url: `/api/series/${comparison.lowDose}` })).json() as SeriesDetail;
        const output = entry.output.series!.find((o) => denoised.description.endsWith(` agent ${o.agent} resp gate ${o.respiratoryGate!.gate} of 2`))!;
        seen.add(output.seriesInstanceUid);
        expect(comparison.pairedBy).toBe('headers');
        // This gate of this agent only on the low-dose pane (the source holds 8 frames: 2 positions x 2 gates x 2 agents).
        expect(comparison.reference).toBeNull();
        expect(lowDose.slices).toBe(2);
        expect(comparison.alignment.matchedBy?.denoised).toBe('position');
        const metrics = (await server.inject({ url: `/api/comparisons/${summary.id}/metrics` })).json() as ComparisonMetrics;
        expect([metrics.against, metrics.slices.length]).toEqual(['source', 2]);
        maxima.set(`${output.agent}/${output.respiratoryGate!.gate}`, metrics.range[1]);
      }
      expect(seen.size).toBe(4);
      // The PET range is the low-dose pane's maximum: the 75 % gate's pixels are the 25 % gate's
      // halved (rounded), so each agent's gate 2 reads half its gate 1 (not the agent's maximum over both gates).
      for (const agent of [1, 2]) expect(maxima.get(`${agent}/2`)! / maxima.get(`${agent}/1`)!).toBeCloseTo(0.5, 2);
    } finally {
      await server.close();
    }
  }, 120_000);
});
