/**
 * One interface over the ways lowdose can denoise a batch of slices: the diffusion model (through
 * the model card, sampler and runtime) or a classical filter. The series loop in ./denoise.ts does
 * not care which.
 */
import type { ConsistencySettings } from '../diffusion/index.js';
import { readSliceImage, type Series } from '../dicom/index.js';
import type { Image2D } from '../image.js';
import { LowdoseError } from '../errors.js';
import { classicalDenoise, describeClassical, estimateSeriesNoise, filterWidthWarning, type ClassicalDenoiseParams, type ClassicalMethod, type LowBandSettings } from '../filters/index.js';
import { modelFingerprintVersion, type ProcessingEquipment } from '../dicom/contributing-equipment.js';
import { Denoiser, fingerprintStillHolds, modelFingerprint, type DenoiserSettings, type ModelFingerprint, type ResolvedUncertainty, type SliceInput } from '../models/index.js';
import { pixelSpacingWarning } from '../models/pixel-spacing.js';
import { withoutUndefined } from '../util/defined.js';
import { DENOISE_PIPELINE } from './memory-budget.js';
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
  /** The model files that ran, hashed when the model was loaded (src/models/fingerprint.ts); null for a filter. */
  readonly modelFingerprint: ModelFingerprint | null;
  /** What the derived series' Contributing Equipment item names: the model (with its fingerprint) or the filter. */
  readonly equipment: ProcessingEquipment;
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
  /** Flips and turns each prediction is averaged over; null for a filter. */
  readonly orientations: number | null;
  /** Measurement consistency (diffusion only); null = off. */
  readonly consistency: ConsistencySettings | null;
  /** Low-band denoising after the reverse process (diffusion only); null = off. */
  readonly lowBand: LowBandSettings | null;
  /** The output texture and, for 'full-dose', the dose it assumes. */
  readonly texture: TextureReport;
  /** Warnings about the settings, added to every series' report (E_DOSE_UNKNOWN). */
  readonly warnings: ReadonlyArray<{ path: string | null; code: string; message: string }>;
  /** Warnings about one series under these settings (E_PIXEL_SPACING: outside the model's training pixel sizes; E_FILTER_WIDTH: a filter width under a pixel). */
  seriesWarnings(series: Series): Array<{ path: string | null; code: string; message: string }>;
  /** Whether slices need their two neighbours (2.5D models). */
  readonly neighbours: boolean;
  /** The card's calibration for this ensemble size, when `--uncertainty` / `--hallucination` asked for it. */
  readonly uncertainty: ResolvedUncertainty | null;
  /**
   * The prepared series' input noise SD (estimateSeriesNoise over up to 16 slices) when the
   * calibration has a series noise term (noiseLevelScale > 0), else null.
   */
  readonly inputNoise: number | null;
  /** Readies the denoiser for one series; throws when it cannot handle it (units, size). */
  prepare(series: Series): Promise<void>;
  /**
   * `outputs`, one array per slice, receive the denoised values when the denoiser can write into
   * them (the diffusion model; filters return their own arrays): a caller that reuses them saves an
   * allocation per slice.
   */
  denoise(slices: readonly SliceInput[], outputs?: readonly Float32Array[]): Promise<SliceBatchResult>;
  /**
   * Milliseconds in the network so far, all calls together (0 for filters). With batches in
   * flight together a call's own `modelMs` also counts the other's passes; differences of this do not.
   */
  readonly forwardMs: number;
  release(): Promise<void>;
}

/** Moved with the Denoiser (src/models/denoiser.ts); re-exported for the callers that import them from here. */
export { DEFAULT_MODELS, resolveUncertainty, textureSettings, type ResolvedUncertainty } from '../models/denoiser.js';

/** What the memory plan (./memory-budget.ts) imposes on the network. */
export interface DenoiserLimits {
  /** Most input pixels per forward call. */
  readonly maxForwardPixels?: number;
}

/**
 * The run's denoiser for `modality`, its model loaded. `plan`: this run's planSliceDenoiser of it,
 * whose hash of the model files the denoiser keeps where the files are unchanged since.
 */
export async function createSliceDenoiser(
  modality: 'CT' | 'PT',
  options: DenoiseOptions,
  log: (message: string) => void,
  limits: DenoiserLimits = {},
  plan?: SliceDenoiserPlan,
): Promise<SliceDenoiser> {
  const method = options.method ?? 'diffusion';
  if (method === 'diffusion') return createDiffusionDenoiser(modality, options, log, limits, plan?.modelFingerprint ?? null);
  checkFilterTexture(method, options);
  return createClassicalDenoiser(method, options);
}

