/**
 * CT low-contrast detectability phantom: the water phantom (a 20 cm water cylinder in a 3 mm
 * acrylic shell) with faint disks at known places, for a model observer's signal-known-exactly /
 * background-known-exactly detection task (`lowdose qa`'s `detectability-ratio`, docs/qa.md).
 *
 * The disks sit on a hexagonal lattice (25 mm pitch, every lattice point within 75 mm of the axis:
 * 37 places), each place with one disk kind. Slice k holds the disks of the places whose phase is
 * k mod 2, so every place is signal-present on one slice of a pair and signal-absent on the other:
 * the observer's two classes come from the same places, hence the same CT noise (which falls
 * towards the periphery of a cylinder), and from the same images. Disk kinds alternate around
 * each ring of the lattice, so both kinds sample the same radii.
 *
 * A place's ROI (radius 15 mm) holds its own disk and nothing else: the nearest other disk's edge
 * is 25 - 7.5 = 17.5 mm away. Each disk is a cylinder exactly as thick as its slice, so it is
 * wholly in its slice and absent from the next one.
 */
import { roundTo } from '../util/round.js';
import { type PhantomOptions, type PhantomResult, phantomVolume, planeGrid, sliceCentres, validateOptions, volumeOrigin } from './grid.js';
import { type Layer, renderSlice } from './raster.js';
import { cylinder } from './solids.js';
import { HU, WATER_DEFAULTS, waterGeometry, waterLayers, type WaterGeometry } from './water.js';

export type LcdOptions = PhantomOptions;

export const LCD_DEFAULTS: LcdOptions = { ...WATER_DEFAULTS, slices: 2 };

/** One kind of low-contrast disk. */
export interface LcdDiskKind {
  /** e.g. "10 mm +10 HU". */
  readonly name: string;
  readonly diameter: number;
  /** Over the 0 HU water. */
  readonly contrastHu: number;
}

/**
 * 10 mm at +10 HU: Catphan CTP515's 1 % supra-slice target size and contrast, the lesion size a
 * smoothing denoiser loses first (at 10 % dose the shipped CT model keeps 0.62 of its contrast
 * against nominal where docs/diffusion.md's low-band experiment paints it into the noisy scan and
 * measures the disk's inner 70 %, and 0.74 to 0.80 of its input's over this phantom's disks,
 * docs/qa.md). 15 mm at +5 HU: fainter and larger (Catphan's 0.5 % row), the size
 * between the ACR phantom's 6 mm and 25 mm rods. Both are a few times the noise SD over their area
 * at these doses, so their d' is well above 1 at 10 % dose and below about 10 at full dose.
 */
export const LCD_DISK_KINDS: readonly LcdDiskKind[] = [
  { name: '10 mm +10 HU', diameter: 10, contrastHu: 10 },
  { name: '15 mm +5 HU', diameter: 15, contrastHu: 5 },
];

/** Lattice pitch and the radius the lattice points stay within, mm. */
const PITCH_MM = 25;
const LATTICE_RADIUS_MM = 75;
/** The observer's ROI around each place: 10 mm inside the water's edge at the outermost places. */
export const LCD_ROI_RADIUS_MM = 15;

export interface LcdPlace {
  readonly centre: readonly [number, number];
  /** Index into `kinds`. */
  readonly kind: number;
  /** The disk is present in slices k with k mod 2 === phase. */
  readonly phase: 0 | 1;
}

export interface LcdDisk {
  /** Index into `places`. */
  readonly place: number;
  readonly centre: readonly [number, number];
  readonly diameter: number;
  readonly contrastHu: number;
  /** z extent, mm: the slab of the one slice that holds it. */
  readonly z: readonly [number, number];
}

