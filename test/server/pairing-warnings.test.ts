/**
 * The comparison API says what `lowdose metrics` / `denoise --reference` say of a pair that lines
 * up but is suspect (src/metrics/pairing-warnings.ts): GET /api/comparisons/:id `pairingWarnings`,
 * for the low-dose and the denoised series against the reference, however the comparison was
 * paired. A reference of another ConvolutionKernel found by the DICOM headers alone (the body
 * phantom study of ./fixture-study.ts, its files relabelled B30f / D45f), one named by
 * `denoise --reference`'s report.json (the water fixture, relabelled alike), and a gate of a gated
 * PET acquisition denoised against an ungated series (make-pet-timing.py's gated set, pydicom).
 * The exports of the scores say the same: the metrics route's `pairingWarnings`, the metrics CSV's
 * `pairing_warnings` column and the figure's metrics lines.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { denoisePaths } from '../../src/pipeline/denoise.js';
import { PNG } from 'pngjs';
import type { ComparisonDetail, ComparisonMetrics } from '../../src/server/api-types.js';
import { relabelFiles } from '../helpers/mutate-dicom.js';
import { hasPydicom, makeGateAndUngated, makePetTiming } from '../helpers/pet-timing.js';
import { listedComparisons, serverOver } from '../helpers/server-app.js';
import { textPlaces } from './figure-text.js';
import { writeFixtureStudy } from './fixture-study.js';

const WATER = fileURLToPath(new URL('../../fixtures/water/', import.meta.url));

let root = '';
const apps: FastifyInstance[] = [];

beforeAll(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'lowdose-pairing-warnings-'));
});

afterAll(async () => {
  for (const app of apps) await app.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

/** Every .dcm file of `dir` written with ConvolutionKernel (0018,1210) `kernel`. */
const relabelKernel = (dir: string, kernel: string) => relabelFiles(dir, 'x00181210', 'SH', kernel);

/** The server over `data` and the detail of each comparison it lists. */
async function serverWithComparisons(name: string, data: string): Promise<{ app: FastifyInstance; details: ComparisonDetail[] }> {
  const app = await serverOver(path.join(root, name), data);
  apps.push(app);
  const details: ComparisonDetail[] = [];
  for (const summary of await listedComparisons(app)) {
    const response = await app.inject({ url: `/api/comparisons/${summary.id}` });
    expect(response.statusCode).toBe(200);
    details.push(response.json() as ComparisonDetail);
  }
  return { app, details };
}

const comparisonsOver = async (name: string, data: string) => (await serverWithComparisons(name, data)).details;

/** The figure's metrics ink (src/server/figure-render.ts METRICS_COLOUR). */
const METRICS_INK: [number, number, number] = [255, 213, 74];

/** What the exports of comparison `id`'s scores carry: the metrics route's warnings, the metrics CSV's rows, the figure. */
async function exportsOf(app: FastifyInstance, id: string): Promise<{ metricsWarnings: ComparisonMetrics['pairingWarnings']; csv: string[]; figure: PNG }> {
  const metrics = await app.inject({ url: `/api/comparisons/${id}/metrics` });
  const csv = await app.inject({ url: `/api/comparisons/${id}/metrics.csv` });
  const figure = await app.inject({ url: `/api/figure.png?comparisons=${id}` });
  expect([metrics.statusCode, csv.statusCode, figure.statusCode]).toEqual([200, 200, 200]);
  return { metricsWarnings: (metrics.json() as ComparisonMetrics).pairingWarnings, csv: csv.body.trim().split('\n'), figure: PNG.sync.read(figure.rawPayload) };
}

