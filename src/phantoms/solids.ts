/**
 * Phantom geometry as 3D solids described by signed distance bounds (mm, negative inside).
 *
 * `sd` need not be the exact distance, but wherever it is used to skip work it must not
 * overstate it: |sd| <= true distance to the surface. The rasteriser only uses it to decide that a
 * pixel lies wholly inside or outside; pixels near the surface are supersampled with the sign of
 * `sd` alone. Union (min), intersection (max) and subtraction keep that property.
 */
export type Vec3 = readonly [number, number, number];

export interface Box3 {
  readonly x0: number;
  readonly x1: number;
  readonly y0: number;
  readonly y1: number;
  readonly z0: number;
  readonly z1: number;
}

export interface Solid {
  readonly bounds: Box3;
  readonly sd: (x: number, y: number, z: number) => number;
}

const EVERYWHERE = Infinity;

export function box3(x0: number, x1: number, y0: number, y1: number, z0: number, z1: number): Box3 {
  return { x0, x1, y0, y1, z0, z1 };
}

function unionBounds(boxes: Box3[]): Box3 {
  return boxes.reduce((a, b) => ({
    x0: Math.min(a.x0, b.x0),
    x1: Math.max(a.x1, b.x1),
    y0: Math.min(a.y0, b.y0),
    y1: Math.max(a.y1, b.y1),
    z0: Math.min(a.z0, b.z0),
    z1: Math.max(a.z1, b.z1),
  }));
}

function intersectBounds(boxes: Box3[]): Box3 {
  return boxes.reduce((a, b) => ({
    x0: Math.max(a.x0, b.x0),
    x1: Math.min(a.x1, b.x1),
    y0: Math.max(a.y0, b.y0),
    y1: Math.min(a.y1, b.y1),
    z0: Math.max(a.z0, b.z0),
    z1: Math.min(a.z1, b.z1),
  }));
}

export function sphere(centre: Vec3, radius: number): Solid {
  const [cx, cy, cz] = centre;
  return {
    bounds: box3(cx - radius, cx + radius, cy - radius, cy + radius, cz - radius, cz + radius),
    sd: (x, y, z) => Math.hypot(x - cx, y - cy, z - cz) - radius,
  };
}

/** Rotation angles in radians: yaw about z, then pitch about the new x, then roll about the new y. */
export interface Rotation {
  readonly yaw?: number;
  readonly pitch?: number;
  readonly roll?: number;
}

/** Rows of the world-to-local rotation matrix for `rotation`. */
export function rotationMatrix(rotation: Rotation = {}): [Vec3, Vec3, Vec3] {
  const { yaw = 0, pitch = 0, roll = 0 } = rotation;
  const cz = Math.cos(yaw);
  const sz = Math.sin(yaw);
  const cx = Math.cos(pitch);
  const sx = Math.sin(pitch);
  const cy = Math.cos(roll);
  const sy = Math.sin(roll);
  // Local axes in world coordinates: R = Rz(yaw) * Rx(pitch) * Ry(roll); rows of R^T map world to local.
  const rz = [
    [cz, -sz, 0],
    [sz, cz, 0],
    [0, 0, 1],
  ];
  const rx = [
    [1, 0, 0],
    [0, cx, -sx],
    [0, sx, cx],
  ];
  const ry = [
    [cy, 0, sy],
    [0, 1, 0],
    [-sy, 0, cy],
  ];
  const mul = (a: number[][], b: number[][]) => a.map((row) => [0, 1, 2].map((j) => row[0]! * b[0]![j]! + row[1]! * b[1]![j]! + row[2]! * b[2]![j]!));
  const r = mul(mul(rz, rx), ry);
  return [
    [r[0]![0]!, r[1]![0]!, r[2]![0]!],
    [r[0]![1]!, r[1]![1]!, r[2]![1]!],
    [r[0]![2]!, r[1]![2]!, r[2]![2]!],
  ];
}

/**
 * An ellipsoid with semi-axes `radii` along its local axes, turned by `rotation`. The bound scales
 * the normalised radius by the smallest semi-axis, which never overstates the distance.
 */
