/**
 * The uncertainty series and the sFRC map carry a VOI window of their own, chosen from what they
 * store (docs/uncertainty.md, "How a viewer shows the maps"), not the source's soft-tissue / lung
 * window: a real Mayo CT slice, the IEC PET fixture (Bq/ml files read in SUVbw) and the body
 * fixture's map, read back from the written files.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSliceImage, scanPaths } from '../../src/dicom/index.js';
import { getString, getValues, readDatasetWithoutPixels } from '../../src/dicom/write-dcmjs.js';
import { runCli } from '../helpers/cli.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const MAYO_QUARTER_SLICE = path.resolve(REPO, '../shared/ldct-mayo/L192/B30f/quarter/000.IMA');
const IEC_LOW = path.join(REPO, 'fixtures/iec/dose25');
const BODY = path.join(REPO, 'fixtures/body');

let root: string;
beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'lowdose-uncertainty-window-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface FileWindow {
  readonly centers: number[];
  readonly widths: number[];
  readonly explanation: string | undefined;
  readonly voiLutFunction: string | undefined;
}

function fileWindow(file: string): FileWindow {
  const { dataset } = readDatasetWithoutPixels(new Uint8Array(readFileSync(file)));
  return {
    centers: (getValues(dataset, 'WindowCenter') ?? []).map(Number),
    widths: (getValues(dataset, 'WindowWidth') ?? []).map(Number),
    explanation: getString(dataset, 'WindowCenterWidthExplanation'),
    voiLutFunction: getString(dataset, 'VOILUTFunction'),
  };
}

/** The first window's LINEAR range (PS3.3 C.11.2.1.2.1) in the series' units: [black at or below, white above]. */
function linearRange(w: FileWindow, unitsScale = 1): [number, number] {
  const c = w.centers[0]!;
  const width = w.widths[0]!;
  return [(c - 0.5 - (width - 1) / 2) * unitsScale, (c - 0.5 + (width - 1) / 2) * unitsScale];
}

function quantile(values: Float32Array, q: number): number {
  const sorted = Float32Array.from(values).sort();
  return sorted[Math.floor(q * (sorted.length - 1))]!;
}

async function denoise(input: string, name: string, ...args: string[]) {
  const run = await runCli('denoise', input, '-o', path.join(root, name), '--device', 'cpu', '--threads', '1', '--seed', '3', '--no-progress', '--json', ...args);
  expect(run.code).toBe(0);
  return JSON.parse(run.stdout).series[0] as { uncertainty: { dir: string; files: string[]; calibration?: { threshold: number } } };
}

describe('the uncertainty series has its own window', () => {
  it('CT (real Mayo slice): calibrated sigma shown from 0 to 4 x the threshold, "SIGMA 0-40 HU", its values spread over the grey scale', async () => {
    const report = await denoise(MAYO_QUARTER_SLICE, 'ct', '--uncertainty');
    expect(report.uncertainty.calibration!.threshold).toBe(10);
    const file = report.uncertainty.files[0]!;
    const w = fileWindow(file);
    // The source has two windows (soft tissue and lung); the map has one, its own.
    expect(w.centers).toHaveLength(1);
    expect(w.explanation).toBe('SIGMA 0-40 HU');
    expect(w.voiLutFunction).toBeUndefined();
    const [black, white] = linearRange(w);
    expect(black).toBeCloseTo(0, 9);
    expect(white).toBeCloseTo(40, 9);
    // What the series stores lies inside the window and uses a fair share of it.
    const sigma = (await readSliceImage((await scanPaths([file])).series[0]!, 0)).data;
    const [p5, p95] = [quantile(sigma, 0.05), quantile(sigma, 0.95)];
    expect(p5).toBeGreaterThan(black);
    expect(p95).toBeLessThan(white);
    expect((p95 - p5) / (white - black)).toBeGreaterThan(0.1);
  });

  it('CT raw spread (--samples 2, no calibration): 0 to the slice\'s own 99th percentile', async () => {
    const report = await denoise(MAYO_QUARTER_SLICE, 'ct-raw', '--samples', '2');
    const file = report.uncertainty.files[0]!;
    const w = fileWindow(file);
    const spread = (await readSliceImage((await scanPaths([file])).series[0]!, 0)).data;
    const p99 = quantile(spread, 0.99);
    expect(p99).toBeGreaterThan(0);
    expect(w.explanation).toMatch(/^SD 0-[0-9.]+ HU \(SLICE P99\)$/);
    const [black, white] = linearRange(w);
    expect(black).toBeCloseTo(0, 6);
    expect(white).toBeCloseTo(p99, 1);
  });

  it('PET (IEC fixture, Bq/ml files read in SUVbw): the window is stored in Bq/ml and spans 0 to 0.8 SUV', async () => {
    const report = await denoise(IEC_LOW, 'pet', '--uncertainty');
    expect(report.uncertainty.calibration!.threshold).toBe(0.2);
    const series = (await scanPaths([report.uncertainty.dir])).series[0]!;
    expect(series.units).toBe('SUVbw');
    for (const [index, slice] of series.slices.entries()) {
      const w = fileWindow(slice.file);
      expect(w.explanation).toBe('SIGMA 0-0.8 SUVbw');
      // The window is in the files' own units (Bq/ml): through the slice's SUV factor it is 0 to 0.8 SUV.
      expect(slice.unitsScale).toBeLessThan(0.01);
      const [black, white] = linearRange(w, slice.unitsScale);
      expect(Math.abs(black)).toBeLessThan(1e-4);
      expect(white).toBeCloseTo(0.8, 4);
      const sigma = (await readSliceImage(series, index)).data;
      expect(quantile(sigma, 0.99)).toBeLessThan(white);
      expect(quantile(sigma, 0.5)).toBeGreaterThan(0.05 * white);
    }
  });
});

describe('the sFRC hallucination map has its own window', () => {
  it('metrics --hallucination: scores 0 (black) to 1 (white), "SFRC SCORE 0-1"', async () => {
    const out = path.join(root, 'sfrc');
    const run = await runCli('metrics', '--reference', path.join(BODY, 'dose100'), '--test', path.join(BODY, 'dose25'), '--hallucination', out, '--json');
    expect(run.code).toBe(0);
    const map = JSON.parse(run.stdout).hallucination.map as { files: string[] };
    expect(map.files.length).toBeGreaterThan(0);
    for (const file of map.files) {
      const w = fileWindow(file);
      expect(w.explanation).toBe('SFRC SCORE 0-1');
      const [black, white] = linearRange(w);
      expect(black).toBeCloseTo(0, 9);
      expect(white).toBeCloseTo(1, 9);
    }
  });
});