describe('pairing warnings in the comparison API', () => {
  it('says W_KERNEL_MISMATCH for the low-dose and the denoised scores against a reference of another kernel found by the headers alone', async () => {
    const study = await writeFixtureStudy(path.join(root, 'headers'), { size: 32, slices: 3, denoised: 'headers' });
    const same = path.join(root, 'headers-same-kernel');
    cpSync(study.root, same, { recursive: true });
    relabelKernel(study.fullDoseDir, 'B30f');
    relabelKernel(study.lowDoseDir, 'D45f');
    relabelKernel(study.denoisedDir!, 'D45f');

    const { app, details: [comparison, ...others] } = await serverWithComparisons('server-headers', study.root);
    expect(others).toEqual([]);
    expect([comparison!.pairedBy, comparison!.reference !== null]).toEqual(['headers', true]);
    expect(comparison!.pairingWarnings).toEqual([
      { code: 'W_KERNEL_MISMATCH', scores: 'lowDose', message: expect.stringMatching(/^the reference was reconstructed with kernel B30f and the low-dose with D45f: /) as unknown },
      { code: 'W_KERNEL_MISMATCH', scores: 'denoised', message: expect.stringMatching(/^the reference was reconstructed with kernel B30f and the denoised with D45f: /) as unknown },
    ]);


    // The scores' exports say it too: the metrics route, each CSV row of a scored series, each scored pane of the figure.
    const exported = await exportsOf(app, comparison!.id);
    expect(exported.metricsWarnings).toEqual(comparison!.pairingWarnings);
    expect(exported.csv[0]!.endsWith(',reference_noise_sd,pairing_warnings')).toBe(true);
    const rows = exported.csv.slice(1);
    expect(rows.length).toBe(2 * 3);
    for (const row of rows) {
      const label = row.split(',')[2]!;
      expect(row).toMatch(new RegExp(`,W_KERNEL_MISMATCH: the reference was reconstructed with kernel B30f and the ${label} with D45f: [^,|]*$`));
    }
    expect(textPlaces(exported.figure, 'B30f', METRICS_INK)).toHaveLength(2);

    // The same study as written (no kernel named): nothing to say.
    const { app: plainApp, details: [plain] } = await serverWithComparisons('server-headers-same', same);
    expect([plain!.pairedBy, plain!.reference !== null, plain!.pairingWarnings]).toEqual(['headers', true, []]);
    const plainExports = await exportsOf(plainApp, plain!.id);
    expect(plainExports.metricsWarnings).toEqual([]);
    expect(plainExports.csv.slice(1).map((row) => row.endsWith(','))).toEqual(Array(6).fill(true));
    expect(textPlaces(plainExports.figure, '!', METRICS_INK)).toEqual([]);
  }, 60_000);

  it('says W_KERNEL_MISMATCH for a reference of another kernel named by denoise --reference in report.json, and nothing for one of the same kernel', async () => {
    const data = path.join(root, 'report');
    for (const [name, kernel] of [['dose100', 'B30f'], ['dose25', 'D45f'], ['dose10', 'B30f']] as const) {
      cpSync(path.join(WATER, name), path.join(data, name), { recursive: true });
      relabelKernel(path.join(data, name), kernel);
    }
    const report = await denoisePaths([path.join(data, 'dose25'), path.join(data, 'dose10')], {
      outDir: path.join(data, 'denoised'),
      method: 'gaussian',
      reference: [path.join(data, 'dose100')],
    });
    expect(report.errors).toEqual([]);

    const comparisons = await comparisonsOver('server-report', data);
    expect(comparisons.map((c) => [c.pairedBy, c.reference !== null])).toEqual([
      ['report', true],
      ['report', true],
    ]);
    const warned = comparisons.filter((c) => c.pairingWarnings!.length > 0);
    expect(warned).toHaveLength(1);
    expect(warned[0]!.pairingWarnings!.map((w) => [w.code, w.scores, /^the reference was reconstructed with kernel B30f and the (low-dose|denoised) with D45f/.test(w.message)])).toEqual([
      ['W_KERNEL_MISMATCH', 'lowDose', true],
      ['W_KERNEL_MISMATCH', 'denoised', true],
    ]);
  }, 60_000);

  it.skipIf(!hasPydicom)('says W_GATE_AGAINST_UNGATED, naming the gate, for a gate denoised against an ungated reference', async () => {
    const dir = path.join(root, 'gates');
    makePetTiming(path.join(dir, 'in'));
    const data = path.join(root, 'gates-data');
    const { gate2, ungated } = makeGateAndUngated(path.join(dir, 'in', 'gated'), data);
    const report = await denoisePaths([gate2], { outDir: path.join(data, 'denoised'), method: 'gaussian', reference: [ungated] });
    expect(report.errors).toEqual([]);

    const [comparison, ...others] = await comparisonsOver('server-gates', data);
    expect(others).toEqual([]);
    expect([comparison!.pairedBy, comparison!.reference !== null]).toEqual(['report', true]);
    expect(comparison!.pairingWarnings!.map((w) => [w.code, w.scores, w.message.split(':')[0]])).toEqual([
      ['W_GATE_AGAINST_UNGATED', 'lowDose', expect.stringMatching(/^the low-dose is gate 2 of 6 \(TriggerTime 250 ms\) of a gated acquisition and the reference .* is not gated$/)],
      ['W_GATE_AGAINST_UNGATED', 'denoised', expect.stringMatching(/^the denoised is gate 2 of 6 \(TriggerTime 250 ms\) of a gated acquisition and the reference .* is not gated$/)],
    ]);
  }, 120_000);
});
