/**
 * Hot spherical lesions inserted into a real PET volume, for `scripts/evaluate/pet-lesions.ts`.
 *
 * The volume is a stack of axial slices on a regular grid: voxel (k, r, c) has its centre at
 * (x, y, z) = (c·dx, r·dy, k·dz) mm, the frame the lesions' centres are given in (and the one the
 * evaluation places its slices in for `lesionStats`).
 *
 * - Placement (`placeLesions`): a lesion goes where the tissue around it is uniform-ish and of
 *   ordinary uptake: every voxel within `marginMm` of its surface is inside the body, their mean is
 *   within `backgroundRange` (SUV), and their lightly smoothed values stay below `maxOverMean` times
 *   that mean and vary by at most `maxCv`. That admits liver, lung, muscle and other soft tissue and
 *   keeps lesions off the bladder, brain, heart, kidneys and the patient's own tumour, whose hot
 *   voxels would enter the lesion's VOI or its SUVpeak search. Lesions do not overlap, margins
 *   included. The choice among admissible centres is drawn from a seeded Rng.
 * - Insertion (`insertLesions`): the lesion's activity is `contrast` times the local background (the
 *   mean of the original volume over the lesion and its margin) and replaces the tissue in proportion
 *   to the voxel's covered volume: v' = v·(1 − f) + A·f, with f the exact-to-supersampling fraction
 *   of the voxel inside the sphere (`sphereCoverage`). Inserted into the full-count activity *before*
 *   the count simulation, so the low-count image and the full-count reference stay a physical pair.
 */
import { gaussianSmooth } from '../../../src/filters/gaussian.js';
import type { Rng } from '../../../src/util/random.js';

/** Rows × columns × slices, and the spacings (mm) along rows (y), columns (x) and slices (z). */
export interface VolumeGrid {
  readonly rows: number;
  readonly columns: number;
  readonly slices: number;
  readonly dy: number;
  readonly dx: number;
  readonly dz: number;
}

export interface PlacedLesion {
  /** e.g. "d17-2": diameter and its number among the lesions of that size. */
  readonly name: string;
  readonly diameterMm: number;
  /** Centre in the volume frame, mm (module comment). */
  readonly centre: readonly [number, number, number];
  /** The centre voxel (slice, row, column). */
  readonly voxel: readonly [number, number, number];
  /** Mean of the original volume over the lesion and its margin, in the volume's units. */
  readonly background: number;
  /** Lesion activity / background. */
  readonly contrast: number;
  /** contrast × background: the activity of a voxel wholly inside. */
  readonly activity: number;
}

export interface PlacementOptions {
  /** Lesion diameters, mm; `perSize` lesions of each. */
  readonly diametersMm: readonly number[];
  readonly perSize: number;
  /** Contrast drawn log-uniformly in this range (default 2..10). */
  readonly contrastRange?: readonly [number, number];
  /** Tissue around the lesion that must be uniform and that defines its background, mm (default 10). */
  readonly marginMm?: number;
  /** Admissible mean uptake around a lesion, in the volume's units (SUV: default 0.3..3). */
  readonly backgroundRange?: readonly [number, number];
  /** Voxels below this are outside the body (default 0.1; tested on the unsmoothed volume). */
  readonly bodyFloor?: number;
  /** Smoothed voxels around the lesion at most this times their mean (default 1.8). */
  readonly maxOverMean?: number;
  /** Coefficient of variation of the smoothed voxels around the lesion at most this (default 0.3). */
  readonly maxCv?: number;
  /** Candidate centres every this many voxels in-plane and slices (default 2). */
  readonly stride?: number;
}

type Resolved = Required<Omit<PlacementOptions, 'diametersMm' | 'perSize'>>;

const DEFAULTS: Resolved = {
  contrastRange: [2, 10],
  marginMm: 10,
  backgroundRange: [0.3, 3],
  bodyFloor: 0.1,
  maxOverMean: 1.8,
  maxCv: 0.3,
  stride: 2,
};

/** The voxel offsets (dk, dr, dc) whose centres lie within `radius` mm of a voxel centre. */
function ballOffsets(grid: VolumeGrid, radius: number): Array<readonly [number, number, number]> {
  const out: Array<readonly [number, number, number]> = [];
  const nk = Math.floor(radius / grid.dz);
  const nr = Math.floor(radius / grid.dy);
  const nc = Math.floor(radius / grid.dx);
  for (let dk = -nk; dk <= nk; dk++) {
    for (let dr = -nr; dr <= nr; dr++) {
      for (let dc = -nc; dc <= nc; dc++) {
        if ((dk * grid.dz) ** 2 + (dr * grid.dy) ** 2 + (dc * grid.dx) ** 2 <= radius * radius) out.push([dk, dr, dc]);
      }
    }
  }
  return out;
}

