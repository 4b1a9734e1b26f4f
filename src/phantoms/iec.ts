/**
 * PET phantom modelled on the NEMA NU 2 / IEC 61675-1 body phantom: a D-shaped acrylic body
 * (interior 294 x 224 mm, 180 mm long: a 147 mm radius half-circle anteriorly, a 140 mm wide
 * rectangle with 77 mm radius corners posteriorly), a 50 mm cold lung insert on its axis, and six
 * hot spheres (inner diameters 10, 13, 17, 22, 28, 37 mm) on a 57.2 mm radius ring in one axial
 * plane, 70 mm below the lid. Activity in Bq/ml, decay corrected to the series start, with the
 * header facts that make SUVbw computable (background SUV = 1 by construction).
 */
import { LowdoseError } from '../errors.js';
import type { PetDoseInfo } from '../image.js';
import { type PhantomOptions, type PhantomResult, phantomVolume, planeGrid, sliceCentres, validateOptions, volumeOrigin } from './grid.js';
import { type Layer, renderSlice } from './raster.js';
import { cylinder, prism, type Solid, sphere, union } from './solids.js';

export interface IecOptions extends PhantomOptions {
  /** Sphere-to-background activity ratio. NEMA uses 4 and 8. Default 4. */
  readonly ratio: number;
  /** Background activity concentration at the series start, Bq/ml. Default 5300 (NEMA NU 2). */
  readonly backgroundBqml: number;
  readonly patientWeightKg: number;
  /** Minutes from injection (calibration) to the series start. Default 60. */
  readonly uptakeMinutes: number;
}

export const IEC_DEFAULTS: IecOptions = {
  size: 128,
  slices: 63,
  spacing: 3,
  fov: 350,
  seed: 0,
  ratio: 4,
  backgroundBqml: 5300,
  patientWeightKg: 70,
  uptakeMinutes: 60,
};

/** F-18 half-life, s. */
export const F18_HALF_LIFE_S = 6586.2;

export const IEC_SPHERE_DIAMETERS = [10, 13, 17, 22, 28, 37] as const;

/** Linear attenuation at 511 keV, 1/cm, for an attenuation map. */
export const IEC_MU_511 = { air: 0, water: 0.096, acrylic: 0.11, lungInsert: 0.028 } as const;

export interface IecSphere {
  readonly diameter: number;
  /** Centre, mm (phantom frame = DICOM patient frame of the written series). */
  readonly centre: readonly [number, number, number];
  readonly activityBqml: number;
  /** Exact volume, ml. */
  readonly volumeMl: number;
}

export interface IecGeometry {
  readonly phantom: 'iec';
  readonly spheres: readonly IecSphere[];
  readonly lungInsert: { readonly centre: readonly [number, number]; readonly radius: number; readonly z: readonly [number, number] };
  /** Interior (fillable) z range and the sphere plane, mm. */
  readonly interiorZ: readonly [number, number];
  readonly spherePlaneZ: number;
  readonly wallThickness: number;
  readonly backgroundBqml: number;
  readonly ratio: number;
  readonly pet: PetDoseInfo;
  /**
   * Background ROI centres in the sphere plane, mm: at least 25 mm from the wall, 30 mm from the
   * spheres' edges (room for NEMA's 37 mm background ROIs).
   */
  readonly backgroundRois: readonly (readonly [number, number])[];
}

const SEMICIRCLE_RADIUS = 147;
const CORNER_RADIUS = 77;
const FLAT_HALF_WIDTH = 70;
const INTERIOR_LENGTH = 180;
const LID_TO_SPHERES = 70;
const WALL = 3;
const RING_RADIUS = 57.2;
const LUNG_RADIUS = 25;

/** The D-shaped cross-section grown by `grow` mm (the wall's outside for grow = WALL). */
function bodySolid(grow: number, z0: number, z1: number): Solid {
  const r = SEMICIRCLE_RADIUS + grow;
  const rc = CORNER_RADIUS + grow;
  const anterior = prism({ x0: -r, x1: r, y0: -r, y1: 0 }, z0, z1, (x, y) => Math.max(Math.hypot(x, y) - r, y));
  const posterior = prism({ x0: -r, x1: r, y0: -1, y1: rc }, z0, z1, (x, y) => {
    // Rounded rectangle: straight bottom between the two corner circles.
    const qx = Math.abs(x) - FLAT_HALF_WIDTH;
    const d = qx > 0 ? Math.hypot(qx, y) - rc : y - rc;
    // Overlaps the half-circle by 1 mm (where it lies inside it) so the seam is never a gap.
    return Math.max(d, -y - 1);
  });
  return union(anterior, posterior);
}

function doseInfo(o: IecOptions): PetDoseInfo {
  const uptakeSeconds = o.uptakeMinutes * 60;
  const decay = 2 ** (-uptakeSeconds / F18_HALF_LIFE_S);
  // SUVbw = C * weight(g) / (dose * decay) = 1 for the background.
  const injectedDoseBq = (o.backgroundBqml * o.patientWeightKg * 1000) / decay;
  const seriesSeconds = 10 * 3600;
  return {
    injectedDoseBq: Math.round(injectedDoseBq),
    halfLifeSeconds: F18_HALF_LIFE_S,
    patientWeightKg: o.patientWeightKg,
    radionuclide: '^18^Fluorine',
    injectionTime: tm(seriesSeconds - uptakeSeconds),
    seriesTime: tm(seriesSeconds),
  };
}

