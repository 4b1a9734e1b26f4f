import { describe, expect, it } from 'vitest';
import { insertLesions, placeLesions, sphereCoverage, slicesNeeded, type PlacedLesion, type VolumeGrid } from '../../scripts/evaluate/pet-lesions/lesions.js';
import { backgroundSd, placeStack, scoreLesions, summarizeBySize, targetVerdict, volumeEdges } from '../../scripts/evaluate/pet-lesions/score.js';
import { lesionStats } from '../../src/metrics/lesions.js';
import { Rng } from '../../src/util/random.js';

/** sts-001's voxel size (4.69 x 4.69 x 3.27 mm) on a smaller grid. */
const grid: VolumeGrid = { rows: 48, columns: 48, slices: 40, dy: 4.6875, dx: 4.6875, dz: 3.27 };
const n = grid.rows * grid.columns;
const voxelMl = grid.dx * grid.dy * grid.dz;
const sphereMl = (d: number) => (4 / 3) * Math.PI * (d / 2) ** 3;

/** A body cylinder (radius 20 voxels) of 1 SUV with a 'bladder' of 20 SUV (radius 4 voxels) at one side. */
function phantom(): Float32Array[] {
  return Array.from({ length: grid.slices }, (_, k) => {
    const s = new Float32Array(n);
    for (let r = 0; r < grid.rows; r++) {
      for (let c = 0; c < grid.columns; c++) {
        const inBody = (r - 23.5) ** 2 + (c - 23.5) ** 2 <= 20 ** 2;
        const hot = (r - 23.5) ** 2 + (c - 12) ** 2 + ((k - 20) * (grid.dz / grid.dx)) ** 2 <= 4 ** 2;
        s[r * grid.columns + c] = hot ? 20 : inBody ? 1 : 0;
      }
    }
    return s;
  });
}

function lesion(d: number, centre: [number, number, number], background: number, contrast: number): PlacedLesion {
  const voxel: [number, number, number] = [Math.round(centre[2] / grid.dz), Math.round(centre[1] / grid.dy), Math.round(centre[0] / grid.dx)];
  return { name: `d${d}`, diameterMm: d, centre, voxel, background, contrast, activity: background * contrast };
}

describe('lesion insertion into a PET volume', () => {
  it('covers exactly the sphere volume (within 0.2 %) at any sub-voxel position, 10 to 37 mm', () => {
    const rng = new Rng(5);
    for (const d of [10, 13, 17, 22, 28, 37]) {
      const centre: [number, number, number] = [100 + rng.uniform() * grid.dx, 110 + rng.uniform() * grid.dy, 60 + rng.uniform() * grid.dz];
      let covered = 0;
      for (let k = 0; k < grid.slices; k++) {
        const c = sphereCoverage(grid, centre, d / 2, k);
        if (c) for (const f of c) covered += f;
      }
      expect(Math.abs((covered * voxelMl) / sphereMl(d) - 1)).toBeLessThan(0.002);
    }
  });

  it('sets wholly covered voxels to the lesion activity exactly and adds (A - background) x sphere volume of activity', () => {
    const background = 0.8;
    const volume = Array.from({ length: grid.slices }, () => new Float32Array(n).fill(background));
    const l = lesion(22, [111.3, 107.9, 63.2], background, 4.5);
    const out = insertLesions(volume, grid, [l]);
    let excess = 0;
    let wholly = 0;
    for (let k = 0; k < grid.slices; k++) {
      const cover = sphereCoverage(grid, l.centre, l.diameterMm / 2, k);
      if (!cover) {
        expect(out[k]).toBe(volume[k]); // untouched slices are not copied
        continue;
      }
      for (let i = 0; i < n; i++) {
        excess += out[k]![i]! - background;
        if (cover[i] === 1) {
          expect(out[k]![i]).toBe(Math.fround(l.activity));
          wholly++;
        }
        if (cover[i] === 0) expect(out[k]![i]).toBe(Math.fround(background));
      }
    }
    expect(wholly).toBeGreaterThan(10);
    expect(Math.abs((excess * voxelMl) / ((l.activity - background) * sphereMl(22)) - 1)).toBeLessThan(0.002);
    expect(volume[30]!.every((v) => v === Math.fround(background))).toBe(true); // the input is not modified
  });

  it('places seeded lesions in uniform tissue: inside the body, clear of the hot spot and of each other, 2 to 10 x background', () => {
    const volume = phantom();
    const options = { diametersMm: [10, 17, 28], perSize: 2, marginMm: 8 };
    const lesions = placeLesions(volume, grid, new Rng(7, 1), options);
    expect(lesions.map((l) => l.name).sort()).toEqual(['d10-1', 'd10-2', 'd17-1', 'd17-2', 'd28-1', 'd28-2']);
    for (const l of lesions) {
      const [x, y, z] = l.centre;
      // Inside the body by its radius plus the margin, and the margin clear of the 20 SUV spot.
      expect(Math.hypot(x / grid.dx - 23.5, y / grid.dy - 23.5) * grid.dx + l.diameterMm / 2 + 8).toBeLessThanOrEqual(20.5 * grid.dx);
      expect(Math.hypot(x - 12 * grid.dx, y - 23.5 * grid.dy, z - 20 * grid.dz)).toBeGreaterThan(4 * grid.dx + l.diameterMm / 2 + 8);
      expect(l.background).toBeCloseTo(1, 6);
      expect(l.contrast).toBeGreaterThanOrEqual(2);
      expect(l.contrast).toBeLessThanOrEqual(10);
      expect(l.activity).toBeCloseTo(l.contrast * l.background, 9);
      for (const o of lesions) {
        if (o === l) continue;
        expect(Math.hypot(o.centre[0] - x, o.centre[1] - y, o.centre[2] - z)).toBeGreaterThanOrEqual((o.diameterMm + l.diameterMm) / 2 + 16);
      }
    }
    expect(placeLesions(volume, grid, new Rng(7, 1), options)).toEqual(lesions);
    expect(placeLesions(volume, grid, new Rng(8, 1), options)).not.toEqual(lesions);
  });

  it('lists every slice a lesion and its SUVpeak sphere reach', () => {
    const l = lesion(10, [100, 100, 50 * 3.27 / 2], 1, 3);
    const needed = slicesNeeded({ ...grid, slices: 60 }, [l], 6);
    const z = l.centre[2];
    expect(needed).toEqual(Array.from({ length: 60 }, (_, k) => k).filter((k) => Math.abs(k * grid.dz - z) <= 11));
  });
});

