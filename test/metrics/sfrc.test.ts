/**
 * sFRC hallucination map (src/metrics/sfrc.ts): known answers on real quarter / full-dose CT pairs
 * (../shared/ldct-mayo) and on synthetic images.
 */
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { patientPosition } from '../../src/dicom/geometry.js';
import { readSliceImage, scanPaths, type Series } from '../../src/dicom/index.js';
import { createSampler } from '../../src/diffusion/create-sampler.js';
import { gaussianSmooth } from '../../src/filters/gaussian.js';
import { denoiseSlices } from '../../src/models/denoise-slices.js';
import type { Image2D } from '../../src/image.js';
import { frcCurve, patchSpectra, ringGeometry } from '../../src/metrics/frc.js';
import { loadModel } from '../../src/models/load.js';
import { pairSlices } from '../../src/metrics/slice-pairing.js';
import { bandRings, patchOrigins, resolveSfrcOptions, sfrcScoreMap, sfrcSlice, type SfrcSliceResult } from '../../src/metrics/sfrc.js';
import { Rng } from '../../src/util/random.js';

const MAYO = path.resolve(import.meta.dirname, '../../../shared/ldct-mayo/L192/B30f');

interface Pair {
  readonly full: Image2D;
  readonly quarter: Image2D;
}

let pairs: Pair[] = [];
let fullSeries: Series;

beforeAll(async () => {
  fullSeries = (await scanPaths([path.join(MAYO, 'full')])).series[0]!;
  const quarter = (await scanPaths([path.join(MAYO, 'quarter')])).series[0]!;
  pairs = [];
  for (const [f, q] of pairSlices(fullSeries, quarter).pairs) {
    pairs.push({ full: await readSliceImage(fullSeries, f), quarter: await readSliceImage(quarter, q) });
  }
});

/**
 * The full-dose slice plus real CT noise at the full dose's own level: the quarter-dose image is the
 * full-dose projections plus inserted noise, so (Q − F) / sqrt(3) is noise of the full dose's SD.
 */
function faithful(pair: Pair): Float32Array {
  return pair.full.data.map((v, i) => v + (pair.quarter.data[i]! - v) / Math.sqrt(3));
}

function run(test: ArrayLike<number>, reference: Image2D, options = resolveSfrcOptions()): SfrcSliceResult {
  return sfrcSlice({ rows: reference.rows, columns: reference.columns, test, reference: reference.data, pixelSpacing: reference.pixelSpacing, units: 'HU' }, options);
}

/** Adds a smooth-edged disc of `hu` and radius `radiusMm` centred at (row, column). */
function pasteDisc(image: Float32Array, ref: Image2D, row: number, column: number, radiusMm: number, hu: number): Float32Array {
  const out = image.slice();
  const r = radiusMm / ref.pixelSpacing[0];
  for (let y = 0; y < ref.rows; y++) {
    for (let x = 0; x < ref.columns; x++) {
      const d = Math.hypot(y - row, x - column);
      // A one-pixel ramp at the rim, as a real structure has.
      const weight = Math.min(1, Math.max(0, r + 0.5 - d));
      if (weight > 0) out[y * ref.columns + x] = out[y * ref.columns + x]! + hu * weight;
    }
  }
  return out;
}

/** The centre of the flattest soft-tissue patch of a slice (lowest SD, mean 0..150 HU). */
function quietSpot(ref: Image2D, size = 32): [number, number] {
  let best: [number, number] = [0, 0];
  let bestSd = Infinity;
  for (const row of patchOrigins(ref.rows, size, size / 2)) {
    for (const column of patchOrigins(ref.columns, size, size / 2)) {
      let sum = 0;
      let sum2 = 0;
      for (let y = row; y < row + size; y++) {
        for (let x = column; x < column + size; x++) {
          const v = ref.data[y * ref.columns + x]!;
          sum += v;
          sum2 += v * v;
        }
      }
      const n = size * size;
      const mean = sum / n;
      const sd = Math.sqrt(Math.max(0, sum2 / n - mean * mean));
      if (mean > 0 && mean < 150 && sd < bestSd) {
        bestSd = sd;
        best = [row + size / 2, column + size / 2];
      }
    }
  }
  return best;
}