/**
 * Seeded placement of `perSize` lesions of each diameter (largest first: they are the hardest to
 * fit) in `volume` (slices of rows·columns values, SUV or any activity unit the ranges are given in).
 * Throws when a lesion finds no admissible place.
 */
export function placeLesions(volume: readonly Float32Array[], grid: VolumeGrid, rng: Rng, options: PlacementOptions): PlacedLesion[] {
  const o = { ...DEFAULTS, ...options };
  const { rows, columns, slices } = grid;
  if (volume.length !== slices) throw new RangeError(`placeLesions: ${volume.length} slices for a grid of ${slices}`);
  // Smoothing by about one voxel takes the reconstruction's noise out of the uniformity test; the
  // structure it looks for (organs, hot foci) is larger.
  const smooth = volume.map((s) => gaussianSmooth(s, rows, columns, 1, 1, 3));
  const placed: PlacedLesion[] = [];
  const order = [...o.diametersMm].sort((a, b) => b - a).flatMap((d) => Array.from({ length: o.perSize }, (_, i) => ({ d, i })));
  const [cLo, cHi] = o.contrastRange;
  for (const { d, i } of order) {
    const radius = d / 2;
    const reach = radius + o.marginMm;
    const ball = ballOffsets(grid, reach);
    const kr = Math.ceil(reach / grid.dz);
    const rr = Math.ceil(reach / grid.dy);
    const cr = Math.ceil(reach / grid.dx);
    const admissible: Array<{ k: number; r: number; c: number; background: number }> = [];
    for (let k = kr; k < slices - kr; k += o.stride) {
      for (let r = rr; r < rows - rr; r += o.stride) {
        for (let c = cr; c < columns - cr; c += o.stride) {
          const centre: [number, number, number] = [c * grid.dx, r * grid.dy, k * grid.dz];
          if (placed.some((p) => Math.hypot(p.centre[0] - centre[0], p.centre[1] - centre[1], p.centre[2] - centre[2]) < p.diameterMm / 2 + radius + 2 * o.marginMm)) continue;
          const background = admissibleBackground(volume, smooth, grid, k, r, c, ball, o);
          if (background !== null) admissible.push({ k, r, c, background });
        }
      }
    }
    if (admissible.length === 0) throw new RangeError(`no admissible place for a ${d} mm lesion (${placed.length} placed before it)`);
    const at = admissible[rng.int(admissible.length)]!;
    const contrast = Math.exp(Math.log(cLo) + rng.uniform() * (Math.log(cHi) - Math.log(cLo)));
    placed.push({
      name: `d${d}-${i + 1}`,
      diameterMm: d,
      centre: [at.c * grid.dx, at.r * grid.dy, at.k * grid.dz],
      voxel: [at.k, at.r, at.c],
      background: at.background,
      contrast,
      activity: contrast * at.background,
    });
  }
  return placed;
}

/** The local background at (k, r, c) when the tissue there passes every test, else null. */
function admissibleBackground(
  volume: readonly Float32Array[],
  smooth: readonly Float32Array[],
  grid: VolumeGrid,
  k: number,
  r: number,
  c: number,
  ball: ReadonlyArray<readonly [number, number, number]>,
  o: Resolved,
): number | null {
  const { columns } = grid;
  let sum = 0;
  let sumS = 0;
  let sumS2 = 0;
  let maxS = -Infinity;
  for (const [dk, dr, dc] of ball) {
    const i = (r + dr) * columns + (c + dc);
    const v = volume[k + dk]![i]!;
    const s = smooth[k + dk]![i]!;
    if (v < o.bodyFloor) return null;
    sum += v;
    sumS += s;
    sumS2 += s * s;
    if (s > maxS) maxS = s;
  }
  const n = ball.length;
  const mean = sum / n;
  if (mean < o.backgroundRange[0] || mean > o.backgroundRange[1]) return null;
  const meanS = sumS / n;
  if (maxS > o.maxOverMean * meanS) return null;
  const cv = Math.sqrt(Math.max(sumS2 / n - meanS * meanS, 0)) / meanS;
  return cv <= o.maxCv ? mean : null;
}