/** The default water cylinder (water.ts) with the disk lattice in it. */
export interface LcdGeometry extends Omit<WaterGeometry, 'phantom'> {
  readonly phantom: 'lcd';
  readonly kinds: readonly LcdDiskKind[];
  /** Radius of the observer's ROI around each place, mm. */
  readonly roiRadius: number;
  readonly places: readonly LcdPlace[];
  readonly disks: readonly LcdDisk[];
}

/** The lattice places, centre first, then ring by ring (by distance, then angle). */
export function lcdPlaces(): LcdPlace[] {
  const points: Array<[number, number]> = [];
  const n = Math.ceil(LATTICE_RADIUS_MM / PITCH_MM) + 1;
  for (let j = -n; j <= n; j++) {
    for (let i = -n; i <= n; i++) {
      const x = (i + (j & 1) / 2) * PITCH_MM;
      const y = (j * Math.sqrt(3) * PITCH_MM) / 2;
      if (Math.hypot(x, y) <= LATTICE_RADIUS_MM + 1e-6) points.push([roundTo(x, 3), roundTo(y, 3)]);
    }
  }
  const key = (p: [number, number]) => [Math.round(Math.hypot(p[0], p[1]) * 1000), Math.atan2(p[1], p[0])] as const;
  points.sort((a, b) => {
    const [ra, ta] = key(a);
    const [rb, tb] = key(b);
    return ra - rb || ta - tb;
  });
  // Within each ring (same distance), alternate the kind place by place, and the phase so that
  // each kind has both phases in every ring (ring of 6: kinds 0 1 0 1 0 1, phases 0 1 1 0 0 1): both
  // kinds and both phases cover every radius, and each slice holds half the disks.
  const places: LcdPlace[] = [];
  let ring = -1;
  let m = 0;
  for (const p of points) {
    const r = key(p)[0];
    if (r !== ring) {
      ring = r;
      m = 0;
    }
    places.push({ centre: p, kind: m % LCD_DISK_KINDS.length, phase: ((m + Math.floor(m / 2)) % 2) as 0 | 1 });
    m++;
  }
  return places;
}

export function lcdGeometry(options: Partial<LcdOptions> = {}): LcdGeometry {
  const o = { ...LCD_DEFAULTS, ...options };
  const places = lcdPlaces();
  const disks: LcdDisk[] = [];
  sliceCentres(o.slices, o.spacing).forEach((z, k) => {
    places.forEach((place, index) => {
      if (place.phase !== k % 2) return;
      const kind = LCD_DISK_KINDS[place.kind]!;
      disks.push({ place: index, centre: place.centre, diameter: kind.diameter, contrastHu: kind.contrastHu, z: [z - o.spacing / 2, z + o.spacing / 2] });
    });
  });
  return {
    // The default cylinder (WATER_DEFAULTS): LcdOptions has no cylinder size.
    ...waterGeometry(),
    phantom: 'lcd',
    kinds: LCD_DISK_KINDS,
    roiRadius: LCD_ROI_RADIUS_MM,
    places,
    disks,
  };
}

export function generateLcd(options: Partial<LcdOptions> = {}): PhantomResult<LcdGeometry> {
  const o = { ...LCD_DEFAULTS, ...options };
  validateOptions('lcd', o);
  const geometry = lcdGeometry(o);
  const layers: Layer[] = [
    ...waterLayers(geometry),
    ...geometry.disks.map((d): Layer => ({ solid: cylinder(d.centre[0], d.centre[1], d.diameter / 2, d.z[0], d.z[1]), fill: d.contrastHu, mode: 'add' })),
  ];
  const grid = planeGrid(o);
  const slices = sliceCentres(o.slices, o.spacing).map((z) => renderSlice(grid, layers, z, { background: HU.air, thickness: o.spacing, zSamples: 3 }));
  return {
    volume: phantomVolume(grid, o, slices, { modality: 'CT', units: 'HU', description: 'LCD phantom: 20 cm water with low-contrast disks' }),
    geometry,
    origin: volumeOrigin(grid, o.slices, o.spacing),
  };
}
