/**
 * A model card turned into a ready denoiser: the one place that resolves a card and the caller's
 * choices into the sampler, steps, seed, ensemble size, guidance, normalisation, measurement
 * consistency, output texture, uncertainty calibration and device (what diffusers' `DiffusionPipeline.from_pretrained`
 * does). `lowdose denoise`, the server's jobs, qa, bench, trace and the scripts all get their
 * diffusion model through `Denoiser.load`; a choice left out is the card's default.
 */
import type { SamplerName, Texture } from '../choices.js';
import { resolveConsistency, describeConsistency, type ConsistencySettings } from '../diffusion/consistency.js';
import { createSampler, type SamplerSettings } from '../diffusion/create-sampler.js';
import type { Normalization } from '../diffusion/normalization.js';
import type { StepInfo } from '../diffusion/sample.js';
import type { Sampler } from '../diffusion/sampler.js';
import { checkOrientationCount } from '../diffusion/orientations.js';
import { textureWeight, type TextureMethod } from '../diffusion/texture.js';
import { describeLowBand, resolveLowBand, type LowBandSettings } from '../filters/low-band.js';
import { Workspace } from '../diffusion/workspace.js';
import type { Series } from '../dicom/types.js';
import { LowdoseError } from '../errors.js';
import type { Image2D } from '../image.js';
import { DEFAULT_PADDING_FILL, fillPadding, nonFinitePadding, restorePadding } from '../padding.js';
import { formatDeviceReport, type Device, type DeviceRequest } from '../runtime/devices.js';
import { roundTo } from '../util/round.js';
import { latentOf, normalizationFor, type Modality, type ModelCard, type UncertaintyCalibrationEntry } from './card.js';
import { denoiseSlices, type DenoiseSlicesResult, type SliceInput } from './denoise-slices.js';
import { loadModel, resolveModelFiles, type LoadedModel, type ModelFiles } from './load.js';
import { lesionBiasWarning, type LesionBiasAtLevel } from './lesion-bias.js';
import { textureNotFullDoseWarning } from './texture-fidelity.js';

/** The shipped model for each modality: what a run without `--model` uses. */
export const DEFAULT_MODELS: Readonly<Record<Modality, string>> = { CT: 'lowdose-ct', PT: 'lowdose-pet' };

/**
 * The output texture and, for 'full-dose', the dose it assumes, where that came from, how the noise
 * is put back and the single weight w(d) for that dose.
 */
export interface TextureReport {
  readonly mode: Texture;
  readonly dose?: number;
  /** 'input': the input's dose (--dose); 'model card': the card's texture.defaultDose (a warning says so). */
  readonly doseFrom?: 'input' | 'model card';
  /** The single weight w(d): the share put back by 'single-weight' (with 'per-frequency', what it replaces). */
  readonly weight?: number;
  /** 'per-frequency': G(f) from the card's measured noise transfer (texture.transfer); 'single-weight': w(d) at every frequency. */
  readonly method?: TextureMethod;
}

/** What turns a run's ensemble spread into a calibrated SD (src/metrics/uncertainty.ts). */
export interface ResolvedUncertainty extends UncertaintyCalibrationEntry {
  /** sigma above which a pixel counts as uncertain in the report, in `units`. */
  readonly threshold: number;
  readonly units: string;
}

/** A warning about the settings themselves, reported with every series they denoise. */
export interface SettingsWarning {
  readonly path: string | null;
  readonly code: string;
  readonly message: string;
  /** E_LESION_BIAS only: what its message quotes, as data (./lesion-bias.ts). */
  readonly lesionBias?: LesionBiasAtLevel;
}