/** Sub-voxel samples per axis on voxels the sphere's surface crosses. */
export const COVERAGE_SUPERSAMPLE = 10;

/**
 * The fraction of each voxel of slice `k` that lies inside the sphere (centre, radius): 1 or 0 where
 * the voxel is wholly in or out (decided from its nearest and farthest corners), else the fraction
 * of a 10 × 10 × 10 grid of points at the sub-voxel centres. Null when the sphere misses the slice.
 */
export function sphereCoverage(grid: VolumeGrid, centre: readonly [number, number, number], radius: number, k: number): Float32Array | null {
  const { rows, columns, dx, dy, dz } = grid;
  const z = k * dz;
  if (Math.abs(z - centre[2]) >= radius + dz / 2) return null;
  const out = new Float32Array(rows * columns);
  const r0 = Math.max(0, Math.floor((centre[1] - radius) / dy) - 1);
  const r1 = Math.min(rows - 1, Math.ceil((centre[1] + radius) / dy) + 1);
  const c0 = Math.max(0, Math.floor((centre[0] - radius) / dx) - 1);
  const c1 = Math.min(columns - 1, Math.ceil((centre[0] + radius) / dx) + 1);
  const R2 = radius * radius;
  const n = COVERAGE_SUPERSAMPLE;
  // Distances along one axis from the centre to a voxel's near and far faces.
  const span = (v: number, half: number, c: number) => {
    const lo = Math.abs(v - half - c);
    const hi = Math.abs(v + half - c);
    const near = v - half <= c && c <= v + half ? 0 : Math.min(lo, hi);
    return [near, Math.max(lo, hi)] as const;
  };
  const [zNear, zFar] = span(z, dz / 2, centre[2]);
  for (let r = r0; r <= r1; r++) {
    const y = r * dy;
    const [yNear, yFar] = span(y, dy / 2, centre[1]);
    for (let c = c0; c <= c1; c++) {
      const x = c * dx;
      const [xNear, xFar] = span(x, dx / 2, centre[0]);
      if (xNear * xNear + yNear * yNear + zNear * zNear >= R2) continue;
      const i = r * columns + c;
      if (xFar * xFar + yFar * yFar + zFar * zFar <= R2) {
        out[i] = 1;
        continue;
      }
      let inside = 0;
      for (let a = 0; a < n; a++) {
        const pz = z + dz * ((a + 0.5) / n - 0.5) - centre[2];
        for (let b = 0; b < n; b++) {
          const py = y + dy * ((b + 0.5) / n - 0.5) - centre[1];
          const rest = R2 - pz * pz - py * py;
          if (rest <= 0) continue;
          for (let e = 0; e < n; e++) {
            const px = x + dx * ((e + 0.5) / n - 0.5) - centre[0];
            if (px * px <= rest) inside++;
          }
        }
      }
      out[i] = inside / (n * n * n);
    }
  }
  return out;
}

/**
 * `volume` with `lesions` inserted (module comment): a new array for every slice a lesion touches,
 * the same array for the others. Values in the units `lesions[].activity` was given in.
 */
export function insertLesions(volume: readonly Float32Array[], grid: VolumeGrid, lesions: readonly PlacedLesion[]): Float32Array[] {
  const out = [...volume];
  for (const lesion of lesions) {
    for (let k = 0; k < grid.slices; k++) {
      const cover = sphereCoverage(grid, lesion.centre, lesion.diameterMm / 2, k);
      if (!cover) continue;
      const slice = out[k] === volume[k] ? Float32Array.from(volume[k]!) : out[k]!;
      for (let i = 0; i < slice.length; i++) {
        const f = cover[i]!;
        if (f > 0) slice[i] = slice[i]! * (1 - f) + lesion.activity * f;
      }
      out[k] = slice;
    }
  }
  return out;
}

/** The slices a lesion or the SUVpeak sphere around it reaches (`lesionReach`), sorted. */
export function slicesNeeded(grid: VolumeGrid, lesions: readonly PlacedLesion[], extraMm: number): number[] {
  const set = new Set<number>();
  for (const l of lesions) {
    const reach = l.diameterMm / 2 + extraMm;
    for (let k = 0; k < grid.slices; k++) if (Math.abs(k * grid.dz - l.centre[2]) <= reach) set.add(k);
  }
  return [...set].sort((a, b) => a - b);
}
