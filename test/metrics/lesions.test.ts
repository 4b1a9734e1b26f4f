/**
 * Lesion uptake (src/metrics/lesions.ts): SUVmean / SUVmax / SUVpeak in spheres given in patient
 * mm, on synthetic volumes where the answer is known, in any slice orientation; and the
 * `--lesions` file format.
 */
import { describe, expect, it } from 'vitest';
import { alongNormal, distanceFromSlice, lesionStats, PEAK_RADIUS_MM, placedStackEdges, stackEdges, type PlacedImage, type Vec3 } from '../../src/metrics/lesions.js';
import { parseLesions } from '../../src/pipeline/lesions-file.js';
import { Rng } from '../../src/util/random.js';

const SIZE = 40;
const SPACING = 2;

type Orientation = readonly [number, number, number, number, number, number];

/**
 * A stack of SIZE slices of SIZE x SIZE voxels of 2 mm, filled by `value(x, y, z)` at each voxel
 * centre, with rows and columns along the given orientation and slices along its normal.
 */
function stack(value: (p: Vec3) => number, orientation: Orientation = [1, 0, 0, 0, 1, 0], origin: Vec3 = [-39, -39, -39]): PlacedImage[] {
  const [rx, ry, rz, cx, cy, cz] = orientation;
  const n: Vec3 = [ry * cz - rz * cy, rz * cx - rx * cz, rx * cy - ry * cx];
  return Array.from({ length: SIZE }, (_, k) => {
    const position: Vec3 = [origin[0] + k * SPACING * n[0], origin[1] + k * SPACING * n[1], origin[2] + k * SPACING * n[2]];
    const data = new Float32Array(SIZE * SIZE);
    for (let r = 0; r < SIZE; r++) {
      for (let c = 0; c < SIZE; c++) {
        data[r * SIZE + c] = value([
          position[0] + c * SPACING * rx + r * SPACING * cx,
          position[1] + c * SPACING * ry + r * SPACING * cy,
          position[2] + c * SPACING * rz + r * SPACING * cz,
        ]);
      }
    }
    return { rows: SIZE, columns: SIZE, data, pixelSpacing: [SPACING, SPACING], position, orientation };
  });
}

const centre: Vec3 = [5, -7, 3];
const dist = (p: Vec3, q: Vec3) => Math.hypot(p[0] - q[0], p[1] - q[1], p[2] - q[2]);
/** Background 1, a sphere of radius 14 mm at 4. */
const hotSphere = (p: Vec3) => (dist(p, centre) <= 14 ? 4 : 1);

