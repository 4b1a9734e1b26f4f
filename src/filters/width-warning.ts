/**
 * Does a classical filter's default width act on this series' pixels at all?
 *
 * The CT defaults were tuned on 0.7 to 0.8 mm pixels (docs/filters.md): a 0.35 mm Gaussian or a
 * 1 mm bilateral spatial sigma. On a coarser grid the same width in mm is a fraction of a pixel,
 * and below about 0.4 pixels a pixel's nearest neighbours weigh under 5 % of the centre: the
 * "filtered" series is nearly the input, and a comparison would credit the filter with nothing
 * while the report names it. This says so, as E_PIXEL_SPACING does for the model.
 */
import type { ClassicalMethod } from '../choices.js';
import { CLASSICAL_DEFAULTS } from './denoise.js';
import type { FilterModality } from './noise.js';

/** Nearest-neighbour weight exp(-1 / (2 sigma^2)) below which a Gaussian spatial kernel is said to do almost nothing. */
export const MIN_NEIGHBOUR_WEIGHT = 0.05;

export interface FilterWidthWarning {
  readonly path: null;
  readonly code: 'E_FILTER_WIDTH';
  readonly message: string;
}

/** The spatial sigma in mm that `method` uses by default, or null for filters without one (NLM: windows in pixels). */
export function defaultSpatialSigmaMm(method: ClassicalMethod, modality: FilterModality): number | null {
  const defaults = CLASSICAL_DEFAULTS[modality];
  if (method === 'gaussian') return defaults.sigmaMm;
  if (method === 'bilateral') return defaults.sigmaSpatialMm;
  return null;
}

/** The warning for a series of this pixel spacing ([row, column] mm), or null when the default width acts on it. */
export function filterWidthWarning(
  method: ClassicalMethod,
  modality: FilterModality,
  seriesKey: string,
  spacing: readonly [number, number],
): FilterWidthWarning | null {
  const sigmaMm = defaultSpatialSigmaMm(method, modality);
  if (sigmaMm === null) return null;
  const coarsest = Math.max(spacing[0], spacing[1]);
  const sigmaPx = sigmaMm / coarsest;
  const weight = Math.exp(-1 / (2 * sigmaPx * sigmaPx));
  if (!(weight < MIN_NEIGHBOUR_WEIGHT)) return null;
  const percent = weight * 100 < 0.1 ? '< 0.1' : (weight * 100).toFixed(1);
  return {
    path: null,
    code: 'E_FILTER_WIDTH',
    message:
      `${seriesKey}: the ${method} filter's spatial sigma of ${sigmaMm} mm is ${sigmaPx.toFixed(2)} of a ${coarsest.toFixed(2)} mm pixel, ` +
      `so a pixel's nearest neighbours weigh ${percent} % of it and the filter changes almost nothing; ` +
      'its defaults were tuned on finer pixels (docs/filters.md)',
  };
}