/** A filter has no full-dose texture: `--texture` other than smooth is E_USAGE with it. */
function checkFilterTexture(method: ClassicalMethod, options: DenoiseOptions): void {
  if ((options.texture ?? 'smooth') !== 'smooth') {
    // The share put back assumes the denoiser's output is the posterior mean of a model trained
    // toward full dose (src/diffusion/texture.ts); a filter's output is not.
    throw new LowdoseError('E_USAGE', `--texture ${options.texture} needs --method diffusion (the ${method} filter has no full-dose texture mode)`);
  }
}

/** The run's diffusion settings as the Denoiser takes them (each one left out is the card's). */
function denoiserSettingsOf(options: DenoiseOptions): DenoiserSettings {
  return {
    ...withoutUndefined({
      sampler: options.sampler,
      steps: options.steps,
      seed: options.seed,
      samples: options.samples,
      guidance: options.guidance,
      orientations: options.orientations,
      consistency: options.consistency,
      lowBand: options.lowBand,
      consistencyPilot: options.consistencyPilot,
      texture: options.texture,
      doseLevel: options.doseLevel,
      uncertainty: options.uncertainty,
      hallucination: options.hallucination,
      uncertaintyThreshold: options.uncertaintyThreshold,
    }),
    ...(options.strength !== undefined ? { samplerSettings: { strength: options.strength } } : {}),
  };
}

/**
 * What a SliceDenoiser of this run makes, as far as a finished series must agree with it
 * (./made-with.ts, ./extra-outputs.ts), known without opening a model: the card read and the
 * settings resolved against it (Denoiser.plan), the model files hashed; for a filter, its method.
 */
export type SliceDenoiserPlan = Pick<SliceDenoiser, 'method' | 'modelName' | 'modelFingerprint' | 'derivationDescription' | 'samples' | 'uncertainty'>;

/** The SliceDenoiserPlan of `createSliceDenoiser(modality, options)`, without loading the model (the same usage errors). */
export async function planSliceDenoiser(modality: 'CT' | 'PT', options: DenoiseOptions): Promise<SliceDenoiserPlan> {
  const method = options.method ?? 'diffusion';
  if (method !== 'diffusion') {
    checkFilterTexture(method, options);
    const filter = createClassicalDenoiser(method, options);
    return { method, modelName: filter.modelName, modelFingerprint: filter.modelFingerprint, derivationDescription: filter.derivationDescription, samples: filter.samples, uncertainty: filter.uncertainty };
  }
  const plan = await Denoiser.plan(options.model, { modality, ...denoiserSettingsOf(options) });
  return {
    method,
    modelName: plan.card.name,
    // The model files are hashed: SIGINT / SIGTERM stops that read as it stops a load.
    modelFingerprint: await modelFingerprint(plan.files.cardPath, options.signal),
    derivationDescription: plan.description,
    samples: plan.samples,
    uncertainty: plan.uncertainty,
  };
}

