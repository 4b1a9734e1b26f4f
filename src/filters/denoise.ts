/**
 * The classical baselines behind `lowdose denoise --method gaussian|bilateral|nlm`: one entry point
 * with defaults per modality, and a description of the settings actually used (it goes into the
 * output DICOM's DerivationDescription and report.json).
 *
 * Strengths of the edge-preserving filters scale with the noise SD of the input (given, or
 * estimated from the slice: ./noise.ts), so the defaults hold across doses; the Gaussian width is
 * fixed in mm. The defaults were tuned for PSNR against the normal-dose image on real CT at 25 %
 * and 10 % dose (noise inserted at each volume's calibrated i0) and real PET at 25 % counts
 * (docs/filters.md, `npx tsx scripts/bench/filters.ts --tune`).
 */
import { CLASSICAL_METHODS, type ClassicalMethod } from '../choices.js';
import { LowdoseError } from '../errors.js';
import type { Image2D } from '../image.js';
import { bilateralFilter, BILATERAL_TRUNCATE } from './bilateral.js';
import { gaussianFilter, GAUSSIAN_TRUNCATE } from './gaussian.js';
import { nlmFilter } from './nlm.js';
import { estimateFilterNoise, type FilterModality, type NoiseLevel } from './noise.js';

export { CLASSICAL_METHODS, type ClassicalMethod } from '../choices.js';

/**
 * Settings of the classical filters. Each method reads only its own fields (and `modality`,
 * `units`, `noiseStd`); widths take either the mm or the px form.
 */
export interface ClassicalDenoiseParams {
  /** Picks the defaults and how noise is estimated (default 'CT'). */
  readonly modality?: FilterModality;
  /** Image units for the description (default 'HU' for CT, none for PET). */
  readonly units?: string;
  /** Noise SD of the input in image units; default: estimated from the slice. */
  readonly noiseStd?: number;
  /**
   * Where `noiseStd` came from, for the description: 'given' (default), or 'series' when it was
   * estimated once for the whole series (`estimateSeriesNoise`, as `denoise` does).
   */
  readonly noiseFrom?: 'given' | 'series';
  /** gaussian: standard deviation. */
  readonly sigmaMm?: number;
  readonly sigmaPx?: number;
  /** bilateral: spatial standard deviation. */
  readonly sigmaSpatialMm?: number;
  readonly sigmaSpatialPx?: number;
  /** bilateral: range standard deviation in image units; default rangeFactor x noise SD. */
  readonly sigmaRange?: number;
  readonly rangeFactor?: number;
  /** nlm: strength in image units; default hFactor x noise SD. */
  readonly h?: number;
  readonly hFactor?: number;
  /** nlm: patch and search half-widths in pixels. */
  readonly patchRadius?: number;
  readonly searchRadius?: number;
}

export interface ClassicalDefaults {
  readonly sigmaMm: number;
  readonly sigmaSpatialMm: number;
  readonly rangeFactor: number;
  readonly hFactor: number;
  readonly patchRadius: number;
  readonly searchRadius: number;
}

/**
 * Tuned for mean PSNR on volumes that the model card does not test on; grids and scores are in
 * docs/filters.md. CT: each default has the best mean gain over the input across 25 % and 10 %
 * dose (noise at each volume's calibrated i0), an interior optimum of its grid: Gaussian 0.35 mm
 * (+0.95 / +1.80 dB; the earlier 0.5 mm scored 1.7 dB below its input at 25 %), bilateral 1 mm
 * with range 2 x noise SD (+2.67 / +4.22 dB), NLM 3x3 patches, 7x7 search, h 1 x noise SD
 * (+3.08 / +5.19 dB). Small patches suit noise this low against the [-1000, 1000] HU range (the
 * IPOL 2011 table also takes 3x3 for low noise), and a small search window beat 11x11 and 21x21:
 * distant patches in CT and PET are rarely similar enough to help, and each adds some bias. PET: 25 %
 * counts, choosing among near-ties what also did best at 10 %.
 */
