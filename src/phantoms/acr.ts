/**
 * CT phantom modelled on the ACR CT accreditation phantom (Gammex 464): a 20 cm diameter
 * cylinder of four 4 cm modules along z, from inferior to superior (the phantom's foot to head):
 *   1. CT number accuracy: 25 mm rods of air, polyethylene, acrylic, bone and water;
 *   2. low contrast: rods of 2 to 6 mm (four of each) and one of 25 mm, 6 HU over a ~90 HU background;
 *   3. uniformity: water-equivalent material only;
 *   4. high-contrast resolution: bar patterns of 4 to 12 lp/cm, plus a rod (circular edge) and a
 *      thin wire for MTF measurements.
 * Insert positions follow the ROI layout used by pylinac's ACR CT analysis (63 mm / 60 mm / 70 mm
 * rings); angles here are image angles: 0° = image right, 90° = image down (posterior).
 * Everything is exported as data (`acrGeometry`) so metrics and QA can place ROIs without guessing.
 */
import { LowdoseError } from '../errors.js';
import { roundTo } from '../util/round.js';
import { type PhantomOptions, type PhantomResult, phantomVolume, planeGrid, sliceCentres, validateOptions, volumeOrigin } from './grid.js';
import { type Layer, renderSlice } from './raster.js';
import { boxPrism, cylinder } from './solids.js';

export type AcrModule = 1 | 2 | 3 | 4;

export interface AcrOptions extends PhantomOptions {
  /** Only this module: slices are centred on it. Default: the whole phantom. */
  readonly module?: AcrModule;
}

export const ACR_DIAMETER = 200;
export const ACR_MODULE_LENGTH = 40;

export const ACR_HU = {
  air: -1000,
  polyethylene: -95,
  water: 0,
  acrylic: 120,
  bone: 955,
  /** Water-equivalent body of modules 1, 3 and 4. */
  background: 0,
  /** Module 2's background and its rods (0.6 % = 6 HU contrast). */
  lowContrastBackground: 90,
  lowContrastRod: 96,
  /** Bars, edge rod and wire of module 4 (aluminium-like). */
  highContrast: 1000,
  wire: 3000,
} as const;

export interface AcrInsert {
  readonly module: AcrModule;
  readonly name: string;
  readonly kind: 'hu' | 'low-contrast' | 'bar-pattern' | 'edge-rod' | 'wire';
  /** In-plane centre, mm (image right = +x, image down = +y). */
  readonly centre: readonly [number, number];
  /** Radius of a rod, or half the side of a bar pattern's square, mm. */
  readonly radius: number;
  readonly hu: number;
  /** Surrounding material's HU. */
  readonly backgroundHu: number;
  /** Bar patterns: line pairs per cm and bar width (mm); bars run radially, so modulation is tangential. */
  readonly lpPerCm?: number;
  readonly barWidth?: number;
  /** Image angle of the insert's centre from the phantom centre, degrees. */
  readonly angleDeg: number;
}

export interface AcrRoi {
  readonly module: AcrModule;
  readonly name: string;
  readonly centre: readonly [number, number];
  readonly radius: number;
  readonly expectedHu: number;
}

export interface AcrModuleInfo {
  readonly module: AcrModule;
  readonly name: string;
  /** z extent and centre, mm, with the phantom centred on z = 0. */
  readonly z: readonly [number, number];
  readonly zCentre: number;
  readonly backgroundHu: number;
}

export interface AcrGeometry {
  readonly phantom: 'acr';
  readonly diameter: number;
  readonly modules: readonly AcrModuleInfo[];
  readonly inserts: readonly AcrInsert[];
  /** ROIs for uniformity (module 3) and backgrounds, as pylinac places them. */
  readonly rois: readonly AcrRoi[];
  readonly hu: typeof ACR_HU;
}

export const ACR_DEFAULTS: AcrOptions = { size: 512, slices: 4, spacing: 40, fov: 250, seed: 0 };

function polar(distance: number, angleDeg: number): [number, number] {
  const a = (angleDeg * Math.PI) / 180;
  return [roundTo(distance * Math.cos(a), 3), roundTo(distance * Math.sin(a), 3)];
}