export function ellipsoid(centre: Vec3, radii: Vec3, rotation: Rotation = {}): Solid {
  const [cx, cy, cz] = centre;
  const [a, b, c] = radii;
  const [r0, r1, r2] = rotationMatrix(rotation);
  const minAxis = Math.min(a, b, c);
  const extent = Math.max(a, b, c);
  const ia = 1 / a;
  const ib = 1 / b;
  const ic = 1 / c;
  return {
    bounds: box3(cx - extent, cx + extent, cy - extent, cy + extent, cz - extent, cz + extent),
    sd: (x, y, z) => {
      const dx = x - cx;
      const dy = y - cy;
      const dz = z - cz;
      const u = (r0[0] * dx + r0[1] * dy + r0[2] * dz) * ia;
      const v = (r1[0] * dx + r1[1] * dy + r1[2] * dz) * ib;
      const w = (r2[0] * dx + r2[1] * dy + r2[2] * dz) * ic;
      return (Math.sqrt(u * u + v * v + w * w) - 1) * minAxis;
    },
  };
}

/** A cylinder along z with an elliptic cross-section (semi-axes a along x', b along y', rotated by angle). */
export function ellipticCylinder(cx: number, cy: number, a: number, b: number, z0: number, z1: number, angle = 0): Solid {
  const cosA = Math.cos(angle);
  const sinA = Math.sin(angle);
  const minAxis = Math.min(a, b);
  const extent = Math.max(a, b);
  return {
    bounds: box3(cx - extent, cx + extent, cy - extent, cy + extent, z0, z1),
    sd: (x, y, z) => {
      const dx = x - cx;
      const dy = y - cy;
      const u = cosA * dx + sinA * dy;
      const v = -sinA * dx + cosA * dy;
      const radial = a === b ? Math.hypot(u, v) - a : (Math.sqrt((u / a) ** 2 + (v / b) ** 2) - 1) * minAxis;
      return Math.max(radial, z0 - z, z - z1);
    },
  };
}

export function cylinder(cx: number, cy: number, radius: number, z0: number, z1: number): Solid {
  return ellipticCylinder(cx, cy, radius, radius, z0, z1);
}

/** A box prism along z: half sizes hx, hy in its own frame, rotated by angle about z. Exact. */
export function boxPrism(cx: number, cy: number, hx: number, hy: number, z0: number, z1: number, angle = 0): Solid {
  const cosA = Math.cos(angle);
  const sinA = Math.sin(angle);
  const extent = Math.hypot(hx, hy);
  return {
    bounds: box3(cx - extent, cx + extent, cy - extent, cy + extent, z0, z1),
    sd: (x, y, z) => {
      const dx = x - cx;
      const dy = y - cy;
      const qx = Math.abs(cosA * dx + sinA * dy) - hx;
      const qy = Math.abs(-sinA * dx + cosA * dy) - hy;
      const outside = Math.hypot(Math.max(qx, 0), Math.max(qy, 0));
      const inside = Math.min(Math.max(qx, qy), 0);
      return Math.max(outside + inside, z0 - z, z - z1);
    },
  };
}

/**
 * A tube from p0 (radius r0) to p1 (radius r1) with rounded ends: vessels, airways, bowel.
 * For gentle tapers the distance to the interpolated axis point is a close bound.
 */
export function capsule(p0: Vec3, p1: Vec3, r0: number, r1 = r0): Solid {
  const [ax, ay, az] = p0;
  const bx = p1[0] - ax;
  const by = p1[1] - ay;
  const bz = p1[2] - az;
  const lengthSquared = bx * bx + by * by + bz * bz || 1e-12;
  const r = Math.max(r0, r1);
  // A taper steeper than the bound allows is rare (<10 % per length); shrink the distance to stay safe.
  const taper = Math.abs(r1 - r0) / Math.sqrt(lengthSquared);
  const safety = 1 / Math.sqrt(1 + taper * taper);
  return {
    bounds: box3(
      Math.min(ax, p1[0]) - r,
      Math.max(ax, p1[0]) + r,
      Math.min(ay, p1[1]) - r,
      Math.max(ay, p1[1]) + r,
      Math.min(az, p1[2]) - r,
      Math.max(az, p1[2]) + r,
    ),
    sd: (x, y, z) => {
      const px = x - ax;
      const py = y - ay;
      const pz = z - az;
      let t = (px * bx + py * by + pz * bz) / lengthSquared;
      t = t < 0 ? 0 : t > 1 ? 1 : t;
      const d = Math.hypot(px - t * bx, py - t * by, pz - t * bz);
      return (d - (r0 + t * (r1 - r0))) * safety;
    },
  };
}

