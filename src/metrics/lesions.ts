/**
 * Lesion uptake in a PET (or any) volume: SUVmean, SUVmax and SUVpeak in a spherical VOI given in
 * patient coordinates (mm), the quantities that decide staging and response (PERCIST, Deauville).
 * `lowdose metrics --lesions` and the PET checks of `lowdose qa` both measure with `lesionStats`.
 *
 * - The VOI: the voxels whose centres lie inside the sphere (centre, radius), over every slice
 *   given. Voxel centres come from each slice's ImagePositionPatient, ImageOrientationPatient and
 *   PixelSpacing (P = IPP + c·Δc·X + r·Δr·Y), so oblique and non-axial series work too.
 * - SUVmean: their mean. SUVmax: their maximum (one voxel, so noise inflates it at low counts).
 * - SUVpeak, as PERCIST 1.0 defines it (Wahl et al. 2009): the highest mean in a sphere of 1 cm³,
 *   1.2 cm in diameter, placed anywhere in the lesion. Here the candidate centres are the VOI's
 *   voxel centres, and the peak sphere holds the voxels whose centres are within 6 mm of the
 *   candidate (it may reach beyond the lesion, as PERCIST's does for a small lesion). Voxels are
 *   counted whole, not by partial volume, and the sphere is centred on a voxel centre, so on 4 mm
 *   voxels it holds 19 voxels, on 2 mm voxels 123. (1.2 cm across is 0.905 cm³; PERCIST's 1 cm³
 *   would be 12.4 mm across: docs/metrics.md.)
 *
 * Padded pixels (Image2D.padding) are left out of both spheres.
 */
import type { Image2D } from '../image.js';

export type Vec3 = readonly [number, number, number];

/** A slice with where it lies: ImagePositionPatient of its first pixel and, if not axial, its orientation. */
export interface PlacedImage extends Image2D {
  readonly position: Vec3;
  /** ImageOrientationPatient (row cosines, then column cosines); absent = axial [1,0,0, 0,1,0]. */
  readonly orientation?: readonly [number, number, number, number, number, number] | null;
}

export interface Lesion {
  readonly name?: string;
  /** Patient coordinates of the centre, mm. */
  readonly centre: Vec3;
  /** mm. */
  readonly radius: number;
}

export interface LesionStats {
  /** Voxels in the VOI. */
  readonly voxels: number;
  readonly mean: number;
  readonly max: number;
  /** PERCIST SUVpeak: highest mean in a 1.2 cm sphere centred in the lesion. */
  readonly peak: number;
  /** Where that sphere is centred, patient mm. */
  readonly peakCentre: Vec3;
  /** Voxels in the peak sphere there. */
  readonly peakVoxels: number;
  /**
   * The peak sphere lost voxels to the volume's edges (past the first or last slice, or outside the
   * rows or columns) or to padding (`sphereCut`), so `peak` is the mean of the voxels that exist,
   * fewer than the whole sphere's; null where no edges were given and nothing was lost in-plane.
   */
  readonly peakSphereCut: boolean | null;
  /** How many voxels of the whole sphere those are (`SphereCut.outside`): `peakVoxels` + this = the whole sphere's. */
  readonly peakSphereOutside: number;
}

/** PERCIST's peak sphere, 1.2 cm across (0.905 cm³; its '1 cm³' would be 12.4 mm across). */
export const PEAK_RADIUS_MM = 6;

const AXIAL = [1, 0, 0, 0, 1, 0] as const;

/** A voxel centre in mm (any Cartesian frame) and its value. */
export interface Voxel {
  readonly x: number;
  readonly y: number;
  readonly z: number;
  readonly value: number;
}

export interface Peak {
  /** Highest mean over the peak spheres centred on the candidates. */
  readonly peak: number;
  readonly centre: Vec3;
  /** Voxels in that sphere. */
  readonly voxels: number;
}

/** Where `point` lies along the normal of slices of `orientation` (absent: axial), mm: a slice's location is that of its position. */
export function alongNormal(orientation: PlacedImage['orientation'], point: Vec3): number {
  const [rx, ry, rz, cx, cy, cz] = orientation ?? AXIAL;
  const nx = ry * cz - rz * cy;
  const ny = rz * cx - rx * cz;
  const nz = rx * cy - ry * cx;
  return (point[0] * nx + point[1] * ny + point[2] * nz) / Math.hypot(nx, ny, nz);
}

