/**
 * Square ROIs in a patient's soft tissue, picked on the full-dose slice, where a noise spectrum
 * holds little anatomy: the ROIs of the real-pair noise measure (noise-transfer.ts) and of the
 * texture experiments on the AAPM-Mayo pairs (scripts/experiments/texture-*.ts).
 *
 * - `flatRois`: 32 px ROIs on an 8 px grid in homogeneous soft tissue (liver, spleen, muscle): the
 *   full-dose slice smoothed by a Gaussian of 4 px (about 3 mm, where its noise is down to a few HU)
 *   stays within [-30, 200] HU with its mean in [0, 150], and after a 2nd-order detrend varies by
 *   less than 6 HU over the ROI. 32 px (23 to 26 mm on a 350 to 380 mm field): larger ROIs find too
 *   few flat places in patient L192 (48 px: 0 to 4 per slice).
 * - `softTissueTiles`: larger tiles (64 px by default) on a half-tile grid wholly in soft tissue
 *   (the 4 px-smoothed full dose in [-150, 250] HU): more of the field and finer frequency bins,
 *   with organ edges and vessels in them.
 */
import { gaussianSmooth } from '../filters/gaussian.js';
import { detrendInPlace } from './detrend.js';
import { tileRois, type RoiCorner } from './nps.js';

export const FLAT_ROI_SIZE = 32;
export const FLAT_ROI_STRIDE = 8;
/** Largest SD (HU) of the smoothed, poly2-detrended full dose over a flat ROI. */
export const FLAT_SD_HU = 6;
const SMOOTH_PX = 4;

/** A slice's size and row-major values (an Image2D fits). */
interface Slice {
  readonly rows: number;
  readonly columns: number;
  readonly data: ArrayLike<number>;
}

/** Flat soft-tissue ROIs (FLAT_ROI_SIZE px) of one full-dose CT slice in HU. */
export function flatRois(full: Slice): RoiCorner[] {
  const { rows, columns } = full;
  const size = FLAT_ROI_SIZE;
  const smooth = gaussianSmooth(full.data, rows, columns, SMOOTH_PX, SMOOTH_PX);
  const out: RoiCorner[] = [];
  const values = new Float64Array(size * size);
  for (let row = 0; row + size <= rows; row += FLAT_ROI_STRIDE) {
    for (let col = 0; col + size <= columns; col += FLAT_ROI_STRIDE) {
      let ok = true;
      let sum = 0;
      for (let r = 0; r < size && ok; r++) {
        for (let c = 0; c < size; c++) {
          const v = smooth[(row + r) * columns + col + c]!;
          if (v < -30 || v > 200) {
            ok = false;
            break;
          }
          values[r * size + c] = v;
          sum += v;
        }
      }
      if (!ok) continue;
      const mean = sum / (size * size);
      if (mean < 0 || mean > 150) continue;
      detrendInPlace(values, size, size, 'poly2');
      let ss = 0;
      for (const v of values) ss += v * v;
      if (Math.sqrt(ss / values.length) < FLAT_SD_HU) out.push({ row, col });
    }
  }
  return out;
}

/** Tiles of `size` px on a size / 2 grid wholly in soft tissue: the 4 px-smoothed full dose in [-150, 250] HU. */
export function softTissueTiles(full: Slice, size = 64): RoiCorner[] {
  const smooth = gaussianSmooth(full.data, full.rows, full.columns, SMOOTH_PX, SMOOTH_PX);
  const mask = Uint8Array.from(smooth, (v) => (v >= -150 && v <= 250 ? 1 : 0));
  return tileRois(full.rows, full.columns, size, { mask, stride: size / 2 });
}
