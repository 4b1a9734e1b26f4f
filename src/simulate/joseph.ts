/**
 * Joseph's ray-driven projector (Joseph 1982) and its exact adjoint on a pixel grid. A ray is
 * stepped one pixel column at a time (one row at a time when it is closer to vertical), and at each
 * step the image is linearly interpolated between the two nearest pixels of that column; the step
 * length along the ray is the weight. The adjoint scatters with the same weights, so OSEM's
 * forward and back projections are matched.
 *
 * Pixel (i, j) has its centre at x = (j - (columns-1)/2) dx, y = (i - (rows-1)/2) dy, in mm.
 * Everything outside the image is zero.
 */

export interface PixelGrid {
  readonly rows: number;
  readonly columns: number;
  /** Row spacing (mm along y). */
  readonly dy: number;
  /** Column spacing (mm along x). */
  readonly dx: number;
}

/**
 * The image twice: row-major with a zero row above and below (for rays stepped along x), and
 * transposed with a zero column before and after (for rays stepped along y). The transposed copy
 * keeps steep rays reading memory in order, which halves their cost.
 */
export interface PaddedImage {
  readonly alongX: Float32Array;
  readonly alongY: Float32Array;
}

export function padImage(grid: PixelGrid, image: Float32Array, out?: PaddedImage): PaddedImage {
  const { rows, columns } = grid;
  const alongX = out?.alongX ?? new Float32Array((rows + 2) * columns);
  const alongY = out?.alongY ?? new Float32Array((columns + 2) * rows);
  alongX.fill(0, 0, columns);
  alongX.set(image, columns);
  alongX.fill(0, (rows + 1) * columns);
  alongY.fill(0, 0, rows);
  for (let i = 0; i < rows; i++) {
    const src = i * columns;
    for (let j = 0; j < columns; j++) alongY[(j + 1) * rows + i] = image[src + j]!;
  }
  alongY.fill(0, (columns + 1) * rows);
  return { alongX, alongY };
}

/** Zeroed accumulators shaped like `PaddedImage`, for `scatterRay`. */
export function emptyPadded(grid: PixelGrid): PaddedImage {
  return {
    alongX: new Float32Array((grid.rows + 2) * grid.columns),
    alongY: new Float32Array((grid.columns + 2) * grid.rows),
  };
}

/** Adds both halves of scattered accumulators into a plain row-major image (`out` is overwritten). */
export function collectPadded(grid: PixelGrid, acc: PaddedImage, out: Float32Array): Float32Array {
  const { rows, columns } = grid;
  out.set(acc.alongX.subarray(columns, (rows + 1) * columns));
  for (let j = 0; j < columns; j++) {
    const src = (j + 1) * rows;
    for (let i = 0; i < rows; i++) out[i * columns + j]! += acc.alongY[src + i]!;
  }
  return out;
}

/**
 * A convex polygon around the image's non-zero pixels, as the intersection of slabs
 * lo[d] <= x cos(a_d) + y sin(a_d) <= hi[d]. Rays are clipped to it before stepping: line
 * integrals are unchanged (everything outside is zero) and a body that fills 60 % of the image
 * costs about half the steps.
 */
export interface SupportClip {
  readonly cos: Float64Array;
  readonly sin: Float64Array;
  readonly lo: Float64Array;
  readonly hi: Float64Array;
  /** A circle around the polygon, for a quick first rejection. */
  readonly centerX: number;
  readonly centerY: number;
  readonly radius: number;
  /** False when the image is all zero: every ray integral is 0. */
  readonly any: boolean;
}

