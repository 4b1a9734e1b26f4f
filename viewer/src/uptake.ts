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
import { peakAmong, PEAK_RADIUS_MM, sphereCut, stackEdges, type StackEdges, type Voxel } from '../../src/metrics/lesions.js';
import { ellipsePixels, imagePixels, regionStats, type Ellipse } from '../../src/metrics/roi-shapes.js';

export { ellipsePixels, type Ellipse, type StackEdges };


export interface SliceValues {
  readonly rows: number;
  readonly columns: number;
  /** Value of pixel `index` (row-major) in modality units. */
  readonly value: (index: number) => number;
  /** [row spacing, column spacing], mm. */
  readonly pixelSpacing: readonly [number, number];
  /** Position along the slice normal, mm; null where the series has none (the SUVpeak sphere is then a disc on this slice). */
  readonly location: number | null;
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
  /**
   * The slice had no position along the normal, so `peak` is over a 6 mm disc on this slice alone,
   * not PERCIST's 1.2 cm sphere: shown as "SUVpeak (2-D, no slice positions)".
   */
  readonly peakIn2D: boolean;
  /** Voxels in the sphere that gave `peak` (null with no peak): 123 for PERCIST's sphere on 2 mm voxels. */
  readonly peakVoxels: number | null;
  /**
   * The sphere around the peak lost voxels past the series' first or last slice, outside the image's
   * rows or columns, or to padding (`sphereCut`, the test `metrics --lesions` and QA use): `peak` is
   * the mean of the voxels that exist, fewer than the whole sphere's, shown as "SUVpeak (sphere cut
   * by the volume's edge)".
   */
  readonly peakTruncated: boolean;
}

/** Where a pane's SUVpeak sphere reaches: slices of the pane's own series, by its own slice locations. */
export interface SphereSlices {
  /** The pane's own slice shown for the low-dose slice, and its location (null: none, a 2-D peak). */
  readonly slice: number;
  readonly location: number | null;
  /** The other slices of the same series within 6 mm of it, with their locations. */
  readonly near: ReadonlyArray<{ readonly slice: number; readonly location: number }>;
  /** Where the pane's own series ends along the normal (`stackEdges` of its locations; null: none). */
  readonly edges: StackEdges | null;
}

/**
 * The slices the SUVpeak sphere of a pane reaches around low-dose slice `index`: the pane's own
 * slice (`sliceMap[index]`, or `index` for the low-dose pane) and every slice of the pane's own
 * series whose own location lies within 6 mm of it. A reference series may have other positions or
 * spacing than the low-dose one, so the low-dose locations would pick the wrong slices. Null where
 * the pane shows no slice there (blank).
 */
export function sphereSlices(locations: ReadonlyArray<number | null>, sliceMap: readonly number[] | null, index: number): SphereSlices | null {
  const slice = sliceMap ? (sliceMap[index] ?? -1) : index;
  if (slice < 0 || slice >= locations.length) return null;
  const location = locations[slice] ?? null;
  const edges = stackEdges(locations);
  if (location === null) return { slice, location, near: [], edges };
  const near = locations.flatMap((z, k) => (k !== slice && z !== null && Math.abs(z - location) <= PEAK_RADIUS_MM ? [{ slice: k, location: z }] : []));
  return { slice, location, near, edges };
}


/**
 * Mean, SD and max in the ellipse on `slice`; with `neighbours` (the slices within 6 mm, `slice`
 * itself may be among them or not) also SUVpeak over candidate centres in the ellipse. Padded
 * pixels count nowhere, neither as ROI pixels nor in the peak sphere. Mean and SD are
 * `regionStats`', so the pane footer and the measurement table agree on the same ellipse. A peak
 * sphere that loses voxels to the image's sides or padding, or with the series' `edges`
 * (`SphereSlices.edges`) past its first or last slice, is flagged `peakTruncated`; its value stays
 * the mean over the voxels that exist.
 */
