/**
 * Regions of interest and their statistics. Coordinates are (row, column) with (0, 0) the centre
 * of the first pixel, in pixels or, with `units: 'mm'`, in millimetres from that same centre using
 * the image's PixelSpacing (so a 10 mm circle stays 10 mm on any reconstruction grid). A pixel
 * belongs to a ROI when its centre is inside it.
 */
import { checkPixels, type Pixels } from './pixels.js';

export type RoiUnits = 'px' | 'mm';

export type Roi =
  | { readonly shape: 'circle'; readonly center: readonly [number, number]; readonly radius: number; readonly units?: RoiUnits }
  | {
      readonly shape: 'ellipse';
      readonly center: readonly [number, number];
      /** Semi-axes, the first along the row direction (down) and the second along columns, before rotation. */
      readonly radii: readonly [number, number];
      /** Degrees that turn the first semi-axis from the row direction toward the column direction. */
      readonly angle?: number;
      readonly units?: RoiUnits;
    }
  | {
      readonly shape: 'rect';
      readonly center: readonly [number, number];
      /** [height, width]; a rectangle covers [c - s/2, c + s/2) so integer sizes give exact pixel counts. */
      readonly size: readonly [number, number];
      readonly units?: RoiUnits;
    };

/** An image that may carry its pixel spacing (needed for ROIs in mm). */
export type SpacedPixels = Pixels & { readonly pixelSpacing?: readonly [number, number] };

export interface RoiStats {
  readonly mean: number;
  /** Sample standard deviation (n - 1). */
  readonly std: number;
  readonly min: number;
  readonly max: number;
  readonly count: number;
}

/** The ROI as a rows x columns mask (1 inside). */
export function roiMask(roi: Roi, rows: number, columns: number, pixelSpacing?: readonly [number, number]): Uint8Array {
  const [sr, sc] = roi.units === 'mm' ? requireSpacing(pixelSpacing) : [1, 1];
  const mask = new Uint8Array(rows * columns);
  const [cr, cc] = roi.center;
  const inside = insideTest(roi);
  // Only the ROI's bounding box is visited.
  const reach = boundingRadius(roi);
  const r0 = Math.max(0, Math.floor((cr - reach) / sr));
  const r1 = Math.min(rows - 1, Math.ceil((cr + reach) / sr));
  const c0 = Math.max(0, Math.floor((cc - reach) / sc));
  const c1 = Math.min(columns - 1, Math.ceil((cc + reach) / sc));
  for (let r = r0; r <= r1; r++) {
    for (let c = c0; c <= c1; c++) {
      if (inside(r * sr - cr, c * sc - cc)) mask[r * columns + c] = 1;
    }
  }
  return mask;
}

export function roiMaskFor(image: SpacedPixels, roi: Roi): Uint8Array {
  return roiMask(roi, image.rows, image.columns, image.pixelSpacing);
}

/** Statistics of the pixels inside `roi` (or a ready mask). Throws when the ROI holds no pixel. */
export function roiStats(image: SpacedPixels, roi: Roi | Uint8Array): RoiStats {
  checkPixels(image);
  const mask = roi instanceof Uint8Array ? roi : roiMaskFor(image, roi);
  if (mask.length !== image.data.length) throw new RangeError(`ROI mask of ${mask.length} pixels for a ${image.rows}x${image.columns} image`);
  const data = image.data;
  // Two passes (mean, then squared deviations) keep the variance exact for large offsets like -1000 HU.
  let count = 0;
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < mask.length; i++) {
    if (!mask[i]) continue;
    const v = data[i]!;
    count++;
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (count === 0) throw new RangeError(`ROI ${describeRoi(roi)} contains no pixel of the ${image.rows}x${image.columns} image`);
  const mean = sum / count;
  let squares = 0;
  for (let i = 0; i < mask.length; i++) {
    if (!mask[i]) continue;
    const d = data[i]! - mean;
    squares += d * d;
  }
  return { mean, std: count > 1 ? Math.sqrt(squares / (count - 1)) : 0, min, max, count };
}

function insideTest(roi: Roi): (dr: number, dc: number) => boolean {
  switch (roi.shape) {
    case 'circle': {
      const r2 = roi.radius * roi.radius;
      return (dr, dc) => dr * dr + dc * dc <= r2;
    }
    case 'ellipse': {
      const [a, b] = roi.radii;
      const theta = ((roi.angle ?? 0) * Math.PI) / 180;
      const cos = Math.cos(theta);
      const sin = Math.sin(theta);
      return (dr, dc) => {
        const u = dr * cos + dc * sin;
        const v = -dr * sin + dc * cos;
        return (u * u) / (a * a) + (v * v) / (b * b) <= 1;
      };
    }
    case 'rect': {
      const [h, w] = roi.size;
      return (dr, dc) => dr >= -h / 2 && dr < h / 2 && dc >= -w / 2 && dc < w / 2;
    }
  }
}

function boundingRadius(roi: Roi): number {
  switch (roi.shape) {
    case 'circle':
      return roi.radius;
    case 'ellipse':
      return Math.max(roi.radii[0], roi.radii[1]);
    case 'rect':
      return Math.hypot(roi.size[0], roi.size[1]) / 2;
  }
}

function requireSpacing(spacing: readonly [number, number] | undefined): readonly [number, number] {
  if (!spacing || !(spacing[0] > 0) || !(spacing[1] > 0)) {
    throw new RangeError('a ROI in mm needs an image with a positive pixelSpacing');
  }
  return spacing;
}

function describeRoi(roi: Roi | Uint8Array): string {
  return roi instanceof Uint8Array ? '(mask)' : JSON.stringify(roi);
}