/** What running the model takes: where it is, on which device, within which memory. */
export interface DenoiserLoadOptions {
  /** The modality to denoise (its normalisation; the model must support it). Default: the card's first. */
  readonly modality?: Modality;
  readonly device?: DeviceRequest;
  /** CPU threads for the model (default: onnxruntime's). */
  readonly threads?: number;
  /** Where bare model names are looked up (default: the shipped models). */
  readonly modelsDir?: string | readonly string[];
  /** Most input pixels per network call (the memory plan's limit, src/pipeline/memory-budget.ts). */
  readonly maxForwardPixels?: number;
  /** Says which model runs on which device (and why the others were passed over). */
  readonly log?: (message: string) => void;
  /**
   * Run the network on a worker thread (src/runtime/worker-session.ts), so that this thread can
   * work on other batches, files or requests during its forward passes; default false.
   */
  readonly worker?: boolean;
  /** Stops the load (E_CANCELLED; loadModel's `signal`). */
  readonly signal?: AbortSignal;
}

/** The choices of a denoise run; each defaults to the model card's. */
export interface DenoiserSettings {
  readonly sampler?: SamplerName;
  /** Overrides of the card's sampler settings (η, warm-start strength, timestep spacing, ...). */
  readonly samplerSettings?: Omit<SamplerSettings, 'consistency'>;
  readonly steps?: number;
  readonly seed?: number;
  /** Ensemble size K: the mean of K samples and their per-pixel SD. */
  readonly samples?: number;
  readonly guidance?: number;
  /** Geometric self-ensemble size, 1, 2, 4 or 8 (../diffusion/orientations.ts); default the card's, else 1. */
  readonly orientations?: number;
  /** Measurement-consistency strength in [0, 1] (docs/diffusion.md). */
  readonly consistency?: number;
  /** Low-band denoising strength in noise SDs, 0 = off (src/filters/low-band.ts); default: the card's `lowBand`. */
  readonly lowBand?: number;
  /** The consistency step's pilot average: h in noise SDs, 0 = off (`resolveConsistency`); default: the card's. */
  readonly consistencyPilot?: number;
  readonly texture?: Texture;
  /** The input's dose fraction, (0, 1]; 0 or absent: unknown. The model's dose input and full-dose texture's d. */
  readonly doseLevel?: number;
  /**
   * Calibrate the ensemble spread with the card's `uncertainty` block (docs/uncertainty.md);
   * `samples` then defaults to the card's calibrated ensemble size. `hallucination` needs it too.
   */
  readonly uncertainty?: boolean;
  readonly hallucination?: boolean;
  /** sigma above which a pixel counts as uncertain (default: the card's). */
  readonly uncertaintyThreshold?: number;
}

export type DenoiserOptions = DenoiserLoadOptions & DenoiserSettings;

/** Rows, columns and DICOM PixelSpacing [row, column] mm of the slices of one call. */
export interface SliceShape {
  readonly rows: number;
  readonly columns: number;
  readonly pixelSpacing: readonly [number, number];
}

export interface DenoiseCall {
  /** Steps for this call only (bench times several step counts on one denoiser). */
  readonly steps?: number;
  readonly onStep?: (info: StepInfo) => void;
  /** Also return every ensemble member per slice (`samples` in the result; the hallucination map's input). */
  readonly keepSamples?: boolean;
  /** Arrays to write the denoised slices into, one per slice (default: new ones); `denoised` returns them. */
  readonly outputs?: readonly Float32Array[];
}

export interface DenoiserResult extends DenoiseSlicesResult {
  /** Milliseconds inside the network during this call. */
  readonly modelMs: number;
}

export class Denoiser {
  readonly card: ModelCard;
  readonly modality: Modality;
  readonly normalization: Normalization;
  readonly sampler: Sampler;
  readonly samplerName: SamplerName;
  readonly steps: number;
  readonly seed: number;
  readonly samples: number;
  readonly guidance: number;
  /** Predictions averaged over this many flips and turns of each slice (1 = off). */
  readonly orientations: number;
  /** Measurement consistency; null = off. */
  readonly consistency: ConsistencySettings | null;
  /** Low-band denoising after the reverse process; null = off. */
  readonly lowBand: LowBandSettings | null;
  readonly texture: TextureReport;
  readonly doseLevel: number;
  /** Warnings about the settings (E_DOSE_UNKNOWN, E_TEXTURE_NOT_FULL_DOSE, ...), for every series' report. */
  readonly warnings: readonly SettingsWarning[];
  /** Whether slices need their two neighbours (2.5D models). */
  readonly neighbours: boolean;
  /** The card's calibration for this ensemble size, when `uncertainty` / `hallucination` asked for it. */
  readonly uncertainty: ResolvedUncertainty | null;
  /** DerivationDescription: the model and every setting that shaped the output. */
  readonly description: string;
  /** The sampling buffers, kept from one call to the next (src/diffusion/workspace.ts). */
  private readonly workspace: Workspace;