export function supportClip(grid: PixelGrid, image: Float32Array, directions = 8): SupportClip {
  if (directions % 2 !== 0) throw new RangeError(`supportClip needs an even number of directions, got ${directions}`);
  const { rows, columns, dx, dy } = grid;
  const cos = new Float64Array(directions);
  const sin = new Float64Array(directions);
  const lo = new Float64Array(directions).fill(Infinity);
  const hi = new Float64Array(directions).fill(-Infinity);
  for (let d = 0; d < directions; d++) {
    cos[d] = Math.cos((Math.PI * d) / directions);
    sin[d] = Math.sin((Math.PI * d) / directions);
  }
  const cx = (columns - 1) / 2;
  const cy = (rows - 1) / 2;
  let any = false;
  for (let i = 0; i < rows; i++) {
    const y = (i - cy) * dy;
    const base = i * columns;
    // Only the first and last non-zero pixel of a row can set an extent of a convex hull.
    let first = -1;
    let last = -1;
    for (let j = 0; j < columns; j++) {
      if (image[base + j] !== 0) {
        if (first < 0) first = j;
        last = j;
      }
    }
    if (first < 0) continue;
    any = true;
    for (const j of [first, last]) {
      const x = (j - cx) * dx;
      for (let d = 0; d < directions; d++) {
        const t = x * cos[d]! + y * sin[d]!;
        if (t < lo[d]!) lo[d] = t;
        if (t > hi[d]!) hi[d] = t;
      }
    }
  }
  // Interpolation reaches one pixel beyond a non-zero pixel centre.
  const margin = Math.hypot(dx, dy) * 1.01;
  for (let d = 0; d < directions; d++) {
    lo[d]! -= margin;
    hi[d]! += margin;
  }
  // Circle around the box of slabs 0 (x) and directions / 2 (y): it contains the polygon.
  const half = directions / 2;
  const centerX = any ? (lo[0]! + hi[0]!) / 2 : 0;
  const centerY = any ? (lo[half]! + hi[half]!) / 2 : 0;
  const radius = any ? Math.hypot(hi[0]! - lo[0]!, hi[half]! - lo[half]!) / 2 : 0;
  return { cos, sin, lo, hi, centerX, centerY, radius, any };
}

/**
 * The stepping of one ray: interpolation position r(k) = a + b k (in padded interpolation-axis
 * units, i.e. already +1) for steps k in [k0, k1]; `weight` is the ray length per step; `alongX`
 * says which padded copy it walks.
 */
interface RayWalk {
  alongX: boolean;
  k0: number;
  k1: number;
  a: number;
  b: number;
  weight: number;
}

const walk: RayWalk = { alongX: true, k0: 0, k1: -1, a: 0, b: 0, weight: 0 };

/**
 * Sets `walk` for the line through (ox, oy) with unit direction (ux, uy). Returns false when the
 * line misses the image.
 */
function planRay(grid: PixelGrid, ox: number, oy: number, ux: number, uy: number, clip?: SupportClip): boolean {
  const { rows, columns, dx, dy } = grid;
  let nStep: number, nInterp: number, stepSpacing: number, interpSpacing: number;
  let oStep: number, oInterp: number, uStep: number, uInterp: number;
  if (Math.abs(ux) >= Math.abs(uy)) {
    walk.alongX = true;
    nStep = columns; nInterp = rows; stepSpacing = dx; interpSpacing = dy;
    oStep = ox; oInterp = oy; uStep = ux; uInterp = uy;
  } else {
    walk.alongX = false;
    nStep = rows; nInterp = columns; stepSpacing = dy; interpSpacing = dx;
    oStep = oy; oInterp = ox; uStep = uy; uInterp = ux;
  }
  const slope = uInterp / uStep;
  const cStep = (nStep - 1) / 2;
  const cInterp = (nInterp - 1) / 2;
  // r(k): interpolation-axis index of the ray at step k, shifted by +1 for the zero padding.
  const b = (stepSpacing * slope) / interpSpacing;
  const a = (oInterp + (-cStep * stepSpacing - oStep) * slope) / interpSpacing + cInterp + 1;
  // Valid while 0 < r < nInterp + 1, so that floor(r) and floor(r) + 1 are both padded rows.
  let k0 = 0;
  let k1 = nStep - 1;
  if (b > 0) {
    k0 = Math.max(k0, Math.floor(-a / b) + 1);
    k1 = Math.min(k1, Math.ceil((nInterp + 1 - a) / b) - 1);
  } else if (b < 0) {
    k0 = Math.max(k0, Math.floor((nInterp + 1 - a) / b) + 1);
    k1 = Math.min(k1, Math.ceil(-a / b) - 1);
  } else if (!(a > 0 && a < nInterp + 1)) {
    return false;
  }
  if (clip) {
    if (!clip.any) return false;
    // The ray parameter s (distance from the origin along u) inside every slab.
    // Most rays that miss the body miss its bounding circle: one cross product rejects them.
    const ex = clip.centerX - ox;
    const ey = clip.centerY - oy;
    const miss = ex * uy - ey * ux;
    if (miss * miss > clip.radius * clip.radius) return false;
    let sLo = -Infinity;
    let sHi = Infinity;
    for (let d = 0; d < clip.cos.length; d++) {
      const along = ux * clip.cos[d]! + uy * clip.sin[d]!;
      const at = ox * clip.cos[d]! + oy * clip.sin[d]!;
      if (Math.abs(along) < 1e-12) {
        if (at < clip.lo[d]! || at > clip.hi[d]!) return false;
        continue;
      }
      const inv = 1 / along;
      const s0 = (clip.lo[d]! - at) * inv;
      const s1 = (clip.hi[d]! - at) * inv;
      if (inv > 0) {
        if (s0 > sLo) sLo = s0;
        if (s1 < sHi) sHi = s1;
      } else {
        if (s1 > sLo) sLo = s1;
        if (s0 < sHi) sHi = s0;
      }
    }
    if (sLo > sHi) return false;
    // Step index at parameter s: k = (oStep + s uStep) / stepSpacing + cStep.
    const kA = (oStep + sLo * uStep) / stepSpacing + cStep;
    const kB = (oStep + sHi * uStep) / stepSpacing + cStep;
    k0 = Math.max(k0, Math.floor(Math.min(kA, kB)));
    k1 = Math.min(k1, Math.ceil(Math.max(kA, kB)));
  }
  // Guard the rounding at both ends.
  while (k0 <= k1 && !(a + b * k0 > 0 && a + b * k0 < nInterp + 1)) k0++;
  while (k1 >= k0 && !(a + b * k1 > 0 && a + b * k1 < nInterp + 1)) k1--;
  if (k0 > k1) return false;
  walk.k0 = k0;
  walk.k1 = k1;
  walk.a = a;
  walk.b = b;
  walk.weight = stepSpacing / Math.abs(uStep);
  return true;
}