function buildGeometry(): AcrGeometry {
  const modules: AcrModuleInfo[] = (
    [
      [1, 'CT number accuracy', ACR_HU.background],
      [2, 'low contrast', ACR_HU.lowContrastBackground],
      [3, 'uniformity', ACR_HU.background],
      [4, 'high-contrast resolution', ACR_HU.background],
    ] as const
  ).map(([module, name, backgroundHu], i) => {
    const z0 = -2 * ACR_MODULE_LENGTH + i * ACR_MODULE_LENGTH;
    return { module, name, z: [z0, z0 + ACR_MODULE_LENGTH], zCentre: z0 + ACR_MODULE_LENGTH / 2, backgroundHu };
  });

  const inserts: AcrInsert[] = [];
  // Module 1: five 25 mm rods on a 63 mm ring.
  for (const [name, angleDeg, hu] of [
    ['air', 45, ACR_HU.air],
    ['polyethylene', 225, ACR_HU.polyethylene],
    ['acrylic', 135, ACR_HU.acrylic],
    ['bone', -45, ACR_HU.bone],
    ['water', 180, ACR_HU.water],
  ] as const) {
    inserts.push({ module: 1, name, kind: 'hu', centre: polar(63, angleDeg), radius: 12.5, hu, backgroundHu: ACR_HU.background, angleDeg });
  }
  // Module 2: the 25 mm rod at 12 o'clock, then groups of four rods of 6, 5, 4, 3, 2 mm clockwise,
  // each group in a line along the ring with a gap equal to the diameter.
  inserts.push({
    module: 2,
    name: 'low-contrast 25 mm',
    kind: 'low-contrast',
    centre: polar(60, -90),
    radius: 12.5,
    hu: ACR_HU.lowContrastRod,
    backgroundHu: ACR_HU.lowContrastBackground,
    angleDeg: -90,
  });
  [6, 5, 4, 3, 2].forEach((diameter, g) => {
    const groupAngle = -30 + g * 55;
    const tangent = ((groupAngle + 90) * Math.PI) / 180;
    const [gx, gy] = polar(60, groupAngle);
    for (let i = 0; i < 4; i++) {
      const along = (i - 1.5) * 2 * diameter;
      const centre: [number, number] = [roundTo(gx + along * Math.cos(tangent), 3), roundTo(gy + along * Math.sin(tangent), 3)];
      inserts.push({
        module: 2,
        name: `low-contrast ${diameter} mm #${i + 1}`,
        kind: 'low-contrast',
        centre,
        radius: diameter / 2,
        hu: ACR_HU.lowContrastRod,
        backgroundHu: ACR_HU.lowContrastBackground,
        angleDeg: groupAngle,
      });
    }
  });
  // Module 4: eight bar patterns on a 70 mm ring, 12 lp/cm at 12 o'clock, then clockwise 10, 9, ... 4.
  for (const [lpPerCm, angleDeg] of [
    [12, -90],
    [10, -45],
    [9, 0],
    [8, 45],
    [7, 90],
    [6, 135],
    [5, 180],
    [4, 225],
  ] as const) {
    inserts.push({
      module: 4,
      name: `bars ${lpPerCm} lp/cm`,
      kind: 'bar-pattern',
      centre: polar(70, angleDeg),
      radius: 7.5,
      hu: ACR_HU.highContrast,
      backgroundHu: ACR_HU.background,
      lpPerCm,
      barWidth: 5 / lpPerCm,
      angleDeg,
    });
  }
  inserts.push({
    module: 4,
    name: 'edge rod',
    kind: 'edge-rod',
    centre: [0, 0],
    radius: 12.5,
    hu: ACR_HU.highContrast,
    backgroundHu: ACR_HU.background,
    angleDeg: 0,
  });
  inserts.push({
    module: 4,
    name: 'wire',
    kind: 'wire',
    centre: polar(35, 90),
    radius: 0.25,
    hu: ACR_HU.wire,
    backgroundHu: ACR_HU.background,
    angleDeg: 90,
  });

  const rois: AcrRoi[] = [
    ...(
      [
        ['uniformity centre', 0, 0],
        ['uniformity top', 66, -90],
        ['uniformity right', 66, 0],
        ['uniformity bottom', 66, 90],
        ['uniformity left', 66, 180],
      ] as const
    ).map(([name, distance, angle]) => ({
      module: 3 as const,
      name,
      centre: polar(distance, angle),
      radius: 11,
      expectedHu: ACR_HU.background,
    })),
    { module: 2, name: 'low-contrast background', centre: polar(60, -115), radius: 6, expectedHu: ACR_HU.lowContrastBackground },
    { module: 1, name: 'module 1 background', centre: [0, 0], radius: 15, expectedHu: ACR_HU.background },
  ];
  return { phantom: 'acr', diameter: ACR_DIAMETER, modules, inserts, rois, hu: ACR_HU };
}

