/**
 * The ROI readout's numbers, as plain arithmetic over slices (no cornerstone, so it is tested in
 * node): mean ± SD and max of the pixels in the ellipse on the shown slice, and for PET the
 * PERCIST SUVpeak, whose 1.2 cm sphere reaches into the neighbouring slices. The peak search is
 * `peakAmong` from src/metrics/lesions.ts, the code behind `lowdose metrics --lesions` and QA's
 * sphere checks, with the ellipse's pixels as the candidate centres.
 *
 * Coordinates: the series' own frame, x = column × column spacing, y = row × row spacing, z = the
 * slice's location along the normal. Distances are what matter, and they are the same in patient
 * space for a stack of parallel slices.
 */
import { peakAmong, PEAK_RADIUS_MM, type Voxel } from '../../src/metrics/lesions.js';
import { ellipsePixels, imagePixels, regionStats, type Ellipse } from '../../src/metrics/roi-shapes.js';

export { ellipsePixels, type Ellipse };


export interface SliceValues {
  readonly rows: number;
  readonly columns: number;
  /** Value of pixel `index` (row-major) in modality units. */
  readonly value: (index: number) => number;
  /** [row spacing, column spacing], mm. */
  readonly pixelSpacing: readonly [number, number];
  /** Position along the slice normal, mm. */
  readonly location: number;
  /** Nonzero where the pixel is padding (not image): left out of every number, as in src/metrics. */
  readonly padding?: ArrayLike<number> | null;
}

export interface Uptake {
  readonly mean: number;
  /** Sample standard deviation. */
  readonly std: number;
  readonly max: number;
  readonly count: number;
  readonly areaMm2: number;
  /** PERCIST SUVpeak (null when not asked for). */
  readonly peak: number | null;
}


/**
 * Mean, SD and max in the ellipse on `slice`; with `neighbours` (the slices within 6 mm, `slice`
 * itself may be among them or not) also SUVpeak over candidate centres in the ellipse. Padded
 * pixels count nowhere, neither as ROI pixels nor in the peak sphere. Mean and SD are
 * `regionStats`', so the pane footer and the measurement table agree on the same ellipse.
 */
export function ellipseUptake(slice: SliceValues, roi: Ellipse, neighbours: readonly SliceValues[] | null): Uptake | null {
  const stats = regionStats(slice, { kind: 'ellipse', ellipse: roi });
  if (!stats) return null;
  const { mean, sd: std, max } = stats;
  const inside = imagePixels(ellipsePixels(slice.rows, slice.columns, roi), slice.padding);
  const [dr, dc] = slice.pixelSpacing;
  let peak: number | null = null;
  if (neighbours) {
    const candidates: Voxel[] = inside.map((i) => voxel(slice, i));
    const reach: Voxel[] = [];
    const stack = neighbours.includes(slice) ? neighbours : [slice, ...neighbours];
    // The ellipse's bounding box grown by the peak radius, on every slice within it.
    const r0 = Math.max(0, Math.floor(roi.cy - roi.ry - PEAK_RADIUS_MM / dr) - 1);
    const r1 = Math.min(slice.rows - 1, Math.ceil(roi.cy + roi.ry + PEAK_RADIUS_MM / dr) + 1);
    const c0 = Math.max(0, Math.floor(roi.cx - roi.rx - PEAK_RADIUS_MM / dc) - 1);
    const c1 = Math.min(slice.columns - 1, Math.ceil(roi.cx + roi.rx + PEAK_RADIUS_MM / dc) + 1);
    for (const s of stack) {
      if (Math.abs(s.location - slice.location) > PEAK_RADIUS_MM) continue;
      for (let r = r0; r <= r1; r++) {
        for (let c = c0; c <= c1; c++) if (!s.padding?.[r * s.columns + c]) reach.push(voxel(s, r * s.columns + c));
      }
    }
    peak = peakAmong(candidates, reach).peak;
  }
  return { mean, std, max, count: stats.pixels, areaMm2: stats.areaMm2, peak };
}

function voxel(s: SliceValues, index: number): Voxel {
  const r = Math.floor(index / s.columns);
  const c = index - r * s.columns;
  return { x: c * s.pixelSpacing[1], y: r * s.pixelSpacing[0], z: s.location, value: s.value(index) };
}

/** "SUVmean 2.31 ± 0.40 · SUVmax 3.95 · SUVpeak 3.12" for PET (peak "…" while its slices load), else "mean 41.2 ± 12.0 HU". */
export function formatUptake(u: Uptake | null, units: string, pet: boolean, peakPending = false): string {
  if (!u) return '';
  const digits = Math.abs(u.mean) < 10 && Math.abs(u.std) < 10 ? 2 : 1;
  if (!pet) return `mean ${u.mean.toFixed(digits)} ± ${u.std.toFixed(digits)} ${units}`.trim();
  const peak = u.peak !== null ? u.peak.toFixed(2) : peakPending ? '…' : 'n/a';
  return `SUVmean ${u.mean.toFixed(2)} ± ${u.std.toFixed(2)} · SUVmax ${u.max.toFixed(2)} · SUVpeak ${peak}`;
}