describe('sFRC on real quarter / full-dose CT pairs (Mayo L192, B30f)', () => {
  it('flags at most 5 % of the patches of a faithful output (the reference plus noise at its own level)', () => {
    let judged = 0;
    let flagged = 0;
    for (const pair of pairs) {
      const result = run(faithful(pair), pair.full);
      judged += result.patches.length;
      flagged += result.patches.filter((p) => p.flagged).length;
    }
    expect(judged).toBeGreaterThan(3000);
    expect(flagged / judged).toBeLessThanOrEqual(0.05);
  });

  it('flags a structure pasted into an otherwise faithful output, and only near it', () => {
    const pair = pairs[3]!;
    const [row, column] = quietSpot(pair.full);
    const clean = run(faithful(pair), pair.full);
    const pasted = run(pasteDisc(faithful(pair), pair.full, row, column, 5, 100), pair.full);
    const covering = (r: SfrcSliceResult) => r.patches.filter((p) => p.row <= row && row < p.row + 32 && p.column <= column && column < p.column + 32);
    expect(covering(clean).some((p) => p.flagged)).toBe(false);
    expect(covering(pasted).some((p) => p.flagged)).toBe(true);
    // Every new flag is a patch that overlaps the disc.
    const before = new Set(clean.patches.filter((p) => p.flagged).map((p) => `${p.row},${p.column}`));
    const added = pasted.patches.filter((p) => p.flagged && !before.has(`${p.row},${p.column}`));
    const reach = 32 + 5 / pair.full.pixelSpacing[0];
    for (const p of added) expect(Math.abs(p.row + 16 - row) < reach && Math.abs(p.column + 16 - column) < reach).toBe(true);
  });

  it("flags an output that lost the reference's structure (a smoothed-away disc) too", () => {
    const pair = pairs[3]!;
    const [row, column] = quietSpot(pair.full);
    // The reference has the lesion, the test does not.
    const withLesion = { ...pair.full, data: pasteDisc(pair.full.data, pair.full, row, column, 5, 100) };
    const result = run(faithful(pair), withLesion);
    expect(result.patches.some((p) => p.flagged && p.row <= row && row < p.row + 32 && p.column <= column && column < p.column + 32)).toBe(true);
  });

  it("the paper's plain FRC flags much of the shipped model's output against the noisy full dose; noise compensation does not", async () => {
    const plain = resolveSfrcOptions({ noiseCompensation: false, patchSize: 64, stride: 64 });
    const counts = { plain: { flagged: 0, patches: 0 }, compensated: { flagged: 0, patches: 0 } };
    const model = await loadModel('lowdose-ct', { device: 'cpu' });
    try {
      for (const pair of pairs.slice(0, 2)) {
        const { rows, columns } = pair.quarter;
        const out = await denoiseSlices(model, [{ index: 0, image: pair.quarter.data }], {
          rows,
          columns,
          modality: 'CT',
          sampler: createSampler(model.card),
          steps: model.card.sampler.steps,
          seed: 0,
        });
        const a = run(out.denoised[0]!, pair.full, plain);
        const b = run(out.denoised[0]!, pair.full);
      counts.plain.flagged += a.patches.filter((p) => p.flagged).length;
      counts.plain.patches += a.patches.length;
        counts.compensated.flagged += b.patches.filter((p) => p.flagged).length;
        counts.compensated.patches += b.patches.length;
      }
    } finally {
      await model.release();
    }
    // Measured over all 7 slices: the paper's plain FRC 12 %, compensated 0.2 % (models/eval/sfrc-ct.md).
    expect(counts.plain.flagged / counts.plain.patches).toBeGreaterThan(0.05);
    expect(counts.compensated.flagged / counts.compensated.patches).toBeLessThan(0.02);
  });

  it('without a reference: ensemble halves that differ by independent noise are not flagged, a structure only one half invented is', () => {
    const pair = pairs[3]!;
    const { rows, columns } = pair.full;
    const rng = new Rng(11);
    // Posterior samples: the anatomy plus independent, CT-like (correlated) noise of 8 HU.
    const sample = () => {
      const white = Float32Array.from({ length: rows * columns }, () => rng.normal());
      const smooth = gaussianSmooth(white, rows, columns, 1, 1);
      return pair.full.data.map((v, i) => v + 8 * 2 * Math.sqrt(Math.PI) * smooth[i]!);
    };
    const mean = (list: Float32Array[]) => list[0]!.map((_, i) => list.reduce((s, m) => s + m[i]!, 0) / list.length);
    const a = mean([sample(), sample()]);
    const b = mean([sample(), sample()]);
    const options = resolveSfrcOptions();
    const reference = { ...pair.full, data: b };
    const agree = run(a, reference, options);
    expect(agree.patches.filter((p) => p.flagged).length / agree.patches.length).toBeLessThanOrEqual(0.05);
    const [row, column] = quietSpot(pair.full);
    const invented = run(pasteDisc(a, pair.full, row, column, 4, 60), reference, options);
    expect(invented.patches.some((p) => p.flagged && p.row <= row && row < p.row + 32 && p.column <= column && column < p.column + 32)).toBe(true);
  });

  it('skips patches that are mostly air', () => {
    const pair = pairs[0]!;
    const result = run(pair.full.data, pair.full);
    const all = patchOrigins(pair.full.rows, 32, 16).length * patchOrigins(pair.full.columns, 32, 16).length;
    expect(result.skipped).toBeGreaterThan(0.2 * all);
    expect(result.patches.length + result.skipped).toBe(all);
    // The image corners are air (outside the patient).
    expect(result.patches.some((p) => p.row === 0 && p.column === 0)).toBe(false);
  });
});