describe('lesion evaluation plumbing', () => {
  const background = 0.8;
  const volume = Array.from({ length: grid.slices }, () => new Float32Array(n).fill(background));
  const lesions = [lesion(37, [110.2, 112.4, 64.1], background, 5), lesion(13, [60.1, 62.3, 40.3], background, 3)];
  const inserted = insertLesions(volume, grid, lesions);
  const indices = slicesNeeded(grid, lesions, 6 + grid.dz);
  const stack = placeStack(grid, indices, indices.map((k) => inserted[k]!));

  it('measures an inserted lesion where it was put: SUVmax = the activity, SUVmean between background and activity', () => {
    const big = lesionStats(stack, { centre: lesions[0]!.centre, radius: 37 / 2 });
    expect(big.max).toBeCloseTo(4, 5);
    expect(big.peak).toBeCloseTo(4, 5); // a 37 mm sphere holds the 1.2 cm peak sphere wholly
    expect(big.mean).toBeGreaterThan(0.9 * 4);
    expect(big.mean).toBeLessThanOrEqual(4 + 1e-6);
    expect(big.voxels).toBeGreaterThan(0.9 * (sphereMl(37) / voxelMl));
  });

  it('scores zero bias against itself and +10 % for every statistic of an image scaled by 1.1', () => {
    for (const s of scoreLesions(stack, stack, lesions, volumeEdges(grid))) {
      expect([s.meanBias, s.maxBias, s.peakBias]).toEqual([0, 0, 0]);
    }
    const scaled = placeStack(grid, indices, indices.map((k) => inserted[k]!.map((v) => 1.1 * v)));
    for (const s of scoreLesions(stack, scaled, lesions, volumeEdges(grid))) {
      expect(s.meanBias).toBeCloseTo(0.1, 5);
      expect(s.maxBias).toBeCloseTo(0.1, 5);
      expect(s.peakBias).toBeCloseTo(0.1, 5);
    }
  });

  it("flags a SUVpeak sphere cut by the volume's first or last slice, though the stack scored holds only the slices near the lesions", () => {
    const atEnds = [lesion(13, [110.2, 112.4, 0], background, 3), lesion(13, [60.1, 62.3, (grid.slices - 1) * grid.dz], background, 3)];
    const all = [...lesions, ...atEnds];
    const withEnds = insertLesions(volume, grid, all);
    const near = slicesNeeded(grid, all, 6 + grid.dz);
    const placed = placeStack(grid, near, near.map((k) => withEnds[k]!));
    expect(near.length).toBeLessThan(grid.slices);
    const scores = scoreLesions(placed, placed, all, volumeEdges(grid));
    expect(scores.map((s) => s.peakSphereCut ?? false)).toEqual([false, false, true, true]);
    // The lesions clear of the ends score as before: the flag is absent, not false.
    expect(scores.slice(0, 2).every((s) => !('peakSphereCut' in s))).toBe(true);
    expect(volumeEdges(grid)).toMatchObject({ first: 0, last: (grid.slices - 1) * grid.dz });
  });

  it('reads the background SD of uniform tissue as 0 and of alternating +-0.1 SUV as 0.1', () => {
    expect(backgroundSd(stack, lesions)).toBeCloseTo(0, 6);
    const checker = placeStack(grid, indices, indices.map((k) => {
      const s = Float32Array.from(inserted[k]!);
      for (let i = 0; i < n; i++) s[i]! += (i + Math.floor(i / grid.columns) + k) % 2 === 0 ? 0.1 : -0.1;
      return s;
    }));
    expect(backgroundSd(checker, lesions)).toBeCloseTo(0.1, 2);
  });

  it('summarises per size and judges the limits on lesions of 17 mm and up only', () => {
    const row = (d: number, mean: number, max: number) => ({ lesion: `d${d}`, diameterMm: d, contrast: 4, meanBias: mean, maxBias: max, peakBias: 0, reference: { mean: 1, max: 1, peak: 1 } });
    const summary = summarizeBySize([row(10, -0.3, -0.4), row(17, -0.04, 0.02), row(17, -0.08, 0.12), row(37, 0.01, 0.05)]);
    expect(summary.map((s) => s.diameterMm)).toEqual([10, 17, 37]);
    const s17 = summary[1]!;
    expect(s17.meanBias).toBeCloseTo(-0.06, 12);
    expect(s17.maxBias).toBeCloseTo(0.07, 12);
    expect(s17.worstMeanBias).toBe(-0.08);
    const v = targetVerdict(summary, 0.05, 0.1);
    expect(v.worstMeanBias).toBeCloseTo(-0.06, 12);
    expect(v.meanMet).toBe(false);
    expect(v.maxMet).toBe(true);
    expect(targetVerdict(summary, 0.1, 0.1).meanMet).toBe(true);
  });
});