export const CLASSICAL_DEFAULTS: Readonly<Record<FilterModality, ClassicalDefaults>> = Object.freeze({
  CT: Object.freeze({ sigmaMm: 0.35, sigmaSpatialMm: 1.0, rangeFactor: 2, hFactor: 1, patchRadius: 1, searchRadius: 3 }),
  PT: Object.freeze({ sigmaMm: 4.5, sigmaSpatialMm: 5.0, rangeFactor: 6, hFactor: 1.6, patchRadius: 2, searchRadius: 3 }),
});

/** The settings a run used, for report.json. Numbers in image units unless the key says otherwise. */
export type ClassicalSettings = Readonly<Record<string, number | string>>;

export interface ClassicalDenoiseResult {
  /** The filtered slice, same size and spacing as the input. */
  readonly data: Float32Array;
  /** One line, e.g. "non-local means, 3x3 patches, 7x7 search, h 25.3 HU (1 x noise SD), noise SD 25.3 HU (estimated in soft tissue)". */
  readonly description: string;
  readonly settings: ClassicalSettings;
}

export function classicalDenoise(method: ClassicalMethod, image: Image2D, params: ClassicalDenoiseParams = {}): ClassicalDenoiseResult {
  const plan = classicalPlan(method, params, (modality) => noiseOf(image, modality, params.noiseStd, params.noiseFrom));
  return { data: plan.filter(image), description: plan.description, settings: plan.settings };
}

/**
 * What `classicalDenoise` with these params will report (description and settings) before any
 * slice is filtered, so that a derived series' DerivationDescription can be written from its
 * first file on. Bilateral (without `sigmaRange`) and NLM need `noiseStd`: without an image there
 * is nothing to estimate it from.
 */
export function describeClassical(method: ClassicalMethod, params: ClassicalDenoiseParams): Omit<ClassicalDenoiseResult, 'data'> {
  const { description, settings } = classicalPlan(method, params, () => {
    if (params.noiseStd === undefined) throw new LowdoseError('E_USAGE', `describing ${method} without an image needs noiseStd`);
    return givenNoise(params.noiseStd, params.noiseFrom);
  });
  return { description, settings };
}

interface ClassicalPlan extends Omit<ClassicalDenoiseResult, 'data'> {
  filter(image: Image2D): Float32Array;
}