/** Distance of `point` from the plane of `slice`, mm. */
export function distanceFromSlice(slice: PlacedImage, point: Vec3): number {
  const [rx, ry, rz, cx, cy, cz] = slice.orientation ?? AXIAL;
  const nx = ry * cz - rz * cy;
  const ny = rz * cx - rx * cz;
  const nz = rx * cy - ry * cx;
  const length = Math.hypot(nx, ny, nz);
  const [px, py, pz] = slice.position;
  return Math.abs(((point[0] - px) * nx + (point[1] - py) * ny + (point[2] - pz) * nz) / length);
}

/** The voxels of `slices` whose centres are within `radius` of `centre`. */
function voxelsWithin(slices: readonly PlacedImage[], centre: Vec3, radius: number): Voxel[] {
  const out: Voxel[] = [];
  const r2 = radius * radius;
  for (const slice of slices) {
    if (distanceFromSlice(slice, centre) > radius) continue;
    const [rx, ry, rz, cx, cy, cz] = slice.orientation ?? AXIAL;
    const [dr, dc] = slice.pixelSpacing;
    const [px, py, pz] = slice.position;
    // The centre's in-plane pixel coordinates bound the rows and columns to visit.
    const ox = centre[0] - px;
    const oy = centre[1] - py;
    const oz = centre[2] - pz;
    const col = (ox * rx + oy * ry + oz * rz) / dc;
    const row = (ox * cx + oy * cy + oz * cz) / dr;
    const r0 = Math.max(0, Math.floor(row - radius / dr));
    const r1 = Math.min(slice.rows - 1, Math.ceil(row + radius / dr));
    const c0 = Math.max(0, Math.floor(col - radius / dc));
    const c1 = Math.min(slice.columns - 1, Math.ceil(col + radius / dc));
    for (let r = r0; r <= r1; r++) {
      for (let c = c0; c <= c1; c++) {
        const index = r * slice.columns + c;
        if (slice.padding?.[index]) continue;
        const x = px + c * dc * rx + r * dr * cx;
        const y = py + c * dc * ry + r * dr * cy;
        const z = pz + c * dc * rz + r * dr * cz;
        const d2 = (x - centre[0]) ** 2 + (y - centre[1]) ** 2 + (z - centre[2]) ** 2;
        if (d2 <= r2) out.push({ x, y, z, value: slice.data[index]! });
      }
    }
  }
  return out;
}

/**
 * SUVmean, SUVmax and SUVpeak of `lesion` in `slices` (any subset of a series that covers the
 * lesion and 6 mm around it). `edges`, the whole series' `stackEdges` by `alongNormal`, say where
 * the series ends (the subset alone cannot tell), so that `sphereCut` can flag a peak sphere cut
 * by the first or last slice; the sides and padding it flags from the slices themselves. Throws a
 * RangeError when no voxel centre lies in the lesion.
 */
export function lesionStats(slices: readonly PlacedImage[], lesion: Lesion, edges: StackEdges | null = null): LesionStats {
  if (!(lesion.radius > 0)) throw new RangeError(`lesion radius must be positive, got ${lesion.radius}`);
  const voi = voxelsWithin(slices, lesion.centre, lesion.radius);
  if (voi.length === 0) {
    throw new RangeError(
      `no voxel centre lies in the lesion${lesion.name ? ` "${lesion.name}"` : ''} (radius ${lesion.radius} mm at ${lesion.centre.join(', ')}): ` +
        'it lies outside the series or in its padding, or is smaller than the voxels and falls between their centres',
    );
  }
  let sum = 0;
  let max = -Infinity;
  for (const v of voi) {
    sum += v.value;
    if (v.value > max) max = v.value;
  }
  const best = peakAmong(voi, voxelsWithin(slices, lesion.centre, lesion.radius + PEAK_RADIUS_MM));
  const location = alongNormal(slices[0]!.orientation, best.centre);
  const reached = slices.filter((s) => distanceFromSlice(s, best.centre) <= PEAK_RADIUS_MM + 1e-3);
  const cut = sphereCut(
    reached.map((s) => placedSpherePlane(s, best.centre)),
    location,
    edges,
  );
  return { voxels: voi.length, mean: sum / voi.length, max, peak: best.peak, peakCentre: best.centre, peakVoxels: best.voxels, peakSphereCut: cut.cut, peakSphereOutside: cut.outside };
}