function tm(seconds: number): string {
  const s = ((seconds % 86400) + 86400) % 86400;
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = s % 60;
  const whole = Math.floor(ss);
  const micro = Math.round((ss - whole) * 1e6);
  return `${String(hh).padStart(2, '0')}${String(mm).padStart(2, '0')}${String(whole).padStart(2, '0')}.${String(micro).padStart(6, '0')}`;
}

export function iecGeometry(options: Partial<IecOptions> = {}): IecGeometry {
  const o = { ...IEC_DEFAULTS, ...options };
  const spherePlaneZ = 0;
  const interiorZ: [number, number] = [spherePlaneZ + LID_TO_SPHERES - INTERIOR_LENGTH, spherePlaneZ + LID_TO_SPHERES];
  // 10 mm sphere at 12 o'clock (anterior), then clockwise on the image in increasing size.
  const spheres = IEC_SPHERE_DIAMETERS.map((diameter, k): IecSphere => {
    const angle = ((-90 + 60 * k) * Math.PI) / 180;
    const centre: [number, number, number] = [
      Math.round(RING_RADIUS * Math.cos(angle) * 1000) / 1000,
      Math.round(RING_RADIUS * Math.sin(angle) * 1000) / 1000,
      spherePlaneZ,
    ];
    return {
      diameter,
      centre,
      activityBqml: o.backgroundBqml * o.ratio,
      volumeMl: ((4 / 3) * Math.PI * (diameter / 2) ** 3) / 1000,
    };
  });
  const backgroundRois: [number, number][] = [
    [0, -110],
    [-80, -70],
    [80, -70],
    [-110, 0],
    [110, 0],
    [-95, 45],
    [95, 45],
    [-45, -100],
    [45, -100],
  ];
  return {
    phantom: 'iec',
    spheres,
    lungInsert: { centre: [0, 0], radius: LUNG_RADIUS, z: interiorZ },
    interiorZ,
    spherePlaneZ,
    wallThickness: WALL,
    backgroundBqml: o.backgroundBqml,
    ratio: o.ratio,
    pet: doseInfo(o),
    backgroundRois,
  };
}

function checkIecOptions(o: IecOptions): void {
  validateOptions('iec', o);
  if (!(o.ratio > 0 && o.ratio <= 100)) throw new LowdoseError('E_USAGE', `phantom iec: ratio must be in (0, 100], got ${o.ratio}`);
  if (!(o.backgroundBqml > 0)) throw new LowdoseError('E_USAGE', `phantom iec: background activity must be positive`);
  if (!(o.patientWeightKg > 0)) throw new LowdoseError('E_USAGE', `phantom iec: weight must be positive`);
  if (!(o.uptakeMinutes >= 0 && o.uptakeMinutes < 24 * 60)) throw new LowdoseError('E_USAGE', `phantom iec: uptake must be in [0, 1440) minutes`);
}

function activityLayers(g: IecGeometry): Layer[] {
  const [z0, z1] = g.interiorZ;
  return [
    { solid: bodySolid(0, z0, z1), fill: g.backgroundBqml },
    { solid: cylinder(0, 0, g.lungInsert.radius, z0, z1), fill: 0 },
    ...g.spheres.map((s) => ({ solid: sphere(s.centre, s.diameter / 2), fill: s.activityBqml })),
  ];
}

function attenuationLayers(g: IecGeometry): Layer[] {
  const [z0, z1] = g.interiorZ;
  return [
    { solid: bodySolid(WALL, z0 - WALL, z1 + WALL), fill: IEC_MU_511.acrylic },
    { solid: bodySolid(0, z0, z1), fill: IEC_MU_511.water },
    { solid: cylinder(0, 0, g.lungInsert.radius, z0, z1), fill: IEC_MU_511.lungInsert },
  ];
}

/** Samples across each slice's thickness: spheres are small against the slice spacing. */
const Z_SAMPLES = 5;

export function generateIec(options: Partial<IecOptions> = {}): PhantomResult<IecGeometry> {
  const o = { ...IEC_DEFAULTS, ...options };
  checkIecOptions(o);
  const geometry = iecGeometry(o);
  const grid = planeGrid(o);
  const layers = activityLayers(geometry);
  const slices = sliceCentres(o.slices, o.spacing).map((z) =>
    renderSlice(grid, layers, z, { background: 0, thickness: o.spacing, zSamples: Z_SAMPLES }),
  );
  return {
    volume: phantomVolume(grid, o, slices, { modality: 'PT', units: 'BQML', description: `IEC body phantom ${o.ratio}:1`, pet: geometry.pet }),
    geometry,
    origin: volumeOrigin(grid, o.slices, o.spacing),
  };
}

/** The phantom's linear attenuation at 511 keV (1/cm) on the same grid, for PET simulation. */
export function iecAttenuation(options: Partial<IecOptions> = {}): Float32Array[] {
  const o = { ...IEC_DEFAULTS, ...options };
  checkIecOptions(o);
  const geometry = iecGeometry(o);
  const grid = planeGrid(o);
  const layers = attenuationLayers(geometry);
  return sliceCentres(o.slices, o.spacing).map((z) =>
    renderSlice(grid, layers, z, { background: IEC_MU_511.air, thickness: o.spacing, zSamples: Z_SAMPLES }),
  );
}