  /**
   * Loads `model` (a name in the models folders or a path to its card / ONNX file; default the
   * shipped model for `options.modality`) and resolves the settings against its card. Throws
   * E_NOT_FOUND, E_MODEL (a bad card, or one for another modality), E_MODEL_MISMATCH,
   * E_DEVICE_UNAVAILABLE or E_USAGE (settings the card cannot take); the model is released then.
   */
  static async load(model: string | null | undefined, options: DenoiserOptions = {}): Promise<Denoiser> {
    const name = model ?? (options.modality ? DEFAULT_MODELS[options.modality] : undefined);
    if (name === undefined) throw new LowdoseError('E_USAGE', 'Denoiser.load needs a model name or a modality (for its shipped model)');
    const loaded = await loadModel(name, {
      ...(options.device !== undefined ? { device: options.device } : {}),
      ...(options.threads !== undefined ? { threads: options.threads } : {}),
      ...(options.modelsDir !== undefined ? { modelsDir: options.modelsDir } : {}),
      ...(options.maxForwardPixels !== undefined ? { maxForwardPixels: options.maxForwardPixels } : {}),
      ...(options.worker !== undefined ? { worker: options.worker } : {}),
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
    });
    try {
      const denoiser = new Denoiser(loaded, options.modality ?? loaded.card.modalities[0]!, options);
      options.log?.(`model ${loaded.card.name} on ${denoiser.deviceReport}`);
      return denoiser;
    } catch (error) {
      await loaded.release();
      throw error;
    }
  }

  private constructor(
    /** The loaded network (tiled as the card says); shared by `with`. */
    readonly model: LoadedModel,
    modality: Modality,
    private readonly settings: DenoiserSettings,
  ) {
    const resolved = resolveDenoiserSettings(model.card, modality, settings);
    this.card = model.card;
    this.workspace = new Workspace(model.onWorker);
    this.modality = modality;
    this.normalization = resolved.normalization;
    this.samplerName = resolved.samplerName;
    this.sampler = resolved.sampler;
    this.steps = resolved.steps;
    this.seed = resolved.seed;
    this.samples = resolved.samples;
    this.uncertainty = resolved.uncertainty;
    this.guidance = resolved.guidance;
    this.orientations = resolved.orientations;
    this.consistency = resolved.consistency;
    this.lowBand = resolved.lowBand;
    this.doseLevel = resolved.doseLevel;
    this.texture = resolved.texture;
    this.warnings = resolved.warnings;
    this.neighbours = resolved.neighbours;
    this.description = resolved.description;
  }

  /**
   * What `load` would make of `model` with these settings, without opening the network: the card
   * read and checked, the settings resolved against it (the same errors as `load` for a card or
   * settings it refuses), and where its files are. What a run needs to know whether an earlier
   * result was made as it would make it (src/pipeline/finished-by-uid.ts) without paying for a
   * session.
   */
  static async plan(model: string | null | undefined, options: DenoiserSettings & Pick<DenoiserLoadOptions, 'modality' | 'modelsDir'> = {}): Promise<DenoiserPlan> {
    const name = model ?? (options.modality ? DEFAULT_MODELS[options.modality] : undefined);
    if (name === undefined) throw new LowdoseError('E_USAGE', 'Denoiser.plan needs a model name or a modality (for its shipped model)');
    const { card, ...files } = await resolveModelFiles(name, options.modelsDir);
    const modality = options.modality ?? card.modalities[0]!;
    return { card, files, modality, ...resolveDenoiserSettings(card, modality, options) };
  }

  /** The same loaded model with other settings (no new session): what experiments sweep. */
  with(settings: DenoiserSettings): Denoiser {
    return new Denoiser(this.model, this.modality, { ...this.settings, ...settings });
  }

