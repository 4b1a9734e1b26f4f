/**
 * Branching vessel and airway trees that fill an organ, grown by recursive territory splitting:
 * a branch heads for the centre of the tissue it supplies, then splits that tissue in two across
 * its longest axis and gives each half a child, with radii by Murray's law (r^3 conserved). The
 * result branches the way perfusion territories do and stays inside the organ's shape.
 */
import { Rng } from '../../util/random.js';
import type { Solid, Vec3 } from '../solids.js';

export interface Segment {
  readonly p0: Vec3;
  readonly p1: Vec3;
  readonly r0: number;
  readonly r1: number;
  readonly depth: number;
}

export interface TreeOptions {
  readonly rootRadius: number;
  /** Branches thinner than this end. */
  readonly minRadius: number;
  /** Territories with fewer sample points end. */
  readonly minPoints?: number;
  readonly maxDepth?: number;
  /** Fraction of the way to the territory centre a branch goes before splitting. Default 0.55. */
  readonly reach?: number;
  /** Random bend of each branch, as a fraction of its length. Default 0.12. */
  readonly tortuosity?: number;
}

/** `count` points uniformly inside `solid` (rejection sampling in its bounds). */
export function samplePoints(solid: Solid, count: number, rng: Rng, zRange?: readonly [number, number]): Float64Array {
  const b = solid.bounds;
  const z0 = Math.max(b.z0, zRange?.[0] ?? -Infinity);
  const z1 = Math.min(b.z1, zRange?.[1] ?? Infinity);
  const out = new Float64Array(count * 3);
  let n = 0;
  for (let tries = 0; n < count && tries < count * 200; tries++) {
    const x = rng.range(b.x0, b.x1);
    const y = rng.range(b.y0, b.y1);
    const z = rng.range(z0, z1);
    if (solid.sd(x, y, z) < 0) {
      out[3 * n] = x;
      out[3 * n + 1] = y;
      out[3 * n + 2] = z;
      n++;
    }
  }
  return out.subarray(0, 3 * n);
}

export function growTree(root: Vec3, points: Float64Array, rng: Rng, options: TreeOptions): Segment[] {
  const segments: Segment[] = [];
  const minPoints = options.minPoints ?? 4;
  const maxDepth = options.maxDepth ?? 14;
  const reach = options.reach ?? 0.55;
  const tortuosity = options.tortuosity ?? 0.12;
  const all = Array.from({ length: points.length / 3 }, (_, i) => i);

  const grow = (start: Vec3, radius: number, territory: number[], depth: number) => {
    if (territory.length === 0) return;
    const c = centroid(points, territory);
    const dx = c[0] - start[0];
    const dy = c[1] - start[1];
    const dz = c[2] - start[2];
    const distance = Math.hypot(dx, dy, dz);
    const last = territory.length < minPoints || radius < options.minRadius || depth >= maxDepth;
    const fraction = last ? 0.9 : depth === 0 ? 0.35 : reach;
    const length = distance * fraction;
    if (length < 0.5) return;
    const end: Vec3 = [start[0] + dx * fraction, start[1] + dy * fraction, start[2] + dz * fraction];
    const childRadius = last ? radius * 0.7 : radius * 0.97;
    addBent(segments, start, end, radius, childRadius, depth, length * tortuosity, rng);
    if (last) return;
    const [left, right] = splitTerritory(points, territory, c);
    const total = territory.length;
    for (const part of [left, right]) {
      if (part.length === 0) continue;
      grow(end, childRadius * Math.cbrt(part.length / total), part, depth + 1);
    }
  };
  grow(root, options.rootRadius, all, 0);
  return segments;
}

/** A branch as two segments with a random kink in the middle, so vessels are not ruler-straight. */
function addBent(out: Segment[], a: Vec3, b: Vec3, r0: number, r1: number, depth: number, bend: number, rng: Rng): void {
  const mid: Vec3 = [
    (a[0] + b[0]) / 2 + rng.range(-bend, bend),
    (a[1] + b[1]) / 2 + rng.range(-bend, bend),
    (a[2] + b[2]) / 2 + rng.range(-bend, bend),
  ];
  const rm = (r0 + r1) / 2;
  out.push({ p0: a, p1: mid, r0, r1: rm, depth }, { p0: mid, p1: b, r0: rm, r1, depth });
}

