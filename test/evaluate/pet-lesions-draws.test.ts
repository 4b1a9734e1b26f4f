import { describe, expect, it } from 'vitest';
import { noiseSeed, simulateDraw, DRAWS_PER_SEED } from '../../scripts/evaluate/pet-lesions/draws.js';
import { expectation, expectedBackgroundSd, expectedBySize, expectedVerdict, type DrawScores, type ExpectedSize } from '../../scripts/evaluate/pet-lesions/expected.js';
import { insertLesions, slicesNeeded, type PlacedLesion, type VolumeGrid } from '../../scripts/evaluate/pet-lesions/lesions.js';
import { backgroundSds, placeStack, scoreLesions, volumeEdges } from '../../scripts/evaluate/pet-lesions/score.js';

/** sts-001's voxel size on a small grid: a body cylinder of 1 SUV (5 kBq/ml). */
const grid: VolumeGrid = { rows: 40, columns: 40, slices: 12, dy: 4.6875, dx: 4.6875, dz: 3.27 };
const BQML_PER_SUV = 5000;
const n = grid.rows * grid.columns;

function body(): Float32Array[] {
  return Array.from({ length: grid.slices }, () => {
    const s = new Float32Array(n);
    for (let r = 0; r < grid.rows; r++) for (let c = 0; c < grid.columns; c++) s[r * grid.columns + c] = (r - 19.5) ** 2 + (c - 19.5) ** 2 <= 17 ** 2 ? BQML_PER_SUV : 0;
    return s;
  });
}

function lesion(name: string, d: number, centre: [number, number, number], contrast: number): PlacedLesion {
  const voxel: [number, number, number] = [Math.round(centre[2] / grid.dz), Math.round(centre[1] / grid.dy), Math.round(centre[0] / grid.dx)];
  return { name, diameterMm: d, centre, voxel, background: 1, contrast, activity: contrast };
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: readonly number[]) => Math.sqrt(xs.reduce((a, b) => a + (b - mean(xs)) ** 2, 0) / (xs.length - 1));
function correlation(a: Float32Array, b: Float32Array): number {
  const ma = mean([...a]);
  const mb = mean([...b]);
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += (a[i]! - ma) * (b[i]! - mb);
    aa += (a[i]! - ma) ** 2;
    bb += (b[i]! - mb) ** 2;
  }
  return ab / Math.sqrt(aa * bb);
}

describe('noise draws of a lesion placement', () => {
  it('seeds draw 0 with the placement seed and every other draw distinctly across placements', () => {
    expect(noiseSeed(3, 0)).toBe(3);
    expect(noiseSeed(3, 1)).toBe(3001);
    const seeds = new Set<number>();
    for (let p = 1; p <= 40; p++) for (let d = 0; d < 30; d++) seeds.add(noiseSeed(p, d));
    expect(seeds.size).toBe(40 * 30);
    expect(() => noiseSeed(3, DRAWS_PER_SEED)).toThrow(RangeError);
    expect(() => noiseSeed(3, -1)).toThrow(RangeError);
  });

  // Two placements of a 17 mm and a 28 mm lesion in the cylinder, three noise draws each at 25 % counts.
  const placements = [
    [lesion('d17-1', 17, [60.1, 93.4, 19.2], 4), lesion('d28-1', 28, [125.3, 90.2, 18.1], 3)],
    [lesion('d17-1', 17, [120.7, 70.3, 17.5], 6), lesion('d28-1', 28, [70.2, 120.9, 19.9], 2.5)],
  ];
  const DRAWS = 3;
  const simulated = placements.map((lesions, p) => {
    const bq = lesions.map((l) => ({ ...l, activity: l.activity * BQML_PER_SUV, background: BQML_PER_SUV }));
    const activity = insertLesions(body(), grid, bq);
    const indices = slicesNeeded(grid, lesions, 6 + grid.dz);
    const draws = Array.from({ length: DRAWS }, (_, d) => simulateDraw(activity, grid, indices, 0.25, noiseSeed(7 + p, d), 1 / BQML_PER_SUV));
    return { lesions, activity, indices, draws };
  });

  it('gives each draw its own Poisson noise and its own full-count reference, reproducibly', () => {
    const { activity, indices, draws } = simulated[0]!;
    const j = Math.floor(indices.length / 2);
    const residual = (d: number) => draws[d]!.low[j]!.map((v, i) => v - draws[d]!.ref[j]![i]!);
    for (let a = 0; a < DRAWS; a++) {
      for (let b = a + 1; b < DRAWS; b++) {
        expect(draws[a]!.low[j]).not.toEqual(draws[b]!.low[j]);
        expect(draws[a]!.ref[j]).not.toEqual(draws[b]!.ref[j]);
        // Independent draws: the low-count images' departures from their references are uncorrelated.
        expect(Math.abs(correlation(residual(a), residual(b)))).toBeLessThan(0.15);
      }
    }
    // Each reference is the full-count image of the same events: the draw's low-count image agrees
    // with it far better than with another draw's reference.
    const rms = (x: Float32Array, y: Float32Array) => Math.sqrt(mean([...x].map((v, i) => (v - y[i]!) ** 2)));
    expect(rms(draws[1]!.low[j]!, draws[1]!.ref[j]!)).toBeLessThan(rms(draws[1]!.low[j]!, draws[2]!.ref[j]!));
    const again = simulateDraw(activity, grid, indices, 0.25, noiseSeed(7, 1), 1 / BQML_PER_SUV);
    expect(again.low).toEqual(draws[1]!.low);
    expect(again.ref).toEqual(draws[1]!.ref);
  });

  it('aggregates per size to the mean of the per-draw scores, with the standard error over lesions', () => {
    const drawScores: DrawScores[] = simulated.flatMap(({ lesions, indices, draws }, p) =>
      draws.map((sim, d) => {
        const test = placeStack(grid, indices, sim.low);
        return { placement: p, draw: d, scores: scoreLesions(placeStack(grid, indices, sim.ref), test, lesions, volumeEdges(grid)), backgroundSds: backgroundSds(test, lesions) };
      }),
    );
    const bySize = expectedBySize(drawScores);
    expect(bySize.map((s) => s.diameterMm)).toEqual([17, 28]);
    for (const size of bySize) {
      const of = drawScores.flatMap((d) => d.scores.filter((s) => s.diameterMm === size.diameterMm).map((s) => ({ p: d.placement, s })));
      expect(of).toHaveLength(placements.length * DRAWS);
      expect(size.mean.mean).toBeCloseTo(mean(of.map((x) => x.s.meanBias)), 12);
      expect(size.max.mean).toBeCloseTo(mean(of.map((x) => x.s.maxBias)), 12);
      expect(size.peak.mean).toBeCloseTo(mean(of.map((x) => x.s.peakBias)), 12);
      // Standard error: the SD of each lesion's mean over its draws, over the lesions.
      const lesionMeans = placements.map((_, p) => mean(of.filter((x) => x.p === p).map((x) => x.s.meanBias)));
      expect(size.mean.se).toBeCloseTo(sd(lesionMeans) / Math.sqrt(lesionMeans.length), 12);
      expect(size.mean.lesions).toBe(2);
      expect(size.mean.samples).toBe(6);
      expect(size.mean.noiseSd).toBeGreaterThan(0);
      expect(size.backgroundSd.mean).toBeGreaterThan(0.05); // the 25 % scan's noise around the lesion, SUV
    }
    expect(expectedBackgroundSd(drawScores).mean).toBeCloseTo(mean(drawScores.flatMap((d) => d.backgroundSds)), 12);
  });
});