  get device(): Device {
    return this.model.device.used;
  }

  /** "cpu (cuda: <why not>; webgpu: <why not>)". */
  get deviceReport(): string {
    return formatDeviceReport(this.model.device);
  }

  /**
   * Refuses a series in other units than the model's (E_SUV_UNAVAILABLE when PET could not be
   * put in SUV, with the reason; E_MODEL otherwise).
   */
  checkSeries(series: Pick<Series, 'units' | 'seriesInstanceUid' | 'warnings' | 'slices'>): void {
    if (series.units === this.normalization.units) return;
    const why = series.warnings.find((w) => w.code === 'E_SUV_UNAVAILABLE');
    const first = series.slices[0];
    throw new LowdoseError(
      why ? 'E_SUV_UNAVAILABLE' : 'E_MODEL',
      `model ${this.card.name} works in ${this.normalization.units} but series ${series.seriesInstanceUid} is in ${series.units}${why ? `: ${why.message}` : ''}`,
      first ? { path: first.file } : {},
    );
  }

  /**
   * Denoises slices of one series in modality units, in one sampler run: slice `index` draws its
   * noise from its own stream, so a slice's result does not depend on its batch. Slices without a
   * doseLevel get the run's.
   */
  async denoise(slices: readonly SliceInput[], shape: SliceShape, call: DenoiseCall = {}): Promise<DenoiserResult> {
    const before = this.model.stats.forwardMs;
    const result = await denoiseSlices(
      this.model,
      slices.map((s) => (s.doseLevel === undefined ? { ...s, doseLevel: this.doseLevel } : s)),
      {
        rows: shape.rows,
        columns: shape.columns,
        modality: this.modality,
        units: this.normalization.units,
        sampler: this.sampler,
        steps: call.steps ?? this.steps,
        seed: this.seed,
        guidance: this.guidance,
        samples: this.samples,
        orientations: this.orientations,
        consistency: this.consistency,
        pixelSpacing: shape.pixelSpacing,
        lowBand: this.lowBand,
        texture: this.texture.mode,
        ...(this.texture.dose !== undefined ? { textureDose: this.texture.dose } : {}),
        ...(call.onStep ? { onStep: call.onStep } : {}),
        ...(call.keepSamples ? { keepSamples: true } : {}),
        workspace: this.workspace,
        ...(call.outputs ? { outputs: call.outputs } : {}),
      },
    );
    return { ...result, modelMs: this.model.stats.forwardMs - before };
  }

  /**
   * One image in modality units, as `lowdose denoise` treats each slice: padding (pixels outside
   * the scanned field) filled with the nearest valid value first and given its input values back
   * after. NaN or infinite pixels (a NIfTI volume can hold them) are treated as padding too: the
   * network never sees them, they come back unchanged, and the result's `padding` marks them, so
   * metrics leave them out. An image with no finite pixel outside padding comes back as it is.
   * `index` picks the noise stream (the slice's index in its series).
   */
  async denoiseImage(image: Image2D, index = 0): Promise<Image2D> {
    const { padding } = nonFinitePadding(image.data, image.padding);
    if (padding && padding.every((p) => p !== 0)) return { ...image, data: Float32Array.from(image.data), padding };
    const filled = fillPadding(image.data, padding, image.rows, image.columns, DEFAULT_PADDING_FILL);
    const result = await this.denoise([{ index, image: filled, padding }], image);
    const data = restorePadding(result.denoised[0]!, image.data, padding);
    return padding === (image.padding ?? null) ? { ...image, data } : { ...image, data, padding };
  }

  release(): Promise<void> {
    return this.model.release();
  }
}

/** A card's and a run's choices resolved into what the denoiser runs with (all but the network). */
export type ResolvedDenoiserSettings = Pick<
  Denoiser,
  'normalization' | 'sampler' | 'samplerName' | 'steps' | 'seed' | 'samples' | 'guidance' | 'orientations' | 'consistency' | 'lowBand' | 'texture' | 'doseLevel' | 'warnings' | 'neighbours' | 'uncertainty' | 'description'