function centroid(points: Float64Array, indices: number[]): Vec3 {
  let x = 0;
  let y = 0;
  let z = 0;
  for (const i of indices) {
    x += points[3 * i]!;
    y += points[3 * i + 1]!;
    z += points[3 * i + 2]!;
  }
  const n = indices.length;
  return [x / n, y / n, z / n];
}

/** Splits points by the plane through `c` normal to their direction of largest spread. */
function splitTerritory(points: Float64Array, indices: number[], c: Vec3): [number[], number[]] {
  let xx = 0;
  let xy = 0;
  let xz = 0;
  let yy = 0;
  let yz = 0;
  let zz = 0;
  for (const i of indices) {
    const dx = points[3 * i]! - c[0];
    const dy = points[3 * i + 1]! - c[1];
    const dz = points[3 * i + 2]! - c[2];
    xx += dx * dx;
    xy += dx * dy;
    xz += dx * dz;
    yy += dy * dy;
    yz += dy * dz;
    zz += dz * dz;
  }
  // Power iteration for the principal axis of the 3x3 covariance.
  let v: Vec3 = [1, 0.7, 0.3];
  for (let k = 0; k < 12; k++) {
    const nx = xx * v[0] + xy * v[1] + xz * v[2];
    const ny = xy * v[0] + yy * v[1] + yz * v[2];
    const nz = xz * v[0] + yz * v[1] + zz * v[2];
    const norm = Math.hypot(nx, ny, nz) || 1;
    v = [nx / norm, ny / norm, nz / norm];
  }
  const left: number[] = [];
  const right: number[] = [];
  for (const i of indices) {
    const s = (points[3 * i]! - c[0]) * v[0] + (points[3 * i + 1]! - c[1]) * v[1] + (points[3 * i + 2]! - c[2]) * v[2];
    (s < 0 ? left : right).push(i);
  }
  return [left, right];
}

/** A point on a smooth path and its parameter: control index + fraction towards the next one. */
export interface PathSample {
  readonly point: Vec3;
  readonly u: number;
}

/** Samples along a smooth path through `controls` (Catmull-Rom), about `step` mm apart. */
export function smoothPathSamples(controls: readonly Vec3[], step: number): PathSample[] {
  if (controls.length < 2) return controls.map((point, u) => ({ point, u }));
  const out: PathSample[] = [];
  for (let i = 0; i < controls.length - 1; i++) {
    const p0 = controls[Math.max(0, i - 1)]!;
    const p1 = controls[i]!;
    const p2 = controls[i + 1]!;
    const p3 = controls[Math.min(controls.length - 1, i + 2)]!;
    const length = Math.hypot(p2[0] - p1[0], p2[1] - p1[1], p2[2] - p1[2]);
    const n = Math.max(1, Math.ceil(length / step));
    for (let k = 0; k < n; k++) out.push({ point: catmullRom(p0, p1, p2, p3, k / n), u: i + k / n });
  }
  out.push({ point: controls[controls.length - 1]!, u: controls.length - 1 });
  return out;
}

/** Linear interpolation of per-control values at path parameter u. */
export function valueAlong(values: readonly number[], u: number): number {
  const i = Math.min(values.length - 1, Math.max(0, Math.floor(u)));
  const j = Math.min(values.length - 1, i + 1);
  return values[i]! + (values[j]! - values[i]!) * (u - i);
}

function catmullRom(p0: Vec3, p1: Vec3, p2: Vec3, p3: Vec3, t: number): Vec3 {
  const t2 = t * t;
  const t3 = t2 * t;
  const f = (a: number, b: number, c: number, d: number) =>
    0.5 * (2 * b + (-a + c) * t + (2 * a - 5 * b + 4 * c - d) * t2 + (-a + 3 * b - 3 * c + d) * t3);
  return [f(p0[0], p1[0], p2[0], p3[0]), f(p0[1], p1[1], p2[1], p3[1]), f(p0[2], p1[2], p2[2], p3[2])];
}