describe('lesionStats', () => {
  it('reads a uniform hot sphere: mean = max = peak = its value, the peak sphere inside it', () => {
    const s = lesionStats(stack(hotSphere), { centre, radius: 14 });
    expect(s.mean).toBe(4);
    expect(s.max).toBe(4);
    expect(s.peak).toBe(4);
    expect(dist(s.peakCentre, centre)).toBeLessThanOrEqual(14 - PEAK_RADIUS_MM + 1e-9);
    // Voxel centres inside a 14 mm sphere on a 2 mm grid: about its volume over 8 mm³.
    expect(s.voxels).toBeGreaterThan(0.9 * ((4 / 3) * Math.PI * 14 ** 3) / 8);
    expect(s.voxels).toBeLessThan(1.1 * ((4 / 3) * Math.PI * 14 ** 3) / 8);
    // A 12 mm sphere of 2 mm voxels holds about 113 voxel centres.
    expect(s.peakVoxels).toBeGreaterThan(100);
    expect(s.peakVoxels).toBeLessThan(130);
  });

  it('SUVpeak is the best 1.2 cm sphere, not the hottest voxel: one hot voxel lifts SUVmax, barely SUVpeak', () => {
    const hot: Vec3 = [9, -7, 3];
    const s = lesionStats(
      stack((p) => (dist(p, hot) < 0.5 ? 40 : hotSphere(p))),
      { centre, radius: 14 },
    );
    expect(s.max).toBe(40);
    // The peak sphere that holds the hot voxel: (36 extra) / ~113 voxels above 4.
    expect(s.peak).toBeGreaterThan(4.2);
    expect(s.peak).toBeLessThan(4.5);
    expect(dist(s.peakCentre, hot)).toBeLessThanOrEqual(PEAK_RADIUS_MM);
  });

  it('matches a brute-force search of every candidate centre on noisy data', () => {
    const rng = new Rng(3);
    const slices = stack((p) => hotSphere(p) + rng.normal());
    const lesion = { centre, radius: 10 };
    const s = lesionStats(slices, lesion);
    // Brute force over all voxels.
    const voxels: { p: Vec3; v: number }[] = [];
    for (const sl of slices) {
      for (let r = 0; r < SIZE; r++) for (let c = 0; c < SIZE; c++) voxels.push({ p: [sl.position[0] + c * SPACING, sl.position[1] + r * SPACING, sl.position[2]], v: sl.data[r * SIZE + c]! });
    }
    const inside = voxels.filter((x) => dist(x.p, centre) <= 10);
    const reach = voxels.filter((x) => dist(x.p, centre) <= 10 + PEAK_RADIUS_MM);
    let best = -Infinity;
    for (const c of inside) {
      const near = reach.filter((x) => dist(x.p, c.p) <= PEAK_RADIUS_MM);
      best = Math.max(best, near.reduce((a, x) => a + x.v, 0) / near.length);
    }
    expect(s.voxels).toBe(inside.length);
    expect(s.mean).toBeCloseTo(inside.reduce((a, x) => a + x.v, 0) / inside.length, 10);
    expect(s.max).toBe(Math.max(...inside.map((x) => x.v)));
    expect(s.peak).toBeCloseTo(best, 10);
  });

  it('gives the same answer for the same physical sphere in a coronal and an oblique series', () => {
    const axial = lesionStats(stack(hotSphere), { centre, radius: 12 });
    const coronal = lesionStats(stack(hotSphere, [1, 0, 0, 0, 0, -1], [-39, -39, 39]), { centre, radius: 12 });
    const c = Math.SQRT1_2;
    const oblique = lesionStats(stack(hotSphere, [c, c, 0, -c, c, 0], [0, -56, -39]), { centre, radius: 12 });
    for (const s of [coronal, oblique]) {
      expect(s.mean).toBe(4);
      expect(s.peak).toBe(4);
      expect(s.voxels / axial.voxels).toBeGreaterThan(0.9);
      expect(s.voxels / axial.voxels).toBeLessThan(1.1);
    }
    expect(distanceFromSlice(stack(hotSphere, [1, 0, 0, 0, 0, -1], [-39, -39, 39])[0]!, centre)).toBeCloseTo(-7 - -39, 10);
  });

  it('flags a peak sphere that the first or last slice cuts, keeping the mean over the voxels that exist', () => {
    // Slices 2 mm apart; one voxel 123 above a background of 1 and a 1 mm lesion round it. On the
    // first slice the sphere holds the 2 mm lattice points with k ≥ 0 only: 29 + 25 + 21 + 1 = 76 of
    // PERCIST's 123, reading 1 + 123/76. On a middle slice: all 123, 1 + 123/123 = 2, not flagged.
    // Axial and coronal (the stack along y): the edges are along each series' own normal.
    for (const orientation of [
      [1, 0, 0, 0, 1, 0],
      [1, 0, 0, 0, 0, -1],
    ] as const) {
      const read = (k: number) => {
        // The centre of row 20, column 20 of slice k (well inside the slice in-plane).
        const [px, py, pz] = stack(() => 0, orientation)[k]!.position;
        const [rx, ry, rz, cx, cy, cz] = orientation;
        const at: Vec3 = [px + 20 * SPACING * (rx + cx), py + 20 * SPACING * (ry + cy), pz + 20 * SPACING * (rz + cz)];
        const slices = stack((p) => (dist(p, at) < 1e-6 ? 124 : 1), orientation);
        const edges = stackEdges(slices.map((s) => alongNormal(s.orientation, s.position)));
        return lesionStats(slices, { centre: at, radius: 1 }, edges);
      };
      const first = read(0);
      expect([first.voxels, first.max, first.peakVoxels, first.peakSphereCut, first.peakSphereOutside]).toEqual([1, 124, 76, true, 47]);
      expect(first.peak).toBeCloseTo(1 + 123 / 76, 12);
      const last = read(SIZE - 1);
      expect([last.peakVoxels, last.peakSphereCut]).toEqual([76, true]);
      const middle = read(SIZE / 2);
      expect([middle.peakVoxels, middle.peakSphereCut]).toEqual([123, false]);
      expect(middle.peak).toBeCloseTo(2, 12);
    }
    // Without the series' edges nothing is claimed either way about the first and last slice.
    expect(lesionStats(stack(hotSphere), { centre, radius: 14 }).peakSphereCut).toBeNull();
  });

  it('flags a peak sphere that the image\'s sides or the scanned field cut, counting the voxels it lost', () => {
    // One voxel 123 above a background of 1 at row r, column c of slice k, a 1 mm lesion round it.
    const read = (r: number, c: number, k: number, pad?: (row: number, column: number) => boolean, withEdges = true) => {
      const origin = stack(() => 0)[k]!.position;
      const at: Vec3 = [origin[0] + c * SPACING, origin[1] + r * SPACING, origin[2]];
      const slices = stack((p) => (dist(p, at) < 1e-6 ? 124 : 1)).map((s) =>
        pad ? { ...s, padding: Uint8Array.from({ length: SIZE * SIZE }, (_, i) => (pad(Math.floor(i / SIZE), i % SIZE) ? 1 : 0)) } : s,
      );
      return lesionStats(slices, { centre: at, radius: 1 }, withEdges ? placedStackEdges(slices) : null);
    };
    // The corner voxel of the first slice: the sphere keeps the lattice points with i, j, k ≥ 0 of
    // i² + j² + k² ≤ 9, 29 of PERCIST's 123 (2 mm voxels), reading 1 + 123/29; 94 lie outside.
    const corner = read(0, 0, 0);
    expect([corner.peakVoxels, corner.peakSphereOutside, corner.peakSphereCut]).toEqual([29, 94, true]);
    expect(corner.peak).toBeCloseTo(1 + 123 / 29, 12);
    // Row 0, column 0 of a middle slice: only the sides cut it, i, j ≥ 0: 47 kept, 76 outside. The
    // sides are the slices' own, so this holds without the series' edges too.
    const side = read(0, 0, SIZE / 2);
    expect([side.peakVoxels, side.peakSphereOutside, side.peakSphereCut]).toEqual([47, 76, true]);
    expect(read(0, 0, SIZE / 2, undefined, false).peakSphereCut).toBe(true);
    // The last row and column: the same 47 on the far sides.
    expect([read(SIZE - 1, SIZE - 1, SIZE / 2).peakVoxels, read(SIZE - 1, SIZE - 1, SIZE / 2).peakSphereCut]).toEqual([47, true]);
    // Padding from column 23 on, the hot voxel at column 20: the sphere's j = 3 plane (1 voxel) is
    // outside the scanned field, 122 kept; at column 19, 6 mm from it, all 123 and not cut.
    const padded = read(20, 20, SIZE / 2, (_row, column) => column >= 23);
    expect([padded.peakVoxels, padded.peakSphereOutside, padded.peakSphereCut]).toEqual([122, 1, true]);
    expect(padded.peak).toBeCloseTo(1 + 123 / 122, 12);
    const inside = read(20, 19, SIZE / 2, (_row, column) => column >= 23);
    expect([inside.peakVoxels, inside.peakSphereOutside, inside.peakSphereCut]).toEqual([123, 0, false]);
  });

  it('leaves padded voxels out, and refuses a lesion that no voxel centre falls in', () => {
    // The hot sphere marked as padding: only the background ring around it is left.
    const slices = stack(hotSphere).map((x) => ({ ...x, padding: Uint8Array.from(x.data, (v) => (v === 4 ? 1 : 0)) }));
    const s = lesionStats(slices, { centre, radius: 16 });
    expect(s.max).toBe(1);
    expect(() => lesionStats(stack(hotSphere), { centre: [500, 0, 0], radius: 5 })).toThrow(RangeError);
    // A lesions file's default name is 'lesion 1': the message quotes it instead of reading 'the lesion lesion 1'.
    expect(() => lesionStats(stack(hotSphere), { name: 'lesion 1', centre: [500, 0, 0], radius: 5 })).toThrow(/no voxel centre lies in the lesion "lesion 1" \(radius 5 mm/);
    expect(() => lesionStats(stack(hotSphere), { centre, radius: 0 })).toThrow(/radius/);
    // Inside the stack but between voxel centres (1.73 mm from the nearest on this 2 mm grid): said so, not 'outside'.
    expect(() => lesionStats(stack(hotSphere), { name: 'small', centre: [0, 0, 0], radius: 1.5 })).toThrow(/smaller than the voxels and falls between their centres/);
  });
});

describe('SUVpeak sphere size in voxels', () => {
  /** 15 x 15 x 15 voxels of the given spacing (row, column, slice), all 1, centred on the origin. */
  function uniform([dr, dc, dz]: readonly [number, number, number]): PlacedImage[] {
    const n = 15;
    return Array.from({ length: n }, (_, k) => ({
      rows: n,
      columns: n,
      data: new Float32Array(n * n).fill(1),
      pixelSpacing: [dr, dc] as [number, number],
      position: [-7 * dc, -7 * dr, (k - 7) * dz] as Vec3,
    }));
  }

  // The candidate centres are voxel centres, so the peak sphere is always centred on one: the voxel
  // centres within 6 mm of a voxel centre, whole voxels, however small or large their volume.
  for (const [name, spacing, voxels] of [
    ['2 mm', [2, 2, 2], 123],
    ['4 mm', [4, 4, 4], 19],
    ['the IEC fixture, 2.734375 x 2.734375 x 3 mm', [2.734375, 2.734375, 3], 33],
  ] as const) {
    it(`holds ${voxels} voxels on ${name}`, () => {
      const slices = uniform(spacing);
      const s = lesionStats(slices, { centre: [0, 0, 0], radius: 1 }, placedStackEdges(slices));
      expect([s.voxels, s.peakVoxels, s.peakSphereCut, s.peak]).toEqual([1, voxels, false, 1]);
    });
  }
});

describe('--lesions file', () => {
  it('reads { lesions: [...] } and the bare array, naming unnamed lesions', () => {
    expect(parseLesions({ lesions: [{ name: 'liver', centre: [1, 2, 3], radius: 5 }] }, 'f.json')).toEqual([{ name: 'liver', centre: [1, 2, 3], radius: 5 }]);
    expect(parseLesions([{ centre: [1, 2, 3], radius: 5 }, { centre: [0, 0, 0], radius: 2 }], 'f.json').map((l) => l.name)).toEqual(['lesion 1', 'lesion 2']);
  });

  it('refuses every malformed entry with E_USAGE naming the file and the entry', () => {
    const bad: [unknown, RegExp][] = [
      [{}, /at least one lesion/],
      [{ lesions: [], extra: 1 }, /unknown top-level key "extra"/],
      [[{ centre: [1, 2], radius: 5 }], /lesions\[0\]\.centre/],
      [[{ centre: [1, 2, 3], radius: -1 }], /lesions\[0\]\.radius/],
      [[{ centre: [1, 2, 3], radius: 1, diameter: 2 }], /unknown key "diameter"/],
      [[{ name: 'a', centre: [1, 2, 3], radius: 1 }, { name: 'a', centre: [1, 2, 3], radius: 1 }], /"a" is used twice/],
    ];
    for (const [raw, message] of bad) {
      expect(() => parseLesions(raw, 'f.json')).toThrow(expect.objectContaining({ code: 'E_USAGE' }));
      expect(() => parseLesions(raw, 'f.json')).toThrow(message);
    }
  });
});