>;

/** What `Denoiser.plan` answers: the card, its files, the modality and the resolved settings; no session. */
export interface DenoiserPlan extends ResolvedDenoiserSettings {
  readonly card: ModelCard;
  readonly files: ModelFiles;
  readonly modality: Modality;
}

/**
 * The settings `Denoiser` runs `card` with for `modality`: each choice left out is the card's.
 * Throws E_MODEL (a card for another modality, no calibration) or E_USAGE (settings the card
 * cannot take). Reads nothing: `Denoiser.load` and `Denoiser.plan` both resolve through it, so a
 * plan describes exactly what a load would run.
 */
export function resolveDenoiserSettings(card: ModelCard, modality: Modality, settings: DenoiserSettings): ResolvedDenoiserSettings {
  if (!card.modalities.includes(modality)) {
    throw new LowdoseError('E_MODEL', `model ${card.name} is for ${card.modalities.join(', ')}, not ${modality}`);
  }
  const normalization = normalizationFor(card, modality);
  const samplerName = settings.sampler ?? card.sampler.default;
  const sampler = createSampler(card, { ...settings.samplerSettings, ...(settings.sampler ? { name: settings.sampler } : {}) });
  const steps = settings.steps ?? card.sampler.steps;
  const seed = settings.seed ?? 0;
  const wantsCalibration = Boolean(settings.uncertainty || settings.hallucination);
  const samples = settings.samples ?? (wantsCalibration ? (card.uncertainty?.samples ?? 1) : 1);
  const uncertainty = wantsCalibration ? resolveUncertainty(card, samples, settings.uncertaintyThreshold) : null;
  const guidance = settings.guidance ?? card.guidance.default;
  const orientations = settings.orientations ?? card.sampler.orientations ?? 1;
  checkOrientationCount(orientations);
  if (orientations !== 1 && uncertainty && orientations !== (card.sampler.orientations ?? 1)) {
    // The spread of the ensemble shrinks when each prediction is an average: the card's
    // calibration (docs/uncertainty.md) holds only for the orientation count it was fitted with.
    throw new LowdoseError('E_USAGE', `--uncertainty and --hallucination are calibrated for ${card.name} at orientations ${card.sampler.orientations ?? 1}; averaging ${orientations} orientations narrows the ensemble's spread, so its sigma would be too small: leave --orientations at the card's`);
  }
  if (orientations !== 1 && latentOf(card)) {
    throw new LowdoseError('E_USAGE', `orientations turn the image, and ${card.name} samples a latent (space "latent"): use --orientations 1 with it`);
  }
  const consistency = resolveConsistency(card.sampler.consistency, settings.consistency, settings.consistencyPilot);
  if (consistency && latentOf(card)) {
    throw new LowdoseError('E_USAGE', `measurement consistency works on the image, and ${card.name} samples a latent (space "latent"): use --consistency 0 with it`);
  }
  const lowBand = resolveLowBand(card.lowBand, settings.lowBand);
  if (lowBand && modality !== 'CT') {
    throw new LowdoseError('E_USAGE', `low-band denoising measures its noise on CT soft tissue; it is not for ${modality}: use --low-band 0 with ${card.name}`);
  }
  const doseLevel = settings.doseLevel ?? 0;
  const { texture, warnings: textureWarnings } = textureSettings(settings.texture ?? 'smooth', doseLevel, card.texture?.defaultDose, card.name, card.texture?.transfer !== undefined);
  const belowInput = belowInputWarning(card);
  // Card-driven, like E_MODEL_BELOW_INPUT: PET only, quoted at this run's declared dose.
  const lesionBias = lesionBiasWarning(card, modality, doseLevel);
  // Card-driven too: full-dose texture at a dose where the card's measurement says it misses.
  const notFullDose = textureNotFullDoseWarning(card, texture, lowBand !== null);
  const warnings = [...textureWarnings, ...(belowInput ? [belowInput] : []), ...(lesionBias ? [lesionBias] : []), ...(notFullDose ? [notFullDose] : [])];
  const description = [
    `lowdose diffusion model ${card.name}${card.version ? ` v${card.version}` : ''}`,
    `sampler ${samplerName}`,
    ...(settings.samplerSettings?.strength !== undefined ? [`strength ${settings.samplerSettings.strength}`] : []),
    `steps ${steps}`,
    `seed ${seed}`,
    `samples ${samples}`,
    `guidance ${guidance}`,
    // Only when on, so that a run without it keeps the DerivationDescription it always had.
    ...(orientations !== 1 ? [`orientations ${orientations}`] : []),
    // Only when on, so that a run without it keeps the DerivationDescription it always had.
    ...(consistency ? [describeConsistency(consistency)] : []),
    ...(lowBand ? [describeLowBand(lowBand)] : []),
    doseLevel > 0 ? `dose ${doseLevel}` : 'dose unknown',
    // Only when full-dose, so that a smooth run keeps the DerivationDescription it always had.
    ...(texture.mode === 'full-dose' ? [describeTexture(texture)] : []),
  ].join(', ');
  return {
    normalization,
    sampler,
    samplerName,
    steps,
    seed,
    samples,
    guidance,
    orientations,
    consistency,
    lowBand,
    texture,
    doseLevel,
    warnings,
    neighbours: card.neighbours === 1,
    uncertainty,
    description,
  };
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

/** The DerivationDescription part of a full-dose texture: how much noise was put back, for which dose. */
function describeTexture(texture: TextureReport): string {
  const share =
    texture.method === 'per-frequency'
      ? "share of the removed noise put back per frequency from the model's measured noise transfer"
      : `w ${roundTo(texture.weight!, 4)} of the removed noise put back`;
  return `texture full-dose (${share}, for dose ${texture.dose}${texture.doseFrom === 'model card' ? ' assumed' : ''})`;
}

/**
 * What full-dose texture will assume: the input's dose when given, else the model card's default
 * (with an E_DOSE_UNKNOWN warning); no dose at all is a usage error.
 */
export function textureSettings(
  mode: Texture,
  doseLevel: number,
  cardDefault: number | undefined,
  modelName: string,
  perFrequency = false,
): { texture: TextureReport; warnings: SettingsWarning[] } {
  if (mode === 'smooth') return { texture: { mode }, warnings: [] };
  const method: TextureMethod = perFrequency ? 'per-frequency' : 'single-weight';
  if (doseLevel > 0) return { texture: { mode, dose: doseLevel, doseFrom: 'input', weight: textureWeight(doseLevel), method }, warnings: [] };
  if (cardDefault === undefined) {
    throw new LowdoseError('E_USAGE', `--texture ${mode} needs the input's dose (--dose): model ${modelName} has no texture.defaultDose`);
  }
  const share = perFrequency ? "the model's measured share of the removed noise for that dose" : `${roundTo(textureWeight(cardDefault), 3)} of the removed noise`;
  const message =
    `the input's dose is unknown: full-dose texture assumes ${cardDefault} (model ${modelName}'s default) and puts back ` +
    `${share}; give --dose for the right amount`;
  return {
    texture: { mode, dose: cardDefault, doseFrom: 'model card', weight: textureWeight(cardDefault), method },
    warnings: [{ path: null, code: 'E_DOSE_UNKNOWN', message }],
  };
}

/**
 * A model whose card says it was measured below the untouched input (`quality.belowInput`: the
 * evaluation sets where its PSNR was lower than the input's) may still be worth running, for speed
 * or research, but every report of it says so: a reader must not take its output for an
 * improvement there.
 */
export function belowInputWarning(card: Pick<ModelCard, 'name' | 'quality'>): SettingsWarning | null {
  const sets = card.quality['belowInput'];
  if (!Array.isArray(sets) || sets.length === 0) return null;
  const names = sets.filter((s): s is string => typeof s === 'string');
  return {
    path: null,
    code: 'E_MODEL_BELOW_INPUT',
    message:
      `model ${card.name} was measured below the untouched input (PSNR) on ${names.length} of its evaluation sets (${names.join(', ')}); ` +
      'its card\'s quality block and models/README.md have the numbers',
  };
}
