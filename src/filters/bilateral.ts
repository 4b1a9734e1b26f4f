/**
 * Bilateral filter (Tomasi and Manduchi 1998): each output pixel is the mean of its neighbours
 * weighted by a spatial Gaussian of their distance and a range Gaussian of their value difference,
 *
 *   out(p) = sum_q Gs(q - p) Gr(I(q) - I(p)) I(q) / sum_q Gs(q - p) Gr(I(q) - I(p)),
 *
 * so it smooths within a tissue and not across an edge whose step is much larger than sigmaRange.
 * The window is the ellipse of `truncate` spatial sigmas (per axis in pixels, from mm and
 * PixelSpacing). The edge is reflected as in the Gaussian filter.
 *
 * Speed: spatial weights and neighbour offsets are precomputed; the range weight comes from an
 * interpolated exp table (./exp-table.ts) indexed by d^2 / (2 sigmaRange^2), which needs neither
 * abs nor sqrt.
 */
import { LowdoseError } from '../errors.js';
import type { Image2D } from '../image.js';
import { padReflect } from './boundary.js';
import { EXP_TABLE_STEPS_PER_UNIT, EXP_TABLE_X_MAX, expTable } from './exp-table.js';
import { widthInPixels } from './spacing.js';

export interface BilateralOptions {
  /** Spatial standard deviation in mm (per PixelSpacing axis); give this or `sigmaSpatialPx`. */
  readonly sigmaSpatialMm?: number | undefined;
  readonly sigmaSpatialPx?: number | undefined;
  /** Range standard deviation in image units (HU, SUV): differences well above it are edges. */
  readonly sigmaRange: number;
  /** Window radius in spatial sigmas (default 3). */
  readonly truncate?: number;
}

export const BILATERAL_TRUNCATE = 3;

export function bilateralFilter(image: Image2D, options: BilateralOptions): Image2D {
  const { rows, columns, data } = image;
  const [sigmaRows, sigmaColumns] = widthInPixels(
    { mm: options.sigmaSpatialMm, px: options.sigmaSpatialPx },
    image.pixelSpacing,
    'sigmaSpatial',
  );
  const { sigmaRange } = options;
  if (!(sigmaRange > 0) || !Number.isFinite(sigmaRange)) {
    throw new LowdoseError('E_USAGE', `bilateral sigmaRange must be a positive number, got ${sigmaRange}`);
  }
  const truncate = options.truncate ?? BILATERAL_TRUNCATE;
  const window = spatialWindow(sigmaRows, sigmaColumns, truncate);
  if (window.weights.length === 0) return { rows, columns, data: Float32Array.from(data), pixelSpacing: image.pixelSpacing };

  const pad = window.radius;
  const width = columns + 2 * pad;
  const padded = padReflect(data, rows, columns, pad);
  const offsets = Int32Array.from(window.rowOffsets, (dy, k) => dy * width + window.columnOffsets[k]!);
  const spatial = window.weights;
  const count = offsets.length;
  const table = expTable();
  // Index into the exp table straight from the squared difference.
  const scale = EXP_TABLE_STEPS_PER_UNIT / (2 * sigmaRange * sigmaRange);
  const limit = EXP_TABLE_X_MAX * EXP_TABLE_STEPS_PER_UNIT;
  const out = new Float32Array(rows * columns);
  for (let r = 0; r < rows; r++) {
    let p = (r + pad) * width + pad;
    let o = r * columns;
    for (let c = 0; c < columns; c++, p++, o++) {
      const v = padded[p]!;
      // The centre: spatial and range weight 1.
      let sum = v;
      let weight = 1;
      for (let k = 0; k < count; k++) {
        const q = padded[p + offsets[k]!]!;
        const d = q - v;
        const t = d * d * scale;
        if (t < limit) {
          const i = t | 0;
          const a = table[i]!;
          const w = spatial[k]! * (a + (t - i) * (table[i + 1]! - a));
          sum += w * q;
          weight += w;
        }
      }
      out[o] = sum / weight;
    }
  }
  return { rows, columns, data: out, pixelSpacing: image.pixelSpacing };
}

interface SpatialWindow {
  readonly radius: number;
  readonly rowOffsets: Int32Array;
  readonly columnOffsets: Int32Array;
  readonly weights: Float64Array;
}

/** Neighbour offsets (centre excluded) inside the ellipse of `truncate` sigmas, with their weights. */
export function spatialWindow(sigmaRows: number, sigmaColumns: number, truncate: number): SpatialWindow {
  if (!(truncate > 0)) throw new LowdoseError('E_USAGE', `truncate must be positive, got ${truncate}`);
  const radiusRows = sigmaRows > 0 ? Math.floor(truncate * sigmaRows) : 0;
  const radiusColumns = sigmaColumns > 0 ? Math.floor(truncate * sigmaColumns) : 0;
  const rowOffsets: number[] = [];
  const columnOffsets: number[] = [];
  const weights: number[] = [];
  for (let dy = -radiusRows; dy <= radiusRows; dy++) {
    for (let dx = -radiusColumns; dx <= radiusColumns; dx++) {
      if (dy === 0 && dx === 0) continue;
      const u = radiusRows > 0 ? dy / sigmaRows : 0;
      const v = radiusColumns > 0 ? dx / sigmaColumns : 0;
      const q = u * u + v * v;
      if (q > truncate * truncate) continue;
      rowOffsets.push(dy);
      columnOffsets.push(dx);
      weights.push(Math.exp(-0.5 * q));
    }
  }
  return {
    radius: Math.max(radiusRows, radiusColumns),
    rowOffsets: Int32Array.from(rowOffsets),
    columnOffsets: Int32Array.from(columnOffsets),
    weights: Float64Array.from(weights),
  };
}