/**
 * SUVpeak's search on its own: the highest mean, over the `candidates` as centres, of the
 * `voxels` within PEAK_RADIUS_MM. `voxels` must hold every voxel such a sphere reaches, and each
 * candidate must be one of them (so no sphere is empty). What `lesionStats` and the viewer's ROI
 * readout (a 2-D ellipse's pixels as candidates, the neighbouring slices as voxels) both run.
 */
export function peakAmong(candidates: readonly Voxel[], voxels: readonly Voxel[]): Peak {
  // Voxels bucketed in cubes of the peak radius: a candidate looks at its cube and the 26 around it.
  const grid = new VoxelGrid(voxels, PEAK_RADIUS_MM);
  const p2 = PEAK_RADIUS_MM * PEAK_RADIUS_MM;
  let peak = -Infinity;
  let centre: Vec3 = [NaN, NaN, NaN];
  let count = 0;
  for (const c of candidates) {
    let s = 0;
    let n = 0;
    grid.near(c, (v) => {
      if ((v.x - c.x) ** 2 + (v.y - c.y) ** 2 + (v.z - c.z) ** 2 <= p2) {
        s += v.value;
        n++;
      }
    });
    if (n > 0 && s / n > peak) {
      peak = s / n;
      centre = [c.x, c.y, c.z];
      count = n;
    }
  }
  return { peak, centre, voxels: count };
}

/** Voxels hashed by the cube of edge `cell` they fall in. */
class VoxelGrid {
  private readonly cells = new Map<string, Voxel[]>();

  constructor(
    voxels: readonly Voxel[],
    private readonly cell: number,
  ) {
    for (const v of voxels) {
      const key = this.key(Math.floor(v.x / cell), Math.floor(v.y / cell), Math.floor(v.z / cell));
      const list = this.cells.get(key);
      if (list) list.push(v);
      else this.cells.set(key, [v]);
    }
  }

  /** Calls `visit` for every voxel in the cube of `p` and its 26 neighbours. */
  near(p: Voxel, visit: (v: Voxel) => void): void {
    const ix = Math.floor(p.x / this.cell);
    const iy = Math.floor(p.y / this.cell);
    const iz = Math.floor(p.z / this.cell);
    for (let dx = -1; dx <= 1; dx++) {
      for (let dy = -1; dy <= 1; dy++) {
        for (let dz = -1; dz <= 1; dz++) {
          const list = this.cells.get(this.key(ix + dx, iy + dy, iz + dz));
          if (list) for (const v of list) visit(v);
        }
      }
    }
  }

  private key(ix: number, iy: number, iz: number): string {
    return `${ix},${iy},${iz}`;
  }
}

/**
 * Where a stack of slices ends along its normal, mm: the outermost slice centres (`first`, `last`)
 * and, half a slice spacing (the gap to the next slice in) further out, the extent those slices'
 * voxels stand for (`low`, `high`). `locations` are the whole series' slice positions along the
 * normal (nulls are skipped); one slice has no spacing, so its edges are its centre. Null with no
 * position at all.
 */
export interface StackEdges {
  readonly low: number;
  readonly high: number;
  readonly first: number;
  readonly last: number;
}

export function stackEdges(locations: ReadonlyArray<number | null>): StackEdges | null {
  const z = locations.filter((v): v is number => v !== null).sort((a, b) => a - b);
  if (z.length === 0) return null;
  const first = z[0]!;
  const last = z[z.length - 1]!;
  const lowGap = z.length > 1 ? z[1]! - first : 0;
  const highGap = z.length > 1 ? last - z[z.length - 2]! : 0;
  return { low: first - lowGap / 2, high: last + highGap / 2, first, last };
}

/** `stackEdges` of slices placed in patient space, along their own normal (the first slice's orientation). */
export function placedStackEdges(slices: readonly PlacedImage[]): StackEdges | null {
  return stackEdges(slices.map((s) => alongNormal(s.orientation, s.position)));
}

/** One slice plane of a series that a peak sphere may reach, as `sphereCut` sees it. */
export interface SpherePlane {
  /** Where the plane lies along the normal, mm (the axis of `StackEdges`). */
  readonly location: number;
  /** The sphere centre projected onto this plane, in (fractional) pixel coordinates. */
  readonly row: number;
  readonly column: number;
  readonly rows: number;
  readonly columns: number;
  /** [row spacing, column spacing], mm. */
  readonly pixelSpacing: readonly [number, number];
  /** Nonzero where the pixel is padding, outside the scanned field (Image2D.padding). */
  readonly padding?: ArrayLike<number> | null;
}

