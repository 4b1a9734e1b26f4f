/**
 * `denoise --uncertainty` and `denoise --hallucination` end to end with the shipped CT model on the
 * body phantom fixture (4 slices of 256 x 256 at 25 % dose).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSliceImage, scanPaths } from '../../src/dicom/index.js';
import { calibratedSigma, removedNoiseVariance, windowRadius } from '../../src/metrics/uncertainty.js';
import { estimateSeriesNoise } from '../../src/filters/index.js';
import { sampleSlices } from '../../src/pipeline/slice-denoiser.js';
import type { ModelCard } from '../../src/models/card.js';
import { runCli } from '../helpers/cli.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const LOW = path.join(REPO, 'fixtures/body/dose25');
const card = JSON.parse(readFileSync(path.join(REPO, 'models/lowdose-ct.json'), 'utf8')) as ModelCard;

let root: string;
beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'lowdose-uncertainty-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function denoise(name: string, ...args: string[]) {
  const run = await runCli('denoise', LOW, '-o', path.join(root, name), '--device', 'cpu', '--seed', '3', '--no-progress', '--json', ...args);
  // A run that denoised nothing because of its settings exits 2 with its report; a usage error refused before any series, with none.
  return { ...run, report: run.stdout ? JSON.parse(run.stdout) : run.code === 0 || run.code === 1 ? { series: [], errors: [] } : null };
}

describe('denoise --uncertainty', () => {
  it("writes the calibrated SD, the card's formula applied to the same ensemble's spread, with per-slice and per-series summaries", async () => {
    const calibrated = await denoise('calibrated', '--uncertainty');
    expect(calibrated.code).toBe(0);
    const raw = await denoise('raw', '--samples', String(card.uncertainty!.samples));
    const a = calibrated.report.series[0];
    const b = raw.report.series[0];
    const entry = card.uncertainty!.calibration.find((c) => c.samples === card.uncertainty!.samples)!;
    expect(a.samples).toBe(card.uncertainty!.samples);
    expect(a.uncertainty.calibrated).toBe(true);
    expect(a.uncertainty.calibration).toMatchObject({ samples: entry.samples, spreadScale: entry.spreadScale, noiseScale: entry.noiseScale, threshold: 10, units: 'HU' });
    expect(a.uncertainty.calibration.noiseLevelScale).toBe(entry.noiseLevelScale);
    expect(b.uncertainty.calibrated).toBe(false);

    // Same seed, same ensemble: the calibrated map is the formula applied to the raw spread.
    const sigmaSeries = (await scanPaths([a.uncertainty.dir])).series[0]!;
    const stdSeries = (await scanPaths([b.uncertainty.dir])).series[0]!;
    const outSeries = (await scanPaths([path.join(b.output.dir, 'IM0002.dcm')])).series[0]!;
    const input = (await scanPaths([LOW])).series[0]!;
    const low = await readSliceImage(input, 1);
    const std = await readSliceImage(stdSeries, 1);
    const output = await readSliceImage(outSeries, 0);
    const sigma = await readSliceImage(sigmaSeries, 1);
    const noise = removedNoiseVariance(low.data, output.data, low.rows, low.columns, windowRadius(entry.noiseWindowMm, low.pixelSpacing));
    // The card's series term: the input series' noise SD, as the classical filters measure it (reported with the calibration).
    const inputNoise = estimateSeriesNoise(await sampleSlices(input), 'CT');
    expect(entry.noiseLevelScale).toBeGreaterThan(0);
    expect(a.uncertainty.calibration.inputNoise).toBeCloseTo(inputNoise, 2);
    const expected = calibratedSigma(std.data, noise, entry, inputNoise);
    let worst = 0;
    for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(expected[i]! - sigma.data[i]!));
    // The series store 0.1 HU steps (outputs, spreads and the map alike).
    expect(worst).toBeLessThan(0.5);

    const summary = a.uncertainty.summary;
    expect(summary.threshold).toBe(10);
    expect(summary.fractionAbove).toBeGreaterThan(0);
    expect(summary.fractionAbove).toBeLessThanOrEqual(1);
    expect(summary.worst.length).toBeGreaterThan(0);
    expect(a.uncertainty.slices.map((s: { index: number }) => s.index)).toEqual([0, 1, 2, 3]);
    // The worst patch is the most uncertain of every slice's worst.
    const perSliceWorst = Math.max(...a.uncertainty.slices.map((s: { worst: Array<{ sigma: number }> }) => s.worst[0]!.sigma));
    expect(summary.worst[0].sigma).toBe(perSliceWorst);
    // Its centre lies on its slice's plane, inside the image.
    const w = summary.worst[0];
    expect(w.zMm).toBeCloseTo(input.slices[w.slice]!.position![2], 1);
    expect(Math.abs(w.xMm)).toBeLessThan((input.columns * input.spacing[1]) / 2 + 20);
  });

  it('refuses what it cannot calibrate: a filter, full-dose texture, an uncalibrated ensemble size, a model without a calibration', async () => {
    const filter = await runCli('denoise', LOW, '-o', path.join(root, 'nlm'), '--method', 'nlm', '--uncertainty');
    expect(filter.code).toBe(2);
    expect(filter.stderr).toMatch(/--uncertainty and --hallucination need the diffusion model/);
    const threshold = await runCli('denoise', LOW, '-o', path.join(root, 't'), '--uncertainty-threshold', '5');
    expect(threshold.code).toBe(2);
    const texture = await runCli('denoise', LOW, '-o', path.join(root, 'tex'), '--uncertainty', '--texture', 'full-dose', '--dose', '0.25');
    expect(texture.code).toBe(2);
    expect(texture.stderr).toMatch(/calibrated for --texture smooth/);
    const three = await denoise('three', '--uncertainty', '--samples', '3');
    expect(three.code).toBe(2);
    expect(three.report.errors[0].code).toBe('E_USAGE');
    expect(three.report.errors[0].message).toMatch(/calibrated for --samples 2, 4, 8, not 3/);
    const uncalibrated = await denoise('per-pixel', '--uncertainty', '--model', path.join(REPO, 'test/fixtures-models/per-pixel.json'), '--samples', '2');
    expect(uncalibrated.code).toBe(2);
    expect(uncalibrated.report.errors[0].code).toBe('E_MODEL');
    expect(uncalibrated.report.errors[0].message).toMatch(/no uncertainty calibration/);
  });
});

describe('denoise --hallucination (no reference)', () => {
  it('maps where the two halves of the ensemble disagree on structure, only where the calibrated SD is above the threshold', async () => {
    const gated = await denoise('hall-gated', '--hallucination', '--samples', '2');
    const shut = await denoise('hall-shut', '--hallucination', '--samples', '2', '--uncertainty-threshold', '1000000');
    for (const run of [gated, shut]) expect(run.code).toBe(0);
    const h = (run: { report: { series: Array<{ hallucination: { flagged: unknown[]; patches: number; against: string; map: { dir: string; files: string[] } } }> } }) =>
      run.report.series[0]!.hallucination;
    expect(h(gated).against).toBe('samples');
    expect(h(gated).patches).toBeGreaterThan(100);
    expect(h(gated).map.files).toHaveLength(4);
    // No patch is uncertain enough under an absurd threshold: nothing is flagged, whatever the halves do.
    expect(h(shut).flagged).toHaveLength(0);
    expect(h(shut).patches).toBe(h(gated).patches);
    const map = (await scanPaths([h(gated).map.dir])).series[0]!;
    expect(map.slices).toHaveLength(4);
  });
});
