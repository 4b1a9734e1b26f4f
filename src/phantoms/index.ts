/**
 * The phantom registry: name → generator, modality, default options and geometry. Everything
 * that makes phantoms by name (the CLI, fixture scripts, QA) goes through here.
 */
import { LowdoseError } from '../errors.js';
import { ACR_DEFAULTS, type AcrGeometry, type AcrOptions, acrGeometry, generateAcr } from './acr.js';
import { BODY_DEFAULTS, type BodyGeometry, type BodyOptions, generateBody } from './body/index.js';
import type { PhantomOptions, PhantomResult } from './grid.js';
import { IEC_DEFAULTS, type IecGeometry, type IecOptions, generateIec, iecGeometry } from './iec.js';
import { LCD_DEFAULTS, type LcdGeometry, type LcdOptions, generateLcd, lcdGeometry } from './lcd.js';
import { WATER_DEFAULTS, type WaterGeometry, type WaterOptions, generateWater, waterGeometry } from './water.js';

export type { AcrGeometry, AcrInsert, AcrModule, AcrOptions, AcrRoi } from './acr.js';
export { ACR_HU, acrGeometry, generateAcr } from './acr.js';
export type { BodyGeometry, BodyLesion, BodyOptions, ContrastPhase } from './body/index.js';
export { CONTRAST_PHASES, generateBody } from './body/index.js';
export type { PhantomOptions, PhantomResult } from './grid.js';
export { mmToPixel, pixelToMm, sliceZ } from './grid.js';
export type { IecGeometry, IecOptions, IecSphere } from './iec.js';
export { F18_HALF_LIFE_S, IEC_MU_511, generateIec, iecAttenuation, iecGeometry } from './iec.js';
export type { LcdDisk, LcdDiskKind, LcdGeometry, LcdOptions, LcdPlace } from './lcd.js';
export { LCD_DISK_KINDS, LCD_ROI_RADIUS_MM, generateLcd, lcdGeometry } from './lcd.js';
export type { WaterGeometry, WaterOptions } from './water.js';
export { generateWater, waterGeometry } from './water.js';

export type PhantomName = 'water' | 'acr' | 'body' | 'iec' | 'lcd';

/** Options any phantom accepts; each ignores the extras that are not its own. */
export type AnyPhantomOptions = Partial<PhantomOptions> &
  Partial<Pick<AcrOptions, 'module'>> &
  Partial<Pick<BodyOptions, 'phase' | 'centreZ' | 'zSamples'>> &
  Partial<Pick<IecOptions, 'ratio' | 'backgroundBqml' | 'patientWeightKg' | 'uptakeMinutes'>>;

export type AnyGeometry = WaterGeometry | AcrGeometry | BodyGeometry | IecGeometry | LcdGeometry;

export interface PhantomDefinition {
  readonly name: PhantomName;
  readonly modality: 'CT' | 'PT';
  readonly summary: string;
  readonly defaults: PhantomOptions;
  /** Names of the options beyond the common ones. */
  readonly extraOptions: readonly string[];
  generate(options?: AnyPhantomOptions): PhantomResult<AnyGeometry>;
}

export const PHANTOMS: Readonly<Record<PhantomName, PhantomDefinition>> = {
  water: {
    name: 'water',
    modality: 'CT',
    summary: '20 cm water cylinder in a 3 mm acrylic shell: noise, NPS, uniformity',
    defaults: WATER_DEFAULTS,
    extraOptions: [],
    generate: (options = {}) => generateWater(pick<WaterOptions>(options)),
  },
  acr: {
    name: 'acr',
    modality: 'CT',
    summary: 'ACR CT accreditation phantom: HU inserts, low contrast, uniformity, bar patterns and MTF rod',
    defaults: ACR_DEFAULTS,
    extraOptions: ['module'],
    generate: (options = {}) => generateAcr(pick<AcrOptions>(options, ['module'])),
  },
  body: {
    name: 'body',
    modality: 'CT',
    summary: 'anthropomorphic torso (organs, vessels, skeleton, lungs, lesions), a new patient per seed',
    defaults: BODY_DEFAULTS,
    extraOptions: ['phase', 'centreZ', 'zSamples'],
    generate: (options = {}) => generateBody(pick<BodyOptions>(options, ['phase', 'centreZ', 'zSamples'])),
  },
  lcd: {
    name: 'lcd',
    modality: 'CT',
    summary: '20 cm water cylinder with 10 mm +10 HU and 15 mm +5 HU disks, each place signal-present on one slice of a pair: low-contrast detectability (model observer)',
    defaults: LCD_DEFAULTS,
    extraOptions: [],
    generate: (options = {}) => generateLcd(pick<LcdOptions>(options)),
  },
  iec: {
    name: 'iec',
    modality: 'PT',
    summary: 'NEMA IEC body phantom: six hot spheres 10-37 mm, cold lung insert, Bq/ml with SUV headers',
    defaults: IEC_DEFAULTS,
    extraOptions: ['ratio', 'backgroundBqml', 'patientWeightKg', 'uptakeMinutes'],
    generate: (options = {}) =>
      generateIec(pick<IecOptions>(options, ['ratio', 'backgroundBqml', 'patientWeightKg', 'uptakeMinutes'])),
  },
};

const COMMON = ['size', 'slices', 'spacing', 'fov', 'seed'] as const;

/** The common options plus `extra`, dropping undefined values so defaults apply. */
function pick<T>(options: AnyPhantomOptions, extra: readonly string[] = []): Partial<T> {
  const out: Record<string, unknown> = {};
  for (const key of [...COMMON, ...extra]) {
    const value = (options as Record<string, unknown>)[key];
    if (value !== undefined) out[key] = value;
  }
  return out as Partial<T>;
}

export function phantomNames(): PhantomName[] {
  return Object.keys(PHANTOMS) as PhantomName[];
}

/** The definition of `name`, or E_USAGE naming the known phantoms. */
export function getPhantom(name: string): PhantomDefinition {
  const definition = (PHANTOMS as Record<string, PhantomDefinition | undefined>)[name];
  if (!definition) {
    throw new LowdoseError('E_USAGE', `unknown phantom "${name}"; known phantoms: ${phantomNames().join(', ')}`);
  }
  return definition;
}

export function generatePhantom(name: string, options: AnyPhantomOptions = {}): PhantomResult<AnyGeometry> {
  return getPhantom(name).generate(options);
}

/** Geometry without rendering, for ROI placement (body geometry needs its seed: generate it). */
export function phantomGeometry(name: 'water' | 'acr' | 'iec' | 'lcd', options: AnyPhantomOptions = {}): WaterGeometry | AcrGeometry | IecGeometry | LcdGeometry {
  if (name === 'water') return waterGeometry(pick<WaterOptions>(options));
  if (name === 'lcd') return lcdGeometry(pick<LcdOptions>(options));
  if (name === 'acr') return acrGeometry();
  return iecGeometry(pick<IecOptions>(options, PHANTOMS.iec.extraOptions));
}