describe('expected lesion bias over placements and noise draws', () => {
  // Two lesions whose expected biases are -0.02 and -0.06, each drawn three times with noise -0.01, 0, +0.01.
  const samples = [-0.02, -0.06].flatMap((m, i) => [-0.01, 0, 0.01].map((e) => ({ unit: `lesion ${i}`, value: m + e })));

  it('splits the variance into noise between draws and lesion-to-lesion spread', () => {
    const e = expectation(samples);
    expect(e.mean).toBeCloseTo(-0.04, 12);
    expect(e.lesions).toBe(2);
    expect(e.samples).toBe(6);
    expect(e.se).toBeCloseTo(0.02, 12); // SD of (-0.02, -0.06) / sqrt(2)
    expect(e.noiseSd).toBeCloseTo(0.01, 12);
    expect(e.noiseSe).toBeCloseTo(0.01 / Math.sqrt(6), 12);
    expect(e.betweenSd).toBeCloseTo(Math.sqrt(0.04 ** 2 / 2 - 0.01 ** 2 / 3), 12);
    expect(e.worst).toBeCloseTo(-0.06, 12);
  });

  it('has no noise split from one draw per lesion, and no standard error from one lesion', () => {
    const one = expectation([{ unit: 'a', value: 0.1 }, { unit: 'b', value: 0.3 }]);
    expect(one.noiseSd).toBeNull();
    expect(one.betweenSd).toBeNull();
    expect(one.se).toBeCloseTo(0.1, 12);
    const single = expectation([{ unit: 'a', value: 0.1 }, { unit: 'a', value: 0.3 }]);
    expect(single.se).toBeNull();
    expect(single.noiseSd).toBeCloseTo(Math.sqrt(0.02), 12);
  });

  it('judges the limits on the expected biases and says when twice the standard error could change the answer', () => {
    const size = (diameterMm: number, mean: number, se: number, max = 0.02): ExpectedSize => {
      const e = (m: number) => ({ mean: m, se, lesions: 6, samples: 48, noiseSd: null, noiseSe: null, betweenSd: null, worst: m });
      return { diameterMm, mean: e(mean), max: e(max), peak: e(0), backgroundSd: e(0.3) };
    };
    const clear = expectedVerdict([size(13, -0.2, 0.01), size(17, -0.03, 0.005), size(28, -0.01, 0.005)], 0.05, 0.1);
    expect(clear.mean).toMatchObject({ worstDiameterMm: 17, met: true, decided: true, closeCalls: [] });
    expect(clear.mean.worst).toBeCloseTo(-0.03, 12);
    const edge = expectedVerdict([size(17, -0.045, 0.01), size(28, -0.01, 0.005)], 0.05, 0.1);
    expect(edge.mean).toMatchObject({ met: true, decided: false, closeCalls: [17] });
    const missed = expectedVerdict([size(17, -0.08, 0.01), size(28, -0.01, 0.005, 0.105)], 0.05, 0.1);
    expect(missed.mean).toMatchObject({ met: false, decided: true });
    expect(missed.max).toMatchObject({ worstDiameterMm: 28, met: false, decided: false, closeCalls: [28] });
  });
});