export interface SphereCut {
  /**
   * Voxel centres within the radius on the series' grid continued past its first and last slice
   * (by the spacing there) and past its rows and columns: what the whole sphere would hold.
   */
  readonly voxels: number;
  /** Of those, the ones that are not image: past the first or last slice, outside the rows or columns, or padded. */
  readonly outside: number;
  /**
   * Whether the sphere lost voxels to the volume's edges in any of the three directions or to the
   * scanned field's (`outside` > 0; a single slice, which has no spacing to continue by, always
   * is). Null where no `edges` were given and nothing was lost in-plane: the slices given cannot
   * tell where the series ends.
   */
  readonly cut: boolean | null;
}

/**
 * The one test of whether a SUVpeak sphere was cut, for `lowdose metrics --lesions`, `lowdose qa`
 * and the viewer: the grid points whose centres lie within `radius` of the sphere's centre (at
 * `location` along the normal; the planes carry where it falls in-plane) that are not image. A
 * sphere may reach past the volume's geometric edge without losing a voxel centre; it is cut when
 * its mean, voxels counted whole as `peakAmong` counts them, is over fewer voxels than the whole
 * sphere's. `planes` must hold every slice of the series within `radius` of `location`; the slices
 * past the stack's ends are continued by the spacing at that end, on the grid of the end slice.
 */
export function sphereCut(planes: readonly SpherePlane[], location: number, edges: StackEdges | null, radius: number = PEAK_RADIUS_MM): SphereCut {
  // A hair of slack so that a grid point at exactly the radius counts as `peakAmong` counts it.
  const r2 = radius * radius + 1e-6;
  let voxels = 0;
  let outside = 0;
  const disc = (plane: SpherePlane, planeLocation: number, past: boolean) => {
    const dz = planeLocation - location;
    const rest = r2 - dz * dz;
    if (rest < 0) return;
    const [dr, dc] = plane.pixelSpacing;
    const reach = Math.sqrt(rest);
    for (let r = Math.ceil(plane.row - reach / dr); r <= Math.floor(plane.row + reach / dr); r++) {
      for (let c = Math.ceil(plane.column - reach / dc); c <= Math.floor(plane.column + reach / dc); c++) {
        if (((r - plane.row) * dr) ** 2 + ((c - plane.column) * dc) ** 2 > rest) continue;
        voxels++;
        if (past || r < 0 || c < 0 || r >= plane.rows || c >= plane.columns || plane.padding?.[r * plane.columns + c]) outside++;
      }
    }
  };
  for (const plane of planes) disc(plane, plane.location, false);
  let singleSliceCut = false;
  if (edges && planes.length > 0) {
    const ends = [
      { at: edges.first, step: 2 * (edges.low - edges.first) },
      { at: edges.last, step: 2 * (edges.high - edges.last) },
    ];
    for (const end of ends) {
      if (Math.abs(end.at - location) > radius + 1e-3) continue;
      if (end.step === 0) {
        singleSliceCut = radius > 0;
        continue;
      }
      // The end slice is within the radius, so it is among `planes`: its grid continues past it.
      const grid = planes.reduce((a, b) => (Math.abs(b.location - end.at) < Math.abs(a.location - end.at) ? b : a));
      for (let k = 1; Math.abs(end.at + k * end.step - location) <= radius + 1e-3; k++) disc(grid, end.at + k * end.step, true);
    }
  }
  const cut = outside > 0 || singleSliceCut ? true : edges ? false : null;
  return { voxels, outside, cut };
}

/** `SpherePlane` of a slice placed in patient space for a sphere centred at `centre` (patient mm). */
export function placedSpherePlane(slice: PlacedImage, centre: Vec3): SpherePlane {
  const [rx, ry, rz, cx, cy, cz] = slice.orientation ?? AXIAL;
  const [dr, dc] = slice.pixelSpacing;
  const [px, py, pz] = slice.position;
  const o = [centre[0] - px, centre[1] - py, centre[2] - pz] as const;
  return {
    location: alongNormal(slice.orientation, slice.position),
    row: (o[0] * cx + o[1] * cy + o[2] * cz) / dr,
    column: (o[0] * rx + o[1] * ry + o[2] * rz) / dc,
    rows: slice.rows,
    columns: slice.columns,
    pixelSpacing: slice.pixelSpacing,
    padding: slice.padding ?? null,
  };
}

/** How far a slice stack must reach around a lesion for `lesionStats`: the lesion plus the peak sphere. */
export function lesionReach(lesion: Lesion): number {
  return lesion.radius + PEAK_RADIUS_MM;
}
