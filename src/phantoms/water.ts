/**
 * CT water phantom: a 20 cm water cylinder (0 HU) in a thin acrylic shell, in air. Uniform by
 * construction, so whatever structure a reconstruction shows in it is noise or artefact: the
 * phantom for noise, NPS and uniformity.
 */
import { type PhantomOptions, type PhantomResult, phantomVolume, planeGrid, sliceCentres, validateOptions, volumeOrigin } from './grid.js';
import { type Layer, renderSlice } from './raster.js';
import { cylinder } from './solids.js';

export interface WaterOptions extends PhantomOptions {
  /** Inner (water) diameter, mm. Default 200. */
  readonly diameter: number;
  /** Acrylic wall thickness, mm. Default 3. */
  readonly wallThickness: number;
  /** Length of the water column along z, mm (end caps beyond it). Default 200. */
  readonly length: number;
}

export const WATER_DEFAULTS: WaterOptions = {
  size: 512,
  slices: 5,
  spacing: 5,
  fov: 250,
  seed: 0,
  diameter: 200,
  wallThickness: 3,
  length: 200,
};

export const HU = { air: -1000, water: 0, acrylic: 120 } as const;

export interface WaterGeometry {
  readonly phantom: 'water';
  /** Axis of the cylinder in the image plane, mm. */
  readonly centre: readonly [number, number];
  readonly waterRadius: number;
  readonly wallThickness: number;
  /** z extent of the water, mm (volume centred on z = 0). */
  readonly waterZ: readonly [number, number];
  readonly hu: typeof HU;
}

export function waterGeometry(options: Partial<WaterOptions> = {}): WaterGeometry {
  const o = { ...WATER_DEFAULTS, ...options };
  return {
    phantom: 'water',
    centre: [0, 0],
    waterRadius: o.diameter / 2,
    wallThickness: o.wallThickness,
    waterZ: [-o.length / 2, o.length / 2],
    hu: HU,
  };
}

/** The acrylic shell and its water, in air: the layers of every phantom built on this cylinder (water, lcd). */
export function waterLayers(geometry: Pick<WaterGeometry, 'waterRadius' | 'wallThickness' | 'waterZ'>): Layer[] {
  const r = geometry.waterRadius;
  const t = geometry.wallThickness;
  const [z0, z1] = geometry.waterZ;
  return [
    { solid: cylinder(0, 0, r + t, z0 - t, z1 + t), fill: HU.acrylic },
    { solid: cylinder(0, 0, r, z0, z1), fill: HU.water },
  ];
}

export function generateWater(options: Partial<WaterOptions> = {}): PhantomResult<WaterGeometry> {
  const o = { ...WATER_DEFAULTS, ...options };
  validateOptions('water', o);
  const geometry = waterGeometry(o);
  const layers = waterLayers(geometry);
  const grid = planeGrid(o);
  const slices = sliceCentres(o.slices, o.spacing).map((z) =>
    renderSlice(grid, layers, z, { background: HU.air, thickness: o.spacing, zSamples: 3 }),
  );
  return {
    volume: phantomVolume(grid, o, slices, { modality: 'CT', units: 'HU', description: `WATER phantom ${o.diameter / 10} cm` }),
    geometry,
    origin: volumeOrigin(grid, o.slices, o.spacing),
  };
}