/** Line integral of the image along the line through (ox, oy) with unit direction (ux, uy). */
export function projectRay(
  grid: PixelGrid,
  image: PaddedImage,
  ox: number,
  oy: number,
  ux: number,
  uy: number,
  clip?: SupportClip,
): number {
  if (!planRay(grid, ox, oy, ux, uy, clip)) return 0;
  const { k0, k1, a, b } = walk;
  const n = walk.alongX ? grid.columns : grid.rows;
  const data = walk.alongX ? image.alongX : image.alongY;
  // Two interleaved sums: the loop is bound by the add latency, not by the loads.
  let even = 0;
  let odd = 0;
  let k = k0;
  for (; k < k1; k += 2) {
    const r0 = a + b * k;
    const i0 = r0 | 0;
    const p0 = i0 * n + k;
    const lo0 = data[p0]!;
    even += lo0 + (r0 - i0) * (data[p0 + n]! - lo0);
    const r1 = a + b * (k + 1);
    const i1 = r1 | 0;
    const p1 = i1 * n + k + 1;
    const lo1 = data[p1]!;
    odd += lo1 + (r1 - i1) * (data[p1 + n]! - lo1);
  }
  if (k === k1) {
    const r = a + b * k;
    const i = r | 0;
    const p = i * n + k;
    const lo = data[p]!;
    even += lo + (r - i) * (data[p + n]! - lo);
  }
  return (even + odd) * walk.weight;
}

/** Adjoint of `projectRay`: adds `value` times the ray's interpolation weights into `acc`. */
export function scatterRay(
  grid: PixelGrid,
  acc: PaddedImage,
  ox: number,
  oy: number,
  ux: number,
  uy: number,
  value: number,
): void {
  if (value === 0 || !planRay(grid, ox, oy, ux, uy)) return;
  const { k0, k1, a, b } = walk;
  const n = walk.alongX ? grid.columns : grid.rows;
  const data = walk.alongX ? acc.alongX : acc.alongY;
  const v = value * walk.weight;
  for (let k = k0; k <= k1; k++) {
    const r = a + b * k;
    const i = r | 0;
    const fv = (r - i) * v;
    const p = i * n + k;
    data[p]! += v - fv;
    data[p + n]! += fv;
  }
}
