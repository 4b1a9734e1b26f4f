/**
 * One interface over the ways lowdose can denoise a batch of slices: the diffusion model (through
 * the model card, sampler and runtime) or a classical filter. The series loop in ./denoise.ts does
 * not care which.
 */
import {
  createSampler,
  denoiseSlices,
  describeConsistency,
  resolveConsistency,
  textureWeight,
  type ConsistencySettings,
  type SamplerName,
  type SliceInput,
} from '../diffusion/index.js';
import { readSliceImage, type Series } from '../dicom/index.js';
import type { Image2D } from '../image.js';
import { LowdoseError } from '../errors.js';
import { classicalDenoise, estimateSeriesNoise, type ClassicalMethod } from '../filters/index.js';
import { loadModel, normalizationFor, type LoadedModel, type ModelCard, type UncertaintyCalibrationEntry } from '../models/index.js';
import { formatDeviceReport } from '../runtime/index.js';
import type { DenoiseMethod, DenoiseOptions, TextureReport } from './types.js';

export interface SliceBatchResult {
  readonly denoised: Float32Array[];
  readonly std: Float32Array[] | null;
  /** Every ensemble member per slice, when the denoiser keeps them (`--hallucination`). */
  readonly samples?: Float32Array[][] | null;
  /** Time inside the network (0 for filters). */
  readonly modelMs: number;
}

export interface SliceDenoiser {
  readonly method: DenoiseMethod;
  readonly modelName: string | null;
  /** Goes into DerivationDescription and the report. */
  readonly derivationDescription: string;
  /** Appended to SeriesDescription. */
  readonly descriptionSuffix: string;
  readonly device: string;
  readonly deviceReport: string | null;
  readonly steps: number | null;
  readonly seed: number;
  readonly samples: number;
  readonly guidance: number | null;
  /** Measurement consistency (diffusion only); null = off. */
  readonly consistency: ConsistencySettings | null;
  /** The output texture and, for 'full-dose', the dose it assumes. */
  readonly texture: TextureReport;
  /** Warnings about the settings, added to every series' report (E_DOSE_UNKNOWN). */
  readonly warnings: ReadonlyArray<{ path: string | null; code: string; message: string }>;
  /** Whether slices need their two neighbours (2.5D models). */
  readonly neighbours: boolean;
  /** The card's calibration for this ensemble size, when `--uncertainty` / `--hallucination` asked for it. */
  readonly uncertainty: ResolvedUncertainty | null;
  /** Readies the denoiser for one series; throws when it cannot handle it (units, size). */
  prepare(series: Series): Promise<void>;
  denoise(slices: readonly SliceInput[]): Promise<SliceBatchResult>;
  release(): Promise<void>;
}

/** What turns this run's ensemble spread into a calibrated SD (src/metrics/uncertainty.ts). */
export interface ResolvedUncertainty extends UncertaintyCalibrationEntry {
  /** sigma above which a pixel counts as uncertain in the report, in `units`. */
  readonly threshold: number;
  readonly units: string;
}

/**
 * The card's calibration for `samples` members, or E_MODEL / E_USAGE saying why there is none:
 * an uncalibrated spread is not an error estimate.
 */
export function resolveUncertainty(card: ModelCard, samples: number, threshold?: number): ResolvedUncertainty {
  const block = card.uncertainty;
  if (!block) {
    throw new LowdoseError(
      'E_MODEL',
      `model ${card.name} has no uncertainty calibration (card block "uncertainty"); make one with npx tsx scripts/uncertainty/calibrate.ts --write-card`,
    );
  }
  const entry = block.calibration.find((c) => c.samples === samples);
  if (!entry) {
    const known = block.calibration.map((c) => c.samples).join(', ');
    throw new LowdoseError('E_USAGE', `model ${card.name} is calibrated for --samples ${known}, not ${samples}; leave --samples out for its default (${block.samples})`);
  }
  return { ...entry, threshold: threshold ?? block.threshold, units: block.units };
}

/** The shipped model for each modality, used when --model is not given. */
export const DEFAULT_MODELS: Record<'CT' | 'PT', string> = { CT: 'lowdose-ct', PT: 'lowdose-pet' };

/** What the memory plan (./memory-budget.ts) imposes on the network. */
export interface DenoiserLimits {
  /** Most input pixels per forward call. */
  readonly maxForwardPixels?: number;
}