/** A prism along z from any 2D signed distance bound (mm) with its 2D bounds. */
export function prism(
  bounds2d: { x0: number; x1: number; y0: number; y1: number },
  z0: number,
  z1: number,
  sd2: (x: number, y: number) => number,
): Solid {
  return {
    bounds: box3(bounds2d.x0, bounds2d.x1, bounds2d.y0, bounds2d.y1, z0, z1),
    sd: (x, y, z) => Math.max(sd2(x, y), z0 - z, z - z1),
  };
}

export function union(...solids: Solid[]): Solid {
  if (solids.length === 1) return solids[0]!;
  return {
    bounds: unionBounds(solids.map((s) => s.bounds)),
    sd: (x, y, z) => {
      let d = EVERYWHERE;
      for (const s of solids) {
        const v = s.sd(x, y, z);
        if (v < d) d = v;
      }
      return d;
    },
  };
}

/**
 * Intersection. Once one part says "outside" its distance is returned without asking the rest:
 * max() can only be larger, so that still never overstates; put the cheapest, tightest part first.
 */
export function intersection(...solids: Solid[]): Solid {
  return {
    bounds: intersectBounds(solids.map((s) => s.bounds)),
    sd: (x, y, z) => {
      let d = -EVERYWHERE;
      for (const s of solids) {
        const v = s.sd(x, y, z);
        if (v > d) d = v;
        if (d > 0) return d;
      }
      return d;
    },
  };
}

/** `a` without `b`. */
export function subtract(a: Solid, b: Solid): Solid {
  return { bounds: a.bounds, sd: (x, y, z) => Math.max(a.sd(x, y, z), -b.sd(x, y, z)) };
}

/**
 * Smooth union (polynomial smooth minimum, Quilez) for organic shapes: blends surfaces within `k`
 * mm. It can understate the distance by up to k/4 near the seam, so the result is widened by that.
 */
export function smoothUnion(k: number, ...solids: Solid[]): Solid {
  return {
    bounds: unionBounds(solids.map((s) => s.bounds)),
    sd: (x, y, z) => {
      let d = solids[0]!.sd(x, y, z);
      for (let i = 1; i < solids.length; i++) {
        const b = solids[i]!.sd(x, y, z);
        const h = Math.max(k - Math.abs(d - b), 0) / k;
        d = Math.min(d, b) - h * h * k * 0.25;
      }
      return d;
    },
  };
}

/** Grows (positive) or shrinks (negative) a solid by `offset` mm. */
export function offset(solid: Solid, amount: number): Solid {
  const b = solid.bounds;
  const g = Math.max(amount, 0);
  return {
    bounds: box3(b.x0 - g, b.x1 + g, b.y0 - g, b.y1 + g, b.z0 - g, b.z1 + g),
    sd: (x, y, z) => solid.sd(x, y, z) - amount,
  };
}

/**
 * Moves the surface by `amplitude * field(x, y, z)` mm (field in about [-1, 1]). `lipschitz` is
 * the field's largest slope per mm; dividing by (1 + amplitude * lipschitz) keeps the bound safe.
 */
export function displace(
  solid: Solid,
  amplitude: number,
  field: (x: number, y: number, z: number) => number,
  lipschitz: number,
): Solid {
  const b = solid.bounds;
  const g = Math.abs(amplitude) * 2;
  const scale = 1 / (1 + Math.abs(amplitude) * lipschitz);
  return {
    bounds: box3(b.x0 - g, b.x1 + g, b.y0 - g, b.y1 + g, b.z0 - g, b.z1 + g),
    sd: (x, y, z) => (solid.sd(x, y, z) - amplitude * field(x, y, z)) * scale,
  };
}

/** Restricts a solid to a z range (both ends flat). */
export function clipZ(solid: Solid, z0: number, z1: number): Solid {
  const b = solid.bounds;
  return {
    bounds: box3(b.x0, b.x1, b.y0, b.y1, Math.max(b.z0, z0), Math.min(b.z1, z1)),
    sd: (x, y, z) => Math.max(solid.sd(x, y, z), z0 - z, z - z1),
  };
}
