/**
 * The difference pane's pixels: test − reference in modality units, on an int16 grid symmetric
 * about zero, with the pixels that either slice marks as not image (padding, CT out-of-field
 * fill) set to zero: fill values differ between scanners and series (−3024 / −2048 / −2000 HU),
 * and their difference is no change in the patient, so it must not light up the map.
 * Shared by the viewer (viewer/src/difference.ts) and the server's figure (figure-render.ts).
 */
import type { MatchedBy, SliceGrid } from '../metrics/grid-mapping.js';
import { sliceGridMismatch } from '../metrics/pixel-grid.js';

export interface StoredSlice {
  readonly pixels: ArrayLike<number>;
  readonly slope: number;
  readonly intercept: number;
  /** 1 where the pixel is not image, or null. */
  readonly padding: ArrayLike<number> | null;
}

export interface DifferencePixels {
  readonly pixels: Int16Array;
  /** value = stored × slope (intercept 0: zero difference is stored 0). */
  readonly slope: number;
  /** 1 where either slice is padding (left at zero), or null when neither marks any. */
  readonly padding: Uint8Array | null;
}

export function differencePixels(test: StoredSlice, reference: StoredSlice): DifferencePixels {
  const a = test.pixels;
  const b = reference.pixels;
  if (a.length !== b.length) throw new RangeError(`difference of ${a.length} and ${b.length} pixels`);
  const ta = test.slope;
  const ra = reference.slope;
  const offset = test.intercept - reference.intercept;
  const pa = test.padding;
  const pb = reference.padding;
  const skip = (i: number): boolean => (pa !== null && pa[i] !== 0) || (pb !== null && pb[i] !== 0);
  // Two passes, no float copy: the largest |difference| first, then straight onto int16.
  let maxAbs = 0;
  const padding = pa !== null || pb !== null ? new Uint8Array(a.length) : null;
  for (let i = 0; i < a.length; i++) {
    if (padding && skip(i)) {
      padding[i] = 1;
      continue;
    }
    const d = a[i]! * ta - b[i]! * ra + offset;
    const m = d < 0 ? -d : d;
    if (m > maxAbs) maxAbs = m;
  }
  const slope = Math.max(maxAbs, 1e-6) / 32767;
  const pixels = new Int16Array(a.length);
  for (let i = 0; i < a.length; i++) {
    if (padding?.[i]) continue;
    pixels[i] = Math.round((a[i]! * ta - b[i]! * ra + offset) / slope);
  }
  return { pixels, slope, padding };
}

/**
 * The difference colour map, 256 entries indexed by the windowed grey level: black at zero (index
 * 127.5), negative differences run through blue to cyan, positive through red to yellow, so on a
 * dark UI "no change" recedes and changes stand out. The viewer registers it with cornerstone.
 */
export function differenceColours(): Array<[number, number, number]> {
  const colours: Array<[number, number, number]> = [];
  for (let i = 0; i < 256; i++) {
    const t = (i - 127.5) / 127.5; // -1 .. 1
    const m = Math.min(1, Math.abs(t));
    colours.push(
      t < 0
        ? [0, Math.round(255 * Math.max(0, m * 1.6 - 0.6)), Math.round(255 * Math.min(1, m * 1.6))]
        : [Math.round(255 * Math.min(1, m * 1.6)), Math.round(255 * Math.max(0, m * 1.6 - 0.6)), 0],
    );
  }
  return colours;
}

/** The difference pane's opening window width (centred on 0): a fraction of the anatomy window, so edits are visible. */
export function differenceWidth(modality: string): number {
  return modality === 'PT' ? 2 : 200;
}

/** Where the reference slice lies along the low-dose slice's normal, when paired along it (slicesAlongNormal): its distance and the pairing's tolerance, mm. */
export interface DifferencePlane {
  readonly offsetMm: number;
  readonly toleranceMm: number;
}

/**
 * Why the difference pane shows no image of a denoised slice minus the reference slice paired with
 * it, as its footer says it (`no difference: ` and the reason: the plane's distance, else
 * sliceGridMismatch's own words, the reason the scores give), or null when it subtracts them. The difference is pixel i minus pixel
 * i, no resampling, as the scores compare them, so it is drawn on exactly the pairs the scores take
 * as one pixel grid: sliceGridMismatch (src/metrics/pixel-grid.ts, the rule of pairingGridMismatch:
 * the same matrix and every pixel within SAME_GRID_TOLERANCE_PX of its partner through patient
 * coordinates, on the grids as their pairing compares them, gridAsPaired: paired by order, or with
 * no geometry on one side, the pixel spacing alone), and of one section (`plane`, when paired along
 * the normal). The one rule of the viewer's difference pane and the server's figure
 * (`/api/figure.png`), so the page never subtracts what the figure refuses, nor refuses what the
 * metrics line scores.
 */
export function differenceRefusal(denoised: SliceGrid, reference: SliceGrid, matchedBy: MatchedBy, plane: DifferencePlane | null): string | null {
  if (plane && !(Math.abs(plane.offsetMm) <= plane.toleranceMm)) return `no difference: the nearest reference slice is ${Math.abs(plane.offsetMm).toFixed(1)} mm away`;
  const mismatch = sliceGridMismatch(denoised, reference, matchedBy);
  return mismatch === null ? null : `no difference: ${mismatch}`;
}
