/**
 * The patient's frame: maps the reference anatomy (an average adult, mm, L1 vertebral body
 * centre at z = 0, body centre at x = y = 0) onto this patient's size and position, and gives
 * the body outline, the abdominal cavity and the diaphragm as solids.
 *
 * Reference body: half width 160 mm, anterior / posterior half depths 110 / 105 mm,
 * 15 mm subcutaneous fat, 12 mm abdominal wall, vertebral body centre at y = +35.
 */
import { type Solid, type Vec3, box3 } from '../solids.js';
import type { BodyParams } from './params.js';

const REF_INNER_HALF_WIDTH = 133;
const REF_INNER_ANTERIOR = 83;
const REF_INNER_POSTERIOR = 90;

export interface Outline {
  readonly a: number;
  readonly anterior: number;
  readonly posterior: number;
}

export class BodyFrame {
  readonly params: BodyParams;
  private readonly sx: number;
  private readonly syA: number;
  private readonly syP: number;
  /** Scale for organ sizes: damped, because organs vary less than habitus. */
  readonly organScale: number;

  constructor(params: BodyParams) {
    this.params = params;
    this.sx = (params.halfWidth - params.fatLateral - params.wallMuscle) / REF_INNER_HALF_WIDTH;
    this.syA = (params.halfDepthAnterior - params.fatAnterior - params.wallMuscle) / REF_INNER_ANTERIOR;
    this.syP = (params.halfDepthPosterior - params.fatPosterior) / REF_INNER_POSTERIOR;
    const mean = Math.cbrt(this.sx * this.syA * this.syP);
    this.organScale = 1 + 0.7 * (mean - 1);
  }

  x(xr: number): number {
    return this.params.offsetX + xr * this.sx;
  }

  y(yr: number): number {
    return this.params.offsetY + yr * (yr < 0 ? this.syA : this.syP);
  }

  z(zr: number): number {
    return this.params.zShift + zr * this.params.zScale;
  }

  /** Reference point to patient point. */
  p(xr: number, yr: number, zr: number): Vec3 {
    return [this.x(xr), this.y(yr), this.z(zr)];
  }

  /** Reference length to patient length (organ sizes). */
  r(length: number): number {
    return length * this.organScale;
  }

  /** Reference z of a patient z. */
  zRef(z: number): number {
    return (z - this.params.zShift) / this.params.zScale;
  }

  /**
   * Skin outline at height z: wider and flatter in front over the chest, slightly wider over the
   * pelvis.
   */
  outline(z: number): Outline {
    const zr = this.zRef(z);
    const chest = smoothstep(40, 170, zr);
    const pelvis = smoothstep(-90, -170, zr);
    const p = this.params;
    return {
      a: p.halfWidth * (1 + 0.05 * chest + 0.06 * pelvis),
      anterior: p.halfDepthAnterior + (0.5 * p.halfDepthAnterior + 55 - p.halfDepthAnterior) * chest,
      posterior: p.halfDepthPosterior * (1 + 0.04 * chest),
    };
  }

  /** Subcutaneous fat thickness at height z (thinner over the chest). */
  fat(z: number): { lateral: number; anterior: number; posterior: number } {
    const chest = smoothstep(40, 170, this.zRef(z));
    const p = this.params;
    const f = 1 - 0.45 * chest;
    return { lateral: p.fatLateral * f, anterior: p.fatAnterior * f, posterior: p.fatPosterior * f };
  }

  /**
   * Outline dimensions at height z of: the skin, the fat (inside the skin), the muscle (inside the
   * subcutaneous fat) and the cavity (inside the abdominal wall; at the back the cavity reaches the
   * spine's front in the abdomen and the ribs in the chest, the back muscles are drawn apart).
   */
  dims(kind: 'skin' | 'fat' | 'muscle' | 'cavity', z: number): Outline {
    const skin = 2;
    const o = this.outline(z);
    if (kind === 'skin') return o;
    if (kind === 'fat') return { a: o.a - skin, anterior: o.anterior - skin, posterior: o.posterior - skin };
    const f = this.fat(z);
    const muscle = { a: o.a - skin - f.lateral, anterior: o.anterior - skin - f.anterior, posterior: o.posterior - skin - f.posterior };
    if (kind === 'muscle') return muscle;
    const wall = this.params.wallMuscle;
    const back = 28 - 14 * smoothstep(40, 120, this.zRef(z));
    return { a: muscle.a - wall, anterior: muscle.anterior - wall, posterior: muscle.posterior - back };
  }