export async function createSliceDenoiser(
  modality: 'CT' | 'PT',
  options: DenoiseOptions,
  log: (message: string) => void,
  limits: DenoiserLimits = {},
): Promise<SliceDenoiser> {
  const method = options.method ?? 'diffusion';
  if (method === 'diffusion') return createDiffusionDenoiser(modality, options, log, limits);
  if ((options.texture ?? 'smooth') !== 'smooth') {
    // The share put back assumes the denoiser's output is the posterior mean of a model trained
    // toward full dose (src/diffusion/texture.ts); a filter's output is not.
    throw new LowdoseError('E_USAGE', `--texture ${options.texture} needs --method diffusion (the ${method} filter has no full-dose texture mode)`);
  }
  return createClassicalDenoiser(method, options);
}

async function createDiffusionDenoiser(
  modality: 'CT' | 'PT',
  options: DenoiseOptions,
  log: (message: string) => void,
  limits: DenoiserLimits,
): Promise<SliceDenoiser> {
  const modelName = options.model ?? DEFAULT_MODELS[modality];
  const model: LoadedModel = await loadModel(modelName, {
    ...(options.device ? { device: options.device } : {}),
    ...(options.threads ? { threads: options.threads } : {}),
    ...(limits.maxForwardPixels !== undefined ? { maxForwardPixels: limits.maxForwardPixels } : {}),
  });
  const card = model.card;
  if (!card.modalities.includes(modality)) {
    await model.release();
    throw new LowdoseError('E_MODEL', `model ${card.name} is for ${card.modalities.join(', ')}, not ${modality}`);
  }
  const resolveUncertaintyOrRelease = (c: ModelCard, k: number, threshold?: number): ResolvedUncertainty => {
    try {
      return resolveUncertainty(c, k, threshold);
    } catch (error) {
      void model.release();
      throw error;
    }
  };
  const norm = normalizationFor(card, modality);
  const sampler = createSampler(card, {
    ...(options.sampler ? { name: options.sampler } : {}),
    ...(options.strength !== undefined ? { strength: options.strength } : {}),
  });
  const steps = options.steps ?? card.sampler.steps;
  const seed = options.seed ?? 0;
  const wantsCalibration = Boolean(options.uncertainty || options.hallucination);
  const samples = options.samples ?? (wantsCalibration ? (card.uncertainty?.samples ?? 1) : 1);
  const uncertainty = wantsCalibration ? resolveUncertaintyOrRelease(card, samples, options.uncertaintyThreshold) : null;
  const guidance = options.guidance ?? card.guidance.default;
  const consistency = resolveConsistency(card.sampler.consistency, options.consistency);
  const doseLevel = options.doseLevel ?? 0;
  let textureChoice: ReturnType<typeof textureSettings>;
  try {
    textureChoice = textureSettings(options.texture ?? 'smooth', doseLevel, card.texture?.defaultDose, card.name);
  } catch (error) {
    await model.release();
    throw error;
  }
  const { texture, warnings } = textureChoice;
  const device = model.device.used;
  const deviceReport = formatDeviceReport(model.device);
  log(`model ${card.name} on ${deviceReport}`);
  const samplerName = options.sampler ?? card.sampler.default;
  const settings = [
    `lowdose diffusion model ${card.name}${card.version ? ` v${card.version}` : ''}`,
    `sampler ${samplerName}`,
    ...(options.strength !== undefined ? [`strength ${options.strength}`] : []),
    `steps ${steps}`,
    `seed ${seed}`,
    `samples ${samples}`,
    `guidance ${guidance}`,
    // Only when on, so that a run without it keeps today's DerivationDescription.
    ...(consistency ? [describeConsistency(consistency)] : []),
    doseLevel > 0 ? `dose ${doseLevel}` : 'dose unknown',
    // Only when full-dose, so that a smooth run keeps today's DerivationDescription.
    ...(texture.mode === 'full-dose'
      ? [`texture full-dose (w ${round(texture.weight!, 4)} of the removed noise put back, for dose ${texture.dose}${texture.doseFrom === 'model card' ? ' assumed' : ''})`]
      : []),
  ].join(', ');
  let shape: { rows: number; columns: number; pixelSpacing: [number, number] } | null = null;
  return {
    method: 'diffusion',
    modelName: card.name,
    derivationDescription: settings,
    descriptionSuffix: 'lowdose denoised',
    device,
    deviceReport,
    steps,
    seed,
    samples,
    guidance,
    consistency,
    texture,
    warnings,
    neighbours: card.neighbours === 1,
    uncertainty,
    async prepare(series) {
      if (series.units !== norm.units) {
        const why = series.warnings.find((w) => w.code === 'E_SUV_UNAVAILABLE');
        throw new LowdoseError(
          why ? 'E_SUV_UNAVAILABLE' : 'E_MODEL',
          `model ${card.name} works in ${norm.units} but series ${series.seriesInstanceUid} is in ${series.units}${why ? `: ${why.message}` : ''}`,
          series.slices[0] ? { path: series.slices[0].file } : {},
        );
      }
      shape = { rows: series.rows, columns: series.columns, pixelSpacing: [series.spacing[0], series.spacing[1]] };
    },
    async denoise(slices) {
      if (!shape) throw new LowdoseError('E_INTERNAL', 'prepare(series) must be called before denoise');
      const before = model.stats.forwardMs;
      const result = await denoiseSlices(
        model,
        slices.map((s) => ({ ...s, doseLevel: s.doseLevel ?? doseLevel })),
        {
          rows: shape.rows,
          columns: shape.columns,
          modality,
          units: norm.units,
          sampler,
          steps,
          seed,
          guidance,
          samples,
          consistency,
          pixelSpacing: shape.pixelSpacing,
          texture: texture.mode,
          ...(texture.dose !== undefined ? { textureDose: texture.dose } : {}),
          keepSamples: Boolean(options.hallucination),
        },
      );
      return { denoised: result.denoised, std: result.std, samples: result.samples, modelMs: model.stats.forwardMs - before };
    },
    release: () => model.release(),
  };
}