async function createDiffusionDenoiser(
  modality: 'CT' | 'PT',
  options: DenoiseOptions,
  log: (message: string) => void,
  limits: DenoiserLimits,
  planned: ModelFingerprint | null,
): Promise<SliceDenoiser> {
  const denoiser = await Denoiser.load(options.model, {
    modality,
    log,
    // The network on its own thread, so that this one prepares and writes other batches meanwhile.
    worker: DENOISE_PIPELINE.networkOnWorker,
    ...withoutUndefined({
      device: options.device,
      threads: options.threads,
      maxForwardPixels: limits.maxForwardPixels,
    }),
    ...denoiserSettingsOf(options),
    // SIGINT / SIGTERM during the load stops it (E_CANCELLED) rather than waiting for it.
    ...(options.signal !== undefined ? { signal: options.signal } : {}),
  });
  let shape: { rows: number; columns: number; pixelSpacing: [number, number] } | null = null;
  let inputNoise: number | null = null;
  let fingerprint: ModelFingerprint;
  try {
    // The plan's hash of the model files, where they are still the files it read (not read a second time).
    const cardPath = denoiser.model.files.cardPath;
    fingerprint = planned && (await fingerprintStillHolds(planned, cardPath)) ? planned : await modelFingerprint(cardPath);
  } catch (error) {
    await denoiser.release();
    throw error;
  }
  return {
    method: 'diffusion',
    modelName: denoiser.card.name,
    modelFingerprint: fingerprint,
    equipment: { modelName: denoiser.card.name, softwareVersions: [modelFingerprintVersion(fingerprint.sha256)] },
    derivationDescription: denoiser.description,
    descriptionSuffix: 'lowdose denoised',
    device: denoiser.device,
    deviceReport: denoiser.deviceReport,
    steps: denoiser.steps,
    seed: denoiser.seed,
    samples: denoiser.samples,
    guidance: denoiser.guidance,
    orientations: denoiser.orientations,
    consistency: denoiser.consistency,
    lowBand: denoiser.lowBand,
    texture: denoiser.texture,
    warnings: denoiser.warnings,
    seriesWarnings(series) {
      const warning = pixelSpacingWarning(denoiser.card, series.key, [series.spacing[0], series.spacing[1]]);
      return warning ? [warning] : [];
    },
    neighbours: denoiser.neighbours,
    uncertainty: denoiser.uncertainty,
    get inputNoise() {
      return inputNoise;
    },
    get forwardMs() {
      return denoiser.model.stats.forwardMs;
    },
    async prepare(series) {
      denoiser.checkSeries(series);
      shape = { rows: series.rows, columns: series.columns, pixelSpacing: [series.spacing[0], series.spacing[1]] };
      // What scripts/uncertainty/calibrate.ts measured the card's series term with.
      inputNoise = denoiser.uncertainty?.noiseLevelScale ? estimateSeriesNoise(await sampleSlices(series), modality) : null;
    },
    async denoise(slices, outputs) {
      if (!shape) throw new LowdoseError('E_INTERNAL', 'prepare(series) must be called before denoise');
      const result = await denoiser.denoise(slices, shape, { keepSamples: Boolean(options.hallucination), ...(outputs ? { outputs } : {}) });
      return { denoised: result.denoised, std: result.std, samples: result.samples, modelMs: result.modelMs };
    },
    release: () => denoiser.release(),
  };
}

/** Up to 16 evenly spaced slices of a series, read one at a time (what estimateSeriesNoise is given). */
export async function sampleSlices(series: Series, count = 16): Promise<Image2D[]> {
  const n = series.slices.length;
  const picks = [...new Set(Array.from({ length: Math.min(n, count) }, (_, k) => (n <= count ? k : Math.round((k * (n - 1)) / (count - 1)))))];
  const images: Image2D[] = [];
  for (const index of picks) images.push(await readSliceImage(series, index));
  return images;
}

function createClassicalDenoiser(method: ClassicalMethod, options: DenoiseOptions): SliceDenoiser {
  let current: { series: Series; params: ClassicalDenoiseParams } | null = null;
  let description = '';
  return {
    method,
    modelName: null,
    modelFingerprint: null,
    equipment: { modelName: `${method} filter` },
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
    orientations: null,
    consistency: null,
    lowBand: null,
    texture: { mode: 'smooth' },
    warnings: [],
    seriesWarnings(series) {
      const warning = filterWidthWarning(method, series.modality as 'CT' | 'PT', series.key, [series.spacing[0], series.spacing[1]]);
      return warning ? [warning] : [];
    },
    neighbours: false,
    uncertainty: null,
    inputNoise: null,
    async prepare(series) {
      const modality = series.modality as 'CT' | 'PT';
      // One noise level per series, so every slice gets the same filter strength. The Gaussian's
      // width is in mm and needs none: a slice without measurable noise must not fail it.
      const noiseStd = method === 'gaussian' ? undefined : estimateSeriesNoise(await sampleSlices(series), modality);
      const params: ClassicalDenoiseParams = { modality, units: series.units, ...(noiseStd === undefined ? {} : { noiseStd, noiseFrom: 'series' as const }) };
      current = { series, params };
      // Known before the first slice: the derived series' writer takes it when it is created.
      description = `lowdose ${method} filter: ${describeClassical(method, params).description}`;
    },
    async denoise(slices) {
      if (!current) throw new LowdoseError('E_INTERNAL', 'prepare(series) must be called before denoise');
      const { series, params } = current;
      const denoised = slices.map(
        (slice) =>
          classicalDenoise(method, { rows: series.rows, columns: series.columns, data: slice.image, pixelSpacing: [series.spacing[0], series.spacing[1]] }, params).data,
      );
      return { denoised, std: null, modelMs: 0 };
    },
    forwardMs: 0,
    release: async () => {},
  };
}