const GEOMETRY = buildGeometry();

/** The phantom's geometry: modules, inserts (centres, radii, nominal HU) and uniformity ROIs. */
export function acrGeometry(): AcrGeometry {
  return GEOMETRY;
}

/** Solids and fills of the whole phantom, painted in order. */
function acrLayers(geometry: AcrGeometry): Layer[] {
  const layers: Layer[] = [];
  const r = geometry.diameter / 2;
  for (const module of geometry.modules) {
    const [z0, z1] = module.z;
    layers.push({ solid: cylinder(0, 0, r, z0, z1), fill: module.backgroundHu });
    for (const insert of geometry.inserts.filter((i) => i.module === module.module)) {
      const [cx, cy] = insert.centre;
      if (insert.kind === 'bar-pattern') {
        layers.push(...barPattern(insert, z0, z1));
      } else {
        layers.push({ solid: cylinder(cx, cy, insert.radius, z0, z1), fill: insert.hu });
      }
    }
  }
  return layers;
}

/**
 * Five bars of width w with gaps w, 10 mm long, running radially (so a tangential profile crosses
 * them), centred on the insert.
 */
function barPattern(insert: AcrInsert, z0: number, z1: number): Layer[] {
  const w = insert.barWidth!;
  const [cx, cy] = insert.centre;
  const radial = (insert.angleDeg * Math.PI) / 180;
  const tx = -Math.sin(radial);
  const ty = Math.cos(radial);
  const layers: Layer[] = [];
  for (let i = 0; i < 5; i++) {
    const offset = (i - 2) * 2 * w;
    layers.push({
      solid: boxPrism(cx + offset * tx, cy + offset * ty, 5, w / 2, z0, z1, radial),
      fill: insert.hu,
    });
  }
  return layers;
}

export function generateAcr(options: Partial<AcrOptions> = {}): PhantomResult<AcrGeometry> {
  const module = options.module;
  if (module !== undefined && ![1, 2, 3, 4].includes(module)) {
    throw new LowdoseError('E_USAGE', `phantom acr: module must be 1, 2, 3 or 4, got ${module}`);
  }
  const slices = options.slices ?? (module ? 1 : ACR_DEFAULTS.slices);
  // By default the slices cover the phantom (or the module) evenly: 4 slices = the 4 module centres.
  const coverage = module ? ACR_MODULE_LENGTH : 4 * ACR_MODULE_LENGTH;
  const spacing = options.spacing ?? coverage / slices;
  const o: AcrOptions = { ...ACR_DEFAULTS, ...options, slices, spacing };
  validateOptions('acr', o);
  const geometry = acrGeometry();
  const layers = acrLayers(geometry);
  const grid = planeGrid(o);
  const centre = module ? geometry.modules[module - 1]!.zCentre : 0;
  const images = sliceCentres(o.slices, o.spacing, centre).map((z) =>
    // Modules are uniform along z; thin slices keep module boundaries sharp.
    renderSlice(grid, layers, z, { background: ACR_HU.air }),
  );
  return {
    volume: phantomVolume(grid, o, images, { modality: 'CT', units: 'HU', description: module ? `ACR phantom module ${module}` : 'ACR phantom' }),
    geometry,
    origin: volumeOrigin(grid, o.slices, o.spacing, centre),
  };
}