/** The settings of one classical run and the filter that applies them; `noise` is asked only when a strength needs it. */
function classicalPlan(method: ClassicalMethod, params: ClassicalDenoiseParams, noiseFor: (modality: FilterModality) => NoiseLevel): ClassicalPlan {
  const modality = params.modality ?? 'CT';
  if (modality !== 'CT' && modality !== 'PT') throw new LowdoseError('E_USAGE', `classical filters know modality CT or PT, got ${String(modality)}`);
  const defaults = CLASSICAL_DEFAULTS[modality];
  const units = params.units ?? (modality === 'CT' ? 'HU' : '');
  const u = units ? ` ${units}` : '';
  switch (method) {
    case 'gaussian': {
      const width = widthParams(params.sigmaMm, params.sigmaPx, defaults.sigmaMm);
      return {
        filter: (image) => gaussianFilter(image, { sigmaMm: width.mm, sigmaPx: width.px, truncate: GAUSSIAN_TRUNCATE }).data,
        description: `Gaussian filter, sigma ${width.text}, truncated at ${GAUSSIAN_TRUNCATE} sigma`,
        settings: { method, modality, ...width.settings('sigma'), truncate: GAUSSIAN_TRUNCATE },
      };
    }
    case 'bilateral': {
      const width = widthParams(params.sigmaSpatialMm, params.sigmaSpatialPx, defaults.sigmaSpatialMm);
      const rangeFactor = params.rangeFactor ?? defaults.rangeFactor;
      checkPositive(rangeFactor, 'rangeFactor');
      let sigmaRange = params.sigmaRange;
      let derived = '';
      let noise: NoiseLevel | null = null;
      if (sigmaRange === undefined) {
        noise = noiseFor(modality);
        sigmaRange = rangeFactor * noise.std;
        derived = ` (${fmt(rangeFactor)} x noise SD ${fmt(noise.std)}${u}, ${noiseSource(noise)})`;
      }
      checkPositive(sigmaRange, 'sigmaRange');
      const range = sigmaRange;
      return {
        filter: (image) => bilateralFilter(image, { sigmaSpatialMm: width.mm, sigmaSpatialPx: width.px, sigmaRange: range, truncate: BILATERAL_TRUNCATE }).data,
        description: `bilateral filter, spatial sigma ${width.text}, range sigma ${fmt(sigmaRange)}${u}${derived}`,
        settings: {
          method,
          modality,
          ...width.settings('sigmaSpatial'),
          sigmaRange,
          ...(noise ? { rangeFactor, noiseStd: noise.std, noiseFrom: noiseSource(noise) } : {}),
          truncate: BILATERAL_TRUNCATE,
        },
      };
    }
    case 'nlm': {
      const patchRadius = params.patchRadius ?? defaults.patchRadius;
      const searchRadius = params.searchRadius ?? defaults.searchRadius;
      const hFactor = params.hFactor ?? defaults.hFactor;
      checkPositive(hFactor, 'hFactor');
      // The noise SD is needed even with an explicit h: patch distances are corrected by 2 sigma^2.
      const noise = noiseFor(modality);
      const h = params.h ?? hFactor * noise.std;
      checkPositive(h, 'h');
      const patch = 2 * patchRadius + 1;
      const search = 2 * searchRadius + 1;
      const strength = params.h === undefined ? `${fmt(hFactor)} x noise SD` : 'given';
      return {
        filter: (image) => nlmFilter(image, { h, noiseStd: noise.std, patchRadius, searchRadius }).data,
        description:
          `non-local means, ${patch}x${patch} patches, ${search}x${search} search, h ${fmt(h)}${u} (${strength}), ` +
          `noise SD ${fmt(noise.std)}${u} (${noiseSource(noise)})`,
        settings: {
          method,
          modality,
          h,
          ...(params.h === undefined ? { hFactor } : {}),
          noiseStd: noise.std,
          noiseFrom: noiseSource(noise),
          patchRadius,
          searchRadius,
        },
      };
    }
    default:
      throw new LowdoseError('E_USAGE', `unknown classical method ${String(method)}; expected one of ${CLASSICAL_METHODS.join(', ')}`);
  }
}

function noiseOf(image: Image2D, modality: FilterModality, given: number | undefined, from: 'given' | 'series' = 'given'): NoiseLevel {
  return given === undefined ? estimateFilterNoise(image, modality) : givenNoise(given, from);
}

function givenNoise(given: number, from: 'given' | 'series' = 'given'): NoiseLevel {
  if (!(given >= 0) || !Number.isFinite(given)) throw new LowdoseError('E_USAGE', `noiseStd must be a finite number >= 0, got ${given}`);
  return { std: given, from };
}

const NOISE_SOURCES: Record<NoiseLevel['from'], string> = {
  given: 'given',
  series: 'estimated on the series',
  'soft tissue': 'estimated in soft tissue',
  'whole image': 'estimated on the whole slice',
};

function noiseSource(noise: NoiseLevel): string {
  return NOISE_SOURCES[noise.from];
}

interface WidthChoice {
  readonly mm?: number;
  readonly px?: number;
  readonly text: string;
  settings(name: string): Record<string, number>;
}

function widthParams(mm: number | undefined, px: number | undefined, defaultMm: number): WidthChoice {
  if (mm !== undefined && px !== undefined) throw new LowdoseError('E_USAGE', 'give a width in mm or in pixels, not both');
  if (px !== undefined) return { px, text: `${fmt(px)} px`, settings: (name) => ({ [`${name}Px`]: px }) };
  const value = mm ?? defaultMm;
  return { mm: value, text: `${fmt(value)} mm`, settings: (name) => ({ [`${name}Mm`]: value }) };
}

function checkPositive(value: number, name: string): void {
  if (!(value > 0) || !Number.isFinite(value)) throw new LowdoseError('E_USAGE', `${name} must be a positive number, got ${value}`);
}

/** Three significant digits, no exponent for the values filters use. */
function fmt(value: number): string {
  return Number(value.toPrecision(3)).toString();
}