  /** Distance from the body centre to the `kind` outline along an image angle (radians), at z. */
  radiusAlong(kind: 'skin' | 'fat' | 'muscle' | 'cavity', angle: number, z: number): number {
    const d = this.dims(kind, z);
    const c = Math.cos(angle);
    const sn = Math.sin(angle);
    const b = sn < 0 ? d.anterior : d.posterior;
    const exponent = sn < 0 ? this.params.squareness : this.params.squareness + 0.8;
    return 1 / ((Math.abs(c) / d.a) ** exponent + (Math.abs(sn) / b) ** exponent) ** (1 / exponent);
  }

  /** The `kind` outline as a solid between z0 and z1. */
  shell(kind: 'skin' | 'fat' | 'muscle' | 'cavity', z0: number, z1: number): Solid {
    const p = this.params;
    const squareness = p.squareness;
    const extent = Math.max(p.halfWidth, p.halfDepthAnterior, p.halfDepthPosterior) * 1.25;
    const ox = p.offsetX;
    const oy = p.offsetY;
    return {
      bounds: box3(ox - extent, ox + extent, oy - extent, oy + extent, z0, z1),
      sd: (x, y, z) => Math.max(superellipseSd(x - ox, y - oy, this.dims(kind, z), squareness), z0 - z, z - z1),
    };
  }

  /** Height of the diaphragm (mm) at (x, y) and its slope. */
  dome(x: number, y: number): { z: number; slope: number } {
    const o = this.outline(this.z(60));
    const f = this.fat(this.z(60));
    const a = o.a - f.lateral - this.params.wallMuscle;
    const depth = o.posterior + o.anterior;
    let best = -Infinity;
    let slope = 0;
    // Right and left domes, and the central tendon between them (under the heart), which keeps
    // the saddle between the domes from dipping into the abdomen.
    for (const [side, peak, spreadX, spreadY, shiftY] of [
      [-1, 95, 0.62, 0.55, -0.12],
      [1, 80, 0.62, 0.55, -0.12],
      [0, 82, 0.7, 0.45, -0.22],
    ] as const) {
      const cx = this.params.offsetX + side * 0.42 * a;
      const cy = this.params.offsetY + shiftY * depth;
      const sx = spreadX * a;
      const sy = spreadY * depth;
      const u = (x - cx) / sx;
      const v = (y - cy) / sy;
      const drop = 75 * this.params.zScale;
      const h = this.z(peak) - drop * (u * u + v * v);
      if (h > best) {
        best = h;
        slope = drop * 2 * Math.hypot(u / sx, v / sy);
      }
    }
    return { z: best, slope };
  }

  /** Signed distance bound to the diaphragm surface: negative below it (abdomen side). */
  belowDiaphragm(x: number, y: number, z: number): number {
    const d = this.dome(x, y);
    return (z - d.z) / Math.sqrt(1 + d.slope * d.slope);
  }
}

export function smoothstep(edge0: number, edge1: number, x: number): number {
  const t = Math.min(1, Math.max(0, (x - edge0) / (edge1 - edge0)));
  return t * t * (3 - 2 * t);
}

/**
 * Signed distance bound of a superellipse |x/a|^p + |y/b|^p <= 1 with b the anterior half depth
 * for y < 0 and the posterior one for y >= 0 (flatter at the back). For p >= 2 the normalised
 * radius changes at most 1/min(a, b) per mm, so (radius - 1) * min(a, b) never overstates.
 */
export function superellipseSd(x: number, y: number, d: Outline, p: number): number {
  const b = y < 0 ? d.anterior : d.posterior;
  const exponent = y < 0 ? p : p + 0.8;
  const f = Math.abs(x / d.a) ** exponent + Math.abs(y / b) ** exponent;
  const radius = f ** (1 / exponent);
  return (radius - 1) * Math.min(d.a, d.anterior, d.posterior);
}