/**
 * What full-dose texture will assume: the input's dose when given, else the model card's default
 * (with an E_DOSE_UNKNOWN warning); no dose at all is a usage error.
 */
export function textureSettings(
  mode: TextureReport['mode'],
  doseLevel: number,
  cardDefault: number | undefined,
  modelName: string,
): { texture: TextureReport; warnings: Array<{ path: string | null; code: string; message: string }> } {
  if (mode === 'smooth') return { texture: { mode }, warnings: [] };
  if (doseLevel > 0) return { texture: { mode, dose: doseLevel, doseFrom: 'input', weight: textureWeight(doseLevel) }, warnings: [] };
  if (cardDefault === undefined) {
    throw new LowdoseError('E_USAGE', `--texture ${mode} needs the input's dose (--dose): model ${modelName} has no texture.defaultDose`);
  }
  const message =
    `the input's dose is unknown: full-dose texture assumes ${cardDefault} (model ${modelName}'s default) and puts back ` +
    `${round(textureWeight(cardDefault), 3)} of the removed noise; give --dose for the right amount`;
  return {
    texture: { mode, dose: cardDefault, doseFrom: 'model card', weight: textureWeight(cardDefault) },
    warnings: [{ path: null, code: 'E_DOSE_UNKNOWN', message }],
  };
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Up to 16 evenly spaced slices of a series, read one at a time. */
async function sampleSlices(series: Series, count = 16): Promise<Image2D[]> {
  const n = series.slices.length;
  const picks = [...new Set(Array.from({ length: Math.min(n, count) }, (_, k) => (n <= count ? k : Math.round((k * (n - 1)) / (count - 1)))))];
  const images: Image2D[] = [];
  for (const index of picks) images.push(await readSliceImage(series, index));
  return images;
}

function createClassicalDenoiser(method: ClassicalMethod, options: DenoiseOptions): SliceDenoiser {
  let current: { series: Series; modality: 'CT' | 'PT'; noiseStd: number | undefined } | null = null;
  let description = '';
  return {
    method,
    modelName: null,
    get derivationDescription() {
      return description || `lowdose ${method} filter`;
    },
    descriptionSuffix: `lowdose ${method}`,
    device: 'cpu',
    deviceReport: null,
    steps: null,
    seed: options.seed ?? 0,
    samples: 1,
    guidance: null,
    consistency: null,
    texture: { mode: 'smooth' },
    warnings: [],
    neighbours: false,
    uncertainty: null,
    async prepare(series) {
      const modality = series.modality as 'CT' | 'PT';
      // One noise level per series, so every slice gets the same filter strength. The Gaussian's
      // width is in mm and needs none: a slice without measurable noise must not fail it.
      const noiseStd = method === 'gaussian' ? undefined : estimateSeriesNoise(await sampleSlices(series), modality);
      current = { series, modality, noiseStd };
    },
    async denoise(slices) {
      if (!current) throw new LowdoseError('E_INTERNAL', 'prepare(series) must be called before denoise');
      const { series, modality, noiseStd } = current;
      const denoised = slices.map((slice) => {
        const result = classicalDenoise(
          method,
          { rows: series.rows, columns: series.columns, data: slice.image, pixelSpacing: [series.spacing[0], series.spacing[1]] },
          { modality, units: series.units, ...(noiseStd === undefined ? {} : { noiseStd }) },
        );
        description = `lowdose ${method} filter: ${result.description}`;
        return result.data;
      });
      return { denoised, std: null, modelMs: 0 };
    },
    release: async () => {},
  };
}
