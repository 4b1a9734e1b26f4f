/**
 * Renders phantom solids into axial slices with partial-volume anti-aliasing: pixels wholly inside
 * or outside a solid are decided from its distance bound, pixels on an edge are supersampled
 * (n x n points, optionally at several z positions across the slice thickness), so a pixel's value
 * is the area-weighted mix of what it covers, as a scanner's would be.
 */
import type { Solid } from './solids.js';

/** A value in modality units everywhere, or a field of position (mm) for texture and gradients. */
export type Fill = number | ((x: number, y: number, z: number) => number);

export interface Layer {
  readonly solid: Solid;
  readonly fill: Fill;
  /**
   * 'replace' (default): the covered fraction takes the fill value (later layers lie on top).
   * 'add': the fill is added in proportion to coverage (contrast changes, texture).
   */
  readonly mode?: 'replace' | 'add';
}

/** The in-plane pixel grid of a slice: pixel (r, c) has its centre at (x0 + c*dx, y0 + r*dy). */
export interface PlaneGrid {
  readonly rows: number;
  readonly columns: number;
  /** Column spacing (along x) and row spacing (along y), mm. */
  readonly dx: number;
  readonly dy: number;
  readonly x0: number;
  readonly y0: number;
}

export interface RenderOptions {
  readonly background: number;
  /** Sub-pixel samples per axis on edges. Default 4 (16 per edge pixel). */
  readonly supersample?: number;
  /** Slice thickness (mm) and samples across it for partial volume along z. Default 1 sample (thin). */
  readonly thickness?: number;
  readonly zSamples?: number;
}

/** A grid of `size` x `size` pixels covering `fov` mm, centred on the origin. */
export function centredGrid(size: number, fov: number, columns = size): PlaneGrid {
  const d = fov / size;
  return { rows: size, columns, dx: d, dy: d, x0: (-(columns - 1) / 2) * d, y0: (-(size - 1) / 2) * d };
}

/** Renders `layers` in order at slice centre z. */
export function renderSlice(grid: PlaneGrid, layers: readonly Layer[], z: number, options: RenderOptions): Float32Array {
  const zSamples = Math.max(1, Math.round(options.zSamples ?? 1));
  const thickness = options.thickness ?? 0;
  if (zSamples === 1 || thickness <= 0) return renderPlane(grid, layers, z, options);
  const sum = new Float64Array(grid.rows * grid.columns);
  for (let j = 0; j < zSamples; j++) {
    const zj = z + thickness * ((j + 0.5) / zSamples - 0.5);
    const plane = renderPlane(grid, layers, zj, options);
    for (let i = 0; i < sum.length; i++) sum[i]! += plane[i]!;
  }
  const out = new Float32Array(sum.length);
  for (let i = 0; i < sum.length; i++) out[i] = sum[i]! / zSamples;
  return out;
}

function renderPlane(grid: PlaneGrid, layers: readonly Layer[], z: number, options: RenderOptions): Float32Array {
  const { rows, columns, dx, dy, x0, y0 } = grid;
  const out = new Float32Array(rows * columns).fill(options.background);
  const n = Math.max(1, Math.round(options.supersample ?? 4));
  const halfDiagonal = 0.5 * Math.hypot(dx, dy);
  const subOffsetsX = Array.from({ length: n }, (_, i) => ((i + 0.5) / n - 0.5) * dx);
  const subOffsetsY = Array.from({ length: n }, (_, i) => ((i + 0.5) / n - 0.5) * dy);
  const subCount = n * n;

  for (const layer of layers) {
    const b = layer.solid.bounds;
    if (z < b.z0 || z > b.z1) continue;
    const c0 = Math.max(0, Math.floor((b.x0 - x0) / dx) - 1);
    const c1 = Math.min(columns - 1, Math.ceil((b.x1 - x0) / dx) + 1);
    const r0 = Math.max(0, Math.floor((b.y0 - y0) / dy) - 1);
    const r1 = Math.min(rows - 1, Math.ceil((b.y1 - y0) / dy) + 1);
    if (c0 > c1 || r0 > r1) continue;
    const sd = layer.solid.sd;
    const fill = layer.fill;
    const constant = typeof fill === 'number' ? fill : 0;
    const field = typeof fill === 'number' ? null : fill;
    const add = layer.mode === 'add';

    for (let r = r0; r <= r1; r++) {
      const y = y0 + r * dy;
      const rowOffset = r * columns;
      for (let c = c0; c <= c1; ) {
        const x = x0 + c * dx;
        const d = sd(x, y, z);
        if (d >= halfDiagonal) {
          // Far outside: skip ahead by the pixels the bound guarantees are also outside.
          const skip = Math.floor((d - halfDiagonal) / dx);
          c += skip > 0 ? skip + 1 : 1;
          continue;
        }
        let coverage: number;
        if (d <= -halfDiagonal) {
          // Deep inside: the bound also covers the next pixels of the row.
          const run = Math.min(c1, c + Math.floor((-d - halfDiagonal) / dx));
          for (let cc = c; cc <= run; cc++) {
            const i = rowOffset + cc;
            const value = field ? field(x0 + cc * dx, y, z) : constant;
            out[i] = add ? out[i]! + value : value;
          }
          c = run + 1;
          continue;
        } else {
          let inside = 0;
          for (let sy = 0; sy < n; sy++) {
            const ys = y + subOffsetsY[sy]!;
            for (let sx = 0; sx < n; sx++) if (sd(x + subOffsetsX[sx]!, ys, z) < 0) inside++;
          }
          coverage = inside / subCount;
        }
        if (coverage > 0) {
          const value = field ? field(x, y, z) : constant;
          const i = rowOffset + c;
          out[i] = add ? out[i]! + coverage * value : out[i]! + coverage * (value - out[i]!);
        }
        c++;
      }
    }
  }
  return out;
}