describe('sFRC building blocks', () => {
  it('an image compared with itself has FRC 1 in every ring and no flagged patch', () => {
    const rng = new Rng(3);
    const rows = 96;
    const columns = 96;
    const data = Float32Array.from({ length: rows * columns }, (_, i) => 40 + 30 * Math.sin(i / 7) + 10 * rng.normal());
    const spectra = patchSpectra(data, data, columns, 16, 16, ringGeometry(32));
    const frc = frcCurve(spectra);
    for (let r = 1; r < frc.length; r++) expect(frc[r]).toBeCloseTo(1, 10);
    const result = sfrcSlice({ rows, columns, test: data, reference: data, pixelSpacing: [0.7, 0.7], units: 'HU' }, resolveSfrcOptions());
    expect(result.patches.every((p) => p.score === 1 && !p.flagged)).toBe(true);
  });

  it('reads 1/2 in every ring for two images that share a white signal, each with independent noise of its power (FRC = S / (S + N))', () => {
    const rng = new Rng(11);
    const rows = 256;
    const columns = 256;
    const signal = Float64Array.from({ length: rows * columns }, () => rng.normal());
    const test = signal.map((v) => v + rng.normal());
    const reference = signal.map((v) => v + rng.normal());
    const geometry = ringGeometry(32);
    // Ring sums pooled over the slice's 64 non-overlapping patches, then one FRC curve.
    const pooled = { cross: new Float64Array(16), testPower: new Float64Array(16), referencePower: new Float64Array(16), differencePower: new Float64Array(16) };
    for (const row of patchOrigins(rows, 32, 32)) {
      for (const column of patchOrigins(columns, 32, 32)) {
        const s = patchSpectra(test, reference, columns, row, column, geometry);
        for (let r = 0; r < 16; r++) {
          pooled.cross[r]! += s.cross[r]!;
          pooled.testPower[r]! += s.testPower[r]!;
          pooled.referencePower[r]! += s.referencePower[r]!;
          pooled.differencePower[r]! += s.differencePower[r]!;
        }
      }
    }
    const frc = frcCurve(pooled);
    const judged = [...frc.slice(2, 15)];
    for (const value of judged) expect(Math.abs(value - 0.5)).toBeLessThan(0.06);
    expect(Math.abs(judged.reduce((a, v) => a + v, 0) / judged.length - 0.5)).toBeLessThan(0.015);
  });

  it('scores a noise-free patch whose structure the test holds (1 + c) times as sqrt((1 + c) / (1 + c + c^2)) in every ring, flagged below the threshold', () => {
    const rng = new Rng(5);
    const rows = 128;
    const columns = 128;
    const reference = Float32Array.from({ length: rows * columns }, () => 40 + 20 * rng.normal());
    const c = 4;
    // The patch at (32, 48) holds the reference's structure 5 times (its mean too, which the patch's mean removal takes).
    const test = reference.map((v, k) => {
      const [y, x] = [Math.floor(k / columns), k % columns];
      return y >= 32 && y < 64 && x >= 48 && x < 80 ? (1 + c) * v : v;
    });
    const result = run(test, { rows, columns, data: reference, pixelSpacing: [0.7, 0.7] });
    const patch = result.patches.find((p) => p.row === 32 && p.column === 48)!;
    // The other patches that miss the block agree exactly: the typical difference power N is 0.
    const expected = Math.sqrt((1 + c) / (1 + c + c * c));
    expect(patch.score).toBeCloseTo(expected, 6);
    expect(patch.flagged).toBe(expected < 0.5);
    expect(patch.flagged).toBe(true);
    // The paper's plain FRC sees two perfectly correlated patches (float32 pixels: 1e-6).
    const plain = run(test, { rows, columns, data: reference, pixelSpacing: [0.7, 0.7] }, resolveSfrcOptions({ noiseCompensation: false }));
    expect(plain.patches.find((p) => p.row === 32 && p.column === 48)!.score).toBeCloseTo(1, 6);
  });

  it('rings partition the spectrum as sFRC does (each bin half to its floor ring, half to its ceil ring)', () => {
    const g = ringGeometry(32);
    expect(g.rings).toBe(16);
    // Bins on the axes have integer radius: floor = ceil.
    expect(g.floor[3]).toBe(3);
    expect(g.ceil[3]).toBe(3);
    // (1, 1) has radius sqrt 2: rings 1 and 2.
    expect(g.floor[32 + 1]).toBe(1);
    expect(g.ceil[32 + 1]).toBe(2);
    // numpy.hanning: zero at both ends, 1 in the middle only for odd sizes.
    expect(g.window[0]).toBe(0);
  });

  it('turns the band in cycles/mm into rings, never judging rings 0 and 1, and refuses a band with no ring', () => {
    const o = resolveSfrcOptions();
    // 32 px at 0.7 mm: rings are 1 / 22.4 = 0.0446 cycles/mm apart; 0.33 cycles/mm is ring 7.39.
    expect(bandRings(o, 0.7)).toEqual([2, 7]);
    // Coarse pixels: the band reaches past Nyquist and stops at the last judged ring.
    expect(bandRings(o, 1.4453125)).toEqual([2, 14]);
    expect(() => bandRings(resolveSfrcOptions({ band: [0, 0.05] }), 0.7)).toThrow(/no judged ring/);
    expect(() => resolveSfrcOptions({ patchSize: 31 })).toThrow(/even/);
  });

  it('covers the image to its far edge and paints each pixel with its worst covering patch', () => {
    expect(patchOrigins(100, 32, 16)).toEqual([0, 16, 32, 48, 64, 68]);
    const result: SfrcSliceResult = {
      patches: [
        { row: 0, column: 0, score: 0.8, frequency: 0.1, flagged: false },
        { row: 16, column: 16, score: 0.2, frequency: 0.1, flagged: true },
      ],
      skipped: 0,
      bandRings: [2, 7],
    };
    const map = sfrcScoreMap(result, 64, 64, 32);
    expect(map[0]).toBeCloseTo(0.8);
    expect(map[20 * 64 + 20]).toBeCloseTo(0.2);
    expect(map[63 * 64 + 63]).toBe(1);
  });

  it('places a patch centre in patient coordinates from position, orientation and spacing', () => {
    const series = {
      slices: [{ position: [-100, 50, 20] }],
      orientation: [0, 1, 0, 0, 0, -1],
      spacing: [0.5, 0.8, 3],
    } as unknown as Series;
    // Column index runs along +y (0.8 mm), row index along -z (0.5 mm).
    expect(patientPosition(series, 0, 10, 20)).toEqual([-100, 50 + 16, 20 - 5]);
    expect(patientPosition(fullSeries, 0, 0, 0)).toEqual(fullSeries.slices[0]!.position);
  });
});
