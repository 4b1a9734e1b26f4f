/**
 * CT `body`: an anthropomorphic torso generator for training data. Each seed is a different
 * patient (habitus, fat, organ sizes and positions, contrast phase, lesions); the same seed gives
 * the same bytes. Values are HU with mild anatomical texture and partial-volume edges; no scanner
 * noise (that is the simulator's job).
 */
import { LowdoseError } from '../../errors.js';
import { type PhantomOptions, type PhantomResult, phantomVolume, sliceCentres, validateOptions } from '../grid.js';
import { centredGrid, renderSlice } from '../raster.js';
import { type BodyLesion, buildAnatomy } from './anatomy.js';
import { type BodyParams, CONTRAST_PHASES, type ContrastPhase, sampleBodyParams } from './params.js';

export type { BodyLesion } from './anatomy.js';
export type { BodyParams, ContrastPhase, TissueHu } from './params.js';
export { CONTRAST_PHASES } from './params.js';

export interface BodyOptions extends PhantomOptions {
  /** Contrast phase; default chosen by the seed. */
  readonly phase?: ContrastPhase;
  /**
   * Reference-anatomy z (mm, L1 vertebral body = 0) of the volume's centre. Default
   * DEFAULT_CENTRE_Z_MM. About 150 centres on the lower chest, -100 on the lower abdomen.
   */
  readonly centreZ?: number;
  /** Samples across each slice's thickness for partial volume along z. Default 2. */
  readonly zSamples?: number;
}

/** `fov` 0 means: fit the patient (the default). */
/** The volume centre's reference-anatomy z (mm above the L1 vertebral body): lower kidneys to lung bases. */
export const DEFAULT_CENTRE_Z_MM = 15;
export const BODY_DEFAULTS: BodyOptions = { size: 512, slices: 40, spacing: 5, fov: 0, seed: 0 };

export interface BodyGeometry {
  readonly phantom: 'body';
  readonly seed: number;
  readonly phase: ContrastPhase;
  readonly params: BodyParams;
  /** Lesions in the patient frame (= DICOM patient coordinates of the written series). */
  readonly lesions: readonly BodyLesion[];
  /** z of the L1 vertebral body centre in the patient frame, mm. */
  readonly l1Z: number;
}

export function generateBody(options: Partial<BodyOptions> = {}): PhantomResult<BodyGeometry> {
  if (options.phase !== undefined && !CONTRAST_PHASES.includes(options.phase)) {
    throw new LowdoseError('E_USAGE', `phantom body: phase must be one of ${CONTRAST_PHASES.join(', ')}, got ${options.phase}`);
  }
  const seed = options.seed ?? BODY_DEFAULTS.seed;
  const params = sampleBodyParams(seed, options.phase);
  // A field of view that fits the patient with a margin, as a technologist would set it.
  const autoFov = Math.ceil((2 * params.halfWidth * 1.12 + 40) / 10) * 10;
  const o: BodyOptions = { ...BODY_DEFAULTS, ...options, fov: options.fov || autoFov };
  validateOptions('body', o);
  const anatomy = buildAnatomy(params, seed);
  const grid = centredGrid(o.size, o.fov);
  const centre = anatomy.frame.z(o.centreZ ?? DEFAULT_CENTRE_Z_MM);
  const zs = sliceCentres(o.slices, o.spacing, centre);
  const slices = zs.map((z) =>
    renderSlice(grid, anatomy.layers, z, { background: -1000, thickness: o.spacing, zSamples: o.zSamples ?? 2 }),
  );
  return {
    volume: phantomVolume(grid, o, slices, {
      modality: 'CT',
      units: 'HU',
      description: `BODY phantom seed ${seed} ${params.phase === 'none' ? 'non-contrast' : params.phase}`,
    }),
    geometry: {
      phantom: 'body',
      seed,
      phase: params.phase,
      params,
      lesions: anatomy.lesions,
      l1Z: anatomy.frame.z(0),
    },
    origin: [grid.x0, grid.y0, zs[0]!],
  };
}