export function ellipseUptake(slice: SliceValues, roi: Ellipse, neighbours: readonly SliceValues[] | null, edges: StackEdges | null = null): Uptake | null {
  const stats = regionStats(slice, { kind: 'ellipse', ellipse: roi });
  if (!stats) return null;
  const { mean, sd: std, max } = stats;
  const inside = imagePixels(ellipsePixels(slice.rows, slice.columns, roi), slice.padding);
  const [dr, dc] = slice.pixelSpacing;
  let peak: number | null = null;
  let peakVoxels: number | null = null;
  let peakTruncated = false;
  if (neighbours) {
    const candidates: Voxel[] = inside.map((i) => voxel(slice, i));
    const reach: Voxel[] = [];
    // Without a position the sphere cannot reach any other slice: a disc on this one (peakIn2D).
    const stack = slice.location === null ? [slice] : neighbours.includes(slice) ? neighbours : [slice, ...neighbours];
    // The ellipse's bounding box grown by the peak radius, on every slice within it.
    const r0 = Math.max(0, Math.floor(roi.cy - roi.ry - PEAK_RADIUS_MM / dr) - 1);
    const r1 = Math.min(slice.rows - 1, Math.ceil(roi.cy + roi.ry + PEAK_RADIUS_MM / dr) + 1);
    const c0 = Math.max(0, Math.floor(roi.cx - roi.rx - PEAK_RADIUS_MM / dc) - 1);
    const c1 = Math.min(slice.columns - 1, Math.ceil(roi.cx + roi.rx + PEAK_RADIUS_MM / dc) + 1);
    for (const s of stack) {
      if (s !== slice && (s.location === null || Math.abs(s.location - (slice.location ?? 0)) > PEAK_RADIUS_MM)) continue;
      for (let r = r0; r <= r1; r++) {
        for (let c = c0; c <= c1; c++) if (!s.padding?.[r * s.columns + c]) reach.push(voxel(s, r * s.columns + c));
      }
    }
    const best = peakAmong(candidates, reach);
    peak = best.peak;
    peakVoxels = best.voxels;
    if (slice.location !== null) {
      // The candidates all lie on this slice, but the test is on the peak's own centre all the same.
      const [x, y, z] = best.centre;
      const planes = stack.flatMap((s) =>
        s.location === null ? [] : [{ location: s.location, row: y / s.pixelSpacing[0], column: x / s.pixelSpacing[1], rows: s.rows, columns: s.columns, pixelSpacing: s.pixelSpacing, padding: s.padding ?? null }],
      );
      peakTruncated = sphereCut(planes, z, edges).cut === true;
    }
  }
  const peakIn2D = peak !== null && slice.location === null;
  return { mean, std, max, count: stats.pixels, areaMm2: stats.areaMm2, peak, peakIn2D, peakVoxels, peakTruncated };
}

function voxel(s: SliceValues, index: number): Voxel {
  const r = Math.floor(index / s.columns);
  const c = index - r * s.columns;
  return { x: c * s.pixelSpacing[1], y: r * s.pixelSpacing[0], z: s.location ?? 0, value: s.value(index) };
}

/**
 * "SUVmean 2.31 ± 0.40 · SUVmax 3.95 · SUVpeak 3.12" for PET (peak "…" while its slices load;
 * "SUVpeak (2-D, no slice positions) 3.40" where it is a disc on one slice, "SUVpeak (sphere cut by the
 * volume's edge) 3.40" where the sphere lost voxels past the first or last slice, the image's sides or
 * the scanned field), else "mean 41.2 ± 12.0 HU".
 */
export function formatUptake(u: Uptake | null, units: string, pet: boolean, peakPending = false): string {
  if (!u) return '';
  const digits = Math.abs(u.mean) < 10 && Math.abs(u.std) < 10 ? 2 : 1;
  if (!pet) return `mean ${u.mean.toFixed(digits)} ± ${u.std.toFixed(digits)} ${units}`.trim();
  const peak = u.peak !== null ? u.peak.toFixed(2) : peakPending ? '…' : 'n/a';
  const label = u.peakIn2D ? 'SUVpeak (2-D, no slice positions)' : u.peakTruncated ? "SUVpeak (sphere cut by the volume's edge)" : 'SUVpeak';
  return `SUVmean ${u.mean.toFixed(2)} ± ${u.std.toFixed(2)} · SUVmax ${u.max.toFixed(2)} · ${label} ${peak}`;
}
